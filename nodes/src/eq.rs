//! `eq`: a stereo equalizer: low cut, low shelf, three peaking bands, high shelf, high cut.
//!
//! Each band has the magnitude response of its RBJ-cookbook biquad (bilinear transform,
//! prewarped at its frequency), computed in the trapezoidal state-variable form
//! ([`crate::dsp::Svf`]): the output is a mix of the filter's input, band-pass and low-pass
//! outputs. Unlike a direct-form biquad, that form keeps its state meaningful when the
//! coefficients move, so sweeping a band while audio plays is stable and click-free.
//!
//! Coefficients follow the (engine-smoothed) parameters every 16 frames, counted from the
//! node's first frame, so the output does not depend on how the timeline is cut into blocks.
//! A cut at the end of its range (`low_cut_hz` at 10 Hz, `high_cut_hz` at 22 kHz) is off, and
//! a band at 0 dB passes its input unchanged.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, ProcessConfig, ProcessContext, Processor, Unit,
};

use crate::dsp::{Svf, SvfCoefficients};

/// Low cut (12 dB/octave high-pass) frequency; off at its minimum.
pub const LOW_CUT_HZ: ParamId = ParamId(0);
/// Low shelf corner frequency.
pub const LOW_SHELF_HZ: ParamId = ParamId(1);
/// Low shelf gain.
pub const LOW_SHELF_DB: ParamId = ParamId(2);
/// Peaking band 1: frequency, gain, Q (band 2 and 3 follow at +3 and +6).
pub const PEAK1_HZ: ParamId = ParamId(3);
/// Peaking band 1 gain.
pub const PEAK1_DB: ParamId = ParamId(4);
/// Peaking band 1 Q.
pub const PEAK1_Q: ParamId = ParamId(5);
/// Peaking band 2 frequency.
pub const PEAK2_HZ: ParamId = ParamId(6);
/// Peaking band 2 gain.
pub const PEAK2_DB: ParamId = ParamId(7);
/// Peaking band 2 Q.
pub const PEAK2_Q: ParamId = ParamId(8);
/// Peaking band 3 frequency.
pub const PEAK3_HZ: ParamId = ParamId(9);
/// Peaking band 3 gain.
pub const PEAK3_DB: ParamId = ParamId(10);
/// Peaking band 3 Q.
pub const PEAK3_Q: ParamId = ParamId(11);
/// High shelf corner frequency.
pub const HIGH_SHELF_HZ: ParamId = ParamId(12);
/// High shelf gain.
pub const HIGH_SHELF_DB: ParamId = ParamId(13);
/// High cut (12 dB/octave low-pass) frequency; off at its maximum.
pub const HIGH_CUT_HZ: ParamId = ParamId(14);

/// Parameters in all.
const PARAMS: usize = 15;
/// Frames between coefficient updates.
const CONTROL_FRAMES: u64 = 16;
/// The cuts' Q (Butterworth) and the shelves' (the cookbook's slope S = 1).
const BUTTERWORTH_Q: f32 = std::f32::consts::FRAC_1_SQRT_2;
const LOW_CUT_OFF_HZ: f32 = 10.0;
const HIGH_CUT_OFF_HZ: f32 = 22_000.0;

/// Description of an `eq` node.
pub struct Eq {
    signature: NodeSignature,
}

impl Eq {
    /// Kind name in patch files.
    pub const KIND: &'static str = "eq";

    /// A stereo equalizer, flat by default.
    pub fn new() -> Self {
        let hz = |name, min, max, default| ParamSpec::continuous(name, min, max, default, Unit::Hertz);
        let db = |name| ParamSpec::continuous(name, -24.0, 24.0, 0.0, Unit::Decibels);
        let q = |name| ParamSpec::continuous(name, 0.1, 10.0, 1.0, Unit::None);
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts::stereo_in_out(),
                params: vec![
                    hz("low_cut_hz", LOW_CUT_OFF_HZ, 1_000.0, LOW_CUT_OFF_HZ),
                    hz("low_shelf_hz", 20.0, 1_000.0, 100.0),
                    db("low_shelf_db"),
                    hz("peak1_hz", 20.0, 20_000.0, 250.0),
                    db("peak1_db"),
                    q("peak1_q"),
                    hz("peak2_hz", 20.0, 20_000.0, 1_000.0),
                    db("peak2_db"),
                    q("peak2_q"),
                    hz("peak3_hz", 20.0, 20_000.0, 4_000.0),
                    db("peak3_db"),
                    q("peak3_q"),
                    hz("high_shelf_hz", 1_000.0, 20_000.0, 8_000.0),
                    db("high_shelf_db"),
                    hz("high_cut_hz", 1_000.0, HIGH_CUT_OFF_HZ, HIGH_CUT_OFF_HZ),
                ],
            },
        }
    }
}

impl Default for Eq {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Eq {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(EqProcessor {
            sample_rate: config.sample_rate,
            frame: 0,
            values: [f32::NAN; PARAMS],
            bands: [Band::default(); 7],
        })
    }
}

/// What a band's output mixes: `m0·input + m1·band-pass + m2·low-pass`.
#[derive(Copy, Clone, Debug, Default)]
struct Band {
    filters: [Svf; 2],
    mix: [f32; 3],
    /// Passes its input unchanged (a cut that is off, a band at 0 dB).
    bypass: bool,
}

impl Band {
    fn set(&mut self, coefs: SvfCoefficients, mix: [f32; 3], bypass: bool) {
        for filter in &mut self.filters {
            filter.set_coefficients(coefs);
        }
        self.mix = mix;
        self.bypass = bypass;
    }

    #[inline(always)]
    fn tick(&mut self, channel: usize, x: f32) -> f32 {
        // The filter runs even when bypassed, so its state is ready when the band comes back.
        let out = self.filters[channel].tick(x);
        if self.bypass {
            return x;
        }
        let [m0, m1, m2] = self.mix;
        m0 * x + m1 * out.band + m2 * out.low
    }
}

struct EqProcessor {
    sample_rate: f32,
    /// Frames processed so far (the control-rate clock).
    frame: u64,
    /// The parameter values the bands were last set for.
    values: [f32; PARAMS],
    /// Low cut, low shelf, peaks 1–3, high shelf, high cut.
    bands: [Band; 7],
}

impl EqProcessor {
    /// Sets every band for parameter values `v`.
    fn update(&mut self, v: [f32; PARAMS]) {
        self.values = v;
        let sr = self.sample_rate;
        // Cutoff whose prewarped gain is `tan(π·f/fs)·scale` (the shelves move it by √A).
        let scaled = |hz: f32, scale: f32| {
            let g = (std::f32::consts::PI * hz.min(0.49 * sr) / sr).tan() * scale;
            g.atan() * sr / std::f32::consts::PI
        };
        let gain = |db: f32| 10f32.powf(db / 40.0);
        let [low_cut, ls_hz, ls_db, p1_hz, p1_db, p1_q, p2_hz, p2_db, p2_q, p3_hz, p3_db, p3_q, hs_hz, hs_db, high_cut] =
            v;
        let k = 1.0 / BUTTERWORTH_Q;
        self.bands[0].set(SvfCoefficients::new(low_cut, k, sr), [1.0, -k, -1.0], low_cut <= LOW_CUT_OFF_HZ);
        let a = gain(ls_db);
        self.bands[1].set(
            SvfCoefficients::new(scaled(ls_hz, 1.0 / a.sqrt()), k, sr),
            [1.0, k * (a - 1.0), a * a - 1.0],
            ls_db == 0.0,
        );
        for (band, (hz, db, q)) in
            [(p1_hz, p1_db, p1_q), (p2_hz, p2_db, p2_q), (p3_hz, p3_db, p3_q)].into_iter().enumerate()
        {
            let a = gain(db);
            let k = 1.0 / (q * a);
            self.bands[2 + band].set(SvfCoefficients::new(hz, k, sr), [1.0, k * (a * a - 1.0), 0.0], db == 0.0);
        }
        let a = gain(hs_db);
        self.bands[5].set(
            SvfCoefficients::new(scaled(hs_hz, a.sqrt()), k, sr),
            [a * a, k * (1.0 - a) * a, 1.0 - a * a],
            hs_db == 0.0,
        );
        self.bands[6].set(SvfCoefficients::new(high_cut, k, sr), [0.0, 0.0, 1.0], high_cut >= HIGH_CUT_OFF_HZ);
    }
}

impl Processor for EqProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames();
        let params = ctx.params();
        let signals: [_; PARAMS] = std::array::from_fn(|p| params.get(ParamId(p as u32)));
        let (in_l, in_r) = ctx.inputs().stereo(0);
        let mut outputs = ctx.outputs();
        let (out_l, out_r) = outputs.stereo_mut(0);
        let n = frames.min(in_l.len()).min(in_r.len()).min(out_l.len()).min(out_r.len());
        for i in 0..n {
            if (self.frame + i as u64).is_multiple_of(CONTROL_FRAMES) {
                let v: [f32; PARAMS] = std::array::from_fn(|p| signals[p].at(i));
                if v != self.values {
                    self.update(v);
                }
            }
            let (mut l, mut r) = (in_l[i], in_r[i]);
            for band in &mut self.bands {
                l = band.tick(0, l);
                r = band.tick(1, r);
            }
            out_l[i] = l;
            out_r[i] = r;
        }
        self.frame += n as u64;
        for band in &mut self.bands {
            for filter in &mut band.filters {
                filter.flush_denormals();
            }
        }
    }
}
