//! The `runner` node through the real executor: a song's notes land on their exact frames at
//! 120 and 97 BPM (the transport's, or the song's own tempo map with a change mid-song),
//! transposed by the trigger note; two instances overlap; a note-off either lets sounding notes
//! finish or cuts them; a transport stop ends everything; the audio is bit-identical at any
//! block size; and triggering instances allocates nothing on the audio thread.

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{new_engine, EngineConfig, Event, HostBlock, MidiMessage, TransportChange};
use noderack_nodes::runner::Runner;
use noderack_nodes::{MidiIn, Output, Synth};
use noderack_presets::sw::{self, CompileOptions};
use noderack_presets::NodeConfig;
use noderack_tests::event_probe::EventProbe;
use noderack_tests::midi::{note_off, note_on};
use noderack_tests::rig::{add, connect, Rig, KEYS, OUT};
use noderack_tests::rms;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const RUNNER: u64 = 2;
const PROBE: u64 = 4;

fn runner(song: &str, config: &str) -> Runner {
    let song = sw::compile(song, "t.sw", &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let config: NodeConfig = serde_json::from_str(config).unwrap();
    Runner::from_config(&config, &song).unwrap()
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
