//! `delay`: a stereo echo. The time is set in milliseconds, or in beats of the transport's
//! tempo (`sync`); feedback goes through a one-pole low-pass (`tone_hz`), so repeats darken as
//! they fade; `ping_pong` sends the echoes from left to right and back. A change of time glides
//! (the read position slides, like tape) instead of jumping, so it never clicks.
//!
//! Everything runs per frame from the node's own state, so the output is the same however the
//! timeline is cut into blocks. A steady delay time is a whole number of frames, so an echo
//! lands on exactly the frame the setting names.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, ProcessConfig, ProcessContext, Processor, Unit,
};

/// Delay time in milliseconds (when not synced).
pub const TIME_MS: ParamId = ParamId(0);
/// Whether the time follows the transport's tempo (`time_beats`) instead of `time_ms`.
pub const SYNC: ParamId = ParamId(1);
/// Delay time in beats (quarter notes) of the transport's tempo (when synced).
pub const TIME_BEATS: ParamId = ParamId(2);
/// Share of the echo fed back, 0–0.98.
pub const FEEDBACK: ParamId = ParamId(3);
/// Cutoff of the low-pass in the feedback path.
pub const TONE_HZ: ParamId = ParamId(4);
/// Echoes alternate between left and right.
pub const PING_PONG: ParamId = ParamId(5);
/// Wet share of the output, 0 (dry) – 1 (echoes only).
pub const MIX: ParamId = ParamId(6);

/// The longest delay, in seconds (a longer setting, or a slow tempo's beats, is held here).
pub const MAX_DELAY_SECONDS: f64 = 8.0;
/// Time constant of the glide towards a new delay time.
const GLIDE_SECONDS: f64 = 0.05;
/// Fastest the read position may slide, in frames per frame (1: from a standstill to double
/// speed, an octave at most), so a large change glides over a while rather than screeching.
const MAX_GLIDE_RATE: f64 = 1.0;

/// Description of a `delay` node.
pub struct Delay {
    signature: NodeSignature,
}

impl Delay {
    /// Kind name in patch files.
    pub const KIND: &'static str = "delay";

    /// A stereo delay.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts::stereo_in_out(),
                params: vec![
                    ParamSpec::continuous("time_ms", 1.0, (MAX_DELAY_SECONDS * 1000.0) as f32, 375.0, Unit::None)
                        .with_smoothing_seconds(0.0),
                    ParamSpec::toggle("sync", false),
                    ParamSpec::continuous("time_beats", 1.0 / 64.0, 16.0, 0.75, Unit::None).with_smoothing_seconds(0.0),
                    ParamSpec::continuous("feedback", 0.0, 0.98, 0.35, Unit::None),
                    ParamSpec::continuous("tone_hz", 200.0, 20_000.0, 8_000.0, Unit::Hertz),
                    ParamSpec::toggle("ping_pong", false),
                    ParamSpec::continuous("mix", 0.0, 1.0, 0.3, Unit::None),
                ],
            },
        }
    }
}

impl Default for Delay {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Delay {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        let sample_rate = config.sample_rate as f64;
        // One extra frame for the interpolation's second point.
        let len = (MAX_DELAY_SECONDS * sample_rate).ceil() as usize + 2;
        Box::new(DelayProcessor {
            lines: [vec![0.0; len], vec![0.0; len]],
            write: 0,
            delay_frames: None,
            glide: 1.0 - (-1.0 / (GLIDE_SECONDS * sample_rate)).exp(),
            max_delay_frames: (MAX_DELAY_SECONDS * sample_rate).floor(),
            tone: [0.0; 2],
            tone_hz: f32::NAN,
            tone_coef: 0.0,
        })
    }
}

struct DelayProcessor {
    /// One ring per channel, written at `write`.
    lines: [Vec<f32>; 2],
    write: usize,
    /// The delay being read, in frames (gliding towards the target); `None` before the first
    /// frame, which starts at the target.
    delay_frames: Option<f64>,
    /// Share of the distance to the target covered per frame.
    glide: f64,
    max_delay_frames: f64,
    /// The feedback low-pass's state per channel, the cutoff it was computed for, and its
    /// coefficient.
    tone: [f32; 2],
    tone_hz: f32,
    tone_coef: f32,
}

impl DelayProcessor {
    /// The line's sample `delay` frames before the write position (linear interpolation
    /// between the two nearest frames; exact for a whole number).
    #[inline]
    fn read(line: &[f32], write: usize, delay: f64) -> f32 {
        let len = line.len();
        let whole = delay.floor();
        let frac = (delay - whole) as f32;
        // `whole` is at most the longest delay, less than `len - 1`.
        let newer = (write + len - whole as usize) % len;
        let older = (newer + len - 1) % len;
        let (a, b) = (line.get(newer).copied().unwrap_or(0.0), line.get(older).copied().unwrap_or(0.0));
        a + (b - a) * frac
    }
}

impl Processor for DelayProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames();
        let sample_rate = ctx.sample_rate() as f64;
        let tempo_bpm = ctx.transport().tempo_bpm.max(1.0);
        let params = ctx.params();
        let (time_ms, sync, time_beats) = (params.get(TIME_MS), params.get(SYNC), params.get(TIME_BEATS));
        let (feedback, tone_hz, ping_pong, mix) =
            (params.get(FEEDBACK), params.get(TONE_HZ), params.get(PING_PONG), params.get(MIX));
        let (in_l, in_r) = ctx.inputs().stereo(0);
        let mut outputs = ctx.outputs();
        let (out_l, out_r) = outputs.stereo_mut(0);
        let n = frames.min(in_l.len()).min(in_r.len()).min(out_l.len()).min(out_r.len());
        let [line_l, line_r] = &mut self.lines;
        let len = line_l.len();
        for i in 0..n {
            let seconds = if sync.at(i) >= 0.5 {
                time_beats.at(i) as f64 * 60.0 / tempo_bpm
            } else {
                time_ms.at(i) as f64 / 1000.0
            };
            let target = (seconds * sample_rate).round().clamp(1.0, self.max_delay_frames);
            let delay = match self.delay_frames {
                None => target,
                Some(d) => {
                    let step = ((target - d) * self.glide).clamp(-MAX_GLIDE_RATE, MAX_GLIDE_RATE);
                    // Land exactly on the target once within a thousandth of a frame.
                    if (target - d - step).abs() < 1e-3 {
                        target
                    } else {
                        d + step
                    }
                }
            };
            self.delay_frames = Some(delay);

            let wet_l = Self::read(line_l, self.write, delay);
            let wet_r = Self::read(line_r, self.write, delay);
            let cutoff = tone_hz.at(i);
            if cutoff != self.tone_hz {
                self.tone_hz = cutoff;
                self.tone_coef = (-std::f64::consts::TAU * cutoff as f64 / sample_rate).exp() as f32;
            }
            let a = self.tone_coef;
            self.tone[0] = wet_l + (self.tone[0] - wet_l) * a;
            self.tone[1] = wet_r + (self.tone[1] - wet_r) * a;
            for state in &mut self.tone {
                if state.abs() < 1e-20 {
                    *state = 0.0;
                }
            }
            let fb = feedback.at(i);
            let (fb_l, fb_r) = (self.tone[0] * fb, self.tone[1] * fb);
            let (x_l, x_r) = (in_l[i], in_r[i]);
            let (w_l, w_r) = if ping_pong.at(i) >= 0.5 {
                // The input enters on the left; each repeat crosses to the other side.
                ((x_l + x_r) * 0.5 + fb_r, fb_l)
            } else {
                (x_l + fb_l, x_r + fb_r)
            };
            if let (Some(l), Some(r)) = (line_l.get_mut(self.write), line_r.get_mut(self.write)) {
                *l = w_l;
                *r = w_r;
            }
            self.write = (self.write + 1) % len;
            let m = mix.at(i);
            out_l[i] = x_l + (wet_l - x_l) * m;
            out_r[i] = x_r + (wet_r - x_r) * m;
        }
    }
}
