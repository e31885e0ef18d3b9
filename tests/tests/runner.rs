//! The `runner` node through the real executor: a song's notes land on their exact frames at
//! 120 and 97 BPM (the transport's, or the song's own tempo map with a change mid-song),
//! transposed by the trigger note; two instances overlap; a note-off either lets sounding notes
//! finish or cuts them; a transport stop ends everything; the audio is bit-identical at any
//! block size; and triggering instances allocates nothing on the audio thread.
//!
//! A runner alone plays its song's own instruments in tune (`track.tuningPitch` included),
//! bent by pitch bend; a controller mapped to a song parameter changes the song, also
//! mid-instance; a song without its own tempo follows a transport tempo change mid-instance;
//! `quantize` starts instances on the next beat or bar of the transport's time signature.

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use std::sync::Arc;

use noderack_graph::{new_engine, Edit, EngineConfig, Event, HostBlock, MidiMessage, NodeId, TransportChange};
use noderack_host::TimedMidi;
use noderack_nodes::runner::Runner;
use noderack_nodes::{MidiIn, Output, Synth};
use noderack_presets::sw::{self, CompileOptions};
use noderack_presets::{LoadContext, NodeConfig};
use noderack_tests::analysis::cents;
use noderack_tests::event_probe::EventProbe;
use noderack_tests::fixtures::{scratch_dir, write_text};
use noderack_tests::midi::{note_off, note_on};
use noderack_tests::rig::{add, connect, Rig, KEYS, OUT};
use noderack_tests::{peak_frequency_hz, rms};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const RUNNER: u64 = 2;
const PROBE: u64 = 4;

fn runner(song: &str, config: &str) -> Runner {
    let song = sw::compile(song, "t.sw", &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let config: NodeConfig = serde_json::from_str(config).unwrap();
    Runner::from_config(&config, &song).unwrap()
}

/// A runner made as a patch makes it: `song` written to a file, `config` (JSON) naming it.
fn from_patch(name: &str, song: &str, config: &str) -> Arc<dyn noderack_graph::NodeDescription> {
    let dir = scratch_dir(&format!("runner-{name}"));
    write_text(&dir, "song.sw", song);
    let mut config: NodeConfig = serde_json::from_str(config).unwrap();
    config.insert("song".into(), noderack_presets::ConfigValue::Text("song.sw".into()));
    noderack_nodes::registry::create_in(Runner::KIND, &config, &mut LoadContext::new(&dir))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// keys → the runner's own instruments → out.
fn playing(runner: Arc<dyn noderack_graph::NodeDescription>, block: usize) -> Rig {
    let mut rig = Rig::stereo(block);
    rig.apply(vec![
        add(KEYS, "keys", MidiIn::new()),
        Edit::AddNode { id: NodeId(RUNNER), label: "runner".into(), description: runner, params: vec![] },
        add(OUT, "out", Output::new("main", 2)),
        connect(KEYS, 0, RUNNER, 0),
        connect(RUNNER, noderack_nodes::runner::AUDIO as u16, OUT, 0),
    ]);
    rig
}

/// keys → the runner's events → probe → out.
fn probed_patch(runner: Arc<dyn noderack_graph::NodeDescription>) -> Rig {
    let mut rig = Rig::stereo(256);
    rig.apply(vec![
        add(KEYS, "keys", MidiIn::new()),
        Edit::AddNode { id: NodeId(RUNNER), label: "runner".into(), description: runner, params: vec![] },
        add(PROBE, "probe", EventProbe::new()),
        add(OUT, "out", Output::new("main", 2)),
        connect(KEYS, 0, RUNNER, 0),
        connect(RUNNER, 0, PROBE, 0),
        connect(PROBE, 0, OUT, 0),
    ]);
    rig
}

fn bend(frame: u64, value: i16) -> TimedMidi {
    TimedMidi { frame, message: MidiMessage::PitchBend { channel: 0, value } }
}

/// keys → runner → event probe → out, at `block` frames per host block.
fn probed(runner: Runner, block: usize) -> Rig {
    let mut rig = Rig::stereo(block);
    rig.apply(vec![
        add(KEYS, "keys", MidiIn::new()),
        add(RUNNER, "runner", runner),
        add(PROBE, "probe", EventProbe::new()),
        add(OUT, "out", Output::new("main", 2)),
        connect(KEYS, 0, RUNNER, 0),
        connect(RUNNER, 0, PROBE, 0),
        connect(PROBE, 0, OUT, 0),
    ]);
    rig
}

/// Each frame where the probe's picture changes: (frame, notes held, sum of their codes).
fn changes(out: &[Vec<f32>]) -> Vec<(usize, f32, f32)> {
    let (held, codes) = (&out[0], &out[1]);
    let mut last = (0.0, 0.0);
    let mut seen = Vec::new();
    for i in 0..held.len() {
        if (held[i], codes[i]) != last {
            last = (held[i], codes[i]);
            seen.push((i, held[i], codes[i]));
        }
    }
    seen
}

fn code(key: u8) -> f32 {
    EventProbe::code(0, key)
}

const STEPS: &str = "track t() {\n C4@/4 /2\n D4@/4 /2\n E4@/4 1\n}\nt()";

#[test]
fn notes_land_on_their_frames_at_the_transports_tempo() {
    for bpm in [120.0, 97.0] {
        let mut rig = probed(runner(STEPS, r#"{}"#), 256);
        rig.engine().set_transport(TransportChange { tempo_bpm: Some(bpm), ..Default::default() }).unwrap();
        let out = rig.render(60_000, &[note_on(1_000, 0, 60, 100)]);
        // Every start and end at its exact frame from the trigger: beats · 60 / BPM · 48 kHz.
        let at = |beats: f64| 1_000 + (beats * 60.0 / bpm * 48_000.0).round() as usize;
        assert_eq!(
            changes(&out),
            vec![
                (at(0.0), 1.0, code(60)),
                (at(0.25), 0.0, 0.0),
                (at(0.5), 1.0, code(62)),
                (at(0.75), 0.0, 0.0),
                (at(1.0), 1.0, code(64)),
                (at(1.25), 0.0, 0.0),
            ],
            "{bpm} BPM"
        );
    }
}

#[test]
fn a_song_with_its_own_tempo_map_keeps_it_and_changes_tempo_mid_song() {
    let song = "track t() {\n track.beatsPerMinute = 97\n C4@/4 /1\n D4@/4 /1\n track.beatsPerMinute = 60\n E4@/4 /1\n F4@/4\n}\nt()";
    let mut rig = probed(runner(song, "{}"), 128);
    // The transport says 120; the song says 97, then 60 from beat 2.
    let out = rig.render(200_000, &[note_on(0, 0, 60, 100)]);
    let beat97 = 48_000.0 * 60.0 / 97.0;
    let starts: Vec<usize> = changes(&out).iter().filter(|c| c.1 == 1.0).map(|c| c.0).collect();
    let expected = [0.0, beat97, 2.0 * beat97, 2.0 * beat97 + 48_000.0];
    assert_eq!(starts, expected.map(|f: f64| f.round() as usize));
}

#[test]
fn the_trigger_note_transposes_and_two_instances_overlap() {
    let mut rig = probed(runner(STEPS, r#"{ "root": 60 }"#), 256);
    let out = rig.render(40_000, &[note_on(0, 0, 67, 100), note_on(6_000, 0, 64, 100)]);
    let c = changes(&out);
    // G4 (C4 + 7) alone, then E4 (C4 + 4) from the second instance, then their next notes.
    assert_eq!(c[0], (0, 1.0, code(67)));
    assert_eq!(c[1], (6_000, 1.0, code(64)), "the first note ended as the second instance began");
    assert_eq!(c[2], (12_000, 1.0, code(69)), "A4: D4 + 7");
    assert_eq!(c[3], (18_000, 1.0, code(66)), "F#4: D4 + 4");
}

#[test]
fn a_note_off_finishes_or_cuts_as_configured() {
    let song = "track t() {\n C4@2 /1\n D4@2 /1\n E4@2 /1\n}\nt()";
    let midi = [note_on(0, 0, 60, 100), note_off(30_000, 0, 60)];
    let mut finish = probed(runner(song, r#"{ "release": "finish" }"#), 256);
    let c = changes(&finish.render(120_000, &midi));
    // C4 0–48000 and D4 24000–72000 end at their gates; E4 (48000) never starts.
    assert_eq!(
        c,
        vec![(0, 1.0, code(60)), (24_000, 2.0, code(60) + code(62)), (48_000, 1.0, code(62)), (72_000, 0.0, 0.0)]
    );
    let mut cut = probed(runner(song, r#"{ "release": "cut" }"#), 256);
    let c = changes(&cut.render(120_000, &midi));
    assert_eq!(c, vec![(0, 1.0, code(60)), (24_000, 2.0, code(60) + code(62)), (30_000, 0.0, 0.0)]);
}

#[test]
fn looping_repeats_and_a_transport_stop_ends_everything() {
    let mut rig = probed(runner("track t() {\n C4@/4 /2\n}\nt()", r#"{ "loop": true }"#), 256);
    let out = rig.render(48_000, &[note_on(0, 0, 60, 100)]);
    let starts = changes(&out).iter().filter(|c| c.1 == 1.0).count();
    assert_eq!(starts, 4, "half a beat at 120 BPM: four passes in a second");
    let mut rig = probed(runner("track t() {\n C4@8 /8\n}\nt()", "{}"), 256);
    rig.render(10_000, &[note_on(0, 0, 60, 100)]);
    rig.engine().set_transport(TransportChange { playing: Some(false), ..Default::default() }).unwrap();
    let out = rig.render(2_000, &[]);
    assert_eq!(*out[0].last().unwrap(), 0.0, "the held note ended when the transport stopped");
}

#[test]
fn a_runner_patch_renders_bit_identically_at_any_block_size() {
    let song = "track t() {\n track.noteLength = 1/4\n C4 E4*0.6 G4 [C5, E5]@1/8 /3\n for (let i = 0; i < 3; i++) { D5 /8 }\n}\nt()";
    let render = |block: usize| {
        let mut rig = Rig::stereo(block);
        rig.apply(vec![
            add(KEYS, "keys", MidiIn::new()),
            add(RUNNER, "runner", runner(song, "{}")),
            add(PROBE, "lead", Synth::new(16)),
            add(OUT, "out", Output::new("main", 2)),
            connect(KEYS, 0, RUNNER, 0),
            connect(RUNNER, 0, PROBE, 0),
            connect(PROBE, 0, OUT, 0),
        ]);
        rig.render(96_000, &[note_on(333, 0, 62, 110), note_on(20_011, 0, 55, 90)])
    };
    let reference = render(64);
    assert!(rms(&reference[0]) > 0.01, "the song sounds");
    for block in [1, 256, 997] {
        let other = render(block);
        assert!(
            reference[0].iter().zip(&other[0]).all(|(a, b)| a.to_bits() == b.to_bits()),
            "block size {block} changes the audio"
        );
    }
}

#[test]
fn triggering_instances_allocates_nothing_on_the_audio_thread() {
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(48_000.0));
    engine
        .apply(vec![
            add(KEYS, "keys", MidiIn::new()),
            add(RUNNER, "runner", runner(STEPS, r#"{ "instances": 4, "loop": true }"#)),
            add(PROBE, "lead", Synth::new(32)),
            add(OUT, "out", Output::new("main", 2)),
            connect(KEYS, 0, RUNNER, 0),
            connect(RUNNER, 0, PROBE, 0),
            connect(PROBE, 0, OUT, 0),
        ])
        .unwrap();
    let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let before = violation_count();
    for block in 0..400u32 {
        let key = 48 + (block % 24) as u8;
        // More triggers than instances: the oldest is cut and reused.
        let midi = [
            Event::midi(block % 200, MidiMessage::NoteOn { channel: 0, key, velocity: 100 }),
            Event::midi(250, MidiMessage::NoteOff { channel: 0, key: key.wrapping_sub(3), velocity: 0 }),
        ];
        let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
        assert_no_alloc(|| executor.process(HostBlock::new(256, &mut outs).with_midi(&midi)));
        engine.maintain();
    }
    assert_eq!(violation_count(), before, "the audio thread allocated");
}

/// A sine, then the same note at A4 = 432 Hz: one second each at 120 BPM.
const TUNED: &str = "const lead = Oscillator({type: 'sine', attack: 0.01, release: 0.05})\ntrack.instrument = lead\nA4@2 /2\ntrack.tuningPitch = 432\nA4@2 /2\n";

#[test]
fn a_runner_alone_plays_its_songs_instruments_in_tune_at_any_block_size() {
    let runner = from_patch("tuned", TUNED, "{}");
    let out = playing(runner.clone(), 256).render(96_000, &[note_on(0, 0, 60, 127)]);
    let (first, second) =
        (peak_frequency_hz(&out[0][4_000..44_000], 48_000.0), peak_frequency_hz(&out[0][52_000..92_000], 48_000.0));
    assert!(cents(first, 440.0).abs() < 3.0, "{first} Hz");
    assert!(cents(second, 432.0).abs() < 3.0, "{second} Hz at A4 = 432");
    // Transposed by the trigger, an octave up.
    let up = playing(runner.clone(), 256).render(96_000, &[note_on(0, 0, 72, 127)]);
    let high = peak_frequency_hz(&up[0][52_000..92_000], 48_000.0);
    assert!(cents(high, 864.0).abs() < 3.0, "{high} Hz");
    for block in [1, 997] {
        let other = playing(runner.clone(), block).render(96_000, &[note_on(0, 0, 60, 127)]);
        assert!(out[0].iter().zip(&other[0]).all(|(a, b)| a.to_bits() == b.to_bits()), "block size {block}");
    }
    let silent = playing(from_patch("events-only", TUNED, r#"{ "instruments": false }"#), 256)
        .render(48_000, &[note_on(0, 0, 60, 127)]);
    assert_eq!(rms(&silent[0]), 0.0, "without its instruments the audio output is silent");
}

#[test]
fn pitch_bend_bends_the_songs_instruments() {
    let runner = from_patch("bend", TUNED, "{}");
    // Full deflection up: the synth's default range, two semitones.
    let out = playing(runner, 256).render(48_000, &[bend(0, 8191), note_on(0, 0, 60, 127)]);
    let bent = peak_frequency_hz(&out[0][4_000..44_000], 48_000.0);
    assert!(cents(bent, 440.0 * 2f32.powf(8191.0 / 8192.0 * 2.0 / 12.0)).abs() < 3.0, "{bent} Hz");
}

#[test]
fn a_controller_sets_a_song_parameter_also_mid_instance() {
    let song = "const bars = 1\nC4@/4 /1\nfor (let i = 0; i < bars; i++) {\n D4@/4 /1\n}\n";
    let config = r#"{ "controls": { "bars": { "cc": 1, "min": 1, "max": 4, "steps": 4 } }, "instruments": false }"#;
    let starts = |midi: &[TimedMidi]| {
        let mut rig = probed_patch(from_patch("controls", song, config));
        changes(&rig.render(150_000, midi)).iter().filter(|c| c.1 == 1.0).map(|c| c.0).collect::<Vec<_>>()
    };
    assert_eq!(starts(&[note_on(0, 0, 60, 100)]), vec![0, 24_000], "as written: one bar");
    let cc = |frame, value| noderack_tests::midi::cc(frame, 0, 1, value);
    let four = vec![0, 24_000, 48_000, 72_000, 96_000];
    assert_eq!(starts(&[cc(0, 127), note_on(0, 0, 60, 100)]), four, "four bars");
    // Moved at beat 1.125, while the first D4 sounds: the instance goes on in the four-bar
    // version from beat 2 (not from its start).
    assert_eq!(starts(&[note_on(0, 0, 60, 100), cc(27_000, 127)]), four);
    assert_eq!(starts(&[cc(0, 42), note_on(0, 0, 60, 100)]), vec![0, 24_000, 48_000], "CC 42: step 1 of 0–3, two bars");
}

#[test]
fn a_song_without_a_tempo_follows_a_transport_tempo_change_mid_instance() {
    let song = "C4@/4 /1\nD4@/4 /1\nE4@/4 /1\nF4@/4 /1\n";
    for block in [64, 256, 1000] {
        let mut rig = probed(runner(song, "{}"), block);
        let mut out = rig.render(36_000, &[note_on(0, 0, 60, 100)]);
        // At beat 1.5 the transport goes from 120 to 60 BPM.
        rig.engine().set_transport(TransportChange { tempo_bpm: Some(60.0), ..Default::default() }).unwrap();
        let rest = rig.render(120_000, &[]);
        for (channel, more) in out.iter_mut().zip(rest) {
            channel.extend(more);
        }
        let starts: Vec<usize> = changes(&out).iter().filter(|c| c.1 == 1.0).map(|c| c.0).collect();
        assert_eq!(starts, vec![0, 24_000, 36_000 + 24_000, 36_000 + 24_000 + 48_000], "block {block}");
    }
}

#[test]
fn quantize_starts_instances_on_the_next_beat_or_bar() {
    let first_start = |config: &str, signature: (u8, u8)| {
        let mut rig = probed(runner("C4@/4 /1\n", config), 256);
        rig.engine().set_transport(TransportChange { signature: Some(signature), ..Default::default() }).unwrap();
        let out = rig.render(120_000, &[note_on(1_000, 0, 60, 100)]);
        changes(&out).first().map(|c| c.0)
    };
    assert_eq!(first_start("{}", (4, 4)), Some(1_000), "not quantized: at the trigger");
    assert_eq!(first_start(r#"{ "quantize": "beat" }"#, (4, 4)), Some(24_000));
    assert_eq!(first_start(r#"{ "quantize": "bar" }"#, (4, 4)), Some(96_000));
    assert_eq!(first_start(r#"{ "quantize": "bar" }"#, (3, 4)), Some(72_000));
    assert_eq!(first_start(r#"{ "quantize": "bar" }"#, (6, 8)), Some(72_000), "6/8: three quarter notes");
}

#[test]
fn a_runner_with_instruments_controllers_and_bends_allocates_nothing_on_the_audio_thread() {
    let song = "const bars = 2\nconst lead = Oscillator({type: 'sawtooth'})\ntrack.instrument = lead\nfor (let i = 0; i < bars; i++) {\n C4@/8 /4\n [E4, G4]@/8 /4\n}\n";
    let runner = from_patch(
        "no-alloc",
        song,
        r#"{ "instances": 4, "loop": true, "controls": { "bars": { "cc": 1, "min": 1, "max": 8, "steps": 8 } } }"#,
    );
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(48_000.0));
    engine
        .apply(vec![
            add(KEYS, "keys", MidiIn::new()),
            Edit::AddNode { id: NodeId(RUNNER), label: "runner".into(), description: runner, params: vec![] },
            add(OUT, "out", Output::new("main", 2)),
            connect(KEYS, 0, RUNNER, 0),
            connect(RUNNER, noderack_nodes::runner::AUDIO as u16, OUT, 0),
        ])
        .unwrap();
    let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let before = violation_count();
    let mut loudest = 0.0f32;
    for block in 0..400u32 {
        let key = 48 + (block % 24) as u8;
        let midi = [
            Event::midi(
                block % 100,
                MidiMessage::ControlChange { channel: 0, controller: 1, value: (block % 128) as u8 },
            ),
            Event::midi(block % 200, MidiMessage::NoteOn { channel: 0, key, velocity: 100 }),
            Event::midi(220, MidiMessage::PitchBend { channel: 0, value: (block as i16 * 40) - 8000 }),
            Event::midi(250, MidiMessage::NoteOff { channel: 0, key: key.wrapping_sub(3), velocity: 0 }),
        ];
        let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
        assert_no_alloc(|| executor.process(HostBlock::new(256, &mut outs).with_midi(&midi)));
        loudest = loudest.max(rms(&left));
        engine.maintain();
    }
    assert_eq!(violation_count(), before, "the audio thread allocated");
    assert!(loudest > 0.01, "the runner's instruments played");
}

#[test]
fn a_runner_loads_its_songs_presets_from_the_library_its_patch_names() {
    let dir = scratch_dir("runner-library");
    noderack_tests::tiny_library::TinyLibrary::write(&dir.join("lib"), 48_000);
    write_text(&dir, "song.sw", "const beep = loadPreset(\"Other/Beep\")\ntrack.instrument = beep\nC2@2 /2\n");
    let config: NodeConfig = serde_json::from_str(r#"{ "song": "song.sw", "library": "lib" }"#).unwrap();
    let runner = noderack_nodes::registry::create_in(Runner::KIND, &config, &mut LoadContext::new(&dir)).unwrap();
    let out = playing(runner, 256).render(48_000, &[note_on(0, 0, 60, 127)]);
    // The sample's 800-frame loop at 22.05 kHz makes its 1 kHz sine 992.25 Hz.
    let hz = peak_frequency_hz(&out[0][4_000..44_000], 48_000.0);
    assert!((hz - 992.25).abs() < 2.0, "{hz} Hz");

    write_text(&dir, "song.sw", "const beep = loadPreset(\"Other/Bep\")\ntrack.instrument = beep\nC2@2 /2\n");
    let error = noderack_nodes::registry::create_in(Runner::KIND, &config, &mut LoadContext::new(&dir))
        .err()
        .expect("an unknown preset is refused")
        .to_string();
    assert!(error.contains("song.sw:1:") && error.contains("\"Other/Beep\""), "{error}");
}
