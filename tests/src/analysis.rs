//! Measurements on rendered audio.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// Root mean square of `x` (0 for an empty slice).
pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

/// Largest absolute sample.
pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, s| m.max(s.abs()))
}

/// Frequency of the strongest spectral peak of `x`, in Hz: Hann window, zero-padded FFT, and
/// parabolic interpolation on the log magnitude around the peak bin (sub-cent accuracy for a
/// second of a steady tone).
pub fn peak_frequency_hz(x: &[f32], sample_rate: f32) -> f32 {
    let n = (x.len() * 4).next_power_of_two();
    let mut buf: Vec<Complex<f64>> = vec![Complex::new(0.0, 0.0); n];
    let len = x.len() as f64;
    for (i, s) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (len - 1.0)).cos();
        buf[i] = Complex::new(*s as f64 * w, 0.0);
    }
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    let mags: Vec<f64> = buf[..n / 2].iter().map(|c| c.norm().max(1e-30).ln()).collect();
    let k = (1..mags.len() - 1).max_by(|&a, &b| mags[a].total_cmp(&mags[b])).unwrap_or(1);
    let (a, b, c) = (mags[k - 1], mags[k], mags[k + 1]);
    let denom = a - 2.0 * b + c;
    let delta = if denom.abs() > 1e-12 { 0.5 * (a - c) / denom } else { 0.0 };
    ((k as f64 + delta) * sample_rate as f64 / n as f64) as f32
}

/// Distance between two frequencies in cents.
pub fn cents(measured_hz: f32, expected_hz: f32) -> f32 {
    1200.0 * (measured_hz / expected_hz).log2()
}

/// Index of the first sample whose magnitude exceeds `threshold`.
pub fn first_onset(x: &[f32], threshold: f32) -> Option<usize> {
    x.iter().position(|s| s.abs() > threshold)
}

/// Index of the last sample whose magnitude exceeds `threshold`.
pub fn last_above(x: &[f32], threshold: f32) -> Option<usize> {
    x.iter().rposition(|s| s.abs() > threshold)
}

/// Largest difference between consecutive samples (a click shows up as a large step).
pub fn max_step(x: &[f32]) -> f32 {
    x.windows(2).fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()))
}

/// Power spectrum of `x` (squared FFT magnitudes of bins `0..len/2`, bin `k` at
/// `k · sample_rate / len` Hz) through a 4-term Blackman-Harris window, whose side lobes
/// (-92 dB) are low enough to see aliases next to strong harmonics.
pub fn power_spectrum(x: &[f32]) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return vec![0.0; n / 2];
    }
    let mut buf: Vec<Complex<f64>> = x
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let a = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            let w = 0.35875 - 0.48829 * a.cos() + 0.14128 * (2.0 * a).cos() - 0.01168 * (3.0 * a).cos();
            Complex::new(*s as f64 * w, 0.0)
        })
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    buf[..n / 2].iter().map(|c| c.norm_sqr()).collect()
}

/// Spectral energy of `x` between `lo_hz` and `hi_hz` (inclusive), from [`power_spectrum`].
pub fn band_energy(x: &[f32], sample_rate: f32, lo_hz: f32, hi_hz: f32) -> f64 {
    let bin_hz = sample_rate as f64 / x.len().max(1) as f64;
    power_spectrum(x)
        .iter()
        .enumerate()
        .filter(|(k, _)| (lo_hz as f64..=hi_hz as f64).contains(&(*k as f64 * bin_hz)))
        .map(|(_, p)| p)
        .sum()
}

/// Energy of `x` farther than `guard_hz` from every harmonic of `fundamental_hz` (aliases,
/// noise), relative to its total energy above DC, in dB.
pub fn inharmonic_energy_db(x: &[f32], sample_rate: f32, fundamental_hz: f32, guard_hz: f32) -> f64 {
    let bin_hz = sample_rate as f64 / x.len().max(1) as f64;
    let f0 = fundamental_hz as f64;
    let (mut total, mut off) = (0.0, 0.0);
    for (k, p) in power_spectrum(x).iter().enumerate().skip(1) {
        let f = k as f64 * bin_hz;
        let nearest = (f / f0).round().max(1.0) * f0;
        total += p;
        if (f - nearest).abs() > guard_hz as f64 {
            off += p;
        }
    }
    10.0 * (off.max(1e-300) / total.max(1e-300)).log10()
}

/// Energy per pitch class (0 = C … 9 = A) of `x` between `lo_hz` and `hi_hz`: each spectral bin
/// within 30 cents of an equal-tempered pitch adds its power to that pitch's class. Shows which
/// chord is sounding.
pub fn chroma(x: &[f32], sample_rate: f32, lo_hz: f32, hi_hz: f32) -> [f64; 12] {
    let bin_hz = sample_rate as f64 / x.len().max(1) as f64;
    let mut classes = [0.0; 12];
    for (k, p) in power_spectrum(x).iter().enumerate().skip(1) {
        let f = k as f64 * bin_hz;
        if f < lo_hz as f64 || f > hi_hz as f64 {
            continue;
        }
        let key = 69.0 + 12.0 * (f / 440.0).log2();
        if (key - key.round()).abs() <= 0.3 {
            classes[(key.round() as i64).rem_euclid(12) as usize] += p;
        }
    }
    classes
}

/// The `n` strongest pitch classes of a [`chroma`], strongest first.
pub fn strongest_classes(chroma: &[f64; 12], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..12).collect();
    order.sort_by(|&a, &b| chroma[b].total_cmp(&chroma[a]));
    order.truncate(n);
    order
}

/// The frequency of `x` cycle by cycle, from its upward zero crossings (each placed between
/// its two samples by linear interpolation): `(seconds, hz)` of every cycle, timed at the
/// crossing that ends it. For a clean tone this tracks vibrato to a fraction of a cent.
pub fn frequency_track(x: &[f32], sample_rate: f32) -> Vec<(f32, f32)> {
    let mut crossings = Vec::new();
    for (i, w) in x.windows(2).enumerate() {
        if w[0] < 0.0 && w[1] >= 0.0 {
            crossings.push(i as f64 + (-w[0] / (w[1] - w[0])) as f64);
        }
    }
    crossings
        .windows(2)
        .map(|c| ((c[1] / sample_rate as f64) as f32, (sample_rate as f64 / (c[1] - c[0])) as f32))
        .collect()
}

/// Spectral centroid of `x` in Hz: the power-weighted mean frequency of [`power_spectrum`].
pub fn spectral_centroid_hz(x: &[f32], sample_rate: f32) -> f32 {
    let bin_hz = sample_rate as f64 / x.len().max(1) as f64;
    let spectrum = power_spectrum(x);
    let total: f64 = spectrum.iter().skip(1).sum();
    let weighted: f64 = spectrum.iter().enumerate().skip(1).map(|(k, p)| k as f64 * bin_hz * p).sum();
    if total > 0.0 {
        (weighted / total) as f32
    } else {
        0.0
    }
}

/// Pitch in cents from `reference_hz` of every cycle of `x` between `from` and `to` seconds
/// ([`frequency_track`]): how vibrato is measured.
pub fn cents_track(x: &[f32], sample_rate: f32, reference_hz: f32, from: f32, to: f32) -> Vec<(f32, f32)> {
    frequency_track(x, sample_rate)
        .into_iter()
        .filter(|(t, _)| (from..to).contains(t))
        .map(|(t, hz)| (t, cents(hz, reference_hz)))
        .collect()
}

/// Lowest and highest value of a `(seconds, value)` track.
pub fn track_extremes(track: &[(f32, f32)]) -> (f32, f32) {
    track.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &(_, c)| (lo.min(c), hi.max(c)))
}

/// Half the peak-to-peak swing of a track (a vibrato's depth).
pub fn track_swing(track: &[(f32, f32)]) -> f32 {
    let (lo, hi) = track_extremes(track);
    (hi - lo) / 2.0
}

/// Mean time between upward crossings of a track's mean: its period (a vibrato's). Panics
/// when the track holds fewer than two whole cycles.
pub fn track_period_seconds(track: &[(f32, f32)]) -> f32 {
    let mean = track.iter().map(|p| p.1).sum::<f32>() / track.len() as f32;
    let ups: Vec<f32> = track.windows(2).filter(|w| w[0].1 < mean && w[1].1 >= mean).map(|w| w[1].0).collect();
    assert!(ups.len() >= 3, "too few cycles in the track: {ups:?}");
    (ups[ups.len() - 1] - ups[0]) / (ups.len() - 1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_frequency_finds_a_pure_tone_within_a_cent() {
        for hz in [55.0f32, 261.63, 440.0, 3520.0] {
            let x: Vec<f32> =
                (0..48_000).map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / 48_000.0).sin()).collect();
            let got = peak_frequency_hz(&x, 48_000.0);
            assert!(cents(got, hz).abs() < 1.0, "{hz} Hz measured as {got} Hz");
        }
    }

    #[test]
    fn rms_of_a_full_scale_sine_is_one_over_root_two() {
        let x: Vec<f32> =
            (0..48_000).map(|i| (2.0 * std::f32::consts::PI * 100.0 * i as f32 / 48_000.0).sin()).collect();
        assert!((rms(&x) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-4);
    }

    #[test]
    fn inharmonic_energy_separates_a_harmonic_tone_from_an_inharmonic_one() {
        let tone = |partials: &[f32]| -> Vec<f32> {
            (0..48_000)
                .map(|i| partials.iter().map(|hz| (2.0 * std::f32::consts::PI * hz * i as f32 / 48_000.0).sin()).sum())
                .collect()
        };
        let harmonic = inharmonic_energy_db(&tone(&[200.0, 400.0, 600.0]), 48_000.0, 200.0, 20.0);
        let mixed = inharmonic_energy_db(&tone(&[200.0, 400.0, 530.0]), 48_000.0, 200.0, 20.0);
        assert!(harmonic < -80.0, "{harmonic}");
        assert!((mixed + 4.77).abs() < 0.2, "{mixed}"); // one partial of three: 10·log10(1/3)
        let e = band_energy(&tone(&[200.0, 530.0]), 48_000.0, 500.0, 560.0);
        let all = band_energy(&tone(&[200.0, 530.0]), 48_000.0, 0.0, 24_000.0);
        assert!((e / all - 0.5).abs() < 0.01);
    }
}
