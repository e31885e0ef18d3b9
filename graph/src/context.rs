//! What a processor sees during one process call: its input and output buffers, parameter
//! values and the transport.

use std::marker::PhantomData;

use crate::param::Params;
use crate::plan::PortBinding;
use crate::{Event, EventBuffer, Retire, Transport};

/// Everything one processor call may read and write. The fields are separate views so a
/// processor can read inputs while writing outputs.
pub struct ProcessContext<'a> {
    /// Frames to render in this call (at most the engine's maximum block size).
    pub frames: usize,
    /// Sample rate of the engine in Hz.
    pub sample_rate: f32,
    /// Input ports, indexed as declared by the node.
    pub inputs: Inputs<'a>,
    /// Output ports, indexed as declared by the node.
    pub outputs: Outputs<'a>,
    /// Parameter values for this chunk.
    pub params: Params<'a>,
    /// Musical time at the first frame of this chunk.
    pub transport: &'a Transport,
    /// Where parcels the processor no longer needs go (to be freed off the audio thread).
    pub retire: Retire<'a>,
}

/// Shared pointers into the executor's buffer pools, valid for one process call.
#[derive(Copy, Clone)]
pub(crate) struct Pools {
    pub(crate) audio: *mut f32,
    pub(crate) events: *mut EventBuffer,
    pub(crate) stride: usize,
}

impl Pools {
    /// Start of audio buffer `buf`.
    #[inline]
    fn channel(self, buf: u32) -> *mut f32 {
        // SAFETY: callers pass buffers of a verified binding: the verifier checked that every
        // port's run `first..first + channels` lies inside the pool (`stride` floats each),
        // and the executor checked the pool covers the plan before adopting it.
        unsafe { self.audio.add(buf as usize * self.stride) }
    }
}

/// Read access to a processor's input ports.
pub struct Inputs<'a> {
    pub(crate) bindings: &'a [PortBinding],
    pub(crate) pools: Pools,
    pub(crate) frames: usize,
    pub(crate) _borrow: PhantomData<&'a [f32]>,
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
            Some(&PortBinding::Signal { first, channels }) if channel < channels as usize => {
                let ptr = self.pools.channel(first + channel as u32);
                // SAFETY: the buffer is inside the pool (see `Pools::channel`) and no output of
                // this step aliases an input (verified), so nothing writes this range while
                // the slice lives (one process call).
                unsafe { std::slice::from_raw_parts(ptr, self.frames) }
            }
            _ => &[],
        }
    }

    /// Both channels of a stereo input `port` with one lookup (silence when unconnected; empty
    /// slices if the port is not stereo).
    #[inline]
    pub fn stereo(&self, port: usize) -> (&'a [f32], &'a [f32]) {
        match self.bindings.get(port) {
            Some(&PortBinding::Signal { first, channels: 2 }) => {
                let (l, r) = (self.pools.channel(first), self.pools.channel(first + 1));
                // SAFETY: as in `signal`: verified buffers inside the pool, no aliasing output.
                unsafe { (std::slice::from_raw_parts(l, self.frames), std::slice::from_raw_parts(r, self.frames)) }
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
                unsafe { (*self.pools.events.add(buf as usize)).as_slice() }
            }
            _ => &[],
        }
    }
}

/// Write access to a processor's output ports.
pub struct Outputs<'a> {
    pub(crate) bindings: &'a [PortBinding],
    pub(crate) pools: Pools,
    pub(crate) frames: usize,
    pub(crate) _borrow: PhantomData<&'a mut [f32]>,
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

    /// Channel `channel` of signal output `port` (empty for a wrong port kind or channel).
    #[inline]
    pub fn signal_mut(&mut self, port: usize, channel: usize) -> &mut [f32] {
        match self.bindings.get(port) {
            Some(&PortBinding::Signal { first, channels }) if channel < channels as usize => {
                let ptr = self.pools.channel(first + channel as u32);
                // SAFETY: output buffers of a step are distinct from each other and from its
                // inputs (verified), and `&mut self` keeps this the only live reference into it.
                unsafe { std::slice::from_raw_parts_mut(ptr, self.frames) }
            }
            _ => &mut [],
        }
    }

    /// Both channels of a stereo output `port` at once (empty slices if it is not stereo).
    #[inline]
    pub fn stereo_mut(&mut self, port: usize) -> (&mut [f32], &mut [f32]) {
        match self.bindings.get(port) {
            Some(&PortBinding::Signal { first, channels: 2 }) => {
                let (l, r) = (self.pools.channel(first), self.pools.channel(first + 1));
                // SAFETY: the two channels of a port are distinct buffers of the pool
                // (verified), so the two slices never overlap; `&mut self` excludes any other
                // reference.
                unsafe {
                    (std::slice::from_raw_parts_mut(l, self.frames), std::slice::from_raw_parts_mut(r, self.frames))
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
            Some(&PortBinding::Events(buf)) => Some(unsafe { &mut *self.pools.events.add(buf as usize) }),
            _ => None,
        }
    }
}
