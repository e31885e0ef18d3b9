//! The `delay` node, measured on its output: echoes land on exactly the frame the setting
//! names (in beats at 120 and 97 BPM, in milliseconds); ping-pong alternates sides; repeats fade
//! and darken; a time change glides without a click and settles on the new time exactly; the
//! output is bit-identical at 1-, 64- and 512-frame blocks; the audio thread allocates nothing.

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{new_engine, EngineConfig, HostBlock, NodeId, ParamId, TransportChange};
use noderack_nodes::delay::{self, Delay};
use noderack_nodes::Output;
use noderack_tests::analysis::max_step;
use noderack_tests::impulse::Impulse;
use noderack_tests::rig::{add, add_with, connect, Rig};
use noderack_tests::TestTone;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f64 = 48_000.0;
const SOURCE: u64 = 1;
const DELAY: u64 = 2;
const OUT: u64 = 3;

/// `source` → delay (with `params`) → out, at `bpm`, in blocks of `block` frames.
fn rig(source: impl noderack_graph::NodeDescription, params: Vec<(ParamId, f32)>, bpm: f64, block: usize) -> Rig {
    let mut rig = Rig::stereo(block);
    rig.engine().set_transport(TransportChange { tempo_bpm: Some(bpm), ..Default::default() }).unwrap();
    rig.apply(vec![
        add(SOURCE, "source", source),
        add_with(DELAY, "delay", Delay::new(), params),
        add(OUT, "out", Output::new("main", 2)),
        connect(SOURCE, 0, DELAY, 0),
        connect(DELAY, 0, OUT, 0),
    ]);
    rig
}

/// The frames at which `signal` is not zero.
fn nonzero(signal: &[f32]) -> Vec<usize> {
    signal.iter().enumerate().filter(|(_, s)| **s != 0.0).map(|(i, _)| i).collect()
}

#[test]
fn echoes_land_on_the_frame_the_beats_name() {
    for (bpm, beat_frames) in [(120.0, 24_000usize), (97.0, 29_691)] {
        assert_eq!(beat_frames, (60.0 / bpm * SR).round() as usize);
        let wet = vec![(delay::SYNC, 1.0), (delay::TIME_BEATS, 1.0), (delay::FEEDBACK, 0.0), (delay::MIX, 1.0)];
        let out = rig(Impulse::at(&[1_000], 1.0), wet, bpm, 64).render(1_000 + 3 * beat_frames as u64, &[]);
        assert_eq!(nonzero(&out[0]), vec![1_000 + beat_frames], "{bpm} BPM: one echo, on its frame");
        assert_eq!(out[0][1_000 + beat_frames], 1.0, "{bpm} BPM: the impulse itself");
        assert_eq!(out[0], out[1]);
        // Half a beat, with the dry signal mixed in.
        let half = vec![(delay::SYNC, 1.0), (delay::TIME_BEATS, 0.5), (delay::FEEDBACK, 0.0), (delay::MIX, 0.5)];
        let out = rig(Impulse::at(&[1_000], 1.0), half, bpm, 64).render(1_000 + beat_frames as u64, &[]);
        let echo = 1_000 + (30.0 / bpm * SR).round() as usize;
        assert_eq!(nonzero(&out[0]), vec![1_000, echo]);
        assert_eq!((out[0][1_000], out[0][echo]), (0.5, 0.5));
    }
}

#[test]
fn milliseconds_and_feedback_repeats_that_fade_and_darken() {
    let params = vec![(delay::TIME_MS, 250.0), (delay::FEEDBACK, 0.5), (delay::TONE_HZ, 2_000.0), (delay::MIX, 1.0)];
    let out = rig(Impulse::at(&[0], 1.0), params, 120.0, 64).render(60_000, &[]);
    let echo = 12_000; // 250 ms
    assert_eq!(nonzero(&out[0][..echo + 1]), vec![echo], "the first echo, exactly 250 ms late");
    assert_eq!(out[0][echo], 1.0);
    let energy = |k: usize| out[0][k * echo - 10..(k + 1) * echo - 10].iter().map(|s| s * s).sum::<f32>();
    let (first, second, third) = (energy(1), energy(2), energy(3));
    assert!(
        second < 0.25 * first && third < 0.25 * second,
        "each repeat below half the level: {first} {second} {third}"
    );
    assert!(third > 0.0, "and still there");
    let spread = |k: usize| nonzero(&out[0][k * echo - 10..(k + 1) * echo - 10]).len();
    assert!(spread(2) > 10, "the tone filter smears the repeats (darker): {} samples", spread(2));
}

#[test]
fn ping_pong_alternates_sides() {
    let params =
        vec![(delay::TIME_MS, 100.0), (delay::FEEDBACK, 0.5), (delay::TONE_HZ, 20_000.0), (delay::PING_PONG, 1.0)];
    let mut params = params;
    params.push((delay::MIX, 1.0));
    let out = rig(Impulse::at(&[0], 1.0), params, 120.0, 64).render(20_000, &[]);
    let echo = 4_800;
    let level = |channel: usize, k: usize| {
        out[channel][k * echo - 5..k * echo + 200].iter().map(|s| s.abs()).fold(0.0f32, f32::max)
    };
    assert!(level(0, 1) > 0.9 && level(1, 1) == 0.0, "first echo left only");
    assert!(level(1, 2) > 0.1 && level(0, 2) == 0.0, "second echo right only");
    assert!(level(0, 3) > 0.01 && level(1, 3) == 0.0, "third echo left again");
}

#[test]
fn a_time_change_glides_without_a_click_and_settles_exactly() {
    let tone = || TestTone::new(220.0, 0.5);
    let params = vec![(delay::TIME_MS, 100.0), (delay::FEEDBACK, 0.0), (delay::MIX, 1.0)];
    let mut rig = rig(tone(), params, 120.0, 64);
    rig.engine().set_param(NodeId(DELAY), delay::TIME_MS, 300.0, Some(48_000)).unwrap();
    let out = rig.render(4 * 48_000, &[]);
    let steady = max_step(&out[0][10_000..48_000]);
    let gliding = max_step(&out[0][48_000..3 * 48_000]);
    assert!(gliding <= 2.0 * steady + 1e-6, "no click: steepest step {gliding} against {steady} when steady");
    // Lengthening the delay slows the read position (at most to a standstill): just after the
    // change the pitch bends down, so the output moves far more slowly than the tone.
    let bending = max_step(&out[0][50_400..55_000]);
    assert!(bending < 0.5 * steady, "the read position slides: steepest step {bending} against {steady}");
    // Settled: exactly the tone 300 ms (14 400 frames) late.
    for (frame, got) in out[0].iter().enumerate().skip(3 * 48_000) {
        let expected = TestTone::sample_at(220.0, 0.5, frame as u64 - 14_400, SR as f32);
        assert_eq!(*got, expected, "frame {frame}");
    }
}

#[test]
fn the_output_is_the_same_at_every_block_size() {
    let render = |block: usize| {
        let params = vec![(delay::TIME_MS, 70.0), (delay::FEEDBACK, 0.6), (delay::TONE_HZ, 3_000.0), (delay::MIX, 0.4)];
        let mut rig = rig(Impulse::at(&[100, 5_000, 33_333], 0.8), params, 97.0, block);
        rig.apply(vec![add(4, "tone", TestTone::new(330.0, 0.2).burst(2_000, 9_000)), connect(4, 0, DELAY, 0)]);
        let engine = rig.engine();
        engine.set_param(NodeId(DELAY), delay::TIME_MS, 180.0, Some(12_345)).unwrap();
        engine.set_param(NodeId(DELAY), delay::PING_PONG, 1.0, Some(20_001)).unwrap();
        engine.set_param(NodeId(DELAY), delay::SYNC, 1.0, Some(30_000)).unwrap();
        engine.set_param(NodeId(DELAY), delay::TONE_HZ, 9_000.0, Some(31_000)).unwrap();
        rig.render(60_000, &[])
    };
    let reference = render(64);
    assert!(reference[0].iter().any(|s| s.abs() > 0.1), "it plays");
    assert_eq!(render(1), reference, "1-frame blocks");
    assert_eq!(render(512), reference, "512-frame blocks");
}

#[test]
fn the_audio_thread_allocates_nothing() {
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(SR as f32));
    engine
        .apply(vec![
            add(SOURCE, "tone", TestTone::new(440.0, 0.5)),
            add(DELAY, "delay", Delay::new()),
            add(OUT, "out", Output::new("main", 2)),
            connect(SOURCE, 0, DELAY, 0),
            connect(DELAY, 0, OUT, 0),
        ])
        .unwrap();
    let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let before = violation_count();
    for block in 0..400u64 {
        if block % 20 == 3 {
            let at = Some(block * 256 + 17);
            engine.set_param(NodeId(DELAY), delay::TIME_MS, 50.0 + (block % 7) as f32 * 40.0, at).unwrap();
            engine.set_param(NodeId(DELAY), delay::PING_PONG, (block % 2) as f32, at).unwrap();
        }
        let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
        assert_no_alloc(|| executor.process(HostBlock::new(256, &mut outs)));
        engine.maintain();
    }
    assert_eq!(violation_count(), before, "the audio thread allocated");
    assert!(left.iter().any(|s| s.abs() > 0.01), "it played");
}
