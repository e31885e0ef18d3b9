//! Every fixed capacity of the engine, in one place, each with the reason for its size.
//!
//! The audio thread never grows a container: anything that could overflow is sized here up
//! front, and overflow is counted in [`crate::ExecutorStatus`] instead of allocating.

/// Largest chunk the executor hands a processor; larger host blocks are split. 512 frames keeps
/// scratch buffers in L2 cache while amortising per-node overhead.
pub const DEFAULT_MAX_BLOCK_FRAMES: usize = 512;

/// Extra floats between the audio buffers of the executor's pool. Buffers spaced exactly a
/// power of two apart (512 floats = 2 KiB) put a chain's source and destination a multiple of
/// 4 KiB apart, where the CPU mistakes loads of one for reloads of stores to the other (4K
/// aliasing); one cache line of padding avoids it.
pub const AUDIO_BUFFER_PADDING_FRAMES: usize = 16;

/// Distance in floats between two audio buffers of the executor's pool, for chunks of at most
/// `max_block_frames`.
pub const fn audio_buffer_stride(max_block_frames: usize) -> usize {
    let frames = if max_block_frames == 0 { 1 } else { max_block_frames };
    frames.div_ceil(AUDIO_BUFFER_PADDING_FRAMES) * AUDIO_BUFFER_PADDING_FRAMES + AUDIO_BUFFER_PADDING_FRAMES
}

/// Events one event buffer holds per chunk. Dense MIDI peaks at a few hundred events per
/// 10 ms; 1024 leaves headroom for fan-in merges of several dense streams.
pub const EVENT_BUFFER_CAPACITY: usize = 1024;

/// Messages (parameter changes, events, plans) the control thread may queue ahead of the audio
/// thread. A UI dragging ten sliders at 60 Hz sends ~600/s; 8192 covers a burst of seconds.
pub const COMMAND_QUEUE_CAPACITY: usize = 8192;

/// Retired plans waiting for the control thread to free them. Only plan updates travel back,
/// so this bounds how many edits may be in flight before the control thread runs `maintain`.
pub const RETURN_QUEUE_CAPACITY: usize = 256;

/// Parcels (instruments, tables) processors have let go of, waiting for the control thread to
/// drop them. A processor whose parcel does not fit keeps it and retries; 1024 covers
/// thousands of instrument swaps between two `maintain` calls.
pub const PARCEL_QUEUE_CAPACITY: usize = 1024;

/// Timed messages (scheduled for a future frame) the audio thread can hold at once.
pub const PENDING_MESSAGE_CAPACITY: usize = 8192;

/// Parameter changes one node can take within one chunk; later ones in the same chunk replace
/// the last (the value still lands, its sample position becomes approximate).
pub const PARAM_INBOX_CAPACITY: usize = 64;

/// Length of the fade applied when an edge carrying sound is removed: long enough to avoid an
/// audible click (a step at 20 Hz needs ~2 ms), short enough to feel immediate.
pub const EDGE_FADE_SECONDS: f64 = 0.005;

/// The longest tail a removed node is let ring for before its output fades (a node reporting
/// an infinite or longer tail is cut here): long enough for a hall reverb, short enough that a
/// removed node never lingers.
pub const MAX_TAIL_SECONDS: f64 = 10.0;

/// Default parameter smoothing ramp: removes zipper noise from 60 Hz UI updates.
pub const DEFAULT_PARAM_SMOOTHING_SECONDS: f32 = 0.010;
