//! SFZ's built-in samples (`sample=*sine` and friends), made as looped single-cycle
//! wavetables so the sampler plays them like any recording.
//!
//! A periodic waveform is one cycle of [`CYCLE_FRAMES`] frames, additively synthesised with the
//! harmonics below [`HARMONIC_CEILING_HZ`] at middle C (so a saw or square does not alias
//! when played near its root; far above it, harmonics fold like any sample played up), and
//! given the sample rate at which that cycle sounds middle C (key 60, 261.63 Hz): with the
//! default `pitch_keycenter=60` every key then plays its own pitch. `*noise` is a second of
//! seeded white noise (the same in every load) that does not follow the key unless
//! `pitch_keytrack` says so; `*silence` is a short looped silence.

use std::sync::Arc;

use crate::sample::{sha256, Sample};

/// Frames in one cycle of a periodic generated waveform.
pub const CYCLE_FRAMES: usize = 256;
/// Harmonics of periodic waveforms stop below this frequency at middle C.
pub const HARMONIC_CEILING_HZ: f64 = 20_000.0;
/// Frequency of middle C (key 60), the generated waveforms' recorded pitch.
pub const MIDDLE_C_HZ: f64 = 261.625_565_300_598_6;
/// Rate and length of `*noise` (one second).
pub const NOISE_RATE_HZ: u32 = 48_000;

/// Built-in waveforms.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Generated {
    /// `*sine`.
    Sine,
    /// `*saw` (falling harmonics 1/n).
    Saw,
    /// `*square` (odd harmonics 1/n).
    Square,
    /// `*triangle` (odd harmonics 1/n², alternating).
    Triangle,
    /// `*noise`.
    Noise,
    /// `*silence`.
    Silence,
}

impl Generated {
    /// The waveform for a `sample=` value starting with `*`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "*sine" => Self::Sine,
            "*saw" => Self::Saw,
            "*square" => Self::Square,
            "*triangle" | "*tri" => Self::Triangle,
            "*noise" => Self::Noise,
            "*silence" => Self::Silence,
            _ => return None,
        })
    }

    /// Whether it has a pitch that should follow the key.
    pub fn is_pitched(self) -> bool {
        !matches!(self, Self::Noise | Self::Silence)
    }

    /// Synthesises the sample.
    pub fn sample(self) -> Arc<Sample> {
        let (rate, data) = match self {
            Self::Noise => {
                let mut state = 0x9E37_79B9_7F4A_7C15u64;
                let data = (0..NOISE_RATE_HZ)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        ((state >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * 0.5
                    })
                    .collect();
                (NOISE_RATE_HZ, data)
            }
            Self::Silence => (NOISE_RATE_HZ, vec![0.0; CYCLE_FRAMES]),
            periodic => {
                let top = (HARMONIC_CEILING_HZ / MIDDLE_C_HZ).floor() as usize;
                let top = top.min(CYCLE_FRAMES / 2 - 1);
                let mut data: Vec<f64> = (0..CYCLE_FRAMES)
                    .map(|i| {
                        let phase = std::f64::consts::TAU * i as f64 / CYCLE_FRAMES as f64;
                        (1..=top)
                            .filter_map(|n| {
                                let n_f = n as f64;
                                let amplitude = match periodic {
                                    Self::Sine => (n == 1).then_some(1.0)?,
                                    Self::Saw => 1.0 / n_f,
                                    Self::Square => (n % 2 == 1).then_some(1.0 / n_f)?,
                                    _ => {
                                        let sign = if (n / 2) % 2 == 0 { 1.0 } else { -1.0 };
                                        (n % 2 == 1).then_some(sign / (n_f * n_f))?
                                    }
                                };
                                Some(amplitude * (n_f * phase).sin())
                            })
                            .sum()
                    })
                    .collect();
                let peak = data.iter().fold(0.0f64, |m, s| m.max(s.abs())).max(1e-12);
                for s in &mut data {
                    *s /= peak;
                }
                let rate = (MIDDLE_C_HZ * CYCLE_FRAMES as f64).round() as u32;
                (rate, data.into_iter().map(|s| s as f32).collect())
            }
        };
        let tag = format!("noderack generated sample {self:?}");
        Arc::new(Sample::from_f32(rate, vec![data], sha256(tag.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_waveforms_are_one_normalised_cycle_at_middle_c() {
        for g in [Generated::Sine, Generated::Saw, Generated::Square, Generated::Triangle] {
            let s = g.sample();
            assert_eq!(s.frames(), CYCLE_FRAMES);
            let cycle_hz = s.sample_rate_hz as f64 / CYCLE_FRAMES as f64;
            assert!((1200.0 * (cycle_hz / MIDDLE_C_HZ).log2()).abs() < 0.01, "{g:?}");
            let peak = s.channel_f32(0).unwrap().iter().fold(0.0f32, |m, x| m.max(x.abs()));
            assert!((peak - 1.0).abs() < 1e-6, "{g:?}: {peak}");
        }
        assert_eq!(Generated::from_name("*SINE"), Some(Generated::Sine));
        assert_eq!(Generated::from_name("*wobble"), None);
    }
}
