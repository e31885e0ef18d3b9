//! A state-variable filter in trapezoidal (topology-preserving) form: 12 dB/octave low-, band-
//! and high-pass outputs from one structure, stable for any cutoff below Nyquist and any
//! positive damping, and well behaved when its coefficients change every few samples (the
//! state is two integrator memories, so a coefficient change never produces a jump).
//!
//! Derivation in brief: two trapezoidal integrators with gain `g = tan(π·fc/fs)` (the bilinear
//! prewarp, so the cutoff lands exactly at `fc`) in the classic SVF loop with damping `k`
//! (`k = 1/Q`). Solving the zero-delay feedback loop once gives per-sample update constants
//! `a1 = 1/(1 + g(g + k))`, `a2 = g·a1`, `a3 = g·a2`.

use std::f32::consts::PI;

/// Smallest damping accepted (Q = 50): lower values ring for seconds.
pub const MIN_DAMPING: f32 = 0.02;

/// Update constants for a [`Svf`], computed from cutoff and damping.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SvfCoefficients {
    /// Damping `k = 1/Q` (2 = no resonance, a critically damped pair of poles).
    k: f32,
    a1: f32,
    a2: f32,
    a3: f32,
}

impl SvfCoefficients {
    /// Highest cutoff accepted, as a fraction of the sample rate (the prewarp diverges at 1/2).
    pub const MAX_CUTOFF_RATIO: f32 = 0.49;
    /// Lowest cutoff accepted, in Hz.
    pub const MIN_CUTOFF_HZ: f32 = 5.0;

    /// Coefficients for cutoff `cutoff_hz` (clamped to `MIN_CUTOFF_HZ..=0.49·sample_rate`) and
    /// damping `k = 1/Q` (clamped to at least [`MIN_DAMPING`]; NaN inputs become the
    /// minimum values).
    pub fn new(cutoff_hz: f32, damping: f32, sample_rate: f32) -> Self {
        // `max` before `min` (not `clamp`): a NaN cutoff becomes the minimum and nothing panics.
        let fc = cutoff_hz.max(Self::MIN_CUTOFF_HZ).min(Self::MAX_CUTOFF_RATIO * sample_rate);
        let g = (PI * fc / sample_rate).tan();
        let k = damping.max(MIN_DAMPING);
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        Self { k, a1, a2, a3: g * a2 }
    }

    /// [`SvfCoefficients::new`] with the prewarp `tan` replaced by its [5/4] Padé approximant,
    /// `x(945 − 105x² + x⁴) / (945 − 420x² + 15x⁴)`: at most 0.06 % off (a tenth of a cent of
    /// cutoff) up to 0.45 × the sample rate, and several times cheaper than `tan`. For
    /// cutoffs that move every few milliseconds (a sampler voice's modulated filter).
    pub fn moving(cutoff_hz: f32, damping: f32, sample_rate: f32) -> Self {
        let fc = cutoff_hz.max(Self::MIN_CUTOFF_HZ).min(Self::MAX_CUTOFF_RATIO * sample_rate);
        let x = PI * fc / sample_rate;
        let x2 = x * x;
        let g = x * (945.0 + x2 * (x2 - 105.0)) / (945.0 + x2 * (15.0 * x2 - 420.0));
        let k = damping.max(MIN_DAMPING);
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        Self { k, a1, a2, a3: g * a2 }
    }

    /// Coefficients from a resonance amount 0..=1: 0 gives `k = 2` (no peak), 1 gives
    /// [`MIN_DAMPING`] (Q = 50, a strong whistle just short of self-oscillation).
    pub fn with_resonance(cutoff_hz: f32, resonance: f32, sample_rate: f32) -> Self {
        Self::new(cutoff_hz, resonance_to_damping(resonance), sample_rate)
    }
}

impl Default for SvfCoefficients {
    fn default() -> Self {
        Self::new(1000.0, 2.0, 48_000.0)
    }
}

/// Damping `k` for a resonance amount 0..=1 (linear from 2 down to [`MIN_DAMPING`]).
#[inline]
pub fn resonance_to_damping(resonance: f32) -> f32 {
    let r = if resonance.is_nan() { 0.0 } else { resonance.clamp(0.0, 1.0) };
    2.0 - (2.0 - MIN_DAMPING) * r
}

/// All outputs of one filter step.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SvfOutputs {
    /// Low-pass output.
    pub low: f32,
    /// Band-pass output (gain `1/k` at the cutoff).
    pub band: f32,
    /// High-pass output.
    pub high: f32,
}

/// The filter state: two integrator memories plus the coefficients in use.
#[derive(Copy, Clone, Debug, Default)]
pub struct Svf {
    ic1: f32,
    ic2: f32,
    coefs: SvfCoefficients,
}

impl Svf {
    /// States below this magnitude are flushed to zero by [`Svf::flush_denormals`] (-300 dB,
    /// far below audibility, far above the denormal range).
    pub const FLUSH_BELOW: f32 = 1e-15;

    /// A silent filter with `coefs`.
    pub fn new(coefs: SvfCoefficients) -> Self {
        Self { ic1: 0.0, ic2: 0.0, coefs }
    }

    /// Replaces the coefficients; the state carries over, so the output stays continuous.
    #[inline]
    pub fn set_coefficients(&mut self, coefs: SvfCoefficients) {
        self.coefs = coefs;
    }

    /// Clears the state (silence in, silence out from the next sample).
    pub fn reset(&mut self) {
        self.ic1 = 0.0;
        self.ic2 = 0.0;
    }

    /// Zeroes states so small they would otherwise decay into denormal numbers (which are
    /// very slow on most CPUs). Call it every block or so when the input may fall silent.
    #[inline]
    pub fn flush_denormals(&mut self) {
        if self.ic1.abs() < Self::FLUSH_BELOW {
            self.ic1 = 0.0;
        }
        if self.ic2.abs() < Self::FLUSH_BELOW {
            self.ic2 = 0.0;
        }
    }

    /// One step returning every output.
    #[inline(always)]
    pub fn tick(&mut self, x: f32) -> SvfOutputs {
        let c = &self.coefs;
        let v3 = x - self.ic2;
        let v1 = c.a1 * self.ic1 + c.a2 * v3;
        let v2 = self.ic2 + c.a2 * self.ic1 + c.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        SvfOutputs { low: v2, band: v1, high: x - c.k * v1 - v2 }
    }

    /// One step of the low-pass output only.
    #[inline(always)]
    pub fn tick_lowpass(&mut self, x: f32) -> f32 {
        let c = &self.coefs;
        let v3 = x - self.ic2;
        let v1 = c.a1 * self.ic1 + c.a2 * v3;
        let v2 = self.ic2 + c.a2 * self.ic1 + c.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        v2
    }
}

/// Which output of the state-variable filter an [`SvfStateSpace`] gives.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SvfResponse {
    /// [`SvfOutputs::low`].
    LowPass,
    /// [`SvfOutputs::high`].
    HighPass,
    /// [`SvfOutputs::band`].
    BandPass,
}

/// The same filter as [`Svf`], one output, written as a state-space update: the next state
/// and the output are each one linear combination of the two states and the input.
///
/// Unrolling the trapezoidal loop gives `ic1' = (2a1 − 1)·ic1 − 2a2·ic2 + 2a2·x`,
/// `ic2' = 2a2·ic1 + (1 − 2a3)·ic2 + 2a3·x`, and each output a row over `(ic1, ic2, x)`. The
/// longest chain of dependent operations from one sample's state to the next is then a
/// multiply and two adds, against five operations in the loop form. The sampler's voices step
/// it eight frames at a time ([`crate::dsp::svf_block`]), where that chain is shared by the
/// block.
#[derive(Copy, Clone, Debug, Default)]
pub struct SvfStateSpace {
    ic1: f32,
    ic2: f32,
    /// State update rows `[m11, m12, b1]`, `[m21, m22, b2]` and output row `[c1, c2, d]`.
    next1: [f32; 3],
    next2: [f32; 3],
    output: [f32; 3],
}

impl SvfStateSpace {
    /// A silent filter with `coefs`, giving `response`.
    pub fn new(coefs: SvfCoefficients, response: SvfResponse) -> Self {
        let SvfCoefficients { k, a1, a2, a3 } = coefs;
        let output = match response {
            SvfResponse::LowPass => [a2, 1.0 - a3, a3],
            SvfResponse::BandPass => [a1, -a2, a2],
            SvfResponse::HighPass => [-(k * a1 + a2), k * a2 - (1.0 - a3), 1.0 - k * a2 - a3],
        };
        Self {
            ic1: 0.0,
            ic2: 0.0,
            next1: [2.0 * a1 - 1.0, -2.0 * a2, 2.0 * a2],
            next2: [2.0 * a2, 1.0 - 2.0 * a3, 2.0 * a3],
            output,
        }
    }

    /// The state update rows `[m11, m12, b1]`, `[m21, m22, b2]` and the output row
    /// `[c1, c2, d]` (for [`crate::dsp::svf_block::SvfBlockCoefficients`]).
    pub fn rows(&self) -> ([f32; 3], [f32; 3], [f32; 3]) {
        (self.next1, self.next2, self.output)
    }

    /// The two integrator states.
    pub fn state(&self) -> (f32, f32) {
        (self.ic1, self.ic2)
    }

    /// Sets the two integrator states (a filter taking over another's signal).
    pub fn set_state(&mut self, (ic1, ic2): (f32, f32)) {
        (self.ic1, self.ic2) = (ic1, ic2);
    }

    /// One step: the output for input `x`.
    #[inline(always)]
    pub fn tick(&mut self, x: f32) -> f32 {
        let (s1, s2) = (self.ic1, self.ic2);
        let [c1, c2, d] = self.output;
        let [m11, m12, b1] = self.next1;
        let [m21, m22, b2] = self.next2;
        let y = c1 * s1 + (c2 * s2 + d * x);
        self.ic1 = m11 * s1 + (m12 * s2 + b1 * x);
        self.ic2 = m21 * s1 + (m22 * s2 + b2 * x);
        y
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn moving_coefficients_match_the_exact_ones_closely() {
        for fc in [20.0, 200.0, 2_000.0, 10_000.0, 19_000.0, 21_600.0] {
            let (a, b) = (SvfCoefficients::new(fc, 1.0, 48_000.0), SvfCoefficients::moving(fc, 1.0, 48_000.0));
            for (x, y) in [(a.a1, b.a1), (a.a2, b.a2), (a.a3, b.a3)] {
                assert!((x - y).abs() <= 1e-3 * x.abs().max(1e-6), "{fc} Hz: {x} vs {y}");
            }
        }
    }

    use super::*;

    const SR: f32 = 48_000.0;

    /// Steady-state gain of the low-pass output for a sine at `hz`.
    fn lowpass_gain(coefs: SvfCoefficients, hz: f32) -> f32 {
        let mut f = Svf::new(coefs);
        let n = 48_000;
        let mut peak = 0.0f32;
        for i in 0..n {
            let y = f.tick_lowpass((2.0 * PI * hz * i as f32 / SR).sin());
            if i > n / 2 {
                peak = peak.max(y.abs());
            }
        }
        peak
    }

    fn db(x: f32) -> f32 {
        20.0 * x.log10()
    }

    #[test]
    fn lowpass_passes_dc_and_falls_12_db_per_octave() {
        let c = SvfCoefficients::new(1000.0, std::f32::consts::SQRT_2, SR);
        let mut f = Svf::new(c);
        let mut y = 0.0;
        for _ in 0..10_000 {
            y = f.tick_lowpass(1.0);
        }
        assert!((y - 1.0).abs() < 1e-4, "DC gain {y}");
        // Butterworth (k = √2): -3 dB at the cutoff, about -24 dB two octaves up.
        assert!((db(lowpass_gain(c, 1000.0)) + 3.0).abs() < 0.3);
        let two_octaves = db(lowpass_gain(c, 4000.0));
        assert!((-25.5..=-22.5).contains(&two_octaves), "{two_octaves} dB at 4 kHz");
    }

    #[test]
    fn resonance_raises_a_peak_at_the_cutoff() {
        let flat = lowpass_gain(SvfCoefficients::with_resonance(2000.0, 0.0, SR), 2000.0);
        let peaky = lowpass_gain(SvfCoefficients::with_resonance(2000.0, 0.9, SR), 2000.0);
        // k = 2 gives 1/k = -6 dB at the cutoff; resonance 0.9 gives k ≈ 0.218, about +13 dB.
        assert!((db(flat) + 6.0).abs() < 0.3, "{}", db(flat));
        assert!(db(peaky) > 12.0, "{}", db(peaky));
    }

    #[test]
    fn outputs_sum_back_to_the_input() {
        let mut f = Svf::new(SvfCoefficients::new(700.0, 0.5, SR));
        for i in 0..1000 {
            let x = ((i * 7919) % 113) as f32 / 56.0 - 1.0;
            let o = f.tick(x);
            assert!((o.low + 0.5 * o.band + o.high - x).abs() < 1e-5);
        }
    }

    #[test]
    fn cutoff_sweeps_stay_stable_and_bounded() {
        let mut f = Svf::new(SvfCoefficients::default());
        let mut peak = 0.0f32;
        for i in 0..48_000 {
            if i % 16 == 0 {
                let hz = 20.0 * 1000f32.powf(((i / 16) % 300) as f32 / 300.0);
                f.set_coefficients(SvfCoefficients::with_resonance(hz, 0.5, SR));
            }
            let x = if (i / 50) % 2 == 0 { 1.0 } else { -1.0 };
            peak = peak.max(f.tick_lowpass(x).abs());
        }
        assert!(peak.is_finite() && peak < 10.0, "{peak}");
    }

    #[test]
    fn silence_decays_to_exact_zero_with_flushing() {
        let mut f = Svf::new(SvfCoefficients::with_resonance(100.0, 0.3, SR));
        f.tick_lowpass(1.0);
        let mut y = 1.0;
        for _ in 0..2_000 {
            for _ in 0..16 {
                y = f.tick_lowpass(0.0);
            }
            f.flush_denormals();
        }
        assert_eq!(y, 0.0);
        assert_eq!((f.ic1, f.ic2), (0.0, 0.0));
    }

    /// The state-space form gives the loop form's outputs, every response, at low, middle and
    /// high cutoffs with and without resonance.
    #[test]
    fn state_space_form_equals_the_loop_form() {
        for (hz, damping) in [(30.0, 2.0), (1000.0, 0.1), (9000.0, 1.4), (21_000.0, 0.7)] {
            let coefs = SvfCoefficients::new(hz, damping, SR);
            for response in [SvfResponse::LowPass, SvfResponse::HighPass, SvfResponse::BandPass] {
                let mut reference = Svf::new(coefs);
                let mut fast = SvfStateSpace::new(coefs, response);
                let mut worst = 0.0f32;
                for i in 0..20_000 {
                    let x = ((i * 7919) % 113) as f32 / 56.0 - 1.0;
                    let o = reference.tick(x);
                    let expected = match response {
                        SvfResponse::LowPass => o.low,
                        SvfResponse::HighPass => o.high,
                        SvfResponse::BandPass => o.band,
                    };
                    worst = worst.max((fast.tick(x) - expected).abs());
                }
                assert!(worst < 2e-4, "{hz} Hz, k {damping}, {response:?}: {worst}");
            }
        }
    }

    #[test]
    fn extreme_and_nan_settings_are_clamped() {
        for c in [
            SvfCoefficients::new(1e9, 0.0, SR),
            SvfCoefficients::new(-5.0, -1.0, SR),
            SvfCoefficients::new(f32::NAN, f32::NAN, SR),
        ] {
            assert!(c.a1.is_finite() && c.a2.is_finite() && c.a3.is_finite() && c.k >= MIN_DAMPING, "{c:?}");
        }
    }
}
