//! `synth`: a polyphonic subtractive synthesizer played by note events.
//!
//! # Signal path (per voice)
//!
//! ```text
//! oscillator (saw | square | triangle | sine, band-limited)        ← pitch: key, bend, tuning,
//!   → 12 dB/oct state-variable low-pass                               + mod envelope, LFOs
//!   → × ADSR envelope × modulation volume × note gain → per-note pan → the channel's bus
//! channel buses × CC7 volume × CC11 expression, CC10 pan → mix × gain_db → output
//! ```
//! The amplifier envelope also drives the filter: the cutoff is
//! `cutoff_hz · 2^(filter_env_octaves · amp_env + modulation octaves)`.
//!
//! Each voice peaks at [`VOICE_LEVEL`] (-12 dBFS) at full velocity with its channel at full
//! volume (CC7 127); at the General MIDI default volume of 100 that is -16.2 dBFS, so 10–20
//! voices of a dense arrangement stay near full scale at the default gain.
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
//! | 7 | `filter_env_octaves` | -8–8 | 2 | cutoff shift in octaves at full amplifier envelope level |
//! | 8 | `bend_range_semitones` | 0–48 | 2 | pitch bend at full deflection |
//! | 9 | `tune_cents` | -100–100 | 0 | fine tuning of every note |
//! | 10 | `velocity_sensitivity` | 0–1 | 0.8 | note gain = `(velocity/127)^(2·sensitivity)` |
//! | 11 | `gain_db` | -96–12 | 0 | output level |
//! | 12 | `mod_env_delay_seconds` | 0–10 | 0 | modulation envelope: wait after note-on |
//! | 13 | `mod_env_attack_seconds` | 0–10 | 0.005 | linear rise 0 → 1 |
//! | 14 | `mod_env_hold_seconds` | 0–10 | 0 | time held at 1 |
//! | 15 | `mod_env_decay_seconds` | 0–10 | 0.3 | linear fall 1 → sustain (time for the full range) |
//! | 16 | `mod_env_sustain_level` | 0–1 | 0 | level while the key is down |
//! | 17 | `mod_env_release_seconds` | 0–10 | 0.25 | linear fall to 0 after note-off (time for the full range) |
//! | 18 | `mod_env_to_pitch_cents` | -4800–4800 | 0 | pitch shift at envelope level 1 |
//! | 19 | `mod_env_to_cutoff_octaves` | -8–8 | 0 | cutoff shift at envelope level 1 |
//! | 20 | `mod_env_to_volume_db` | -24–24 | 0 | volume change at envelope level 1 |
//! | 21, 28 | `lfo1_rate_hz`, `lfo2_rate_hz` | 0.01–50 | 5 | LFO rate |
//! | 22, 29 | `lfoN_waveform` | triangle, sine, square, saw_up, saw_down | triangle | LFO shape, −1..1 (triangle and sine start at 0 rising) |
//! | 23, 30 | `lfoN_delay_seconds` | 0–10 | 0 | LFO still after note-on |
//! | 24, 31 | `lfoN_fade_seconds` | 0–10 | 0 | LFO depth rises linearly from 0 after the delay |
//! | 25, 32 | `lfoN_to_pitch_cents` | -1200–1200 | 0 | pitch swing at the LFO's peak (vibrato) |
//! | 26, 33 | `lfoN_to_cutoff_octaves` | -4–4 | 0 | cutoff swing at the LFO's peak (wah) |
//! | 27, 34 | `lfoN_to_volume_db` | -24–24 | 0 | volume swing at the LFO's peak (tremolo) |
//! | 35 | `mod_wheel_vibrato_cents` | 0–1200 | 50 | LFO 1 to pitch added at full mod wheel (× CC1/127) |
//! | 36 | `pressure_vibrato_cents` | 0–1200 | 0 | LFO 1 to pitch added at full pressure (× pressure/127) |
//!
//! At sensitivity 1 the velocity curve is the usual square law (velocity 64 is -12 dB, the
//! range 40 dB); at 0 every note plays at full level. Envelope segment shapes are documented in
//! [`crate::dsp::envelope`].
//!
//! # Modulation
//!
//! Each voice has a modulation envelope (delay, attack, hold, decay, sustain, release; linear
//! segments, 0..1) and two LFOs (−1..1, restarted at each note-on at phase 0, then waiting
//! for their delay and fading in), the state machines the sampler uses
//! (`nodes/src/dsp/modulation.rs`). Each source reaches pitch in cents, cutoff in octaves (the
//! unit of `filter_env_octaves`) and volume in dB by its depth parameters; the contributions
//! add. The mod wheel adds vibrato as SF2's default modulator does: LFO 1 × CC1/127 ×
//! `mod_wheel_vibrato_cents` to pitch (so CC1 does nothing until moved, and nothing when that
//! depth is 0); channel pressure likewise with `pressure_vibrato_cents` (a note's own
//! pressure expression replaces the channel's for that note). Every depth defaults to 0, so a
//! patch without them sounds as before.
//!
//! The signals are evaluated at each control update (every [`CONTROL_INTERVAL_FRAMES`] of a
//! voice's age): pitch and cutoff take the new values at once, the modulation volume ramps
//! linearly to its new value over the interval. Parameters are read at those updates, so a
//! depth, a rate or an envelope time changes on sounding notes (an LFO keeps its phase when
//! its rate changes). A retriggered voice (below) restarts its LFOs and restarts its
//! modulation envelope from the level it was at, as its amplifier envelope does.
//!
//! # Events
//!
//! - Note-on / note-off (note-on with velocity 0 arrives as note-off).
//! - Pitch bend, per channel, ±`bend_range_semitones`.
//! - CC1 mod wheel, channel pressure: vibrato depth (above).
//! - CC7 volume, CC11 expression, CC10 pan, per channel, as the sampler: the channel's voices
//!   are summed on its own bus and mixed at volume × expression with the General MIDI law
//!   `(value/127)²` each, panned by CC10 (64 = centre, both sides at unity; 0 and 127 silence
//!   the other side); changes glide over [`crate::dsp::channel_mix::CHANNEL_GAIN_RAMP_SECONDS`].
//!   Before any CC7 a channel is at General MIDI's default of 100 (−4.2 dB), so a file that
//!   sets 100 first sounds the same as one that sets nothing; send CC7 127 for full level.
//! - CC64 sustain pedal, per channel (≥ 64 is down): note-offs while the pedal is down are
//!   held until it goes up.
//! - CC120 all sound off: the channel's voices fade out over [`KILL_FADE_SECONDS`].
//! - CC123 all notes off (and CC124–127, which imply it): every key of the channel is
//!   released, as if by note-offs (so the sustain pedal still holds them).
//! - CC121 reset all controllers: pitch bend to centre, pedal up, mod wheel and pressure to 0,
//!   expression to 127 (volume and pan stay, as General MIDI asks).
//! - Per-note expression ([`EventData::Expression`]) for notes matched by channel and key:
//!   `TuningSemitones` (offset, applied at once), `Volume` (linear gain 0–4) and `Pan`
//!   (-1–1), both glided over about a millisecond, `Pressure` (0–1, the note's pressure for
//!   `pressure_vibrato_cents`). `Brightness`, other controllers, program changes and
//!   poly aftertouch are ignored.
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
//! per sample. Slower work — reading parameters, envelope rates, modulation, pitch and filter
//! coefficients, gain glides — happens every [`CONTROL_INTERVAL_FRAMES`] samples of each
//! voice's own age (counted from its note-on), never at chunk or span boundaries, and
//! parameter values are read at the frame where they are used. The channel gains glide by
//! whole frames. The output therefore is bit-identical however the host cuts the timeline
//! into blocks.
//!
//! `process` never allocates, locks or panics: voices and channel buses are sized in
//! [`NodeDescription::build`], indices are clamped, parameter reads are bounds-checked without
//! panicking, and the filter flushes denormal states every control block (its input, the raw
//! oscillator, never decays anyway; the envelope reaches exact zero).

mod controls;
mod modulation;
mod params;
mod voice;

use noderack_graph::{
    Event, EventData, ExpressionKind, MidiMessage, NodeDescription, NodePorts, NodeSignature, Params, PortKind,
    PortSpec, ProcessConfig, ProcessContext, Processor,
};

use crate::dsp::channel_mix::{ChannelMix, GM_DEFAULT_VOLUME};
use crate::dsp::{instrument_io, pan_gains, split_at_events, InstrumentIo, OutputGain, Span, Stage};
use controls::ControlCache;
use modulation::ModShapes;
pub use modulation::{LFOS, LFO_WAVEFORM_NAMES};
use noderack_presets::{ConfigError, ConfigReader, NodeConfig};
pub use params::*;
use voice::Voice;

/// Event input port index.
pub const EVENTS_IN: usize = 0;
/// Stereo output port index.
pub const OUT: usize = 0;

/// Voices when the patch does not say.
pub const DEFAULT_VOICES: usize = 16;
/// Most voices one synth may have.
pub const MAX_VOICES: usize = 256;
/// Peak level of one voice at full velocity, full envelope and full channel volume (-12 dBFS).
pub const VOICE_LEVEL: f32 = 0.25;
/// Samples between a voice's control updates (parameters, modulation, pitch, filter
/// coefficients, gain glide), counted from its note-on: 1/3 ms at 48 kHz, fine enough for
/// envelope-driven filter sweeps and vibrato, coarse enough to keep `tan`/`exp2` out of the
/// per-sample loop.
pub const CONTROL_INTERVAL_FRAMES: u32 = 16;
/// Fraction of the remaining distance a voice's gain glides per control block (about a 1 ms
/// time constant at 48 kHz): smooths per-note volume changes and voice steals.
pub const GAIN_GLIDE_PER_BLOCK: f32 = 0.3;
/// Fade-out time of "all sound off" (CC120), in seconds: immediate to the ear, no click.
pub const KILL_FADE_SECONDS: f32 = 0.002;
/// CC7 (channel volume) before any is received: General MIDI's 100, as the sampler.
pub const DEFAULT_VOLUME: u8 = GM_DEFAULT_VOLUME;

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
                params: params::specs(),
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
        Box::new(SynthProcessor::new(self.voices, config.sample_rate.max(1.0), config.max_block_frames))
    }
}

/// Per-channel controller state.
#[derive(Copy, Clone, Debug)]
struct Channel {
    /// Pitch bend, -1..1 of the bend range.
    bend: f32,
    /// Sustain pedal (CC64) down.
    pedal_down: bool,
    /// Mod wheel (CC1).
    wheel: u8,
    /// Channel pressure.
    pressure: u8,
}

impl Default for Channel {
    fn default() -> Self {
        Self { bend: 0.0, pedal_down: false, wheel: 0, pressure: 0 }
    }
}

struct SynthProcessor {
    voices: Vec<Voice>,
    channels: [Channel; 16],
    next_serial: u64,
    cache: ControlCache,
    kill_fade_frames: u32,
    /// (gain_db, linear gain) last converted.
    output_gain: OutputGain,
    /// The channel buses and their CC7/CC10/CC11 gains.
    mix: ChannelMix,
}

impl SynthProcessor {
    fn new(voices: usize, sample_rate: f32, max_block_frames: usize) -> Self {
        Self {
            voices: vec![Voice::default(); voices],
            channels: [Channel::default(); 16],
            next_serial: 0,
            cache: ControlCache::new(sample_rate),
            kill_fade_frames: (KILL_FADE_SECONDS * sample_rate).round().max(1.0) as u32,
            output_gain: OutputGain::default(),
            mix: ChannelMix::new(max_block_frames, sample_rate),
        }
    }

    fn render(&mut self, params: &Params<'_>, out_l: &mut [f32], out_r: &mut [f32], start: usize, end: usize) {
        let frames = end - start;
        let Self { voices, channels, cache, mix, .. } = self;
        for v in voices.iter_mut().filter(|v| v.is_active()) {
            let ch = (v.channel & 15) as usize;
            if let Some((bus_l, bus_r)) = mix.bus(ch, frames) {
                v.render(bus_l, bus_r, start, cache, params, &channels[ch]);
            }
        }
        mix.mix_into(&mut out_l[start..end], &mut out_r[start..end]);
    }

    /// The modulation shapes at frame `t` (what releases need).
    fn shapes_at(&mut self, params: &Params<'_>, t: usize) -> ModShapes {
        self.cache.at(params, t).modulation
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
        let shapes = self.shapes_at(params, t);
        self.voices[index].start(channel, key, serial, VOICE_LEVEL * velocity_gain, free, &shapes);
    }

    fn note_off(&mut self, channel: u8, key: u8, shapes: &ModShapes) {
        let pedal = self.channels[(channel & 15) as usize].pedal_down;
        for v in self.voices.iter_mut().filter(|v| v.key_down && v.plays(channel, key)) {
            v.release(pedal, shapes);
        }
    }

    fn set_pedal(&mut self, channel: u8, down: bool, shapes: &ModShapes) {
        self.channels[(channel & 15) as usize].pedal_down = down;
        if !down {
            for v in self.voices.iter_mut().filter(|v| v.is_active() && v.channel == channel && v.held_by_pedal) {
                v.release(false, shapes);
            }
        }
    }

    fn all_notes_off(&mut self, channel: u8, shapes: &ModShapes) {
        let pedal = self.channels[(channel & 15) as usize].pedal_down;
        for v in self.voices.iter_mut().filter(|v| v.is_active() && v.channel == channel && v.key_down) {
            v.release(pedal, shapes);
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
        let Self { voices, cache, .. } = self;
        let sample_rate = cache.sample_rate();
        let c = cache.at(params, t);
        for v in voices.iter_mut().filter(|v| v.is_active() && v.channel == channel) {
            v.update_pitch(c, bend, sample_rate);
        }
    }

    fn expression(&mut self, params: &Params<'_>, t: usize, channel: u8, key: u8, kind: ExpressionKind, value: f32) {
        let value = if value.is_nan() { 0.0 } else { value };
        let bend = self.channels[(channel & 15) as usize].bend;
        let Self { voices, cache, .. } = self;
        let sample_rate = cache.sample_rate();
        let c = cache.at(params, t);
        for v in voices.iter_mut().filter(|v| v.plays(channel, key)) {
            match kind {
                ExpressionKind::TuningSemitones => {
                    v.set_tuning(value.clamp(-120.0, 120.0));
                    v.update_pitch(c, bend, sample_rate);
                }
                ExpressionKind::Volume => v.set_volume(value.clamp(0.0, 4.0)),
                ExpressionKind::Pan => v.set_pan_gains(pan_gains(value)),
                ExpressionKind::Pressure => v.set_pressure(value.clamp(0.0, 1.0)),
                ExpressionKind::Brightness => {}
            }
        }
    }

    fn control_change(&mut self, params: &Params<'_>, t: usize, channel: u8, controller: u8, value: u8) {
        let ch = (channel & 15) as usize;
        let value = value.min(127);
        match controller {
            1 => self.channels[ch].wheel = value,
            7 | 10 | 11 => {
                self.mix.set_controller(ch, controller, value);
            }
            64 => {
                let shapes = self.shapes_at(params, t);
                self.set_pedal(channel, value >= 64, &shapes);
            }
            120 => self.all_sound_off(channel),
            121 => {
                // Reset all controllers (General MIDI): volume and pan stay.
                self.set_bend(params, t, channel, 0.0);
                let shapes = self.shapes_at(params, t);
                self.set_pedal(channel, false, &shapes);
                self.channels[ch].wheel = 0;
                self.channels[ch].pressure = 0;
                self.mix.set_controller(ch, 11, 127);
            }
            123..=127 => {
                let shapes = self.shapes_at(params, t);
                self.all_notes_off(channel, &shapes);
            }
            _ => {}
        }
    }

    fn handle(&mut self, event: &Event, params: &Params<'_>, t: usize) {
        match event.data {
            EventData::Midi(message) => match message {
                MidiMessage::NoteOn { channel, key, velocity } => self.note_on(params, t, channel, key, velocity),
                MidiMessage::NoteOff { channel, key, .. } => {
                    let shapes = self.shapes_at(params, t);
                    self.note_off(channel, key, &shapes);
                }
                MidiMessage::PitchBend { channel, value } => {
                    self.set_bend(params, t, channel, (value as f32 / 8192.0).clamp(-1.0, 1.0))
                }
                MidiMessage::ControlChange { channel, controller, value } => {
                    self.control_change(params, t, channel, controller, value)
                }
                MidiMessage::ChannelPressure { channel, pressure } => {
                    self.channels[(channel & 15) as usize].pressure = pressure.min(127)
                }
                MidiMessage::PolyPressure { .. } | MidiMessage::ProgramChange { .. } => {}
            },
            EventData::Expression(e) => self.expression(params, t, e.channel, e.key, e.kind, e.value),
        }
    }
}

impl Processor for SynthProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let InstrumentIo { events, params, out_l, out_r } = instrument_io(ctx, EVENTS_IN, OUT);
        let frames = out_l.len();
        self.cache.begin_chunk(&params);
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
    use crate::dsp::AdsrShape;

    fn processor(voices: usize) -> SynthProcessor {
        let mut p = SynthProcessor::new(voices, 48_000.0, 64);
        p.cache.update(params::default_values());
        p
    }

    fn shapes() -> ModShapes {
        ControlCache::new(48_000.0).update(params::default_values()).modulation
    }

    /// Starts a note without params (velocity gain computed by hand).
    fn start(p: &mut SynthProcessor, channel: u8, key: u8) -> usize {
        let (i, free) = p.allocate(channel, key);
        let serial = p.next_serial;
        p.next_serial += 1;
        let s = shapes();
        let v = &mut p.voices[i];
        v.env.set_shape(AdsrShape::new(0.001, 0.1, 0.5, 0.5, 48_000.0));
        v.start(channel, key, serial, VOICE_LEVEL, free, &s);
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
        let s = shapes();
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
        p.set_pedal(0, true, &s);
        p.note_off(0, 62, &s);
        assert!(p.voices[b].held_by_pedal);
        assert_eq!(p.allocate(0, 70), (b, false));
        // A releasing voice goes before those; the quietest of several.
        p.note_off(1, 60, &s);
        assert_eq!(p.voices[c].env.stage(), Stage::Release);
        assert_eq!(p.allocate(0, 70), (c, false));
        p.set_pedal(0, false, &s);
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
        let s = shapes();
        let a = start(&mut p, 3, 60);
        let b = start(&mut p, 3, 64);
        let other = start(&mut p, 4, 64);
        p.set_pedal(3, true, &s);
        p.all_notes_off(3, &s);
        assert!(p.voices[a].held_by_pedal && p.voices[b].held_by_pedal);
        assert_eq!(p.voices[a].env.stage(), Stage::Attack);
        p.all_sound_off(3);
        assert_eq!(p.voices[a].env.stage(), Stage::Fade);
        assert_eq!(p.voices[b].env.stage(), Stage::Fade);
        assert_eq!(p.voices[other].env.stage(), Stage::Attack, "other channels are untouched");
    }
}
