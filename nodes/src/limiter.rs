//! `limiter`: a stereo-linked look-ahead peak limiter whose output never exceeds its ceiling.
//!
//! The audio is delayed by [`LOOKAHEAD_FRAMES`] (reported as the node's latency, so the graph
//! compiler keeps parallel paths aligned). Per frame, the limiter works out the gain that would
//! bring the incoming frame's peak down to the ceiling, takes the minimum of that over the
//! look-ahead window (a monotonic deque: O(1) amortized), and averages the minima over the
//! look-ahead length: the average reaches each minimum exactly when the frame that asked for it
//! leaves the delay, having ramped down smoothly before it, and never exceeds it. A release
//! (one-pole, `release_ms`) lets the gain recover slowly. As a safety net the output is clamped
//! to the ceiling; the clamps are counted ([`Limiter::safety_clamps`]) and, by construction,
//! stay at zero.
//!
//! The look-ahead is fixed in frames (the description does not know the sample rate when the
//! compiler asks for its latency): 64 frames, 1.33 ms at 48 kHz, 1.45 ms at 44.1 kHz, 0.67 ms at
//! 96 kHz. Parameter values travel through the delay with the audio, so a ceiling change applies
//! to the frames that entered after it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, ProcessConfig, ProcessContext, Processor, Unit,
};

/// Input port index (stereo).
pub const IN: usize = 0;
/// Output port index (stereo).
pub const OUT: usize = 0;
/// Largest output magnitude, in dBFS.
pub const CEILING_DB: ParamId = ParamId(0);
/// Time constant of the gain's recovery after a peak, in milliseconds.
pub const RELEASE_MS: ParamId = ParamId(1);
/// Gain applied before limiting, in dB (drives the signal into the limiter).
pub const INPUT_GAIN_DB: ParamId = ParamId(2);

/// How far ahead the limiter looks, in frames: also its latency.
pub const LOOKAHEAD_FRAMES: usize = 64;
/// Frames the minimum is taken over: the look-ahead plus the frame leaving the delay, so that
/// every average of the last [`LOOKAHEAD_FRAMES`] minima includes that frame's own gain.
const WINDOW_FRAMES: usize = LOOKAHEAD_FRAMES + 1;
/// Capacity of the minimum's deque (a power of two ≥ [`WINDOW_FRAMES`], for masking).
const DEQUE_CAPACITY: usize = 128;
/// The gain computer aims this fraction of the ceiling (−0.00003 dB), so that rounding in the
/// gain arithmetic can never carry a sample above the ceiling itself.
const HEADROOM: f32 = 1.0 - 1.0 / 262_144.0;
/// A recovering gain closer than this to its target jumps to it (a −120 dB step), so that it
/// returns to exactly 1 instead of creeping towards it forever in floating point.
const SNAP: f32 = 1e-6;

/// Description of a `limiter` node.
pub struct Limiter {
    signature: NodeSignature,
    /// How many output samples the safety clamp had to correct, over the processor's life.
    clamps: Arc<AtomicU64>,
}

impl Limiter {
    /// Kind name in patch files.
    pub const KIND: &'static str = "limiter";

    /// A stereo look-ahead limiter (ceiling −0.3 dB, release 50 ms).
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts::stereo_in_out(),
                params: vec![
                    ParamSpec::continuous("ceiling_db", -24.0, 0.0, -0.3, Unit::Decibels),
                    ParamSpec::continuous("release_ms", 1.0, 1000.0, 50.0, Unit::None),
                    ParamSpec::continuous("input_gain_db", 0.0, 24.0, 0.0, Unit::Decibels),
                ],
            },
            clamps: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many output samples the final safety clamp had to pull down to the ceiling: a
    /// diagnostic that should read 0 (the gain computer alone keeps the output in bounds).
    pub fn safety_clamps(&self) -> u64 {
        self.clamps.load(Ordering::Relaxed)
    }
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Limiter {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn latency_frames(&self) -> u32 {
        LOOKAHEAD_FRAMES as u32
    }
    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(LimiterProcessor {
            sample_rate: config.sample_rate,
            delay_l: [0.0; LOOKAHEAD_FRAMES],
            delay_r: [0.0; LOOKAHEAD_FRAMES],
            delay_ceiling: [1.0; LOOKAHEAD_FRAMES],
            minima: [1.0; LOOKAHEAD_FRAMES],
            minima_sum: LOOKAHEAD_FRAMES as f64,
            pos: 0,
            window: MinWindow::new(),
            frame: 0,
            gain: 1.0,
            ceiling: DbCache::default(),
            input_gain: DbCache::default(),
            release: (f32::NAN, 0.0),
            clamps: self.clamps.clone(),
        })
    }
}

/// The minimum of the values pushed over the last [`WINDOW_FRAMES`] frames, kept in a
/// monotonic deque (values increasing from front to back) inside a fixed ring: each value
/// enters and leaves once, so a push costs O(1) amortized, and nothing allocates.
struct MinWindow {
    values: [f32; DEQUE_CAPACITY],
    frames: [u64; DEQUE_CAPACITY],
    /// Front and back of the deque, as ever-growing counters (masked to index the ring).
    head: usize,
    tail: usize,
}

impl MinWindow {
    fn new() -> Self {
        Self { values: [0.0; DEQUE_CAPACITY], frames: [0; DEQUE_CAPACITY], head: 0, tail: 0 }
    }

    /// Adds `value` for `frame` (one more than the previous push) and returns the minimum over
    /// frames `frame − WINDOW_FRAMES + 1 ..= frame`.
    #[inline]
    fn push(&mut self, frame: u64, value: f32) -> f32 {
        const MASK: usize = DEQUE_CAPACITY - 1;
        // Values no smaller than the new one can never be the minimum again.
        while self.tail > self.head && self.values[(self.tail - 1) & MASK] >= value {
            self.tail -= 1;
        }
        self.values[self.tail & MASK] = value;
        self.frames[self.tail & MASK] = frame;
        self.tail += 1;
        // The front leaves once it is older than the window (the deque never outgrows it).
        while self.frames[self.head & MASK] + WINDOW_FRAMES as u64 <= frame {
            self.head += 1;
        }
        self.values[self.head & MASK]
    }
}

/// A dB value's linear factor, recomputed only when the value changes.
struct DbCache {
    db: f32,
    linear: f32,
}

impl Default for DbCache {
    fn default() -> Self {
        Self { db: 0.0, linear: 1.0 }
    }
}

impl DbCache {
    #[inline]
    fn get(&mut self, db: f32) -> f32 {
        if db != self.db {
            self.db = db;
            self.linear = crate::dsp::db_to_gain(db);
        }
        self.linear
    }
}

struct LimiterProcessor {
    sample_rate: f32,
    /// The look-ahead delay: input after input gain, and the ceiling each frame entered with.
    delay_l: [f32; LOOKAHEAD_FRAMES],
    delay_r: [f32; LOOKAHEAD_FRAMES],
    delay_ceiling: [f32; LOOKAHEAD_FRAMES],
    /// The latest [`LOOKAHEAD_FRAMES`] window minima, and their sum (for the moving average;
    /// recomputed exactly each time `pos` wraps, so rounding cannot accumulate).
    minima: [f32; LOOKAHEAD_FRAMES],
    minima_sum: f64,
    /// Where the current frame goes in the three rings above (they share one index).
    pos: usize,
    window: MinWindow,
    /// Frames processed so far (the window's clock).
    frame: u64,
    /// The applied gain, after release.
    gain: f32,
    ceiling: DbCache,
    input_gain: DbCache,
    /// (release_ms, its one-pole coefficient).
    release: (f32, f32),
    clamps: Arc<AtomicU64>,
}

impl LimiterProcessor {
    /// The release coefficient for `release_ms`, recomputed only when it changes.
    #[inline]
    fn release_coefficient(&mut self, release_ms: f32) -> f32 {
        if release_ms != self.release.0 {
            self.release = (release_ms, (-1000.0 / (release_ms.max(1e-3) * self.sample_rate)).exp());
        }
        self.release.1
    }
}

impl Processor for LimiterProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames();
        let params = ctx.params();
        let (ceiling_db, release_ms, input_gain_db) =
            (params.get(CEILING_DB), params.get(RELEASE_MS), params.get(INPUT_GAIN_DB));
        let (in_l, in_r) = ctx.inputs().stereo(IN);
        let mut outputs = ctx.outputs();
        let (out_l, out_r) = outputs.stereo_mut(OUT);
        let n = [in_l.len(), in_r.len(), out_l.len(), out_r.len()].into_iter().fold(frames, usize::min);
        let mut clamps = 0u64;
        for i in 0..n {
            let input_gain = self.input_gain.get(input_gain_db.at(i));
            let ceiling = self.ceiling.get(ceiling_db.at(i));
            let (l, r) = (finite(in_l[i]) * input_gain, finite(in_r[i]) * input_gain);

            // The gain this frame needs, and the smallest any frame in the window needs.
            let peak = l.abs().max(r.abs());
            let target = ceiling * HEADROOM;
            let required = if peak > target { target / peak } else { 1.0 };
            let minimum = self.window.push(self.frame, required);
            self.frame += 1;

            // Average of the last LOOKAHEAD_FRAMES minima: ramps down ahead of a peak.
            let slot = self.pos;
            self.minima_sum += f64::from(minimum) - f64::from(self.minima[slot]);
            self.minima[slot] = minimum;
            let smoothed = (self.minima_sum / LOOKAHEAD_FRAMES as f64) as f32;

            // Down at once (the average is already smooth), up with the release.
            self.gain = if smoothed <= self.gain {
                smoothed
            } else {
                let next = smoothed + self.release_coefficient(release_ms.at(i)) * (self.gain - smoothed);
                if smoothed - next < SNAP {
                    smoothed
                } else {
                    next
                }
            };

            let (delayed_l, delayed_r, delayed_ceiling) =
                (self.delay_l[slot], self.delay_r[slot], self.delay_ceiling[slot]);
            self.delay_l[slot] = l;
            self.delay_r[slot] = r;
            self.delay_ceiling[slot] = ceiling;
            self.pos = (slot + 1) % LOOKAHEAD_FRAMES;
            if self.pos == 0 {
                self.minima_sum = self.minima.iter().map(|&m| f64::from(m)).sum();
            }

            out_l[i] = clamp_to(delayed_l * self.gain, delayed_ceiling, &mut clamps);
            out_r[i] = clamp_to(delayed_r * self.gain, delayed_ceiling, &mut clamps);
        }
        out_l[n..].fill(0.0);
        out_r[n..].fill(0.0);
        if clamps > 0 {
            self.clamps.fetch_add(clamps, Ordering::Relaxed);
        }
    }
}

/// `x`, or 0 if it is NaN or infinite (which would otherwise poison the gain for a window).
#[inline]
fn finite(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// `x` limited to `±ceiling`, counting the samples that needed it.
#[inline]
fn clamp_to(x: f32, ceiling: f32, clamps: &mut u64) -> f32 {
    if x.abs() > ceiling {
        *clamps += 1;
        x.clamp(-ceiling, ceiling)
    } else {
        x
    }
}
