//! noderack as a CLAP plugin (`noderack.clap`), hosted by our own clack host: it renders a
//! patch bit-identically to `noderack render`; patch buses are its output ports; macro
//! automation lands on its frame; its state round-trips; a patch with other buses makes it ask
//! the host to rescan its ports. (clap-validator runs in `clap_validator.rs`.)

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use noderack_plugin::ports::PortMode;
use noderack_plugin::state::{encode, SavedState};
use noderack_plugin::{EFFECT_ID, INSTRUMENT_ID};
use noderack_presets::macros::MACRO_COUNT;
use noderack_tests::analysis::{peak_frequency_hz, rms};
use noderack_tests::clap_plugins::noderack_plugin_library;
use noderack_tests::editor_standin::{EditorApi, StandInEditor};
use noderack_tests::fixtures::{scratch_dir, wav_channels, write_text};
use noderack_tests::midi::smf_bytes;
use noderack_tests::plugin_rig::{HostEvent, PluginRig};
use noderack_tests::wait_until;
use serde_json::json;

const RATE: f64 = 48_000.0;
/// Frames per tick of `smf_bytes` files at 48 kHz (1 tick = 1/960 s).
const FRAMES_PER_TICK: u64 = 50;

/// A plugin state holding the patch `text` (as if loaded from `folder`) and macro `values`.
fn state_with(text: &str, folder: Option<&Path>, values: [f32; MACRO_COUNT]) -> Vec<u8> {
    encode(&SavedState {
        patch: serde_json::from_str(text).expect("the test patch is JSON"),
        folder: folder.map(Path::to_path_buf),
        macros: values,
        port_mode: PortMode::Patch,
    })
}

/// An instrument instance holding `text` with its macros at `values` (inactive).
fn instrument_with(text: &str, values: [f32; MACRO_COUNT]) -> PluginRig {
    let mut rig = PluginRig::new(&noderack_plugin_library(), INSTRUMENT_ID);
    rig.load_state(&state_with(text, None, values)).expect("the state loads");
    rig
}

/// An instrument instance playing `text` (macro 1 fully up), active at 48 kHz with blocks of up
/// to `max_frames`.
fn instrument_playing(text: &str, max_frames: usize) -> PluginRig {
    let mut values = [0.0; MACRO_COUNT];
    values[0] = 1.0;
    let mut rig = instrument_with(text, values);
    rig.activate(RATE, max_frames);
    rig
}

fn midi(frame: u64, bytes: [u8; 3]) -> HostEvent {
    HostEvent::Midi { frame, bytes }
}

/// Two synths, one per MIDI channel (1 → `main`, 10 → `drums`), and a macro on the first's
/// level.
const TWO_BUSES: &str = r#"{
  "format": "noderack-patch", "version": 1, "name": "two buses",
  "buses": [{ "name": "main", "channels": 2 }, { "name": "drums", "channels": 2 }],
  "nodes": [
    { "id": "keys", "kind": "midi-in" },
    { "id": "ch1", "kind": "channel-filter", "params": { "channel": "1" } },
    { "id": "ch10", "kind": "channel-filter", "params": { "channel": "10" } },
    { "id": "lead", "kind": "synth", "params": { "waveform": "sine", "attack_seconds": 0.001, "sustain_level": 1, "cutoff_hz": 20000, "gain_db": -6 } },
    { "id": "level", "kind": "gain" },
    { "id": "kit", "kind": "synth", "params": { "waveform": "sine", "attack_seconds": 0.001, "sustain_level": 1, "cutoff_hz": 20000, "gain_db": -6 } },
    { "id": "out", "kind": "output", "config": { "bus": "main" } },
    { "id": "drums_out", "kind": "output", "config": { "bus": "drums" } }
  ],
  "connections": [
    { "from": "keys.events", "to": "ch1.in" }, { "from": "keys.events", "to": "ch10.in" },
    { "from": "ch1.out", "to": "lead.events" }, { "from": "lead.out", "to": "level.in" },
    { "from": "level.out", "to": "out.in" },
    { "from": "ch10.out", "to": "kit.events" }, { "from": "kit.out", "to": "drums_out.in" }
  ],
  "macros": [{ "index": 1, "name": "Lead level", "default": 1, "targets": [{ "param": "level.gain_db", "min": -60, "max": 0 }] }]
}"#;

#[test]
fn the_plugin_renders_a_patch_bit_identically_to_noderack_render() {
    let dir = scratch_dir("clap-plugin-identity");
    // The demo rack (three synths, splits, a mixer) playing a chord, a bass line and drums.
    let patch = Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json");
    let mut notes: Vec<(u32, [u8; 3])> = Vec::new();
    for (i, key) in [60u8, 64, 67, 36, 40, 43].iter().enumerate() {
        let tick = i as u32 * 37;
        notes.push((tick, [0x90, *key, 90 + i as u8]));
        notes.push((tick + 700, [0x80, *key, 0]));
    }
    for beat in 0..6u32 {
        notes.push((beat * 240, [0x99, 36 + (beat % 3) as u8 * 2, 110]));
        notes.push((beat * 240 + 100, [0x89, 36 + (beat % 3) as u8 * 2, 0]));
    }
    notes.push((300, [0xb0, 1, 64])); // a controller on the way
    let mid = dir.join("song.mid");
    std::fs::write(&mid, smf_bytes(&notes)).unwrap();
    let wav = dir.join("render.wav");
    let status = Command::new(env!("CARGO_BIN_EXE_noderack"))
        .args(["render", patch.to_str().unwrap(), "--midi", mid.to_str().unwrap(), "-o", wav.to_str().unwrap()])
        .args(["--format", "f32", "--tail", "1"])
        .status()
        .unwrap();
    assert!(status.success());
    let reference = wav_channels(&wav);
    assert!(rms(&reference[0]) > 0.01, "the render is not silent");

    let mut events: Vec<HostEvent> =
        notes.iter().map(|&(tick, bytes)| midi(tick as u64 * FRAMES_PER_TICK, bytes)).collect();
    events.sort_by_key(|e| match e {
        HostEvent::Midi { frame, .. } => *frame,
        _ => 0,
    });
    let text = std::fs::read_to_string(&patch).unwrap();
    // A DAW's block size, not the render's 256.
    let mut rig = instrument_playing(&text, 512);
    let out = rig.render(reference[0].len(), 480, &events, &[]);
    assert_eq!(out.len(), 1, "one bus, one port");
    for (channel, (ours, theirs)) in out[0].iter().zip(&reference).enumerate() {
        assert_eq!(ours.len(), theirs.len());
        let first_difference = ours.iter().zip(theirs).position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(first_difference, None, "channel {channel} differs from `noderack render`");
    }
}

#[test]
fn notes_on_two_channels_come_out_on_two_ports() {
    let mut rig = instrument_with(TWO_BUSES, [1.0; MACRO_COUNT]);
    let ports = rig.info().audio_outputs;
    let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["main", "drums"]);
    assert!(ports[0].main && !ports[1].main);
    rig.activate(RATE, 256);
    let events = [HostEvent::NoteOn { frame: 0, channel: 0, key: 69, velocity: 1.0 }, midi(4_800, [0x99, 76, 127])];
    let out = rig.render(24_000, 256, &events, &[]);
    let (main, drums) = (&out[0][0], &out[1][0]);
    // Channel 1 plays A4 on `main` only; channel 10 plays E5 on `drums` only, from its frame.
    assert!((peak_frequency_hz(&main[4_800..], RATE as f32) - 440.0).abs() < 3.0);
    assert!((peak_frequency_hz(&drums[4_800..], RATE as f32) - 659.26).abs() < 3.0);
    assert_eq!(rms(&drums[..4_800]), 0.0, "the drums port is silent before its note");
    assert!(rms(&main[..4_800]) > 0.05);
    assert!(rms(&drums[4_800..]) > 0.05);
    let leak = noderack_tests::analysis::band_energy(main, RATE as f32, 640.0, 680.0);
    let own = noderack_tests::analysis::band_energy(main, RATE as f32, 430.0, 450.0);
    assert!(leak < own * 1e-6, "no E5 on main ({leak} against {own})");
}

#[test]
fn macro_automation_lands_on_its_frame() {
    let note = HostEvent::NoteOn { frame: 0, channel: 0, key: 69, velocity: 1.0 };
    const AT: u64 = 7_777;
    let steady = instrument_playing(TWO_BUSES, 512).render(24_000, 512, &[note], &[]);
    let automated = instrument_playing(TWO_BUSES, 512).render(
        24_000,
        512,
        &[note, HostEvent::Param { frame: AT, id: 0, value: 0.0 }],
        &[],
    );
    let (a, b) = (&steady[0][0], &automated[0][0]);
    let first = a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits()).expect("the macro changes the sound");
    assert!(
        (AT as usize..=AT as usize + 1).contains(&first),
        "the change starts at frame {first}, not at {AT} where the host put it"
    );
    // Macro 0 → −60 dB on the lead: once the 10 ms ramp is over, 60 dB quieter.
    let after = AT as usize + 2_000;
    let drop_db = 20.0 * (rms(&b[after..after + 4_800]) / rms(&a[after..after + 4_800])).log10();
    assert!((drop_db + 60.0).abs() < 0.5, "the macro lowered the lead by {drop_db:.2} dB");
}

/// MIDI learn's bindings play inside the plugin: a patch whose `midi_map` binds controller 20
/// on channel 1 to the lead's level turns it down on the host's control change's own frame.
#[test]
fn a_bound_controller_from_the_host_lands_on_its_frame() {
    let macros = r#""macros": [{ "index": 1, "name": "Lead level", "default": 1, "targets": [{ "param": "level.gain_db", "min": -60, "max": 0 }] }]"#;
    let learned = TWO_BUSES
        .replace(macros, r#""midi_map": [{ "cc": 20, "channel": 1, "param": "level.gain_db", "min": -60, "max": 0 }]"#);
    assert_ne!(learned, TWO_BUSES, "the macro was replaced");
    let note = HostEvent::NoteOn { frame: 0, channel: 0, key: 69, velocity: 1.0 };
    const AT: u64 = 5_555;
    let steady = instrument_playing(&learned, 512).render(24_000, 512, &[note], &[]);
    let turned = instrument_playing(&learned, 512).render(24_000, 512, &[note, midi(AT, [0xB0, 20, 0])], &[]);
    let (a, b) = (&steady[0][0], &turned[0][0]);
    let first =
        a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits()).expect("the controller changes the sound");
    assert!((AT as usize..=AT as usize + 1).contains(&first), "the change starts at frame {first}, not {AT}");
    let after = AT as usize + 2_000;
    let drop_db = 20.0 * (rms(&b[after..after + 4_800]) / rms(&a[after..after + 4_800])).log10();
    assert!((drop_db + 60.0).abs() < 0.5, "controller 0 lowered the lead by {drop_db:.2} dB");
}

#[test]
fn the_state_round_trips_with_its_patch_and_macros() {
    let mut first = instrument_playing(TWO_BUSES, 256);
    let events = [
        HostEvent::Param { frame: 0, id: 0, value: 0.25 },
        HostEvent::NoteOn { frame: 10, channel: 0, key: 60, velocity: 0.8 },
    ];
    let played = first.render(9_600, 256, &events, &[]);
    let saved = first.save_state();

    let mut second = instrument_with(TWO_BUSES, [0.0; MACRO_COUNT]);
    second.load_state(&saved).expect("its own state loads");
    assert!(second.asked(|r| &r.params_changed), "after loading, the host is told to rescan the values");
    let info = second.info();
    assert_eq!(info.params.len(), MACRO_COUNT);
    assert_eq!(info.params[0].name, "Lead level");
    assert_eq!(info.params[0].value, 0.25);
    assert_eq!(info.params[1].name, "Macro 2");
    assert_eq!(second.save_state(), saved, "saving again gives the same bytes");

    // The restored instance plays the note as the first did after its macro move.
    second.activate(RATE, 256);
    let again = second.render(9_600, 256, &events[1..], &[]);
    let tail = 4_800..9_600;
    let (a, b) = (&played[0][0][tail.clone()], &again[0][0][tail]);
    assert!((rms(a) / rms(b) - 1.0).abs() < 1e-3, "same level: {} against {}", rms(a), rms(b));
}

#[test]
fn a_state_that_does_not_load_leaves_the_patch_playing() {
    let mut rig = instrument_playing(TWO_BUSES, 256);
    let note = [HostEvent::NoteOn { frame: 0, channel: 0, key: 69, velocity: 1.0 }];
    let before = rig.render(4_800, 256, &note, &[]);
    assert!(rig.load_state(b"not a state").is_err());
    // A connection to a port the gain does not have: the patch is wrong, not just incomplete.
    let broken =
        state_with(&TWO_BUSES.replace("\"to\": \"out.in\"", "\"to\": \"level.sidechain\""), None, [0.0; MACRO_COUNT]);
    assert!(rig.load_state(&broken).is_err());
    assert!(!rig.asked(|r| &r.restart));
    let after = rig.render(4_800, 256, &[], &[]);
    assert!(rms(&after[0][0]) > 0.5 * rms(&before[0][0][2_400..]), "the held note sounds on");
}

#[test]
fn a_patch_with_other_buses_makes_the_plugin_ask_for_a_port_rescan() {
    let mut rig = PluginRig::new(&noderack_plugin_library(), INSTRUMENT_ID);
    assert_eq!(rig.info().audio_outputs.len(), 1, "the built-in patch has one bus");
    // Inactive: the host is asked to rescan at once.
    rig.load_state(&state_with(TWO_BUSES, None, [0.0; MACRO_COUNT])).unwrap();
    assert!(rig.asked(|r| &r.ports_changed));
    assert_eq!(rig.info().audio_outputs.len(), 2);
    // Active: a restart first, and the rescan once deactivated.
    rig.activate(RATE, 256);
    let three = TWO_BUSES.replace(
        r#"{ "name": "drums", "channels": 2 }"#,
        r#"{ "name": "drums", "channels": 2 }, { "name": "fx", "channels": 1 }"#,
    );
    rig.load_state(&state_with(&three, None, [0.0; MACRO_COUNT])).unwrap();
    assert!(rig.asked(|r| &r.restart));
    assert!(!rig.asked(|r| &r.ports_changed), "no rescan while active");
    rig.deactivate();
    rig.serve_callback();
    assert!(rig.asked(|r| &r.ports_changed));
    let outputs = rig.info().audio_outputs;
    assert_eq!(outputs.iter().map(|p| p.channels).collect::<Vec<_>>(), [2, 2, 1]);
    // The same bus layout: applied while playing, no restart.
    rig.activate(RATE, 256);
    let quieter = three
        .replace("\"gain_db\": -6 } },\n    { \"id\": \"level\"", "\"gain_db\": -12 } },\n    { \"id\": \"level\"");
    assert_ne!(quieter, three);
    rig.load_state(&state_with(&quieter, None, [0.0; MACRO_COUNT])).unwrap();
    assert!(!rig.asked(|r| &r.restart) && !rig.asked(|r| &r.ports_changed));
}

#[test]
fn the_effect_passes_its_input_through_its_patch() {
    let mut rig = PluginRig::new(&noderack_plugin_library(), EFFECT_ID);
    let info = rig.info();
    assert_eq!((info.audio_inputs.len(), info.audio_outputs.len()), (1, 1));
    rig.activate(RATE, 512);
    let left = noderack_tests::fixtures::sine_wave(220.0, RATE as u32, 0.25, 0.5);
    let right = noderack_tests::fixtures::sine_wave(330.0, RATE as u32, 0.25, 0.25);
    let out = rig.render(left.len(), 300, &[], &[vec![left.clone(), right.clone()]]);
    assert_eq!(out[0][0], left, "the built-in effect patch is a straight wire");
    assert_eq!(out[0][1], right);
}

/// A synth and a sampler (an SFZ file beside the patch) mixed to `main`.
const WITH_SAMPLES: &str = r#"{
  "format": "noderack-patch", "version": 1, "name": "with samples",
  "nodes": [
    { "id": "keys", "kind": "midi-in" },
    { "id": "lead", "kind": "synth", "params": { "waveform": "sine", "sustain_level": 1, "cutoff_hz": 20000, "gain_db": -12 } },
    { "id": "piano", "kind": "sampler", "config": { "instrument": { "sfz": "piano.sfz" } } },
    { "id": "piano_level", "kind": "gain", "params": { "gain_db": -6 } },
    { "id": "mix", "kind": "mixer", "config": { "inputs": 2 } },
    { "id": "out", "kind": "output", "config": { "bus": "main" } }
  ],
  "connections": [
    { "from": "keys.events", "to": "lead.events" }, { "from": "keys.events", "to": "piano.events" },
    { "from": "lead.out", "to": "mix.in1" }, { "from": "piano.out", "to": "piano_level.in" },
    { "from": "piano_level.out", "to": "mix.in2" }, { "from": "mix.out", "to": "out.in" }
  ]
}"#;

#[test]
fn a_missing_sample_file_leaves_a_working_plugin_with_that_node_silent() {
    let dir = scratch_dir("clap-plugin-missing-file");
    let _ = std::fs::remove_file(dir.join("piano.sfz"));
    let mut rig = PluginRig::new(&noderack_plugin_library(), INSTRUMENT_ID);
    rig.load_state(&state_with(WITH_SAMPLES, Some(&dir), [0.0; MACRO_COUNT]))
        .expect("a missing file does not fail the load");
    let saved = rig.save_state();
    rig.activate(RATE, 256);
    let note = [HostEvent::NoteOn { frame: 0, channel: 0, key: 57, velocity: 1.0 }];
    let out = rig.render(24_000, 256, &note, &[]);
    let band = |x: &[f32], hz: f32| noderack_tests::analysis::band_energy(x, RATE as f32, hz - 10.0, hz + 10.0);
    let own = band(&out[0][0][4_800..], 220.0);
    assert!(own > 0.0 && rms(&out[0][0]) > 0.01, "the synth plays");
    // The sample is a 1 kHz tone at its key centre A3: nothing of it sounds.
    assert!(band(&out[0][0][4_800..], 1000.0) < own * 1e-6);
    rig.deactivate();

    // Saved, the sampler is kept as it was written: its file, its connections.
    let state: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    let piano = state["patch"]["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "piano").unwrap();
    assert_eq!(piano["kind"], "sampler");
    assert_eq!(piano["config"]["instrument"]["sfz"], "piano.sfz");
    let connections = state["patch"]["connections"].to_string();
    assert!(connections.contains("piano.out") && connections.contains("piano.events"), "{connections}");

    // With the file back, the same state plays it.
    let tone = noderack_tests::fixtures::sine_wave(1000.0, RATE as u32, 1.0, 0.5);
    noderack_tests::fixtures::write_wav(&dir, "tone.wav", RATE as u32, &tone);
    write_text(&dir, "piano.sfz", "<region> sample=tone.wav pitch_keycenter=57 loop_mode=one_shot\n");
    let mut again = PluginRig::new(&noderack_plugin_library(), INSTRUMENT_ID);
    again.load_state(&saved).unwrap();
    again.activate(RATE, 256);
    let out = again.render(24_000, 256, &note, &[]);
    assert!(band(&out[0][0][..24_000], 1000.0) > 1e-3 * band(&out[0][0][..24_000], 220.0), "the sampler plays again");
}

#[test]
fn hosts_that_cannot_rescan_can_take_sixteen_fixed_stereo_outputs() {
    let mut rig = instrument_with(TWO_BUSES, [1.0; MACRO_COUNT]);
    let configs = rig.port_configs();
    assert_eq!(configs.len(), 2);
    assert_eq!((configs[0].0, configs[0].2), (0, 2), "the patch's own buses");
    assert_eq!((configs[1].0, configs[1].2), (1, 16), "sixteen stereo outputs");
    assert!(rig.select_port_config(1));
    let outputs = rig.info().audio_outputs;
    assert_eq!(outputs.len(), 16);
    assert!(outputs.iter().all(|p| p.channels == 2));
    rig.activate(RATE, 256);
    assert!(!rig.select_port_config(0), "the layout is fixed while active");
    let events = [HostEvent::NoteOn { frame: 0, channel: 9, key: 76, velocity: 1.0 }];
    let out = rig.render(4_800, 256, &events, &[]);
    assert!(rms(&out[1][0]) > 0.05, "bus 2 (drums) plays on port 2");
    assert!(out[2..].iter().all(|port| port.iter().all(|c| c.iter().all(|s| *s == 0.0))), "unused ports are silent");
    // The layout is part of the state.
    let saved = rig.save_state();
    let mut restored = instrument_with(TWO_BUSES, [1.0; MACRO_COUNT]);
    restored.load_state(&saved).unwrap();
    assert_eq!(restored.info().audio_outputs.len(), 16);
}

#[test]
fn a_note_expression_from_the_host_bends_only_its_note() {
    use noderack_tests::analysis::band_energy;
    use noderack_tests::plugin_rig::NoteExpressionType;
    let mut rig = instrument_playing(TWO_BUSES, 256);
    let events = [
        HostEvent::NoteOn { frame: 0, channel: 0, key: 57, velocity: 1.0 }, // A3, 220 Hz
        HostEvent::NoteOn { frame: 0, channel: 0, key: 69, velocity: 1.0 }, // A4, 440 Hz
        // A4 up two semitones (493.9 Hz); A3 stays.
        HostEvent::Expression { frame: 4_800, channel: 0, key: 69, kind: NoteExpressionType::Tuning, value: 2.0 },
    ];
    let out = rig.render(33_600, 256, &events, &[]);
    let (before, after) = (&out[0][0][..4_800], &out[0][0][28_800..]);
    let energy = |x: &[f32], hz: f32| band_energy(x, RATE as f32, hz - 8.0, hz + 8.0);
    assert!(energy(before, 440.0) > 100.0 * energy(before, 493.9));
    assert!(energy(after, 493.9) > 100.0 * energy(after, 440.0), "A4 moved up a tone");
    let kept = energy(after, 220.0) / energy(before, 220.0);
    assert!((0.5..2.0).contains(&kept), "A3 is untouched ({kept})");
}

#[test]
fn a_reset_silences_held_notes() {
    let mut rig = instrument_playing(TWO_BUSES, 256);
    let held = [
        HostEvent::NoteOn { frame: 0, channel: 0, key: 69, velocity: 1.0 },
        HostEvent::NoteOn { frame: 0, channel: 9, key: 76, velocity: 1.0 },
    ];
    let before = rig.render(4_800, 256, &held, &[]);
    assert!(rms(&before[0][0][2_400..]) > 0.05 && rms(&before[1][0][2_400..]) > 0.05);
    rig.reset();
    // No note-off was sent: only the reset stops them, within a short fade.
    let after = rig.render(4_800, 256, &[], &[]);
    for port in &after {
        assert!(rms(&port[0][2_400..]) < 1e-4, "silent after a reset ({})", rms(&port[0][2_400..]));
    }
}

/// The editor's view of the plugin: a stand-in `noderack-editor` is opened through the gui
/// extension; the test then edits the graph through the control server the plugin gave it, as
/// the editor does, and hears the edit in the plugin's own output.
#[test]
fn the_editor_edits_the_graph_that_plays_in_the_plugin() {
    // Only this test opens an editor in this binary.
    let editor = StandInEditor::install();
    let mut rig = instrument_playing(TWO_BUSES, 256);
    assert!(rig.show_floating_gui("Track 1 · noderack"), "the plugin opens its editor");
    let started = editor.started();
    assert_eq!(started.option("--title"), Some("Track 1 · noderack"), "{:?}", started.args);
    let url = started.option("--connect").unwrap_or_default();
    assert!(url.starts_with("http://127.0.0.1:"), "a loopback server: {url}");
    assert_eq!(started.token.len(), 32, "a 128-bit token");
    let api = EditorApi::of(&started);
    let unauthorized = api.call(reqwest::Method::GET, "/status", None, false).unwrap();
    assert_eq!(unauthorized.0, 401, "the token is required");

    // A held A4 on channel 1 plays through `lead` → `level` → `out` (main, port 0).
    let level_db = |rig: &mut PluginRig| {
        let audio = rig.render(9_600, 256, &[], &[]);
        20.0 * f64::from(rms(&audio[0][0][4_800..])).log10()
    };
    rig.render(4_800, 256, &[midi(0, [0x90, 69, 100])], &[]);
    let before = level_db(&mut rig);
    assert!(before > -30.0, "the note sounds: {before:.1} dB");
    let (status, graph) = api.get("/graph");
    assert_eq!(status, 200, "{graph}");
    assert!(graph["graph"]["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "lead"), "{graph}");

    // The editor inserts a -20 dB trim before the output.
    let edits = json!({ "edits": [
        { "op": "add", "id": "trim", "kind": "gain", "params": { "gain_db": -20 } },
        { "op": "disconnect", "from": "level.out", "to": "out.in" },
        { "op": "connect", "from": "level.out", "to": "trim.in" },
        { "op": "connect", "from": "trim.out", "to": "out.in" }
    ]});
    let (status, reply) = api.post("/edits", edits);
    assert_eq!(status, 200, "{reply}");
    let trimmed = level_db(&mut rig);
    assert!((trimmed - (before - 20.0)).abs() < 0.5, "{before:.2} dB → {trimmed:.2} dB");

    // Meters come from the plugin's audio thread; the host's saved state has the editor's node.
    let (_, status) = api.get("/status");
    assert_eq!(status["backend"], "CLAP plugin at 48000 Hz", "{status}");
    let main_peak = status["bus_peaks_db"]["main"].as_f64().expect("the main bus is metered");
    assert!(main_peak > trimmed - 6.0 && main_peak < 0.0, "peak {main_peak:.1} dB, RMS {trimmed:.1} dB");
    let state = noderack_plugin::state::decode(&rig.save_state()).expect("the state decodes");
    assert!(state.patch["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "trim"), "{}", state.patch);

    // Undo is the editor's too, and the audio follows it.
    let (status, reply) = api.post("/undo", json!({}));
    assert_eq!(status, 200, "{reply}");
    let undone = level_db(&mut rig);
    assert!((undone - before).abs() < 0.5, "{before:.2} dB → {undone:.2} dB after undo");
    assert_eq!(api.post("/redo", json!({})).0, 200);

    // Hiding the window ends the editor program; showing it again starts a new one, on the
    // same server. A window the person closes (its program ends) is reported to the host at the
    // next timer tick.
    assert!(started.runs());
    assert!(rig.hide_gui());
    assert!(!started.runs(), "the editor process still runs after hide");
    assert!(rig.show_floating_gui("Track 1 · noderack"));
    let again = editor.started();
    assert_eq!(again.option("--connect"), started.option("--connect"), "the same server");
    rig.fire_timers();
    assert!(!rig.asked(|r| &r.gui_closed), "open windows are not reported closed");
    Command::new("kill").arg(again.pid.to_string()).status().expect("kill runs");
    wait_until(Duration::from_secs(10), "the editor ending", || (!again.runs()).then_some(()));
    rig.fire_timers();
    assert!(rig.asked(|r| &r.gui_closed), "the host is told the window was closed");

    // Inactive: the server says why it cannot edit; active again, the editor's change plays on.
    rig.deactivate();
    let (status, reply) = api.get("/status");
    assert_eq!(status, 503, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap_or_default().contains("not active"), "{reply}");
    rig.activate(RATE, 256);
    rig.render(4_800, 256, &[midi(0, [0x90, 69, 100])], &[]);
    let again = level_db(&mut rig);
    assert!((again - (before - 20.0)).abs() < 0.5, "{before:.2} dB → {again:.2} dB after reactivation");

    // The editor loads a patch whose macro has another name: at the next timer tick the host
    // is asked to rescan the parameters.
    let renamed = TWO_BUSES.replace("Lead level", "Lead volume");
    let request = (reqwest::Method::PUT, "/graph", Some(serde_json::from_str(&renamed).unwrap()));
    let (status, reply) = api.call(request.0, request.1, request.2, true).unwrap();
    assert_eq!(status, 200, "{reply}");
    let _ = rig.asked(|r| &r.params_changed);
    rig.fire_timers();
    assert!(rig.asked(|r| &r.params_changed), "the host rescans the macros");

    // Destroyed: the server is gone.
    rig.destroy_gui();
    assert!(api.call(reqwest::Method::GET, "/status", None, true).is_err(), "the server answers after destroy");
}
