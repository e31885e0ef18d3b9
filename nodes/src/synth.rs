//! `synth`: a polyphonic subtractive synthesizer played by note events.
//!
//! # Signal path (per voice)
//!
//! ```text
//! oscillator (saw | square | triangle | sine, band-limited)
//!   → 12 dB/oct state-variable low-pass (cutoff moved by the envelope)
//!   → × ADSR envelope × note gain (velocity, per-note volume) → per-note pan → mix
//! ```
//! The mix is scaled by `gain_db` and written to the stereo output. One envelope drives both
//! the amplifier and the filter: the cutoff at envelope level `e` is
//! `cutoff_hz · 2^(filter_env_octaves · e)`.
//!
//! Each voice peaks at [`VOICE_LEVEL`] (-12 dBFS) at full velocity, so 10–20 voices of a dense
//! arrangement stay near full scale at the default gain.
//!
//! # Parameters
//!
//! | id | name | range | default | meaning |
//! |----|------|-------|---------|---------|
//! | 0 | `waveform` | saw, square, triangle, sine | saw | oscillator shape |
//! | 1 | `attack_seconds` | 0.001–10 | 0.005 | linear rise from silence to full level |
//! | 2 | `decay_seconds` | 0.001–10 | 0.3 | fall from full level to the sustain level |
//! | 3 | `sustain_level` | 0–1 | 0.7 | level held while the key is down (0: the note ends with its decay) |
//! | 4 | `release_seconds` | 0.001–10 | 0.25 | fall from wherever the note was to silence |
//! | 5 | `cutoff_hz` | 20–20000 | 4000 | filter cutoff at envelope level 0 |
//! | 6 | `resonance` | 0–1 | 0.2 | filter resonance (0: none, 1: Q = 50) |
//! | 7 | `filter_env_octaves` | -8–8 | 2 | cutoff shift in octaves at full envelope level |
//! | 8 | `bend_range_semitones` | 0–48 | 2 | pitch bend at full deflection |
//! | 9 | `tune_cents` | -100–100 | 0 | fine tuning of every note |
//! | 10 | `velocity_sensitivity` | 0–1 | 0.8 | note gain = `(velocity/127)^(2·sensitivity)` |
//! | 11 | `gain_db` | -96–12 | 0 | output level |
//!
//! At sensitivity 1 the velocity curve is the usual square law (velocity 64 is -12 dB, the
//! range 40 dB); at 0 every note plays at full level. Envelope segment shapes are documented in
//! [`crate::dsp::envelope`].
//!
//! # Events
//!
//! - Note-on / note-off (note-on with velocity 0 arrives as note-off).
//! - Pitch bend, per channel, ±`bend_range_semitones`.
//! - CC64 sustain pedal, per channel (≥ 64 is down): note-offs while the pedal is down are
//!   held until it goes up.
//! - CC120 all sound off: the channel's voices fade out over [`KILL_FADE_SECONDS`].
//! - CC123 all notes off (and CC124–127, which imply it): every key of the channel is
//!   released, as if by note-offs (so the sustain pedal still holds them).
//! - CC121 reset all controllers: pitch bend to centre, pedal up.
//! - Per-note expression ([`EventData::Expression`]) for notes matched by channel and key:
//!   `TuningSemitones` (offset, applied at once), `Volume` (linear gain 0–4) and `Pan`
//!   (-1–1), both glided over about a millisecond. `Brightness` and `Pressure`, other
//!   controllers, program changes and aftertouch are ignored.
//!
//! # Voice allocation and stealing
//!
//! Voices are allocated once in [`NodeDescription::build`]; a note-on picks, in order:
//! 1. the voice already playing the same key on the same channel (a retrigger — also when the
//!    key is only held by the pedal or releasing), so repeated notes never pile up;
//! 2. a free voice (lowest index);
//! 3. the quietest voice that is releasing or fading out (ties: the oldest);
//! 4. the oldest voice whose key is up but held by the sustain pedal;
//! 5. the oldest voice.
//!
//! A reused voice (1, 3–5) does not click: its oscillator keeps its phase (only its frequency
//! changes), its filter keeps its state, its envelope restarts the attack from the level it
//! was at, and its gain glides from the old note's to the new one's (a one-pole step of
//! [`GAIN_GLIDE_PER_BLOCK`] per control block, about 1 ms). A free voice starts from silence
//! with the oscillator at phase 0. The newest note is therefore never dropped.
//!
//! # Timing and determinism
//!
//! Each chunk is rendered in spans split at every event's `time_frames`, so a note starts
//! (its first non-zero sample) and stops exactly at the frame of its event. All state advances
//! per sample. Slower work — reading parameters, envelope rates, pitch and filter
//! coefficients, gain glides — happens every [`CONTROL_INTERVAL_FRAMES`] samples of each
//! voice's own age (counted from its note-on), never at chunk or span boundaries, and
//! parameter values are read at the frame where they are used. The output therefore is
//! bit-identical however the host cuts the timeline into blocks.
//!
//! `process` never allocates, locks or panics: indices are clamped, parameter reads are
//! bounds-checked without panicking, and the filter flushes denormal states every control
//! block (its input, the raw oscillator, never decays anyway; the envelope reaches exact zero).

use noderack_graph::{
    Event, EventData, ExpressionKind, MidiMessage, NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec,
    Params, PortKind, PortSpec, ProcessConfig, ProcessContext, Processor, Unit,
};

use crate::dsp::filter::resonance_to_damping;
use crate::dsp::{
    instrument_io, key_to_hz, pan_gains, split_at_events, Adsr, AdsrShape, InstrumentIo, Oscillator, OutputGain, Span,
    Stage, Svf, SvfCoefficients, Waveform,
};
use noderack_presets::{ConfigError, ConfigReader, NodeConfig};

/// Event input port index.
pub const EVENTS_IN: usize = 0;
/// Stereo output port index.
pub const OUT: usize = 0;

/// Oscillator waveform, a choice among [`Waveform::NAMES`] (saw, square, triangle, sine).
pub const WAVEFORM: ParamId = ParamId(0);
/// Envelope attack time in seconds (silence to full level).
pub const ATTACK_SECONDS: ParamId = ParamId(1);
/// Envelope decay time in seconds (full level to sustain level).
pub const DECAY_SECONDS: ParamId = ParamId(2);
/// Envelope sustain level, 0..=1.
pub const SUSTAIN_LEVEL: ParamId = ParamId(3);
/// Envelope release time in seconds (to silence).
pub const RELEASE_SECONDS: ParamId = ParamId(4);
/// Filter cutoff in Hz at envelope level 0.
pub const CUTOFF_HZ: ParamId = ParamId(5);
/// Filter resonance, 0 (none) ..= 1 (Q = 50).
pub const RESONANCE: ParamId = ParamId(6);
/// Cutoff shift in octaves at full envelope level (negative closes the filter instead).
pub const FILTER_ENV_OCTAVES: ParamId = ParamId(7);
/// Pitch bend range in semitones at full deflection.
pub const BEND_RANGE_SEMITONES: ParamId = ParamId(8);
/// Fine tuning of every note, in cents.
pub const TUNE_CENTS: ParamId = ParamId(9);
/// How much velocity affects level, 0 (not at all) ..= 1 (square law, 40 dB range).
pub const VELOCITY_SENSITIVITY: ParamId = ParamId(10);
/// Output gain in decibels.
pub const GAIN_DB: ParamId = ParamId(11);

/// Parameters 0..CONTROL_PARAMS are read by voices at their control updates.
const CONTROL_PARAMS: usize = 10;

/// Voices when the patch does not say.
pub const DEFAULT_VOICES: usize = 16;
/// Most voices one synth may have.
pub const MAX_VOICES: usize = 256;
/// Peak level of one voice at full velocity and full envelope (-12 dBFS).
pub const VOICE_LEVEL: f32 = 0.25;
/// Samples between a voice's control updates (parameters, pitch, filter coefficients, gain
/// glide), counted from its note-on: 1/3 ms at 48 kHz, fine enough for envelope-driven
/// filter sweeps, coarse enough to keep `tan`/`exp2` out of the per-sample loop.
pub const CONTROL_INTERVAL_FRAMES: u32 = 16;
/// Fraction of the remaining distance a voice's gain glides per control block (about a 1 ms
/// time constant at 48 kHz): smooths per-note volume changes and voice steals.
pub const GAIN_GLIDE_PER_BLOCK: f32 = 0.3;
/// Fade-out time of "all sound off" (CC120), in seconds: immediate to the ear, no click.
pub const KILL_FADE_SECONDS: f32 = 0.002;

/// Description of a `synth` node.
pub struct Synth {
    voices: usize,
    signature: NodeSignature,
}

impl Synth {
    /// Kind name in patch files.
    pub const KIND: &'static str = "synth";
    /// Settings a patch may give (`voices`: 1..=256, default 16).
    pub const CONFIG_KEYS: &'static [&'static str] = &["voices"];

    /// A synth with `voices` voices (clamped to `1..=MAX_VOICES`).
    pub fn new(voices: usize) -> Self {
        Self {
            voices: voices.clamp(1, MAX_VOICES),
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("events", PortKind::Events)],
                    outputs: vec![PortSpec::new("out", PortKind::STEREO)],
                },
                params: vec![
                    ParamSpec::choice("waveform", Waveform::NAMES, 0),
                    ParamSpec::continuous("attack_seconds", 0.001, 10.0, 0.005, Unit::Seconds),
                    ParamSpec::continuous("decay_seconds", 0.001, 10.0, 0.3, Unit::Seconds),
                    ParamSpec::continuous("sustain_level", 0.0, 1.0, 0.7, Unit::None),
                    ParamSpec::continuous("release_seconds", 0.001, 10.0, 0.25, Unit::Seconds),
                    ParamSpec::continuous("cutoff_hz", 20.0, 20_000.0, 4000.0, Unit::Hertz),
                    ParamSpec::continuous("resonance", 0.0, 1.0, 0.2, Unit::None),
                    ParamSpec::continuous("filter_env_octaves", -8.0, 8.0, 2.0, Unit::None),
                    ParamSpec::continuous("bend_range_semitones", 0.0, 48.0, 2.0, Unit::Semitones),
                    ParamSpec::continuous("tune_cents", -100.0, 100.0, 0.0, Unit::None),
                    ParamSpec::continuous("velocity_sensitivity", 0.0, 1.0, 0.8, Unit::None),
                    ParamSpec::continuous("gain_db", -96.0, 12.0, 0.0, Unit::Decibels),
                ],
            },
        }
    }

    /// A synth from patch settings (see [`Synth::CONFIG_KEYS`]); rejects unknown keys and
    /// voice counts outside `1..=MAX_VOICES`.
    pub fn from_config(config: &NodeConfig) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(Self::KIND, config, Self::CONFIG_KEYS)?;
        Ok(Self::new(reader.integer("voices", 1, MAX_VOICES as u32, DEFAULT_VOICES as u32)? as usize))
    }

    /// Number of voices.
    pub fn voices(&self) -> usize {
        self.voices
    }
}

impl Default for Synth {
    fn default() -> Self {
        Self::new(DEFAULT_VOICES)
    }
}

impl NodeDescription for Synth {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        let sample_rate = config.sample_rate.max(1.0);
        Box::new(SynthProcessor {
            sample_rate,
            voices: vec![Voice::default(); self.voices],
            channels: [Channel::default(); 16],
            next_serial: 0,
            cache: ControlCache::new(sample_rate),
            chunk_controls: None,
            kill_fade_frames: (KILL_FADE_SECONDS * sample_rate).round().max(1.0) as u32,
            output_gain: OutputGain::default(),
        })
    }
}

/// Everything voices derive from the control parameters.
#[derive(Copy, Clone, Debug)]
struct Controls {
    waveform: Waveform,
    shape: AdsrShape,
    cutoff_hz: f32,
    damping: f32,
    env_octaves: f32,
    bend_range_semitones: f32,
    tune_semitones: f32,
}

/// The last control parameter values seen and what was derived from them, so the `exp` calls
/// behind the envelope rates only run when a value changes.
struct ControlCache {
    raw: [f32; CONTROL_PARAMS],
    controls: Controls,
    sample_rate: f32,
}

impl ControlCache {
    fn new(sample_rate: f32) -> Self {
        Self {
            raw: [f32::NAN; CONTROL_PARAMS],
            controls: Controls {
                waveform: Waveform::Saw,
                shape: AdsrShape::default(),
                cutoff_hz: 1000.0,
                damping: 2.0,
                env_octaves: 0.0,
                bend_range_semitones: 2.0,
                tune_semitones: 0.0,
            },
            sample_rate,
        }
    }

    /// Controls at frame `i` of the chunk.
    fn at(&mut self, params: &Params<'_>, i: usize) -> Controls {
        let mut raw = [0.0; CONTROL_PARAMS];
        for (p, r) in raw.iter_mut().enumerate() {
            *r = params.get(ParamId(p as u32)).at(i);
        }
        self.update(raw)
    }

    fn update(&mut self, raw: [f32; CONTROL_PARAMS]) -> Controls {
        if raw != self.raw {
            let old = self.raw;
            let idx = |id: ParamId| id.0 as usize;
            let envelope = [ATTACK_SECONDS, DECAY_SECONDS, SUSTAIN_LEVEL, RELEASE_SECONDS];
            if envelope.iter().any(|&p| raw[idx(p)] != old[idx(p)]) {
                self.controls.shape = AdsrShape::new(
                    raw[idx(ATTACK_SECONDS)],
                    raw[idx(DECAY_SECONDS)],
                    raw[idx(SUSTAIN_LEVEL)],
                    raw[idx(RELEASE_SECONDS)],
                    self.sample_rate,
                );
            }
            let c = &mut self.controls;
            c.waveform = Waveform::from_index(raw[idx(WAVEFORM)]);
            c.cutoff_hz = raw[idx(CUTOFF_HZ)];
            c.damping = resonance_to_damping(raw[idx(RESONANCE)]);
            c.env_octaves = raw[idx(FILTER_ENV_OCTAVES)];
            c.bend_range_semitones = raw[idx(BEND_RANGE_SEMITONES)];
            c.tune_semitones = raw[idx(TUNE_CENTS)] / 100.0;
            self.raw = raw;
        }
        self.controls
    }
}

/// Per-channel controller state.
#[derive(Copy, Clone, Debug, Default)]
struct Channel {
    /// Pitch bend, -1..1 of the bend range.
    bend: f32,
    /// Sustain pedal (CC64) down.
    pedal_down: bool,
}

/// One voice: oscillator, filter, envelope and the note it plays.
#[derive(Copy, Clone, Debug)]
struct Voice {
    channel: u8,
    key: u8,
    /// Between the note-on and its note-off.
    key_down: bool,
    /// Note-off arrived while the pedal was down; released when the pedal goes up.
    held_by_pedal: bool,
    /// Note-on order (higher is newer).
    serial: u64,
    /// Samples since the note-on (wrapping; only its remainder by the control interval matters).
    age_frames: u32,
    /// Gains jump to their targets at the next control update (a voice starting from silence).
    fresh: bool,
    waveform: Waveform,
    osc: Oscillator,
    filter: Svf,
    env: Adsr,
    /// Per-note tuning expression, semitones.
    tuning_semitones: f32,
    /// Pitch the oscillator is set to, in (fractional) MIDI keys; NaN forces a recompute.
    pitch_key: f32,
    /// Cutoff and damping the filter coefficients were computed for; NaN forces a recompute.
    filter_for: (f32, f32),
    /// `VOICE_LEVEL` × velocity gain.
    note_gain: f32,
    /// Per-note volume expression (linear).
    volume: f32,
    /// Per-note pan gains (left, right).
    pan_gains: (f32, f32),
    /// Current per-sample output gains and their per-sample steps within this control block.
    gain: (f32, f32),
    gain_step: (f32, f32),
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            channel: 0,
            key: 0,
            key_down: false,
            held_by_pedal: false,
            serial: 0,
            age_frames: 0,
            fresh: true,
            waveform: Waveform::Saw,
            osc: Oscillator::new(),
            filter: Svf::default(),
            env: Adsr::default(),
            tuning_semitones: 0.0,
            pitch_key: f32::NAN,
            filter_for: (f32::NAN, f32::NAN),
            note_gain: 0.0,
            volume: 1.0,
            pan_gains: (1.0, 1.0),
            gain: (0.0, 0.0),
            gain_step: (0.0, 0.0),
        }
    }
}

impl Voice {
    #[inline]
    fn is_active(&self) -> bool {
        !self.env.is_idle()
    }

    /// Current output amplitude (for choosing the quietest voice to steal).
    fn loudness(&self) -> f32 {
        self.env.level() * self.note_gain * self.volume
    }

    fn plays(&self, channel: u8, key: u8) -> bool {
        self.is_active() && self.channel == channel && self.key == key
    }

    /// Sets the oscillator frequency from key, per-note tuning, channel bend and fine tuning.
    fn update_pitch(&mut self, c: &Controls, bend: f32, sample_rate: f32) {
        let pitch = self.key as f32 + self.tuning_semitones + bend * c.bend_range_semitones + c.tune_semitones;
        if pitch != self.pitch_key {
            self.pitch_key = pitch;
            self.osc.set_frequency(key_to_hz(pitch), sample_rate);
        }
    }

    /// The work done every `CONTROL_INTERVAL_FRAMES` of the voice's age.
    fn control_update(&mut self, c: &Controls, bend: f32, sample_rate: f32) {
        self.waveform = c.waveform;
        self.env.set_shape(c.shape);
        self.update_pitch(c, bend, sample_rate);

        let cutoff_hz =
            if c.env_octaves == 0.0 { c.cutoff_hz } else { c.cutoff_hz * (c.env_octaves * self.env.level()).exp2() };
        if (cutoff_hz, c.damping) != self.filter_for {
            self.filter_for = (cutoff_hz, c.damping);
            self.filter.set_coefficients(SvfCoefficients::new(cutoff_hz, c.damping, sample_rate));
        }
        self.filter.flush_denormals();

        let g = self.note_gain * self.volume;
        let target = (g * self.pan_gains.0, g * self.pan_gains.1);
        if self.fresh {
            self.fresh = false;
            self.gain = target;
            self.gain_step = (0.0, 0.0);
        } else {
            let step = |now: f32, to: f32| {
                if (to - now).abs() < 1e-6 {
                    0.0
                } else {
                    (to - now) * GAIN_GLIDE_PER_BLOCK / CONTROL_INTERVAL_FRAMES as f32
                }
            };
            self.gain_step = (step(self.gain.0, target.0), step(self.gain.1, target.1));
        }
    }

    /// Adds frames `start..end` of this voice to the outputs.
    #[allow(clippy::too_many_arguments)]
    fn render(
        &mut self,
        out_l: &mut [f32],
        out_r: &mut [f32],
        start: usize,
        end: usize,
        cache: &mut ControlCache,
        chunk_controls: Option<Controls>,
        params: &Params<'_>,
        bend: f32,
    ) {
        let mut f = start;
        while f < end {
            let phase = self.age_frames % CONTROL_INTERVAL_FRAMES;
            if phase == 0 {
                let c = match chunk_controls {
                    Some(c) => c,
                    None => cache.at(params, f),
                };
                self.control_update(&c, bend, cache.sample_rate);
            }
            let n = ((CONTROL_INTERVAL_FRAMES - phase) as usize).min(end - f);
            let (l, r) = (&mut out_l[f..f + n], &mut out_r[f..f + n]);
            match self.waveform {
                Waveform::Saw => self.run(l, r, Oscillator::next_saw),
                Waveform::Square => self.run(l, r, Oscillator::next_square),
                Waveform::Triangle => self.run(l, r, Oscillator::next_triangle),
                Waveform::Sine => self.run(l, r, Oscillator::next_sine),
            }
            self.age_frames = self.age_frames.wrapping_add(n as u32);
            f += n;
            if self.env.is_idle() {
                break;
            }
        }
    }

    /// The per-sample loop, monomorphised per waveform; state lives in locals so it stays in
    /// registers.
    #[inline(always)]
    fn run(&mut self, out_l: &mut [f32], out_r: &mut [f32], mut next: impl FnMut(&mut Oscillator) -> f32) {
        let mut osc = self.osc;
        let mut filter = self.filter;
        let mut env = self.env;
        let (mut gl, mut gr) = self.gain;
        let (sl, sr) = self.gain_step;
        for (l, r) in out_l.iter_mut().zip(out_r.iter_mut()) {
            let x = next(&mut osc);
            let y = filter.tick_lowpass(x);
            let e = env.tick();
            gl += sl;
            gr += sr;
            let s = y * e;
            *l += s * gl;
            *r += s * gr;
        }
        self.osc = osc;
        self.filter = filter;
        self.env = env;
        self.gain = (gl, gr);
    }
}

struct SynthProcessor {
    sample_rate: f32,
    voices: Vec<Voice>,
    channels: [Channel; 16],
    next_serial: u64,
    cache: ControlCache,
    /// The controls for the whole current chunk when no control parameter moves in it.
    chunk_controls: Option<Controls>,
    kill_fade_frames: u32,
    /// (gain_db, linear gain) last converted.
    output_gain: OutputGain,
}

impl SynthProcessor {
    fn controls_at(&mut self, params: &Params<'_>, i: usize) -> Controls {
        match self.chunk_controls {
            Some(c) => c,
            None => self.cache.at(params, i),
        }
    }

    fn render(&mut self, params: &Params<'_>, out_l: &mut [f32], out_r: &mut [f32], start: usize, end: usize) {
        let Self { voices, channels, cache, chunk_controls, .. } = self;
        for v in voices.iter_mut().filter(|v| v.is_active()) {
            let bend = channels[(v.channel & 15) as usize].bend;
            v.render(out_l, out_r, start, end, cache, *chunk_controls, params, bend);
        }
    }

    /// Index of the voice a new note on `channel`/`key` takes, and whether it is free.
    fn allocate(&self, channel: u8, key: u8) -> (usize, bool) {
        let mut free = None;
        let mut quietest_releasing: Option<(usize, f32, u64)> = None;
        let mut oldest_pedal: Option<(usize, u64)> = None;
        let mut oldest = (0usize, u64::MAX);
        for (i, v) in self.voices.iter().enumerate() {
            if !v.is_active() {
                free = free.or(Some(i));
                continue;
            }
            let stage = v.env.stage();
            if v.channel == channel && v.key == key && stage != Stage::Fade {
                return (i, false);
            }
            if matches!(stage, Stage::Release | Stage::Fade) {
                let loud = v.loudness();
                let better = match quietest_releasing {
                    None => true,
                    Some((_, l, s)) => loud < l || (loud == l && v.serial < s),
                };
                if better {
                    quietest_releasing = Some((i, loud, v.serial));
                }
            } else if v.held_by_pedal && oldest_pedal.is_none_or(|(_, s)| v.serial < s) {
                oldest_pedal = Some((i, v.serial));
            }
            if v.serial < oldest.1 {
                oldest = (i, v.serial);
            }
        }
        if let Some(i) = free {
            return (i, true);
        }
        if let Some((i, _, _)) = quietest_releasing {
            return (i, false);
        }
        if let Some((i, _)) = oldest_pedal {
            return (i, false);
        }
        (oldest.0, false)
    }

    fn note_on(&mut self, params: &Params<'_>, t: usize, channel: u8, key: u8, velocity: u8) {
        let sensitivity = params.get(VELOCITY_SENSITIVITY).at(t).clamp(0.0, 1.0);
        let velocity_gain = (velocity.min(127) as f32 / 127.0).powf(2.0 * sensitivity);
        let (index, free) = self.allocate(channel, key);
        let serial = self.next_serial;
        self.next_serial += 1;
        let v = &mut self.voices[index];
        if free {
            v.osc.reset(0.0);
            v.filter.reset();
            v.env.reset();
            v.fresh = true;
        }
        v.channel = channel;
        v.key = key;
        v.key_down = true;
        v.held_by_pedal = false;
        v.serial = serial;
        // Age 0: the next render starts with a control update at this very frame.
        v.age_frames = 0;
        v.tuning_semitones = 0.0;
        v.pitch_key = f32::NAN;
        v.note_gain = VOICE_LEVEL * velocity_gain;
        v.volume = 1.0;
        v.pan_gains = (1.0, 1.0);
        v.env.note_on();
    }

    /// Releases `v` now, or marks it held when the pedal of its channel is down.
    fn release(v: &mut Voice, pedal_down: bool) {
        v.key_down = false;
        if pedal_down {
            v.held_by_pedal = true;
        } else {
            v.held_by_pedal = false;
            v.env.note_off();
        }
    }

    fn note_off(&mut self, channel: u8, key: u8) {
        let pedal = self.channels[(channel & 15) as usize].pedal_down;
        for v in self.voices.iter_mut().filter(|v| v.key_down && v.plays(channel, key)) {
            Self::release(v, pedal);
        }
    }

    fn set_pedal(&mut self, channel: u8, down: bool) {
        self.channels[(channel & 15) as usize].pedal_down = down;
        if !down {
            for v in self.voices.iter_mut().filter(|v| v.is_active() && v.channel == channel && v.held_by_pedal) {
                Self::release(v, false);
            }
        }
    }

    fn all_notes_off(&mut self, channel: u8) {
        let pedal = self.channels[(channel & 15) as usize].pedal_down;
        for v in self.voices.iter_mut().filter(|v| v.is_active() && v.channel == channel && v.key_down) {
            Self::release(v, pedal);
        }
    }

    fn all_sound_off(&mut self, channel: u8) {
        let frames = self.kill_fade_frames;
        for v in self.voices.iter_mut().filter(|v| v.is_active() && v.channel == channel) {
            v.key_down = false;
            v.held_by_pedal = false;
            v.env.fade_out(frames);
        }
    }

    fn set_bend(&mut self, params: &Params<'_>, t: usize, channel: u8, bend: f32) {
        self.channels[(channel & 15) as usize].bend = bend;
        let c = self.controls_at(params, t);
        let sample_rate = self.sample_rate;
        for v in self.voices.iter_mut().filter(|v| v.is_active() && v.channel == channel) {
            v.update_pitch(&c, bend, sample_rate);
        }
    }

    fn expression(&mut self, params: &Params<'_>, t: usize, channel: u8, key: u8, kind: ExpressionKind, value: f32) {
        let value = if value.is_nan() { 0.0 } else { value };
        let c = self.controls_at(params, t);
        let bend = self.channels[(channel & 15) as usize].bend;
        let sample_rate = self.sample_rate;
        for v in self.voices.iter_mut().filter(|v| v.plays(channel, key)) {
            match kind {
                ExpressionKind::TuningSemitones => {
                    v.tuning_semitones = value.clamp(-120.0, 120.0);
                    v.update_pitch(&c, bend, sample_rate);
                }
                ExpressionKind::Volume => v.volume = value.clamp(0.0, 4.0),
                ExpressionKind::Pan => v.pan_gains = pan_gains(value),
                ExpressionKind::Brightness | ExpressionKind::Pressure => {}
            }
        }
    }

    fn handle(&mut self, event: &Event, params: &Params<'_>, t: usize) {
        match event.data {
            EventData::Midi(message) => match message {
                MidiMessage::NoteOn { channel, key, velocity } => self.note_on(params, t, channel, key, velocity),
                MidiMessage::NoteOff { channel, key, .. } => self.note_off(channel, key),
                MidiMessage::PitchBend { channel, value } => {
                    self.set_bend(params, t, channel, (value as f32 / 8192.0).clamp(-1.0, 1.0))
                }
                MidiMessage::ControlChange { channel, controller, value } => match controller {
                    64 => self.set_pedal(channel, value >= 64),
                    120 => self.all_sound_off(channel),
                    121 => {
                        self.set_bend(params, t, channel, 0.0);
                        self.set_pedal(channel, false);
                    }
                    123..=127 => self.all_notes_off(channel),
                    _ => {}
                },
                MidiMessage::PolyPressure { .. }
                | MidiMessage::ProgramChange { .. }
                | MidiMessage::ChannelPressure { .. } => {}
            },
            EventData::Expression(e) => self.expression(params, t, e.channel, e.key, e.kind, e.value),
        }
    }
}

impl Processor for SynthProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let InstrumentIo { events, params, out_l, out_r } = instrument_io(ctx, EVENTS_IN, OUT);
        let frames = out_l.len();

        let all_constant = (0..CONTROL_PARAMS).all(|p| params.get(ParamId(p as u32)).constant().is_some());
        self.chunk_controls = None;
        if all_constant {
            self.chunk_controls = Some(self.cache.at(&params, 0));
        }

        split_at_events(events, frames, |span| match span {
            Span::Frames(start, end) => self.render(&params, out_l, out_r, start, end),
            Span::Event(event, t) => self.handle(event, &params, t),
        });
        self.output_gain.apply(params.get(GAIN_DB), out_l, out_r);
        ctx.report_voices(self.voices.iter().filter(|v| v.is_active()).count() as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processor(voices: usize) -> SynthProcessor {
        let mut p = SynthProcessor {
            sample_rate: 48_000.0,
            voices: vec![Voice::default(); voices],
            channels: [Channel::default(); 16],
            next_serial: 0,
            cache: ControlCache::new(48_000.0),
            chunk_controls: None,
            kill_fade_frames: 96,
            output_gain: OutputGain::default(),
        };
        let raw = [0.0, 0.005, 0.3, 0.7, 0.25, 4000.0, 0.2, 2.0, 2.0, 0.0];
        p.chunk_controls = Some(p.cache.update(raw));
        p
    }

    /// Starts a note without params (velocity gain computed by hand).
    fn start(p: &mut SynthProcessor, channel: u8, key: u8) -> usize {
        let (i, free) = p.allocate(channel, key);
        let serial = p.next_serial;
        p.next_serial += 1;
        let v = &mut p.voices[i];
        if free {
            v.env.reset();
        }
        v.channel = channel;
        v.key = key;
        v.key_down = true;
        v.held_by_pedal = false;
        v.serial = serial;
        v.note_gain = VOICE_LEVEL;
        v.env.set_shape(AdsrShape::new(0.001, 0.1, 0.5, 0.5, 48_000.0));
        v.env.note_on();
        i
    }

    fn tick_all(p: &mut SynthProcessor, frames: usize) {
        for v in p.voices.iter_mut() {
            for _ in 0..frames {
                v.env.tick();
            }
        }
    }

    #[test]
    fn allocation_prefers_same_key_then_free_then_quietest_release_then_pedal_then_oldest() {
        let mut p = processor(3);
        let a = start(&mut p, 0, 60);
        let b = start(&mut p, 0, 62);
        assert_ne!(a, b);
        // Same key, same channel: the voice is reused; another channel gets a free voice.
        assert_eq!(p.allocate(0, 60), (a, false));
        assert_eq!(p.allocate(1, 60), (2, true));
        let c = start(&mut p, 1, 60);
        tick_all(&mut p, 2000);
        // All busy, none releasing, no pedal: the oldest (a) goes.
        assert_eq!(p.allocate(0, 70), (a, false));
        // Pedal-held notes go before held keys.
        p.set_pedal(0, true);
        p.note_off(0, 62);
        assert!(p.voices[b].held_by_pedal);
        assert_eq!(p.allocate(0, 70), (b, false));
        // A releasing voice goes before those; the quietest of several.
        p.note_off(1, 60);
        assert_eq!(p.voices[c].env.stage(), Stage::Release);
        assert_eq!(p.allocate(0, 70), (c, false));
        p.set_pedal(0, false);
        tick_all(&mut p, 10);
        for v in [b, c] {
            assert_eq!(p.voices[v].env.stage(), Stage::Release);
        }
        p.voices[b].env.fade_out(10);
        tick_all(&mut p, 5);
        assert!(p.voices[b].loudness() < p.voices[c].loudness());
        assert_eq!(p.allocate(0, 70), (b, false));
    }

    #[test]
    fn config_sets_the_voice_count_and_rejects_bad_values() {
        use noderack_presets::ConfigValue;
        let cfg = |pairs: &[(&str, ConfigValue)]| -> NodeConfig {
            pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
        };
        assert_eq!(Synth::from_config(&cfg(&[])).unwrap().voices(), DEFAULT_VOICES);
        assert_eq!(Synth::from_config(&cfg(&[("voices", ConfigValue::Number(3.0))])).unwrap().voices(), 3);
        for bad in [ConfigValue::Number(0.0), ConfigValue::Number(257.0), ConfigValue::Text("8".into())] {
            assert!(Synth::from_config(&cfg(&[("voices", bad)])).is_err());
        }
        assert!(Synth::from_config(&cfg(&[("polyphony", ConfigValue::Number(8.0))])).is_err());
        assert_eq!(Synth::new(0).voices(), 1);
        assert_eq!(Synth::new(10_000).voices(), MAX_VOICES);
    }

    #[test]
    fn all_notes_off_respects_pedal_and_all_sound_off_does_not() {
        let mut p = processor(4);
        let a = start(&mut p, 3, 60);
        let b = start(&mut p, 3, 64);
        let other = start(&mut p, 4, 64);
        p.set_pedal(3, true);
        p.all_notes_off(3);
        assert!(p.voices[a].held_by_pedal && p.voices[b].held_by_pedal);
        assert_eq!(p.voices[a].env.stage(), Stage::Attack);
        p.all_sound_off(3);
        assert_eq!(p.voices[a].env.stage(), Stage::Fade);
        assert_eq!(p.voices[b].env.stage(), Stage::Fade);
        assert_eq!(p.voices[other].env.stage(), Stage::Attack, "other channels are untouched");
    }
}
