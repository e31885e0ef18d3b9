//! The `sampler` node end to end through the real executor, on synthesized samples: pitch
//! (root key, tuning, the sample's own rate, any engine rate), seamless forward and ping-pong
//! loops, sustain loops, velocity layers, round robin (sequence and seeded random), release
//! triggers, choke groups, key switches, program changes, stealing, block-size invariance,
//! swapping programs under sounding notes, and the no-allocation contract.

use std::sync::Arc;

use assert_no_alloc::{violation_count, AllocDisabler};
use noderack_graph::{EngineConfig, MidiMessage, NodeId, Parcel};
use noderack_host::TimedMidi;
use noderack_nodes::sampler::{Sampler, SamplerProgram};
use noderack_presets::instrument::{
    Bank, LoopDirection, LoopMode, NoteRange, ProgramNumber, Region, RoundRobin, SampleLoop, Trigger,
};
use noderack_tests::analysis::{cents, inharmonic_energy_db, max_step, peak, peak_frequency_hz, rms};
use noderack_tests::fixtures::{a440, instrument_of as instrument, sine_sample as sine};
use noderack_tests::midi::{cc, dense_stream, note_off, note_on, sorted};
use noderack_tests::rig::INSTRUMENT;
use noderack_tests::Rig;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f32 = 48_000.0;

/// `seconds` of a sine at `hz`, amplitude 0.5, recorded at `rate` Hz.
fn key_hz(key: u8) -> f32 {
    440.0 * ((key as f32 - 69.0) / 12.0).exp2()
}

fn rig_with(bank: Bank, block_frames: usize, sample_rate: f32) -> Rig {
    let mut rig = Rig::new(EngineConfig::stereo(sample_rate), block_frames);
    rig.add_instrument(Sampler::new(Some(Arc::new(bank)), 32), vec![]);
    rig
}

/// The left output of `midi` at 256-frame blocks, channel 1 at full volume (CC7 127 first) so
/// that levels are the regions' own rather than General MIDI's default volume of 100.
fn play(bank: Bank, frames: u64, midi: &[TimedMidi]) -> Vec<f32> {
    let midi = [&[cc(0, 0, 7, 127)][..], midi].concat();
    let mut out = rig_with(bank, 256, SR).render(frames, &midi);
    out.swap_remove(0)
}

fn pitch_of(x: &[f32], sample_rate: f32) -> f32 {
    peak_frequency_hz(x, sample_rate)
}

#[test]
fn pitch_follows_key_root_tuning_and_sample_rate_at_any_engine_rate() {
    for (engine_rate, sample_rate, key, tune_cents) in [
        (48_000.0, 44_100, 72u8, 0.0f32),
        (96_000.0, 44_100, 60, 0.0),
        (44_100.0, 22_050, 81, 37.0),
        (48_000.0, 48_000, 69, -25.0),
    ] {
        let mut region = a440(sample_rate, 2.0);
        region.tune_cents = tune_cents;
        let mut out = rig_with(Bank::single(instrument(vec![region])), 256, engine_rate)
            .render((engine_rate * 0.8) as u64, &[note_on(0, 0, key, 127)]);
        let x = &out.swap_remove(0)[(engine_rate * 0.1) as usize..];
        let expected = key_hz(key) * (tune_cents / 1200.0).exp2();
        let error = cents(pitch_of(x, engine_rate), expected);
        assert!(error.abs() < 2.0, "key {key} at {engine_rate} Hz from {sample_rate} Hz: {error} cents off");
    }
}

#[test]
fn keytrack_zero_plays_every_key_at_the_recorded_pitch() {
    let mut region = a440(48_000, 1.0);
    region.keytrack_cents = 0.0;
    let x = play(Bank::single(instrument(vec![region])), 24_000, &[note_on(0, 0, 40, 127)]);
    assert!(cents(pitch_of(&x[2400..], SR), 440.0).abs() < 2.0);
}

#[test]
fn pitch_bend_moves_sounding_notes() {
    let bank = Bank::single(instrument(vec![a440(48_000, 2.0)]));
    let bend_up = TimedMidi { frame: 0, message: MidiMessage::PitchBend { channel: 0, value: 8191 } };
    let x = play(bank, 48_000, &[bend_up, note_on(0, 0, 69, 127)]);
    // Full deflection at the default range of 2 semitones (8191/8192 of it).
    let expected = 440.0 * (2.0 * 8191.0 / 8192.0 / 12.0f32).exp2();
    assert!(cents(pitch_of(&x[4800..], SR), expected).abs() < 2.0);
}

/// A loop holding a whole number of periods continues the waveform exactly, so a looped note
/// is as smooth as the sine itself (largest sample-to-sample step) for far longer than the
/// recording, forward and ping-pong.
#[test]
fn loops_are_seamless_forward_and_ping_pong() {
    // 0.1 s of 480 Hz at 48 kHz: 100 frames per period, loop over periods 10..40.
    let sample = sine(480.0, 48_000, 0.1);
    let smooth = (std::f32::consts::TAU * 480.0 / 48_000.0) * 0.5 * 1.02;
    for direction in [LoopDirection::Forward, LoopDirection::PingPong] {
        let mut region = Region::new(sample.clone(), 69);
        region.keytrack_cents = 0.0;
        region.loop_mode = LoopMode::Continuous;
        // A ping-pong loop turns at its last frame; a sine turns smoothly only at a peak, so
        // that loop spans from one crest (frame 25 of a period) to another.
        let (start, end) = match direction {
            LoopDirection::Forward => (1000.0, 4000.0),
            LoopDirection::PingPong => (1025.0, 4026.0),
        };
        region.sample_loop = Some(SampleLoop { start_frames: start, end_frames: end, direction });
        let x = play(Bank::single(instrument(vec![region])), 48_000, &[note_on(0, 0, 60, 127)]);
        // Past the attack, a second of sound from a tenth of a second of sample.
        let body = &x[200..];
        assert!(rms(&body[40_000..]) > 0.3, "{direction:?}: the loop stopped");
        let step = max_step(body);
        assert!(step < smooth, "{direction:?}: step {step} > {smooth} (a seam)");
    }
}

#[test]
fn sustain_loop_plays_on_to_the_end_after_release() {
    let sample = sine(480.0, 48_000, 0.5);
    let mut region = Region::new(sample, 69);
    region.keytrack_cents = 0.0;
    region.loop_mode = LoopMode::Sustain;
    region.sample_loop =
        Some(SampleLoop { start_frames: 1000.0, end_frames: 4000.0, direction: LoopDirection::Forward });
    region.amp_envelope.release_seconds = 10.0; // the end of the sample ends it, not the envelope
    let x = play(Bank::single(instrument(vec![region])), 96_000, &[note_on(0, 0, 60, 127), note_off(48_000, 0, 60)]);
    // Held for 1 s (longer than the 0.5 s sample): still sounding at release.
    assert!(rms(&x[40_000..48_000]) > 0.3);
    // Released at frame 48 000 from somewhere in the loop (frames 1000..4000 of the sample):
    // it plays on to the sample's end (24 000) and stops, between 20 000 and 23 000 frames later.
    let last = x.iter().rposition(|s| s.abs() > 1e-4).unwrap();
    assert!((48_000 + 20_000..48_000 + 23_100).contains(&last), "last sound at {last}");
}

#[test]
fn velocity_layers_pick_the_region_for_the_velocity_and_scale_level() {
    let mut soft = Region::new(sine(440.0, 48_000, 1.0), 69);
    soft.velocities = NoteRange { low: 1, high: 63 };
    let mut loud = Region::new(sine(880.0, 48_000, 1.0), 69);
    loud.velocities = NoteRange { low: 64, high: 127 };
    let bank = || Bank::single(instrument(vec![soft.clone(), loud.clone()]));
    let quiet = play(bank(), 24_000, &[note_on(0, 0, 69, 40)]);
    let strong = play(bank(), 24_000, &[note_on(0, 0, 69, 127)]);
    assert!(cents(pitch_of(&quiet[2400..], SR), 440.0).abs() < 2.0);
    assert!(cents(pitch_of(&strong[2400..], SR), 880.0).abs() < 2.0);
    // Velocity 40 with full tracking: (40/127)² ≈ -10 dB relative to the 0.5 sine.
    let expected = 0.5 * (40.0f32 / 127.0).powi(2);
    assert!((peak(&quiet[2400..]) / expected - 1.0).abs() < 0.02, "{} vs {expected}", peak(&quiet[2400..]));
}

/// Three regions on one key, each a different pitch, in a sequence of three: notes cycle
/// through them in order. With random round robin the choice repeats under the same seed.
#[test]
fn round_robin_by_sequence_cycles_and_random_repeats_under_a_seed() {
    let pitches = [440.0f32, 550.0, 660.0];
    let regions = |rr: &dyn Fn(usize) -> RoundRobin| -> Vec<Region> {
        pitches
            .iter()
            .enumerate()
            .map(|(i, &hz)| {
                let mut r = Region::new(sine(hz as f64, 48_000, 0.5), 69);
                r.round_robin = rr(i);
                r
            })
            .collect()
    };
    let notes: Vec<TimedMidi> =
        sorted((0..6).flat_map(|n| [note_on(n * 9600, 0, 69, 127), note_off(n * 9600 + 4800, 0, 69)]).collect());
    let played = |x: &[f32]| -> Vec<usize> {
        (0..6)
            .map(|n| {
                let f = pitch_of(&x[n * 9600 + 480..n * 9600 + 4800], SR);
                pitches.iter().position(|&p| cents(f, p).abs() < 30.0).unwrap_or(99)
            })
            .collect()
    };
    let seq = regions(&|i| RoundRobin::Sequence { length: 3, position: i as u32 + 1 });
    let x = play(Bank::single(instrument(seq)), 6 * 9600, &notes);
    assert_eq!(played(&x), vec![0, 1, 2, 0, 1, 2]);

    let random = regions(&|i| RoundRobin::Random { low: i as f32 / 3.0, high: (i + 1) as f32 / 3.0 });
    let render = |seed: u64| {
        let mut rig = Rig::stereo(256);
        rig.add_instrument(
            Sampler::new(Some(Arc::new(Bank::single(instrument(random.clone())))), 8).with_seed(seed),
            vec![],
        );
        played(&rig.render(6 * 9600, &notes)[0])
    };
    let first = render(7);
    assert!(first.iter().all(|&p| p < 3), "every note plays exactly one region: {first:?}");
    assert_eq!(first, render(7), "same seed, same choices");
    let others: Vec<Vec<usize>> = (8..12).map(render).collect();
    assert!(others.iter().any(|o| *o != first), "other seeds choose differently");
}

#[test]
fn release_trigger_sounds_at_note_off_only() {
    let attack = Region::new(sine(440.0, 48_000, 1.0), 69);
    let mut release = Region::new(sine(1320.0, 48_000, 0.3), 69);
    release.trigger = Trigger::Release;
    release.keytrack_cents = 0.0;
    let x = play(
        Bank::single(instrument(vec![attack, release])),
        48_000,
        &[note_on(0, 0, 69, 100), note_off(12_000, 0, 69)],
    );
    assert!(cents(pitch_of(&x[1_000..11_000], SR), 440.0).abs() < 2.0, "before note-off: the attack region");
    // After the attack region's release (0.01 s), only the release sample remains.
    assert!(cents(pitch_of(&x[13_000..24_000], SR), 1320.0).abs() < 2.0, "after note-off: the release region");
    assert!(rms(&x[13_000..24_000]) > 0.1);
}

/// An open hi-hat (key 46, a 440 Hz sine, group 2, choked by group 1) and a closed one (key
/// 42, 1320 Hz, group 1).
fn hi_hats() -> Bank {
    let mut open = Region::new(sine(440.0, 48_000, 2.0), 69);
    open.keys = NoteRange { low: 46, high: 46 };
    open.keytrack_cents = 0.0;
    open.choke_group = 2;
    open.off_by = Some(1);
    let mut closed = Region::new(sine(1320.0, 48_000, 2.0), 69);
    closed.keys = NoteRange { low: 42, high: 42 };
    closed.keytrack_cents = 0.0;
    closed.choke_group = 1;
    Bank::single(instrument(vec![open, closed]))
}

#[test]
fn choke_group_silences_the_voices_it_names_within_a_few_milliseconds() {
    let x = play(hi_hats(), 48_000, &[note_on(0, 0, 46, 127), note_on(12_000, 0, 42, 127)]);
    let open_level = |range: std::ops::Range<usize>| noderack_tests::analysis::band_energy(&x[range], SR, 400.0, 480.0);
    assert!(open_level(2_000..12_000) > 1.0);
    // 5 ms after the choke (240 frames) the open hi-hat is gone; the closed one plays.
    assert!(open_level(12_400..22_400) < 1e-6 * open_level(2_000..12_000));
    assert!(cents(pitch_of(&x[12_400..22_400], SR), 1320.0).abs() < 2.0);
}

/// Both output channels of a render at 256-frame blocks.
fn play_stereo(bank: Bank, frames: u64, midi: &[TimedMidi]) -> (Vec<f32>, Vec<f32>) {
    let mut out = rig_with(bank, 256, SR).render(frames, midi);
    let right = out.swap_remove(1);
    (out.swap_remove(0), right)
}

fn db(ratio: f32) -> f32 {
    20.0 * ratio.log10()
}

/// CC7 (volume) and CC11 (expression) follow the General MIDI law, 40·log10(value/127) dB each,
/// with volume 100 before any CC7; CC10 pans (64 = centre, both sides at unity).
#[test]
fn channel_volume_expression_and_pan_follow_the_gm_laws() {
    let bank = || Bank::single(instrument(vec![a440(48_000, 2.0)]));
    let steady = 4_800..40_000;
    let level = |midi: &[TimedMidi]| {
        let (l, r) = play_stereo(bank(), 48_000, midi);
        (rms(&l[steady.clone()]), rms(&r[steady.clone()]))
    };
    let note = note_on(10, 0, 69, 127);
    let (full, full_r) = level(&[cc(0, 0, 7, 127), note]);
    assert!(full > 0.3 && (full - full_r).abs() < 1e-6, "centre pan leaves both sides equal");
    for (midi, expected_db) in [
        (vec![note], -4.15),
        (vec![cc(0, 0, 7, 64), note], -11.91),
        (vec![cc(0, 0, 7, 127), cc(0, 0, 11, 64), note], -11.91),
        (vec![cc(0, 0, 7, 64), cc(0, 0, 11, 64), note], -23.82),
    ] {
        let (l, _) = level(&midi);
        assert!((db(l / full) - expected_db).abs() < 0.05, "{midi:?}: {} dB, expected {expected_db}", db(l / full));
    }
    let (l, r) = level(&[cc(0, 0, 7, 127), cc(0, 0, 10, 0), note]);
    assert!(db(l / full).abs() < 0.05 && r < full * 1e-4, "hard left: {l} / {r}");
    let (l, r) = level(&[cc(0, 0, 7, 127), cc(0, 0, 10, 127), note]);
    assert!(db(r / full).abs() < 0.05 && l < full * 1e-4, "hard right: {l} / {r}");
    // Another channel keeps its own volume.
    let (l, _) = level(&[cc(0, 1, 7, 0), cc(0, 0, 7, 127), note]);
    assert!(db(l / full).abs() < 0.05);
}

/// A volume change under a sounding note glides over a few milliseconds: no step larger than
/// the sine's own, and silence once the glide is over.
#[test]
fn a_volume_change_glides_instead_of_clicking() {
    let (x, _) = play_stereo(
        Bank::single(instrument(vec![a440(48_000, 2.0)])),
        36_000,
        &[cc(0, 0, 7, 127), note_on(10, 0, 69, 127), cc(24_000, 0, 7, 0)],
    );
    let sine_step = (std::f32::consts::TAU * 440.0 / SR) * 0.5;
    assert!(max_step(&x[20_000..30_000]) < sine_step * 1.05, "step {}", max_step(&x[20_000..30_000]));
    let glide = (noderack_nodes::sampler::CHANNEL_GAIN_RAMP_SECONDS * SR) as usize;
    assert!(rms(&x[24_000 + glide + 1..30_000]) == 0.0, "silent after the glide");
    assert!(rms(&x[24_000..24_000 + glide / 2]) > 0.05, "still sounding during the glide");
}

/// RPN 0 (CC101/CC100 = 0, then CC6/CC38) sets a channel's bend range; other channels keep
/// the node's range (2 semitones).
#[test]
fn rpn_0_sets_the_channels_pitch_bend_range() {
    let bank = || Bank::single(instrument(vec![a440(48_000, 2.0)]));
    let bend_up = |channel: u8| TimedMidi { frame: 5, message: MidiMessage::PitchBend { channel, value: 8191 } };
    let rpn = [cc(0, 0, 101, 0), cc(0, 0, 100, 0), cc(1, 0, 6, 12), cc(1, 0, 38, 0)];
    let x = play(bank(), 24_000, &[&rpn[..], &[bend_up(0), note_on(10, 0, 69, 127)]].concat());
    let full = 12.0 * 8191.0 / 8192.0;
    assert!(cents(pitch_of(&x[2400..], SR), 440.0 * (full / 12.0f32).exp2()).abs() < 2.0, "an octave up");
    let x = play(bank(), 24_000, &[&rpn[..], &[bend_up(1), note_on(10, 1, 69, 127)]].concat());
    let two = 2.0 * 8191.0 / 8192.0;
    assert!(cents(pitch_of(&x[2400..], SR), 440.0 * (two / 12.0f32).exp2()).abs() < 2.0, "the node's range");
    // Data entry without RPN 0 selected changes nothing.
    let x = play(bank(), 24_000, &[cc(0, 0, 6, 12), bend_up(0), note_on(10, 0, 69, 127)]);
    assert!(cents(pitch_of(&x[2400..], SR), 440.0 * (two / 12.0f32).exp2()).abs() < 2.0);
}

/// A choke acts within its MIDI channel: the closed hi-hat on channel 1 (panned left) silences
/// channel 1's open hi-hat, while channel 2's (panned right) rings on.
#[test]
fn choke_groups_act_within_one_channel() {
    let (l, r) = play_stereo(
        hi_hats(),
        48_000,
        &[
            cc(0, 0, 10, 0),
            cc(0, 1, 10, 127),
            note_on(1, 0, 46, 127),
            note_on(1, 1, 46, 127),
            note_on(12_000, 0, 42, 127),
        ],
    );
    let open_level = |x: &[f32]| noderack_tests::analysis::band_energy(x, SR, 400.0, 480.0);
    assert!(open_level(&l[12_400..22_400]) < 1e-6 * open_level(&l[2_000..12_000]), "choked on its channel");
    let (before, after) = (open_level(&r[2_000..12_000]), open_level(&r[12_400..22_400]));
    assert!((db(after as f32 / before as f32)).abs() < 0.5, "rings on on the other channel: {before} → {after}");
}

/// A sampler built from patch settings without `voices` takes the polyphony its one instrument
/// asks for (at least the default); `voices` overrides it; a bank of several instruments gets the
/// default.
#[test]
fn patch_samplers_take_the_instruments_polyphony_unless_told() {
    use noderack_presets::{ConfigValue, NodeConfig};
    let mut asks = instrument(vec![a440(48_000, 1.0)]);
    asks.max_voices = Some(200);
    let none = NodeConfig::new();
    let voices = |config: &NodeConfig, bank: Bank| Sampler::from_config(config, Some(Arc::new(bank))).unwrap().voices();
    assert_eq!(voices(&none, Bank::single(asks.clone())), 200);
    let mut few = asks.clone();
    few.max_voices = Some(8);
    assert_eq!(voices(&none, Bank::single(few)), noderack_nodes::sampler::DEFAULT_VOICES);
    let told: NodeConfig = [("voices".to_string(), ConfigValue::Number(12.0))].into_iter().collect();
    assert_eq!(voices(&told, Bank::single(asks.clone())), 12);
    let mut two = Bank::single(asks.clone());
    two.programs.insert(ProgramNumber { bank: 0, program: 1 }, Arc::new(asks));
    assert_eq!(voices(&none, two), noderack_nodes::sampler::DEFAULT_VOICES);
}

/// A region's hold keeps the note at full level between its attack and its decay (SFZ
/// `ampeg_hold`, SF2 `holdVolEnv`), instead of stretching the attack.
#[test]
fn hold_keeps_full_level_between_attack_and_decay() {
    let mut region = a440(48_000, 1.0);
    region.amp_envelope.attack_seconds = 0.01;
    region.amp_envelope.hold_seconds = 0.1;
    region.amp_envelope.decay_seconds = 0.05;
    region.amp_envelope.sustain_level = 0.0;
    let x = play(Bank::single(instrument(vec![region])), 14_400, &[note_on(0, 0, 69, 127)]);
    let full = 0.5 / 2f32.sqrt();
    let at = |from_s: f32, to_s: f32| rms(&x[(from_s * SR) as usize..(to_s * SR) as usize]);
    assert!((db(at(0.012, 0.108) / full)).abs() < 0.1, "held at full level: {}", at(0.012, 0.108));
    assert!(at(0.112, 0.13) < 0.8 * full, "decaying after the hold");
    assert!(at(0.2, 0.3) < 1e-3 * full, "silent once decayed");
}

#[test]
fn key_switches_select_regions_and_never_sound() {
    let mut legato = Region::new(sine(440.0, 48_000, 1.0), 69);
    legato.key_switch = Some(24);
    let mut staccato = Region::new(sine(440.0, 48_000, 1.0), 69);
    staccato.key_switch = Some(25);
    staccato.tune_cents = 700.0; // a fifth up, to tell them apart
    let mut inst = instrument(vec![legato, staccato]);
    inst.key_switch_range = Some(NoteRange { low: 24, high: 25 });
    inst.default_key_switch = Some(24);
    let bank = || Bank::single(inst.clone());
    let x = play(bank(), 24_000, &[note_on(0, 0, 69, 127)]);
    assert!(cents(pitch_of(&x[2400..], SR), 440.0).abs() < 2.0, "default switch");
    let x = play(bank(), 24_000, &[note_on(0, 0, 25, 127), note_on(10, 0, 69, 127)]);
    assert!(cents(pitch_of(&x[2400..], SR), 659.26).abs() < 2.0, "after pressing the second switch");
}

#[test]
fn program_change_selects_instruments_and_channel_10_uses_the_percussion_bank() {
    let mut programs = std::collections::BTreeMap::new();
    let at =
        |hz: f64| Arc::new(instrument(vec![Region { keytrack_cents: 0.0, ..Region::new(sine(hz, 48_000, 1.0), 69) }]));
    programs.insert(ProgramNumber { bank: 0, program: 0 }, at(440.0));
    programs.insert(ProgramNumber { bank: 0, program: 5 }, at(550.0));
    programs.insert(ProgramNumber { bank: 128, program: 0 }, at(660.0));
    let bank = Bank { programs };
    let change = TimedMidi { frame: 0, message: MidiMessage::ProgramChange { channel: 1, program: 5 } };
    let x = play(bank.clone(), 24_000, &[note_on(0, 0, 60, 127)]);
    assert!(cents(pitch_of(&x[2400..], SR), 440.0).abs() < 2.0);
    let x = play(bank.clone(), 24_000, &[change, note_on(1, 1, 60, 127)]);
    assert!(cents(pitch_of(&x[2400..], SR), 550.0).abs() < 2.0);
    let x = play(bank, 24_000, &[note_on(0, 9, 60, 127)]);
    assert!(cents(pitch_of(&x[2400..], SR), 660.0).abs() < 2.0);
}

/// Past the polyphony limit the oldest voice makes room with a short fade: the output never
/// jumps more than the notes themselves do.
#[test]
fn stealing_keeps_the_limit_and_does_not_click() {
    let mut region = Region::new(sine(110.0, 48_000, 3.0), 45);
    region.amp_envelope.release_seconds = 1.0;
    let mut rig = Rig::stereo(128);
    rig.add_instrument(Sampler::new(Some(Arc::new(Bank::single(instrument(vec![region])))), 4), vec![]);
    let midi: Vec<TimedMidi> = (0..12).map(|n| note_on(n * 2000 + 100, 0, 45 + n as u8, 100)).collect();
    let x = rig.render(30_000, &midi).swap_remove(0);
    // Four voices of amplitude ≤ 0.5·(100/127)² ≈ 0.31 each: at most ~1.24 at any time.
    assert!(peak(&x) < 4.0 * 0.5 * (100.0f32 / 127.0).powi(2) + 0.01, "peak {}", peak(&x));
    // The largest step of four sines up to 220 Hz… plus a 5 ms fade of one of them.
    assert!(max_step(&x) < 0.1, "step {}", max_step(&x));
}

#[test]
fn block_size_does_not_change_the_output() {
    let mut region = Region::new(sine(330.0, 44_100, 0.3), 64);
    region.loop_mode = LoopMode::Continuous;
    region.sample_loop =
        Some(SampleLoop { start_frames: 2000.0, end_frames: 9000.0, direction: LoopDirection::PingPong });
    let bank = Bank::single(instrument(vec![region]));
    let midi = dense_stream(48_000, 60, 4, 3);
    let reference = rig_with(bank.clone(), 1, SR).render(48_000, &midi);
    for block in [17, 64, 512, 4096] {
        assert!(rig_with(bank.clone(), block, SR).render(48_000, &midi) == reference, "block {block}");
    }
}

/// How far below the tone the images of resampling lie: a 3 kHz sine recorded at 44.1 kHz,
/// played a fifth up at 48 kHz. Cubic Hermite keeps everything that is not the played tone
/// about 60 dB down (measured: -60.2 dB with the 513-row weight table, -60.5 dB with the
/// polynomial evaluated exactly; docs/SAMPLER.md); the test fails above -55 dB.
#[test]
fn interpolation_images_stay_far_below_the_tone() {
    let mut region = Region::new(sine(3000.0, 44_100, 3.0), 60);
    region.amp_envelope.attack_seconds = 0.0;
    let x = play(Bank::single(instrument(vec![region])), 32_768 + 4800, &[note_on(0, 0, 67, 127)]);
    let played = 3000.0 * (7.0f32 / 12.0).exp2();
    let images = inharmonic_energy_db(&x[4800..4800 + 32_768], SR, played, 60.0);
    println!("cubic Hermite images at {played:.0} Hz: {images:.1} dB");
    assert!(images < -55.0, "images at {images} dB");
}

/// A note held through a program swap keeps its instrument; a note after it plays the new
/// one; the old program comes back to the control thread once its last voice ends.
#[test]
fn swapping_programs_keeps_sounding_notes_and_retires_the_old_program() {
    let old = Arc::new(Bank::single(instrument(vec![a440(48_000, 2.0)])));
    let mut new_region = a440(48_000, 2.0);
    new_region.tune_cents = 1200.0;
    let new = Arc::new(Bank::single(instrument(vec![new_region])));
    let mut rig = Rig::stereo(256);
    rig.add_instrument(Sampler::new(Some(old.clone()), 32), vec![]);
    // Held by this test, the node's description and the processor's program.
    assert_eq!(Arc::strong_count(&old), 3);
    let held = rig.render(9600, &[note_on(0, 0, 57, 127)]);
    assert!(cents(pitch_of(&held[0][2400..], SR), 220.0).abs() < 2.0);
    rig.engine().send_parcel(NodeId(INSTRUMENT), Parcel::new(SamplerProgram::new(new, SR))).unwrap();
    let after = rig.render(24_000, &[note_on(9600 + 4800, 0, 81, 127)]);
    // Before the new note: the held note alone, still at 220 Hz (the old program).
    assert!(cents(pitch_of(&after[0][0..4800], SR), 220.0).abs() < 5.0);
    // The new note (A5, 880 Hz) plays an octave higher again: 1760 Hz; the old one goes on.
    let spectrum = &after[0][4800..];
    assert!(noderack_tests::analysis::band_energy(spectrum, SR, 1700.0, 1820.0) > 1.0);
    assert!(noderack_tests::analysis::band_energy(spectrum, SR, 210.0, 230.0) > 1.0);
    assert_eq!(Arc::strong_count(&old), 3, "still played by the held note");
    // Once the held note has ended, the old program is retired and freed by `maintain`.
    rig.render(24_000, &[note_off(9600 + 24_000, 0, 57)]);
    assert_eq!(Arc::strong_count(&old), 2, "the processor let go of the old program");
}

/// Dense MIDI with program changes, pedal, bends, stealing, and programs swapped in every
/// few blocks, alternating between two instruments: no allocation or free in any `process`
/// call, sound after every swap, and every retired program comes back to the control thread
/// (each program holds a reference to its bank: once retired and freed, only the programs
/// still held count).
#[test]
fn sampler_never_allocates_on_the_audio_thread_even_across_program_swaps() {
    let mut region = a440(44_100, 0.5);
    region.loop_mode = LoopMode::Continuous;
    region.sample_loop =
        Some(SampleLoop { start_frames: 100.0, end_frames: 20_000.0, direction: LoopDirection::Forward });
    let mut release = a440(44_100, 0.2);
    release.trigger = Trigger::Release;
    let low = Arc::new(Bank::single(instrument(vec![region.clone(), release])));
    // The second instrument plays an octave higher.
    region.tune_cents = 1200.0;
    let high = Arc::new(Bank::single(instrument(vec![region])));
    let mut rig = rig_with((*low).clone(), 256, SR);
    let baseline = (Arc::strong_count(&low), Arc::strong_count(&high));
    let mut midi = dense_stream(48_000 * 4, 400, 4, 11);
    for n in 0..40u64 {
        midi.push(cc(n * 4800 + 7, (n % 4) as u8, 64, if n % 2 == 0 { 127 } else { 0 }));
        midi.push(TimedMidi {
            frame: n * 4800 + 9,
            message: MidiMessage::ProgramChange { channel: 1, program: (n % 3) as u8 },
        });
        midi.push(TimedMidi {
            frame: n * 4800 + 11,
            message: MidiMessage::PitchBend { channel: 2, value: (n as i16 * 400) - 8000 },
        });
    }
    let midi = sorted(midi);
    let before = violation_count();
    let mut out = [vec![0.0f32; 256], vec![0.0f32; 256]];
    let mut blocks = noderack_tests::midi::MidiBlocks::new(&midi);
    let mut sent = [0usize; 2];
    // Swaps the sampler took, by instrument, and the instrument it plays now. A swap arriving
    // while all its program slots still sound is refused (and reported): dense looped notes
    // keep old programs alive.
    let mut taken = [0usize; 2];
    let mut pending = None;
    let mut current = 1;
    let mut silent_after_swap = 0;
    let mut energy_since_swap = None;
    for block in 0..(48_000 * 4 / 256) as u64 {
        if block % 7 == 3 {
            if energy_since_swap == Some(0.0) {
                silent_after_swap += 1;
            }
            let which = sent.iter().sum::<usize>() % 2;
            let bank = if which == 0 { high.clone() } else { low.clone() };
            rig.engine().send_parcel(NodeId(INSTRUMENT), Parcel::new(SamplerProgram::new(bank, SR))).unwrap();
            sent[which] += 1;
            pending = Some(which);
            energy_since_swap = Some(0.0);
        }
        let start = block * 256;
        let events = blocks.events(start, 256);
        rig.process_without_alloc(&events, &mut out);
        if let Some(energy) = energy_since_swap.as_mut() {
            *energy += out[0].iter().map(|s| s * s).sum::<f32>();
        }
        rig.engine().maintain();
        // The swap sent before this block arrived in it: taken, or refused and reported now.
        if let Some(which) = pending.take() {
            if rig.engine().take_refused_parcels().is_empty() {
                taken[which] += 1;
                current = which;
            }
        }
    }
    assert_eq!(violation_count(), before, "allocations on the audio thread");
    assert_eq!(sent, [54, 53], "swaps alternate between the two instruments");
    assert_eq!(silent_after_swap, 0, "sound after every swap");
    // Let every note end, so that only the current program is held; then every other program
    // sent has been retired and freed here.
    let off: Vec<TimedMidi> = (0..4).map(|ch| cc(0, ch, 120, 0)).collect();
    let last_frame = rig.renderer().position_frames();
    let off: Vec<TimedMidi> = off.into_iter().map(|m| TimedMidi { frame: last_frame + m.frame, ..m }).collect();
    rig.render(48_000, &off);
    assert_eq!(rig.engine().status().active_voices(), 0, "all sound off");
    assert_eq!(rig.engine().status().leaked_parcels(), 0);
    assert!(taken[0] > 10 && taken[1] > 10, "both instruments were taken many times: {taken:?}");
    assert_eq!(
        rig.engine().status().refused_parcels() as usize,
        sent[0] + sent[1] - taken[0] - taken[1],
        "every swap not taken was reported refused"
    );
    // Only the current program is held by the processor; every other one sent has come back
    // and been freed here.
    let held = |which: usize| usize::from(current == which);
    assert_eq!(Arc::strong_count(&high), baseline.1 + held(0), "`high` programs came back and were freed");
    assert_eq!(Arc::strong_count(&low), baseline.0 + held(1), "`low` programs came back and were freed");
    // And the current one plays: a new A4 sounds at its pitch.
    let start = rig.renderer().position_frames();
    let tail = rig.render(9600, &[cc(start, 0, 7, 127), cc(start, 0, 121, 0), note_on(start, 0, 69, 127)]);
    let expected = if current == 0 { 880.0 } else { 440.0 };
    let pitch = pitch_of(&tail[0][2400..], SR);
    assert!(
        cents(pitch, expected).abs() < 5.0,
        "the current program is the last taken: {pitch} Hz, {expected} Hz expected"
    );
}

/// A 16-bit source held as 16-bit plays bit-identically to the same points held as `f32`
/// (`x / 32768`), through every path of the voice: stereo and mono, looped, pitched between
/// frames, filtered, and modulated (vibrato, tremolo).
#[test]
fn sixteen_bit_store_plays_bit_identically_to_the_f32_store() {
    use noderack_presets::instrument::{Lfo, LfoWaveform, ModInput, ModRoute, ModSource, ModTarget, RegionFilter};
    use noderack_presets::sample::{Pcm16, Sample, I16_SCALE};
    let points = |c: usize| -> Vec<i16> {
        (0..44_100)
            .map(|i| ((i as f64 * (0.05 + 0.01 * c as f64)).sin() * 20_000.0 + (i % 7) as f64 * 300.0) as i16)
            .collect()
    };
    let stores = |channels: usize| {
        let words: Vec<Vec<i16>> = (0..channels).map(points).collect();
        let floats = words.iter().map(|w| w.iter().map(|&x| x as f32 * I16_SCALE).collect()).collect();
        (
            Arc::new(Sample::from_i16(44_100, words.into_iter().map(Pcm16::owned).collect(), [0; 32])),
            Arc::new(Sample::from_f32(44_100, floats, [0; 32])),
        )
    };
    let region = |sample: Arc<Sample>, filtered: bool, modulated: bool| {
        let mut r = Region::new(sample, 60);
        r.loop_mode = LoopMode::Continuous;
        r.sample_loop =
            Some(SampleLoop { start_frames: 1000.0, end_frames: 30_000.0, direction: LoopDirection::PingPong });
        if filtered {
            r.filter = Some(RegionFilter::low_pass(2000.0, 3.0));
        }
        if modulated {
            r.modulation.lfos.push(Lfo { frequency_hz: 5.0, waveform: LfoWaveform::Sine, ..Lfo::default() });
            r.modulation.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 30.0, ModTarget::PitchCents));
            r.modulation.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 3.0, ModTarget::VolumeDb));
        }
        r
    };
    let midi = [note_on(0, 0, 60, 100), note_on(2_000, 0, 67, 90), note_on(9_000, 0, 53, 127), note_off(30_000, 0, 67)];
    for channels in [1, 2] {
        for (filtered, modulated) in [(false, false), (true, false), (false, true), (true, true)] {
            let (words, floats) = stores(channels);
            let play =
                |sample| play(Bank::single(instrument(vec![region(sample, filtered, modulated)])), 48_000, &midi);
            let (a, b) = (play(words), play(floats));
            assert!(rms(&a) > 0.01, "it plays");
            let first = a.iter().zip(&b).position(|(x, y)| x.to_bits() != y.to_bits());
            assert_eq!(first, None, "{channels} channels, filtered {filtered}, modulated {modulated}");
        }
    }
}
