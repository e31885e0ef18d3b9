//! SongWalker library formats: every preset and index of the shared library subset reads, the
//! `"Lib/Name"` lookup follows the library's rules, and malformed or hostile files (bad JSON,
//! path traversal, bad hashes) are refused with located errors.

use std::path::Path;

use noderack_presets::songwalker::index::LookupError;
use noderack_presets::songwalker::{
    find_preset, Codec, IndexEntry, LibraryIndex, OscillatorWaveform, PresetFile, PresetNode,
};
use noderack_presets::FileError;
use noderack_tests::testdata_dir;

fn library() -> Option<std::path::PathBuf> {
    testdata_dir().map(|d| d.join("songwalker-library"))
}

#[test]
fn every_index_and_preset_of_the_shared_library_reads() {
    let Some(root) = library() else { return };
    let root_index = LibraryIndex::load(&root.join("index.json")).unwrap();
    let mut presets = 0;
    for lib in &root_index.entries {
        let IndexEntry::Index { path, preset_count, .. } = lib else { panic!("root lists libraries") };
        let index = LibraryIndex::load(&root.join(path)).unwrap();
        let folder = root.join(path).parent().unwrap().to_path_buf();
        assert_eq!(Some(index.entries.len() as u32), *preset_count, "{path}");
        for entry in &index.entries {
            let IndexEntry::Preset { path, zone_count, name, .. } = entry else { panic!("library lists presets") };
            let preset = PresetFile::load(&folder.join(path)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&preset.name, name);
            if let Some(zones) = zone_count {
                assert_eq!(preset.zones().len() as u32, *zones, "{name}");
            }
            for zone in preset.zones() {
                let sample = folder.join(path).parent().unwrap().join(&zone.audio.url);
                assert!(sample.is_file(), "{name}: missing sample {}", sample.display());
            }
            presets += 1;
        }
    }
    assert_eq!(presets, 19);
}

#[test]
fn preset_kinds_codecs_and_declared_rates_are_read_as_written() {
    let Some(root) = library() else { return };
    let piano = PresetFile::load(&root.join("FluidR3_GM/instruments/piano/Acoustic_Grand_Piano/preset.json")).unwrap();
    let zones = piano.zones();
    assert_eq!(zones.len(), 20);
    assert_eq!((zones[0].key_range.low, zones[0].key_range.high, zones[0].pitch.root_note), (0, 26, 26));
    assert_eq!(zones[0].audio.codec, Codec::Mp3);
    assert_eq!(zones[0].sample_rate, 32_000);
    assert_eq!(zones[0].loop_frames.map(|l| (l.start, l.end)), Some((170_893, 219_499)));

    let bass = PresetFile::load(&root.join("SBLive/instruments/bass/Acoustic_Bass/preset.json")).unwrap();
    assert!(bass.zones().iter().all(|z| z.audio.codec == Codec::Raw));

    let sine = PresetFile::load(&root.join("_shared/synths/Sine/preset.json")).unwrap();
    let PresetNode::Oscillator { config } = &sine.node else { panic!("{:?}", sine.node) };
    assert_eq!(config.waveform, OscillatorWaveform::Sine);
    assert_eq!(config.envelope.map(|e| e.release), Some(0.3));
    assert_eq!(sine.max_voices, Some(64));

    let delay = PresetFile::load(&root.join("_shared/effects/Delay/preset.json")).unwrap();
    let PresetNode::Effect { effect_type, params } = &delay.node else { panic!() };
    assert_eq!(effect_type, "delay");
    assert_eq!(params.get("feedback"), Some(&0.4));
}

#[test]
fn lookup_follows_the_library_rules() {
    let Some(root) = library() else { return };
    let find = |q: &str| find_preset(&root, q).map(|p| (p.library, p.name));
    // Library by display name, `_` read as a space, case-insensitive; preset by substring.
    assert_eq!(find("FluidR3_GM/piano").unwrap(), ("FluidR3 GM".into(), "Acoustic Grand Piano".into()));
    assert_eq!(find("fluidr3 gm/BASS").unwrap().1, "Electric Bass (finger)");
    // Library by folder.
    assert_eq!(find("_shared/sine").unwrap(), ("Built-in".into(), "Sine Oscillator".into()));
    assert_eq!(find("built-in/Delay").unwrap().1, "Delay");
    let p = find_preset(&root, "SBLive/bass").unwrap();
    assert_eq!(p.path, Path::new("SBLive/instruments/bass/Acoustic_Bass/preset.json"));
    assert!(root.join(&p.path).is_file());

    let err = find("Nope/piano").unwrap_err().to_string();
    assert!(err.contains("no library matches \"Nope\"") && err.contains("FluidR3 GM, SBLive, Built-in"), "{err}");
    let err = find("SBLive/harp").unwrap_err().to_string();
    assert!(err.contains("no preset whose name contains \"harp\""), "{err}");
    assert!(matches!(find_preset(&root, "piano"), Err(LookupError::BadQuery(_))));
}

const PRESET: &str = r#"{
  "format": "songwalker-preset",
  "version": 1,
  "name": "Test",
  "graph": {
    "type": "sampler",
    "config": {
      "zones": [
        {
          "keyRange": { "low": 0, "high": 127 },
          "pitch": { "rootNote": 60 },
          "sampleRate": 44100,
          "audio": { "type": "external", "url": "s.raw", "codec": "raw", "sha256": "0123456789abcdef" },
          "futureField": true
        }
      ]
    }
  }
}"#;

fn invalid(text: &str) -> (usize, String, String) {
    match PresetFile::parse(text, "p.json") {
        Err(FileError::Invalid { line, json_path, message, .. }) => (line, json_path, message),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted:\n{text}"),
    }
}

#[test]
fn graph_spelling_and_unknown_fields_are_accepted() {
    let p = PresetFile::parse(PRESET, "p.json").unwrap();
    assert_eq!(p.zones().len(), 1);
    assert_eq!(p.zones()[0].pitch.fine_tune_cents, 0.0);
    // The unknown zone key is reported with its place, not dropped silently.
    assert_eq!(p.ignored, vec!["p.json:14:26: graph.config.zones[0].futureField: not understood, ignored".to_string()]);
}

#[test]
fn hostile_and_broken_presets_are_refused_with_located_errors() {
    for (from, to, path, needle) in [
        ("\"s.raw\"", "\"../../etc/passwd\"", "graph.config.zones[0].audio.url", "relative path inside"),
        ("\"s.raw\"", "\"/abs/s.raw\"", "graph.config.zones[0].audio.url", "relative path inside"),
        ("\"s.raw\"", "\"https://x/s.raw\"", "graph.config.zones[0].audio.url", "no '..'"),
        ("\"0123456789abcdef\"", "\"0123\"", "graph.config.zones[0].audio.sha256", "16 hex digits"),
        ("\"high\": 127", "\"high\": 200", "graph.config.zones[0].keyRange", "invalid key range"),
        ("\"codec\": \"raw\"", "\"codec\": \"aiff\"", "graph.config.zones[0].audio.codec", "unknown variant"),
        ("\"sampleRate\": 44100", "\"sampleRate\": \"fast\"", "graph.config.zones[0].sampleRate", "invalid type"),
    ] {
        let (line, json_path, message) = invalid(&PRESET.replace(from, to));
        assert_eq!(json_path, path, "{to}: {message}");
        assert!(message.contains(needle), "{to}: {message}");
        assert!((10..=14).contains(&line), "{to}: line {line}");
    }
    let (_, path, _) = invalid(&PRESET.replace("songwalker-preset", "noderack-patch"));
    assert_eq!(path, "format");
    for end in (0..PRESET.len()).step_by(7) {
        assert!(PresetFile::parse(&PRESET[..end], "p.json").is_err());
    }
}

#[test]
fn index_entries_may_not_escape_the_library() {
    let index = r#"{ "format": "songwalker-index", "version": 1, "name": "x",
      "entries": [ { "type": "preset", "name": "a", "path": "ok/preset.json" },
                   { "type": "preset", "name": "b", "path": "ok/../../../secret.json" } ] }"#;
    let Err(FileError::Invalid { json_path, message, .. }) = LibraryIndex::parse(index, "index.json") else {
        panic!("path traversal accepted")
    };
    assert_eq!(json_path, "entries[1].path");
    assert!(message.contains("no '..'"), "{message}");
}
