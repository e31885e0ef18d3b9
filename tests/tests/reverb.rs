//! Measurements of the `reverb` node through the engine: decay times per band (Schroeder
//! integration), stability at the longest decay, stereo decorrelation, DC, block-size
//! invariance, clicks on parameter changes, and real-time safety.

use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{Engine, Executor, HostBlock, NodeId, ParamId};
use noderack_nodes::reverb::{self, Reverb};
use noderack_tests::analysis::max_step;
use noderack_tests::effect_rig::{effect_rig, render_through, EFFECT};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f32 = 48_000.0;
/// Inputs start here, clear of anything the engine does when the graph first goes live.
const START: usize = 1_000;
const REVERB: NodeId = EFFECT;

/// Host input → reverb (with `params`) → host output.
fn rig(params: &[(ParamId, f32)]) -> (Engine, Executor) {
    effect_rig(Arc::new(Reverb::new()), params)
}

/// Renders `input` (left, right) through a reverb with `params`, in blocks of `block` frames,
/// with `changes` (frame, parameter, value) sent sample-accurately up front.
fn render(
    params: &[(ParamId, f32)],
    input: (&[f32], &[f32]),
    block: usize,
    changes: &[(u64, ParamId, f32)],
) -> (Vec<f32>, Vec<f32>) {
    render_through(Arc::new(Reverb::new()), params, input, block, changes)
}

fn seconds(s: f32) -> usize {
    (s * SR) as usize
}

/// A unit impulse at [`START`] in both channels, `total` frames long.
fn impulse(total: usize) -> Vec<f32> {
    let mut v = vec![0.0; total];
    v[START] = 1.0;
    v
}

/// The wet impulse response (both channels) for `params` on top of wet-only.
fn impulse_response(params: &[(ParamId, f32)], length_seconds: f32) -> (Vec<f32>, Vec<f32>) {
    let mut all = vec![(reverb::MIX, 1.0)];
    all.extend_from_slice(params);
    let x = impulse(seconds(length_seconds) + START);
    let (l, r) = render(&all, (&x, &x), 512, &[]);
    (l[START..].to_vec(), r[START..].to_vec())
}

/// RBJ band-pass (0 dB peak) biquad, in f64.
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    z: [f64; 2],
}

impl Biquad {
    fn band_pass(center_hz: f64, q: f64) -> Self {
        let w = std::f64::consts::TAU * center_hz / SR as f64;
        let alpha = w.sin() / (2.0 * q);
        let a0 = 1.0 + alpha;
        Self { b: [alpha / a0, 0.0, -alpha / a0], a: [-2.0 * w.cos() / a0, (1.0 - alpha) / a0], z: [0.0; 2] }
    }

    fn tick(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

/// `signal` through an octave band around `center_hz` (two cascaded band-pass biquads).
fn octave_band(signal: &[f32], center_hz: f64) -> Vec<f64> {
    let q = std::f64::consts::SQRT_2; // one octave
    let (mut a, mut b) = (Biquad::band_pass(center_hz, q), Biquad::band_pass(center_hz, q));
    signal.iter().map(|&x| b.tick(a.tick(x as f64))).collect()
}

/// RT60 (seconds) of the response (`left`, `right`) in the octave band at `center_hz`: the
/// Schroeder backward integral of the band energy, a least-squares line through its −5..−35 dB
/// part (T30), extrapolated to 60 dB.
fn rt60(left: &[f32], right: &[f32], center_hz: f64) -> f64 {
    let (bl, br) = (octave_band(left, center_hz), octave_band(right, center_hz));
    let mut energy: Vec<f64> = bl.iter().zip(&br).map(|(l, r)| l * l + r * r).collect();
    let mut sum = 0.0;
    for e in energy.iter_mut().rev() {
        sum += *e;
        *e = sum;
    }
    let total = energy[0];
    assert!(total > 0.0, "no energy in the {center_hz} Hz band");
    let db: Vec<f64> = energy.iter().map(|e| 10.0 * (e / total).max(1e-30).log10()).collect();
    let first = db.iter().position(|&d| d <= -5.0).expect("decays by 5 dB");
    let last = db.iter().position(|&d| d <= -35.0).expect("decays by 35 dB");
    assert!(last > first + 100, "a usable T30 range");
    let n = (last - first) as f64;
    let (mut st, mut sd, mut stt, mut std_) = (0.0, 0.0, 0.0, 0.0);
    for (i, &d) in db[first..last].iter().enumerate() {
        let t = (first + i) as f64 / SR as f64;
        st += t;
        sd += d;
        stt += t * t;
        std_ += t * d;
    }
    let slope = (n * std_ - st * sd) / (n * stt - st * st);
    -60.0 / slope
}

fn assert_within(measured: f64, expected: f64, tolerance: f64, what: &str) {
    let error = (measured - expected) / expected;
    println!("{what}: set {expected:.3} s, measured {measured:.3} s ({:+.1} %)", error * 100.0);
    assert!(error.abs() <= tolerance, "{what}: measured {measured:.3} s, expected {expected:.3} s ± {tolerance}");
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

fn mean(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64
}

/// Deterministic white noise in −1..1.
fn noise(frames: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..frames)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect()
}

#[test]
fn flat_decay_matches_the_setting_at_500_hz_and_2_khz() {
    for decay in [1.0f32, 3.0] {
        let (l, r) =
            impulse_response(&[(reverb::DECAY_SECONDS, decay), (reverb::HF_DECAY_RATIO, 1.0)], 1.5 * decay + 1.0);
        for band in [500.0, 2_000.0] {
            assert_within(rt60(&l, &r, band), decay as f64, 0.10, &format!("flat {decay} s at {band} Hz"));
        }
    }
}

#[test]
fn high_frequencies_decay_at_the_ratio_set() {
    let (l, r) = impulse_response(
        &[(reverb::DECAY_SECONDS, 2.0), (reverb::HF_DECAY_RATIO, 0.5), (reverb::CROSSOVER_HZ, 1_000.0)],
        4.0,
    );
    assert_within(rt60(&l, &r, 250.0), 2.0, 0.15, "low band (250 Hz)");
    assert_within(rt60(&l, &r, 8_000.0), 1.0, 0.15, "high band (8 kHz)");
}

#[test]
fn the_longest_decay_dies_away_and_stays_finite() {
    let x = impulse(seconds(61.0) + START);
    let (l, r) = render(&[(reverb::DECAY_SECONDS, reverb::MAX_DECAY_SECONDS), (reverb::MIX, 1.0)], (&x, &x), 512, &[]);
    assert!(l.iter().chain(&r).all(|v| v.is_finite()), "every sample finite");
    let first = rms(&l[START..START + seconds(1.0)]) + rms(&r[START..START + seconds(1.0)]);
    let end = l.len();
    let last = rms(&l[end - seconds(1.0)..]) + rms(&r[end - seconds(1.0)..]);
    let drop_db = 20.0 * (first / last.max(1e-30)).log10();
    println!("30 s decay: first second {first:.3e}, last second {last:.3e}, {drop_db:.1} dB down");
    assert!(first > 1e-3, "the impulse reverberates");
    assert!(drop_db >= 80.0, "only {drop_db:.1} dB down after 60 s");
}

#[test]
fn left_and_right_tails_are_decorrelated() {
    let (l, r) = impulse_response(&[(reverb::WIDTH, 1.0)], 2.0);
    let from = seconds(0.05);
    let (l, r) = (&l[from..], &r[from..]);
    let lr: f64 = l.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum();
    let corr = lr / (rms(l) * rms(r) * l.len() as f64);
    println!("L/R correlation of the tail: {corr:.4}");
    assert!(rms(l) > 1e-4 && rms(r) > 1e-4, "both channels carry a tail");
    assert!(corr.abs() < 0.3, "correlation {corr}");
    // Width 0 folds the channels together: the measurement does detect correlation.
    let (l0, r0) = impulse_response(&[(reverb::WIDTH, 0.0)], 0.5);
    assert_eq!(l0, r0, "width 0 is mono");
}

#[test]
fn the_wet_signal_carries_no_dc() {
    let (l, r) = impulse_response(&[], 4.0);
    for (name, ch) in [("left", &l), ("right", &r)] {
        let ratio = mean(ch).abs() / rms(ch);
        println!("{name}: IR mean / RMS = {ratio:.2e}");
        assert!(ratio < 1e-3, "{name} IR mean / RMS = {ratio}");
    }
    // A constant input: the wet output's DC dies out instead of building up.
    let frames = seconds(6.0);
    let dc = vec![0.5f32; frames];
    let (l, r) = render(&[(reverb::MIX, 1.0)], (&dc, &dc), 512, &[]);
    let second = seconds(1.0);
    let (ml, mr) = (mean(&l[frames - second..]), mean(&r[frames - second..]));
    let peak = l.iter().chain(&r).fold(0.0f32, |a, &b| a.max(b.abs()));
    println!("DC input 0.5: last-second mean {ml:.2e} / {mr:.2e}, peak {peak:.3}");
    assert!(peak > 0.01, "the onset of the DC input reverberates");
    assert!(ml.abs() < 1e-4 && mr.abs() < 1e-4, "DC left in the wet output: {ml} {mr}");
}

#[test]
fn output_does_not_depend_on_block_size() {
    let frames = seconds(2.0);
    let mut x = noise(frames, 7);
    x[seconds(0.3)..].iter_mut().for_each(|v| *v = 0.0);
    let y = noise(frames, 11);
    let mut y = y.iter().zip(&x).map(|(a, b)| if *b == 0.0 { 0.0 } else { *a }).collect::<Vec<_>>();
    y[..START].iter_mut().for_each(|v| *v = 0.0);
    let changes = [
        (seconds(1.0) as u64, reverb::DECAY_SECONDS, 3.0),
        (seconds(0.5) as u64 + 3, reverb::SIZE, 0.6),
        (seconds(0.7) as u64 + 5, reverb::PREDELAY_MS, 40.0),
        (seconds(1.2) as u64 + 1, reverb::MODULATION, 1.0),
        (seconds(1.4) as u64 + 7, reverb::HF_DECAY_RATIO, 0.3),
        (seconds(1.5) as u64 + 9, reverb::WIDTH, 0.4),
    ];
    let params = [(reverb::DECAY_SECONDS, 1.0), (reverb::MIX, 0.6)];
    let whole = render(&params, (&x, &y), 512, &changes);
    assert!(rms(&whole.0[seconds(1.5)..]) > 1e-6, "the tail is still sounding at the end");
    assert_eq!(whole, render(&params, (&x, &y), 64, &changes), "64-frame blocks");
    assert_eq!(whole, render(&params, (&x, &y), 1, &changes), "1-frame blocks");
    assert_eq!(whole, render(&params, (&x, &y), 37, &changes), "37-frame blocks");
}

#[test]
fn parameter_sweeps_do_not_click() {
    let frames = seconds(4.0);
    let sine: Vec<f32> = (0..frames)
        .map(|i| if i < START { 0.0 } else { 0.5 * (std::f32::consts::TAU * 440.0 * i as f32 / SR).sin() })
        .collect();
    let params = [(reverb::MIX, 0.5)];
    let clean = render(&params, (&sine, &sine), 512, &[]);
    let mut changes = Vec::new();
    let mut frame = seconds(1.0) as u64;
    let mut n = 0;
    while frame < frames as u64 {
        let size = [0.4, 1.0, 0.25, 0.8, 0.55][n % 5];
        let decay = [0.5, 5.0, 1.5, 12.0, 0.2][n % 5];
        changes.push((frame, reverb::SIZE, size));
        changes.push((frame, reverb::DECAY_SECONDS, decay));
        frame += seconds(0.05) as u64;
        n += 1;
    }
    let swept = render(&params, (&sine, &sine), 512, &changes);
    let from = seconds(0.5);
    let clean_step = max_step(&clean.0[from..]).max(max_step(&clean.1[from..]));
    let swept_step = max_step(&swept.0[from..]).max(max_step(&swept.1[from..]));
    println!("largest step: clean {clean_step:.4}, swept {swept_step:.4}");
    assert!(clean_step > 0.01, "the sine plays through");
    assert!(swept != clean, "the sweep changed the sound");
    assert!(swept_step < 2.0 * clean_step, "a click: step {swept_step} against {clean_step} clean");
}

#[test]
fn processing_never_allocates() {
    let (mut engine, mut executor) = rig(&[]);
    let block = 64;
    let x = noise(block, 3);
    let (mut l, mut r) = (vec![0.0f32; block], vec![0.0f32; block]);
    let ins: [&[f32]; 2] = [&x, &x];
    // The first block adopts the plan (outside the check: that is the executor's business).
    {
        let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
        executor.process(HostBlock::new(block, &mut outs).with_inputs(&ins));
    }
    let before = violation_count();
    for n in 0..500u32 {
        if n % 10 == 0 {
            let v = (n % 30) as f32 / 30.0;
            engine.set_param(REVERB, reverb::SIZE, 0.25 + 0.75 * v, None).expect("size");
            engine.set_param(REVERB, reverb::DECAY_SECONDS, 0.5 + 10.0 * v, None).expect("decay");
            engine.set_param(REVERB, reverb::PREDELAY_MS, 200.0 * v, None).expect("predelay");
            engine.set_param(REVERB, reverb::CROSSOVER_HZ, 500.0 + 5_000.0 * v, None).expect("crossover");
            engine.set_param(REVERB, reverb::MODULATION, v, None).expect("modulation");
        }
        let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
        assert_no_alloc(|| executor.process(HostBlock::new(block, &mut outs).with_inputs(&ins)));
        engine.maintain();
    }
    assert_eq!(violation_count(), before, "the audio thread allocated or freed");
    assert!(rms(&l) > 1e-4, "the reverb was running");
    // The checker works: an allocation inside is counted.
    let _ = assert_no_alloc(|| std::hint::black_box(vec![1u8; 16]).len());
    assert!(violation_count() > before, "an allocation inside assert_no_alloc must be counted");
}
