//! `compressor` and `limiter`, driven through the real engine: host input buses feed the node,
//! host output buses collect what it renders.

use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use noderack_graph::{
    new_engine, BusSpec, Engine, EngineConfig, Executor, HostBlock, NodeDescription, NodeId, ParamId,
};
use noderack_nodes::compressor::{self, Compressor};
use noderack_nodes::limiter::{self, Limiter};
use noderack_nodes::{AudioIn, Output};
use noderack_tests::analysis::{max_step, peak};
use noderack_tests::rig::{add_shared, connect};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f32 = 48_000.0;

// ---------------------------------------------------------------------------------------------
// A renderer.

/// An engine with the given input and output buses (512-frame chunks).
fn engine(inputs: Vec<BusSpec>, buses: Vec<BusSpec>) -> (Engine, Executor) {
    new_engine(EngineConfig { sample_rate: SR, max_block_frames: 512, buses, inputs })
}

/// Renders `inputs` (one `Vec` per host input channel) through the executor in host blocks of
/// `block` frames; returns one `Vec` per output channel. Every `process` call runs inside
/// `assert_no_alloc`.
fn render(engine: &mut Engine, executor: &mut Executor, inputs: &[Vec<f32>], block: usize) -> Vec<Vec<f32>> {
    let frames = inputs[0].len();
    let mut out = vec![vec![0.0f32; frames]; engine.config().output_channels()];
    let mut start = 0;
    while start < frames {
        let n = block.min(frames - start);
        let ins: Vec<&[f32]> = inputs.iter().map(|c| &c[start..start + n]).collect();
        let mut outs: Vec<&mut [f32]> = out.iter_mut().map(|c| &mut c[start..start + n]).collect();
        assert_no_alloc(|| executor.process(HostBlock::new(n, &mut outs).with_inputs(&ins)));
        engine.maintain();
        start += n;
    }
    out
}

fn sine(frames: usize, hz: f32, amplitude: f32) -> Vec<f32> {
    (0..frames).map(|i| amplitude * (std::f32::consts::TAU * hz * i as f32 / SR).sin()).collect()
}

fn db(x: f32) -> f32 {
    20.0 * x.log10()
}

fn undb(x: f32) -> f32 {
    10f32.powf(x / 20.0)
}

/// A small deterministic generator (xorshift64*), for the limiter's random clicks.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    }
}

// ---------------------------------------------------------------------------------------------
// Compressor.

const COMP: u64 = 3;

/// Bus `in` → compressor `in`, bus `sc` → compressor `sidechain`; `out` → bus `main`,
/// `gain_reduction` → bus `gr`. Host output channels: main L, main R, gr.
fn compressor_rig(node: Arc<Compressor>, params: Vec<(ParamId, f32)>) -> (Engine, Executor) {
    let (mut engine, executor) = engine(
        vec![BusSpec::stereo("in"), BusSpec::stereo("sc")],
        vec![BusSpec::stereo("main"), BusSpec { name: "gr".into(), channels: 1 }],
    );
    engine
        .apply(vec![
            add_shared(1, Arc::new(AudioIn::new("in", 2)), vec![]),
            add_shared(2, Arc::new(AudioIn::new("sc", 2)), vec![]),
            add_shared(COMP, node, params),
            add_shared(4, Arc::new(Output::new("main", 2)), vec![]),
            add_shared(5, Arc::new(Output::new("gr", 1)), vec![]),
            connect(1, 0, COMP, compressor::IN as u16),
            connect(2, 0, COMP, compressor::SIDECHAIN as u16),
            connect(COMP, compressor::OUT as u16, 4, 0),
            connect(COMP, compressor::GAIN_REDUCTION as u16, 5, 0),
        ])
        .expect("compressor graph");
    (engine, executor)
}

/// The analytic static curve (Giannoulis et al.), written out independently of the node:
/// output level for input level `x` dB.
fn expected_output_db(x: f32, threshold: f32, ratio: f32, knee: f32) -> f32 {
    if 2.0 * (x - threshold) < -knee {
        x
    } else if 2.0 * (x - threshold).abs() <= knee {
        x + (1.0 / ratio - 1.0) * (x - threshold + knee / 2.0).powi(2) / (2.0 * knee)
    } else {
        threshold + (x - threshold) / ratio
    }
}

/// Output level (dB, peak over both channels, last 200 ms of one second) for steady 1 kHz
/// sines at `level_db` peak: in phase on both channels, or in quadrature (L = sin, R = cos).
fn compressor_steady_output_db(level_db: f32, release_ms: f32, quadrature: bool) -> f32 {
    let params = vec![(compressor::ATTACK_MS, 1.0), (compressor::RELEASE_MS, release_ms)];
    let (mut engine, mut executor) = compressor_rig(Arc::new(Compressor::new()), params);
    let frames = 48_000;
    let left = sine(frames, 1_000.0, undb(level_db));
    let right = if quadrature { left[12..].iter().chain(&left[..12]).copied().collect() } else { left.clone() };
    let silence = vec![0.0; frames];
    let out = render(&mut engine, &mut executor, &[left, right, silence.clone(), silence], 64);
    let settled = frames - 9_600;
    db(peak(&out[0][settled..]).max(peak(&out[1][settled..])))
}

/// The static curve at five levels, attack 1 ms, release 50 ms. The detector is a per-frame
/// peak detector, so a lone sine's level swings down to silence every half cycle and the
/// release pulls the reduction back between peaks (ripple); in quadrature the two channels'
/// linked peak stays within 3 dB of the level, and the curve shows through within 0.1 dB.
/// In-phase sines are measured too: within 0.25 dB with a 1 s release, and the ripple with
/// 50 ms is printed (and bounded) for the record.
#[test]
fn compressor_static_curve_at_five_levels() {
    let (threshold, ratio, knee) = (-18.0, 4.0, 6.0);
    let mut worst_ripple = 0.0f32;
    for level_db in [-40.0f32, -24.0, -18.0, -12.0, 0.0] {
        let input_peak_db = db(undb(level_db)); // the sampled 1 kHz sine hits its peak exactly
        let expected = expected_output_db(input_peak_db, threshold, ratio, knee);
        let quadrature = compressor_steady_output_db(level_db, 50.0, true);
        let slow_release = compressor_steady_output_db(level_db, 1_000.0, false);
        let in_phase = compressor_steady_output_db(level_db, 50.0, false);
        println!(
            "static curve: in {level_db:6.1} dBFS, expected {expected:8.3} dB; measured: quadrature/50 ms {quadrature:8.3} \
             ({:+.3}), in phase/1000 ms {slow_release:8.3} ({:+.3}), in phase/50 ms {in_phase:8.3} ({:+.3})",
            quadrature - expected,
            slow_release - expected,
            in_phase - expected
        );
        assert!((quadrature - expected).abs() <= 0.25, "quadrature, {level_db} dB: {quadrature} vs {expected}");
        assert!((slow_release - expected).abs() <= 0.25, "in phase, {level_db} dB: {slow_release} vs {expected}");
        worst_ripple = worst_ripple.max(in_phase - expected);
        assert!(in_phase >= expected - 0.01, "ripple only ever lets more through");
    }
    assert!(worst_ripple < 0.6, "in-phase ripple with a 50 ms release: {worst_ripple} dB");
}

#[test]
fn external_sidechain_ducks_a_quiet_input_and_the_meter_matches_the_applied_gain() {
    let node = Arc::new(Compressor::new());
    let params = vec![
        (compressor::EXTERNAL_SIDECHAIN, 1.0),
        (compressor::THRESHOLD_DB, -30.0),
        (compressor::RATIO, 5.0),
        (compressor::KNEE_DB, 0.0),
        (compressor::MAKEUP_DB, 3.0),
    ];
    let (mut engine, mut executor) = compressor_rig(node.clone(), params);
    let frames = 48_000;
    let quiet = sine(frames, 440.0, undb(-40.0));
    // The side-chain: a steady -6 dBFS level (a square wave, so the peak detector sees a
    // constant level), 24 dB over the threshold.
    let key: Vec<f32> = (0..frames).map(|i| if (i / 50) % 2 == 0 { 0.5 } else { -0.5 }).collect();
    let out = render(&mut engine, &mut executor, &[quiet.clone(), quiet.clone(), key.clone(), key], 64);
    let settled = frames / 2..frames;
    let expected_reduction = (1.0 - 1.0 / 5.0) * (db(0.5) + 30.0);
    let measured = db(peak(&out[0][settled.clone()])) - db(peak(&quiet[settled.clone()]));
    println!(
        "side-chain: quiet input changed by {measured:.3} dB, expected {:.3} dB (reduction {expected_reduction:.3} dB, make-up 3 dB)",
        3.0 - expected_reduction
    );
    assert!((measured - (3.0 - expected_reduction)).abs() < 0.01);
    // The gain_reduction output is the reduction applied, frame by frame.
    let mut worst = 0.0f32;
    for i in 0..frames {
        if quiet[i].abs() > 1e-3 {
            let applied = db(out[0][i] / quiet[i]);
            worst = worst.max((applied - (3.0 - out[2][i])).abs());
        }
    }
    println!("gain_reduction output vs applied gain: worst mismatch {worst:.2e} dB");
    assert!(worst < 1e-3);
    let reported = node.gain_reduction_db();
    println!("reported gain_reduction_db(): {reported:.4} dB");
    assert!((reported - expected_reduction).abs() < 0.01, "reported {reported}");
    assert_eq!(reported, peak(&out[2][frames - 64..]), "the report is the latest block's maximum");

    // Off: detection on `in`, which is below the threshold: nothing but the make-up.
    // (The key is still playing; the reduction releases with the 150 ms default release.)
    engine.set_param(NodeId(COMP), compressor::EXTERNAL_SIDECHAIN, 0.0, None).expect("set");
    let key = vec![0.5; 2 * frames];
    let quiet = sine(2 * frames, 440.0, undb(-40.0));
    let out = render(&mut engine, &mut executor, &[quiet.clone(), quiet, key.clone(), key], 64);
    assert!(peak(&out[2][2 * frames - 4_800..]) < 1e-3, "no reduction once the side-chain is off");
}

/// Renders the compressor at `block` frames per host block with parameter changes mid-render.
fn compressor_with_changes(block: usize) -> Vec<Vec<f32>> {
    let (mut engine, mut executor) = compressor_rig(Arc::new(Compressor::new()), vec![]);
    let frames = 24_000;
    let changes = [
        (3_001, compressor::THRESHOLD_DB, -40.0),
        (5_555, compressor::RATIO, 12.0),
        (7_000, compressor::ATTACK_MS, 0.5),
        (9_123, compressor::RELEASE_MS, 700.0),
        (11_000, compressor::KNEE_DB, 0.0),
        (13_000, compressor::MAKEUP_DB, 9.0),
        (15_000, compressor::EXTERNAL_SIDECHAIN, 1.0),
        (19_000, compressor::EXTERNAL_SIDECHAIN, 0.0),
        (19_000, compressor::THRESHOLD_DB, -6.0),
    ];
    for (at, param, value) in changes {
        engine.set_param(NodeId(COMP), param, value, Some(at)).expect("set_param");
    }
    let l = sine(frames, 330.0, 0.7);
    let r = sine(frames, 1_250.0, 0.3);
    let key: Vec<f32> = (0..frames).map(|i| if i % 4_000 < 2_000 { 0.9 } else { 0.01 }).collect();
    render(&mut engine, &mut executor, &[l, r, key.clone(), key], block)
}

#[test]
fn compressor_is_block_size_invariant() {
    let reference = compressor_with_changes(512);
    for block in [1, 64] {
        let got = compressor_with_changes(block);
        for (ch, (a, b)) in reference.iter().zip(&got).enumerate() {
            let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "channel {ch} differs between 512- and {block}-frame blocks");
        }
    }
}

#[test]
fn compressor_parameter_changes_do_not_click() {
    let (mut engine, mut executor) = compressor_rig(Arc::new(Compressor::new()), vec![]);
    let frames = 48_000;
    for (at, param, value) in [
        (12_000, compressor::THRESHOLD_DB, -50.0),
        (18_000, compressor::RATIO, 20.0),
        (24_000, compressor::THRESHOLD_DB, 0.0),
        (30_000, compressor::RATIO, 1.0),
        (36_000, compressor::MAKEUP_DB, 12.0),
    ] {
        engine.set_param(NodeId(COMP), param, value, Some(at)).expect("set_param");
    }
    let input = sine(frames, 440.0, 0.5);
    let silence = vec![0.0; frames];
    let out = render(&mut engine, &mut executor, &[input.clone(), input, silence.clone(), silence], 64);
    // The sine's own largest step at the loudest steady gain the settings reach.
    let steady_before = max_step(&out[0][6_000..12_000]);
    let steady_after = max_step(&out[0][42_000..48_000]);
    let reference = steady_before.max(steady_after);
    let worst = max_step(&out[0]);
    println!("compressor: largest step {worst:.5}, sine's own largest step {reference:.5}");
    assert!(worst <= 1.5 * reference, "click: {worst} > 1.5 × {reference}");
}

// ---------------------------------------------------------------------------------------------
// Limiter.

const LIM: u64 = 2;

/// Bus `in` → limiter → bus `main`; with `dry`, bus `in` also goes straight to `main`.
fn limiter_rig(node: Arc<Limiter>, params: Vec<(ParamId, f32)>, dry: bool) -> (Engine, Executor) {
    let (mut engine, executor) = engine(vec![BusSpec::stereo("in")], vec![BusSpec::stereo("main")]);
    let mut edits = vec![
        add_shared(1, Arc::new(AudioIn::new("in", 2)), vec![]),
        add_shared(LIM, node, params),
        add_shared(3, Arc::new(Output::new("main", 2)), vec![]),
        connect(1, 0, LIM, limiter::IN as u16),
        connect(LIM, limiter::OUT as u16, 3, 0),
    ];
    if dry {
        edits.push(connect(1, 0, 3, 0));
    }
    engine.apply(edits).expect("limiter graph");
    (engine, executor)
}

/// Sines at +12 dBFS plus single-sample clicks of random sign and amplitude up to +20 dBFS.
fn loud_signal(frames: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    let mut l = sine(frames, 97.0, undb(12.0));
    let mut r = sine(frames, 3_111.0, undb(12.0));
    let mut at = 0;
    while at < frames {
        let amplitude = undb(20.0) * rng.next_f32();
        let sign = if rng.next_f32() < 0.5 { -1.0 } else { 1.0 };
        if rng.next_f32() < 0.5 {
            l[at] = sign * amplitude;
        } else {
            r[at] = sign * amplitude;
        }
        at += 1 + (rng.next_f32() * 400.0) as usize;
    }
    vec![l, r]
}

#[test]
fn limiter_never_exceeds_its_ceiling() {
    for (ceiling_db, input_gain_db, release_ms) in [(-0.3f32, 0.0, 50.0), (-6.0, 12.0, 1.0), (-24.0, 24.0, 1000.0)] {
        let node = Arc::new(Limiter::new());
        let params = vec![
            (limiter::CEILING_DB, ceiling_db),
            (limiter::INPUT_GAIN_DB, input_gain_db),
            (limiter::RELEASE_MS, release_ms),
        ];
        let (mut engine, mut executor) = limiter_rig(node.clone(), params, false);
        let input = loud_signal(96_000, 0x9e37_79b9_7f4a_7c15);
        let out = render(&mut engine, &mut executor, &input, 64);
        let ceiling = 10f32.powf(ceiling_db / 20.0);
        let top = peak(&out[0]).max(peak(&out[1]));
        let over = out.iter().flatten().filter(|s| s.abs() > ceiling).count();
        println!(
            "limiter: ceiling {ceiling_db} dB ({ceiling:.7}), input gain {input_gain_db} dB, input peak {:.2} dBFS → output peak {top:.7} ({:.5} dBFS), {over} samples over, safety clamps {}",
            db(peak(&input[0]).max(peak(&input[1]))) + input_gain_db,
            db(top),
            node.safety_clamps()
        );
        assert_eq!(over, 0, "samples above the ceiling");
        assert_eq!(node.safety_clamps(), 0, "the gain computer alone kept the output in bounds");
        assert!(db(top) > ceiling_db - 0.5, "the limiter does reach its ceiling ({top})");
    }
}

#[test]
fn limiter_below_its_ceiling_is_a_pure_delay() {
    let node = Arc::new(Limiter::new());
    let latency = node.latency_frames() as usize;
    assert_eq!(latency, limiter::LOOKAHEAD_FRAMES);
    let (mut engine, mut executor) = limiter_rig(node.clone(), vec![], false);
    assert_eq!(engine.plan().latency_frames() as usize, latency);
    let frames = 20_000;
    let input = vec![sine(frames, 440.0, 0.9), sine(frames, 1_000.0, undb(-0.31))];
    let out = render(&mut engine, &mut executor, &input, 64);
    for ch in 0..2 {
        for i in 0..frames {
            let expected = if i < latency { 0.0 } else { input[ch][i - latency] };
            assert_eq!(out[ch][i].to_bits(), expected.to_bits(), "channel {ch}, frame {i}");
        }
    }
}

#[test]
fn limiter_latency_is_compensated_against_a_dry_path() {
    let node = Arc::new(Limiter::new());
    let (mut engine, mut executor) = limiter_rig(node.clone(), vec![], true);
    let latency = engine.plan().latency_frames();
    println!("limiter latency: node {} frames, plan {latency} frames", node.latency_frames());
    assert_eq!(latency, node.latency_frames());
    let frames = 5_000;
    let input = vec![sine(frames, 300.0, 0.4), sine(frames, 500.0, 0.3)];
    let out = render(&mut engine, &mut executor, &input, 64);
    let latency = latency as usize;
    for ch in 0..2 {
        for i in latency..frames {
            assert_eq!(out[ch][i], 2.0 * input[ch][i - latency], "channel {ch}, frame {i}: dry and wet aligned");
        }
    }
}

/// Renders the limiter at `block` frames per host block with parameter changes mid-render.
fn limiter_with_changes(block: usize) -> Vec<Vec<f32>> {
    let node = Arc::new(Limiter::new());
    let (mut engine, mut executor) = limiter_rig(node.clone(), vec![], false);
    for (at, param, value) in [
        (3_001, limiter::CEILING_DB, -9.0),
        (6_100, limiter::RELEASE_MS, 400.0),
        (9_999, limiter::INPUT_GAIN_DB, 18.0),
        (14_000, limiter::CEILING_DB, -1.0),
        (17_000, limiter::RELEASE_MS, 3.0),
    ] {
        engine.set_param(NodeId(LIM), param, value, Some(at)).expect("set_param");
    }
    let out = render(&mut engine, &mut executor, &loud_signal(24_000, 42), block);
    assert_eq!(node.safety_clamps(), 0, "ceiling and gain ramps under a loud signal need no clamp");
    out
}

#[test]
fn limiter_is_block_size_invariant() {
    let reference = limiter_with_changes(512);
    for block in [1, 64] {
        let got = limiter_with_changes(block);
        for (ch, (a, b)) in reference.iter().zip(&got).enumerate() {
            let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "channel {ch} differs between 512- and {block}-frame blocks");
        }
    }
}

#[test]
fn limiter_ceiling_changes_do_not_click() {
    let (mut engine, mut executor) = limiter_rig(Arc::new(Limiter::new()), vec![], false);
    let frames = 48_000;
    for (at, param, value) in [
        (12_000, limiter::CEILING_DB, -12.0),
        (24_000, limiter::CEILING_DB, -3.0),
        (30_000, limiter::INPUT_GAIN_DB, 6.0),
        (36_000, limiter::CEILING_DB, -0.3),
    ] {
        engine.set_param(NodeId(LIM), param, value, Some(at)).expect("set_param");
    }
    let input = vec![sine(frames, 440.0, 0.9); 2];
    let out = render(&mut engine, &mut executor, &input, 64);
    let reference = max_step(&out[0][6_000..12_000]).max(max_step(&out[0][42_000..48_000]));
    let worst = max_step(&out[0]);
    println!("limiter: largest step {worst:.5}, sine's own largest step {reference:.5}");
    assert!(worst <= 1.5 * reference, "click: {worst} > 1.5 × {reference}");
}

// ---------------------------------------------------------------------------------------------
// Both.

#[test]
fn both_render_300_blocks_with_parameter_changes_without_allocating() {
    let (mut engine, mut executor) = engine(
        vec![BusSpec::stereo("in"), BusSpec::stereo("sc")],
        vec![BusSpec::stereo("main"), BusSpec { name: "gr".into(), channels: 1 }],
    );
    let limiter_node = Arc::new(Limiter::new());
    engine
        .apply(vec![
            add_shared(1, Arc::new(AudioIn::new("in", 2)), vec![]),
            add_shared(2, Arc::new(AudioIn::new("sc", 2)), vec![]),
            add_shared(COMP, Arc::new(Compressor::new()), vec![]),
            add_shared(10, limiter_node.clone(), vec![]),
            add_shared(4, Arc::new(Output::new("main", 2)), vec![]),
            add_shared(5, Arc::new(Output::new("gr", 1)), vec![]),
            connect(1, 0, COMP, 0),
            connect(2, 0, COMP, 1),
            connect(COMP, 0, 10, 0),
            connect(10, 0, 4, 0),
            connect(COMP, 1, 5, 0),
        ])
        .expect("graph");
    let frames = 64;
    let mut loud = loud_signal(300 * frames, 7);
    loud.extend(loud.clone());
    let mut out = vec![vec![0.0f32; frames]; 3];
    reset_violation_count();
    for b in 0..300 {
        let value = (b % 7) as f32;
        engine.set_param(NodeId(COMP), compressor::THRESHOLD_DB, -6.0 * value, None).expect("set");
        engine.set_param(NodeId(COMP), compressor::RATIO, 1.0 + value, Some((b * frames + 17) as u64)).expect("set");
        engine.set_param(NodeId(COMP), compressor::EXTERNAL_SIDECHAIN, (b % 2) as f32, None).expect("set");
        engine.set_param(NodeId(10), limiter::CEILING_DB, -value, None).expect("set");
        engine.set_param(NodeId(10), limiter::RELEASE_MS, 1.0 + 100.0 * value, None).expect("set");
        let ins: Vec<&[f32]> = loud.iter().map(|c| &c[b * frames..(b + 1) * frames]).collect();
        let mut outs: Vec<&mut [f32]> = out.iter_mut().map(Vec::as_mut_slice).collect();
        assert_no_alloc(|| executor.process(HostBlock::new(frames, &mut outs).with_inputs(&ins)));
        engine.maintain();
    }
    assert_eq!(violation_count(), 0, "the audio thread allocated");
    assert_eq!(limiter_node.safety_clamps(), 0);
}
