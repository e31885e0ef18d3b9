//! DSP shared by several nodes: small conversions here, building blocks (oscillator, envelope,
//! filter) in submodules.

pub mod envelope;
pub mod filter;
pub mod oscillator;

pub use envelope::{Adsr, AdsrShape, Stage};
pub use filter::{Svf, SvfCoefficients, SvfOutputs};
pub use oscillator::{Oscillator, Waveform};

/// Decibels to linear gain; -96 dB and below is silence.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    if db <= -96.0 {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

/// Channel gains for a stereo balance control: `0` leaves both channels at unity; moving
/// towards one side attenuates the other channel along a quarter sine (equal power at the
/// extremes relative to centre-unity). Returns (left, right).
#[inline]
pub fn pan_gains(pan: f32) -> (f32, f32) {
    let p = pan.clamp(-1.0, 1.0);
    if p >= 0.0 {
        ((p * std::f32::consts::FRAC_PI_2).cos(), 1.0)
    } else {
        (1.0, (-p * std::f32::consts::FRAC_PI_2).cos())
    }
}

/// Frequency in Hz of a (possibly fractional) MIDI key, A4 = key 69 = 440 Hz.
#[inline]
pub fn key_to_hz(key: f32) -> f32 {
    440.0 * 2f32.powf((key - 69.0) / 12.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_centre_is_unity_and_extremes_silence_the_other_side() {
        assert_eq!(pan_gains(0.0), (1.0, 1.0));
        let (l, r) = pan_gains(1.0);
        assert!(l.abs() < 1e-6 && r == 1.0);
        let (l, r) = pan_gains(-1.0);
        assert!(r.abs() < 1e-6 && l == 1.0);
    }

    #[test]
    fn key_to_hz_matches_equal_temperament() {
        assert_eq!(key_to_hz(69.0), 440.0);
        assert!((key_to_hz(60.0) - 261.6256).abs() < 1e-3);
        assert!((key_to_hz(81.0) - 880.0).abs() < 1e-3);
    }

    #[test]
    fn db_to_gain_known_points() {
        assert_eq!(db_to_gain(0.0), 1.0);
        assert!((db_to_gain(-6.0) - 0.501187).abs() < 1e-5);
        assert_eq!(db_to_gain(-120.0), 0.0);
    }
}
