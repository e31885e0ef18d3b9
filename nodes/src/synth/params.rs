//! The synth's parameters: ids, ranges and defaults (the table is in the module documentation
//! of [`crate::synth`]).

use noderack_graph::{ParamId, ParamSpec, Unit};

use super::modulation::LFO_WAVEFORM_NAMES;
use crate::dsp::Waveform;

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

/// Modulation envelope: time from note-on before its attack starts, seconds.
pub const MOD_ENV_DELAY_SECONDS: ParamId = ParamId(12);
/// Modulation envelope: linear rise from 0 to 1, seconds.
pub const MOD_ENV_ATTACK_SECONDS: ParamId = ParamId(13);
/// Modulation envelope: time held at 1 after the attack, seconds.
pub const MOD_ENV_HOLD_SECONDS: ParamId = ParamId(14);
/// Modulation envelope: linear fall from 1 to the sustain level, seconds (for the full range).
pub const MOD_ENV_DECAY_SECONDS: ParamId = ParamId(15);
/// Modulation envelope: level held while the key is down, 0..=1.
pub const MOD_ENV_SUSTAIN_LEVEL: ParamId = ParamId(16);
/// Modulation envelope: linear fall to 0 after note-off, seconds (for the full range).
pub const MOD_ENV_RELEASE_SECONDS: ParamId = ParamId(17);
/// Pitch shift in cents at modulation envelope level 1.
pub const MOD_ENV_TO_PITCH_CENTS: ParamId = ParamId(18);
/// Cutoff shift in octaves at modulation envelope level 1 (on top of `filter_env_octaves`).
pub const MOD_ENV_TO_CUTOFF_OCTAVES: ParamId = ParamId(19);
/// Volume change in dB at modulation envelope level 1.
pub const MOD_ENV_TO_VOLUME_DB: ParamId = ParamId(20);

/// The parameter ids of one LFO.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LfoParams {
    /// Cycles per second.
    pub rate_hz: ParamId,
    /// Cycle shape, a choice among triangle, sine, square, saw_up, saw_down.
    pub waveform: ParamId,
    /// Time from note-on before it moves, seconds.
    pub delay_seconds: ParamId,
    /// Time over which its depth rises linearly from 0 to full after the delay, seconds.
    pub fade_seconds: ParamId,
    /// Pitch swing in cents at the LFO's peak (±).
    pub to_pitch_cents: ParamId,
    /// Cutoff swing in octaves at the LFO's peak (±).
    pub to_cutoff_octaves: ParamId,
    /// Volume swing in dB at the LFO's peak (±).
    pub to_volume_db: ParamId,
}

impl LfoParams {
    const fn from(first: u32) -> Self {
        Self {
            rate_hz: ParamId(first),
            waveform: ParamId(first + 1),
            delay_seconds: ParamId(first + 2),
            fade_seconds: ParamId(first + 3),
            to_pitch_cents: ParamId(first + 4),
            to_cutoff_octaves: ParamId(first + 5),
            to_volume_db: ParamId(first + 6),
        }
    }
}

/// LFO 1's parameters (ids 21–27, `lfo1_*`); the mod wheel and pressure vibratos use LFO 1.
pub const LFO1: LfoParams = LfoParams::from(21);
/// LFO 2's parameters (ids 28–34, `lfo2_*`).
pub const LFO2: LfoParams = LfoParams::from(28);
/// Both LFOs' parameters, in order.
pub const LFO_PARAMS: [LfoParams; 2] = [LFO1, LFO2];

/// LFO 1 rate in Hz.
pub const LFO1_RATE_HZ: ParamId = LFO1.rate_hz;
/// LFO 1 waveform.
pub const LFO1_WAVEFORM: ParamId = LFO1.waveform;
/// LFO 1 delay in seconds.
pub const LFO1_DELAY_SECONDS: ParamId = LFO1.delay_seconds;
/// LFO 1 fade-in in seconds.
pub const LFO1_FADE_SECONDS: ParamId = LFO1.fade_seconds;
/// LFO 1 to pitch, cents.
pub const LFO1_TO_PITCH_CENTS: ParamId = LFO1.to_pitch_cents;
/// LFO 1 to cutoff, octaves.
pub const LFO1_TO_CUTOFF_OCTAVES: ParamId = LFO1.to_cutoff_octaves;
/// LFO 1 to volume, dB.
pub const LFO1_TO_VOLUME_DB: ParamId = LFO1.to_volume_db;
/// LFO 2 rate in Hz.
pub const LFO2_RATE_HZ: ParamId = LFO2.rate_hz;
/// LFO 2 waveform.
pub const LFO2_WAVEFORM: ParamId = LFO2.waveform;
/// LFO 2 delay in seconds.
pub const LFO2_DELAY_SECONDS: ParamId = LFO2.delay_seconds;
/// LFO 2 fade-in in seconds.
pub const LFO2_FADE_SECONDS: ParamId = LFO2.fade_seconds;
/// LFO 2 to pitch, cents.
pub const LFO2_TO_PITCH_CENTS: ParamId = LFO2.to_pitch_cents;
/// LFO 2 to cutoff, octaves.
pub const LFO2_TO_CUTOFF_OCTAVES: ParamId = LFO2.to_cutoff_octaves;
/// LFO 2 to volume, dB.
pub const LFO2_TO_VOLUME_DB: ParamId = LFO2.to_volume_db;

/// Vibrato (LFO 1 to pitch) in cents added at full mod wheel (CC1 127), scaled by CC1/127.
pub const MOD_WHEEL_VIBRATO_CENTS: ParamId = ParamId(35);
/// Vibrato (LFO 1 to pitch) in cents added at full pressure, scaled by the channel's pressure
/// (or the note's pressure expression).
pub const PRESSURE_VIBRATO_CENTS: ParamId = ParamId(36);

/// Number of parameters.
pub const PARAM_COUNT: usize = 37;

/// Whether voices read parameter `p` at their control updates: all but the velocity
/// sensitivity (read at note-on) and the gain (applied to the mix).
pub(super) const fn is_control_param(p: usize) -> bool {
    p != VELOCITY_SENSITIVITY.0 as usize && p != GAIN_DB.0 as usize
}

/// The parameter specifications, index = id.
pub(super) fn specs() -> Vec<ParamSpec> {
    let mut specs = vec![
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
        ParamSpec::continuous("mod_env_delay_seconds", 0.0, 10.0, 0.0, Unit::Seconds),
        ParamSpec::continuous("mod_env_attack_seconds", 0.0, 10.0, 0.005, Unit::Seconds),
        ParamSpec::continuous("mod_env_hold_seconds", 0.0, 10.0, 0.0, Unit::Seconds),
        ParamSpec::continuous("mod_env_decay_seconds", 0.0, 10.0, 0.3, Unit::Seconds),
        ParamSpec::continuous("mod_env_sustain_level", 0.0, 1.0, 0.0, Unit::None),
        ParamSpec::continuous("mod_env_release_seconds", 0.0, 10.0, 0.25, Unit::Seconds),
        ParamSpec::continuous("mod_env_to_pitch_cents", -4800.0, 4800.0, 0.0, Unit::None),
        ParamSpec::continuous("mod_env_to_cutoff_octaves", -8.0, 8.0, 0.0, Unit::None),
        ParamSpec::continuous("mod_env_to_volume_db", -24.0, 24.0, 0.0, Unit::Decibels),
    ];
    const LFO_NAMES: [[&str; 7]; 2] = [
        [
            "lfo1_rate_hz",
            "lfo1_waveform",
            "lfo1_delay_seconds",
            "lfo1_fade_seconds",
            "lfo1_to_pitch_cents",
            "lfo1_to_cutoff_octaves",
            "lfo1_to_volume_db",
        ],
        [
            "lfo2_rate_hz",
            "lfo2_waveform",
            "lfo2_delay_seconds",
            "lfo2_fade_seconds",
            "lfo2_to_pitch_cents",
            "lfo2_to_cutoff_octaves",
            "lfo2_to_volume_db",
        ],
    ];
    for [rate, waveform, delay, fade, pitch, cutoff, volume] in LFO_NAMES {
        specs.extend([
            ParamSpec::continuous(rate, 0.01, 50.0, 5.0, Unit::Hertz),
            ParamSpec::choice(waveform, LFO_WAVEFORM_NAMES, 0),
            ParamSpec::continuous(delay, 0.0, 10.0, 0.0, Unit::Seconds),
            ParamSpec::continuous(fade, 0.0, 10.0, 0.0, Unit::Seconds),
            ParamSpec::continuous(pitch, -1200.0, 1200.0, 0.0, Unit::None),
            ParamSpec::continuous(cutoff, -4.0, 4.0, 0.0, Unit::None),
            ParamSpec::continuous(volume, -24.0, 24.0, 0.0, Unit::Decibels),
        ]);
    }
    specs.extend([
        ParamSpec::continuous("mod_wheel_vibrato_cents", 0.0, 1200.0, 50.0, Unit::None),
        ParamSpec::continuous("pressure_vibrato_cents", 0.0, 1200.0, 0.0, Unit::None),
    ]);
    debug_assert_eq!(specs.len(), PARAM_COUNT);
    specs
}

/// Every parameter at its default, indexed by id.
#[cfg(test)]
pub(super) fn default_values() -> [f32; PARAM_COUNT] {
    let mut values = [0.0; PARAM_COUNT];
    for (v, spec) in values.iter_mut().zip(specs()) {
        *v = spec.default;
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_specs_names() {
        let specs = specs();
        assert_eq!(specs.len(), PARAM_COUNT);
        let name = |id: ParamId| specs[id.0 as usize].name.as_ref();
        assert_eq!(name(GAIN_DB), "gain_db");
        assert_eq!(name(MOD_ENV_TO_VOLUME_DB), "mod_env_to_volume_db");
        for (n, lfo) in LFO_PARAMS.iter().enumerate() {
            let prefix = format!("lfo{}_", n + 1);
            for (id, suffix) in [
                (lfo.rate_hz, "rate_hz"),
                (lfo.waveform, "waveform"),
                (lfo.delay_seconds, "delay_seconds"),
                (lfo.fade_seconds, "fade_seconds"),
                (lfo.to_pitch_cents, "to_pitch_cents"),
                (lfo.to_cutoff_octaves, "to_cutoff_octaves"),
                (lfo.to_volume_db, "to_volume_db"),
            ] {
                assert_eq!(name(id), format!("{prefix}{suffix}"));
            }
        }
        assert_eq!(name(MOD_WHEEL_VIBRATO_CENTS), "mod_wheel_vibrato_cents");
        assert_eq!(name(PRESSURE_VIBRATO_CENTS), "pressure_vibrato_cents");
    }
}
