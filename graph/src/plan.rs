//! The render plan: a flat list of steps the executor runs in order, each naming the buffers it
//! reads and writes. Built and verified on the control thread, executed on the audio thread.

use crate::delay_line::DelayLine;
use crate::note_tracker::NoteTracker;
use std::ptr::NonNull;

use crate::{NodeId, ProcessContext, SlotKey};

/// Identity of a connection across recompiles: its two ends by processor slot and port. State
/// that belongs to a connection (held notes, delay lines) moves from plan to plan by this key.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ConnectionKey {
    pub(crate) from: SlotKey,
    pub(crate) from_port: u16,
    pub(crate) to: SlotKey,
    pub(crate) to_port: u16,
}

/// First of the reserved audio buffers that are always silent (read by unconnected signal
/// inputs; a plan reserves [`RenderPlan::silent_buffers`] of them, as many as its widest input).
pub(crate) const SILENCE: u32 = 0;
/// Reserved event buffer that is always empty (read by unconnected event inputs).
pub(crate) const NO_EVENTS: u32 = 0;

/// Which buffers one port of a processor uses in this plan.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum PortBinding {
    /// `channels` adjacent audio buffers `first..first + channels`, one per channel. Buffer
    /// `first` starts `offset_floats` (`first` × the plan's stride) into the pool, so that
    /// processors reach a channel with one addition.
    Signal { first: u32, channels: u16, offset_floats: u32 },
    /// One event buffer.
    Events(u32),
}

/// A fade-out of a removed connection, advanced once per chunk; its state is carried over to
/// the next plan by `id`. The gain is `min(remaining, total) / total`: a connection from a
/// node with a tail starts with `remaining` above `total`, and holds full level until then.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fade {
    pub(crate) id: u64,
    pub(crate) total_frames: u32,
    pub(crate) remaining_frames: u32,
}

/// Runs the processor in `slot` with ports `bindings[ports.0..ports.1]`: its `inputs` input
/// ports, then its output ports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProcessStep {
    pub(crate) slot: SlotKey,
    pub(crate) ports: (u32, u32),
    pub(crate) inputs: u32,
    /// Whether any output is an event port (cleared before the call).
    pub(crate) event_outputs: bool,
}

impl ProcessStep {
    /// Range of `bindings` holding the input ports.
    pub(crate) fn input_range(&self) -> std::ops::Range<usize> {
        self.ports.0 as usize..(self.ports.0 as usize + self.inputs as usize).min(self.ports.1 as usize)
    }

    /// Range of `bindings` holding the output ports.
    pub(crate) fn output_range(&self) -> std::ops::Range<usize> {
        self.input_range().end..self.ports.1 as usize
    }
}

/// One processor call of a plan, with the other steps that run before it: the executor walks
/// these instead of `steps`, so a long run of processors is a tight loop. This is what the
/// compiler decides and the verifier checks; what the executor's loop reads per call is the
/// matching [`LinkedRun`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    /// `steps[glue.0..glue.1]`, none of them a processor call, run before this one.
    pub(crate) glue: (u32, u32),
    pub(crate) step: ProcessStep,
}

/// A run's processor and the context it is called with (which points at the node's parameter
/// state, the plan's bindings for it and the executor's environment, and holds the node's
/// first ports as addresses), kept apart from [`Run`] so that the loop over a long chain reads
/// one 80-byte entry per node and nothing else: what a block touches per node, and how far a
/// processor's buffers are from its context, is most of what running a small node costs
/// beyond its own arithmetic.
///
/// Until the executor adopts the plan every entry is unlinked. Once linked, an entry points at
/// heap objects owned by its slot in the executor's table, and at the plan's own data; it is
/// valid while the plan is the executor's current plan: a slot leaves the table only when a
/// plan that no longer names it is adopted, boxes do not move when the table is swapped for a
/// bigger one, and a plan's bindings never change once it is built.
pub(crate) struct LinkedRun {
    pub(crate) processor: NonNull<dyn crate::Processor>,
    pub(crate) ctx: ProcessContext<'static>,
}

// The loop's footprint per node (docs/PERFORMANCE.md): grow it knowingly.
const _: () = assert!(std::mem::size_of::<LinkedRun>() <= 80);

impl LinkedRun {
    /// An entry not linked to any processor.
    pub(crate) fn unlinked() -> Self {
        // Never called (the context says it is unlinked). A zero-sized processor, so a
        // dangling, aligned pointer is a valid one.
        Self { processor: NonNull::<crate::NoopProcessor>::dangling(), ctx: ProcessContext::unlinked() }
    }

    /// Whether this entry is linked to a processor.
    pub(crate) fn is_linked(&self) -> bool {
        !self.ctx.has(crate::context::Attention::UNLINKED)
    }
}

impl Clone for LinkedRun {
    fn clone(&self) -> Self {
        Self { processor: self.processor, ctx: self.ctx.duplicate() }
    }
}

impl std::fmt::Debug for LinkedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkedRun").field("processor", &self.processor).finish_non_exhaustive()
    }
}

impl PartialEq for LinkedRun {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(self.processor.as_ptr(), other.processor.as_ptr())
            && self.ctx.param_state() == other.ctx.param_state()
            && self.is_linked() == other.is_linked()
    }
}

impl Eq for LinkedRun {}

// SAFETY: the pointers are only followed by the executor, on the thread that owns the slots
// they point into; elsewhere (a plan travelling back to be freed) they are inert data.
unsafe impl Send for LinkedRun {}

/// Splits `steps` into processor runs with the glue before each, plus the glue after the last.
pub(crate) fn schedule(steps: &[Step]) -> (Vec<Run>, (u32, u32)) {
    let mut runs = Vec::new();
    let mut glue_start = 0u32;
    for (i, step) in steps.iter().enumerate() {
        if let Step::Process(step) = step {
            runs.push(Run { glue: (glue_start, i as u32), step: *step });
            glue_start = i as u32 + 1;
        }
    }
    (runs, (glue_start, steps.len() as u32))
}

/// One operation of a plan.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `dst = src` (first source of a fan-in).
    Copy { src: u32, dst: u32 },
    /// `dst += src` (further sources of a fan-in).
    Add { src: u32, dst: u32 },
    /// `dst = 0` (fan-in made only of fading connections).
    Clear { dst: u32 },
    /// `dst += src * ramp` where the ramp falls from the fade's remaining level to 0.
    FadeAdd { src: u32, dst: u32, fade: u32 },
    /// Merges event buffers `event_srcs[srcs.0..srcs.1]` into `dst`, keeping time order.
    MergeEvents { srcs: (u32, u32), dst: u32 },
    /// Fills `dst` with the host's MIDI input for every input node and for node `node`, plus
    /// events sent to the input node in `slot`.
    HostEvents { slot: SlotKey, node: NodeId, dst: u32 },
    /// `dst` = channel `channel` of host input bus `bus` (silence where the host has none).
    BusIn { bus: u32, channel: u16, dst: u32 },
    /// Runs a processor.
    Process(ProcessStep),
    /// Adds audio buffer `src` into channel `channel` of host output bus `bus`.
    BusOut { src: u32, bus: u32, channel: u16 },
    /// Records the notes passing through a live event connection (`src`) in `trackers[tracker]`.
    TrackNotes { src: u32, tracker: u32 },
    /// `dst` = `src` delayed by `delays[line]` (latency compensation).
    Delay { line: u32, src: u32, dst: u32 },
    /// Fills `dst` with releases (note-offs, pedal-ups) for what the removed event connection of
    /// `trackers[tracker]` still holds; they go out once, then `dst` stays empty.
    ReleaseNotes { tracker: u32, dst: u32 },
}

/// A compiled, verified graph, ready to be swapped in by the executor.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RenderPlan {
    pub(crate) steps: Vec<Step>,
    /// The processor calls of `steps` with the glue before each ([`schedule`]).
    pub(crate) runs: Vec<Run>,
    /// One entry per run, linked to its processor when the executor adopts the plan (the
    /// vector is sized here, so linking writes in place and never allocates).
    pub(crate) linked: Vec<LinkedRun>,
    /// Glue after the last processor call: `steps[tail.0..tail.1]`.
    pub(crate) tail: (u32, u32),
    pub(crate) bindings: Vec<PortBinding>,
    pub(crate) event_srcs: Vec<u32>,
    pub(crate) fades: Vec<Fade>,
    /// Held-note state of event connections (live ones and removed ones being released),
    /// sorted by connection; carried over to the next plan by connection.
    pub(crate) trackers: Vec<NoteTracker>,
    /// Latency-compensation delay lines, one per delayed connection and channel.
    pub(crate) delays: Vec<DelayLine>,
    /// Latency of the whole graph: every output bus is aligned to it.
    pub(crate) latency_frames: u32,
    /// Floats between the starts of two audio buffers of the pool the plan was compiled for
    /// (the executor refuses a plan made for another stride).
    pub(crate) stride_floats: u32,
    /// Audio buffers the plan needs (including the reserved silent ones).
    pub(crate) audio_buffers: u32,
    /// Reserved silent audio buffers at the start of the pool (`0..silent_buffers`).
    pub(crate) silent_buffers: u32,
    /// Event buffers the plan needs (including the reserved empty one).
    pub(crate) event_buffers: u32,
    /// Every slot the plan touches, sorted (so installs/removals can be checked).
    pub(crate) slots: Vec<SlotKey>,
    /// MIDI controllers bound to parameters of the plan's nodes.
    pub(crate) cc_map: Vec<crate::cc_map::PlanCc>,
}

impl RenderPlan {
    /// Number of steps.
    pub fn step_count(&self) -> usize {
        self.steps.len()
    }

    /// Number of audio buffers (mono, one block long) the plan needs, after reuse.
    pub fn audio_buffer_count(&self) -> usize {
        self.audio_buffers as usize
    }

    /// Number of event buffers the plan needs, after reuse.
    pub fn event_buffer_count(&self) -> usize {
        self.event_buffers as usize
    }

    /// Number of processors the plan runs.
    pub fn process_step_count(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Process(_))).count()
    }

    /// Latency of the graph in frames (the largest latency from any source to an output bus;
    /// every bus is delayed to it). Hosts report it (a plugin to its DAW).
    pub fn latency_frames(&self) -> u32 {
        self.latency_frames
    }

    /// Number of latency-compensation delay lines (one per delayed connection and channel).
    pub fn delay_line_count(&self) -> usize {
        self.delays.len()
    }

    /// Number of removed connections currently fading out.
    pub fn fade_count(&self) -> usize {
        self.fades.len()
    }
}
