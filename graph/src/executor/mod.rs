//! The real-time executor: runs the current plan over the host's buffers, and adopts new plans
//! at block boundaries. Never allocates, frees, locks or blocks; everything it lets go of goes
//! back to the control thread over the return queue.

pub(crate) mod messages;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::alias_box::AliasBox;
use crate::cc_map::PlanCc;
use crate::context::Attention;
use crate::context::ChunkEnv;
use crate::limits::PENDING_MESSAGE_CAPACITY;
use crate::param::{ParamChangeAt, ParamState};
use crate::plan::{LinkedRun, PortBinding, RenderPlan, Run, Step};
use crate::{CcSeen, Event, EventBuffer, EventData, MidiMessage, Parcel, ProcessContext, Retire, Transport};
use messages::{Command, NodeSlot, Pending, PlanUpdate};

/// What the audio thread publishes for the control side: monotonic counters (updated with
/// relaxed `fetch_add`s or stores of a growing value) and one gauge, the active voices. Reading
/// never blocks the audio thread.
#[derive(Debug, Default)]
pub struct ExecutorStatus {
    frames: AtomicU64,
    plans_swapped: AtomicU64,
    dropped_events: AtomicU64,
    dropped_messages: AtomicU64,
    rejected_plans: AtomicU64,
    pub(crate) leaked_parcels: AtomicU64,
    pub(crate) refused_parcels: AtomicU64,
    leaked_plans: AtomicU64,
    active_voices: AtomicU32,
    /// The last control change seen ([`crate::CcSeen`] packed), for MIDI learn.
    last_cc: AtomicU64,
}

impl ExecutorStatus {
    /// The last MIDI control change that arrived in the graph (from the host, a device or the
    /// control side), if any has: what MIDI learn binds when a parameter is moved next.
    pub fn last_cc(&self) -> Option<crate::CcSeen> {
        crate::CcSeen::unpack(self.last_cc.load(Ordering::Acquire))
    }
    /// Frames rendered since the engine started.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }
    /// Plans adopted so far.
    pub fn plans_swapped(&self) -> u64 {
        self.plans_swapped.load(Ordering::Acquire)
    }
    /// Events dropped because an event buffer was full.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events.load(Ordering::Acquire)
    }
    /// Timed messages dropped because the pending list was full.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages.load(Ordering::Acquire)
    }
    /// Plans refused because the buffer pools sent with them were too small (always 0 unless
    /// the control side has a bug; the previous plan keeps playing).
    pub fn rejected_plans(&self) -> u64 {
        self.rejected_plans.load(Ordering::Acquire)
    }
    /// Parcels the audio thread had to leak (never free) because the parcel return queue was
    /// full when a processor had nowhere to keep one. Always 0: the executor hands a processor
    /// a parcel only when the return queue has room for it, and otherwise leaves it (and every
    /// command behind it) queued until the control thread has run `maintain`. Counted so that
    /// a processor breaking the rule shows up.
    pub fn leaked_parcels(&self) -> u64 {
        self.leaked_parcels.load(Ordering::Acquire)
    }
    /// Parcels processors refused (a sampler with every program slot still sounding, a program
    /// made for another sample rate): sent back unused. [`crate::Engine::maintain`] names the
    /// nodes in [`crate::Engine::take_refused_parcels`].
    pub fn refused_parcels(&self) -> u64 {
        self.refused_parcels.load(Ordering::Acquire)
    }
    /// Plan updates the audio thread had to leak because the return queue was full. Always 0:
    /// a plan is taken from the command queue only when the return queue has room for what it
    /// lets go of. Counted so that a broken invariant shows up instead of hiding.
    pub fn leaked_plans(&self) -> u64 {
        self.leaked_plans.load(Ordering::Acquire)
    }
    /// Voices sounding at the end of the last block, as the instruments report them
    /// ([`ProcessContext::report_voices`]).
    pub fn active_voices(&self) -> u32 {
        self.active_voices.load(Ordering::Acquire)
    }
}

/// One block from the host: its output buffers (every channel of every bus, bus by bus), its
/// input buffers, and the MIDI that arrived during it.
pub struct HostBlock<'a, 'b> {
    /// Frames in this block (any size; split into chunks of at most the maximum block size).
    pub frames: usize,
    /// One slice per bus channel, in bus order, each at least `frames` long. Overwritten.
    pub outputs: &'a mut [&'b mut [f32]],
    /// One slice per input bus channel ([`crate::EngineConfig::inputs`]), in bus order, each
    /// at least `frames` long; missing channels read as silence.
    pub inputs: &'a [&'a [f32]],
    /// MIDI input for every `midi-in` node, times relative to the block's first frame, sorted
    /// by time.
    pub midi_in: &'a [Event],
    /// MIDI input for one `midi-in` node each (a JACK MIDI port per node), times relative to
    /// the block's first frame, sorted by time.
    pub node_midi: &'a [NodeEvent],
    /// Parameter changes the host makes from the audio thread (a DAW automating a plugin's
    /// macro), each applied at its frame of the block.
    pub params: &'a [HostParamChange],
}

impl<'a, 'b> HostBlock<'a, 'b> {
    /// A block of `frames` frames rendered into `outputs`, with no input and no MIDI.
    pub fn new(frames: usize, outputs: &'a mut [&'b mut [f32]]) -> Self {
        Self { frames, outputs, inputs: &[], midi_in: &[], node_midi: &[], params: &[] }
    }

    /// The same block with `events` as MIDI input for every `midi-in` node.
    pub fn with_midi(self, events: &'a [Event]) -> Self {
        Self { midi_in: events, ..self }
    }

    /// The same block with `inputs` as the host's input channels.
    pub fn with_inputs(self, inputs: &'a [&'a [f32]]) -> Self {
        Self { inputs, ..self }
    }

    /// The same block with `events` addressed to single `midi-in` nodes.
    pub fn with_node_midi(self, events: &'a [NodeEvent]) -> Self {
        Self { node_midi: events, ..self }
    }

    /// The same block with parameter changes made on the audio thread.
    pub fn with_params(self, changes: &'a [HostParamChange]) -> Self {
        Self { params: changes, ..self }
    }
}

/// Where a parameter lives on the audio thread ([`crate::Engine::param_target`]): what a host
/// that sets parameters from its audio callback (a plugin's automation) addresses. A target of
/// a node that has since been removed reaches nothing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ParamTarget {
    pub(crate) slot: crate::SlotKey,
    pub(crate) param: crate::ParamId,
}

/// A parameter change made on the audio thread, at a frame of the host block, smoothed like any
/// other change from there on. The value is the parameter's own (in its unit and range); the
/// host keeps it in range.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct HostParamChange {
    /// The parameter.
    pub target: ParamTarget,
    /// Its new value.
    pub value: f32,
    /// Frame of the host block where it takes effect.
    pub time_frames: u32,
}

/// A MIDI event for one `midi-in` node.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct NodeEvent {
    /// The `midi-in` node it is for.
    pub node: crate::NodeId,
    /// The event, its time relative to the host block.
    pub event: Event,
}

/// The audio-thread half of the engine. Owned by whoever owns the audio callback.
pub struct Executor {
    pub(crate) commands: rtrb::Consumer<Command>,
    pub(crate) returns: rtrb::Producer<Box<PlanUpdate>>,
    pub(crate) parcels: rtrb::Producer<Parcel>,
    pub(crate) plan: Box<RenderPlan>,
    pub(crate) slots: Vec<Option<NodeSlot>>,
    pub(crate) audio: Vec<f32>,
    pub(crate) events: Vec<EventBuffer>,
    /// Per-frame values of the parameters of the node being processed.
    pub(crate) param_scratch: Vec<f32>,
    pub(crate) pending: Vec<Pending>,
    /// Distance in floats between two audio buffers of the pool.
    pub(crate) stride: usize,
    /// The most frames one processor call renders (the engine's maximum block size).
    pub(crate) max_chunk_frames: usize,
    pub(crate) sample_rate: f32,
    pub(crate) bus_offsets: Vec<usize>,
    /// First host input slice of each input bus.
    pub(crate) input_offsets: Vec<usize>,
    pub(crate) transport: Transport,
    pub(crate) status: Arc<ExecutorStatus>,
    /// What every processor call of a chunk shares; boxed because the contexts of the current
    /// plan's run list point at it.
    pub(crate) env: AliasBox<ChunkEnv>,
}

impl Executor {
    /// Renders one host block. Real-time safe.
    pub fn process(&mut self, block: HostBlock<'_, '_>) {
        self.receive_commands();
        let frames = block.frames;
        let block_start = self.transport.engine_frame;
        for change in block.params {
            let at_frame = block_start + u64::from(change.time_frames).min(frames.saturating_sub(1) as u64);
            let ParamTarget { slot, param } = change.target;
            self.schedule(Pending::Param { slot, param, value: change.value, at_frame });
        }
        let last_frame = frames.saturating_sub(1) as u64;
        for event in block.midi_in.iter().chain(block.node_midi.iter().map(|e| &e.event)) {
            self.map_cc(event.data, block_start + u64::from(event.time_frames).min(last_frame));
        }
        for ch in block.outputs.iter_mut() {
            let n = frames.min(ch.len());
            ch[..n].fill(0.0);
        }
        let mut done = 0usize;
        let (mut cursor, mut node_cursor) = (0usize, 0usize);
        while done < frames {
            let n = self.max_chunk_frames.min(frames - done);
            let last_chunk = done + n == frames;
            // Events up to the end of this chunk (the last chunk takes any later ones).
            let in_chunk = |time: u32| last_chunk || (time as usize) < done + n;
            let first = cursor;
            while cursor < block.midi_in.len() && in_chunk(block.midi_in[cursor].time_frames) {
                cursor += 1;
            }
            let node_first = node_cursor;
            while node_cursor < block.node_midi.len() && in_chunk(block.node_midi[node_cursor].event.time_frames) {
                node_cursor += 1;
            }
            let host = HostIo {
                offset: done,
                events: &block.midi_in[first..cursor],
                node_events: &block.node_midi[node_first..node_cursor],
                inputs: block.inputs,
            };
            self.run_chunk(n, host, block.outputs);
            done += n;
        }
        self.status.active_voices.store(self.env.voices.get(), Ordering::Relaxed);
        self.status.frames.store(self.transport.engine_frame, Ordering::Release);
    }

    /// Musical time; a host that has its own (a DAW) sets it before each block.
    pub fn transport_mut(&mut self) -> &mut Transport {
        &mut self.transport
    }

    /// Distance in floats between two audio buffers of the executor's pool (its maximum block
    /// size plus padding; see [`crate::limits::AUDIO_BUFFER_PADDING_FRAMES`]). Benchmarks that
    /// compare against hand-written loops lay their buffers out the same way.
    pub fn buffer_stride(&self) -> usize {
        self.stride
    }

    /// Status counters shared with the control side.
    pub fn status(&self) -> &Arc<ExecutorStatus> {
        &self.status
    }

    fn receive_commands(&mut self) {
        while let Ok(next) = self.commands.peek() {
            // A plan swap needs room on the return queue for what it lets go of, and a parcel
            // room on the parcel queue (the processor may refuse it); without it, leave the
            // command queued (and everything behind it, to keep order) until the control thread
            // has emptied the queues. Nothing is ever leaked for want of room.
            let room = match next {
                Command::Plan(_) => self.returns.slots() > 0,
                Command::Parcel { .. } => self.parcels.slots() > 0,
                _ => true,
            };
            if !room {
                break;
            }
            let Ok(command) = self.commands.pop() else { break };
            match command {
                Command::Plan(update) => self.adopt(update),
                Command::Param { slot, param, value, at_frame } => {
                    self.schedule(Pending::Param { slot, param, value, at_frame: at_frame.unwrap_or(0) })
                }
                Command::Event { slot, data, at_frame } => {
                    self.map_cc(data, at_frame.unwrap_or(0));
                    self.schedule(Pending::Event { slot, data, at_frame: at_frame.unwrap_or(0) })
                }
                Command::Transport(change) => self.transport.apply(&change),
                Command::Parcel { slot, parcel } => {
                    let mut retire = Retire { queue: &mut self.parcels, status: &self.status };
                    match slot_mut(&mut self.slots, slot) {
                        Some(node) => node.processor.receive(parcel, &mut retire),
                        None => retire.refuse(parcel), // its node is gone
                    }
                }
            }
        }
    }

    /// A control change arriving in the graph at `at_frame`: noted for MIDI learn, and each
    /// parameter bound to it set at that frame.
    fn map_cc(&mut self, data: EventData, at_frame: u64) {
        let EventData::Midi(MidiMessage::ControlChange { channel, controller, value }) = data else { return };
        let count =
            CcSeen::unpack(self.status.last_cc.load(Ordering::Relaxed)).map_or(1, |s| s.count.wrapping_add(1).max(1));
        self.status.last_cc.store(CcSeen { count, channel, controller, value }.pack(), Ordering::Release);
        for i in 0..self.plan.cc_map.len() {
            let PlanCc { binding, target } = self.plan.cc_map[i];
            if binding.hears(channel, controller) {
                let value = binding.value_at(value);
                self.schedule(Pending::Param { slot: target.slot, param: target.param, value, at_frame });
            }
        }
    }

    fn schedule(&mut self, message: Pending) {
        if self.pending.len() < self.pending.capacity().min(PENDING_MESSAGE_CAPACITY) {
            self.pending.push(message);
        } else {
            self.status.dropped_messages.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn adopt(&mut self, mut update: Box<PlanUpdate>) {
        // The buffer views handed to processors rely on the pools covering every buffer the
        // plan names (the verifier checked the names against the plan's counts, and the port
        // offsets against its stride). The control side sizes the pools and picks the stride;
        // check both here too, before anything changes.
        let audio_len = update.audio_pool.as_ref().map_or(self.audio.len(), Vec::len);
        let events_len = update.event_pool.as_ref().map_or(self.events.len(), Vec::len);
        if audio_len < update.plan.audio_buffers as usize * self.stride
            || events_len < update.plan.event_buffers as usize
            || update.plan.stride_floats as usize != self.stride
            || update.plan.linked.len() != update.plan.runs.len()
        {
            self.status.rejected_plans.fetch_add(1, Ordering::Relaxed);
            self.give_back(update);
            return;
        }
        for key in &update.remove {
            let Some(cell) = self.slots.get_mut(key.index as usize) else { continue };
            if cell.as_ref().is_some_and(|s| s.key == *key) && update.removed.len() < update.removed.capacity() {
                if let Some(slot) = cell.take() {
                    update.removed.push(slot);
                }
            }
        }
        if let Some(mut table) = update.slot_table.take() {
            for (new, old) in table.iter_mut().zip(self.slots.iter_mut()) {
                std::mem::swap(new, old);
            }
            std::mem::swap(&mut self.slots, &mut table);
            update.slot_table = Some(table);
        }
        if let Some(pool) = update.audio_pool.as_mut() {
            std::mem::swap(&mut self.audio, pool);
        }
        if let Some(pool) = update.event_pool.as_mut() {
            std::mem::swap(&mut self.events, pool);
        }
        if let Some(scratch) = update.param_scratch.as_mut() {
            std::mem::swap(&mut self.param_scratch, scratch);
        }
        for (key, incoming) in update.install.iter_mut() {
            if let Some(cell) = self.slots.get_mut(key.index as usize) {
                // Whatever was in the cell (nothing, normally) goes back with the update.
                std::mem::swap(cell, incoming);
            }
        }
        std::mem::swap(&mut self.plan, &mut update.plan);
        // The silent run may cover buffers an earlier plan wrote to.
        if let Some(silence) = self.audio.get_mut(..self.plan.silent_buffers as usize * self.stride) {
            silence.fill(0.0);
        }
        // Point the run list at the processors it calls. Every slot the plan names is in the
        // table by now (installed above, or kept from before); a missing one stays unlinked.
        // From here on the pools are reached only through pointers (the contexts keep some).
        let pools = (self.audio.as_mut_ptr(), self.stride, self.events.as_mut_ptr());
        let slots = &mut self.slots;
        let env = self.env.as_non_null();
        let RenderPlan { runs, linked, bindings, .. } = &mut *self.plan;
        for (index, (run, link)) in runs.iter().zip(linked.iter_mut()).enumerate() {
            let ports = bindings.get(run.step.ports.0 as usize..run.step.ports.1 as usize);
            *link = match (slot_mut(slots, run.step.slot), ports) {
                (Some(node), Some(ports)) => {
                    node.run = index as u32;
                    let mut attention = 0;
                    if run.glue.0 != run.glue.1 {
                        attention |= Attention::GLUE;
                    }
                    if run.step.event_outputs {
                        attention |= Attention::EVENT_OUTPUTS;
                    }
                    LinkedRun {
                        processor: node.processor.as_non_null(),
                        // SAFETY: the environment is the executor's own box; the bindings are
                        // this plan's, which never change; the parameter state is boxed in a
                        // slot of this plan, which stays until a plan without it is adopted
                        // (and then this plan, with its contexts, is no longer run). The
                        // pools stay until the next adoption (which links again), are sized
                        // for the plan (checked above), and are only reached through raw
                        // pointers until then. The executor writes the environment, the
                        // parameters and the buffers of glue steps only between processor
                        // calls.
                        ctx: unsafe {
                            ProcessContext::linked(
                                env,
                                ports,
                                run.step.inputs,
                                node.params.as_non_null(),
                                attention,
                                pools,
                            )
                        },
                    }
                }
                // Unlinked: the loop runs its glue and skips the call.
                _ => LinkedRun::unlinked(),
            };
        }
        // Fades in progress continue where they were; held notes stay known.
        let old = &update.plan.fades;
        for fade in self.plan.fades.iter_mut() {
            if let Some(prev) = old.iter().find(|f| f.id == fade.id) {
                fade.remaining_frames = prev.remaining_frames;
            }
        }
        let old = &update.plan.trackers;
        for tracker in self.plan.trackers.iter_mut() {
            if let Some(prev) = tracker.previous.and_then(|i| old.get(i as usize)) {
                tracker.continue_from(prev);
            }
        }
        let old = &mut update.plan.delays;
        for line in self.plan.delays.iter_mut() {
            if let Some(prev) = line.previous.and_then(|i| old.get_mut(i as usize)) {
                line.continue_from(prev);
            }
        }
        update.swapped_at_frame = self.transport.engine_frame;
        self.status.plans_swapped.fetch_add(1, Ordering::Relaxed);
        self.give_back(update);
    }

    /// Sends a plan update back to be freed. Room was checked before the plan was popped and
    /// only this thread pushes, so the queue cannot be full; were it ever, leaking (counted)
    /// is the only way not to free here.
    fn give_back(&mut self, update: Box<PlanUpdate>) {
        if let Err(rtrb::PushError::Full(update)) = self.returns.push(update) {
            std::mem::forget(update);
            self.status.leaked_plans.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn run_chunk(&mut self, n: usize, host: HostIo<'_>, outputs: &mut [&mut [f32]]) {
        let chunk_start = self.transport.engine_frame;
        let chunk_end = chunk_start + n as u64;
        let Executor {
            plan,
            slots,
            audio,
            events,
            param_scratch,
            pending,
            stride,
            sample_rate,
            bus_offsets,
            input_offsets,
            transport,
            status,
            parcels,
            env: env_box,
            ..
        } = self;

        pending.retain(|message| {
            if message.at_frame() >= chunk_end {
                return true;
            }
            let offset = message.at_frame().saturating_sub(chunk_start) as u32;
            match *message {
                Pending::Param { slot, param, value, .. } => {
                    if let Some(node) = slot_mut(slots, slot) {
                        node.params.queue(ParamChangeAt { param, offset_frames: offset, value });
                        // The run's fast path trusts this bit, not the parameter state. (A
                        // slot outside the plan may hold a stale index: marking another run
                        // costs that run one slow call.)
                        if let Some(run) = plan.linked.get_mut(node.run as usize) {
                            run.ctx.set_params_moving(true);
                        }
                    }
                }
                Pending::Event { slot, data, .. } => {
                    if let Some(inbox) = slot_mut(slots, slot).and_then(|node| node.event_inbox.as_mut()) {
                        if inbox.push(Event { time_frames: offset, data }).is_err() {
                            status.dropped_events.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            false
        });

        let RenderPlan { steps, runs, linked, tail, event_srcs, fades, trackers, delays, .. } = &mut **plan;
        // From here to the end of the chunk the pools are reached only through the environment.
        **env_box = ChunkEnv {
            frames: n,
            sample_rate: *sample_rate,
            audio: audio.as_mut_ptr(),
            stride: *stride,
            events: events.as_mut_ptr(),
            scratch: param_scratch.as_mut_ptr(),
            scratch_len: param_scratch.len(),
            transport: &*transport,
            parcels: &mut *parcels,
            status: &**status,
            voices: std::cell::Cell::new(0),
        };
        let env: &ChunkEnv = env_box;
        let mut glue =
            Glue { env, status, event_srcs, fades, trackers, delays, host, bus_offsets, input_offsets, outputs };
        // The common call (no glue, no event outputs, parameters settled) is a byte test and
        // the call; everything else runs out of line, so that the loop keeps its state in
        // registers: a plan is often a long run of small processors, and whatever the loop
        // reads or writes per node costs about as much as the node's own work.
        let first = linked.as_ptr() as usize;
        for link in linked.iter_mut() {
            if link.ctx.needs_attention() {
                glue.attend(link, first, runs, steps, slots);
                continue;
            }
            // SAFETY: `adopt` linked this entry to the processor boxed in a slot of this plan,
            // which stays in the table (its box unmoved) until a plan without it is adopted;
            // nothing else refers to the processor during the call.
            unsafe { &mut *link.processor.as_ptr() }.process(link.ctx.for_call());
        }
        glue.run_steps(steps, *tail, slots);
        let fades = glue.fades;
        for fade in fades.iter_mut() {
            fade.remaining_frames = fade.remaining_frames.saturating_sub(n as u32);
        }
        transport.advance(n, *sample_rate);
    }
}

/// The host's side of one chunk: where it starts in the host block, the host MIDI that falls
/// in it, and the host's input channels (whole blocks).
struct HostIo<'a> {
    offset: usize,
    events: &'a [Event],
    node_events: &'a [NodeEvent],
    inputs: &'a [&'a [f32]],
}

/// What the steps other than processor calls need, gathered so that running one is a call
/// with two arguments.
struct Glue<'a, 'o> {
    env: &'a ChunkEnv,
    status: &'a ExecutorStatus,
    event_srcs: &'a [u32],
    fades: &'a mut [crate::plan::Fade],
    trackers: &'a mut [crate::note_tracker::NoteTracker],
    delays: &'a mut [crate::delay_line::DelayLine],
    host: HostIo<'a>,
    bus_offsets: &'a [usize],
    input_offsets: &'a [usize],
    outputs: &'a mut [&'o mut [f32]],
}

impl Glue<'_, '_> {
    /// A run the loop's fast path cannot take: its glue first, then (if it is linked) the
    /// event outputs cleared, the parameters prepared if they may move, the call, and the
    /// event outputs' overflow counted.
    ///
    /// `first` is the address of the plan's first entry: the run's index is worked out from
    /// the entry's address here, so that the loop keeps no counter.
    #[inline(never)]
    fn attend(
        &mut self,
        link: &mut LinkedRun,
        first: usize,
        runs: &[Run],
        steps: &[Step],
        slots: &mut [Option<NodeSlot>],
    ) {
        let index = (link as *const LinkedRun as usize).wrapping_sub(first) / std::mem::size_of::<LinkedRun>();
        if let Some(run) = runs.get(index).filter(|run| run.glue.0 != run.glue.1) {
            self.run_steps(steps, run.glue, slots);
        }
        if !link.is_linked() {
            return;
        }
        let env = self.env;
        // SAFETY: `adopt` took this pointer from the slot of one of this plan's nodes, which
        // stays in the table (its box unmoved) until a plan without it is adopted. Nothing
        // else refers to the parameter state now: the slot table is not touched here, and no
        // processor is running.
        let params = unsafe { &mut *link.ctx.param_state().as_ptr() };
        let event_outputs = link.ctx.has(Attention::EVENT_OUTPUTS);
        if event_outputs {
            // SAFETY: the context's plan is the current one.
            for_each_event_output(env, unsafe { link.ctx.output_bindings() }, |out| out.clear());
        }
        // Settled before this chunk means nothing changed since the previous call.
        let settled = params.is_settled();
        if !settled && !prepare_params(env, params) {
            return;
        }
        link.ctx.set_params_moving(!settled);
        // SAFETY: as for the parameters: the processor is boxed in a slot of this plan, and
        // nothing else refers to it during the call.
        unsafe { &mut *link.processor.as_ptr() }.process(link.ctx.for_call());
        if event_outputs {
            let status = self.status;
            // SAFETY: as above.
            for_each_event_output(env, unsafe { link.ctx.output_bindings() }, |out| {
                let dropped = out.take_dropped();
                if dropped > 0 {
                    status.dropped_events.fetch_add(dropped as u64, Ordering::Relaxed);
                }
            });
        }
    }

    /// Runs `steps[range.0..range.1]`, none of which is a processor call.
    #[inline(never)]
    fn run_steps(&mut self, steps: &[Step], range: (u32, u32), slots: &mut [Option<NodeSlot>]) {
        for step in steps.get(range.0 as usize..range.1 as usize).unwrap_or(&[]) {
            self.run(step, slots);
        }
    }

    /// Runs one step that is not a processor call.
    #[inline]
    fn run(&mut self, step: &Step, slots: &mut [Option<NodeSlot>]) {
        let env = self.env;
        let n = env.frames;
        let status = self.status;
        // SAFETY (for every pool access below): the plan was verified (every buffer a step names
        // is inside the pools, which `adopt` checked are big enough), and each step's source
        // buffers are distinct from its destination (`src != dst` for copies, adds, fades and
        // delays; merges never merge into a source), so no two live references overlap.
        match *step {
            Step::Process(_) => {}
            // SAFETY: as above (verified buffers; source and destination distinct).
            Step::Copy { src, dst } => unsafe { env.audio_mut(dst).copy_from_slice(env.audio(src)) },
            // SAFETY: as above (verified buffers; source and destination distinct).
            Step::Clear { dst } => unsafe { env.audio_mut(dst).fill(0.0) },
            Step::Add { src, dst } => {
                // SAFETY: as above (verified buffers; source and destination distinct).
                let (s, d) = unsafe { (env.audio(src), env.audio_mut(dst)) };
                for (d, s) in d.iter_mut().zip(s) {
                    *d += *s;
                }
            }
            Step::FadeAdd { src, dst, fade } => {
                let Some(f) = self.fades.get(fade as usize) else { return };
                let total_frames = f.total_frames.max(1);
                let total = total_frames as f32;
                let remaining = f.remaining_frames;
                // SAFETY: as above (verified buffers; source and destination distinct).
                let (s, d) = unsafe { (env.audio(src), env.audio_mut(dst)) };
                for (i, (d, s)) in d.iter_mut().zip(s).enumerate() {
                    let gain = remaining.saturating_sub(i as u32).min(total_frames) as f32 / total;
                    *d += *s * gain;
                }
            }
            Step::MergeEvents { srcs, dst } => {
                let Some(list) = self.event_srcs.get(srcs.0 as usize..srcs.1 as usize) else { return };
                // SAFETY: as above (verified buffers; source and destination distinct).
                let merged = unsafe { env.events_mut(dst) };
                merged.clear();
                for &src in list {
                    // SAFETY: as above (verified buffers; source and destination distinct).
                    for e in unsafe { env.events(src) }.as_slice() {
                        let _ = merged.push(*e);
                    }
                }
                status.dropped_events.fetch_add(merged.take_dropped() as u64, Ordering::Relaxed);
            }
            Step::HostEvents { slot, node, dst } => {
                // SAFETY: as above (verified buffers; source and destination distinct).
                let out = unsafe { env.events_mut(dst) };
                out.clear();
                let offset = self.host.offset;
                let in_chunk = |e: &Event| Event {
                    time_frames: (e.time_frames as usize).saturating_sub(offset).min(n - 1) as u32,
                    data: e.data,
                };
                for e in self.host.events {
                    let _ = out.push(in_chunk(e));
                }
                for e in self.host.node_events.iter().filter(|e| e.node == node) {
                    let _ = out.push(in_chunk(&e.event));
                }
                if let Some(inbox) = slot_mut(slots, slot).and_then(|node| node.event_inbox.as_mut()) {
                    for e in inbox.as_slice() {
                        let _ = out.push(*e);
                    }
                    inbox.clear();
                }
                status.dropped_events.fetch_add(out.take_dropped() as u64, Ordering::Relaxed);
            }
            Step::Delay { line, src, dst } => {
                let Some(line) = self.delays.get_mut(line as usize) else { return };
                // SAFETY: as above (verified buffers; source and destination distinct).
                let (s, d) = unsafe { (env.audio(src), env.audio_mut(dst)) };
                line.process(s, d);
            }
            Step::TrackNotes { src, tracker } => {
                if let Some(t) = self.trackers.get_mut(tracker as usize) {
                    // SAFETY: as above (verified buffers; source and destination distinct).
                    t.observe(unsafe { env.events(src) }.as_slice());
                }
            }
            Step::ReleaseNotes { tracker, dst } => {
                let Some(t) = self.trackers.get_mut(tracker as usize) else { return };
                // SAFETY: as above (verified buffers; source and destination distinct).
                let out = unsafe { env.events_mut(dst) };
                out.clear();
                t.release_into(out);
                status.dropped_events.fetch_add(out.take_dropped() as u64, Ordering::Relaxed);
            }
            Step::BusIn { bus, channel, dst } => {
                // SAFETY: as above (a verified buffer, written by this step only).
                let out = unsafe { env.audio_mut(dst) };
                let offset = self.host.offset;
                let input = self
                    .input_offsets
                    .get(bus as usize)
                    .and_then(|first| self.host.inputs.get(first + channel as usize));
                match input.and_then(|input| input.get(offset..offset + n)) {
                    Some(input) => out.copy_from_slice(input),
                    None => out.fill(0.0),
                }
            }
            Step::BusOut { src, bus, channel } => {
                let Some(&offset) = self.bus_offsets.get(bus as usize) else { return };
                let Some(out) = self.outputs.get_mut(offset + channel as usize) else { return };
                let Some(out) = out.get_mut(self.host.offset..self.host.offset + n) else { return };
                // SAFETY: as above (verified buffers; source and destination distinct).
                for (o, s) in out.iter_mut().zip(unsafe { env.audio(src) }) {
                    *o += *s;
                }
            }
        }
    }
}

/// Computes this chunk's values of a node's changing parameters into the scratch buffer;
/// false if the buffer is too small (never, while the control side sizes it).
#[inline(never)]
fn prepare_params(env: &ChunkEnv, params: &mut ParamState) -> bool {
    let Some(len) = params.len().checked_mul(env.frames).filter(|&len| len <= env.scratch_len) else {
        return false;
    };
    // SAFETY: `len` floats of the scratch vector, which no view holds now (the previous
    // processor call has returned).
    params.prepare(env.frames, unsafe { std::slice::from_raw_parts_mut(env.scratch, len) });
    true
}

/// Calls `f` on every event output buffer among `outputs` (between process calls, when no
/// view of them is alive).
#[inline(never)]
fn for_each_event_output(env: &ChunkEnv, outputs: &[PortBinding], mut f: impl FnMut(&mut EventBuffer)) {
    for b in outputs {
        if let PortBinding::Events(e) = *b {
            // SAFETY: a verified event buffer inside the pool; no processor call is running,
            // so nothing else refers to it.
            f(unsafe { env.events_mut(e) });
        }
    }
}

fn slot_mut(slots: &mut [Option<NodeSlot>], key: crate::SlotKey) -> Option<&mut NodeSlot> {
    slots.get_mut(key.index as usize)?.as_mut().filter(|s| s.key == key)
}
