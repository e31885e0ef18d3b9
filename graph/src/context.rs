//! What a processor sees during one process call: its input and output buffers, parameter
//! values and the transport.
//!
//! A context is six words: what every step of the chunk shares ([`ChunkEnv`]), the node's
//! port bindings (inputs, then outputs), its parameter smoothers, and whether they changed. The executor builds one per
//! step, and the views (`inputs()`, `outputs()`, `params()`) are computed from it only when a
//! processor asks, in registers. A channel's address is the pool's base plus an offset the
//! compiler stored in the binding: two dependent loads from the context, no multiplication.
//! Short chains like this are what keep the engine's cost per node near a hand-written loop's
//! (docs/PERFORMANCE.md has the measurements).

use std::marker::PhantomData;

use crate::param::{Params, Smoother};
use crate::plan::PortBinding;
use crate::{Event, EventBuffer, ExecutorStatus, Parcel, Retire, Transport};

/// Everything one processor call may read and write: its ports, its parameters, the chunk's
/// length, sample rate and transport, and where to retire parcels.
pub struct ProcessContext<'a> {
    pub(crate) env: &'a ChunkEnv<'a>,
    /// The node's input port bindings followed by its output port bindings.
    pub(crate) ports: &'a [PortBinding],
    /// How many of `ports` are inputs.
    pub(crate) inputs: u32,
    /// Whether every parameter holds the constant value it had in the previous call.
    pub(crate) params_unchanged: bool,
    /// The node's parameter smoothers (their constant values and flags).
    pub(crate) params: &'a [Smoother],
}

impl<'a> ProcessContext<'a> {
    /// Frames to render in this call (at most the engine's maximum block size).
    #[inline]
    pub fn frames(&self) -> usize {
        self.env.frames
    }

    /// Sample rate of the engine in Hz.
    #[inline]
    pub fn sample_rate(&self) -> f32 {
        self.env.sample_rate
    }

    /// Musical time at the first frame of this chunk.
    #[inline]
    pub fn transport(&self) -> &'a Transport {
        self.env.transport
    }

    /// The input ports, indexed as declared by the node. Input buffers are never written
    /// during the call, so the view may be kept while outputs are written.
    #[inline]
    pub fn inputs(&self) -> Inputs<'a> {
        let (inputs, _) = self.ports.split_at((self.inputs as usize).min(self.ports.len()));
        Inputs { bindings: inputs, env: self.env }
    }

    /// True when no parameter has changed since this processor's previous call and none
    /// changes during this chunk: every value is constant, and the same constant the previous
    /// call saw. Whatever the processor derived from its parameters then (coefficients, gains)
    /// can be used again without reading them. False on the first call.
    #[inline]
    pub fn params_unchanged(&self) -> bool {
        self.params_unchanged
    }

    /// Parameter values for this chunk.
    #[inline]
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params, self.env.frames, self.env.param_values())
    }

    /// The output ports, indexed as declared by the node.
    #[inline]
    pub fn outputs(&mut self) -> Outputs<'_> {
        let (_, outputs) = self.ports.split_at((self.inputs as usize).min(self.ports.len()));
        Outputs { bindings: outputs, env: self.env, _exclusive: PhantomData }
    }

    /// Where parcels the processor no longer needs go (to be freed off the audio thread).
    #[inline]
    pub fn retire(&mut self) -> Retire<'_> {
        // SAFETY: `parcels` points at the executor's parcel producer, which the executor does
        // not touch while a chunk runs; processors run one at a time, and the returned value
        // borrows this context mutably, so this is the only reference to the producer.
        Retire { queue: unsafe { &mut *self.env.parcels }, status: self.env.status }
    }
}

/// What every step of one chunk shares, built once per chunk on the audio thread. The pools
/// are raw pointers taken once per chunk from the executor's vectors, and every access to the
/// pools during the chunk goes through them (never through the vectors), so the views handed
/// to processors stay valid for the whole chunk.
pub(crate) struct ChunkEnv<'a> {
    pub(crate) frames: usize,
    pub(crate) sample_rate: f32,
    /// All port bindings of the plan; steps name ranges of it.
    pub(crate) bindings: &'a [PortBinding],
    pub(crate) audio: *mut f32,
    /// Distance in floats between two audio buffers of the pool.
    pub(crate) stride: usize,
    pub(crate) events: *mut EventBuffer,
    /// Parameter scratch (per-frame values of ramping parameters of the node being run).
    pub(crate) scratch: *mut f32,
    pub(crate) scratch_len: usize,
    pub(crate) transport: &'a Transport,
    pub(crate) parcels: *mut rtrb::Producer<Parcel>,
    pub(crate) status: &'a ExecutorStatus,
}

impl<'a> ChunkEnv<'a> {
    /// Start of audio buffer `buf`. Dereferencing it is sound for buffers a verified plan
    /// names: the verifier checked that every buffer a step uses (every port's run
    /// `first..first + channels`) is below the plan's buffer count, and the executor checked
    /// that the pool holds that many buffers of `stride` floats before adopting the plan.
    #[inline]
    pub(crate) fn channel(&self, buf: u32) -> *mut f32 {
        self.audio.wrapping_add(buf as usize * self.stride)
    }

    /// Start of channel `channel` of a signal port whose first buffer starts `offset_floats`
    /// into the pool. Sound to dereference under the same conditions as [`ChunkEnv::channel`]
    /// for `channel` below the port's channel count: the verifier checked each binding's
    /// offset is its first buffer × the stride the executor runs with.
    #[inline]
    fn port_channel(&self, offset_floats: u32, channel: usize) -> *mut f32 {
        self.audio.wrapping_add(offset_floats as usize + channel * self.stride)
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
    pub(crate) fn param_values(&self) -> &'a [f32] {
        // SAFETY: `scratch` points at `scratch_len` initialised floats of the executor's
        // scratch vector, which lives (unmoved) for the whole chunk. It is written only by
        // the executor between process calls, never while a processor holds this slice
        // (a processor call cannot outlive its step).
        unsafe { std::slice::from_raw_parts(self.scratch, self.scratch_len) }
    }
}

/// Read access to a processor's input ports.
#[derive(Copy, Clone)]
pub struct Inputs<'a> {
    bindings: &'a [PortBinding],
    env: &'a ChunkEnv<'a>,
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

    /// Channel `channel` of signal (audio or control) input `port`; silence when unconnected.
    /// A wrong port kind or channel yields an empty slice.
    #[inline]
    pub fn signal(&self, port: usize, channel: usize) -> &'a [f32] {
        match self.bindings.get(port) {
            Some(&PortBinding::Signal { channels, offset_floats, .. }) if channel < channels as usize => {
                let ptr = self.env.port_channel(offset_floats, channel);
                // SAFETY: the buffer is inside the pool (see `ChunkEnv::channel`) and no output
                // of this step aliases an input (verified), so nothing writes this range while
                // the slice lives (one process call).
                unsafe { std::slice::from_raw_parts(ptr, self.env.frames) }
            }
            _ => &[],
        }
    }

    /// Both channels of a stereo input `port` with one lookup (silence when unconnected; empty
    /// slices if the port is not stereo).
    #[inline]
    pub fn stereo(&self, port: usize) -> (&'a [f32], &'a [f32]) {
        match self.bindings.get(port) {
            Some(&PortBinding::Signal { channels: 2, offset_floats, .. }) => {
                let (l, r) = (self.env.port_channel(offset_floats, 0), self.env.port_channel(offset_floats, 1));
                // SAFETY: as in `signal`: verified buffers inside the pool, no aliasing output.
                unsafe {
                    (std::slice::from_raw_parts(l, self.env.frames), std::slice::from_raw_parts(r, self.env.frames))
                }
            }
            _ => (&[], &[]),
        }
    }

    /// Events arriving on event input `port`, sorted by time; empty when unconnected.
    #[inline]
    pub fn events(&self, port: usize) -> &'a [Event] {
        match self.bindings.get(port) {
            Some(&PortBinding::Events(buf)) => {
                // SAFETY: the verifier checked the index is inside the event pool and that no
                // output event buffer of this step is the same buffer.
                unsafe { (*self.env.events.add(buf as usize)).as_slice() }
            }
            _ => &[],
        }
    }
}

/// Write access to a processor's output ports, borrowed from its [`ProcessContext`].
pub struct Outputs<'a> {
    bindings: &'a [PortBinding],
    env: &'a ChunkEnv<'a>,
    _exclusive: PhantomData<&'a mut [f32]>,
}

impl Outputs<'_> {
    /// Number of output ports.
    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    /// True when the node has no outputs.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Channel `channel` of signal output `port` (empty for a wrong port kind or channel).
    #[inline]
    pub fn signal_mut(&mut self, port: usize, channel: usize) -> &mut [f32] {
        match self.bindings.get(port) {
            Some(&PortBinding::Signal { channels, offset_floats, .. }) if channel < channels as usize => {
                let ptr = self.env.port_channel(offset_floats, channel);
                // SAFETY: output buffers of a step are distinct from each other and from its
                // inputs (verified), and `&mut self` keeps this the only live reference into it.
                unsafe { std::slice::from_raw_parts_mut(ptr, self.env.frames) }
            }
            _ => &mut [],
        }
    }

    /// Both channels of a stereo output `port` at once (empty slices if it is not stereo).
    #[inline]
    pub fn stereo_mut(&mut self, port: usize) -> (&mut [f32], &mut [f32]) {
        match self.bindings.get(port) {
            Some(&PortBinding::Signal { channels: 2, offset_floats, .. }) => {
                let (l, r) = (self.env.port_channel(offset_floats, 0), self.env.port_channel(offset_floats, 1));
                // SAFETY: the two channels of a port are distinct buffers of the pool (verified),
                // so the two slices never overlap; `&mut self` excludes any other reference.
                unsafe {
                    (
                        std::slice::from_raw_parts_mut(l, self.env.frames),
                        std::slice::from_raw_parts_mut(r, self.env.frames),
                    )
                }
            }
            _ => (&mut [], &mut []),
        }
    }

    /// The event buffer of event output `port`, emptied before the call; `None` if `port` is
    /// not an event output.
    #[inline]
    pub fn events_mut(&mut self, port: usize) -> Option<&mut EventBuffer> {
        match self.bindings.get(port) {
            // SAFETY: event output buffers of a step are distinct from each other and from its
            // event inputs (verified); `&mut self` excludes any other reference.
            Some(&PortBinding::Events(buf)) => Some(unsafe { &mut *self.env.events.add(buf as usize) }),
            _ => None,
        }
    }
}
