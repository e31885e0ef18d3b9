//! The mixer through the real executor: per-input gain and balance measured on each tone of a
//! two-tone mix, mute and solo silencing exactly the right inputs without clicks, and output
//! that does not depend on the host's block size.

use std::sync::Arc;

use noderack_graph::{Edit, HostBlock, NodeDescription, NodeId, ParamId};
use noderack_nodes::dsp::pan_gains;
use noderack_nodes::mixer::{
    gain_db_param, mute_param, pan_param, solo_param, Mixer, MASTER_GAIN_DB, MUTE_RAMP_SECONDS,
};
use noderack_nodes::Output;
use noderack_tests::analysis::{max_step, peak};
use noderack_tests::rig::{add, connect};
use noderack_tests::{peak_frequency_hz, Rig, TestTone};

#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const SR: f32 = 48_000.0;
/// Tone on `in1`: 100 frames per period.
const HZ1: f64 = 480.0;
const AMP1: f32 = 0.5;
/// Tone on `in2`: 40 frames per period. Spans of whole multiples of 200 frames hold whole
/// periods of both tones, so their components separate exactly.
const HZ2: f64 = 1200.0;
const AMP2: f32 = 0.25;
const MIXER: NodeId = NodeId(3);
const RAMP_FRAMES: usize = (MUTE_RAMP_SECONDS * SR) as usize;

fn add_with(id: u64, label: &str, description: impl NodeDescription, params: Vec<(ParamId, f32)>) -> Edit {
    Edit::AddNode { id: NodeId(id), label: label.to_string(), description: Arc::new(description), params }
}

/// Tone 1 into `in1`, tone 2 into `in2` of a mixer with `inputs` inputs and initial `params`,
/// mixer to the main bus.
fn two_tones(block_frames: usize, inputs: usize, params: Vec<(ParamId, f32)>) -> Rig {
    let mut rig = Rig::stereo(block_frames);
    rig.apply(vec![
        add(1, "tone1", TestTone::new(HZ1, AMP1)),
        add(2, "tone2", TestTone::new(HZ2, AMP2)),
        add_with(3, "mixer", Mixer::new(inputs), params),
        add(4, "out", Output::new("main", 2)),
        connect(1, 0, 3, 0),
        connect(2, 0, 3, 1),
        connect(3, 0, 4, 0),
    ]);
    rig
}

/// RMS of the `hz` component of `x` (correlation with a quadrature pair; exact when `x` spans
/// whole periods of every component).
fn tone_rms(x: &[f32], hz: f64) -> f32 {
    let w = std::f64::consts::TAU * hz / SR as f64;
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (n, s) in x.iter().enumerate() {
        re += *s as f64 * (w * n as f64).cos();
        im += *s as f64 * (w * n as f64).sin();
    }
    let amplitude = 2.0 * (re * re + im * im).sqrt() / x.len() as f64;
    (amplitude / std::f64::consts::SQRT_2) as f32
}

/// Level of the `hz` component of `x` relative to a tone of `amplitude`, in dB.
fn gain_db(x: &[f32], hz: f64, amplitude: f32) -> f32 {
    20.0 * (tone_rms(x, hz) / (amplitude / std::f32::consts::SQRT_2)).log10()
}

fn assert_db(got: f32, want: f32, what: &str) {
    assert!((got - want).abs() <= 0.1, "{what}: {got:.3} dB, expected {want:.3} dB");
}

#[test]
fn each_input_gain_sets_its_own_tone_level_in_db() {
    let mut rig = two_tones(256, 2, vec![(gain_db_param(0), -6.0), (gain_db_param(1), 3.5)]);
    let out = rig.render(9600, &[]);
    for channel in &out {
        let tail = &channel[4800..];
        assert_db(gain_db(tail, HZ1, AMP1), -6.0, "in1");
        assert_db(gain_db(tail, HZ2, AMP2), 3.5, "in2");
    }
    // The master gain moves both, and a gain change is heard (after its smoothing ramp).
    rig.engine().set_param(MIXER, MASTER_GAIN_DB, -10.0, None).unwrap();
    rig.engine().set_param(MIXER, gain_db_param(1), -20.0, None).unwrap();
    let out = rig.render(9600, &[]);
    for channel in &out {
        let tail = &channel[4800..];
        assert_db(gain_db(tail, HZ1, AMP1), -16.0, "in1 after master -10");
        assert_db(gain_db(tail, HZ2, AMP2), -30.0, "in2 at -20 after master -10");
    }
}

#[test]
fn pan_moves_each_tone_between_channels_by_the_balance_law() {
    let mut rig = two_tones(128, 2, vec![(pan_param(0), 0.5), (pan_param(1), -1.0)]);
    let out = rig.render(4800, &[]);
    let db = |g: f32| 20.0 * g.log10();
    let (l1, r1) = pan_gains(0.5);
    assert!(l1 < 0.75 && r1 == 1.0, "the law attenuates the left side only");
    assert_db(gain_db(&out[0], HZ1, AMP1), db(l1), "in1 left");
    assert_db(gain_db(&out[1], HZ1, AMP1), db(r1), "in1 right");
    // Hard left: tone 2 fully on the left at unity, gone from the right.
    assert_db(gain_db(&out[0], HZ2, AMP2), 0.0, "in2 left");
    assert!(tone_rms(&out[1], HZ2) < 1e-6, "in2 right: {}", tone_rms(&out[1], HZ2));
    for (n, s) in out[1].iter().enumerate() {
        let want = TestTone::sample_at(HZ1, AMP1, n as u64, SR);
        assert!((s - want).abs() < 1e-6, "right channel is tone 1 alone at unity: frame {n} {s} vs {want}");
    }
}

#[test]
fn mute_silences_exactly_that_input() {
    let mut rig = two_tones(64, 2, vec![]);
    let at = 2400u64;
    rig.engine().set_param(MIXER, mute_param(0), 1.0, Some(at)).unwrap();
    let out = rig.render(9600, &[]);
    let before = &out[0][..at as usize];
    assert_db(gain_db(before, HZ1, AMP1), 0.0, "in1 before mute");
    assert_db(gain_db(before, HZ2, AMP2), 0.0, "in2 before mute");
    // After the fade the output is tone 2 alone, sample for sample.
    for (ch, channel) in out.iter().enumerate() {
        for (n, s) in channel.iter().enumerate().skip(at as usize + RAMP_FRAMES + 1) {
            assert_eq!(*s, TestTone::sample_at(HZ2, AMP2, n as u64, SR), "channel {ch} frame {n}");
        }
    }
    let hz = peak_frequency_hz(&out[0][4800..], SR);
    assert!((hz as f64 - HZ2).abs() < 1.0, "dominant frequency {hz} Hz");
}

#[test]
fn solo_hears_only_soloed_inputs_and_mute_wins() {
    // Solo in2 from the start: in1 is never heard, not even during the first milliseconds.
    let mut rig = two_tones(100, 2, vec![(solo_param(1), 1.0)]);
    let e = rig.engine();
    e.set_param(MIXER, solo_param(0), 1.0, Some(4800)).unwrap(); // both soloed: both heard
    e.set_param(MIXER, mute_param(0), 1.0, Some(9600)).unwrap(); // in1 soloed but muted: in2 only
    e.set_param(MIXER, solo_param(1), 0.0, Some(14_400)).unwrap(); // only muted in1 soloed: silence
    e.set_param(MIXER, solo_param(0), 0.0, Some(19_200)).unwrap(); // no solo: in2 (in1 still muted)
    let out = rig.render(24_000, &[]);
    let tone2 = |n: usize| TestTone::sample_at(HZ2, AMP2, n as u64, SR);
    for (n, s) in out[0][..4800].iter().enumerate() {
        assert_eq!(*s, tone2(n), "only the soloed in2 at frame {n}");
    }
    let settled = |start: usize| &out[0][start + 800..start + 4800];
    assert_db(gain_db(settled(4800), HZ1, AMP1), 0.0, "in1 with both soloed");
    assert_db(gain_db(settled(4800), HZ2, AMP2), 0.0, "in2 with both soloed");
    assert!(tone_rms(settled(9600), HZ1) < 1e-6, "muted in1 is silent although soloed");
    assert_db(gain_db(settled(9600), HZ2, AMP2), 0.0, "in2 still soloed");
    assert_eq!(peak(settled(14_400)), 0.0, "a solo switch on a muted input still silences the others");
    assert_db(gain_db(settled(19_200), HZ2, AMP2), 0.0, "no solo: in2 back");
    assert!(tone_rms(settled(19_200), HZ1) < 1e-6, "in1 still muted");
}

#[test]
fn muting_and_unmuting_fade_instead_of_clicking() {
    let (hz, amp) = (1000.0f64, 0.8f32);
    let mut rig = Rig::stereo(64);
    rig.apply(vec![
        add(1, "tone", TestTone::new(hz, amp)),
        add(3, "mixer", Mixer::new(2)),
        add(4, "out", Output::new("main", 2)),
        connect(1, 0, 3, 0),
        connect(3, 0, 4, 0),
    ]);
    // 48 frames per period: frame 2412 is a crest, where a hard cut would step by the full 0.8.
    let (mute_at, unmute_at) = (2412usize, 4812usize);
    rig.engine().set_param(MIXER, mute_param(0), 1.0, Some(mute_at as u64)).unwrap();
    rig.engine().set_param(MIXER, mute_param(0), 0.0, Some(unmute_at as u64)).unwrap();
    let out = rig.render(9600, &[]);
    let x = &out[0];
    // Never a larger step than the tone's own slope plus the fade's.
    let slope = std::f32::consts::TAU * hz as f32 / SR * amp;
    let bound = (slope + amp / RAMP_FRAMES as f32) * 1.05;
    assert!(max_step(x) <= bound, "step {} > {bound}", max_step(x));
    assert!(TestTone::sample_at(hz, amp, mute_at as u64, SR) > 0.99 * amp, "muted at a crest");
    assert!(bound < 0.2 * amp, "the bound would catch a hard cut");
    // The fade lasts milliseconds: still sounding 1 ms in, silent once it is over.
    assert!(peak(&x[mute_at + 48..mute_at + 96]) > 0.2 * amp);
    assert_eq!(peak(&x[mute_at + RAMP_FRAMES + 1..unmute_at]), 0.0);
    assert!(peak(&x[unmute_at..unmute_at + 48]) < 0.25 * amp, "fades back in");
    for (n, s) in x.iter().enumerate().skip(unmute_at + RAMP_FRAMES + 1) {
        assert_eq!(*s, TestTone::sample_at(hz, amp, n as u64, SR), "frame {n}");
    }
}

/// Every kind of change, at frames that fall inside host blocks and chunks.
fn automated_render(block_frames: usize) -> Vec<Vec<f32>> {
    let mut rig = two_tones(block_frames, 3, vec![(pan_param(1), 0.3)]);
    let e = rig.engine();
    let changes = [
        (gain_db_param(0), -12.0, 700),
        (pan_param(0), -0.8, 1_333),
        (mute_param(1), 1.0, 2_050),
        (solo_param(0), 1.0, 3_001),
        (MASTER_GAIN_DB, -3.0, 3_500),
        (gain_db_param(1), 6.0, 3_777),
        (solo_param(0), 0.0, 4_099),
        (mute_param(1), 0.0, 4_100),
        (solo_param(2), 1.0, 5_555),
        (mute_param(2), 1.0, 6_000),
        (solo_param(2), 0.0, 6_003),
        (pan_param(1), 1.0, 7_000),
        (MASTER_GAIN_DB, 4.0, 7_010),
    ];
    for (param, value, at) in changes {
        e.set_param(MIXER, param, value, Some(at)).unwrap();
    }
    rig.render(9_600, &[])
}

#[test]
fn output_is_bit_identical_for_any_host_block_size() {
    let bits = |out: &Vec<Vec<f32>>| out.iter().map(|c| c.iter().map(|s| s.to_bits()).collect::<Vec<_>>()).collect();
    let reference: Vec<Vec<u32>> = bits(&automated_render(64));
    assert!(peak(&automated_render(64)[0]) > 0.1);
    for block in [1, 4096] {
        assert!(reference == bits(&automated_render(block)), "block size {block} changes the output");
    }
}

#[test]
fn mixing_never_allocates_on_the_audio_thread() {
    let mut rig = two_tones(256, 64, vec![]);
    rig.render(256, &[]); // adopts the plan
    let e = rig.engine();
    for (i, at) in [300u64, 1000, 1500, 2000].into_iter().enumerate() {
        e.set_param(MIXER, gain_db_param(i), -6.0, Some(at)).unwrap();
        e.set_param(MIXER, mute_param(i + 1), 1.0, Some(at + 10)).unwrap();
        e.set_param(MIXER, solo_param(i * 2), 1.0, Some(at + 20)).unwrap();
        e.set_param(MIXER, MASTER_GAIN_DB, -1.0 - i as f32, Some(at + 30)).unwrap();
    }
    let mut left = vec![0.0f32; 700];
    let mut right = vec![0.0f32; 700];
    let before = assert_no_alloc::violation_count();
    for _ in 0..6 {
        let mut outputs: [&mut [f32]; 2] = [left.as_mut_slice(), right.as_mut_slice()];
        assert_no_alloc::assert_no_alloc(|| rig.renderer().executor().process(HostBlock::new(700, &mut outputs)));
    }
    assert_eq!(assert_no_alloc::violation_count(), before, "the audio thread allocated");
    assert!(peak(&left) > 0.0);
}

mod sends {
    use super::*;
    use noderack_graph::{BusSpec, EngineConfig};

    /// Tone 1 into `in1`, tone 2 into `in2` of a mixer with one send (and `params`); the mix to
    /// the `main` bus (channels 0–1), the send to `aux` (channels 2–3).
    fn sent(block_frames: usize, params: impl FnOnce(&Mixer) -> Vec<(ParamId, f32)>) -> (Rig, Mixer) {
        let config =
            EngineConfig { buses: vec![BusSpec::stereo("main"), BusSpec::stereo("aux")], ..EngineConfig::stereo(SR) };
        let mut rig = Rig::new(config, block_frames);
        let mixer = Mixer::with_sends(2, 1);
        let params = params(&mixer);
        rig.apply(vec![
            add(1, "tone1", TestTone::new(HZ1, AMP1)),
            add(2, "tone2", TestTone::new(HZ2, AMP2)),
            add_with(3, "mixer", Mixer::with_sends(2, 1), params),
            add(4, "out", Output::new("main", 2)),
            add(5, "aux", Output::new("aux", 2)),
            connect(1, 0, 3, 0),
            connect(2, 0, 3, 1),
            connect(3, 0, 4, 0),
            connect(3, Mixer::send_port(0) as u16, 5, 0),
        ]);
        (rig, mixer)
    }

    #[test]
    fn sends_are_off_until_given_a_level() {
        let (mut rig, _) = sent(64, |_| vec![]);
        let out = rig.render(4_800, &[]);
        assert!(out[2].iter().chain(&out[3]).all(|s| *s == 0.0), "nothing on the send");
        assert!(peak(&out[0]) > 0.5, "the mix plays");
    }

    #[test]
    fn a_post_fader_send_carries_each_input_at_its_fader_times_its_send_level() {
        let (mut rig, _) = sent(64, |m| {
            vec![
                (gain_db_param(0), -12.0),
                (m.send_db_param(0, 0), -6.0),
                (m.send_db_param(1, 0), 0.0),
                (MASTER_GAIN_DB, -20.0),
            ]
        });
        let out = rig.render(9_600, &[]);
        let span = &out[2][4_800..9_600];
        assert_db(gain_db(span, HZ1, AMP1), -18.0, "input 1: fader −12 dB, send −6 dB");
        assert_db(gain_db(span, HZ2, AMP2), 0.0, "input 2: send at 0 dB; the master gain does not touch sends");
    }

    #[test]
    fn a_pre_fader_send_ignores_the_fader_but_follows_mute() {
        let (mut rig, m) = sent(64, |m| {
            vec![
                (gain_db_param(0), -30.0),
                (m.send_db_param(0, 0), -6.0),
                (m.send_db_param(1, 0), -6.0),
                (m.send_pre_param(0), 1.0),
            ]
        });
        let out = rig.render(9_600, &[]);
        assert_db(gain_db(&out[2][4_800..9_600], HZ1, AMP1), -6.0, "pre-fader: the send level alone");
        rig.engine().set_param(MIXER, mute_param(0), 1.0, Some(12_000)).unwrap();
        let out = rig.render(9_600, &[]);
        let after = &out[2][4_800..9_600];
        assert!(tone_rms(after, HZ1) < 1e-6, "a muted input leaves the send too");
        assert_db(gain_db(after, HZ2, AMP2), -6.0, "the other input stays");
        drop(m);
    }

    #[test]
    fn sends_do_not_depend_on_the_block_size() {
        let render = |block: usize| {
            let (mut rig, m) = sent(block, |m| vec![(m.send_db_param(0, 0), -3.0)]);
            let engine = rig.engine();
            engine.set_param(MIXER, m.send_db_param(1, 0), -9.0, Some(3_001)).unwrap();
            engine.set_param(MIXER, gain_db_param(0), -20.0, Some(5_555)).unwrap();
            engine.set_param(MIXER, m.send_pre_param(0), 1.0, Some(8_000)).unwrap();
            engine.set_param(MIXER, mute_param(1), 1.0, Some(9_100)).unwrap();
            rig.render(14_000, &[])
        };
        let reference = render(64);
        assert!(peak(&reference[2]) > 0.3, "the send plays");
        assert_eq!(render(1), reference, "1-frame blocks");
        assert_eq!(render(512), reference, "512-frame blocks");
    }
}
