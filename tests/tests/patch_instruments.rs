//! Patches whose `sampler` nodes load their instrument from an SFZ file, an SF2 bank (whole, or
//! one program) or a SongWalker library preset: each plays at the expected pitch, relative
//! paths resolve against the patch's folder, and bad references fail with the patch file's
//! line, column and JSON path of the field at fault.

use std::path::{Path, PathBuf};

use noderack_host::TimedMidi;
use noderack_nodes::registry::Registry;
use noderack_presets::{FileError, Patch};
use noderack_tests::analysis::cents;
use noderack_tests::fixtures::{scratch_dir, sine_wave, songwalker_sine_zone, write_text, write_wav};
use noderack_tests::library::write_library;
use noderack_tests::midi::{note_off, note_on, program_change};
use noderack_tests::sf2_builder::three_sines;
use noderack_tests::{peak_frequency_hz, rms, Rig};

const SR: f32 = 48_000.0;

/// A patch `keys → sampler (instrument) → out`; the instrument sits on line 6.
fn patch_text(instrument: &str) -> String {
    format!(
        r#"{{
  "format": "noderack-patch",
  "version": 1,
  "nodes": [
    {{ "id": "keys", "kind": "midi-in" }},
    {{ "id": "inst", "kind": "sampler", "config": {{ "instrument": {instrument} }} }},
    {{ "id": "out", "kind": "output" }}
  ],
  "connections": [ {{ "from": "keys.events", "to": "inst.events" }}, {{ "from": "inst.out", "to": "out.in" }} ]
}}"#
    )
}

/// Writes the patch into `dir/patches/` (so paths are relative to a folder that is not the
/// current directory) and loads it.
fn load(dir: &Path, instrument: &str) -> (PathBuf, Result<Patch, FileError>) {
    let path = write_text(&ensure(dir.join("patches")), "p.json", &patch_text(instrument));
    let loaded = Patch::load(&path, &Registry);
    (path, loaded)
}

fn ensure(dir: PathBuf) -> PathBuf {
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Renders `seconds` of `patch` playing `midi`; the left channel.
fn render(patch: &Patch, seconds: f32, midi: &[TimedMidi]) -> Vec<f32> {
    let mut rig = Rig::new(patch.engine_config(SR, 512), 256);
    rig.apply(patch.edits());
    rig.render((seconds * SR) as u64, midi).swap_remove(0)
}

/// The pitch of `x` between `from` and `to` seconds.
fn pitch(x: &[f32], from: f32, to: f32) -> f32 {
    peak_frequency_hz(&x[(from * SR) as usize..(to * SR) as usize], SR)
}

fn assert_pitch(found: f32, expected: f32, what: &str) {
    assert!(cents(found, expected).abs() < 2.0, "{what}: {found} Hz, expected {expected}");
}

#[test]
fn sfz_reference_resolves_against_the_patch_folder_and_plays_in_tune() {
    let dir = scratch_dir("patch-sfz");
    let inst = ensure(dir.join("patches/inst"));
    write_wav(&inst, "a220.wav", 44_100, &sine_wave(220.0, 44_100, 1.0, 0.5));
    write_text(
        &inst,
        "tiny.sfz",
        "<region> key=57 sample=a220.wav\n<region> lokey=69 hikey=69 sample=*sine note_polyphony=2\n",
    );
    let (_, patch) = load(&dir, r#"{ "sfz": "inst/tiny.sfz" }"#);
    let patch = patch.unwrap();
    // The unsupported opcode is passed on with its file and line, not dropped.
    assert!(patch.warnings.iter().any(|w| w.contains("tiny.sfz:2: opcode `note_polyphony`")), "{:?}", patch.warnings);
    let x = render(&patch, 1.0, &[note_on(0, 0, 57, 100), note_off(24_000, 0, 57), note_on(24_000, 0, 69, 100)]);
    assert_pitch(pitch(&x, 0.05, 0.45), 220.0, "key 57 (WAV)");
    assert_pitch(pitch(&x, 0.55, 0.95), 440.0, "key 69 (generated sine)");
}

#[test]
fn sf2_reference_plays_the_whole_bank_as_general_midi() {
    let dir = scratch_dir("patch-sf2-gm");
    std::fs::write(dir.join("gm.sf2"), three_sines()).unwrap();
    let (_, patch) = load(&dir, r#"{ "sf2": "../gm.sf2" }"#);
    let patch = patch.unwrap();
    let x = render(
        &patch,
        1.5,
        &[
            note_on(0, 0, 69, 127),
            program_change(12_000, 1, 1),
            note_off(24_000, 0, 69),
            note_on(24_000, 1, 74, 127),
            note_off(48_000, 1, 74),
            note_on(48_000, 9, 36, 127),
            note_off(72_000, 9, 36),
        ],
    );
    assert_pitch(pitch(&x, 0.05, 0.45), 440.0, "program 0 on channel 1");
    assert_pitch(pitch(&x, 0.55, 0.95), 600.0, "program 1 on channel 2");
    assert_pitch(pitch(&x, 1.05, 1.45), 880.0, "the kit on channel 10");
}

#[test]
fn sf2_reference_to_one_program_plays_it_on_every_channel() {
    let dir = scratch_dir("patch-sf2-program");
    std::fs::write(dir.join("gm.sf2"), three_sines()).unwrap();
    for (instrument, key, hz) in [
        (r#"{ "sf2": "../gm.sf2", "program": 1 }"#, 74, 600.0),
        (r#"{ "sf2": "../gm.sf2", "bank": 0, "program": 0 }"#, 69, 440.0),
        (r#"{ "sf2": "../gm.sf2", "bank": 128, "program": 0 }"#, 36, 880.0),
    ] {
        let (_, patch) = load(&dir, instrument);
        let patch = patch.unwrap_or_else(|e| panic!("{instrument}: {e}"));
        // Channel 3: no program change, no percussion channel: the one program plays.
        let x = render(&patch, 0.5, &[note_on(0, 2, key, 127)]);
        assert_pitch(pitch(&x, 0.05, 0.45), hz, instrument);
    }
}

#[test]
fn preset_reference_plays_a_library_sampler() {
    let dir = scratch_dir("patch-preset");
    let zone = songwalker_sine_zone(&dir.join("lib/Mine/Tone"), "a440.wav", 440.0, 69, 0, 127);
    write_library(
        &dir.join("lib"),
        "Mine",
        "Tone",
        &format!(r#"{{ "type": "sampler", "config": {{ "zones": [ {zone} ] }} }}"#),
    );
    let (_, patch) = load(&dir, r#"{ "preset": "Mine/tone", "library": "../lib" }"#);
    let patch = patch.unwrap();
    assert!(patch.warnings.is_empty(), "{:?}", patch.warnings);
    let x = render(&patch, 1.0, &[note_on(0, 0, 76, 127), note_off(24_000, 0, 76)]);
    assert_pitch(pitch(&x, 0.05, 0.45), 659.26, "key 76 from a root of 69");
    // The preset's default 0.25 s release.
    assert!(rms(&x[(0.8 * SR) as usize..]) < 1e-4, "released");
}

#[test]
fn bad_instrument_references_give_located_errors() {
    let dir = scratch_dir("patch-bad-refs");
    std::fs::write(dir.join("gm.sf2"), three_sines()).unwrap();
    write_library(&dir.join("lib"), "Mine", "Sine", r#"{ "type": "oscillator", "config": { "waveform": "sine" } }"#);
    for (instrument, json_path, needle) in [
        (r#"{ "sfz": "missing.sfz" }"#, "instrument.sfz", "missing.sfz: No such file"),
        (r#"{ "sf2": "../nope.sf2" }"#, "instrument.sf2", "nope.sf2"),
        (
            r#"{ "sf2": "../gm.sf2", "program": 5 }"#,
            "instrument.program",
            "has no program 5 in bank 0 (it has: 0:0 A, 0:1 E, 128:0 Kit)",
        ),
        (r#"{ "sf2": "../gm.sf2", "program": 200 }"#, "instrument.program", "whole number from 0 to 127, found 200"),
        (r#"{ "sf2": "../gm.sf2", "bank": 3 }"#, "instrument.bank", "give `program` with `bank`"),
        (r#"{ "sfz": "a.sfz", "program": 1 }"#, "instrument.program", "`program` does not go with `sfz`"),
        (r#"{ "sfz": "a.sfz", "sf2": "b.sf2" }"#, "instrument", "exactly one of `sfz`, `sf2` or `preset`"),
        (r#"{ "sfzz": "a.sfz" }"#, "instrument", "unknown field \"sfzz\""),
        (r#""piano.sfz""#, "instrument", "expected an object"),
        (
            r#"{ "preset": "Mine/Harp", "library": "../lib" }"#,
            "instrument.preset",
            "no preset whose name contains \"Harp\"",
        ),
        (r#"{ "preset": "Nope/Harp", "library": "../lib" }"#, "instrument.preset", "no library matches \"Nope\""),
        (
            r#"{ "preset": "Mine/Sine", "library": "../lib" }"#,
            "instrument.preset",
            "is an oscillator preset, not a sampler",
        ),
        (r#"{ "preset": "Mine/Sine", "library": "../elsewhere" }"#, "instrument.preset", "elsewhere/index.json"),
    ] {
        let (path, loaded) = load(&dir, instrument);
        match loaded {
            Err(FileError::Invalid { file, line, column, json_path: p, message }) => {
                assert_eq!(file, path.display().to_string());
                assert_eq!(p, format!("nodes[1].config.{json_path}"), "{instrument}: {message}");
                assert!(message.contains(needle), "{instrument}: {message}");
                assert_eq!(line, 6, "{instrument}: {message}");
                // The column points into the instrument object (or at it), never at line start.
                assert!(column >= 60, "{instrument}: column {column}");
            }
            Err(e) => panic!("{instrument}: {e}"),
            Ok(_) => panic!("{instrument}: accepted"),
        }
    }
}
