//! Reading a sample between its frames.
//!
//! The sampler uses 4-point, 3rd-order Hermite (Catmull-Rom) interpolation: it passes through
//! every frame, has a continuous first derivative, and costs four loads and a few multiply-adds
//! per output frame. FluidSynth's default is also a 4-point (4th-order) interpolator. How far
//! its images lie below the signal, against linear interpolation, is measured by
//! `tests/tests/sampler.rs` and reported in `docs/SAMPLER.md`.

/// The value at `fraction` (0..1) between `x0` and `x1`, with `xm1` the frame before `x0`
/// and `x2` the frame after `x1`.
#[inline(always)]
pub fn hermite(xm1: f32, x0: f32, x1: f32, x2: f32, fraction: f32) -> f32 {
    // The Catmull-Rom polynomial `((c3·t + c2)·t + c1)·t + x0` with its coefficients shared
    // as Laurent de Soras arranges them: 15 operations instead of 19.
    let c1 = 0.5 * (x1 - xm1);
    let v = x0 - x1;
    let w = c1 + v;
    let c3 = w + v + 0.5 * (x2 - x0);
    let minus_c2 = w + c3;
    ((c3 * fraction - minus_c2) * fraction + c1) * fraction + x0
}

/// Fraction bits of a [`HERMITE_WEIGHTS`] row: the fraction is rounded to 1/512 of a frame.
pub const WEIGHT_BITS: u32 = 9;
/// Rows of [`HERMITE_WEIGHTS`]: fractions 0, 1/512, … 1.
pub const WEIGHT_ROWS: usize = (1 << WEIGHT_BITS) + 1;

/// The four Catmull-Rom weights of `xm1, x0, x1, x2` at every 1/512 of a frame, so
/// interpolating is four multiplies and three adds. Rounding the fraction to 1/512 moves a
/// frame by at most 1/1024 of a frame: for a 3 kHz tone recorded at 44.1 kHz that error is
/// about −78 dB, far below the interpolator's own images (−60 dB). FluidSynth's 4-point
/// interpolator uses the same polynomial from a table of 256 rows (truncated, not rounded).
/// 8 KB: it stays in the L1 cache.
pub static HERMITE_WEIGHTS: [[f32; 4]; WEIGHT_ROWS] = hermite_weights();

const fn hermite_weights() -> [[f32; 4]; WEIGHT_ROWS] {
    let mut table = [[0.0f32; 4]; WEIGHT_ROWS];
    let mut i = 0;
    while i < WEIGHT_ROWS {
        let t = i as f64 / (1 << WEIGHT_BITS) as f64;
        table[i] = [
            (t * (-0.5 + t * (1.0 - 0.5 * t))) as f32,
            (1.0 + t * t * (1.5 * t - 2.5)) as f32,
            (t * (0.5 + t * (2.0 - 1.5 * t))) as f32,
            (0.5 * t * t * (t - 1.0)) as f32,
        ];
        i += 1;
    }
    table
}

/// The weights row for a fraction given as 32 fraction bits (`0..2^32` is 0..1 of a frame),
/// rounded to the nearest row.
#[inline(always)]
pub fn weights(fraction_bits: u32) -> &'static [f32; 4] {
    let row = ((fraction_bits as u64 + (1 << (31 - WEIGHT_BITS))) >> (32 - WEIGHT_BITS)) as usize;
    // `row` ≤ 2^WEIGHT_BITS by construction; the fallback is never taken.
    HERMITE_WEIGHTS.get(row).unwrap_or(&HERMITE_WEIGHTS[0])
}

/// `taps` (`xm1, x0, x1, x2`) weighted by a [`weights`] row.
#[inline(always)]
pub fn weighted(taps: [f32; 4], w: &[f32; 4]) -> f32 {
    (taps[0] * w[0] + taps[1] * w[1]) + (taps[2] * w[2] + taps[3] * w[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_through_frames_and_reproduces_cubics() {
        assert_eq!(hermite(1.0, 2.0, 3.0, 4.0, 0.0), 2.0);
        assert!((hermite(1.0, 2.0, 3.0, 4.0, 1.0) - 3.0).abs() < 1e-6);
        // A straight line stays straight.
        assert!((hermite(1.0, 2.0, 3.0, 4.0, 0.25) - 2.25).abs() < 1e-6);
        // Quadratics are exact for Catmull-Rom: x² at 0.5 between 1 and 2.
        let q = |x: f32| x * x;
        assert!((hermite(q(0.0), q(1.0), q(2.0), q(3.0), 0.5) - q(1.5)).abs() < 1e-5);
    }

    /// The table gives the polynomial at the rounded fraction, and rows sum to one (no gain).
    #[test]
    fn weight_table_matches_the_polynomial() {
        let taps = [0.3f32, -0.7, 0.9, 0.1];
        for row in 0..WEIGHT_ROWS {
            let t = row as f32 / (1 << WEIGHT_BITS) as f32;
            let bits = (t as f64 * 4_294_967_296.0).min(u32::MAX as f64) as u32;
            let w = weights(bits);
            assert!((weighted(taps, w) - hermite(taps[0], taps[1], taps[2], taps[3], t)).abs() < 1e-6, "row {row}");
            assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Rounded to the nearest row: just below half a row rounds down, half a row up.
        let half = 1u32 << (31 - WEIGHT_BITS);
        assert!(std::ptr::eq(weights(half - 1), &HERMITE_WEIGHTS[0]));
        assert!(std::ptr::eq(weights(half), &HERMITE_WEIGHTS[1]));
        assert!(std::ptr::eq(weights(u32::MAX), &HERMITE_WEIGHTS[WEIGHT_ROWS - 1]));
    }
}
