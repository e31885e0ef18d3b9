//! SF2 volume envelope and filter generators as the model's [`Envelope`] and
//! [`RegionFilter`].
//!
//! SF2 envelopes move linearly in dB after the attack: `decayVolEnv` and `releaseVolEnv`
//! are the times of a full 100 dB change. The sampler's envelope (see
//! `nodes/src/dsp/envelope.rs`) falls exponentially, covering 60 dB in its segment time,
//! and reaches its end level exactly then. The mapping keeps the slope and the arrival:
//! a decay lasts the time SF2 takes to reach the sustain level (at most 60 dB down), a
//! release lasts the time SF2 takes to fall 60 dB.

use super::generators::{self as gen, Combined};
use crate::instrument::{Envelope, RegionFilter};

/// Seconds of a timecent value (`2^(tc/1200)`; -32768 means 0).
pub fn timecents_to_seconds(timecents: i32) -> f32 {
    if timecents <= -32_768 {
        0.0
    } else {
        (timecents as f32 / 1200.0).exp2()
    }
}

/// Hz of an absolute-cents value (`8.176 · 2^(cents/1200)`).
pub fn absolute_cents_to_hz(cents: i32) -> f32 {
    8.175_799 * (cents as f32 / 1200.0).exp2()
}

/// dB of the SF2 envelope's full scale change (decay and release times are for this much).
const FULL_CHANGE_DB: f32 = 100.0;
/// dB the sampler's exponential segments fall in their segment time.
const SEGMENT_DB: f32 = 60.0;

/// The volume envelope of a combined zone for a note on `key` (the key-scaled hold and decay
/// generators count from key 60).
pub fn volume_envelope(c: &Combined<'_>, key: u8) -> Envelope {
    // Ranges as SF2 2.04 section 8.1.3 allows, with the shortest release raised to ~8 ms
    // (-7200 timecents) so a note-off never clicks, as FluidSynth does.
    let time = |op: u16, low: i32, high: i32| timecents_to_seconds(c.value(op).clamp(low, high));
    let key_offset = 60 - key as i32;
    let hold_tc = c.value(gen::HOLD_VOL_ENV) + key_offset * c.value(gen::KEY_TO_VOL_ENV_HOLD);
    let decay_tc = c.value(gen::DECAY_VOL_ENV) + key_offset * c.value(gen::KEY_TO_VOL_ENV_DECAY);
    let sustain_db = c.value(gen::SUSTAIN_VOL_ENV).clamp(0, 1440) as f32 / 10.0;
    let decay_full = timecents_to_seconds(decay_tc.clamp(-12_000, 8_000));
    Envelope {
        delay_seconds: time(gen::DELAY_VOL_ENV, -12_000, 5_000),
        attack_seconds: time(gen::ATTACK_VOL_ENV, -12_000, 8_000),
        hold_seconds: timecents_to_seconds(hold_tc.clamp(-12_000, 5_000)),
        decay_seconds: decay_full * sustain_db.min(SEGMENT_DB) / FULL_CHANGE_DB,
        sustain_level: if sustain_db >= FULL_CHANGE_DB { 0.0 } else { 10f32.powf(-sustain_db / 20.0) },
        release_seconds: time(gen::RELEASE_VOL_ENV, -7_200, 8_000) * SEGMENT_DB / FULL_CHANGE_DB,
    }
}

/// Cutoff (absolute cents) at and above which the filter is left out: the SF2 default,
/// 13500 cents ≈ 19.9 kHz, means "no filter".
pub const FILTER_OFF_CENTS: i32 = 13_500;

/// The low-pass filter of a combined zone: at its `initialFilterFc` when that is below
/// [`FILTER_OFF_CENTS`], or at [`FILTER_OFF_CENTS`] when `modulated` (a route moves the
/// cutoff, so the filter must be there to move; the sampler leaves out a voice's filter
/// while its cutoff stays at or above 19.9 kHz).
///
/// `initialFilterQ` (cB above the DC gain) becomes a resonance of `Q/10 − 3.01` dB, so
/// Q = 0 gives a Butterworth response (no peak), as in FluidSynth.
pub fn filter(c: &Combined<'_>, modulated: bool) -> Option<RegionFilter> {
    let cents = c.value(gen::FILTER_FC).clamp(1_500, FILTER_OFF_CENTS);
    if cents >= FILTER_OFF_CENTS && !modulated {
        return None;
    }
    let q_cb = c.value(gen::FILTER_Q).clamp(0, 960) as f32;
    Some(RegionFilter::low_pass(absolute_cents_to_hz(cents), q_cb / 10.0 - 3.01))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_conversions() {
        assert_eq!(timecents_to_seconds(0), 1.0);
        assert!((timecents_to_seconds(-1200) - 0.5).abs() < 1e-6);
        assert_eq!(timecents_to_seconds(-32_768), 0.0);
        assert!((absolute_cents_to_hz(6900) - 440.0).abs() < 0.01);
        assert!((absolute_cents_to_hz(13_500) - 19_912.0).abs() < 2.0);
    }
}
