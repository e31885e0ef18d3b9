//! Errors of the graph model and the engine's control side.

use thiserror::Error;

/// Why an edit was rejected. Messages name the nodes and ports involved as `label.port`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GraphError {
    /// A node with this id exists already.
    #[error("node {id} already exists ({existing})")]
    DuplicateNode {
        /// The id asked for.
        id: crate::NodeId,
        /// The node holding it.
        existing: String,
    },
    /// No node has this id.
    #[error("no node has id {0}")]
    UnknownNode(crate::NodeId),
    /// The node has no such port.
    #[error("{node} has no {direction} port {index} (its {direction}s: {available})")]
    UnknownPort {
        /// The node.
        node: String,
        /// "input" or "output".
        direction: &'static str,
        /// The index asked for.
        index: u16,
        /// The ports it does have.
        available: String,
    },
    /// The two ports carry different kinds of signal.
    #[error("cannot connect {from} ({from_kind}) to {to} ({to_kind}): port kinds differ")]
    KindMismatch {
        /// Source port.
        from: String,
        /// Its kind.
        from_kind: crate::PortKind,
        /// Destination port.
        to: String,
        /// Its kind.
        to_kind: crate::PortKind,
    },
    /// Both are audio ports, with different channel counts.
    #[error("cannot connect {from} ({from_kind}) to {to} ({to_kind}): channel counts differ")]
    ChannelMismatch {
        /// Source port.
        from: String,
        /// Its kind.
        from_kind: crate::PortKind,
        /// Destination port.
        to: String,
        /// Its kind.
        to_kind: crate::PortKind,
    },
    /// The connection exists already.
    #[error("{from} is already connected to {to}")]
    DuplicateConnection {
        /// Source port.
        from: String,
        /// Destination port.
        to: String,
    },
    /// There is no such connection to remove.
    #[error("{from} is not connected to {to}")]
    NotConnected {
        /// Source port.
        from: String,
        /// Destination port.
        to: String,
    },
    /// The graph would contain a feedback loop.
    #[error("connections form a cycle: {path}")]
    Cycle {
        /// The connections around the loop, `a.out -> b.in, b.out -> a.in`.
        path: String,
    },
    /// A MIDI controller binding names a channel or controller MIDI does not have.
    #[error("a MIDI controller binding of {node}: {reason}")]
    BadCcBinding {
        /// The node it moves.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// The node has no parameter with this id.
    #[error("{node} has no parameter {param} (it has {count})")]
    UnknownParam {
        /// The node.
        node: String,
        /// The parameter id asked for.
        param: u32,
        /// How many it has.
        count: usize,
    },
    /// The value is outside the parameter's range.
    #[error("{value} is outside the range {min}..={max} of parameter {param} of {node}")]
    ParamOutOfRange {
        /// The node.
        node: String,
        /// The parameter's name.
        param: String,
        /// The rejected value.
        value: f32,
        /// Smallest accepted.
        min: f32,
        /// Largest accepted.
        max: f32,
    },
    /// An output node names a bus the engine was not created with.
    #[error("{node} sends to output bus \"{bus}\", but the engine's buses are: {available}")]
    UnknownBus {
        /// The node.
        node: String,
        /// The bus it names.
        bus: String,
        /// The buses that exist.
        available: String,
    },
    /// An `audio-in` node names an input bus the engine was not created with.
    #[error("{node} reads input bus \"{bus}\", but the engine's input buses are: {available}")]
    UnknownInputBus {
        /// The node.
        node: String,
        /// The bus it names.
        bus: String,
        /// The input buses that exist.
        available: String,
    },
    /// Events can only be sent to host MIDI input nodes.
    #[error("{node} is not a MIDI input node; events can only be sent to midi-in nodes")]
    NotAnEventTarget {
        /// The node.
        node: String,
    },
}

/// A batch of edits that was rejected as a whole; the graph is unchanged.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{}{source}", match .edit_index { Some(i) => format!("edit {i} of the batch failed: "), None => String::new() })]
pub struct BatchError {
    /// Index of the failing edit in the batch, or `None` for a whole-batch check (cycles).
    pub edit_index: Option<usize>,
    /// What was wrong.
    #[source]
    pub source: GraphError,
}

/// Errors of the engine's control side.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The edit batch was invalid; nothing changed.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A single request was invalid.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The audio thread has not consumed earlier messages; try again after it has run.
    #[error("the command queue to the audio thread is full ({0} messages); the audio thread may have stopped")]
    QueueFull(usize),
    /// The audio thread still holds too many retired plans; call `maintain` and retry.
    #[error("too many plan updates in flight; run Engine::maintain and retry")]
    TooManyPlansInFlight,
    /// The compiled plan failed its own verification (a bug in the compiler).
    #[error("internal error: the compiled plan is invalid: {0}")]
    InvalidPlan(String),
}
