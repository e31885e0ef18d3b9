//! What a processor sees during one process call: its input and output buffers, parameter
//! values and the transport.
//!
//! Every processor call of a plan has its context built once, when the executor adopts the
//! plan (it lives in the plan's linked run entries), and the executor hands it over as it is:
//! running a node writes nothing but the context's attention bits, and only when they flip.
//! What changes per chunk (length, transport, pool addresses for glue) sits in one
//! [`ChunkEnv`] the contexts point at. The node's first input and first output port are kept
//! in the context as addresses ([`PortRef`]), resolved at adoption; other ports are the pool's
//! base plus an offset the compiler stored in the binding. The views (`inputs()`, `outputs()`,
//! `params()`) are computed only when a processor asks, in registers. For a chain of small
//! nodes, what counts is how many loads lie between the context and the buffers, and how many
//! stores the executor makes per node (docs/PERFORMANCE.md has the measurements).

use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::param::{ParamState, Params};
use crate::plan::PortBinding;
use crate::{Event, EventBuffer, ExecutorStatus, Parcel, Retire, Transport};

/// Everything one processor call may read and write: its ports, its parameters, the chunk's
/// length, sample rate and transport, and where to retire parcels.
///
/// Processors only ever see `&mut ProcessContext<'a>` with `'a` limited to the call, and cannot
/// build, copy or replace one, so nothing a context points at can be kept past the call.
pub struct ProcessContext<'a> {
    /// The executor's per-chunk environment (boxed, so its address is stable).
    env: NonNull<ChunkEnv>,
    /// The node's port bindings (plan data): `inputs` input ports, then `outputs` output ports.
    ports: NonNull<PortBinding>,
    /// The node's parameter state (boxed in its slot).
    params: NonNull<ParamState>,
    inputs: u16,
    outputs: u16,
    /// What the executor must do around this call besides calling the processor (bits of
    /// [`Attention`]); zero for the common call.
    attention: u8,
    /// The first input and output ports, resolved at adoption (see [`PortRef`]).
    first_input: PortRef,
    first_output: PortRef,
    _call: PhantomData<&'a mut ()>,
}

/// Bits of a context's `attention`: reasons the executor takes its out-of-line path for a run
/// instead of just calling the processor. The executor's loop tests one byte per node, so the
/// common call (no glue, no event outputs, parameters settled) costs a load and a branch.
pub(crate) struct Attention;

impl Attention {
    /// Other steps (sums, copies, event merges) run before this call.
    pub(crate) const GLUE: u8 = 1;
    /// The node has event outputs, which are cleared before the call and checked after it.
    pub(crate) const EVENT_OUTPUTS: u8 = 2;
    /// Not linked to a processor (a plan not adopted yet, or a slot missing from the table).
    pub(crate) const UNLINKED: u8 = 4;
    /// A parameter may move this chunk (something was queued, or a ramp is running, or this
    /// is the first call): the parameter state must be prepared, and the processor told that
    /// its parameters are not unchanged. Set by the executor when it queues a change for the
    /// node, cleared when preparing finds every parameter settled.
    pub(crate) const PARAMS_MOVING: u8 = 8;
}

impl ProcessContext<'static> {
    /// A context for one run of a plan, built when the plan is adopted. `attention` holds the
    /// run's fixed [`Attention`] bits; parameters start as moving. A node with more than
    /// `u16::MAX` ports of either direction sees none.
    ///
    /// # Safety
    /// Until the context is dropped or its plan stops being the executor's current plan:
    /// `env` points at the executor's live environment, `ports` at the plan's bindings,
    /// `params` at the node's parameter state, and `audio` and `events` at the pools the plan
    /// runs on (buffers `stride_floats` apart), which are neither moved nor reached through a
    /// reference in that time; and while a processor holds the context, none of them is
    /// written except the pool buffers the processor's own ports name (the executor writes
    /// the rest only between processor calls).
    pub(crate) unsafe fn linked(
        env: NonNull<ChunkEnv>,
        ports: &[PortBinding],
        inputs: u32,
        params: NonNull<ParamState>,
        attention: u8,
        (audio, stride_floats, events): (*mut f32, usize, *mut EventBuffer),
    ) -> Self {
        let inputs = (inputs as usize).min(ports.len());
        let outputs = ports.len() - inputs;
        // Port indices are 16-bit everywhere else, so no real node is this wide; should one
        // be, it sees no ports rather than a view that starts in the wrong place.
        let (inputs, outputs) =
            if inputs > u16::MAX as usize || outputs > u16::MAX as usize { (0, 0) } else { (inputs, outputs) };
        let resolve = |at: usize, count: usize| match ports.get(at) {
            Some(&binding) if count > 0 => PortRef::resolve(binding, audio, stride_floats, events),
            _ => PortRef::NONE,
        };
        Self {
            env,
            ports: NonNull::from(ports).cast(),
            params,
            inputs: inputs as u16,
            outputs: outputs as u16,
            attention: attention | Attention::PARAMS_MOVING,
            first_input: resolve(0, inputs),
            first_output: resolve(inputs, outputs),
            _call: PhantomData,
        }
    }

    /// A context that points nowhere, for a run not linked to a processor. It is never handed
    /// to a processor: its `UNLINKED` bit sends the executor past the call.
    pub(crate) fn unlinked() -> Self {
        Self {
            env: NonNull::dangling(),
            ports: NonNull::dangling(),
            params: NonNull::dangling(),
            inputs: 0,
            outputs: 0,
            attention: Attention::UNLINKED | Attention::PARAMS_MOVING,
            first_input: PortRef::NONE,
            first_output: PortRef::NONE,
            _call: PhantomData,
        }
    }

    /// The same pointers (for cloning a plan; the copy is as valid as the original).
    pub(crate) fn duplicate(&self) -> Self {
        Self { ..*self }
    }

    /// Whether the executor has anything to do for this run besides calling the processor.
    #[inline]
    pub(crate) fn needs_attention(&self) -> bool {
        self.attention != 0
    }

    /// Whether `bit` (one of [`Attention`]) is set.
    #[inline]
    pub(crate) fn has(&self, bit: u8) -> bool {
        self.attention & bit != 0
    }

    /// Marks the parameters as moving (or settled) for the coming calls. Writes only when the
    /// bit flips.
    #[inline]
    pub(crate) fn set_params_moving(&mut self, moving: bool) {
        let attention =
            if moving { self.attention | Attention::PARAMS_MOVING } else { self.attention & !Attention::PARAMS_MOVING };
        if attention != self.attention {
            self.attention = attention;
        }
    }

    /// The node's parameter state.
    pub(crate) fn param_state(&self) -> NonNull<ParamState> {
        self.params
    }

    /// The node's output port bindings.
    ///
    /// # Safety
    /// As for [`ProcessContext::linked`]: the plan the context was built for is current.
    pub(crate) unsafe fn output_bindings(&self) -> &[PortBinding] {
        // SAFETY: the caller's contract: the plan's bindings are alive and never written, and
        // `ports` holds `inputs + outputs` of them.
        unsafe { std::slice::from_raw_parts(self.ports.as_ptr().add(self.inputs as usize), self.outputs as usize) }
    }

    /// This context for one processor call, its lifetime cut down to the call.
    #[inline]
    pub(crate) fn for_call(&mut self) -> &mut ProcessContext<'_> {
        // SAFETY: only the lifetime marker changes (the fields are raw pointers). A shorter
        // lifetime could let a callee store a shorter-lived context in its place, but the
        // callee is a processor, and no code outside this crate can build, copy or replace a
        // context.
        unsafe { &mut *(self as *mut ProcessContext<'static>).cast::<ProcessContext<'_>>() }
    }
}

impl<'a> ProcessContext<'a> {
    #[inline]
    fn env(&self) -> &'a ChunkEnv {
        // SAFETY: `linked`'s contract: the environment is alive and not written during a call,
        // and `'a` does not outlive the call.
        unsafe { self.env.as_ref() }
    }

    /// `count` bindings starting `skip` into the node's ports.
    #[inline]
    fn bindings(&self, skip: u16, count: u16) -> &'a [PortBinding] {
        // SAFETY: `linked`'s contract: the plan's bindings are alive and never written, and
        // `ports` holds `inputs + outputs` of them (`skip + count` is at most that).
        unsafe { std::slice::from_raw_parts(self.ports.as_ptr().add(skip as usize), count as usize) }
    }

    /// Frames to render in this call (at most the engine's maximum block size).
    #[inline]
    pub fn frames(&self) -> usize {
        self.env().frames
    }

    /// Sample rate of the engine in Hz.
    #[inline]
    pub fn sample_rate(&self) -> f32 {
        self.env().sample_rate
    }

    /// Musical time at the first frame of this chunk.
    #[inline]
    pub fn transport(&self) -> &'a Transport {
        // SAFETY: the executor points `transport` at its transport before each chunk and does
        // not change it until the chunk is done.
        unsafe { &*self.env().transport }
    }

    /// The input ports, indexed as declared by the node. Input buffers are never written
    /// during the call, so the view may be kept while outputs are written.
    #[inline]
    pub fn inputs(&self) -> Inputs<'a> {
        Inputs { bindings: self.bindings(0, self.inputs), first: self.first_input, env: self.env() }
    }

    /// True when no parameter has changed since this processor's previous call and none
    /// changes during this chunk: every value is constant, and the same constant the previous
    /// call saw. Whatever the processor derived from its parameters then (coefficients, gains)
    /// can be used again without reading them. False on the first call.
    #[inline]
    pub fn params_unchanged(&self) -> bool {
        self.attention & Attention::PARAMS_MOVING == 0
    }

    /// Parameter values for this chunk.
    #[inline]
    pub fn params(&self) -> Params<'a> {
        // SAFETY: `linked`'s contract: the parameter state is alive and not written during a
        // call.
        let state: &'a ParamState = unsafe { self.params.as_ref() };
        Params::new(state.smoothers(), self.env().frames, self.env().param_values())
    }

    /// The output ports, indexed as declared by the node.
    #[inline]
    pub fn outputs(&mut self) -> Outputs<'_> {
        Outputs {
            bindings: self.bindings(self.inputs, self.outputs),
            first: self.first_output,
            env: self.env(),
            _exclusive: PhantomData,
        }
    }

    /// Adds `voices` to the chunk's count of sounding voices, which hosts show as the engine's
    /// active voices ([`ExecutorStatus::active_voices`]). Instruments call it once per call.
    #[inline]
    pub fn report_voices(&mut self, voices: u32) {
        let count = &self.env().voices;
        count.set(count.get().saturating_add(voices));
    }

    /// Where parcels the processor no longer needs go (to be freed off the audio thread).
    #[inline]
    pub fn retire(&mut self) -> Retire<'_> {
        let env = self.env();
        // SAFETY: `parcels` points at the executor's parcel producer, which the executor does
        // not touch while a chunk runs; processors run one at a time, and the returned value
        // borrows this context mutably, so this is the only reference to the producer. The
        // status counters are alive as long as the executor.
        unsafe { Retire { queue: &mut *env.parcels, status: &*env.status } }
    }
}

/// What every processor call of one chunk shares. It lives in a box owned by the executor
/// (contexts point at it) and is refreshed at the start of every chunk, before any processor
/// runs. The pools are raw pointers taken then from the executor's vectors, and every access
/// to the pools during the chunk goes through them (never through the vectors), so the views
/// handed to processors stay valid for the whole chunk.
pub(crate) struct ChunkEnv {
    pub(crate) frames: usize,
    pub(crate) sample_rate: f32,
    pub(crate) audio: *mut f32,
    /// Distance in floats between two audio buffers of the pool.
    pub(crate) stride: usize,
    pub(crate) events: *mut EventBuffer,
    /// Parameter scratch (per-frame values of ramping parameters of the node being run).
    pub(crate) scratch: *mut f32,
    pub(crate) scratch_len: usize,
    pub(crate) transport: *const Transport,
    pub(crate) parcels: *mut rtrb::Producer<Parcel>,
    pub(crate) status: *const ExecutorStatus,
    /// Voices the chunk's instruments reported ([`ProcessContext::report_voices`]).
    pub(crate) voices: std::cell::Cell<u32>,
}

// SAFETY: the pointers lead into the executor that owns the environment, and are only followed
// on the thread running that executor.
unsafe impl Send for ChunkEnv {}

impl ChunkEnv {
    /// An environment for an executor that has not run yet (nothing points anywhere useful;
    /// every chunk starts by filling it in).
    pub(crate) fn empty(sample_rate: f32, stride: usize) -> Self {
        Self {
            frames: 0,
            sample_rate,
            audio: std::ptr::null_mut(),
            stride,
            events: std::ptr::null_mut(),
            scratch: std::ptr::null_mut(),
            scratch_len: 0,
            transport: std::ptr::null(),
            parcels: std::ptr::null_mut(),
            status: std::ptr::null(),
            voices: std::cell::Cell::new(0),
        }
    }
}

impl ChunkEnv {
    /// Start of audio buffer `buf`. Dereferencing it is sound for buffers a verified plan
    /// names: the verifier checked that every buffer a step uses (every port's run
    /// `first..first + channels`) is below the plan's buffer count, and the executor checked
    /// that the pool holds that many buffers of `stride` floats before adopting the plan.
    #[inline]
    pub(crate) fn channel(&self, buf: u32) -> *mut f32 {
        self.audio.wrapping_add(buf as usize * self.stride)
    }

    /// `frames` floats of audio buffer `buf`, to read.
    ///
    /// # Safety
    /// `buf` is a buffer the verified plan names, and no slice obtained with
    /// [`ChunkEnv::audio_mut`] for it is alive.
    #[inline]
    pub(crate) unsafe fn audio(&self, buf: u32) -> &[f32] {
        // SAFETY: inside the pool (see `channel`); no writer alive (the caller's contract).
        unsafe { std::slice::from_raw_parts(self.channel(buf), self.frames) }
    }

    /// `frames` floats of audio buffer `buf`, to write.
    ///
    /// # Safety
    /// `buf` is a buffer the verified plan names, and no other slice of it is alive.
    #[inline]
    #[allow(clippy::mut_from_ref)] // the pool is shared through raw pointers, see the type's docs
    pub(crate) unsafe fn audio_mut(&self, buf: u32) -> &mut [f32] {
        // SAFETY: inside the pool (see `channel`); exclusive (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.channel(buf), self.frames) }
    }

    /// Event buffer `buf`, to write.
    ///
    /// # Safety
    /// `buf` is below the plan's event buffer count, and no other reference to it is alive.
    #[inline]
    #[allow(clippy::mut_from_ref)] // the pool is shared through raw pointers, see the type's docs
    pub(crate) unsafe fn events_mut(&self, buf: u32) -> &mut EventBuffer {
        // SAFETY: inside the pool (the executor checked its length against the plan's count
        // before adopting it); exclusive (the caller's contract).
        unsafe { &mut *self.events.add(buf as usize) }
    }

    /// Event buffer `buf`, to read.
    ///
    /// # Safety
    /// `buf` is below the plan's event buffer count, and no mutable reference to it is alive.
    #[inline]
    pub(crate) unsafe fn events(&self, buf: u32) -> &EventBuffer {
        // SAFETY: as in `events_mut`; no writer alive (the caller's contract).
        unsafe { &*self.events.add(buf as usize) }
    }

    /// The values ramping parameters were prepared into for the node being run.
    #[inline]
    pub(crate) fn param_values(&self) -> &[f32] {
        // SAFETY: `scratch` points at `scratch_len` initialised floats of the executor's
        // scratch vector, which lives (unmoved) for the whole chunk. It is written only by
        // the executor between process calls, never while a processor holds this slice
        // (a processor call cannot outlive its step).
        unsafe { std::slice::from_raw_parts(self.scratch, self.scratch_len) }
    }
}

/// A port resolved to addresses: where its first channel starts and how far apart its
/// channels are, or where its event buffer is. The first input and the first output port of
/// every node are resolved when the plan is adopted and kept in the context itself, so that
/// the common node (one port each way) reaches its buffers with one load from the context:
/// measured, a table between the context and the buffers costs about a tenth of a small
/// node's time (docs/PERFORMANCE.md). Other ports are resolved from their bindings per access.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct PortRef {
    /// A signal port's first channel (`f32`), an event port's buffer (`EventBuffer`), or null.
    ptr: *mut u8,
    /// Floats between two channels of a signal port.
    stride_floats: u32,
    /// A signal port's channel count; 0 for event ports and for no port.
    channels: u16,
    /// Whether `ptr` is an event buffer.
    events: bool,
}

impl PortRef {
    /// No port (a node without inputs or outputs).
    pub(crate) const NONE: PortRef =
        PortRef { ptr: std::ptr::null_mut(), stride_floats: 0, channels: 0, events: false };

    /// `binding`'s addresses in pools starting at `audio` (buffers `stride_floats` apart) and
    /// `events`. Computing them is plain pointer arithmetic; dereferencing them is sound while
    /// the pools are the ones the verified plan was adopted with (see the users).
    #[inline]
    fn resolve(binding: PortBinding, audio: *mut f32, stride_floats: usize, events: *mut EventBuffer) -> PortRef {
        match binding {
            PortBinding::Signal { channels, offset_floats, .. } => PortRef {
                ptr: audio.wrapping_add(offset_floats as usize).cast(),
                stride_floats: stride_floats as u32,
                channels,
                events: false,
            },
            PortBinding::Events(buf) => {
                PortRef { ptr: events.wrapping_add(buf as usize).cast(), stride_floats: 0, channels: 0, events: true }
            }
        }
    }

    /// Start of channel `channel` (below `channels`) of a signal port.
    #[inline]
    fn channel(self, channel: usize) -> *mut f32 {
        self.ptr.cast::<f32>().wrapping_add(channel * self.stride_floats as usize)
    }
}

/// Port `port` of a node whose first port of this direction is `first` and whose bindings of
/// this direction are `bindings`.
#[inline]
fn port_ref(first: PortRef, bindings: &[PortBinding], env: &ChunkEnv, port: usize) -> PortRef {
    if port == 0 {
        return first;
    }
    match bindings.get(port) {
        Some(&binding) => PortRef::resolve(binding, env.audio, env.stride, env.events),
        None => PortRef::NONE,
    }
}

/// Read access to a processor's input ports.
#[derive(Copy, Clone)]
pub struct Inputs<'a> {
    bindings: &'a [PortBinding],
    first: PortRef,
    env: &'a ChunkEnv,
}

impl<'a> Inputs<'a> {
    /// Number of input ports.
    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    /// True when the node has no inputs.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    #[inline]
    fn port(&self, port: usize) -> PortRef {
        port_ref(self.first, self.bindings, self.env, port)
    }

    /// Channel `channel` of signal (audio or control) input `port`; silence when unconnected.
    /// A wrong port kind or channel yields an empty slice.
    #[inline]
    pub fn signal(&self, port: usize, channel: usize) -> &'a [f32] {
        let port = self.port(port);
        if channel >= port.channels as usize {
            return &[];
        }
        // SAFETY: a verified buffer inside the pool (see `ChunkEnv::channel`; `PortRef`'s users
        // for the first port), and no output of this step aliases an input (verified), so
        // nothing writes this range while the slice lives (one process call).
        unsafe { std::slice::from_raw_parts(port.channel(channel), self.env.frames) }
    }

    /// Both channels of a stereo input `port` with one lookup (silence when unconnected; empty
    /// slices if the port is not stereo).
    #[inline]
    pub fn stereo(&self, port: usize) -> (&'a [f32], &'a [f32]) {
        let port = self.port(port);
        if port.channels != 2 {
            return (&[], &[]);
        }
        let frames = self.env.frames;
        // SAFETY: as in `signal`: verified buffers inside the pool, no aliasing output.
        unsafe {
            (std::slice::from_raw_parts(port.channel(0), frames), std::slice::from_raw_parts(port.channel(1), frames))
        }
    }

    /// Events arriving on event input `port`, sorted by time; empty when unconnected.
    #[inline]
    pub fn events(&self, port: usize) -> &'a [Event] {
        let port = self.port(port);
        if !port.events {
            return &[];
        }
        // SAFETY: the verifier checked the index is inside the event pool and that no output
        // event buffer of this step is the same buffer.
        unsafe { (*port.ptr.cast::<EventBuffer>()).as_slice() }
    }
}

/// Write access to a processor's output ports, borrowed from its [`ProcessContext`].
pub struct Outputs<'a> {
    bindings: &'a [PortBinding],
    first: PortRef,
    env: &'a ChunkEnv,
    _exclusive: PhantomData<&'a mut [f32]>,
}

impl<'a> Outputs<'a> {
    /// Number of output ports.
    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    /// True when the node has no outputs.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    #[inline]
    fn port(&self, port: usize) -> PortRef {
        port_ref(self.first, self.bindings, self.env, port)
    }

    /// Channel `channel` of signal output `port` (empty for a wrong port kind or channel).
    #[inline]
    pub fn signal_mut(&mut self, port: usize, channel: usize) -> &mut [f32] {
        let port = self.port(port);
        if channel >= port.channels as usize {
            return &mut [];
        }
        // SAFETY: output buffers of a step are distinct from each other and from its inputs
        // (verified), and `&mut self` keeps this the only live reference into them.
        unsafe { std::slice::from_raw_parts_mut(port.channel(channel), self.env.frames) }
    }

    /// Both channels of a stereo output `port` at once (empty slices if it is not stereo).
    #[inline]
    pub fn stereo_mut(&mut self, port: usize) -> (&mut [f32], &mut [f32]) {
        let port = self.port(port);
        if port.channels != 2 {
            return (&mut [], &mut []);
        }
        let frames = self.env.frames;
        // SAFETY: the two channels of a port are distinct buffers of the pool (verified), so
        // the two slices never overlap; `&mut self` excludes any other reference.
        unsafe {
            (
                std::slice::from_raw_parts_mut(port.channel(0), frames),
                std::slice::from_raw_parts_mut(port.channel(1), frames),
            )
        }
    }

    /// Like [`Outputs::stereo_mut`], consuming the view: the slices then live as long as the
    /// context borrow the view came from (for helpers that return them).
    #[inline]
    pub fn into_stereo(mut self, port: usize) -> (&'a mut [f32], &'a mut [f32]) {
        let (l, r) = self.stereo_mut(port);
        let (l, r) = ((l.as_mut_ptr(), l.len()), (r.as_mut_ptr(), r.len()));
        // SAFETY: the view is consumed, so these are the only references derived from it; they
        // cover the same distinct pool buffers `stereo_mut` returned (or nothing), valid for
        // `'a`, the borrow of the context the view was made from.
        unsafe { (std::slice::from_raw_parts_mut(l.0, l.1), std::slice::from_raw_parts_mut(r.0, r.1)) }
    }

    /// Every channel of signal output `port`, as slices that can all be held at once (for a
    /// processor handing its outputs to foreign code in one call, like a hosted plugin). Empty
    /// for an event port. Consumes the view; the slices live as long as the context borrow it
    /// came from, so take every port needed from one view with [`Outputs::split`] first.
    #[inline]
    pub fn into_channels(self, port: usize) -> impl ExactSizeIterator<Item = &'a mut [f32]> {
        let port = self.port(port);
        let frames = self.env.frames;
        (0..port.channels as usize).map(move |channel| {
            // SAFETY: the channels of a port are distinct buffers of the pool, distinct from
            // every other port's (verified); each index is yielded once and the view was
            // consumed, so these are the only references into them, valid for `'a`.
            unsafe { std::slice::from_raw_parts_mut(port.channel(channel), frames) }
        })
    }

    /// One view per output port, each reaching only its own port (so several ports can be
    /// taken apart with [`Outputs::into_channels`] at once). Consumes the view.
    #[inline]
    pub fn split(self) -> impl ExactSizeIterator<Item = Outputs<'a>> {
        let Outputs { bindings, first, env, .. } = self;
        (0..bindings.len()).map(move |port| {
            let first = port_ref(first, bindings, env, port);
            // A view of one port: its binding alone, resolved as the first.
            Outputs { bindings: &bindings[port..=port], first, env, _exclusive: PhantomData }
        })
    }

    /// The event buffer of event output `port`, emptied before the call; `None` if `port` is
    /// not an event output.
    #[inline]
    pub fn events_mut(&mut self, port: usize) -> Option<&mut EventBuffer> {
        let port = self.port(port);
        // SAFETY: event output buffers of a step are distinct from each other and from its
        // event inputs (verified); `&mut self` excludes any other reference.
        port.events.then(|| unsafe { &mut *port.ptr.cast::<EventBuffer>() })
    }
}
