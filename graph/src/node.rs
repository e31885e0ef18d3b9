//! The two halves of every node: a description that lives on the control thread, and a
//! processor that lives on the audio thread.

use crate::{NodePorts, ParamSpec, Parcel, ProcessContext, Retire};

/// Settings fixed when the engine is created, which processors may size themselves by.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ProcessConfig {
    /// Frames per second.
    pub sample_rate: f32,
    /// The most frames one process call can ask for.
    pub max_block_frames: usize,
}

/// How the engine treats a node, beyond calling its processor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeRole {
    /// An ordinary node: its processor runs once per chunk.
    Processor,
    /// Its single event output carries the host's MIDI input plus events sent to it through the
    /// control API. Its processor is never called.
    HostMidiInput,
    /// Its single audio input is added to the host output bus of that name. Its processor is
    /// never called.
    HostOutput {
        /// Name of the output bus (declared when the engine is created).
        bus: String,
    },
    /// Its single audio output carries the host input bus of that name (live input from a
    /// sound card or JACK, the audio input of a plugin). Its processor is never called.
    HostAudioInput {
        /// Name of the input bus (declared when the engine is created).
        bus: String,
    },
}

/// What a node kind looks like from outside: its name, ports and parameters. Plain data, so
/// descriptions hold one and the accessors of [`NodeDescription`] need no per-node code.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSignature {
    /// Kind name (`synth`, `gain`, …), as written in patch files.
    pub kind: &'static str,
    /// Input and output ports.
    pub ports: NodePorts,
    /// Parameters, indexed by [`crate::ParamId`].
    pub params: Vec<ParamSpec>,
}

/// What the control thread knows about a node: its [`NodeSignature`] (kind, ports, parameters)
/// and how to build its processor. Immutable once created; shared between the model, undo
/// history and the compiler.
///
/// Implementors provide [`signature`](Self::signature) and [`build`](Self::build); `kind`,
/// `ports` and `params` read from the signature, and `role` and `latency_frames` have defaults
/// for ordinary nodes.
pub trait NodeDescription: Send + Sync + 'static {
    /// The node's kind name, ports and parameters.
    fn signature(&self) -> &NodeSignature;
    /// The kind name (`synth`, `gain`, …), as written in patch files.
    fn kind(&self) -> &str {
        self.signature().kind
    }
    /// Input and output ports.
    fn ports(&self) -> &NodePorts {
        &self.signature().ports
    }
    /// Parameters, indexed by [`crate::ParamId`].
    fn params(&self) -> &[ParamSpec] {
        &self.signature().params
    }
    /// How the engine treats this node.
    fn role(&self) -> NodeRole {
        NodeRole::Processor
    }
    /// Delay this node adds between its inputs and outputs, in frames (for latency
    /// compensation; 0 for every built-in node).
    fn latency_frames(&self) -> u32 {
        0
    }
    /// How long, in frames, the node goes on sounding once its input stops (a reverb's decay, a
    /// hosted plugin's reported tail). When the node is removed its inputs are cut (held notes
    /// released) and its output is heard for this long, up to [`crate::limits::MAX_TAIL_SECONDS`],
    /// before it fades like any removed node's. 0, the default, fades at once.
    fn tail_frames(&self) -> u32 {
        0
    }
    /// Parameter values the node changed by itself since the last call (a hosted plugin's own
    /// GUI or MIDI-learned controls), latest value per parameter, for the control side to
    /// record and announce. Called on the control thread; empty for nodes whose parameters
    /// only the control side sets.
    fn take_own_param_changes(&self) -> Vec<(crate::ParamId, f32)> {
        Vec::new()
    }
    /// Settings the node has come to hold while it ran, as (setting name, text) pairs, to be
    /// written into a saved patch over the ones it was made with (a hosted plugin's `state`).
    /// Called on the control thread when a patch is saved; may take a moment. Empty for nodes
    /// whose settings never change by themselves.
    fn current_settings(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// What the node has to tell about how it played so far, one line per finding (notes an
    /// instrument had no zone for, say), for the control side to show after a render or on
    /// request. Called on the control thread; empty by default.
    fn report(&self) -> Vec<String> {
        Vec::new()
    }
    /// Builds a processor. Runs off the audio thread, may allocate; the result is moved to the
    /// audio thread afterwards.
    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor>;
}

/// The audio-thread half of a node.
///
/// Contract: `process` must not allocate, free, lock, block, do I/O or panic; it must write
/// every frame of every signal output (outputs are not cleared for it; event outputs are).
pub trait Processor: Send + 'static {
    /// Renders one chunk of `ctx.frames` frames.
    fn process(&mut self, ctx: &mut ProcessContext<'_>);

    /// Takes a parcel sent with [`crate::Engine::send_parcel`], at a block boundary. Same
    /// real-time contract as `process`: keep it, or give it (or what it replaces) to `retire`,
    /// never drop it; a parcel it does not take goes to [`Retire::refuse`] first, so the sender
    /// learns. The default refuses it unopened.
    fn receive(&mut self, parcel: Parcel, retire: &mut Retire<'_>) {
        retire.refuse(parcel);
    }
}

/// A processor that does nothing (for nodes whose work the executor does itself).
pub struct NoopProcessor;

impl Processor for NoopProcessor {
    fn process(&mut self, _ctx: &mut ProcessContext<'_>) {}
}
