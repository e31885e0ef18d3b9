//! The control-thread half of the engine: owns the graph model, turns edit batches into
//! compiled plans, builds processors, sends both to the executor and frees what comes back.

use std::collections::HashMap;
use std::sync::Arc;

use crate::alias_box::AliasBox;
use crate::compiler::{compile, CompileEdge, CompileError, CompileInput, CompileNode, EdgeFade};
use crate::context::ChunkEnv;
use crate::error::{EngineError, GraphError};
use crate::executor::messages::{Command, NodeSlot, PlanUpdate};
use crate::executor::{Executor, ExecutorStatus};
use crate::limits::{
    audio_buffer_stride, COMMAND_QUEUE_CAPACITY, EDGE_FADE_SECONDS, EVENT_BUFFER_CAPACITY, MAX_TAIL_SECONDS,
    PARCEL_QUEUE_CAPACITY, PENDING_MESSAGE_CAPACITY, RETURN_QUEUE_CAPACITY,
};
use crate::model::{BatchOutcome, NodeEntry, RemovedConnection};
use crate::param::ParamState;
use crate::{
    BusSpec, Edit, EventBuffer, EventData, Graph, NodeDescription, NodeId, NodeRole, ParamId, Parcel, ProcessConfig,
    RenderPlan, SlotKey, Transport,
};

/// Settings fixed for the life of an engine (an "activation", in plugin terms).
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// Frames per second.
    pub sample_rate: f32,
    /// Largest chunk handed to processors; host blocks of any size are split to it.
    pub max_block_frames: usize,
    /// The output buses hosts receive, in order.
    pub buses: Vec<BusSpec>,
    /// The input buses hosts provide (live input, a plugin's audio input), in order; `audio-in`
    /// nodes read them. Usually none.
    pub inputs: Vec<BusSpec>,
}

impl EngineConfig {
    /// Stereo `main` bus at `sample_rate`, default chunk size.
    pub fn stereo(sample_rate: f32) -> Self {
        Self {
            sample_rate,
            max_block_frames: crate::limits::DEFAULT_MAX_BLOCK_FRAMES,
            buses: vec![BusSpec::stereo("main")],
            inputs: Vec::new(),
        }
    }

    /// Total channels over all buses (the number of host output slices).
    pub fn output_channels(&self) -> usize {
        self.buses.iter().map(|b| b.channels as usize).sum()
    }

    /// Total channels over all input buses (the number of host input slices).
    pub fn input_channels(&self) -> usize {
        self.inputs.iter().map(|b| b.channels as usize).sum()
    }

    fn process_config(&self) -> ProcessConfig {
        ProcessConfig { sample_rate: self.sample_rate, max_block_frames: self.max_block_frames }
    }
}

/// A removed node kept running until its outgoing connections have faded out: at once, or,
/// for a node with a tail, after its tail has rung out with its inputs cut.
struct RetiringNode {
    slot: SlotKey,
    id: NodeId,
    description: Arc<dyn NodeDescription>,
    /// Frames its output is still heard before it fades (its tail, capped).
    tail_frames: u32,
    retire: RetireClock,
}

/// A removed connection: feeds a retiring node, or fades out into a live one.
struct RetiringEdge {
    removed: RemovedConnection,
    fade_id: u64,
    retire: RetireClock,
}

/// When a retiring thing may go: the fade starts when the first plan of generation
/// `started_generation` or later goes live, `hold_frames` later for what carries a tail.
#[derive(Copy, Clone)]
struct RetireClock {
    started_generation: u64,
    hold_frames: u32,
    done_at_frame: Option<u64>,
}

/// Hands out slot indices, lowest free first, with a generation per reuse.
#[derive(Default)]
struct SlotAllocator {
    generations: Vec<u32>,
    free: std::collections::BTreeSet<u32>,
}

impl SlotAllocator {
    fn allocate(&mut self) -> SlotKey {
        match self.free.pop_first() {
            Some(index) => {
                self.generations[index as usize] += 1;
                SlotKey { index, generation: self.generations[index as usize] }
            }
            None => {
                self.generations.push(0);
                SlotKey { index: self.generations.len() as u32 - 1, generation: 0 }
            }
        }
    }

    fn release(&mut self, key: SlotKey) {
        self.free.insert(key.index);
    }
}

/// The control side of an engine. Not real-time: edits compile here and travel to the
/// [`Executor`] over a lock-free queue.
pub struct Engine {
    config: EngineConfig,
    model: Graph,
    commands: rtrb::Producer<Command>,
    returns: rtrb::Consumer<Box<PlanUpdate>>,
    parcels: rtrb::Consumer<Parcel>,
    status: Arc<ExecutorStatus>,
    slots: SlotAllocator,
    sent_table_len: usize,
    sent_audio_buffers: usize,
    sent_event_buffers: usize,
    sent_param_scratch: usize,
    generation: u64,
    in_flight: usize,
    retiring_nodes: Vec<RetiringNode>,
    retiring_edges: Vec<RetiringEdge>,
    next_fade_id: u64,
    fade_frames: u32,
    plan: RenderPlan,
    /// [`Engine::latency_signature`] when the plan was last compiled.
    compiled_latencies: u64,
    refused_parcels: Vec<NodeId>,
    /// Leak counters as last logged (plans, parcels).
    reported_leaks: (u64, u64),
}

/// Creates an engine: the control half and the real-time half, joined by lock-free queues.
pub fn new_engine(config: EngineConfig) -> (Engine, Executor) {
    let (commands, command_rx) = rtrb::RingBuffer::new(COMMAND_QUEUE_CAPACITY);
    let (return_tx, returns) = rtrb::RingBuffer::new(RETURN_QUEUE_CAPACITY);
    let (parcel_tx, parcels) = rtrb::RingBuffer::new(PARCEL_QUEUE_CAPACITY);
    let status = Arc::new(ExecutorStatus::default());
    let stride = audio_buffer_stride(config.max_block_frames);
    let offsets = |buses: &[BusSpec]| {
        buses
            .iter()
            .scan(0, |next, bus| {
                let first = *next;
                *next += bus.channels as usize;
                Some(first)
            })
            .collect::<Vec<usize>>()
    };
    let (bus_offsets, input_offsets) = (offsets(&config.buses), offsets(&config.inputs));
    let plan = RenderPlan {
        audio_buffers: 1,
        event_buffers: 1,
        stride_floats: u32::try_from(stride).unwrap_or(u32::MAX),
        ..RenderPlan::default()
    };
    let executor = Executor {
        commands: command_rx,
        returns: return_tx,
        parcels: parcel_tx,
        plan: Box::new(plan.clone()),
        slots: Vec::new(),
        audio: vec![0.0; stride],
        events: vec![EventBuffer::with_capacity(0)],
        param_scratch: Vec::new(),
        pending: Vec::with_capacity(PENDING_MESSAGE_CAPACITY),
        stride,
        max_chunk_frames: config.max_block_frames.max(1),
        sample_rate: config.sample_rate,
        bus_offsets,
        input_offsets,
        transport: Transport::default(),
        status: status.clone(),
        env: AliasBox::new(Box::new(ChunkEnv::empty(config.sample_rate, stride))),
    };
    let fade_frames = (EDGE_FADE_SECONDS * config.sample_rate as f64).round().max(1.0) as u32;
    let engine = Engine {
        model: Graph::new(config.buses.clone()).with_inputs(config.inputs.clone()),
        config,
        commands,
        returns,
        parcels,
        status,
        slots: SlotAllocator::default(),
        sent_table_len: 0,
        sent_audio_buffers: 1,
        sent_event_buffers: 1,
        sent_param_scratch: 0,
        generation: 0,
        in_flight: 0,
        retiring_nodes: Vec::new(),
        retiring_edges: Vec::new(),
        next_fade_id: 0,
        fade_frames,
        plan,
        compiled_latencies: 0,
        refused_parcels: Vec::new(),
        reported_leaks: (0, 0),
    };
    (engine, executor)
}

impl Engine {
    /// The engine's fixed settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The graph as clients see it.
    pub fn graph(&self) -> &Graph {
        &self.model
    }

    /// The most recently compiled plan.
    pub fn plan(&self) -> &RenderPlan {
        &self.plan
    }

    /// Counters published by the audio thread.
    pub fn status(&self) -> &Arc<ExecutorStatus> {
        &self.status
    }

    /// True when no removed node or connection is still fading out.
    pub fn is_settled(&self) -> bool {
        self.retiring_nodes.is_empty() && self.retiring_edges.is_empty()
    }

    /// Applies a batch of edits atomically (a batch that fails changes nothing), then compiles
    /// and sends the new plan. Returns the batch's inverse, for undo.
    pub fn apply(&mut self, edits: Vec<Edit>) -> Result<Vec<Edit>, EngineError> {
        self.maintain();
        let params = edits.iter().filter(|e| matches!(e, Edit::SetParam { .. })).count();
        let structural = params < edits.len();
        if self.commands.slots() < params + structural as usize {
            return Err(EngineError::QueueFull(COMMAND_QUEUE_CAPACITY));
        }
        if structural && self.in_flight >= RETURN_QUEUE_CAPACITY {
            return Err(EngineError::TooManyPlansInFlight);
        }
        let outcome = self.model.apply_batch(edits)?;
        let BatchOutcome { inverse, removed_nodes, removed_connections, param_changes } = outcome;
        if structural {
            let started = self.generation + 1;
            let clock = |hold_frames| RetireClock { started_generation: started, hold_frames, done_at_frame: None };
            let max_tail = (MAX_TAIL_SECONDS * self.config.sample_rate as f64) as u32;
            let mut tails: HashMap<SlotKey, u32> = HashMap::new();
            for NodeEntry { id, description, slot, .. } in removed_nodes {
                let slot = slot.expect("only built nodes are reported");
                let tail_frames = description.tail_frames().min(max_tail);
                if tail_frames > 0 {
                    tails.insert(slot, tail_frames);
                }
                self.retiring_nodes.push(RetiringNode {
                    slot,
                    id,
                    description,
                    tail_frames,
                    retire: clock(tail_frames),
                });
            }
            for removed in removed_connections {
                self.next_fade_id += 1;
                let hold = removed.from_slot.and_then(|s| tails.get(&s).copied()).unwrap_or(0);
                self.retiring_edges.push(RetiringEdge { removed, fade_id: self.next_fade_id, retire: clock(hold) });
            }
            self.send_plan(Vec::new())?;
        }
        for (node, param, value) in param_changes {
            self.send_param(node, param, value, None)?;
        }
        Ok(inverse)
    }

    /// Sets a parameter at engine frame `at_frame` (sample-accurate), or as soon as possible.
    pub fn set_param(
        &mut self,
        node: NodeId,
        param: ParamId,
        value: f32,
        at_frame: Option<u64>,
    ) -> Result<(), EngineError> {
        if self.commands.slots() == 0 {
            return Err(EngineError::QueueFull(COMMAND_QUEUE_CAPACITY));
        }
        self.model.apply_batch(vec![Edit::SetParam { node, param, value }])?;
        self.send_param(node, param, value, at_frame)
    }

    /// Where parameter `param` of `node` lives on the audio thread, for a host that sets it
    /// from there ([`crate::HostBlock::with_params`]). Valid until the node is removed; the
    /// graph model does not learn the values set that way.
    pub fn param_target(&self, node: NodeId, param: ParamId) -> Result<crate::ParamTarget, EngineError> {
        let entry = self.model.node(node).ok_or(GraphError::UnknownNode(node))?;
        if param.0 as usize >= entry.description().params().len() {
            let count = entry.description().params().len();
            return Err(GraphError::UnknownParam { node: self.model.describe_node(node), param: param.0, count }.into());
        }
        Ok(crate::ParamTarget { slot: self.slot_of(node)?, param })
    }

    /// Records in the graph a parameter value a node set itself (a hosted plugin's own control,
    /// [`crate::NodeDescription::take_own_param_changes`]). Nothing goes to the audio thread:
    /// the node has the value already, and telling it back late could undo a newer one. A later
    /// [`Engine::set_param`] (or an undo) of the same parameter reaches the node as usual.
    pub fn record_param(&mut self, node: NodeId, param: ParamId, value: f32) -> Result<(), EngineError> {
        self.model.apply_batch(vec![Edit::SetParam { node, param, value }])?;
        Ok(())
    }

    /// Sends an event to a MIDI input node, at engine frame `at_frame` or as soon as possible.
    pub fn send_event(&mut self, node: NodeId, data: EventData, at_frame: Option<u64>) -> Result<(), EngineError> {
        let entry = self.model.node(node).ok_or(GraphError::UnknownNode(node))?;
        if entry.description().role() != NodeRole::HostMidiInput {
            return Err(GraphError::NotAnEventTarget { node: self.model.describe_node(node) }.into());
        }
        let slot = self.slot_of(node)?;
        self.commands
            .push(Command::Event { slot, data, at_frame })
            .map_err(|_| EngineError::QueueFull(COMMAND_QUEUE_CAPACITY))
    }

    /// Changes the transport (tempo, signature, play/stop, position) at the next block
    /// boundary. A host with its own musical time (a DAW) overrides it every block.
    pub fn set_transport(&mut self, change: crate::TransportChange) -> Result<(), EngineError> {
        self.commands.push(Command::Transport(change)).map_err(|_| EngineError::QueueFull(COMMAND_QUEUE_CAPACITY))
    }

    /// Hands `parcel` to the processor of `node` at the next block boundary (an instrument for
    /// a sampler, …); what the processor lets go of comes back through [`Engine::maintain`].
    /// Fails, returning nothing to the processor, if the node does not exist or the queue is
    /// full.
    pub fn send_parcel(&mut self, node: NodeId, mut parcel: Parcel) -> Result<(), EngineError> {
        let slot = self.slot_of(node)?;
        parcel.addressee = Some(node);
        self.commands.push(Command::Parcel { slot, parcel }).map_err(|_| EngineError::QueueFull(COMMAND_QUEUE_CAPACITY))
    }

    /// Frees what the audio thread handed back and retires finished fades (recompiling when
    /// one ends). Call it regularly from the control thread (every few milliseconds live, once
    /// per block offline).
    pub fn maintain(&mut self) {
        while let Ok(parcel) = self.parcels.pop() {
            if parcel.refused {
                let node = parcel.addressee;
                match node {
                    Some(node) => tracing::warn!("{} did not take what was sent to it", self.model.describe_node(node)),
                    None => tracing::warn!("a parcel was refused by its node"),
                }
                if let Some(node) = node {
                    self.refused_parcels.push(node);
                }
            }
            drop(parcel); // retired by a processor: freed here
        }
        self.report_leaks();
        while let Ok(update) = self.returns.pop() {
            self.in_flight = self.in_flight.saturating_sub(1);
            let live_frame = update.swapped_at_frame + self.fade_frames as u64;
            for clock in self
                .retiring_nodes
                .iter_mut()
                .map(|n| &mut n.retire)
                .chain(self.retiring_edges.iter_mut().map(|e| &mut e.retire))
            {
                if clock.done_at_frame.is_none() && update.generation >= clock.started_generation {
                    clock.done_at_frame = Some(live_frame + clock.hold_frames as u64);
                }
            }
            drop(update); // old plan, removed processors, outgrown pools: freed here
        }
        // A node whose latency changed while it ran (a hosted plugin that restarted with a new
        // one): compile again so the other branches line up with it.
        if self.in_flight < RETURN_QUEUE_CAPACITY
            && self.commands.slots() > 0
            && self.latency_signature() != self.compiled_latencies
        {
            tracing::info!("a node's latency changed: the graph is compiled again");
            if let Err(e) = self.send_plan(Vec::new()) {
                tracing::error!("could not compile for a changed latency: {e}");
            }
        }
        let now = self.status.frames();
        let done = |c: &RetireClock| c.done_at_frame.is_some_and(|f| now >= f);
        let any_done =
            self.retiring_nodes.iter().any(|n| done(&n.retire)) || self.retiring_edges.iter().any(|e| done(&e.retire));
        // Retire only when the plan that drops them can be sent; otherwise try again next time
        // (dropping them from the lists first would leave their processors on the audio thread).
        if !any_done || self.in_flight >= RETURN_QUEUE_CAPACITY || self.commands.slots() == 0 {
            return;
        }
        let finished_nodes: Vec<SlotKey> =
            self.retiring_nodes.iter().filter(|n| done(&n.retire)).map(|n| n.slot).collect();
        self.retiring_nodes.retain(|n| !done(&n.retire));
        self.retiring_edges.retain(|e| !done(&e.retire));
        if let Err(e) = self.send_plan(finished_nodes) {
            tracing::error!("could not retire faded nodes: {e}");
        }
    }

    /// The nodes that refused a parcel sent to them (a sampler whose program slots were all
    /// still sounding, a program for another sample rate, a node that takes no parcels, a node
    /// removed before it arrived), in the order the refusals came back, since the last call.
    /// Filled by [`Engine::maintain`].
    pub fn take_refused_parcels(&mut self) -> Vec<NodeId> {
        std::mem::take(&mut self.refused_parcels)
    }

    /// A digest of every node's latency (independent of their order), to notice a change.
    fn latency_signature(&self) -> u64 {
        self.model
            .entries()
            .map(|e| {
                // splitmix64 of (node, latency): distinct pairs give distinct terms.
                let mut x = (e.id.0 << 32) ^ e.description.latency_frames() as u64;
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                x ^ (x >> 31)
            })
            .fold(0u64, u64::wrapping_add)
    }

    /// Logs leaks the audio thread counted since the last call (there should be none: see
    /// [`ExecutorStatus::leaked_plans`] and [`ExecutorStatus::leaked_parcels`]).
    fn report_leaks(&mut self) {
        let leaked = (self.status.leaked_plans(), self.status.leaked_parcels());
        if leaked != self.reported_leaks {
            tracing::error!(
                "the audio thread leaked {} plan updates and {} parcels for want of room on its return queues",
                leaked.0,
                leaked.1
            );
            self.reported_leaks = leaked;
        }
    }

    fn slot_of(&self, node: NodeId) -> Result<SlotKey, EngineError> {
        self.model.entry(node).and_then(|e| e.slot).ok_or(EngineError::Graph(GraphError::UnknownNode(node)))
    }

    fn send_param(
        &mut self,
        node: NodeId,
        param: ParamId,
        value: f32,
        at_frame: Option<u64>,
    ) -> Result<(), EngineError> {
        let slot = self.slot_of(node)?;
        self.commands
            .push(Command::Param { slot, param, value, at_frame })
            .map_err(|_| EngineError::QueueFull(COMMAND_QUEUE_CAPACITY))
    }

    fn build_slot(&self, entry: &NodeEntry, key: SlotKey) -> NodeSlot {
        let config = self.config.process_config();
        let description = &entry.description;
        NodeSlot {
            key,
            processor: AliasBox::new(description.build(&config)),
            params: AliasBox::new(Box::new(ParamState::new(description.params(), &entry.params, config.sample_rate))),
            event_inbox: (description.role() == NodeRole::HostMidiInput)
                .then(|| Box::new(EventBuffer::with_capacity(EVENT_BUFFER_CAPACITY))),
            run: u32::MAX,
        }
    }

    /// Builds processors for new nodes, compiles, and sends the plan with what it needs.
    fn send_plan(&mut self, remove: Vec<SlotKey>) -> Result<(), EngineError> {
        // New nodes get slots and processors.
        let unbuilt: Vec<NodeId> = self.model.entries().filter(|e| e.slot.is_none()).map(|e| e.id).collect();
        let mut install = Vec::with_capacity(unbuilt.len());
        for id in unbuilt {
            let key = self.slots.allocate();
            let entry = self.model.entry_mut(id).expect("listed above");
            entry.slot = Some(key);
            let entry = self.model.entry(id).expect("listed above");
            install.push((key, Some(self.build_slot(entry, key))));
        }

        let plan = self.compile()?;
        self.compiled_latencies = self.latency_signature();

        let mut update = Box::new(PlanUpdate {
            generation: self.generation + 1,
            plan: Box::new(plan.clone()),
            removed: Vec::with_capacity(remove.len()),
            remove,
            install,
            audio_pool: None,
            event_pool: None,
            slot_table: None,
            param_scratch: None,
            swapped_at_frame: 0,
        });
        let most_params = update.install.iter().filter_map(|(_, s)| s.as_ref()).map(|s| s.params.len()).max();
        let scratch = most_params.unwrap_or(0) * self.config.max_block_frames;
        if scratch > self.sent_param_scratch {
            update.param_scratch = Some(vec![0.0; scratch]);
            self.sent_param_scratch = scratch;
        }
        let needed_slots = update.install.iter().map(|(k, _)| k.index as usize + 1).max().unwrap_or(0);
        if needed_slots > self.sent_table_len {
            let len = needed_slots.max(self.sent_table_len * 2).max(16);
            update.slot_table = Some((0..len).map(|_| None).collect());
            self.sent_table_len = len;
        }
        if plan.audio_buffer_count() > self.sent_audio_buffers {
            let n = plan.audio_buffer_count().max(self.sent_audio_buffers * 3 / 2);
            update.audio_pool = Some(vec![0.0; n * audio_buffer_stride(self.config.max_block_frames)]);
            self.sent_audio_buffers = n;
        }
        if plan.event_buffer_count() > self.sent_event_buffers {
            let n = plan.event_buffer_count().max(self.sent_event_buffers * 3 / 2);
            update.event_pool = Some((0..n).map(|_| EventBuffer::with_capacity(EVENT_BUFFER_CAPACITY)).collect());
            self.sent_event_buffers = n;
        }
        for key in &update.remove {
            self.slots.release(*key);
        }
        if self.commands.push(Command::Plan(update)).is_err() {
            return Err(EngineError::QueueFull(COMMAND_QUEUE_CAPACITY));
        }
        self.generation += 1;
        self.in_flight += 1;
        self.plan = plan;
        Ok(())
    }

    /// Sends the current plan again, claiming one audio buffer more than the executor's pool
    /// holds: the executor must refuse it (counted in [`ExecutorStatus::rejected_plans`]), keep
    /// playing its plan, and send the update back to be freed here. For tests of that path
    /// only: a plan that does not fit can otherwise only come from a bug.
    #[cfg(feature = "fault-injection")]
    pub fn inject_unfit_plan(&mut self) -> Result<(), EngineError> {
        if self.in_flight >= RETURN_QUEUE_CAPACITY {
            return Err(EngineError::TooManyPlansInFlight);
        }
        let mut plan = self.plan.clone();
        plan.audio_buffers = self.sent_audio_buffers as u32 + 1;
        let update = Box::new(PlanUpdate {
            generation: self.generation,
            plan: Box::new(plan),
            removed: Vec::new(),
            remove: Vec::new(),
            install: Vec::new(),
            audio_pool: None,
            event_pool: None,
            slot_table: None,
            param_scratch: None,
            swapped_at_frame: 0,
        });
        self.commands.push(Command::Plan(update)).map_err(|_| EngineError::QueueFull(COMMAND_QUEUE_CAPACITY))?;
        self.in_flight += 1;
        Ok(())
    }

    /// Compiles the current graph without sending the plan anywhere (for inspection and
    /// benchmarks). Every node must have been applied through [`Engine::apply`].
    pub fn compile_plan(&self) -> Result<RenderPlan, EngineError> {
        self.compile_with_fades(true).map_err(|e| EngineError::InvalidPlan(format!("{e:?}")))
    }

    /// Compiles the model plus whatever is still fading out.
    fn compile(&mut self) -> Result<RenderPlan, EngineError> {
        let first = self.compile_with_fades(true);
        let result = match first {
            Err(CompileError::Cycle) => {
                // A fading connection closes a loop with a new one: cut the fades instead.
                tracing::debug!("fading connections would form a cycle; cutting them");
                self.retiring_edges.clear();
                self.compile_with_fades(false)
            }
            other => other,
        };
        result.map_err(|e| EngineError::InvalidPlan(format!("{e:?}")))
    }

    fn compile_with_fades(&self, with_fades: bool) -> Result<RenderPlan, CompileError> {
        let mut nodes: Vec<CompileNode> = Vec::with_capacity(self.model.node_count() + self.retiring_nodes.len());
        let mut by_slot: HashMap<SlotKey, usize> = HashMap::with_capacity(nodes.capacity());
        for e in self.model.entries() {
            let slot = e.slot.expect("every node is built before compiling");
            by_slot.insert(slot, nodes.len());
            nodes.push(CompileNode {
                slot,
                id: e.id,
                retiring: false,
                tail_frames: 0,
                description: e.description.clone(),
            });
        }
        if with_fades {
            for r in &self.retiring_nodes {
                by_slot.insert(r.slot, nodes.len());
                nodes.push(CompileNode {
                    slot: r.slot,
                    id: r.id,
                    retiring: true,
                    tail_frames: r.tail_frames,
                    description: r.description.clone(),
                });
            }
        }
        let mut edges = Vec::with_capacity(self.model.node_count());
        let mut live = std::collections::HashSet::new();
        for c in self.model.connections() {
            let from = by_slot[&self.slot_of(c.from.node).expect("built")];
            let to = by_slot[&self.slot_of(c.to.node).expect("built")];
            live.insert((from, c.from.port, to, c.to.port));
            edges.push(CompileEdge { from, from_port: c.from.port.0, to, to_port: c.to.port.0, fade: None });
        }
        if with_fades {
            for r in &self.retiring_edges {
                let RemovedConnection { from_slot, from_port, to_slot, to_port } = r.removed;
                let (Some(from), Some(to)) =
                    (from_slot.and_then(|s| by_slot.get(&s)), to_slot.and_then(|s| by_slot.get(&s)))
                else {
                    continue;
                };
                let (from, to) = (*from, *to);
                if live.contains(&(from, from_port, to, to_port)) {
                    continue; // reconnected: the live connection carries the signal
                }
                // Fades into a live node (after the source's tail), and into a retiring node
                // with a tail (at once: its inputs are cut while it rings out); a retiring node
                // without one keeps its inputs to the end.
                let fades = !nodes[to].retiring || nodes[to].tail_frames > 0;
                let fade = fades.then_some(EdgeFade { id: r.fade_id, hold_frames: nodes[from].tail_frames });
                edges.push(CompileEdge { from, from_port: from_port.0, to, to_port: to_port.0, fade });
            }
        }
        let mut plan = compile(&CompileInput {
            nodes,
            edges,
            buses: &self.config.buses,
            input_buses: &self.config.inputs,
            fade_frames: self.fade_frames,
            stride_floats: u32::try_from(audio_buffer_stride(self.config.max_block_frames))
                .map_err(|_| CompileError::TooLarge)?,
            previous: Some(&self.plan),
        })?;
        // Bindings of nodes that are gone (until an undo brings them back) move nothing.
        plan.cc_map = self
            .model
            .cc_map()
            .iter()
            .filter_map(|&binding| {
                let slot = self.slot_of(binding.node).ok()?;
                Some(crate::cc_map::PlanCc { binding, target: crate::ParamTarget { slot, param: binding.param } })
            })
            .collect();
        Ok(plan)
    }
}
