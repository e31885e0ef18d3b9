//! `chorus`: a stereo chorus that becomes a flanger with a short delay, more depth and
//! feedback. Each channel reads its input back through a delay swept by a sine LFO (the right
//! channel's a quarter cycle behind the left's, for width), with feedback, and mixes it with the
//! dry signal.
//!
//! The LFO advances once per frame from the node's own state and the delay is read with cubic
//! (Hermite) interpolation, so the output is the same however the timeline is cut into blocks.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, ProcessConfig, ProcessContext, Processor, Unit,
};

use crate::dsp::interpolate::hermite;

/// LFO rate.
pub const RATE_HZ: ParamId = ParamId(0);
/// Sweep depth, 0–1: the delay swings by up to `depth × delay_ms` around its centre.
pub const DEPTH: ParamId = ParamId(1);
/// Centre delay: about 7–20 ms for a chorus, 0.5–5 ms for a flanger.
pub const DELAY_MS: ParamId = ParamId(2);
/// Share of the swept signal fed back, −0.95–0.95 (a flanger's resonance; 0 for a chorus).
pub const FEEDBACK: ParamId = ParamId(3);
/// Wet share of the output, 0 (dry) – 1 (swept signal only).
pub const MIX: ParamId = ParamId(4);

/// The longest centre delay, in milliseconds.
pub const MAX_DELAY_MS: f32 = 30.0;

/// Description of a `chorus` node.
pub struct Chorus {
    signature: NodeSignature,
}

impl Chorus {
    /// Kind name in patch files.
    pub const KIND: &'static str = "chorus";

    /// A stereo chorus.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts::stereo_in_out(),
                params: vec![
                    ParamSpec::continuous("rate_hz", 0.05, 10.0, 1.5, Unit::Hertz),
                    ParamSpec::continuous("depth", 0.0, 1.0, 0.5, Unit::None),
                    ParamSpec::continuous("delay_ms", 0.5, MAX_DELAY_MS, 12.0, Unit::None),
                    ParamSpec::continuous("feedback", -0.95, 0.95, 0.0, Unit::None),
                    ParamSpec::continuous("mix", 0.0, 1.0, 0.5, Unit::None),
                ],
            },
        }
    }
}

impl Default for Chorus {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Chorus {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        // The longest sweep reaches twice the longest centre delay; four frames for the
        // interpolation's taps, rounded up to a power of two so the ring index is a mask.
        let longest = (2.0 * MAX_DELAY_MS / 1000.0 * config.sample_rate).ceil() as usize + 4;
        let len = longest.next_power_of_two();
        Box::new(ChorusProcessor { lines: [vec![0.0; len], vec![0.0; len]], mask: len - 1, write: 0, phase: 0.0 })
    }
}

struct ChorusProcessor {
    lines: [Vec<f32>; 2],
    mask: usize,
    write: usize,
    /// LFO phase in cycles, 0–1.
    phase: f64,
}

impl ChorusProcessor {
    /// The line's sample `delay` frames (at least 1) before the write position.
    #[inline]
    fn read(line: &[f32], mask: usize, write: usize, delay: f32) -> f32 {
        let whole = delay.floor();
        let fraction = delay - whole;
        // Taps at delay − 1, delay, delay + 1, delay + 2 (newest first), interpolated between
        // the second and the third.
        let at = |back: usize| line.get(write.wrapping_sub(back) & mask).copied().unwrap_or(0.0);
        let d = whole as usize;
        hermite(at(d - 1), at(d), at(d + 1), at(d + 2), fraction)
    }
}

impl Processor for ChorusProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames();
        let sample_rate = ctx.sample_rate();
        let params = ctx.params();
        let (rate, depth, delay_ms, feedback, mix) =
            (params.get(RATE_HZ), params.get(DEPTH), params.get(DELAY_MS), params.get(FEEDBACK), params.get(MIX));
        let (in_l, in_r) = ctx.inputs().stereo(0);
        let mut outputs = ctx.outputs();
        let (out_l, out_r) = outputs.stereo_mut(0);
        let n = frames.min(in_l.len()).min(in_r.len()).min(out_l.len()).min(out_r.len());
        let mask = self.mask;
        // Exact for whole milliseconds at the usual rates (48 frames per ms at 48 kHz).
        let frames_per_ms = sample_rate / 1000.0;
        let [line_l, line_r] = &mut self.lines;
        for i in 0..n {
            let centre = delay_ms.at(i) * frames_per_ms;
            let swing = depth.at(i) * centre;
            let angle = self.phase * std::f64::consts::TAU;
            let (lfo_l, lfo_r) = (angle.sin() as f32, angle.cos() as f32);
            // At least two frames back, so the newest interpolation tap is already written.
            let (delay_l, delay_r) = ((centre + swing * lfo_l).max(2.0), (centre + swing * lfo_r).max(2.0));
            let wet_l = Self::read(line_l, mask, self.write, delay_l);
            let wet_r = Self::read(line_r, mask, self.write, delay_r);
            let fb = feedback.at(i);
            let (x_l, x_r) = (in_l[i], in_r[i]);
            if let (Some(l), Some(r)) = (line_l.get_mut(self.write), line_r.get_mut(self.write)) {
                *l = flush(x_l + wet_l * fb);
                *r = flush(x_r + wet_r * fb);
            }
            self.write = (self.write + 1) & mask;
            self.phase = (self.phase + rate.at(i) as f64 / sample_rate as f64).fract();
            let m = mix.at(i);
            out_l[i] = x_l + (wet_l - x_l) * m;
            out_r[i] = x_r + (wet_r - x_r) * m;
        }
    }
}

/// `x`, or 0 if it is too small to matter (keeps a feedback loop out of denormals).
#[inline]
fn flush(x: f32) -> f32 {
    if x.abs() < 1e-20 {
        0.0
    } else {
        x
    }
}
