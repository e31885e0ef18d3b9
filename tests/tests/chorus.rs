//! The `chorus` node, measured on its output: unswept, it is a plain delay to the frame;
//! swept and mixed with the dry signal, a steady tone beats (the comb moves); with feedback
//! and a short delay it flanges, each repeat `feedback` times the last, on its frame; the two
//! sides sweep in quadrature; the output is bit-identical at 1-, 64- and 512-frame blocks; the
//! audio thread allocates nothing.

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{new_engine, EngineConfig, HostBlock, NodeDescription, NodeId, ParamId};
use noderack_nodes::chorus::{self, Chorus};
use noderack_nodes::Output;
use noderack_tests::impulse::Impulse;
use noderack_tests::rig::{add, add_with, connect, Rig};
use noderack_tests::{rms, TestTone};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const CHORUS: u64 = 2;

/// `source` → chorus (with `params`) → out, in blocks of `block` frames.
fn rig(source: impl NodeDescription, params: Vec<(ParamId, f32)>, block: usize) -> Rig {
    let mut rig = Rig::stereo(block);
    rig.apply(vec![
        add(1, "source", source),
        add_with(CHORUS, "chorus", Chorus::new(), params),
        add(3, "out", Output::new("main", 2)),
        connect(1, 0, CHORUS, 0),
        connect(CHORUS, 0, 3, 0),
    ]);
    rig
}

#[test]
fn unswept_it_is_a_delay_to_the_frame() {
    let params = vec![(chorus::DEPTH, 0.0), (chorus::DELAY_MS, 10.0), (chorus::MIX, 1.0)];
    let out = rig(Impulse::at(&[1_000], 1.0), params, 64).render(4_000, &[]);
    for channel in &out {
        let heard: Vec<usize> = channel.iter().enumerate().filter(|(_, s)| **s != 0.0).map(|(i, _)| i).collect();
        assert_eq!(heard, vec![1_480], "10 ms = 480 frames");
        assert_eq!(channel[1_480], 1.0);
    }
}

#[test]
fn with_feedback_and_a_short_delay_it_flanges() {
    let params = vec![(chorus::DEPTH, 0.0), (chorus::DELAY_MS, 2.0), (chorus::FEEDBACK, 0.7), (chorus::MIX, 1.0)];
    let out = rig(Impulse::at(&[500], 1.0), params, 64).render(2_000, &[]);
    for k in 1..=5 {
        let frame = 500 + 96 * k;
        let expected = 0.7f32.powi(k as i32 - 1);
        assert!((out[0][frame] - expected).abs() < 1e-5, "repeat {k} at frame {frame}: {}", out[0][frame]);
    }
    let between: f32 = out[0][500 + 97..500 + 191].iter().map(|s| s.abs()).sum();
    assert_eq!(between, 0.0, "nothing between the repeats");
}

/// The RMS of 10-ms windows of the left channel after the first 0.2 s: (lowest, highest).
fn window_levels(out: &[Vec<f32>]) -> (f32, f32) {
    let levels: Vec<f32> = out[0][9_600..].chunks(480).map(rms).collect();
    (levels.iter().copied().fold(f32::MAX, f32::min), levels.iter().copied().fold(0.0, f32::max))
}

#[test]
fn swept_and_mixed_a_steady_tone_beats() {
    let tone = || TestTone::new(1_000.0, 0.5);
    let steady = vec![(chorus::DEPTH, 0.0), (chorus::MIX, 0.5)];
    let (low, high) = window_levels(&rig(tone(), steady, 64).render(96_000, &[]));
    assert!(high / low < 1.01, "unswept, the level holds: {low}..{high}");
    let swept = vec![(chorus::DEPTH, 0.5), (chorus::RATE_HZ, 2.0), (chorus::MIX, 0.5)];
    let out = rig(tone(), swept, 64).render(96_000, &[]);
    let (low, high) = window_levels(&out);
    assert!(high / low > 2.0, "swept, the comb moves across the tone: {low}..{high}");
    assert!(out[0] != out[1], "the sides sweep apart");
}

#[test]
fn the_output_is_the_same_at_every_block_size() {
    let render = |block: usize| {
        let params = vec![(chorus::DEPTH, 0.8), (chorus::RATE_HZ, 3.0), (chorus::FEEDBACK, 0.5)];
        let mut rig = rig(TestTone::new(523.0, 0.4), params, block);
        rig.engine().set_param(NodeId(CHORUS), chorus::DELAY_MS, 3.0, Some(10_001)).unwrap();
        rig.engine().set_param(NodeId(CHORUS), chorus::FEEDBACK, -0.6, Some(20_000)).unwrap();
        rig.render(30_000, &[])
    };
    let reference = render(64);
    assert_eq!(render(1), reference, "1-frame blocks");
    assert_eq!(render(512), reference, "512-frame blocks");
}

#[test]
fn the_audio_thread_allocates_nothing() {
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(48_000.0));
    engine
        .apply(vec![
            add(1, "tone", TestTone::new(440.0, 0.5)),
            add(CHORUS, "chorus", Chorus::new()),
            add(3, "out", Output::new("main", 2)),
            connect(1, 0, CHORUS, 0),
            connect(CHORUS, 0, 3, 0),
        ])
        .unwrap();
    let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let before = violation_count();
    for block in 0..300u64 {
        if block % 25 == 4 {
            let at = Some(block * 256 + 9);
            engine.set_param(NodeId(CHORUS), chorus::RATE_HZ, 0.5 + (block % 5) as f32, at).unwrap();
            engine.set_param(NodeId(CHORUS), chorus::FEEDBACK, 0.3 * (block % 3) as f32, at).unwrap();
        }
        let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
        assert_no_alloc(|| executor.process(HostBlock::new(256, &mut outs)));
        engine.maintain();
    }
    assert_eq!(violation_count(), before, "the audio thread allocated");
    assert!(rms(&left) > 0.05, "it played");
}
