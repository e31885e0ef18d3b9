//! `reverb`: a stereo feedback-delay-network reverb (after Jot).
//!
//! Signal flow:
//!
//! ```text
//!  in ─▶ pre-delay ─▶ 4 allpass diffusers per channel ─▶ inject ─┐
//!                                                               ▼
//!  ┌─▶ 16 delay lines ─▶ read (cubic, some modulated) ─▶ damping shelf ─┬─▶ L/R taps ─▶ DC block
//!  └────────────────────────── Hadamard 16×16 ◀─────────────────────────┘      ─▶ width ─▶ mix ─▶ out
//! ```
//!
//! - Sixteen delay lines of mutually prime lengths at 48 kHz (23–98 ms at `size` 1, scaled by
//!   the sample rate and `size`), mixed by a 16×16 Hadamard matrix (orthogonal, so lossless:
//!   the decay comes from the damping filters alone).
//! - Each line has a first-order shelving filter whose gain at DC is `10^(-3·M/(fs·T_low))` and
//!   at Nyquist `10^(-3·M/(fs·T_high))` for a line of `M` frames, so every line loses 60 dB in
//!   `T_low` seconds at low frequencies and in `T_high` at high ones, and the network's RT60
//!   follows the setting at every frequency. The shelf's midpoint (where the decay *rate* is
//!   halfway between the two) is `crossover_hz`; being first order, the transition spans about
//!   two octaves each side.
//! - Half the lines are read at a slowly moving fractional position (sine LFOs of 0.3–1.1 Hz,
//!   at most 0.3 ms deep), which breaks up the metallic ringing of fixed modes. Their mean
//!   length is the nominal one, so the decay time is unchanged.
//! - Control-rate work (coefficients, LFO steps, targets) runs every
//!   [`CONTROL_PERIOD_FRAMES`] frames counted from the node's own frame counter, so the output
//!   does not depend on how the engine cuts the timeline into blocks.
//! - `size` and `predelay_ms` changes crossfade (over 20 ms) from reading each line at its old
//!   length to reading it at the new one, so no read position ever jumps. (Gliding the lengths
//!   instead would bend the pitch, and in a feedback loop the bend compounds on every pass.)
//!   Lengths are whole frames, so a line at rest is read without interpolation.
//! - `process` neither allocates nor panics: every buffer is allocated in `build`, every
//!   buffer access goes through `get`/`get_mut` on indices wrapped by a mask, and the fixed
//!   16-entry arrays are only indexed by line numbers below 16.

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
const LINES: usize = 16;
/// Delay lengths at 48 kHz and `size` 1: primes spread geometrically over 23–98 ms.
const LINE_FRAMES_48K: [f32; LINES] = [
    1103.0, 1217.0, 1361.0, 1481.0, 1627.0, 1801.0, 1973.0, 2179.0, 2399.0, 2647.0, 2909.0, 3209.0, 3533.0, 3907.0,
    4289.0, 4723.0,
];
/// The rate the tables above are given at.
const REFERENCE_RATE_HZ: f32 = 48_000.0;
/// Smallest `size`.
const MIN_SIZE: f32 = 0.25;
/// Modulation depth of each line relative to the maximum (0 = read at a fixed length).
const MOD_DEPTH_SHAPE: [f32; LINES] =
    [1.0, 0.0, 0.7, 0.0, 0.9, 0.0, 0.6, 0.0, 0.8, 0.0, 1.0, 0.0, 0.75, 0.0, 0.85, 0.0];
/// LFO rate of each line (Hz); only the modulated lines' rates matter.
const MOD_RATE_HZ: [f32; LINES] =
    [0.31, 0.0, 0.47, 0.0, 0.59, 0.0, 0.73, 0.0, 0.83, 0.0, 0.97, 0.0, 1.07, 0.0, 0.41, 0.0];
/// Modulation depth at `modulation` 1, in seconds.
const MAX_MOD_DEPTH_SECONDS: f32 = 0.000_3;
/// How long a `size` or `predelay_ms` change crossfades between the old and the new read taps.
const FADE_SECONDS: f32 = 0.02;
/// Allpass diffuser lengths at 48 kHz (primes, 3–10 ms), left and right channel.
const DIFFUSER_FRAMES_48K: [[f32; 4]; 2] = [[149.0, 211.0, 337.0, 491.0], [163.0, 229.0, 353.0, 467.0]];
/// Allpass gain at `diffusion` 1.
const MAX_DIFFUSER_GAIN: f32 = 0.75;
/// Sign of each line's input from the left (even lines) and right (odd lines) channel.
const INJECT_SIGN: [f32; LINES] =
    [1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0];
/// Weight of each line in the left output (lines 0, 1 mod 4) and the right output (2, 3 mod 4).
const TAP_LEFT: [f32; LINES] = [1.0, -1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0];
/// See [`TAP_LEFT`].
const TAP_RIGHT: [f32; LINES] = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0, -1.0];
/// Gain of the input into each line and of each tapped line into the output: 1/√8, so one
/// channel injects unit energy over its eight lines.
const LINE_GAIN: f32 = 0.353_553_38;
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

    #[inline]
    fn tick(&mut self, x: f32, g: f32) -> f32 {
        let Some(slot) = self.buffer.get_mut(self.position) else {
            return x;
        };
        let delayed = *slot;
        let w = x + g * delayed;
        *slot = flush(w);
        self.position += 1;
        if self.position >= self.buffer.len() {
            self.position = 0;
        }
        delayed - g * w
    }
}

/// First-order shelving filter coefficients (transposed direct form II).
#[derive(Copy, Clone, Default)]
struct Shelf {
    b0: f32,
    b1: f32,
    a1: f32,
}

impl Shelf {
    /// Gain `gain_low` at DC, `gain_high` at Nyquist, halfway (in power) at `k = tan(π·fc/fs)`:
    /// the bilinear transform of `(g_high·s + g_low·k) / (s + k)`.
    fn new(gain_low: f32, gain_high: f32, k: f32) -> Self {
        let norm = 1.0 / (1.0 + k);
        Self { b0: (gain_high + gain_low * k) * norm, b1: (gain_low * k - gain_high) * norm, a1: (k - 1.0) * norm }
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
    next_length_frames: [f32; LINES],
    /// Frames into a crossfade from `length_frames` to `next_length_frames` (none when 0).
    line_fade_frame: u32,
    /// Length of a crossfade (for the lines and the pre-delay).
    fade_frames: u32,
    /// Current LFO offset of each line in frames, its step per frame and its phase (cycles).
    mod_frames: [f32; LINES],
    mod_step_frames: [f32; LINES],
    mod_phase: [f64; LINES],
    /// Damping filters and their states.
    shelves: [Shelf; LINES],
    shelf_state: [f32; LINES],
    /// (decay_seconds, hf_decay_ratio, crossover_hz) and lengths the shelves were designed for.
    shelf_key: [f32; 3],
    shelf_lengths: [f32; LINES],

    /// Pre-delay: stereo ring buffers (power-of-two long), the tap in use, and the tap faded to.
    predelay: [Box<[f32]>; 2],
    predelay_write: usize,
    predelay_frames: usize,
    predelay_next_frames: usize,
    /// Frames into a crossfade from `predelay_frames` to `predelay_next_frames` (none when 0).
    predelay_fade_frame: u32,

    diffusers: [[Allpass; 4]; 2],
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
        let mut mod_phase = [0.0f64; LINES];
        for (k, phase) in mod_phase.iter_mut().enumerate() {
            *phase = k as f64 * 0.137;
        }
        Self {
            sample_rate,
            frame: 0,
            started: false,
            lines: vec![0.0; LINES * line_capacity].into_boxed_slice(),
            line_capacity,
            write: 0,
            length_frames: [0.0; LINES],
            next_length_frames: [0.0; LINES],
            line_fade_frame: 0,
            fade_frames: (FADE_SECONDS * sample_rate).round().max(1.0) as u32,
            mod_frames: [0.0; LINES],
            mod_step_frames: [0.0; LINES],
            mod_phase,
            shelves: [Shelf::default(); LINES],
            shelf_state: [0.0; LINES],
            shelf_key: [f32::NAN; 3],
            shelf_lengths: [f32::NAN; LINES],
            predelay: [
                vec![0.0; predelay_capacity].into_boxed_slice(),
                vec![0.0; predelay_capacity].into_boxed_slice(),
            ],
            predelay_write: 0,
            predelay_frames: 0,
            predelay_next_frames: 0,
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

    /// Control-rate update at the current frame, from the parameter values at frame `i` of the
    /// chunk: targets, damping filters, LFO steps for the next period.
    fn control(&mut self, params: &[ParamSignal<'_>; 9], i: usize) {
        let at = |id: ParamId| params.get(id.0 as usize).map_or(0.0, |p| p.at(i));
        let fs = self.sample_rate;
        let rate_scale = fs / REFERENCE_RATE_HZ;

        // Line lengths: whole frames, so a line at rest is read without interpolation. A new
        // size starts a crossfade when none is running (a moving knob is followed fade by fade).
        let size = at(SIZE).clamp(MIN_SIZE, 1.0);
        let max_length = (self.line_capacity - 4) as f32 - MAX_MOD_DEPTH_SECONDS * fs;
        let target = LINE_FRAMES_48K.map(|base| (base * rate_scale * size).round().clamp(4.0, max_length));
        if !self.started {
            self.length_frames = target;
        } else if self.line_fade_frame == 0 && target != self.length_frames {
            self.next_length_frames = target;
            self.line_fade_frame = 1;
        }

        // Damping: redesigned only when a setting or a length moved. While lengths crossfade,
        // the effective length is in between.
        let decay_seconds = at(DECAY_SECONDS).clamp(0.01, MAX_DECAY_SECONDS);
        let key = [decay_seconds, at(HF_DECAY_RATIO).clamp(0.01, 1.0), at(CROSSOVER_HZ).clamp(1.0, 0.45 * fs)];
        let mut lengths = self.length_frames;
        if self.line_fade_frame > 0 {
            let t = self.line_fade_frame as f32 / self.fade_frames as f32;
            for (m, next) in lengths.iter_mut().zip(self.next_length_frames) {
                *m += t * (next - *m);
            }
        }
        if key != self.shelf_key || lengths != self.shelf_lengths {
            self.design_shelves(key, lengths);
        }

        // Modulation: a parabolic sine per modulated line, stepped linearly between updates.
        let depth_frames = at(MODULATION).clamp(0.0, 1.0) * MAX_MOD_DEPTH_SECONDS * fs;
        let period = CONTROL_PERIOD_FRAMES as f32;
        for k in 0..LINES {
            let phase = (self.mod_phase[k] + MOD_RATE_HZ[k] as f64 * CONTROL_PERIOD_FRAMES as f64 / fs as f64).fract();
            self.mod_phase[k] = phase;
            let next = depth_frames * MOD_DEPTH_SHAPE[k] * parabolic_sine(phase as f32);
            self.mod_step_frames[k] = (next - self.mod_frames[k]) / period;
        }

        // Pre-delay: start a crossfade to a new tap when none is running.
        let predelay_capacity = self.predelay[0].len();
        let predelay_frames =
            ((at(PREDELAY_MS).max(0.0) * 0.001 * fs).round() as usize).min(predelay_capacity.saturating_sub(1));
        if !self.started {
            self.predelay_frames = predelay_frames;
        } else if self.predelay_fade_frame == 0 && predelay_frames != self.predelay_frames {
            self.predelay_next_frames = predelay_frames;
            self.predelay_fade_frame = 1;
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
        for (shelf, m) in self.shelves.iter_mut().zip(lengths) {
            *shelf = Shelf::new((per_frame_low * m).exp(), (per_frame_high * m).exp(), k);
        }
        self.shelf_key = key;
        self.shelf_lengths = lengths;
    }

    /// The pre-delayed input frame, crossfading taps while the pre-delay changes.
    #[inline]
    fn predelay_tick(&mut self, left: f32, right: f32) -> (f32, f32) {
        let mask = self.predelay[0].len() - 1;
        let write = self.predelay_write;
        let mut out = [0.0f32; 2];
        for ((buffer, x), o) in self.predelay.iter_mut().zip([left, right]).zip(&mut out) {
            if let Some(slot) = buffer.get_mut(write) {
                *slot = x;
            }
            let read = |delay: usize| buffer.get(write.wrapping_sub(delay) & mask).copied().unwrap_or(0.0);
            *o = read(self.predelay_frames);
            if self.predelay_fade_frame > 0 {
                let t = self.predelay_fade_frame as f32 / self.fade_frames as f32;
                *o += t * (read(self.predelay_next_frames) - *o);
            }
        }
        if self.predelay_fade_frame > 0 {
            self.predelay_fade_frame += 1;
            if self.predelay_fade_frame >= self.fade_frames {
                self.predelay_fade_frame = 0;
                self.predelay_frames = self.predelay_next_frames;
            }
        }
        self.predelay_write = (write + 1) & mask;
        (out[0], out[1])
    }

    /// One frame of the network: takes the diffused input, returns the wet (left, right).
    #[inline]
    fn network_tick(&mut self, left: f32, right: f32) -> (f32, f32) {
        let mask = self.line_capacity - 1;
        let write = self.write;
        let fading = self.line_fade_frame > 0;
        let t = self.line_fade_frame as f32 / self.fade_frames as f32;
        let mut y = [0.0f32; LINES];
        for (k, line) in self.lines.chunks_exact(self.line_capacity).enumerate().take(LINES) {
            let modulation = self.mod_frames[k];
            self.mod_frames[k] += self.mod_step_frames[k];
            let mut read = read_cubic(line, mask, write, (self.length_frames[k] + modulation).max(2.0));
            if fading {
                let next = read_cubic(line, mask, write, (self.next_length_frames[k] + modulation).max(2.0));
                read += t * (next - read);
            }
            let shelf = self.shelves[k];
            let out = shelf.b0 * read + self.shelf_state[k];
            self.shelf_state[k] = flush(shelf.b1 * read - shelf.a1 * out);
            y[k] = out;
        }
        let (mut wet_left, mut wet_right) = (0.0, 0.0);
        for k in 0..LINES {
            wet_left += TAP_LEFT[k] * y[k];
            wet_right += TAP_RIGHT[k] * y[k];
        }
        hadamard16(&mut y);
        for (k, line) in self.lines.chunks_exact_mut(self.line_capacity).enumerate().take(LINES) {
            let input = if k % 2 == 0 { left } else { right };
            if let Some(slot) = line.get_mut(write) {
                *slot = flush(0.25 * y[k] + LINE_GAIN * INJECT_SIGN[k] * input);
            }
        }
        self.write = (write + 1) & mask;
        if fading {
            self.line_fade_frame += 1;
            if self.line_fade_frame >= self.fade_frames {
                self.line_fade_frame = 0;
                self.length_frames = self.next_length_frames;
            }
        }
        (wet_left * LINE_GAIN, wet_right * LINE_GAIN)
    }

    /// Removes DC from the wet signal of channel `c`.
    #[inline]
    fn dc_block(&mut self, c: usize, x: f32) -> f32 {
        let y = x - self.dc_in[c] + self.dc_pole * self.dc_out[c];
        self.dc_in[c] = x;
        self.dc_out[c] = flush(y);
        y
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
        for i in 0..frames {
            if self.frame.is_multiple_of(CONTROL_PERIOD_FRAMES) {
                self.control(&signals, i);
            }
            self.frame += 1;
            let dry_left = in_left.get(i).copied().unwrap_or(0.0);
            let dry_right = in_right.get(i).copied().unwrap_or(0.0);
            let (mut left, mut right) = self.predelay_tick(dry_left, dry_right);
            let g = self.diffuser_gain;
            let [diffusers_left, diffusers_right] = &mut self.diffusers;
            for (l, r) in diffusers_left.iter_mut().zip(diffusers_right.iter_mut()) {
                left = l.tick(left, g);
                right = r.tick(right, g);
            }
            let (wet_left, wet_right) = self.network_tick(left, right);
            let (wet_left, wet_right) = (self.dc_block(0, wet_left), self.dc_block(1, wet_right));
            // Mid/side width, then a linear wet/dry crossfade.
            let (w, m) = (width.at(i).clamp(0.0, 1.0), mix.at(i).clamp(0.0, 1.0));
            let mid = 0.5 * (wet_left + wet_right);
            let side = 0.5 * w * (wet_left - wet_right);
            if let (Some(ol), Some(or)) = (out_left.get_mut(i), out_right.get_mut(i)) {
                *ol = dry_left + m * (mid + side - dry_left);
                *or = dry_right + m * (mid - side - dry_right);
            }
        }
    }
}

/// Cubic Lagrange interpolation of `line` at `delay` frames before `write` (`delay` ≥ 2, so the
/// newest sample read is the previous frame's). Exact (no filtering) at whole-frame delays.
#[inline]
fn read_cubic(line: &[f32], mask: usize, write: usize, delay: f32) -> f32 {
    let whole = delay as usize;
    let d = delay - whole as f32;
    let at = |back: usize| line.get(write.wrapping_sub(back) & mask).copied().unwrap_or(0.0);
    let p1 = at(whole);
    if d == 0.0 {
        return p1;
    }
    let (p0, p2, p3) = (at(whole.wrapping_sub(1)), at(whole.wrapping_add(1)), at(whole.wrapping_add(2)));
    let (dp1, dm1, dm2) = (d + 1.0, d - 1.0, d - 2.0);
    let c0 = -d * dm1 * dm2 * (1.0 / 6.0);
    let c1 = dp1 * dm1 * dm2 * 0.5;
    let c2 = -dp1 * d * dm2 * 0.5;
    let c3 = dp1 * d * dm1 * (1.0 / 6.0);
    c0 * p0 + c1 * p1 + c2 * p2 + c3 * p3
}

/// In-place unnormalised 16-point fast Walsh–Hadamard transform (the caller scales by 1/4).
#[inline]
fn hadamard16(v: &mut [f32; LINES]) {
    let mut half = 1;
    while half < LINES {
        for start in (0..LINES).step_by(2 * half) {
            for j in start..start + half {
                let (a, b) = (v[j], v[j + half]);
                v[j] = a + b;
                v[j + half] = a - b;
            }
        }
        half *= 2;
    }
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
