//! `lossy`: an emulation of a lossy audio codec (the sound of low-bit-rate streams and calls).
//!
//! The stereo input goes through a short-time Fourier transform (`realfft`, window of
//! [`WINDOW_FRAMES`], hop of [`HOP_FRAMES`], square-root Hann analysis and synthesis windows,
//! overlap-add). Each STFT frame is degraded the way a perceptual coder degrades it:
//!
//! - the bins are split into [`BANDS`] log-spaced (Bark-like) bands, each weighted by how
//!   inaudible it is according to Terhardt's absolute threshold of hearing (ATH);
//! - magnitudes are companded (`|X|^0.75`), quantized with a per-band step, and expanded back
//!   (`^4/3`), phases kept; the step grows with `loss`, with the band's ATH weight, and towards
//!   high frequencies with `noise_shaping` (up to 4×);
//! - whole bands are gated (dropped) at random, with probability `0.6 · loss²`, higher for less
//!   audible bands;
//! - bins above `cutoff = bins · (1 − 0.6 · loss)` are zeroed (the codec's low-pass);
//! - optionally, a Gilbert–Elliott channel loses frames: the first lost frame of a burst
//!   repeats the previous frame's spectrum, the rest are silent.
//!
//! After resynthesis the wet signal may be decimated (sample-and-hold) and bit-crushed, then
//! mixed with the dry input delayed by the same latency. Randomness comes from a seeded RNG
//! that advances only per STFT frame, so renders are reproducible and do not depend on how the
//! timeline is cut into blocks. The node reports one window ([`WINDOW_FRAMES`]) of latency; at
//! `loss` 0 with the other degradations off, the output is the input delayed by exactly that.

use std::sync::Arc;

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, ProcessConfig, ProcessContext, Processor, Unit,
};
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Input port index: stereo audio in.
pub const IN: usize = 0;
/// Output port index: stereo audio out.
pub const OUT: usize = 0;

/// Overall degradation, 0..=1 (default 0.5). Drives the quantization step (`0.3 · loss²` of
/// the frame's largest companded magnitude, before per-band weights), the band-gating
/// probability (`0.6 · loss²`, times 1/3..1 by ATH weight) and the low-pass cutoff
/// (`bins · (1 − 0.6 · loss)`). 0 leaves the spectrum untouched. Sampled once per STFT frame.
pub const LOSS: ParamId = ParamId(0);
/// Noise shaping, 0..=1 (default 0.5): the quantization step of band `b` (of [`BANDS`]) is
/// multiplied by `1 + 3 · noise_shaping · b / (BANDS − 1)`, so up to 4× coarser at the top band
/// (noise pushed towards high frequencies). Sampled once per STFT frame.
pub const NOISE_SHAPING: ParamId = ParamId(1);
/// Packet loss, 0..=1 (default 0 = off): per STFT frame, the probability that the
/// Gilbert–Elliott channel enters its bad state from the good one (it leaves the bad state with
/// probability [`RECOVER_PROBABILITY`] per frame). In the bad state frames are lost: the first
/// of a burst repeats the previous frame's spectrum, later ones are silent. Sampled per frame.
pub const PACKET_LOSS: ParamId = ParamId(2);
/// Bit depth of the wet signal, 2..=24 bits (default 24 = off), rounded to a whole number:
/// samples are rounded to multiples of `2^-(bits-1)` (no dither, so silence stays silent).
/// Read per sample.
pub const BIT_DEPTH: ParamId = ParamId(3);
/// Decimation factor, 1..=16 (default 1 = off), rounded to a whole number: the wet signal is
/// sampled and held for that many frames (the hold counter runs on the node's own frame
/// count). Read per sample.
pub const DECIMATE: ParamId = ParamId(4);
/// Dry/wet mix, 0..=1 (default 1 = wet only). The dry signal is delayed by the latency too,
/// so both stay aligned. Read per sample.
pub const MIX: ParamId = ParamId(5);
/// RNG seed, 0..=65535 (default 0), rounded to a whole number; not smoothed. The RNG is
/// re-seeded at the first STFT frame that sees a new value, so the same seed and input give
/// bit-identical output.
pub const SEED: ParamId = ParamId(6);

/// STFT window length in frames, at any sample rate; also the reported latency.
pub const WINDOW_FRAMES: usize = 1024;
/// Hop between STFT frames (a quarter window: square-root Hann analysis × synthesis windows
/// then overlap-add to a constant, 2).
pub const HOP_FRAMES: usize = WINDOW_FRAMES / 4;
/// Number of log-spaced (Bark-like) bands the spectrum is quantized and gated in.
pub const BANDS: usize = 24;
/// Probability per STFT frame of leaving the Gilbert–Elliott bad state.
pub const RECOVER_PROBABILITY: f32 = 0.4;

/// Bins of the one-sided spectrum.
const BINS: usize = WINDOW_FRAMES / 2 + 1;
/// Band gating probability at `loss` 1 for the least audible band.
const GATE_BASE_PROBABILITY: f32 = 0.6;
/// Fraction of the spectrum the low-pass removes at `loss` 1.
const CUTOFF_DEPTH: f32 = 0.6;
/// Quantization step at `loss` 1, relative to the frame's largest companded magnitude.
const STEP_AT_FULL_LOSS: f32 = 0.3;
/// Compand exponent applied to magnitudes before quantization (undone with its inverse).
const COMPAND_EXPONENT: f32 = 0.75;
/// Lowest band edge, in Hz (band 0 also holds everything below it).
const LOWEST_BAND_EDGE_HZ: f32 = 50.0;

/// Description of a `lossy` node: stereo in, stereo out, the parameters above.
pub struct Lossy {
    signature: NodeSignature,
}

impl Lossy {
    /// Kind name in patch files.
    pub const KIND: &'static str = "lossy";

    /// A lossy-codec emulation with default settings.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts::stereo_in_out(),
                params: vec![
                    ParamSpec::continuous("loss", 0.0, 1.0, 0.5, Unit::None),
                    ParamSpec::continuous("noise_shaping", 0.0, 1.0, 0.5, Unit::None),
                    ParamSpec::continuous("packet_loss", 0.0, 1.0, 0.0, Unit::None),
                    ParamSpec::continuous("bit_depth", 2.0, 24.0, 24.0, Unit::None).with_smoothing_seconds(0.0),
                    ParamSpec::continuous("decimate", 1.0, 16.0, 1.0, Unit::None).with_smoothing_seconds(0.0),
                    ParamSpec::continuous("mix", 0.0, 1.0, 1.0, Unit::None),
                    ParamSpec::continuous("seed", 0.0, 65_535.0, 0.0, Unit::None).with_smoothing_seconds(0.0),
                ],
            },
        }
    }
}

impl Default for Lossy {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Lossy {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    /// One STFT window: an input sample leaves exactly [`WINDOW_FRAMES`] frames later.
    fn latency_frames(&self) -> u32 {
        WINDOW_FRAMES as u32
    }

    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(LossyProcessor::new(config.sample_rate))
    }
}

/// A small seeded RNG (splitmix64), advanced only per STFT frame.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed ^ 0x5DEE_CE66_D1CE_4E5B }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }
}

/// Terhardt's absolute threshold of hearing in dB SPL at `hz` (clamped to 20 Hz..20 kHz).
fn threshold_of_hearing_db(hz: f32) -> f32 {
    let khz = (hz / 1000.0).clamp(0.02, 20.0);
    3.64 * khz.powf(-0.8) - 6.5 * (-0.6 * (khz - 3.3) * (khz - 3.3)).exp() + 1e-3 * khz.powi(4)
}

/// Per-frame settings, sampled at the frame's last input sample.
#[derive(Copy, Clone)]
struct FrameSettings {
    loss: f32,
    noise_shaping: f32,
    packet_loss: f32,
}

/// One channel's STFT state.
struct Channel {
    /// The last [`WINDOW_FRAMES`] input samples (oldest first; the newest hop fills the end).
    input: Vec<f32>,
    /// Overlap-add accumulator: the first [`HOP_FRAMES`] are complete after each frame.
    accum: Vec<f32>,
    /// Wet samples being played out during the current hop.
    wet: Vec<f32>,
    /// Dry samples (delayed by the latency) matching `wet`.
    dry: Vec<f32>,
    /// The last spectrum sent (for packet-loss repeats).
    previous: Vec<Complex<f32>>,
}

impl Channel {
    fn new(forward: &dyn RealToComplex<f32>) -> Self {
        Self {
            input: vec![0.0; WINDOW_FRAMES],
            accum: vec![0.0; WINDOW_FRAMES],
            wet: vec![0.0; HOP_FRAMES],
            dry: vec![0.0; HOP_FRAMES],
            previous: forward.make_output_vec(),
        }
    }
}

/// The audio-thread half: everything is allocated in [`LossyProcessor::new`].
struct LossyProcessor {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    forward_scratch: Vec<Complex<f32>>,
    inverse_scratch: Vec<Complex<f32>>,
    /// Time-domain FFT buffer.
    time: Vec<f32>,
    /// Spectrum of the frame being processed (one channel at a time).
    spectrum: Vec<Complex<f32>>,
    /// Square-root periodic Hann window (used for analysis and synthesis).
    window: Vec<f32>,
    channels: [Channel; 2],
    bands: Bands,
    /// Position within the current hop, 0..HOP_FRAMES.
    hop_pos: usize,
    rng: SplitMix64,
    /// The seed the RNG was last seeded with (`None` before the first frame).
    seed: Option<u32>,
    /// Gilbert–Elliott state: frames lost in the current burst (0 = good state).
    lost_run: u32,
    /// Sample-and-hold value per channel, and frames left until the next sample is taken.
    held: [f32; 2],
    hold_left_frames: u32,
}

impl LossyProcessor {
    fn new(sample_rate: f32) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(WINDOW_FRAMES);
        let inverse = planner.plan_fft_inverse(WINDOW_FRAMES);
        let window = (0..WINDOW_FRAMES)
            .map(|n| {
                let hann = 0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / WINDOW_FRAMES as f64).cos();
                hann.sqrt() as f32
            })
            .collect();

        Self {
            forward_scratch: forward.make_scratch_vec(),
            inverse_scratch: inverse.make_scratch_vec(),
            time: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            channels: [Channel::new(forward.as_ref()), Channel::new(forward.as_ref())],
            forward,
            inverse,
            window,
            bands: Bands::new(sample_rate),
            hop_pos: 0,
            rng: SplitMix64::new(0),
            seed: None,
            lost_run: 0,
            held: [0.0; 2],
            hold_left_frames: 0,
        }
    }

    /// Draws this frame's random decisions (a fixed number of draws per frame, whatever the
    /// settings): the packet channel's state, then one gate per band.
    fn draw_frame_decisions(&mut self, settings: FrameSettings) {
        let u = self.rng.next_f32();
        if settings.packet_loss <= 0.0 {
            self.lost_run = 0;
        } else if self.lost_run > 0 {
            self.lost_run = if u < RECOVER_PROBABILITY { 0 } else { self.lost_run.saturating_add(1) };
        } else if u < settings.packet_loss {
            self.lost_run = 1;
        }
        let gate_probability = GATE_BASE_PROBABILITY * settings.loss * settings.loss;
        for (gated, &inaudibility) in self.bands.gated.iter_mut().zip(&self.bands.inaudibility) {
            // From a third of the base probability (most audible) to all of it (inaudible).
            let p = gate_probability * (1.0 + 2.0 * inaudibility) / 3.0;
            *gated = self.rng.next_f32() < p;
        }
    }

    /// Analyses, degrades and resynthesises one STFT frame for both channels, refilling
    /// their `wet` and `dry` hops.
    fn run_frame(&mut self, settings: FrameSettings) {
        self.draw_frame_decisions(settings);
        let norm = 1.0 / (2.0 * WINDOW_FRAMES as f32); // overlap-add gain 2, unscaled inverse FFT
        for channel in &mut self.channels {
            for ((t, &x), &w) in self.time.iter_mut().zip(&channel.input).zip(&self.window) {
                *t = x * w;
            }
            if self.forward.process_with_scratch(&mut self.time, &mut self.spectrum, &mut self.forward_scratch).is_err()
            {
                self.spectrum.fill(Complex::new(0.0, 0.0));
            }
            match self.lost_run {
                0 => {
                    self.bands.degrade(&mut self.spectrum, settings);
                    channel.previous.copy_from_slice(&self.spectrum);
                }
                1 => self.spectrum.copy_from_slice(&channel.previous),
                _ => self.spectrum.fill(Complex::new(0.0, 0.0)),
            }
            // A real signal's DC and Nyquist bins are real; the inverse transform insists.
            if let Some(c) = self.spectrum.first_mut() {
                c.im = 0.0;
            }
            if let Some(c) = self.spectrum.last_mut() {
                c.im = 0.0;
            }
            if self.inverse.process_with_scratch(&mut self.spectrum, &mut self.time, &mut self.inverse_scratch).is_err()
            {
                self.time.fill(0.0);
            }
            for ((a, &t), &w) in channel.accum.iter_mut().zip(&self.time).zip(&self.window) {
                *a += t * w * norm;
            }
            channel.wet.copy_from_slice(&channel.accum[..HOP_FRAMES]);
            channel.dry.copy_from_slice(&channel.input[..HOP_FRAMES]);
            channel.accum.copy_within(HOP_FRAMES.., 0);
            channel.accum[WINDOW_FRAMES - HOP_FRAMES..].fill(0.0);
            channel.input.copy_within(HOP_FRAMES.., 0);
        }
    }
}

/// The log-spaced bands: their bins, ATH weights and this frame's gates.
struct Bands {
    /// First bin of each band, plus [`BINS`] at the end.
    edges: [usize; BANDS + 1],
    /// 0 (most audible) ..= 1 (least audible) per band, from the ATH at the band centre.
    inaudibility: [f32; BANDS],
    /// Which bands this frame drops.
    gated: [bool; BANDS],
}

impl Bands {
    /// Edges log-spaced from [`LOWEST_BAND_EDGE_HZ`] to Nyquist, each band at least one bin.
    fn new(sample_rate: f32) -> Self {
        let bin_hz = sample_rate / WINDOW_FRAMES as f32;
        let nyquist_hz = sample_rate * 0.5;
        let mut edges = [0usize; BANDS + 1];
        for b in 1..BANDS {
            let hz = LOWEST_BAND_EDGE_HZ * (nyquist_hz / LOWEST_BAND_EDGE_HZ).powf(b as f32 / BANDS as f32);
            let bin = (hz / bin_hz).round() as usize;
            edges[b] = bin.max(edges[b - 1] + 1).min(BINS);
        }
        edges[BANDS] = BINS;
        let mut inaudibility = [0.0; BANDS];
        for (b, weight) in inaudibility.iter_mut().enumerate() {
            let centre_hz = 0.5 * (edges[b] + edges[b + 1]) as f32 * bin_hz;
            // The ATH's minimum is about −5 dB near 3.3 kHz; 80 dB above it counts as inaudible.
            *weight = ((threshold_of_hearing_db(centre_hz) + 5.0) / 80.0).clamp(0.0, 1.0);
        }
        Self { edges, inaudibility, gated: [false; BANDS] }
    }

    /// Low-passes, gates and quantizes one spectrum in place (nothing at `loss` 0).
    fn degrade(&self, spectrum: &mut [Complex<f32>], settings: FrameSettings) {
        let loss = settings.loss;
        if loss <= 0.0 {
            return;
        }
        let cutoff = ((BINS as f32 * (1.0 - CUTOFF_DEPTH * loss)) as usize).min(spectrum.len());
        spectrum[cutoff..].fill(Complex::new(0.0, 0.0));
        // The frame's scale factor: steps are relative to its largest companded magnitude.
        let peak = spectrum.iter().map(|c| c.norm().powf(COMPAND_EXPONENT)).fold(0.0f32, f32::max);
        if peak <= 0.0 {
            return;
        }
        let base_step = peak * STEP_AT_FULL_LOSS * loss * loss;
        let shaping = 3.0 * settings.noise_shaping / (BANDS - 1) as f32;
        for b in 0..BANDS {
            let end = self.edges[b + 1].min(spectrum.len());
            let band = &mut spectrum[self.edges[b].min(end)..end];
            if self.gated[b] {
                band.fill(Complex::new(0.0, 0.0));
                continue;
            }
            let step = base_step * (1.0 + shaping * b as f32) * (1.0 + 2.0 * self.inaudibility[b]);
            for c in band {
                let magnitude = c.norm();
                if magnitude > 0.0 {
                    let level = (magnitude.powf(COMPAND_EXPONENT) / step).round() * step;
                    *c *= level.powf(1.0 / COMPAND_EXPONENT) / magnitude;
                }
            }
        }
    }
}

impl Processor for LossyProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames();
        let (in_l, in_r) = ctx.inputs().stereo(IN);
        let params = ctx.params();
        let (loss, noise_shaping, packet_loss) = (params.get(LOSS), params.get(NOISE_SHAPING), params.get(PACKET_LOSS));
        let (bit_depth, decimate, mix, seed) =
            (params.get(BIT_DEPTH), params.get(DECIMATE), params.get(MIX), params.get(SEED));
        let mut outputs = ctx.outputs();
        let (out_l, out_r) = outputs.stereo_mut(OUT);
        for i in 0..frames {
            // Play out the current hop: wet through decimation and bit-crush, then the mix.
            let hop = self.hop_pos;
            let dry = [self.channels[0].dry[hop], self.channels[1].dry[hop]];
            let mut wet = [self.channels[0].wet[hop], self.channels[1].wet[hop]];
            if self.hold_left_frames == 0 {
                self.held = wet;
                self.hold_left_frames = decimate.at(i).round().clamp(1.0, 16.0) as u32;
            }
            self.hold_left_frames -= 1;
            wet = self.held;
            let bits = bit_depth.at(i).round().clamp(2.0, 24.0);
            if bits < 24.0 {
                let scale = (bits - 1.0).exp2();
                wet = wet.map(|w| (w * scale).round() / scale);
            }
            let m = mix.at(i).clamp(0.0, 1.0);
            if let Some(o) = out_l.get_mut(i) {
                *o = wet[0] * m + dry[0] * (1.0 - m);
            }
            if let Some(o) = out_r.get_mut(i) {
                *o = wet[1] * m + dry[1] * (1.0 - m);
            }

            // Take in the input; a full hop completes an STFT frame.
            let at = WINDOW_FRAMES - HOP_FRAMES + hop;
            self.channels[0].input[at] = in_l.get(i).copied().unwrap_or(0.0);
            self.channels[1].input[at] = in_r.get(i).copied().unwrap_or(0.0);
            self.hop_pos += 1;
            if self.hop_pos == HOP_FRAMES {
                self.hop_pos = 0;
                let seed_value = seed.at(i).round().clamp(0.0, 65_535.0) as u32;
                if self.seed != Some(seed_value) {
                    self.seed = Some(seed_value);
                    self.rng = SplitMix64::new(u64::from(seed_value));
                }
                self.run_frame(FrameSettings {
                    loss: loss.at(i).clamp(0.0, 1.0),
                    noise_shaping: noise_shaping.at(i).clamp(0.0, 1.0),
                    packet_loss: packet_loss.at(i).clamp(0.0, 1.0),
                });
            }
        }
    }
}
