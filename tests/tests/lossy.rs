//! Measurements of the `lossy` node through the real engine: transparency at loss 0, SNR
//! falling with loss, seeded reproducibility, silence in → silence out, the reported latency,
//! block-size invariance, and real-time safety.

use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::NodeDescription as _;
use noderack_graph::{Engine, Executor, HostBlock, NodeId, ParamId};
use noderack_nodes::lossy::{self, Lossy};
use noderack_tests::effect_rig::{effect_rig, render_through, EFFECT};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f32 = 48_000.0;
/// Comparisons start here, clear of the fade-in when the graph first goes live.
const START: usize = 4_096;
const LOSSY: NodeId = EFFECT;

/// Host input → lossy (with `params`) → host output.
fn rig(params: &[(ParamId, f32)]) -> (Engine, Executor) {
    effect_rig(Arc::new(Lossy::new()), params)
}

type Stereo = (Vec<f32>, Vec<f32>);

/// Renders `input` through a lossy node with `params` in blocks of `block` frames, with
/// `changes` (frame, parameter, value) sent sample-accurately up front.
fn render(params: &[(ParamId, f32)], input: &Stereo, block: usize, changes: &[(u64, ParamId, f32)]) -> Stereo {
    render_through(Arc::new(Lossy::new()), params, (&input.0, &input.1), block, changes)
}

/// Two tones per channel plus white noise (a fixed xorshift sequence), `frames` long.
fn two_tone_noise(frames: usize) -> Stereo {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let tone = |hz: f32, t: usize| (std::f32::consts::TAU * hz * t as f32 / SR).sin();
    let left = (0..frames).map(|t| 0.4 * tone(440.0, t) + 0.2 * tone(3_100.0, t) + 0.05 * noise()).collect();
    let right = (0..frames).map(|t| 0.3 * tone(660.0, t) + 0.25 * tone(5_200.0, t) + 0.05 * noise()).collect();
    (left, right)
}

fn latency() -> usize {
    Lossy::new().latency_frames() as usize
}

/// Parameters with every degradation off and `loss` as given.
fn clean(loss: f32) -> Vec<(ParamId, f32)> {
    vec![
        (lossy::LOSS, loss),
        (lossy::PACKET_LOSS, 0.0),
        (lossy::BIT_DEPTH, 24.0),
        (lossy::DECIMATE, 1.0),
        (lossy::MIX, 1.0),
    ]
}

/// SNR in dB of `output` against `input` delayed by the latency, both channels, from START.
fn snr_db(input: &Stereo, output: &Stereo) -> f64 {
    let lat = latency();
    let (mut signal, mut error) = (0.0f64, 0.0f64);
    for (x, y) in [(&input.0, &output.0), (&input.1, &output.1)] {
        for t in START + lat..x.len() {
            let (want, got) = (x[t - lat] as f64, y[t] as f64);
            signal += want * want;
            error += (got - want) * (got - want);
        }
    }
    10.0 * (signal / error.max(1e-30)).log10()
}

fn bits(s: &Stereo) -> Vec<u32> {
    s.0.iter().chain(&s.1).map(|v| v.to_bits()).collect()
}

#[test]
fn transparent_at_loss_zero() {
    let input = two_tone_noise(48_000);
    let output = render(&clean(0.0), &input, 256, &[]);
    let lat = latency();
    let mut max_error = 0.0f32;
    let mut energy = 0.0f64;
    for (x, y) in [(&input.0, &output.0), (&input.1, &output.1)] {
        for t in START + lat..x.len() {
            max_error = max_error.max((y[t] - x[t - lat]).abs());
            energy += (y[t] as f64).powi(2);
        }
    }
    println!("max abs error at loss 0: {max_error:e}");
    assert!(energy > 1_000.0, "output is (nearly) silent: energy {energy}");
    assert!(max_error < 1e-4, "max error {max_error}");
}

#[test]
fn snr_falls_as_loss_rises() {
    let input = two_tone_noise(96_000);
    let mut previous = f64::INFINITY;
    for loss in [0.1, 0.3, 0.6, 0.9] {
        let mut params = clean(loss);
        params.push((lossy::SEED, 11.0));
        let snr = snr_db(&input, &render(&params, &input, 512, &[]));
        println!("loss {loss}: SNR {snr:.2} dB");
        assert!(snr.is_finite());
        assert!(snr < previous, "SNR {snr} at loss {loss} is not below {previous}");
        previous = snr;
    }
}

#[test]
fn seed_makes_renders_reproducible() {
    let input = two_tone_noise(48_000);
    let with_seed = |seed: f32| {
        let mut params = clean(0.6);
        params.push((lossy::SEED, seed));
        render(&params, &input, 512, &[])
    };
    let a = with_seed(42.0);
    let b = with_seed(42.0);
    let c = with_seed(43.0);
    assert!(a.0.iter().any(|&v| v != 0.0), "silent render");
    assert_eq!(bits(&a), bits(&b), "same seed, different output");
    let differing = bits(&a).iter().zip(bits(&c)).filter(|(x, y)| **x != *y).count();
    println!("samples differing between seeds 42 and 43: {differing}");
    assert!(differing > 1_000, "different seeds gave (nearly) the same output: {differing} samples differ");
}

#[test]
fn silence_stays_silent() {
    let frames = 48_000;
    let zeros = (vec![0.0f32; frames], vec![0.0f32; frames]);
    let settings: [Vec<(ParamId, f32)>; 3] = [
        vec![],
        clean(0.0),
        vec![
            (lossy::LOSS, 0.9),
            (lossy::NOISE_SHAPING, 1.0),
            (lossy::PACKET_LOSS, 0.5),
            (lossy::BIT_DEPTH, 3.0),
            (lossy::DECIMATE, 7.0),
            (lossy::MIX, 0.5),
            (lossy::SEED, 99.0),
        ],
    ];
    let loud = two_tone_noise(frames);
    for params in &settings {
        let out = render(params, &zeros, 512, &[]);
        assert!(out.0.iter().chain(&out.1).all(|&v| v == 0.0), "noise in silence with {params:?}");
        // The same settings do pass a signal (the check above is not vacuous).
        let out = render(params, &loud, 512, &[]);
        assert!(out.0.iter().any(|&v| v != 0.0), "silent output for a loud input with {params:?}");
    }
}

#[test]
fn click_comes_out_after_the_reported_latency() {
    let lat = latency();
    assert_eq!(lat, lossy::WINDOW_FRAMES);
    let frames = START + 3 * lat;
    for at in [START, START + 77] {
        let mut click = vec![0.0f32; frames];
        click[at] = 1.0;
        let out = render(&clean(0.0), &(click.clone(), click), 64, &[]);
        let peak = (0..frames).max_by(|&a, &b| out.0[a].abs().total_cmp(&out.0[b].abs())).unwrap_or(0);
        println!("click at {at} → peak at {peak} ({}), latency {lat}", out.0[peak]);
        assert_eq!(peak, at + lat);
        assert!((out.0[peak] - 1.0).abs() < 1e-4 && (out.1[peak] - 1.0).abs() < 1e-4);
        let rest: f32 = out.0.iter().enumerate().filter(|&(t, _)| t != peak).map(|(_, v)| v.abs()).fold(0.0, f32::max);
        assert!(rest < 1e-4, "energy away from the delayed click: {rest}");
    }
}

#[test]
fn block_size_does_not_change_the_output() {
    let input = two_tone_noise(24_000);
    let params = vec![
        (lossy::LOSS, 0.5),
        (lossy::PACKET_LOSS, 0.2),
        (lossy::BIT_DEPTH, 12.0),
        (lossy::DECIMATE, 3.0),
        (lossy::MIX, 0.8),
        (lossy::SEED, 5.0),
    ];
    // Mid STFT frame (not on a hop boundary) and mid block for every block size.
    let changes = [
        (10_037, lossy::LOSS, 0.8),
        (10_037, lossy::SEED, 7.0),
        (10_037, lossy::DECIMATE, 5.0),
        (13_001, lossy::MIX, 1.0),
    ];
    let reference = render(&params, &input, 512, &changes);
    for block in [1, 64] {
        assert_eq!(bits(&render(&params, &input, block, &changes)), bits(&reference), "block {block} differs");
    }
    let unchanged = render(&params, &input, 512, &[]);
    assert_ne!(bits(&unchanged), bits(&reference), "the parameter changes had no effect");
    assert_eq!(bits(&unchanged)[..10_000], bits(&reference)[..10_000], "changes acted before their frame");
}

#[test]
fn process_does_not_allocate() {
    let input = two_tone_noise(300 * 64);
    let params = vec![(lossy::PACKET_LOSS, 0.3), (lossy::BIT_DEPTH, 8.0), (lossy::DECIMATE, 2.0)];
    let (mut engine, mut executor) = rig(&params);
    let (mut left, mut right) = (vec![0.0f32; 64], vec![0.0f32; 64]);
    let before = violation_count();
    let mut energy = 0.0f64;
    for block in 0..300 {
        if block % 25 == 0 {
            let at = Some((block * 64 + 13) as u64);
            let v = (block % 100) as f32 / 100.0;
            engine.set_param(LOSSY, lossy::LOSS, v, at).expect("set_param");
            engine.set_param(LOSSY, lossy::NOISE_SHAPING, 1.0 - v, at).expect("set_param");
            engine.set_param(LOSSY, lossy::SEED, block as f32, at).expect("set_param");
            engine.set_param(LOSSY, lossy::MIX, 0.5 + v / 2.0, at).expect("set_param");
        }
        let range = block * 64..(block + 1) * 64;
        let ins: [&[f32]; 2] = [&input.0[range.clone()], &input.1[range]];
        let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
        assert_no_alloc(|| executor.process(HostBlock::new(64, &mut outs).with_inputs(&ins)));
        energy += left.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
        engine.maintain();
    }
    assert!(energy > 10.0, "the node produced (nearly) nothing: energy {energy}");
    assert_eq!(violation_count(), before, "process allocated or freed");
}

#[test]
fn allocation_checker_is_live() {
    // Guards `process_does_not_allocate` against passing vacuously.
    let before = violation_count();
    assert_no_alloc(|| std::hint::black_box(vec![1u8; 16]).len());
    assert!(violation_count() > before, "assert_no_alloc does not count allocations in this build");
}
