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
}
