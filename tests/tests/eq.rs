//! The `eq` node, measured on its output: with every band in use, the gain at five frequencies
//! is within 0.1 dB of the RBJ-cookbook biquads' analytic response (computed here from the
//! cookbook's formulas, independently of the node); a band swept fast and hard stays stable;
//! bands at 0 dB and cuts at the ends of their ranges pass the input bit for bit; the output is
//! bit-identical at 1-, 64- and 512-frame blocks.

use noderack_graph::{NodeId, ParamId};
use noderack_nodes::eq::{self, Eq};
use noderack_nodes::Output;
use noderack_tests::rig::{add, add_with, connect, Rig};
use noderack_tests::{rms, TestTone};

const SR: f64 = 48_000.0;

/// A second-order section `(b0, b1, b2, a0, a1, a2)`.
type Biquad = [f64; 6];

/// The cookbook's sections (Robert Bristow-Johnson, "Audio EQ Cookbook").
fn peaking(f0: f64, db: f64, q: f64) -> Biquad {
    let (a, w0) = (10f64.powf(db / 40.0), std::f64::consts::TAU * f0 / SR);
    let alpha = w0.sin() / (2.0 * q);
    [1.0 + alpha * a, -2.0 * w0.cos(), 1.0 - alpha * a, 1.0 + alpha / a, -2.0 * w0.cos(), 1.0 - alpha / a]
}

fn shelf(f0: f64, db: f64, high: bool) -> Biquad {
    let (a, w0) = (10f64.powf(db / 40.0), std::f64::consts::TAU * f0 / SR);
    let (cos, alpha) = (w0.cos(), w0.sin() / 2.0 * 2f64.sqrt()); // slope S = 1
    let root = 2.0 * a.sqrt() * alpha;
    if high {
        [
            a * ((a + 1.0) + (a - 1.0) * cos + root),
            -2.0 * a * ((a - 1.0) + (a + 1.0) * cos),
            a * ((a + 1.0) + (a - 1.0) * cos - root),
            (a + 1.0) - (a - 1.0) * cos + root,
            2.0 * ((a - 1.0) - (a + 1.0) * cos),
            (a + 1.0) - (a - 1.0) * cos - root,
        ]
    } else {
        [
            a * ((a + 1.0) - (a - 1.0) * cos + root),
            2.0 * a * ((a - 1.0) - (a + 1.0) * cos),
            a * ((a + 1.0) - (a - 1.0) * cos - root),
            (a + 1.0) + (a - 1.0) * cos + root,
            -2.0 * ((a - 1.0) + (a + 1.0) * cos),
            (a + 1.0) + (a - 1.0) * cos - root,
        ]
    }
}

fn pass(f0: f64, high: bool) -> Biquad {
    let w0 = std::f64::consts::TAU * f0 / SR;
    let (cos, alpha) = (w0.cos(), w0.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2));
    let (b0, b1) = if high { ((1.0 + cos) / 2.0, -(1.0 + cos)) } else { ((1.0 - cos) / 2.0, 1.0 - cos) };
    [b0, b1, b0, 1.0 + alpha, -2.0 * cos, 1.0 - alpha]
}

/// |H(e^{jω})| of `section` at `hz`.
fn magnitude(section: &Biquad, hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / SR;
    let at = |c0: f64, c1: f64, c2: f64| {
        let re = c0 + c1 * w.cos() + c2 * (2.0 * w).cos();
        let im = -(c1 * w.sin() + c2 * (2.0 * w).sin());
        (re * re + im * im).sqrt()
    };
    let [b0, b1, b2, a0, a1, a2] = *section;
    at(b0, b1, b2) / at(a0, a1, a2)
}

/// The gain of the node with `params` on a sine of `hz`, in dB (steady state, whole periods).
fn measured_db(params: &[(ParamId, f32)], hz: f64, block: usize) -> f64 {
    let mut rig = Rig::stereo(block);
    rig.apply(vec![
        add(1, "tone", TestTone::new(hz, 0.25)),
        add_with(2, "eq", Eq::new(), params.to_vec()),
        add(3, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
    ]);
    let out = rig.render(48_000, &[]);
    let tone: Vec<f32> = (24_000..48_000).map(|f| TestTone::sample_at(hz, 0.25, f, SR as f32)).collect();
    20.0 * (rms(&out[0][24_000..]) as f64 / rms(&tone) as f64).log10()
}

#[test]
fn every_band_matches_the_cookbook_response_within_a_tenth_of_a_db() {
    let params = vec![
        (eq::LOW_CUT_HZ, 30.0),
        (eq::LOW_SHELF_HZ, 100.0),
        (eq::LOW_SHELF_DB, 6.0),
        (eq::PEAK1_HZ, 250.0),
        (eq::PEAK1_DB, -9.0),
        (eq::PEAK1_Q, 2.0),
        (eq::PEAK2_HZ, 1_000.0),
        (eq::PEAK2_DB, 4.0),
        (eq::PEAK2_Q, 0.7),
        (eq::PEAK3_HZ, 4_000.0),
        (eq::PEAK3_DB, 10.0),
        (eq::PEAK3_Q, 4.0),
        (eq::HIGH_SHELF_HZ, 8_000.0),
        (eq::HIGH_SHELF_DB, -6.0),
        (eq::HIGH_CUT_HZ, 16_000.0),
    ];
    let sections = [
        pass(30.0, true),
        shelf(100.0, 6.0, false),
        peaking(250.0, -9.0, 2.0),
        peaking(1_000.0, 4.0, 0.7),
        peaking(4_000.0, 10.0, 4.0),
        shelf(8_000.0, -6.0, true),
        pass(16_000.0, false),
    ];
    for hz in [60.0, 250.0, 1_000.0, 4_000.0, 12_000.0] {
        let expected = 20.0 * sections.iter().map(|s| magnitude(s, hz)).product::<f64>().log10();
        let got = measured_db(&params, hz, 64);
        assert!((got - expected).abs() < 0.1, "{hz} Hz: {got:.3} dB, the cookbook says {expected:.3} dB");
    }
}

#[test]
fn flat_settings_pass_the_input_bit_for_bit() {
    let mut rig = Rig::stereo(64);
    rig.apply(vec![
        add(1, "tone", TestTone::new(997.0, 0.5)),
        add(2, "eq", Eq::new()),
        add(3, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
    ]);
    let out = rig.render(4_800, &[]);
    for (frame, s) in out[0].iter().enumerate() {
        assert_eq!(*s, TestTone::sample_at(997.0, 0.5, frame as u64, SR as f32), "frame {frame}");
    }
}

/// A loud tone through a band swept from 100 Hz to 10 kHz and back every 10 ms, at +24 dB and
/// Q 10, with `block`-frame blocks.
fn swept(block: usize) -> Vec<Vec<f32>> {
    let mut rig = Rig::stereo(block);
    rig.apply(vec![
        add(1, "tone", TestTone::new(440.0, 0.5)),
        add(4, "tone2", TestTone::new(3_100.0, 0.3)),
        add_with(2, "eq", Eq::new(), vec![(eq::PEAK2_DB, 24.0), (eq::PEAK2_Q, 10.0)]),
        add(3, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(4, 0, 2, 0),
        connect(2, 0, 3, 0),
    ]);
    for k in 0..100u64 {
        let hz = if k % 2 == 0 { 10_000.0 } else { 100.0 };
        rig.engine().set_param(NodeId(2), eq::PEAK2_HZ, hz, Some(k * 480 + 7)).unwrap();
    }
    rig.render(48_000, &[])
}

#[test]
fn a_band_swept_fast_and_hard_stays_stable() {
    let out = swept(64);
    assert!(out.iter().flatten().all(|s| s.is_finite()), "finite");
    let peak = out[0].iter().fold(0.0f32, |m, s| m.max(s.abs()));
    // +24 dB on a 0.8-peak input can reach about 13; a blow-up would be far beyond.
    assert!(peak < 20.0, "bounded: peak {peak}");
    assert!(rms(&out[0]) > 0.3, "and the boosted band is heard");
}

#[test]
fn the_output_is_the_same_at_every_block_size() {
    let reference = swept(64);
    assert_eq!(swept(1), reference, "1-frame blocks");
    assert_eq!(swept(512), reference, "512-frame blocks");
}
