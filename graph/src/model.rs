//! The graph model edited by clients: nodes with client-chosen ids, typed connections, and
//! edits that are validated, reversible and applied in all-or-nothing batches.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use petgraph::Direction as PgDirection;

use crate::error::{BatchError, GraphError};
use crate::{Direction, NodeDescription, NodeId, NodeRole, ParamId, PortIndex, PortKind, SlotKey};

/// An output bus of the engine: what the host (JACK ports, CLAP multi-out, a WAV file) receives.
/// The set of buses is fixed when the engine is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusSpec {
    /// Name used by output nodes and shown to hosts (`main`, `drums`).
    pub name: String,
    /// Channel count.
    pub channels: u16,
}

impl BusSpec {
    /// A stereo bus.
    pub fn stereo(name: &str) -> Self {
        Self { name: name.to_string(), channels: 2 }
    }
}

/// One end of a connection: a node and the index of one of its ports.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRef {
    /// The node.
    pub node: NodeId,
    /// Port index on the side implied by its use (output for `from`, input for `to`).
    pub port: PortIndex,
}

impl PortRef {
    /// Port `port` of `node`.
    pub fn new(node: NodeId, port: u16) -> Self {
        Self { node, port: PortIndex(port) }
    }
}

/// A connection from an output port to an input port.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Connection {
    /// Source (an output port).
    pub from: PortRef,
    /// Destination (an input port).
    pub to: PortRef,
}

/// One change to the graph. Every edit has an inverse ([`Graph::apply_batch`] returns them), so
/// undo is a batch of inverses.
#[derive(Clone)]
pub enum Edit {
    /// Adds a node with a client-chosen id.
    AddNode {
        /// Its id (must be unused).
        id: NodeId,
        /// A human name shown in listings and errors (patch files use their node names).
        label: String,
        /// What the node is.
        description: Arc<dyn NodeDescription>,
        /// Initial parameter values; others take their defaults.
        params: Vec<(ParamId, f32)>,
    },
    /// Removes a node and every connection to or from it.
    RemoveNode {
        /// The node.
        id: NodeId,
    },
    /// Connects an output to an input.
    Connect(Connection),
    /// Removes a connection.
    Disconnect(Connection),
    /// Sets a parameter (smoothed on the audio thread).
    SetParam {
        /// The node.
        node: NodeId,
        /// Which parameter.
        param: ParamId,
        /// New value, inside the parameter's range.
        value: f32,
    },
    /// Replaces the graph's MIDI controller bindings (MIDI learn): each names a node and one
    /// of its parameters, with values inside the parameter's range.
    SetCcMap(Vec<crate::CcBinding>),
}

impl fmt::Debug for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::AddNode { id, label, description, params } => {
                write!(f, "AddNode({id} '{label}' {} {params:?})", description.kind())
            }
            Edit::RemoveNode { id } => write!(f, "RemoveNode({id})"),
            Edit::SetCcMap(bindings) => write!(f, "SetCcMap({} bindings)", bindings.len()),
            Edit::Connect(c) => write!(f, "Connect({c:?})"),
            Edit::Disconnect(c) => write!(f, "Disconnect({c:?})"),
            Edit::SetParam { node, param, value } => write!(f, "SetParam({node} {} = {value})", param.0),
        }
    }
}

#[derive(Clone)]
pub(crate) struct NodeEntry {
    pub(crate) id: NodeId,
    pub(crate) label: String,
    pub(crate) description: Arc<dyn NodeDescription>,
    pub(crate) params: Vec<f32>,
    /// Where its processor lives; `None` until the engine builds it.
    pub(crate) slot: Option<SlotKey>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct EdgeEntry {
    pub(crate) from_port: PortIndex,
    pub(crate) to_port: PortIndex,
}

/// A node as seen by clients.
pub struct NodeView<'a> {
    entry: &'a NodeEntry,
}

impl<'a> NodeView<'a> {
    /// Its id.
    pub fn id(&self) -> NodeId {
        self.entry.id
    }
    /// Its label.
    pub fn label(&self) -> &'a str {
        &self.entry.label
    }
    /// Its description (kind, ports, parameters).
    pub fn description(&self) -> &'a Arc<dyn NodeDescription> {
        &self.entry.description
    }
    /// Current parameter values, indexed by [`ParamId`].
    pub fn params(&self) -> &'a [f32] {
        &self.entry.params
    }
}

/// A connection removed by a batch, with the processor slots it joined.
#[derive(Copy, Clone, Debug)]
pub(crate) struct RemovedConnection {
    pub(crate) from_slot: Option<SlotKey>,
    pub(crate) from_port: PortIndex,
    pub(crate) to_slot: Option<SlotKey>,
    pub(crate) to_port: PortIndex,
}

/// What a successful batch changed, for the engine and for undo.
#[derive(Default)]
pub struct BatchOutcome {
    /// Edits that undo the batch when applied as one batch.
    pub inverse: Vec<Edit>,
    /// Nodes the batch removed that had processors.
    pub(crate) removed_nodes: Vec<NodeEntry>,
    /// Connections the batch removed (directly or with a node), with the slots of their ends
    /// at the time (`None` for an end added in this same batch).
    pub(crate) removed_connections: Vec<RemovedConnection>,
    /// Parameter values the batch set, in order.
    pub(crate) param_changes: Vec<(NodeId, ParamId, f32)>,
}

/// The graph of nodes and connections that clients edit. Lives on the control thread.
#[derive(Clone)]
pub struct Graph {
    graph: StableDiGraph<NodeEntry, EdgeEntry>,
    index: HashMap<NodeId, NodeIndex>,
    buses: Vec<BusSpec>,
    inputs: Vec<BusSpec>,
    /// MIDI controllers bound to parameters. A binding whose node is removed stays (an undo
    /// brings the node back with its id) and moves nothing meanwhile.
    cc_map: Vec<crate::CcBinding>,
}

impl Graph {
    /// An empty graph whose output nodes may use `buses`.
    pub fn new(buses: Vec<BusSpec>) -> Self {
        Self { graph: StableDiGraph::default(), index: HashMap::new(), buses, inputs: Vec::new(), cc_map: Vec::new() }
    }

    /// The same graph with `inputs` as the host input buses its `audio-in` nodes may use.
    pub fn with_inputs(mut self, inputs: Vec<BusSpec>) -> Self {
        self.inputs = inputs;
        self
    }

    /// The MIDI controller bindings.
    pub fn cc_map(&self) -> &[crate::CcBinding] {
        &self.cc_map
    }

    /// The output buses.
    pub fn buses(&self) -> &[BusSpec] {
        &self.buses
    }

    /// The host input buses.
    pub fn inputs(&self) -> &[BusSpec] {
        &self.inputs
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// A node by id.
    pub fn node(&self, id: NodeId) -> Option<NodeView<'_>> {
        self.index.get(&id).map(|&i| NodeView { entry: &self.graph[i] })
    }

    /// All nodes, ordered by id.
    pub fn nodes(&self) -> Vec<NodeView<'_>> {
        let mut v: Vec<_> = self.graph.node_weights().map(|entry| NodeView { entry }).collect();
        v.sort_by_key(|n| n.id());
        v
    }

    /// All connections, ordered by source then destination.
    pub fn connections(&self) -> Vec<Connection> {
        let mut v: Vec<_> =
            self.graph.edge_references().map(|e| self.connection_of(e.source(), e.target(), e.weight())).collect();
        v.sort();
        v
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &NodeEntry> {
        self.graph.node_weights()
    }

    pub(crate) fn entry(&self, id: NodeId) -> Option<&NodeEntry> {
        self.index.get(&id).map(|&i| &self.graph[i])
    }

    pub(crate) fn entry_mut(&mut self, id: NodeId) -> Option<&mut NodeEntry> {
        self.index.get(&id).map(|&i| &mut self.graph[i])
    }

    fn connection_of(&self, a: NodeIndex, b: NodeIndex, e: &EdgeEntry) -> Connection {
        Connection {
            from: PortRef { node: self.graph[a].id, port: e.from_port },
            to: PortRef { node: self.graph[b].id, port: e.to_port },
        }
    }

    /// `label (kind #id)` for messages.
    pub fn describe_node(&self, id: NodeId) -> String {
        match self.node(id) {
            Some(n) => describe_entry(n.entry),
            None => format!("node {id}"),
        }
    }

    /// `label.port` for messages.
    pub fn describe_port(&self, port: PortRef, direction: Direction) -> String {
        match self.node(port.node) {
            Some(n) => match n.description().ports().side(direction).get(port.port.0 as usize) {
                Some(spec) => format!("{}.{}", display_label(n.entry), spec.name),
                None => format!("{}.<{} {}>", display_label(n.entry), direction_name(direction), port.port.0),
            },
            None => format!("{}.{}", port.node, port.port.0),
        }
    }

    fn describe_connection(&self, c: &Connection) -> (String, String) {
        (self.describe_port(c.from, Direction::Output), self.describe_port(c.to, Direction::Input))
    }

    fn lookup(&self, id: NodeId) -> Result<NodeIndex, GraphError> {
        self.index.get(&id).copied().ok_or(GraphError::UnknownNode(id))
    }

    fn port_kind(&self, port: PortRef, direction: Direction) -> Result<PortKind, GraphError> {
        let entry = &self.graph[self.lookup(port.node)?];
        let side = entry.description.ports().side(direction);
        side.get(port.port.0 as usize).map(|p| p.kind).ok_or_else(|| GraphError::UnknownPort {
            node: describe_entry(entry),
            direction: direction_name(direction),
            index: port.port.0,
            available: list_names(side.iter().map(|p| p.name.as_ref())),
        })
    }

    fn find_edge(&self, c: &Connection) -> Option<petgraph::stable_graph::EdgeIndex> {
        let a = *self.index.get(&c.from.node)?;
        let b = *self.index.get(&c.to.node)?;
        self.graph
            .edges_connecting(a, b)
            .find(|e| e.weight().from_port == c.from.port && e.weight().to_port == c.to.port)
            .map(|e| e.id())
    }

    fn removed_connection(&self, c: &Connection) -> RemovedConnection {
        let slot = |id: NodeId| self.index.get(&id).and_then(|&i| self.graph[i].slot);
        RemovedConnection {
            from_slot: slot(c.from.node),
            from_port: c.from.port,
            to_slot: slot(c.to.node),
            to_port: c.to.port,
        }
    }

    fn check_param(&self, node: NodeId, param: ParamId, value: f32) -> Result<(), GraphError> {
        let entry = &self.graph[self.lookup(node)?];
        check_param_value(entry, param, value)
    }

    /// Applies `edits` all together or not at all. Cycles are checked once, after all edits.
    pub fn apply_batch(&mut self, edits: Vec<Edit>) -> Result<BatchOutcome, BatchError> {
        let structural = edits.iter().any(|e| !matches!(e, Edit::SetParam { .. }));
        if !structural {
            // Parameter-only batches are validated first and applied in place (no copy).
            for (i, e) in edits.iter().enumerate() {
                if let Edit::SetParam { node, param, value } = e {
                    self.check_param(*node, *param, *value)
                        .map_err(|source| BatchError { edit_index: Some(i), source })?;
                }
            }
            let mut outcome = BatchOutcome::default();
            for e in edits {
                self.apply_one(e, &mut outcome).expect("validated above");
            }
            outcome.inverse.reverse();
            return Ok(outcome);
        }
        let mut next = self.clone();
        let mut outcome = BatchOutcome::default();
        for (i, e) in edits.into_iter().enumerate() {
            next.apply_one(e, &mut outcome).map_err(|source| BatchError { edit_index: Some(i), source })?;
        }
        if let Some(path) = next.find_cycle() {
            return Err(BatchError { edit_index: None, source: GraphError::Cycle { path } });
        }
        outcome.inverse.reverse();
        *self = next;
        Ok(outcome)
    }

    fn apply_one(&mut self, edit: Edit, out: &mut BatchOutcome) -> Result<(), GraphError> {
        match edit {
            Edit::AddNode { id, label, description, params } => {
                if let Some(&existing) = self.index.get(&id) {
                    return Err(GraphError::DuplicateNode { id, existing: describe_entry(&self.graph[existing]) });
                }
                let mut entry = NodeEntry {
                    id,
                    label,
                    params: description.params().iter().map(|p| p.default).collect(),
                    description,
                    slot: None,
                };
                for &(param, value) in &params {
                    check_param_value(&entry, param, value)?;
                    entry.params[param.0 as usize] = value;
                }
                let missing = |declared: &[BusSpec], bus: &str| {
                    (!declared.iter().any(|b| b.name == bus))
                        .then(|| (describe_entry(&entry), list_names(declared.iter().map(|b| b.name.as_str()))))
                };
                match entry.description.role() {
                    NodeRole::HostOutput { bus } => {
                        if let Some((node, available)) = missing(&self.buses, &bus) {
                            return Err(GraphError::UnknownBus { node, bus, available });
                        }
                    }
                    NodeRole::HostAudioInput { bus } => {
                        if let Some((node, available)) = missing(&self.inputs, &bus) {
                            return Err(GraphError::UnknownInputBus { node, bus, available });
                        }
                    }
                    _ => {}
                }
                let i = self.graph.add_node(entry);
                self.index.insert(id, i);
                out.inverse.push(Edit::RemoveNode { id });
            }
            Edit::RemoveNode { id } => {
                let i = self.lookup(id)?;
                let mut edges: Vec<Connection> = self
                    .graph
                    .edges_directed(i, PgDirection::Incoming)
                    .chain(self.graph.edges_directed(i, PgDirection::Outgoing))
                    .map(|e| self.connection_of(e.source(), e.target(), e.weight()))
                    .collect();
                edges.sort();
                for c in &edges {
                    let removed = self.removed_connection(c);
                    out.removed_connections.push(removed);
                }
                let entry = self.graph.remove_node(i).expect("indexed node exists");
                self.index.remove(&id);
                // Undo order: re-add the node, then its connections and parameter values.
                let mut undo = vec![Edit::AddNode {
                    id,
                    label: entry.label.clone(),
                    description: entry.description.clone(),
                    params: entry.params.iter().enumerate().map(|(p, &v)| (ParamId(p as u32), v)).collect(),
                }];
                undo.extend(edges.iter().map(|&c| Edit::Connect(c)));
                // Inverses are reversed at the end of the batch, so push them back to front.
                out.inverse.extend(undo.into_iter().rev());
                if entry.slot.is_some() {
                    out.removed_nodes.push(entry);
                }
            }
            Edit::Connect(c) => {
                let from_kind = self.port_kind(c.from, Direction::Output)?;
                let to_kind = self.port_kind(c.to, Direction::Input)?;
                let (from, to) = self.describe_connection(&c);
                match (from_kind, to_kind) {
                    (PortKind::Audio { channels: a }, PortKind::Audio { channels: b }) if a != b => {
                        return Err(GraphError::ChannelMismatch { from, from_kind, to, to_kind });
                    }
                    (a, b) if std::mem::discriminant(&a) != std::mem::discriminant(&b) => {
                        return Err(GraphError::KindMismatch { from, from_kind, to, to_kind });
                    }
                    _ => {}
                }
                if self.find_edge(&c).is_some() {
                    return Err(GraphError::DuplicateConnection { from, to });
                }
                if c.from.node == c.to.node {
                    return Err(GraphError::Cycle { path: format!("{from} -> {to}") });
                }
                let (a, b) = (self.lookup(c.from.node)?, self.lookup(c.to.node)?);
                self.graph.add_edge(a, b, EdgeEntry { from_port: c.from.port, to_port: c.to.port });
                out.inverse.push(Edit::Disconnect(c));
            }
            Edit::Disconnect(c) => {
                let Some(e) = self.find_edge(&c) else {
                    let (from, to) = self.describe_connection(&c);
                    return Err(GraphError::NotConnected { from, to });
                };
                let removed = self.removed_connection(&c);
                self.graph.remove_edge(e);
                out.inverse.push(Edit::Connect(c));
                out.removed_connections.push(removed);
            }
            Edit::SetParam { node, param, value } => {
                self.check_param(node, param, value)?;
                let entry = self.entry_mut(node).expect("checked");
                let old = std::mem::replace(&mut entry.params[param.0 as usize], value);
                out.inverse.push(Edit::SetParam { node, param, value: old });
                out.param_changes.push((node, param, value));
            }
            Edit::SetCcMap(bindings) => {
                for b in &bindings {
                    if b.channel.is_some_and(|c| c > 15) || b.controller > 127 {
                        return Err(GraphError::BadCcBinding {
                            node: self.describe_node(b.node),
                            reason: format!(
                                "channel {:?} and controller {} must be 0–15 and 0–127",
                                b.channel, b.controller
                            ),
                        });
                    }
                    self.check_param(b.node, b.param, b.min)?;
                    self.check_param(b.node, b.param, b.max)?;
                }
                let old = std::mem::replace(&mut self.cc_map, bindings);
                out.inverse.push(Edit::SetCcMap(old));
            }
        }
        Ok(())
    }

    /// Looks for a feedback loop; returns it as `a.out -> b.in, …` if there is one.
    pub fn find_cycle(&self) -> Option<String> {
        // Kahn's algorithm: whatever cannot be sorted lies on or behind a cycle.
        let mut indegree: HashMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|n| (n, self.graph.edges_directed(n, PgDirection::Incoming).count()))
            .collect();
        let mut ready: Vec<NodeIndex> = indegree.iter().filter(|(_, &d)| d == 0).map(|(&n, _)| n).collect();
        while let Some(n) = ready.pop() {
            indegree.remove(&n);
            for e in self.graph.edges_directed(n, PgDirection::Outgoing) {
                let d = indegree.get_mut(&e.target()).expect("unsorted target");
                *d -= 1;
                if *d == 0 {
                    ready.push(e.target());
                }
            }
        }
        // Walk backwards along unsorted inputs from the smallest unsorted node until a repeat.
        let start = indegree.keys().min_by_key(|&&n| self.graph[n].id).copied()?;
        let mut path: Vec<NodeIndex> = vec![start];
        let mut via: Vec<petgraph::stable_graph::EdgeIndex> = Vec::new();
        loop {
            let here = *path.last().expect("non-empty");
            let e = self
                .graph
                .edges_directed(here, PgDirection::Incoming)
                .filter(|e| indegree.contains_key(&e.source()))
                .min_by_key(|e| (self.graph[e.source()].id, e.weight().from_port, e.weight().to_port))
                .expect("an unsorted node has an unsorted input");
            via.push(e.id());
            if let Some(pos) = path.iter().position(|&n| n == e.source()) {
                let mut cycle: Vec<String> = via[pos..]
                    .iter()
                    .rev()
                    .map(|&ei| {
                        let (a, b) = self.graph.edge_endpoints(ei).expect("edge exists");
                        let (f, t) = self.describe_connection(&self.connection_of(a, b, &self.graph[ei]));
                        format!("{f} -> {t}")
                    })
                    .collect();
                cycle.dedup();
                return Some(cycle.join(", "));
            }
            path.push(e.source());
        }
    }
}

fn check_param_value(entry: &NodeEntry, param: ParamId, value: f32) -> Result<(), GraphError> {
    let specs = entry.description.params();
    let spec = specs.get(param.0 as usize).ok_or_else(|| GraphError::UnknownParam {
        node: describe_entry(entry),
        param: param.0,
        count: specs.len(),
    })?;
    if !spec.accepts(value) {
        return Err(GraphError::ParamOutOfRange {
            node: describe_entry(entry),
            param: spec.name.to_string(),
            value,
            min: spec.min,
            max: spec.max,
        });
    }
    Ok(())
}

fn display_label(entry: &NodeEntry) -> String {
    if entry.label.is_empty() {
        entry.id.to_string()
    } else {
        entry.label.clone()
    }
}

fn describe_entry(entry: &NodeEntry) -> String {
    format!("'{}' ({} {})", display_label(entry), entry.description.kind(), entry.id)
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Input => "input",
        Direction::Output => "output",
    }
}

fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}
