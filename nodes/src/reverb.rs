//! `reverb`: a stereo feedback-delay-network reverb (after Jot).
//!
//! Signal flow:
//!
//! ```text
//!  in ─▶ pre-delay ─▶ 4 allpass diffusers per channel ─▶ inject ─┐
//!                                                               ▼
//!  ┌─▶ 8 delay lines ─▶ read (2 cubic + modulated, 6 fixed) ─▶ damping shelf ─┬─▶ L/R taps ─▶ DC block
//!  └────────────────────────── Hadamard 8×8 ◀─────────────────────────────────┘      ─▶ width ─▶ mix ─▶ out
//! ```
//!
//! - Eight delay lines of mutually prime lengths at 48 kHz (23–89 ms at `size` 1, scaled by
//!   the sample rate and `size`), mixed by an 8×8 Hadamard matrix (24 additions, scaled by
//!   1/√8: orthogonal, so lossless; the decay comes from the damping filters alone). The
//!   per-line state is kept as `[f32; 8]` arrays so the filter/mix steps run lines side by side.
//! - Each line has a first-order shelving filter whose gain at DC is `10^(-3·M/(fs·T_low))` and
//!   at Nyquist `10^(-3·M/(fs·T_high))` for a line of `M` frames, so every line loses 60 dB in
//!   `T_low` seconds at low frequencies and in `T_high` at high ones, and the network's RT60
//!   follows the setting at every frequency. The shelf's midpoint (where the decay *rate* is
//!   halfway between the two) is `crossover_hz`; being first order, the transition spans about
//!   two octaves each side. When a setting changes, the coefficients ramp linearly to the new
//!   design over one control period instead of jumping (a jump steps the output).
//! - Two of the lines are read at a slowly moving fractional position (parabolic-sine LFOs of
//!   0.3–0.5 Hz evaluated at the control rate and stepped linearly in between, at most 0.3 ms
//!   deep; cubic Lagrange interpolation, its coefficients computed for a whole period at a
//!   time), which breaks up the metallic ringing of fixed modes; the Hadamard mix spreads the
//!   movement to every line. Their mean length is the nominal one, so the decay time is
//!   unchanged. The other six are read at whole frames.
//! - The node works in chunks that never cross a control period of [`CONTROL_PERIOD_FRAMES`]
//!   frames (counted from the node's own frame counter). Control-rate work (coefficients, LFO
//!   steps, targets) runs at the start of each period, the diffusers run over a chunk at a
//!   time (contiguous, vectorizable runs), the network runs a chunk in three passes (read
//!   every line's delayed samples for the chunk, run the per-frame filter/mix math on small
//!   arrays, write every line's new samples; valid because every line is longer than a
//!   period, so a chunk never reads what it writes), and the recursive filter states are
//!   flushed of near-denormal values at the end of each period. Every frame's arithmetic is the same
//!   however the engine cuts the timeline into blocks, so the output does not depend on it.
//! - `size` and `predelay_ms` changes crossfade (over 20 ms, rounded up to whole periods) from
//!   reading each line at its old length to reading it at the new one, so no read position
//!   ever jumps. (Gliding the lengths instead would bend the pitch, and in a feedback loop the
//!   bend compounds on every pass.)
//! - `process` neither allocates nor panics: every buffer is allocated in `build`; the delay
//!   lines are one buffer of 8 power-of-two rings, accessed (unchecked, after a length check)
//!   at masked offsets; every other access goes through `get`/`get_mut` or fixed-size arrays.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSignal, ParamSpec, PortKind, PortSpec, ProcessConfig,
    ProcessContext, Processor, Unit,
};

/// Input port index (stereo).
pub const IN: usize = 0;
/// Output port index (stereo).
pub const OUT: usize = 0;

/// Decay time (RT60, seconds) below the crossover: how long the tail takes to fall by 60 dB.
pub const DECAY_SECONDS: ParamId = ParamId(0);
/// RT60 above the crossover divided by RT60 below it (1 = flat; below 1 highs die sooner, as
/// in real rooms where air and walls absorb them).
pub const HF_DECAY_RATIO: ParamId = ParamId(1);
/// Frequency (Hz) where the decay rate is halfway between the low and the high setting.
pub const CROSSOVER_HZ: ParamId = ParamId(2);
/// Room size: scales every delay length (0.25 = small room, 1 = large hall). Changes glide.
pub const SIZE: ParamId = ParamId(3);
/// Delay (milliseconds) before the reverberation starts, separating it from the dry sound.
pub const PREDELAY_MS: ParamId = ParamId(4);
/// Input diffusion, 0..1: gain of the allpass diffusers that smear the input before it enters
/// the network (0 = discrete early echoes, 1 = an immediately dense onset).
pub const DIFFUSION: ParamId = ParamId(5);
/// Delay modulation depth, 0..1 (1 = 0.3 ms): just enough movement to avoid metallic ringing.
pub const MODULATION: ParamId = ParamId(6);
/// Stereo width of the reverberation, 0 (mono) ..= 1 (fully decorrelated channels).
pub const WIDTH: ParamId = ParamId(7);
/// Wet/dry balance, 0 (dry only) ..= 1 (wet only), a linear crossfade.
pub const MIX: ParamId = ParamId(8);

/// Longest `decay_seconds` setting.
pub const MAX_DECAY_SECONDS: f32 = 30.0;
/// Longest `predelay_ms` setting.
pub const MAX_PREDELAY_MS: f32 = 250.0;
/// Frames between two control-rate updates, counted from the node's first frame.
pub const CONTROL_PERIOD_FRAMES: u64 = 16;

/// Number of delay lines (a power of two, for the fast Hadamard transform).
const LINES: usize = 8;
/// The first this many lines are read at a modulated (fractional) position, the rest at a
/// fixed whole-frame length.
const MODULATED: usize = 2;
/// Frames processed between two control updates (the control period).
const CHUNK: usize = CONTROL_PERIOD_FRAMES as usize;
/// Delay lengths at 48 kHz and `size` 1: primes spread over 23–89 ms, the modulated lines
/// first.
const LINE_FRAMES_48K: [f32; LINES] = [1361.0, 1973.0, 2909.0, 4289.0, 1103.0, 1627.0, 2399.0, 3533.0];
/// The rate the tables above are given at.
const REFERENCE_RATE_HZ: f32 = 48_000.0;
/// Smallest `size`.
const MIN_SIZE: f32 = 0.25;
/// Modulation depth of each modulated line relative to the maximum.
const MOD_DEPTH_SHAPE: [f32; MODULATED] = [1.0, 0.8];
/// LFO rate of each modulated line (Hz).
const MOD_RATE_HZ: [f32; MODULATED] = [0.31, 0.53];
/// Modulation depth at `modulation` 1, in seconds.
const MAX_MOD_DEPTH_SECONDS: f32 = 0.000_3;
/// How long a `size` or `predelay_ms` change crossfades between the old and the new read taps
/// (rounded up to whole control periods).
const FADE_SECONDS: f32 = 0.02;
/// Allpass diffusers per channel.
const DIFFUSERS: usize = 4;
/// Allpass diffuser lengths at 48 kHz (primes, 3–10 ms), left and right channel.
const DIFFUSER_FRAMES_48K: [[f32; DIFFUSERS]; 2] = [[149.0, 211.0, 337.0, 491.0], [163.0, 229.0, 353.0, 467.0]];
/// Allpass gain at `diffusion` 1.
const MAX_DIFFUSER_GAIN: f32 = 0.75;
/// Sign of each line's input from the left (even lines) and right (odd lines) channel.
const INJECT_SIGN: [f32; LINES] = [1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, -1.0];
/// Gain of the input into each line and of each tapped line into the output: 1/√4, so one
/// channel injects unit energy over its four lines. (The taps are written out in
/// `ReverbProcessor::network_run`: left = lines 0, 1, 4, 5, the two modulated ones among them,
/// right = lines 2, 3, 6, 7.)
const LINE_GAIN: f32 = 0.5;
/// Scale of the 8×8 Hadamard matrix (1/√8), which makes it orthogonal.
const HADAMARD_SCALE: f32 = 0.353_553_38;
/// Corner of the DC blocker on the wet output.
const DC_BLOCK_HZ: f32 = 5.0;
/// Adding and removing this flushes magnitudes below ~1e-27 to zero: a decaying tail never
/// reaches the (slow) denormal range.
const ANTI_DENORMAL: f32 = 1.0e-20;

/// Description of a `reverb` node: stereo in, stereo out.
pub struct Reverb {
    signature: NodeSignature,
}

impl Reverb {
    /// Kind name in patch files.
    pub const KIND: &'static str = "reverb";

    /// A stereo FDN reverb with the default settings (2 s hall, 30 % wet).
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::STEREO)],
                    outputs: vec![PortSpec::new("out", PortKind::STEREO)],
                },
                params: vec![
                    ParamSpec::continuous("decay_seconds", 0.1, MAX_DECAY_SECONDS, 2.0, Unit::Seconds),
                    ParamSpec::continuous("hf_decay_ratio", 0.1, 1.0, 0.5, Unit::None),
                    ParamSpec::continuous("crossover_hz", 200.0, 12_000.0, 3_000.0, Unit::Hertz),
                    ParamSpec::continuous("size", MIN_SIZE, 1.0, 1.0, Unit::None),
                    ParamSpec::continuous("predelay_ms", 0.0, MAX_PREDELAY_MS, 10.0, Unit::None),
                    ParamSpec::continuous("diffusion", 0.0, 1.0, 0.7, Unit::None),
                    ParamSpec::continuous("modulation", 0.0, 1.0, 0.3, Unit::None),
                    ParamSpec::continuous("width", 0.0, 1.0, 1.0, Unit::None),
                    ParamSpec::continuous("mix", 0.0, 1.0, 0.3, Unit::None),
                ],
            },
        }
    }
}

impl Default for Reverb {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Reverb {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    /// The longest decay setting at the highest common sample rate (192 kHz); the engine caps
    /// it to its own limit at its own rate (the description does not know the rate).
    fn tail_frames(&self) -> u32 {
        (MAX_DECAY_SECONDS * 192_000.0) as u32
    }

    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(ReverbProcessor::new(config.sample_rate))
    }
}

/// A Schroeder allpass: `H(z) = (z^-M - g) / (1 - g z^-M)`; a pure delay of `M` at `g` = 0.
struct Allpass {
    buffer: Box<[f32]>,
    position: usize,
}

impl Allpass {
    fn new(frames: usize) -> Self {
        Self { buffer: vec![0.0; frames.max(1)].into_boxed_slice(), position: 0 }
    }

    /// Filters `x` in place. Each frame reads then writes one slot, in order, so this equals
    /// frame-by-frame processing; the ring is walked in contiguous runs (split where it wraps),
    /// which the compiler vectorizes.
    #[inline]
    fn run(&mut self, x: &mut [f32], g: f32) {
        let len = self.buffer.len();
        let mut rest = x;
        while !rest.is_empty() {
            let position = self.position;
            let run = len.saturating_sub(position).min(rest.len());
            let (now, later) = rest.split_at_mut(run);
            let Some(slots) = self.buffer.get_mut(position..position + run) else {
                return;
            };
            for (slot, v) in slots.iter_mut().zip(now.iter_mut()) {
                let delayed = *slot;
                let w = *v + g * delayed;
                *slot = flush(w);
                *v = delayed - g * w;
            }
            self.position = if position + run >= len { 0 } else { position + run };
            rest = later;
            if run == 0 {
                return;
            }
        }
    }
}

/// The audio-thread half.
struct ReverbProcessor {
    sample_rate: f32,
    /// Frames rendered so far: control updates fall where it is a multiple of
    /// [`CONTROL_PERIOD_FRAMES`].
    frame: u64,
    /// Whether the first control update has run (it sets lengths without gliding).
    started: bool,

    /// All delay lines, line `k` at `k * line_capacity`, each a power of two long.
    lines: Box<[f32]>,
    line_capacity: usize,
    /// Where the current frame is written in every line (the same index for all).
    write: usize,
    /// Length of each line in whole frames, and the length a `size` change fades to.
    length_frames: [f32; LINES],
    /// The last `size` seen and the lengths it asks for.
    size: f32,
    size_lengths: [f32; LINES],
    next_length_frames: [f32; LINES],
    /// Whether the lines crossfade from `length_frames` to `next_length_frames`, and how many
    /// frames of that fade are done (fades start and end on control-period boundaries).
    line_fading: bool,
    line_fade_frame: u32,
    /// Length of a crossfade (for the lines and the pre-delay), a whole number of periods.
    fade_frames: u32,
    /// LFO offset (frames) of each modulated line at the start of the current period, its
    /// step per frame within the period, and the LFO phase (cycles) at the period's end.
    mod_frames: [f32; MODULATED],
    mod_step_frames: [f32; MODULATED],
    mod_phase: [f64; MODULATED],
    /// Damping shelves `y = b0·x + s; s' = c·x − a1·s` (with `c = b1 − a1·b0`): the designed
    /// (b0, c, a1) per line, the coefficients at the start of the current period and their
    /// step per frame (they ramp to the design over the period, so a decay change cannot
    /// step the output), and the states.
    shelf_design: [[f32; LINES]; 3],
    shelf_from: [[f32; LINES]; 3],
    shelf_step: [[f32; LINES]; 3],
    /// Whether `shelf_step` is non-zero in the current period.
    shelf_ramping: bool,
    shelf_state: [f32; LINES],
    /// (decay_seconds, hf_decay_ratio, crossover_hz) and lengths the shelves were designed for.
    shelf_key: [f32; 3],
    shelf_lengths: [f32; LINES],

    /// Pre-delay: stereo ring buffers (power-of-two long), the tap in use, and the tap faded to.
    predelay: [Box<[f32]>; 2],
    predelay_write: usize,
    /// The last `predelay_ms` seen and the tap it asks for.
    predelay_ms: f32,
    predelay_target: usize,
    predelay_frames: usize,
    predelay_next_frames: usize,
    /// Whether the pre-delay crossfades to `predelay_next_frames`, and frames of it done.
    predelay_fading: bool,
    predelay_fade_frame: u32,

    diffusers: [[Allpass; DIFFUSERS]; 2],
    diffuser_gain: f32,

    /// DC blocker: previous input and output per channel, and its pole.
    dc_in: [f32; 2],
    dc_out: [f32; 2],
    dc_pole: f32,
}

impl ReverbProcessor {
    fn new(sample_rate: f32) -> Self {
        let rate_scale = sample_rate / REFERENCE_RATE_HZ;
        let max_mod = MAX_MOD_DEPTH_SECONDS * sample_rate;
        let longest = LINE_FRAMES_48K.iter().fold(0.0f32, |a, &b| a.max(b)) * rate_scale;
        let line_capacity = ((longest + max_mod).ceil() as usize + 8).next_power_of_two();
        let predelay_capacity = ((MAX_PREDELAY_MS * 0.001 * sample_rate).ceil() as usize + 2).next_power_of_two();
        let diffuser = |c: usize, i: usize| Allpass::new((DIFFUSER_FRAMES_48K[c][i] * rate_scale).round() as usize);
        let mut mod_phase = [0.0f64; MODULATED];
        for (k, phase) in mod_phase.iter_mut().enumerate() {
            *phase = k as f64 * 0.274;
        }
        let periods = (FADE_SECONDS * sample_rate / CHUNK as f32).ceil().max(1.0) as u32;
        // `network_run` reads a whole chunk before writing it: every read (the shortest line
        // less the deepest modulation and the interpolator's reach, with the clamp in
        // `control`) must lie before the chunk.
        let shortest = (LINE_FRAMES_48K.iter().fold(f32::MAX, |a, &b| a.min(b)) * rate_scale * MIN_SIZE)
            .round()
            .max((CHUNK + 4) as f32 + max_mod.ceil());
        assert!(shortest - max_mod - 2.0 > CHUNK as f32, "a delay line shorter than a control period");
        Self {
            sample_rate,
            frame: 0,
            started: false,
            lines: vec![0.0; LINES * line_capacity].into_boxed_slice(),
            line_capacity,
            write: 0,
            length_frames: [0.0; LINES],
            size: f32::NAN,
            size_lengths: [0.0; LINES],
            next_length_frames: [0.0; LINES],
            line_fading: false,
            line_fade_frame: 0,
            fade_frames: periods * CHUNK as u32,
            mod_frames: [0.0; MODULATED],
            mod_step_frames: [0.0; MODULATED],
            mod_phase,
            shelf_design: [[0.0; LINES]; 3],
            shelf_from: [[0.0; LINES]; 3],
            shelf_step: [[0.0; LINES]; 3],
            shelf_ramping: false,
            shelf_state: [0.0; LINES],
            shelf_key: [f32::NAN; 3],
            shelf_lengths: [f32::NAN; LINES],
            predelay: [
                vec![0.0; predelay_capacity].into_boxed_slice(),
                vec![0.0; predelay_capacity].into_boxed_slice(),
            ],
            predelay_write: 0,
            predelay_ms: f32::NAN,
            predelay_target: 0,
            predelay_frames: 0,
            predelay_next_frames: 0,
            predelay_fading: false,
            predelay_fade_frame: 0,
            diffusers: [
                [diffuser(0, 0), diffuser(0, 1), diffuser(0, 2), diffuser(0, 3)],
                [diffuser(1, 0), diffuser(1, 1), diffuser(1, 2), diffuser(1, 3)],
            ],
            diffuser_gain: 0.0,
            dc_in: [0.0; 2],
            dc_out: [0.0; 2],
            dc_pole: 1.0 - std::f32::consts::TAU * DC_BLOCK_HZ / sample_rate,
        }
    }

    /// Control-rate update at the start of a period, from the parameter values at frame `i` of
    /// the chunk: targets, damping filters, LFO steps for the period.
    fn control(&mut self, params: &[ParamSignal<'_>; 9], i: usize) {
        let at = |id: ParamId| params.get(id.0 as usize).map_or(0.0, |p| p.at(i));
        let fs = self.sample_rate;
        let rate_scale = fs / REFERENCE_RATE_HZ;

        // A finished fade hands over to the new lengths / tap.
        if self.line_fading && self.line_fade_frame >= self.fade_frames {
            self.line_fading = false;
            self.length_frames = self.next_length_frames;
        }
        if self.predelay_fading && self.predelay_fade_frame >= self.fade_frames {
            self.predelay_fading = false;
            self.predelay_frames = self.predelay_next_frames;
        }

        // Line lengths: whole frames, so a fixed line is read without interpolation. A new
        // size starts a crossfade when none is running (a moving knob is followed fade by fade).
        // The shortest length keeps every read at least a period behind the write.
        let size = at(SIZE).clamp(MIN_SIZE, 1.0);
        let max_mod = MAX_MOD_DEPTH_SECONDS * fs;
        if size != self.size {
            let max_length = (self.line_capacity - 4) as f32 - max_mod;
            let min_length = (CHUNK + 4) as f32 + max_mod.ceil();
            self.size = size;
            self.size_lengths =
                LINE_FRAMES_48K.map(|base| (base * rate_scale * size).round().clamp(min_length, max_length));
        }
        let target = self.size_lengths;
        if !self.started {
            self.length_frames = target;
        } else if !self.line_fading && target != self.length_frames {
            self.next_length_frames = target;
            self.line_fading = true;
            self.line_fade_frame = 0;
        }

        // Damping: redesigned only when a setting or a length moved. While lengths crossfade,
        // the effective length is in between.
        let decay_seconds = at(DECAY_SECONDS).clamp(0.01, MAX_DECAY_SECONDS);
        let key = [decay_seconds, at(HF_DECAY_RATIO).clamp(0.01, 1.0), at(CROSSOVER_HZ).clamp(1.0, 0.45 * fs)];
        let mut lengths = self.length_frames;
        if self.line_fading {
            let t = (self.line_fade_frame as f32 + 0.5 * CHUNK as f32) / self.fade_frames as f32;
            for (m, next) in lengths.iter_mut().zip(self.next_length_frames) {
                *m += t * (next - *m);
            }
        }
        // The previous period ended on the previous design.
        self.shelf_from = if self.started { self.shelf_design } else { [[0.0; LINES]; 3] };
        if key != self.shelf_key || lengths != self.shelf_lengths {
            self.design_shelves(key, lengths);
        }
        if !self.started {
            self.shelf_from = self.shelf_design;
        }
        self.shelf_ramping = self.shelf_from != self.shelf_design;
        for ((step, from), to) in self.shelf_step.iter_mut().zip(&self.shelf_from).zip(&self.shelf_design) {
            for k in 0..LINES {
                step[k] = (to[k] - from[k]) / CHUNK as f32;
            }
        }

        // Modulation: a parabolic sine per modulated line, stepped linearly over the period
        // from where the previous period ended.
        let depth_frames = at(MODULATION).clamp(0.0, 1.0) * max_mod;
        let period = CHUNK as f32;
        let phase_step = CHUNK as f64 / fs as f64;
        for k in 0..MODULATED {
            self.mod_frames[k] += period * self.mod_step_frames[k];
            let phase = (self.mod_phase[k] + MOD_RATE_HZ[k] as f64 * phase_step).fract();
            self.mod_phase[k] = phase;
            let next = depth_frames * MOD_DEPTH_SHAPE[k] * parabolic_sine(phase as f32);
            self.mod_step_frames[k] = (next - self.mod_frames[k]) / period;
        }

        // Pre-delay: start a crossfade to a new tap when none is running.
        let predelay_capacity = self.predelay[0].len();
        let predelay_ms = at(PREDELAY_MS);
        if predelay_ms != self.predelay_ms {
            self.predelay_ms = predelay_ms;
            self.predelay_target =
                ((predelay_ms.max(0.0) * 0.001 * fs).round() as usize).min(predelay_capacity.saturating_sub(1));
        }
        let predelay_frames = self.predelay_target;
        if !self.started {
            self.predelay_frames = predelay_frames;
        } else if !self.predelay_fading && predelay_frames != self.predelay_frames {
            self.predelay_next_frames = predelay_frames;
            self.predelay_fading = true;
            self.predelay_fade_frame = 0;
        }

        self.diffuser_gain = at(DIFFUSION).clamp(0.0, 1.0) * MAX_DIFFUSER_GAIN;
        self.started = true;
    }

    /// Per-line shelves giving RT60 `key[0]` below the crossover `key[2]` and `key[0]·key[1]`
    /// above it, for the current lengths. Out of line: it runs only while something moves.
    #[cold]
    #[inline(never)]
    fn design_shelves(&mut self, key: [f32; 3], lengths: [f32; LINES]) {
        let [decay_seconds, ratio, crossover_hz] = key;
        let fs = self.sample_rate;
        // ln(10^(-3·M/(fs·T))) = -3·ln(10)·M/(fs·T).
        let per_frame_low = -3.0 * std::f32::consts::LN_10 / (fs * decay_seconds);
        let per_frame_high = per_frame_low / ratio;
        let k = (std::f32::consts::PI * crossover_hz / fs).tan();
        let norm = 1.0 / (1.0 + k);
        for (line, m) in lengths.iter().enumerate().take(LINES) {
            // The bilinear transform of `(g_high·s + g_low·k) / (s + k)`: gain `g_low` at DC,
            // `g_high` at Nyquist, halfway (in power) at `k = tan(π·fc/fs)`.
            let (gain_low, gain_high) = ((per_frame_low * m).exp(), (per_frame_high * m).exp());
            let b0 = (gain_high + gain_low * k) * norm;
            let b1 = (gain_low * k - gain_high) * norm;
            let a1 = (k - 1.0) * norm;
            self.shelf_design[0][line] = b0;
            self.shelf_design[1][line] = b1 - a1 * b0;
            self.shelf_design[2][line] = a1;
        }
        self.shelf_key = key;
        self.shelf_lengths = lengths;
    }

    /// Pre-delays `x` (both channels, `n` frames) in place, crossfading taps while the
    /// pre-delay changes.
    #[inline]
    fn predelay_run(&mut self, x: &mut [[f32; CHUNK]; 2], n: usize) {
        let fade = self.fade_frames as f32;
        for (buffer, x) in self.predelay.iter_mut().zip(x.iter_mut()) {
            let mask = buffer.len() - 1;
            let mut write = self.predelay_write;
            for (j, v) in x.iter_mut().enumerate().take(n) {
                if let Some(slot) = buffer.get_mut(write) {
                    *slot = *v;
                }
                let read = |delay: usize| buffer.get(write.wrapping_sub(delay) & mask).copied().unwrap_or(0.0);
                let mut out = read(self.predelay_frames);
                if self.predelay_fading {
                    let t = (self.predelay_fade_frame as f32 + j as f32) / fade;
                    out += t * (read(self.predelay_next_frames) - out);
                }
                *v = out;
                write = (write + 1) & mask;
            }
        }
        let mask = self.predelay[0].len() - 1;
        self.predelay_write = (self.predelay_write + n) & mask;
        if self.predelay_fading {
            self.predelay_fade_frame += n as u32;
        }
    }

    /// The network's `n` frames: takes the diffused input, returns the DC-blocked wet signal.
    /// `phase` is the chunk's first frame within the control period.
    ///
    /// Works line by line: every line is longer than a control period (asserted in `new`), so
    /// none of the chunk's reads sees its writes. The chunk's delayed samples are gathered
    /// first (one contiguous run per fixed line), the per-frame filter/mix math runs on small
    /// arrays, and each line's new samples are written back as one contiguous run.
    #[inline]
    fn network_run(&mut self, x: &[[f32; CHUNK]; 2], n: usize, phase: usize) -> [[f32; CHUNK]; 2] {
        let mut wet = [[0.0f32; CHUNK]; 2];
        let n = n.min(CHUNK);
        let capacity = self.line_capacity;
        let write = self.write;
        // 1. Gather.
        let mut read = [[0.0f32; LINES]; CHUNK];
        let (mod_from, mod_step) = (&self.mod_frames, &self.mod_step_frames);
        read_lines(&self.lines, capacity, write, &self.length_frames, mod_from, mod_step, phase, &mut read[..n]);
        if self.line_fading {
            let mut next = [[0.0f32; LINES]; CHUNK];
            read_lines(
                &self.lines,
                capacity,
                write,
                &self.next_length_frames,
                mod_from,
                mod_step,
                phase,
                &mut next[..n],
            );
            let fade = self.fade_frames as f32;
            for (j, (read, next)) in read.iter_mut().zip(&next).take(n).enumerate() {
                let t = (self.line_fade_frame as f32 + j as f32) / fade;
                for k in 0..LINES {
                    read[k] += t * (next[k] - read[k]);
                }
            }
        }

        // 2. Per-frame math, all lines side by side.
        let ([b0_from, c_from, a1_from], [b0_step, c_step, a1_step]) = (self.shelf_from, self.shelf_step);
        let mut state = self.shelf_state;
        let (mut dc_in, mut dc_out, dc_pole) = (self.dc_in, self.dc_out, self.dc_pole);
        let mut feedback = [[0.0f32; LINES]; CHUNK];
        for j in 0..n {
            let position = (phase + j) as f32;
            let r = read[j];
            // Damping shelves.
            let mut y = [0.0f32; LINES];
            if self.shelf_ramping {
                for k in 0..LINES {
                    let b0 = b0_from[k] + position * b0_step[k];
                    let c = c_from[k] + position * c_step[k];
                    let a1 = a1_from[k] + position * a1_step[k];
                    y[k] = b0 * r[k] + state[k];
                    state[k] = c * r[k] - a1 * state[k];
                }
            } else {
                for k in 0..LINES {
                    y[k] = b0_from[k] * r[k] + state[k];
                    state[k] = c_from[k] * r[k] - a1_from[k] * state[k];
                }
            }
            // Output taps: four lines per channel.
            let left = LINE_GAIN * ((y[0] - y[1]) + (y[5] - y[4]));
            let right = LINE_GAIN * ((y[2] + y[3]) + (y[7] - y[6]));
            hadamard8(&mut y);
            let (in_left, in_right) = (x[0][j] * LINE_GAIN, x[1][j] * LINE_GAIN);
            for k in 0..LINES {
                let input = if k % 2 == 0 { in_left } else { in_right };
                feedback[j][k] = flush(HADAMARD_SCALE * y[k] + INJECT_SIGN[k] * input);
            }
            // DC blockers.
            for (ch, v) in [left, right].into_iter().enumerate() {
                let out = v - dc_in[ch] + dc_pole * dc_out[ch];
                dc_in[ch] = v;
                dc_out[ch] = out;
                wet[ch][j] = out;
            }
        }

        // 3. Write back.
        write_lines(&mut self.lines, capacity, write, &feedback[..n]);
        self.write = (write + n) & (capacity - 1);
        if self.line_fading {
            self.line_fade_frame += n as u32;
        }
        // The recursive states are flushed once per period (at its last frame), so a decaying
        // tail cannot sink into denormals for more than a period.
        if phase + n >= CHUNK {
            state = state.map(flush);
            dc_out = dc_out.map(flush);
        }
        self.shelf_state = state;
        self.dc_in = dc_in;
        self.dc_out = dc_out;
        wet
    }
}

impl Processor for ReverbProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let params = ctx.params();
        let signals = [
            params.get(DECAY_SECONDS),
            params.get(HF_DECAY_RATIO),
            params.get(CROSSOVER_HZ),
            params.get(SIZE),
            params.get(PREDELAY_MS),
            params.get(DIFFUSION),
            params.get(MODULATION),
            params.get(WIDTH),
            params.get(MIX),
        ];
        let (width, mix) = (params.get(WIDTH), params.get(MIX));
        let (in_left, in_right) = ctx.inputs().stereo(IN);
        let mut outputs = ctx.outputs();
        let (out_left, out_right) = outputs.stereo_mut(OUT);
        let frames = out_left.len().min(out_right.len());
        let mut i = 0;
        // Chunks end at control-period boundaries, so the per-frame arithmetic does not depend
        // on how the engine cuts the timeline into blocks.
        while i < frames {
            let phase = (self.frame % CONTROL_PERIOD_FRAMES) as usize;
            if phase == 0 {
                self.control(&signals, i);
            }
            let n = (CHUNK - phase).min(frames - i);
            let mut dry = [[0.0f32; CHUNK]; 2];
            for (d, input) in dry.iter_mut().zip([in_left, in_right]) {
                for (d, s) in d.iter_mut().take(n).zip(input.get(i..).unwrap_or(&[])) {
                    *d = *s;
                }
            }
            let mut x = dry;
            self.predelay_run(&mut x, n);
            let g = self.diffuser_gain;
            for (channel, diffusers) in x.iter_mut().zip(self.diffusers.iter_mut()) {
                let channel = &mut channel[..n];
                for diffuser in diffusers.iter_mut() {
                    diffuser.run(channel, g);
                }
            }
            let wet = self.network_run(&x, n, phase);
            let outs = out_left.iter_mut().zip(out_right.iter_mut()).skip(i).take(n);
            for (j, (ol, or)) in outs.enumerate() {
                // Mid/side width, then a linear wet/dry crossfade.
                let (w, m) = (width.at(i + j).clamp(0.0, 1.0), mix.at(i + j).clamp(0.0, 1.0));
                let (wet_left, wet_right) = (wet[0][j], wet[1][j]);
                let mid = 0.5 * (wet_left + wet_right);
                let side = 0.5 * w * (wet_left - wet_right);
                *ol = dry[0][j] + m * (mid + side - dry[0][j]);
                *or = dry[1][j] + m * (mid - side - dry[1][j]);
            }
            self.frame += n as u64;
            i += n;
        }
    }
}

/// The lines read for the frames written from `write` on, one `[f32; LINES]` per frame of
/// `out`: the first [`MODULATED`] at `lengths` plus `mod_from + (phase + j)·mod_step` frames
/// (for frame `j`) by cubic Lagrange interpolation (exact at whole-frame delays), the rest at
/// their whole-frame `lengths`. Every delay is at least 2 frames more than `out.len()` and
/// below the capacity, so nothing read is written in the same chunk.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn read_lines(
    lines: &[f32],
    capacity: usize,
    write: usize,
    lengths: &[f32; LINES],
    mod_from: &[f32; MODULATED],
    mod_step: &[f32; MODULATED],
    phase: usize,
    out: &mut [[f32; LINES]],
) {
    if capacity == 0 || lines.len() < LINES * capacity {
        return;
    }
    let mask = capacity - 1;
    // SAFETY: checked just above: `capacity ≥ 1` and `lines.len() ≥ LINES * capacity`. Every
    // call below passes `k < LINES`, and the offset is masked by `capacity - 1` so it is below
    // `capacity`: the index is below `(k + 1) * capacity ≤ lines.len()`.
    let at = |k: usize, i: usize| unsafe { *lines.get_unchecked(k * capacity + (i & mask)) };
    for k in 0..MODULATED {
        let (length, from, step) = (lengths[k], mod_from[k], mod_step[k]);
        // Positions and coefficients for a whole period first (a fixed-length loop the
        // compiler vectorizes; frames past `out.len()` are computed and unused), then the reads.
        let mut whole = [0i32; CHUNK];
        let mut coefficients = [[0.0f32; CHUNK]; 4];
        for j in 0..CHUNK {
            let delay = length + (from + (phase + j) as f32 * step);
            let w = delay as i32;
            let d = delay - w as f32;
            let (dp1, dm1, dm2) = (d + 1.0, d - 1.0, d - 2.0);
            whole[j] = w;
            coefficients[0][j] = -d * dm1 * dm2 * (1.0 / 6.0);
            coefficients[1][j] = dp1 * dm1 * dm2 * 0.5;
            coefficients[2][j] = -dp1 * d * dm2 * 0.5;
            coefficients[3][j] = dp1 * d * dm1 * (1.0 / 6.0);
        }
        let [c0, c1, c2, c3] = &coefficients;
        for (j, frame) in out.iter_mut().enumerate().take(CHUNK) {
            let base = (write + j).wrapping_sub(whole[j] as usize);
            frame[k] = c0[j] * at(k, base.wrapping_add(1))
                + c1[j] * at(k, base)
                + c2[j] * at(k, base.wrapping_sub(1))
                + c3[j] * at(k, base.wrapping_sub(2));
        }
    }
    for k in MODULATED..LINES {
        let start = write.wrapping_sub(lengths[k] as usize);
        for (j, frame) in out.iter_mut().enumerate() {
            frame[k] = at(k, start.wrapping_add(j));
        }
    }
}

/// Writes `new` (one `[f32; LINES]` per frame) into the lines from `write` on.
#[inline(always)]
fn write_lines(lines: &mut [f32], capacity: usize, write: usize, new: &[[f32; LINES]]) {
    if capacity == 0 || lines.len() < LINES * capacity {
        return;
    }
    let mask = capacity - 1;
    for k in 0..LINES {
        for (j, frame) in new.iter().enumerate() {
            // SAFETY: checked above: `capacity ≥ 1` and `lines.len() ≥ LINES * capacity`;
            // `k < LINES` and the masked offset is below `capacity`, so the index is below
            // `(k + 1) * capacity ≤ lines.len()`.
            unsafe { *lines.get_unchecked_mut(k * capacity + ((write + j) & mask)) = frame[k] };
        }
    }
}

/// In-place unnormalised 8-point fast Walsh–Hadamard transform (24 additions, in three
/// butterfly stages of stride 1, 2 and 4; the caller scales by 1/√8).
#[inline(always)]
fn hadamard8(v: &mut [f32; LINES]) {
    let [a0, a1, a2, a3, a4, a5, a6, a7] = *v;
    let [b0, b1, b2, b3, b4, b5, b6, b7] = [a0 + a1, a0 - a1, a2 + a3, a2 - a3, a4 + a5, a4 - a5, a6 + a7, a6 - a7];
    let [c0, c1, c2, c3, c4, c5, c6, c7] = [b0 + b2, b1 + b3, b0 - b2, b1 - b3, b4 + b6, b5 + b7, b4 - b6, b5 - b7];
    *v = [c0 + c4, c1 + c5, c2 + c6, c3 + c7, c0 - c4, c1 - c5, c2 - c6, c3 - c7];
}

/// A sine-shaped LFO of `phase` cycles (two parabolas; smooth enough for modulation).
#[inline]
fn parabolic_sine(phase: f32) -> f32 {
    let x = phase - phase.floor();
    if x < 0.5 {
        16.0 * x * (0.5 - x)
    } else {
        -16.0 * (x - 0.5) * (1.0 - x)
    }
}

/// `x` with magnitudes below ~1e-27 flushed to zero (keeps decaying states out of denormals).
#[inline]
fn flush(x: f32) -> f32 {
    (x + ANTI_DENORMAL) - ANTI_DENORMAL
}
