//! The synth's modulation: per voice one DAHDSR modulation envelope and two LFOs, routed by
//! the node's depth parameters to pitch (cents), filter cutoff (octaves) and volume (dB), plus
//! the mod wheel's and channel pressure's vibrato (LFO 1 to pitch, as SF2's default
//! modulator).
//!
//! The envelope and LFO state machines are the sampler's ([`crate::dsp::modulation`]): linear
//! segments, an LFO with delay, fade-in and phase. What is the synth's own is the fixed
//! routing, read from parameters, so a depth or a rate changes on a sounding note without
//! rebuilding anything.
//!
//! A voice evaluates its signals at its control updates. While nothing is routed (every depth
//! 0, no controller vibrato) it only counts the frames that pass and catches up when a route
//! appears or the note is released, so an unmodulated voice costs nothing here.

use noderack_graph::ParamId;
use noderack_presets::instrument::{Envelope, Lfo, LfoWaveform};

use super::params::*;
use crate::dsp::modulation::{EnvelopeShape, EnvelopeState, LfoShape, LfoState};

/// LFOs per voice.
pub const LFOS: usize = 2;

/// Names of the LFO waveforms, in parameter order (`lfo1_waveform`, `lfo2_waveform`).
pub const LFO_WAVEFORM_NAMES: &[&str] = &["triangle", "sine", "square", "saw_up", "saw_down"];

/// The LFO waveform of a parameter value (an index into [`LFO_WAVEFORM_NAMES`]).
fn lfo_waveform(value: f32) -> LfoWaveform {
    match value.round() as i32 {
        1 => LfoWaveform::Sine,
        2 => LfoWaveform::Pulse { duty_thousandths: 500 },
        3 => LfoWaveform::SawUp,
        4 => LfoWaveform::SawDown,
        _ => LfoWaveform::Triangle,
    }
}

/// How much one source moves each target, per unit of the source (envelope 0..1, LFO −1..1).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
struct Depths {
    pitch_cents: f32,
    cutoff_octaves: f32,
    volume_db: f32,
}

impl Depths {
    fn read(raw: &[f32; PARAM_COUNT], pitch: ParamId, cutoff: ParamId, volume: ParamId) -> Self {
        Self { pitch_cents: raw[idx(pitch)], cutoff_octaves: raw[idx(cutoff)], volume_db: raw[idx(volume)] }
    }

    fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

fn idx(id: ParamId) -> usize {
    id.0 as usize
}

/// The modulation parameters prepared for the voices: rates at the engine's rate and depths.
/// Rebuilt (without allocating, cheaply) whenever one of its parameters changes.
#[derive(Copy, Clone, Debug, Default)]
pub(super) struct ModShapes {
    envelope: EnvelopeShape,
    lfos: [LfoShape; LFOS],
    envelope_depths: Depths,
    lfo_depths: [Depths; LFOS],
    wheel_vibrato_cents: f32,
    pressure_vibrato_cents: f32,
    /// Some depth is non-zero (the controller vibratos aside, which depend on the channel).
    routed: bool,
}

impl ModShapes {
    /// From the node's parameter values (indexed by parameter id).
    pub(super) fn new(raw: &[f32; PARAM_COUNT], sample_rate: f32) -> Self {
        let envelope = Envelope {
            delay_seconds: raw[idx(MOD_ENV_DELAY_SECONDS)],
            attack_seconds: raw[idx(MOD_ENV_ATTACK_SECONDS)],
            hold_seconds: raw[idx(MOD_ENV_HOLD_SECONDS)],
            decay_seconds: raw[idx(MOD_ENV_DECAY_SECONDS)],
            sustain_level: raw[idx(MOD_ENV_SUSTAIN_LEVEL)],
            release_seconds: raw[idx(MOD_ENV_RELEASE_SECONDS)],
        };
        let envelope_depths =
            Depths::read(raw, MOD_ENV_TO_PITCH_CENTS, MOD_ENV_TO_CUTOFF_OCTAVES, MOD_ENV_TO_VOLUME_DB);
        let mut lfos = [LfoShape::default(); LFOS];
        let mut lfo_depths = [Depths::default(); LFOS];
        for (n, ids) in LFO_PARAMS.iter().enumerate() {
            let lfo = Lfo {
                frequency_hz: raw[idx(ids.rate_hz)],
                delay_seconds: raw[idx(ids.delay_seconds)],
                fade_seconds: raw[idx(ids.fade_seconds)],
                phase_cycles: 0.0,
                waveform: lfo_waveform(raw[idx(ids.waveform)]),
            };
            lfos[n] = LfoShape::new(&lfo, sample_rate);
            lfo_depths[n] = Depths::read(raw, ids.to_pitch_cents, ids.to_cutoff_octaves, ids.to_volume_db);
        }
        let routed = !envelope_depths.is_zero() || lfo_depths.iter().any(|d| !d.is_zero());
        Self {
            envelope: EnvelopeShape::new(&envelope, sample_rate),
            lfos,
            envelope_depths,
            lfo_depths,
            wheel_vibrato_cents: raw[idx(MOD_WHEEL_VIBRATO_CENTS)],
            pressure_vibrato_cents: raw[idx(PRESSURE_VIBRATO_CENTS)],
            routed,
        }
    }
}

/// What a voice's modulation adds at one control update.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub(super) struct ModOffsets {
    pub(super) pitch_cents: f32,
    pub(super) cutoff_octaves: f32,
    pub(super) volume_db: f32,
}

/// One voice's modulation envelope and LFOs.
#[derive(Copy, Clone, Debug, Default)]
pub(super) struct VoiceModulation {
    envelope: EnvelopeState,
    lfos: [LfoState; LFOS],
    /// Frames played since the signals were last advanced.
    pending_frames: u32,
}

impl VoiceModulation {
    /// A new note: the LFOs restart (delay, fade-in, phase 0); the envelope starts from 0 on a
    /// free voice and from where it is on a reused one (`retrigger`), so it does not jump.
    pub(super) fn start(&mut self, shapes: &ModShapes, retrigger: bool) {
        if retrigger {
            self.catch_up(shapes);
            self.envelope.restart(&shapes.envelope);
        } else {
            self.envelope = EnvelopeState::start(&shapes.envelope);
        }
        for (state, shape) in self.lfos.iter_mut().zip(&shapes.lfos) {
            *state = LfoState::start(shape);
        }
        self.pending_frames = 0;
    }

    /// Counts `frames` played (called as the voice renders).
    #[inline]
    pub(super) fn count(&mut self, frames: u32) {
        self.pending_frames = self.pending_frames.saturating_add(frames);
    }

    /// Note-off: the envelope releases from where the note is now.
    pub(super) fn release(&mut self, shapes: &ModShapes) {
        self.catch_up(shapes);
        self.envelope.release();
    }

    fn catch_up(&mut self, shapes: &ModShapes) -> (f32, [f32; LFOS]) {
        let frames = std::mem::take(&mut self.pending_frames);
        let envelope = self.envelope.advance(&shapes.envelope, frames);
        let mut lfos = [0.0; LFOS];
        for ((value, state), shape) in lfos.iter_mut().zip(&mut self.lfos).zip(&shapes.lfos) {
            *value = state.advance(shape, frames);
        }
        (envelope, lfos)
    }

    /// The offsets at a control update: `wheel` is the channel's mod wheel (CC1), `pressure`
    /// gives the note's pressure 0..1 (read only when a pressure vibrato is set).
    #[inline]
    pub(super) fn offsets(&mut self, shapes: &ModShapes, wheel: u8, pressure: impl FnOnce() -> f32) -> ModOffsets {
        let wheel_on = wheel != 0 && shapes.wheel_vibrato_cents != 0.0;
        let pressure_on = shapes.pressure_vibrato_cents != 0.0;
        if !shapes.routed && !wheel_on && !pressure_on {
            return ModOffsets::default(); // the common case, kept cheap: nothing to evaluate
        }
        self.evaluate(shapes, wheel as f32 / 127.0, if pressure_on { pressure() } else { 0.0 })
    }

    #[inline(never)]
    fn evaluate(&mut self, shapes: &ModShapes, wheel: f32, pressure: f32) -> ModOffsets {
        let vibrato_cents = shapes.lfo_depths[0].pitch_cents
            + shapes.wheel_vibrato_cents * wheel
            + shapes.pressure_vibrato_cents * pressure;
        if !shapes.routed && vibrato_cents == 0.0 {
            return ModOffsets::default();
        }
        let (e, [l1, l2]) = self.catch_up(shapes);
        let (d, [d1, d2]) = (&shapes.envelope_depths, &shapes.lfo_depths);
        ModOffsets {
            pitch_cents: e * d.pitch_cents + l1 * vibrato_cents + l2 * d2.pitch_cents,
            cutoff_octaves: e * d.cutoff_octaves + l1 * d1.cutoff_octaves + l2 * d2.cutoff_octaves,
            volume_db: e * d.volume_db + l1 * d1.volume_db + l2 * d2.volume_db,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(set: &[(ParamId, f32)]) -> ModShapes {
        let mut raw = default_values();
        for &(id, v) in set {
            raw[idx(id)] = v;
        }
        ModShapes::new(&raw, 1000.0)
    }

    #[test]
    fn nothing_routed_gives_zero_offsets_and_the_signals_catch_up_later() {
        let quiet = shapes(&[(MOD_WHEEL_VIBRATO_CENTS, 0.0), (LFO1_RATE_HZ, 1.0)]);
        let mut a = VoiceModulation::default();
        a.start(&quiet, false);
        a.count(250);
        assert_eq!(a.offsets(&quiet, 127, || 1.0), ModOffsets::default());
        // A route appears a quarter cycle in: the LFO is at its peak, as if it had run all along.
        let routed = shapes(&[(MOD_WHEEL_VIBRATO_CENTS, 0.0), (LFO1_RATE_HZ, 1.0), (LFO1_TO_PITCH_CENTS, 30.0)]);
        let o = a.offsets(&routed, 0, || 0.0);
        assert!((o.pitch_cents - 30.0).abs() < 1e-3, "{o:?}");
    }

    #[test]
    fn the_mod_wheel_scales_lfo1_vibrato() {
        let s = shapes(&[(LFO1_RATE_HZ, 1.0), (MOD_WHEEL_VIBRATO_CENTS, 50.0)]);
        let mut v = VoiceModulation::default();
        v.start(&s, false);
        v.count(250);
        assert_eq!(v.offsets(&s, 0, || 0.0), ModOffsets::default(), "wheel down: no vibrato");
        let o = v.offsets(&s, 64, || 0.0);
        assert!((o.pitch_cents - 50.0 * 64.0 / 127.0).abs() < 1e-3, "{o:?}");
    }

    #[test]
    fn the_envelope_releases_from_where_it_is_and_a_retrigger_does_not_jump() {
        let s = shapes(&[
            (MOD_ENV_ATTACK_SECONDS, 0.1),
            (MOD_ENV_DECAY_SECONDS, 0.1),
            (MOD_ENV_SUSTAIN_LEVEL, 0.5),
            (MOD_ENV_RELEASE_SECONDS, 1.0),
            (MOD_ENV_TO_CUTOFF_OCTAVES, 2.0),
        ]);
        let mut v = VoiceModulation::default();
        v.start(&s, false);
        v.count(50);
        assert!((v.offsets(&s, 0, || 0.0).cutoff_octaves - 1.0).abs() < 1e-5, "half the attack");
        v.count(50);
        v.release(&s);
        v.count(100);
        assert!((v.offsets(&s, 0, || 0.0).cutoff_octaves - 1.8).abs() < 1e-5, "release from the top");
        v.start(&s, true);
        assert!((v.offsets(&s, 0, || 0.0).cutoff_octaves - 1.8).abs() < 1e-5, "retrigger from there");
    }
}
