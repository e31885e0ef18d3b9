//! SongWalker presets of every kind as the nodes that play them: the shared library's
//! oscillator presets play their waveform at the key's pitch with their envelope, composites
//! layer (both children's pitches sound, at their mix levels) and split (each key reaches the
//! right child), all-sampler composites become one instrument, effect presets are refused
//! naming the effect, and malformed composites give located errors.

use std::path::{Path, PathBuf};

use noderack_presets::sample::SampleStore;
use noderack_presets::songwalker::{build_graph, load_graph, InstrumentError, PresetFile, PresetGraph, SynthWaveform};
use noderack_presets::FileError;
use noderack_tests::analysis::{band_energy, cents};
use noderack_tests::fixtures::{scratch_dir, songwalker_sine_zone, write_text};
use noderack_tests::midi::{note_off, note_on};
use noderack_tests::{peak_frequency_hz, rms, testdata_dir, Rig};

const SR: f32 = 48_000.0;

/// Plays `key` from frame 0 for `held_seconds`, renders `total_seconds`, returns the left
/// channel.
fn play(graph: PresetGraph, key: u8, held_seconds: f32, total_seconds: f32) -> Vec<f32> {
    let mut rig = Rig::stereo(256);
    rig.add_preset(graph, 0.0);
    let off = (held_seconds * SR) as u64;
    let out = rig.render((total_seconds * SR) as u64, &[note_on(0, 0, key, 127), note_off(off, 0, key)]);
    out[0].clone()
}

fn seconds(x: &[f32], from: f32, to: f32) -> &[f32] {
    &x[(from * SR) as usize..(to * SR) as usize]
}

fn db(ratio: f64) -> f64 {
    10.0 * ratio.log10()
}

/// Energy of the `harmonic`-th partial of `f0` relative to the fundamental, in dB.
fn harmonic_db(x: &[f32], f0: f32, harmonic: f32) -> f64 {
    let band = |f: f32| band_energy(x, SR, f - 20.0, f + 20.0);
    db(band(f0 * harmonic) / band(f0))
}

fn library() -> Option<PathBuf> {
    testdata_dir().map(|d| d.join("songwalker-library"))
}

#[test]
fn shared_oscillator_presets_play_their_waveform_at_the_key_pitch() {
    let Some(root) = library() else { return };
    // (preset, waveform, level of the 2nd and 3rd harmonics relative to the fundamental):
    // sine none; square odd harmonics only, the 3rd at 1/3 (-9.5 dB); triangle the 3rd at 1/9
    // (-19 dB); saw every harmonic, the 2nd at 1/2 (-6 dB).
    for (name, waveform, second_db, third_db) in [
        ("Sine", SynthWaveform::Sine, None, -300.0..-60.0),
        ("Square", SynthWaveform::Square, Some(-200.0..-30.0), -11.5..-7.5),
        ("Triangle", SynthWaveform::Triangle, Some(-200.0..-30.0), -21.0..-17.0),
        ("Sawtooth", SynthWaveform::Saw, Some(-8.0..-4.0), -11.5..-7.5),
    ] {
        let built = load_graph(&root, &format!("_shared/{name}"), &mut SampleStore::new()).unwrap();
        assert!(built.warnings.is_empty(), "{name}: {:?}", built.warnings);
        let PresetGraph::Synth(settings) = &built.graph else { panic!("{name}: {:?}", built.graph) };
        assert_eq!(settings.waveform, waveform, "{name}");
        assert_eq!(settings.voices, Some(64), "{name}");
        for key in [57u8, 69, 81] {
            let f0 = 440.0 * ((key as f32 - 69.0) / 12.0).exp2();
            let x = play(built.graph.clone(), key, 1.0, 1.0);
            let steady = seconds(&x, 0.3, 1.0);
            let found = peak_frequency_hz(steady, SR);
            assert!(cents(found, f0).abs() < 2.0, "{name} key {key}: {found} Hz, expected {f0}");
            let third = harmonic_db(steady, f0, 3.0);
            assert!(third_db.contains(&third), "{name} key {key}: 3rd harmonic at {third:.1} dB");
            if let Some(range) = &second_db {
                let second = harmonic_db(steady, f0, 2.0);
                assert!(range.contains(&second), "{name} key {key}: 2nd harmonic at {second:.1} dB");
            }
        }
    }
}

#[test]
fn oscillator_preset_envelope_sustains_and_releases_as_written() {
    let Some(root) = library() else { return };
    // Sine: attack 0.01 s, decay 0.1 s, sustain 0.8, release 0.3 s.
    let built = load_graph(&root, "_shared/Sine", &mut SampleStore::new()).unwrap();
    let x = play(built.graph, 69, 0.5, 1.2);
    let peak = |from: f32, to: f32| noderack_tests::analysis::peak(seconds(&x, from, to));
    // Full level at the end of the attack, then 0.8 of it (-1.9 dB) once the decay is over.
    let sustain_db = 20.0 * (peak(0.3, 0.5) / peak(0.0, 0.03)).log10();
    assert!((-2.1..=-1.8).contains(&sustain_db), "sustain at {sustain_db:.2} dB of the peak");
    // The 0.3 s release: audible just after note-off, 50 dB down near its end, silent after.
    let sustain = rms(seconds(&x, 0.3, 0.5));
    assert!(rms(seconds(&x, 0.52, 0.54)) > 0.3 * sustain, "released too fast");
    assert!(rms(seconds(&x, 0.76, 0.78)) < 0.01 * sustain, "released too slowly");
    assert!(rms(seconds(&x, 0.81, 1.2)) < 1e-6, "still sounding 0.31 s after note-off");
}

/// A preset with `node` as its instrument, written to `dir/preset.json`.
fn preset_file(dir: &Path, node: &str) -> PathBuf {
    let text = format!(
        r#"{{
  "format": "songwalker-preset",
  "version": 1,
  "name": "Fixture",
  "node": {node}
}}"#
    );
    write_text(dir, "preset.json", &text)
}

fn build(path: &Path) -> Result<noderack_presets::songwalker::BuiltGraph, InstrumentError> {
    let preset = PresetFile::load(path)?;
    build_graph(&preset, path, &mut SampleStore::new())
}

const SINE_OSCILLATOR: &str = r#"{ "type": "oscillator", "config": { "waveform": "sine", "envelope": { "attack": 0.01, "decay": 0.1, "sustain": 1, "release": 0.05 } } }"#;

#[test]
fn layer_of_an_oscillator_and_a_sampler_sounds_both_pitches_at_their_mix_levels() {
    let dir = scratch_dir("layer-graph");
    // The sampler plays its 440 Hz recording from root key 57, so key 69 sounds 880 Hz; the
    // sine oscillator plays key 69 at 440 Hz.
    let zone = songwalker_sine_zone(&dir, "a440.wav", 440.0, 57, 0, 127);
    let layer = |levels: &str| {
        let node = format!(
            r#"{{ "type": "composite", "mode": "layer", "config": {{ "mixLevels": {levels} }},
                 "children": [ {SINE_OSCILLATOR}, {{ "type": "sampler", "config": {{ "zones": [ {zone} ] }} }} ] }}"#
        );
        let built = build(&preset_file(&dir, &node)).unwrap();
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
        let PresetGraph::Layer(parts) = &built.graph else { panic!("{:?}", built.graph) };
        assert_eq!(parts.len(), 2);
        let x = play(built.graph, 69, 0.8, 0.8);
        // The sample (1 s at 44.1 kHz) lasts 0.5 s an octave up.
        let steady = seconds(&x, 0.1, 0.45).to_vec();
        (band_energy(&steady, SR, 420.0, 460.0), band_energy(&steady, SR, 860.0, 900.0), steady)
    };
    let (low, high, steady) = layer("[1, 1]");
    assert!(low > 1e-3 && high > 1e-3, "both layers sound: 440 Hz {low}, 880 Hz {high}");
    let total = band_energy(&steady, SR, 20.0, 20_000.0);
    assert!((low + high) / total > 0.99, "nothing but the two tones: {}", (low + high) / total);
    // A quarter of the sampler's level: its tone 12 dB down, the oscillator's unchanged.
    let (low_quiet, high_quiet, _) = layer("[1, 0.25]");
    assert!((db(high_quiet / high) + 12.04).abs() < 0.3, "{:.2} dB", db(high_quiet / high));
    assert!(db(low_quiet / low).abs() < 0.1, "{:.2} dB", db(low_quiet / low));
}

#[test]
fn split_routes_each_key_to_its_child() {
    let dir = scratch_dir("split-graph");
    // Below key 60 a square oscillator; from 60 up a sampler whose 1000 Hz sample sits on key
    // 72 and follows the key.
    let zone = songwalker_sine_zone(&dir, "k1000.wav", 1000.0, 72, 0, 127);
    let node = format!(
        r#"{{ "type": "composite", "mode": "split", "config": {{ "splitPoints": [60] }},
             "children": [ {{ "type": "oscillator", "config": {{ "waveform": "square" }} }},
                           {{ "type": "sampler", "config": {{ "zones": [ {zone} ] }} }} ] }}"#
    );
    let built = build(&preset_file(&dir, &node)).unwrap();
    let PresetGraph::Split(parts) = &built.graph else { panic!("{:?}", built.graph) };
    assert_eq!(parts.iter().map(|p| (p.keys.low, p.keys.high)).collect::<Vec<_>>(), [(0, 59), (60, 127)]);
    for (key, hz, square) in [(57u8, 220.0, true), (59, 246.94, true), (60, 500.0, false), (72, 1000.0, false)] {
        let x = play(built.graph.clone(), key, 0.6, 0.6);
        let steady = seconds(&x, 0.1, 0.6);
        let found = peak_frequency_hz(steady, SR);
        assert!(cents(found, hz).abs() < 3.0, "key {key}: {found} Hz, expected {hz}");
        // The square has a strong 3rd harmonic, the sampled sine none: the key reached one
        // child only.
        let third = harmonic_db(steady, hz, 3.0);
        assert_eq!(third > -20.0, square, "key {key}: 3rd harmonic at {third:.1} dB");
    }
}

#[test]
fn split_without_points_gives_each_key_to_the_first_child_that_plays_it() {
    let dir = scratch_dir("split-zones");
    // The first child (a sampler) has zones for keys 0..=47 only; the oscillator after it takes
    // the rest.
    let zone = songwalker_sine_zone(&dir, "a110.wav", 110.0, 45, 0, 47);
    let node = format!(
        r#"{{ "type": "composite", "mode": "split",
             "children": [ {{ "type": "sampler", "config": {{ "zones": [ {zone} ] }} }}, {SINE_OSCILLATOR} ] }}"#
    );
    let built = build(&preset_file(&dir, &node)).unwrap();
    let PresetGraph::Split(parts) = &built.graph else { panic!("{:?}", built.graph) };
    assert_eq!(parts.iter().map(|p| (p.keys.low, p.keys.high)).collect::<Vec<_>>(), [(0, 47), (48, 127)]);
    let x = play(built.graph.clone(), 45, 0.5, 0.5);
    assert!(cents(peak_frequency_hz(seconds(&x, 0.1, 0.5), SR), 110.0).abs() < 3.0);
    let x = play(built.graph, 69, 0.5, 0.5);
    assert!(cents(peak_frequency_hz(seconds(&x, 0.1, 0.5), SR), 440.0).abs() < 2.0);
}

#[test]
fn all_sampler_composites_become_one_instrument() {
    let dir = scratch_dir("sampler-composite");
    let low = songwalker_sine_zone(&dir, "low.wav", 220.0, 57, 0, 127);
    let high = songwalker_sine_zone(&dir, "high.wav", 440.0, 57, 0, 127);
    let sampler = |zone: &str| format!(r#"{{ "type": "sampler", "config": {{ "zones": [ {zone} ] }} }}"#);
    // A split at 60 of two full-range samplers: each keeps only its side's keys.
    let node = format!(
        r#"{{ "type": "composite", "mode": "split", "config": {{ "splitPoints": [60] }}, "children": [ {}, {} ] }}"#,
        sampler(&low),
        sampler(&high)
    );
    let built = build(&preset_file(&dir, &node)).unwrap();
    let PresetGraph::Sampler(instrument) = &built.graph else { panic!("{:?}", built.graph) };
    let keys: Vec<(u8, u8)> = instrument.regions().map(|r| (r.keys.low, r.keys.high)).collect();
    assert_eq!(keys, [(0, 59), (60, 127)]);
    let x = play(built.graph.clone(), 57, 0.5, 0.5);
    assert!(cents(peak_frequency_hz(seconds(&x, 0.1, 0.5), SR), 220.0).abs() < 2.0);
    let x = play(built.graph, 57 + 12, 0.5, 0.5);
    assert!(cents(peak_frequency_hz(seconds(&x, 0.1, 0.5), SR), 880.0).abs() < 2.0);

    // A layer at levels 1 and 0.5: both regions answer every key, the second 6 dB down.
    let node = format!(
        r#"{{ "type": "composite", "mode": "layer", "config": {{ "mixLevels": [1, 0.5] }}, "children": [ {}, {} ] }}"#,
        sampler(&low),
        sampler(&high)
    );
    let built = build(&preset_file(&dir, &node)).unwrap();
    let PresetGraph::Sampler(instrument) = &built.graph else { panic!("{:?}", built.graph) };
    let gains: Vec<f32> = instrument.regions().map(|r| r.gain_db).collect();
    assert_eq!(gains.len(), 2);
    assert!(gains[0] == 0.0 && (gains[1] + 6.02).abs() < 0.01, "{gains:?}");
    let x = play(built.graph, 57, 0.5, 0.5);
    let steady = seconds(&x, 0.1, 0.5);
    let ratio = db(band_energy(steady, SR, 420.0, 460.0) / band_energy(steady, SR, 200.0, 240.0));
    assert!((ratio + 6.02).abs() < 0.3, "second layer at {ratio:.2} dB");
}

#[test]
fn effect_presets_are_not_instruments_and_chains_keep_their_effects() {
    let Some(root) = library() else { return };
    for effect in ["Reverb", "Delay", "Chorus"] {
        let err = load_graph(&root, &format!("_shared/{effect}"), &mut SampleStore::new()).unwrap_err();
        let InstrumentError::EffectPreset { effect_type, json_path, .. } = &err else { panic!("{err}") };
        assert_eq!(effect_type, &effect.to_lowercase());
        assert_eq!(json_path, "node");
        let message = err.to_string();
        assert!(message.contains("is an effect preset") && message.contains("give it to an effect node"), "{message}");
    }
    // In a chain, behind a playable source, the effects are kept in order with their place.
    let dir = scratch_dir("chain-graph");
    let node = format!(
        r#"{{ "type": "composite", "mode": "chain", "children": [ {SINE_OSCILLATOR},
             {{ "type": "effect", "effectType": "delay", "params": {{ "time": 0.3 }} }},
             {{ "type": "effect", "effectType": "reverb", "params": {{ "roomSize": 0.5 }} }} ] }}"#
    );
    let PresetGraph::Chain { source, effects } = build(&preset_file(&dir, &node)).unwrap().graph else {
        panic!("a chain")
    };
    assert!(matches!(*source, PresetGraph::Synth(_)));
    let types: Vec<&str> = effects.iter().map(|e| e.effect_type.as_str()).collect();
    assert_eq!(types, ["delay", "reverb"]);
    assert_eq!(effects[0].params["time"], 0.3);
    assert!(effects[1].origin.ends_with("preset.json: node.children[2]"), "{}", effects[1].origin);
    // A chain of its source alone plays it.
    let node = format!(r#"{{ "type": "composite", "mode": "chain", "children": [ {SINE_OSCILLATOR} ] }}"#);
    assert!(matches!(build(&preset_file(&dir, &node)).unwrap().graph, PresetGraph::Synth(_)));
}

#[test]
fn unmapped_fields_and_clamped_values_are_warned_with_their_place() {
    let dir = scratch_dir("graph-warnings");
    let node = r#"{ "type": "oscillator", "config": { "waveform": "triangle", "detune": 250, "glide": 0.1 } }"#;
    let built = build(&preset_file(&dir, node)).unwrap();
    let file = dir.join("preset.json").display().to_string();
    assert_eq!(
        built.warnings,
        [
            format!("{file}:5:95: node.config.glide: not understood, ignored"),
            format!("{file}: node.config.detune: 250 cents is outside the synth's ±100; clamped"),
        ]
    );
    let PresetGraph::Synth(settings) = built.graph else { panic!() };
    assert_eq!(settings.tune_cents, 100.0);
}

#[test]
fn malformed_composites_give_located_errors() {
    let dir = scratch_dir("bad-composite");
    for (node, json_path, needle, line) in [
        (r#"{ "type": "composite", "children": [] }"#, "node", "needs `mode`", 5),
        (r#"{ "type": "composite", "mode": "stack", "children": [] }"#, "node.mode", "unknown variant `stack`", 5),
        (r#"{ "type": "composite", "mode": "layer", "children": [] }"#, "node.children", "at least one child", 5),
        (
            "{ \"type\": \"composite\", \"mode\": \"split\",\n  \"config\": { \"splitPoints\": [60, 50, 70] },\n  \"children\": [ {}, {}, {}, {} ] }",
            "node.config.splitPoints",
            "ascending",
            6,
        ),
        (
            "{ \"type\": \"composite\", \"mode\": \"layer\",\n  \"children\": [ { \"type\": \"oscillator\", \"config\": { \"waveform\": \"sine\" } },\n    { \"type\": \"oscillator\", \"config\": { \"waveform\": \"noise\" } } ] }",
            "node.children[1].config.waveform",
            "unknown variant `noise`",
            7,
        ),
        (
            "{ \"type\": \"composite\", \"mode\": \"layer\", \"config\": { \"mixLevels\": [1] },\n  \"children\": [ { \"type\": \"oscillator\", \"config\": { \"waveform\": \"sine\" } },\n {} ] }",
            "node.config.mixLevels",
            "1 mix levels for 2 children",
            5,
        ),
    ] {
        let node = node.replace("{}", SINE_OSCILLATOR);
        let path = preset_file(&dir, &node);
        match PresetFile::load(&path) {
            Err(FileError::Invalid { file, line: l, json_path: p, message, .. }) => {
                assert_eq!(file, path.display().to_string());
                assert_eq!(p, json_path, "{message}");
                assert!(message.contains(needle), "{json_path}: {message}");
                assert_eq!(l, line, "{json_path}: {message}");
            }
            other => panic!("{json_path}: {other:?}"),
        }
    }
}

#[test]
fn unplayable_parts_are_refused_with_their_json_path() {
    let dir = scratch_dir("graph-unplayable");
    // A custom waveform, in a file that spells the instrument's key `graph`.
    let text = r#"{ "format": "songwalker-preset", "version": 1, "name": "Custom",
        "graph": { "type": "oscillator", "config": { "waveform": "custom" } } }"#;
    let path = write_text(&dir, "custom.json", text);
    let err = build(&path).unwrap_err();
    let InstrumentError::Unsupported { json_path, message, .. } = &err else { panic!("{err}") };
    assert_eq!(json_path, "graph.config.waveform");
    assert!(message.contains("custom waveforms are not supported"), "{message}");

    // Without split points, the oscillator after a sampler of keys 41..=59 would get two
    // ranges (0..=40 and 60..=127), which one key split cannot route.
    let zone = songwalker_sine_zone(&dir, "mid.wav", 440.0, 50, 41, 59);
    let node = format!(
        r#"{{ "type": "composite", "mode": "split",
             "children": [ {{ "type": "sampler", "config": {{ "zones": [ {zone} ] }} }}, {SINE_OSCILLATOR} ] }}"#
    );
    let err = build(&preset_file(&dir, &node)).unwrap_err();
    let InstrumentError::Unsupported { json_path, message, .. } = &err else { panic!("{err}") };
    assert_eq!(json_path, "node.children[1]");
    assert!(message.contains("give the split `splitPoints`"), "{message}");
}
