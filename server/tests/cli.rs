//! The `noderack` binary as a user runs it: commands, output, exit status and error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use noderack_tests::fixtures::scratch_dir;

fn noderack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_noderack")).args(args).output().expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The left channel of a stereo float WAV that `render` wrote.
fn left_channel(wav: &Path) -> Vec<f32> {
    noderack_tests::fixtures::wav_channels(wav).swap_remove(0)
}

const PATCH: &str = r#"{
  "format": "noderack-patch",
  "version": 1,
  "name": "cli test",
  "nodes": [
    { "id": "keys", "kind": "midi-in" },
    { "id": "amp", "kind": "gain", "params": { "gain_db": -3 } },
    { "id": "out", "kind": "output" }
  ],
  "connections": [ { "from": "amp.out", "to": "out.in" } ]
}"#;

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn graph_lists_nodes_ports_params_and_connections() {
    let dir = scratch_dir("cli-graph");
    let patch = write(&dir, "p.json", PATCH.as_bytes());
    let out = noderack(&["graph", patch.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("patch \"cli test\": 3 nodes, 1 connections, buses: main (2 ch)"), "{s}");
    assert!(s.contains("amp (gain)") && s.contains("inputs:  in (stereo audio)"), "{s}");
    assert!(s.contains("params:  gain_db=-3, pan=0"), "{s}");
    assert!(s.contains("amp.out -> out.in"), "{s}");
}

#[test]
fn graph_dot_is_graphviz() {
    let dir = scratch_dir("cli-dot");
    let patch = write(&dir, "p.json", PATCH.as_bytes());
    let out = noderack(&["graph", "--dot", patch.to_str().unwrap()]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(s.starts_with("digraph \"cli test\" {"), "{s}");
    assert!(s.contains("n2:o0 -> n3:i0;"), "{s}");
    assert!(s.trim_end().ends_with('}'));
}

#[test]
fn nodes_lists_every_kind_with_parameters() {
    let out = noderack(&["nodes"]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    for kind in ["midi-in", "output", "gain", "mixer", "channel-filter", "key-split", "transpose"] {
        assert!(s.contains(&format!("{kind} — ")), "{kind} missing:\n{s}");
    }
    assert!(s.contains("param gain_db: -96 to 24 (default 0)"), "{s}");
}

#[test]
fn bad_patch_fails_with_a_located_message() {
    let dir = scratch_dir("cli-bad");
    let patch = write(&dir, "p.json", PATCH.replace("\"gain\"", "\"gian\"").as_bytes());
    let out = noderack(&["graph", patch.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("error: {}:7:28: nodes[1].kind: unknown node kind \"gian\"", patch.display())),
        "{err}"
    );
    assert!(!err.contains("backtrace"), "{err}");
}

#[test]
fn render_reports_a_bad_midi_file_by_name_and_writes_nothing() {
    let dir = scratch_dir("cli-badmidi");
    let patch = write(&dir, "p.json", PATCH.as_bytes());
    let midi = write(&dir, "broken.mid", b"MThd\x00\x00\x00\x06\x00");
    let wav = dir.join("out.wav");
    let out =
        noderack(&["render", patch.to_str().unwrap(), "--midi", midi.to_str().unwrap(), "-o", wav.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("broken.mid: not a valid MIDI file"), "{err}");
    assert!(!wav.exists());
}

/// An output path that cannot be written is reported once, with the OS's reason once.
#[test]
fn render_to_an_unwritable_path_says_why_once() {
    let dir = scratch_dir("cli-unwritable");
    let patch = write(&dir, "p.json", PATCH.as_bytes());
    let midi = write(&dir, "one.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 60, 100])]));
    let wav = dir.join("missing-folder/out.wav");
    let out =
        noderack(&["render", patch.to_str().unwrap(), "--midi", midi.to_str().unwrap(), "-o", wav.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("missing-folder/out.wav"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn render_writes_the_requested_length_and_format() {
    let dir = scratch_dir("cli-render");
    let patch = write(&dir, "p.json", PATCH.as_bytes());
    // Note on at tick 0, off at tick 960 (1 s at 120 bpm, 480 ticks per beat).
    let midi = write(&dir, "n.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 60, 100]), (960, [0x80, 60, 0])]));
    let wav = dir.join("out.wav");
    let out = noderack(&[
        "render",
        patch.to_str().unwrap(),
        "--midi",
        midi.to_str().unwrap(),
        "-o",
        wav.to_str().unwrap(),
        "--sample-rate",
        "44100",
        "--tail",
        "0.5",
        "--format",
        "s16",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reader = hound::WavReader::open(&wav).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (2, 44_100, 16));
    assert_eq!(reader.duration(), 44_100 + 22_050);
    assert!(text(&out.stdout).contains("rendered"), "{}", text(&out.stdout));
}

#[test]
fn help_explains_each_command() {
    let out = noderack(&["--help"]);
    let s = text(&out.stdout);
    assert!(s.contains("modular node-graph audio engine") && s.contains("render") && s.contains("graph"), "{s}");
    let out = noderack(&["render", "--help"]);
    let s = text(&out.stdout);
    assert!(s.contains("--block-size") && s.contains("identical for every block size"), "{s}");
}

#[test]
fn docs_nodes_md_matches_the_node_listing() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/NODES.md")).unwrap();
    let listing = doc.split("```text\n").nth(1).and_then(|s| s.split("```").next()).expect("a text block");
    let out = text(&noderack(&["nodes"]).stdout);
    assert!(listing == out, "docs/NODES.md is out of date: regenerate its listing with `noderack nodes`");
}

/// `render --preset` plays a library instrument: a note of the grand piano is heard, at a sane
/// level; an unknown library is named in the error. Skips without the shared library.
#[test]
fn render_plays_a_library_preset() {
    let Some(data) = noderack_tests::testdata_dir() else { return };
    let library = data.join("songwalker-library");
    let dir = scratch_dir("cli-preset");
    let midi = write(&dir, "n.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 60, 100]), (960, [0x80, 60, 0])]));
    let wav = dir.join("out.wav");
    let args = |preset: &str| {
        noderack(&[
            "render",
            "--preset",
            preset,
            "--library",
            library.to_str().unwrap(),
            "--midi",
            midi.to_str().unwrap(),
            "-o",
            wav.to_str().unwrap(),
        ])
    };
    let out = args("FluidR3_GM/Acoustic Grand Piano");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let samples: Vec<f32> = hound::WavReader::open(&wav).unwrap().into_samples::<f32>().map(Result::unwrap).collect();
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.02 && peak < 1.0, "peak {peak}");
    let _ = std::fs::remove_file(&wav);
    let out = args("Nowhere/Piano");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no library matches \"Nowhere\""), "{}", text(&out.stderr));
    assert!(!wav.exists());
}

/// `render --sfz` plays an SFZ instrument on every channel: a generated sine and a WAV sample
/// are heard at their pitches, unsupported opcodes are warned on stderr with file and line,
/// notes outside every zone are counted and reported after the render, and a malformed SFZ
/// fails with its file and line and writes nothing.
#[test]
fn render_plays_an_sfz_instrument_and_reports_bad_ones_by_line() {
    use noderack_tests::fixtures::{sine_wave, write_wav};
    let dir = scratch_dir("cli-sfz");
    write_wav(&dir.join("samples"), "a220.wav", 44_100, &sine_wave(220.0, 44_100, 2.0, 0.5));
    let sfz = write(
        &dir,
        "tiny.sfz",
        b"<control> default_path=samples\\\n<region> lokey=a4 hikey=a4 sample=*sine volume=-6\n<region> key=57 sample=a220.wav\n  note_polyphony=2\n",
    );
    // A4 (channel 1) for the first second, A3 (channel 2) for the second.
    let midi = write(
        &dir,
        "n.mid",
        &noderack_tests::midi::smf_bytes(&[
            (0, [0x90, 69, 100]),
            (960, [0x80, 69, 0]),
            (960, [0x91, 57, 100]),
            (1920, [0x81, 57, 0]),
            // Three notes no region answers.
            (1920, [0x90, 30, 100]),
            (1920, [0x90, 31, 100]),
            (1920, [0x90, 31, 100]),
        ]),
    );
    let wav = dir.join("out.wav");
    let render = |sfz: &Path| {
        noderack(&[
            "render",
            "--sfz",
            sfz.to_str().unwrap(),
            "--midi",
            midi.to_str().unwrap(),
            "-o",
            wav.to_str().unwrap(),
            "--tail",
            "0.2",
        ])
    };
    let out = render(&sfz);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("warning: {}:4: opcode `note_polyphony`", sfz.display())), "{err}");
    assert!(err.contains("3 notes (F#1–G1) had no zone in `tiny`, which covers A3–A4"), "{err}");
    let reader = hound::WavReader::open(&wav).unwrap();
    let rate = reader.spec().sample_rate as f32;
    let left: Vec<f32> = reader.into_samples::<f32>().map(Result::unwrap).step_by(2).collect();
    let second = rate as usize;
    for (range, hz) in [(second / 10..second, 440.0), (second + second / 10..2 * second, 220.0)] {
        let found = noderack_tests::peak_frequency_hz(&left[range], rate);
        assert!(noderack_tests::analysis::cents(found, hz).abs() < 2.0, "{found} Hz, expected {hz}");
    }
    let _ = std::fs::remove_file(&wav);

    let bad = write(&dir, "bad.sfz", b"<region> sample=*sine\n<group key=60\n");
    let out = render(&bad);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.starts_with(&format!("error: {}:2: header `<group key=60` is not closed", bad.display())), "{err}");
    assert!(!wav.exists());
}

#[test]
fn render_plays_general_midi_through_a_soundfont() {
    let dir = scratch_dir("cli-soundfont");
    let sf2 = write(&dir, "test.sf2", &noderack_tests::sf2_builder::three_sines());
    // 0–0.5 s channel 1 key 69 (program 0), 0.5–1 s channel 2 key 74 after a program change
    // to 1, 1–1.5 s channel 10 key 36 (the kit). One tick is 1/960 s.
    let midi = write(
        &dir,
        "gm.mid",
        &noderack_tests::midi::smf_bytes(&[
            (0, [0x90, 69, 127]),
            (480, [0x80, 69, 0]),
            (0, [0xc1, 1, 0]),
            (480, [0x91, 74, 127]),
            (960, [0x81, 74, 0]),
            (960, [0x99, 36, 127]),
            (1440, [0x89, 36, 0]),
        ]),
    );
    let wav = dir.join("gm.wav");
    let args = ["render", "--soundfont", sf2.to_str().unwrap(), "--midi", midi.to_str().unwrap()];
    let out = noderack(&[&args[..], &["-o", wav.to_str().unwrap(), "--tail", "0.2"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("test.sf2"), "{}", text(&out.stdout));
    let mut reader = hound::WavReader::open(&wav).unwrap();
    assert_eq!(reader.spec().channels, 2);
    let left: Vec<f32> = reader.samples::<f32>().step_by(2).map(Result::unwrap).collect();
    let at = |from: f32, to: f32| &left[(from * 48_000.0) as usize..(to * 48_000.0) as usize];
    for (from, expected) in [(0.05, 440.0), (0.55, 600.0), (1.05, 880.0)] {
        // Each note's release (the SF2 default, ~8 ms) is long over 50 ms into the next.
        let hz = noderack_tests::peak_frequency_hz(at(from, from + 0.4), 48_000.0);
        let cents = noderack_tests::analysis::cents(hz, expected);
        assert!(cents.abs() < 2.0, "at {from} s: {hz} Hz, expected {expected}");
    }
    assert!(noderack_tests::rms(at(1.55, 1.7)) < 1e-4, "silent after the last note-off");
}

#[test]
fn render_reports_a_broken_soundfont_by_name() {
    let dir = scratch_dir("cli-badsf2");
    let bytes = noderack_tests::sf2_builder::three_sines();
    let sf2 = write(&dir, "cut.sf2", &bytes[..bytes.len() / 2]);
    let midi = write(&dir, "n.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 60, 100])]));
    let wav = dir.join("out.wav");
    let out = noderack(&[
        "render",
        "--soundfont",
        sf2.to_str().unwrap(),
        "--midi",
        midi.to_str().unwrap(),
        "-o",
        wav.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.starts_with(&format!("error: {}: RIFF chunk declares", sf2.display())), "{err}");
    assert!(!wav.exists());
}

/// `noderack library …` with its cache in `cache` (never the user's).
fn library(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_noderack"))
        .arg("library")
        .args(args)
        .env("NODERACK_CACHE_DIR", cache)
        .output()
        .expect("runs")
}

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

#[test]
fn library_list_search_and_show_a_file_url_mirror() {
    let dir = scratch_dir("cli-library-browse");
    let root = dir.join("lib");
    noderack_tests::tiny_library::TinyLibrary::write(&root, 1_000);
    let cache = dir.join("cache");
    let url = file_url(&root);

    let out = library(&cache, &["list", "--library", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("2 libraries"), "{s}");
    assert!(s.contains("Tiny Lib") && s.contains("3 presets") && s.contains("(\"Tiny/…\")"), "{s}");
    assert!(s.contains("Other") && s.contains("1 presets"), "{s}");

    let out = library(&cache, &["search", "SINE", "--library", &url]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(s.contains("Tiny Lib/Sine Bass") && s.contains("Tiny Lib/Sine Lead") && !s.contains("Soft Pad"), "{s}");
    assert!(s.contains("2 presets match \"SINE\""), "{s}");

    let out = library(&cache, &["show", "Tiny_Lib/bass", "--library", &url]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(s.starts_with("Tiny Lib/Sine Bass\n"), "{s}");
    assert!(s.contains("type:      sampler") && s.contains("zones:     2"), "{s}");
    assert!(s.contains("keys  F#1–F2   root C2") && s.contains("zone_C2.raw  not cached"), "{s}");
    assert!(s.contains("samples:   2 (0 cached, 0 B); `noderack library fetch` downloads the rest"), "{s}");

    let out = library(&cache, &["fetch", "Tiny_Lib/bass", "--library", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("fetched Tiny Lib/Sine Bass: 2 samples, 4000 B"), "{}", text(&out.stdout));
    let s = text(&library(&cache, &["show", "Tiny_Lib/bass", "--library", &url]).stdout);
    assert!(s.contains("zone_C2.raw  2000 B") && s.contains("samples:   2 (2 cached, 4000 B)\n"), "{s}");

    let out = library(&cache, &["show", "Tiny_Lib/Nothing", "--library", &url]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("library \"Tiny Lib\" has no preset whose name contains \"Nothing\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn library_verify_names_a_corrupt_sample_and_fails() {
    let dir = scratch_dir("cli-library-verify");
    let root = dir.join("lib");
    let tiny = noderack_tests::tiny_library::TinyLibrary::write(&root, 1_000);
    let cache = dir.join("cache");
    let url = file_url(&root);
    let out = library(&cache, &["verify", "Tiny_Lib", "--library", &url]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("verified Tiny Lib: 3 presets, 4 samples, 0 failed"), "{}", text(&out.stdout));

    let preset = &noderack_tests::tiny_library::TINY_PRESETS[1];
    let sample = tiny.sample_file(preset, preset.samples[0]);
    let mut bytes = std::fs::read(&sample).unwrap();
    bytes.truncate(bytes.len() - 2);
    std::fs::write(&sample, bytes).unwrap();
    // A fresh cache, so the damaged copy is read again.
    let out = library(&dir.join("cache2"), &["verify", "Tiny_Lib", "--library", &url]);
    assert!(!out.status.success());
    let s = text(&out.stdout);
    assert!(
        s.contains("FAIL Tiny Lib/Sine Lead: ") && s.contains("Tiny/lead/Sine_Lead/zone_C5.raw: content hash"),
        "{s}"
    );
    assert!(s.contains("3 presets, 4 samples, 1 failed"), "{s}");
    assert!(text(&out.stderr).contains("1 of Tiny Lib's files failed verification"), "{}", text(&out.stderr));
}

/// Over loopback HTTP: `library offline` pins a library; with the server gone, `library show`
/// and `render --preset` still work from the cache.
#[test]
fn library_offline_then_render_without_the_server() {
    let dir = scratch_dir("cli-library-offline");
    let root = dir.join("lib");
    noderack_tests::tiny_library::TinyLibrary::write(&root, 4_000);
    let cache = dir.join("cache");
    let server = noderack_tests::http_server::TestServer::serve(&root);
    let url = server.url();
    let out = library(&cache, &["offline", "Other", "--library", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Other is available offline: 1 presets, 4 files"), "{}", text(&out.stdout));
    server.stop();

    let out = library(&cache, &["show", "Other/Beep", "--library", &url, "--timeout", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("samples:   1 (1 cached, 8000 B)"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("using the cached copy"), "{}", text(&out.stderr));

    let midi = write(&dir, "n.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 36, 100]), (480, [0x80, 36, 0])]));
    let wav = dir.join("out.wav");
    let out = Command::new(env!("CARGO_BIN_EXE_noderack"))
        .args(["render", "--preset", "Other/Beep", "--library", &url, "--midi", midi.to_str().unwrap()])
        .args(["-o", wav.to_str().unwrap(), "--tail", "0"])
        .env("NODERACK_CACHE_DIR", &cache)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let samples: Vec<f32> = hound::WavReader::open(&wav).unwrap().into_samples::<f32>().map(Result::unwrap).collect();
    assert!(samples.iter().any(|s| s.abs() > 0.01), "silent");
}

/// Shared: the real subset through a `file://` URL: libraries with their preset counts, a
/// search, a preset's zones, and a clean verify of SBLive (raw samples).
#[test]
fn library_commands_on_the_shared_library() {
    let Some(data) = noderack_tests::testdata_dir() else { return };
    let url = file_url(&data.join("songwalker-library"));
    let dir = scratch_dir("cli-library-shared");
    let cache = dir.join("cache");
    let s = text(&library(&cache, &["list", "--library", &url]).stdout);
    assert!(s.contains("3 libraries") && s.contains("FluidR3 GM") && s.contains("11 presets"), "{s}");
    let s = text(&library(&cache, &["search", "piano", "--library", &url]).stdout);
    assert!(s.contains("FluidR3 GM/Acoustic Grand Piano  sampler, 20 zones"), "{s}");
    let s = text(&library(&cache, &["show", "FluidR3_GM/Acoustic Grand Piano", "--library", &url]).stdout);
    assert!(s.contains("zones:     20") && s.contains("Mp3 32000 Hz") && s.contains("zone_C8.mp3"), "{s}");
    let out = library(&cache, &["verify", "SBLive", "--library", &url]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("verified SBLive: 1 presets, 6 samples, 0 failed"), "{}", text(&out.stdout));
}

#[test]
fn library_help_explains_the_cache() {
    let s = text(&noderack(&["library", "--help"]).stdout);
    for words in ["list", "search", "show", "fetch", "offline", "verify", "NODERACK_CACHE_DIR", "--cache-size-mb"] {
        assert!(s.contains(words), "{words} missing:\n{s}");
    }
}

/// `render --preset` plays oscillator and composite presets too: the shared library's sine
/// oscillator at the key's pitch, and a self-made library's layer of a sine oscillator and a
/// sampler an octave up with both pitches heard. An effect preset fails naming the effect.
#[test]
fn render_plays_oscillator_and_composite_presets() {
    use noderack_tests::analysis::band_energy;
    use noderack_tests::fixtures::songwalker_sine_zone;
    let dir = scratch_dir("cli-preset-graph");
    let midi = write(&dir, "n.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 69, 100]), (480, [0x80, 69, 0])]));
    let wav = dir.join("out.wav");
    let render = |library: &Path, preset: &str| {
        let _ = std::fs::remove_file(&wav);
        let args = ["render", "--preset", preset, "--library", library.to_str().unwrap(), "--midi"];
        noderack(&[&args[..], &[midi.to_str().unwrap(), "-o", wav.to_str().unwrap(), "--tail", "0.1"]].concat())
    };
    let left = || left_channel(&wav);

    // A library of one layered preset: a sine oscillator and a sampler an octave up.
    let zone = songwalker_sine_zone(&dir.join("Mine/Layered"), "a440.wav", 440.0, 57, 0, 127);
    let node = format!(
        r#"{{ "type": "composite", "mode": "layer", "children": [
               {{ "type": "oscillator", "config": {{ "waveform": "sine" }} }},
               {{ "type": "sampler", "config": {{ "zones": [ {zone} ] }} }} ] }}"#
    );
    noderack_tests::library::write_library(&dir, "Mine", "Layered", &node);
    let out = render(&dir, "Mine/Layered");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let x = left();
    let steady = &x[4_800..22_000];
    let (low, high) = (band_energy(steady, 48_000.0, 420.0, 460.0), band_energy(steady, 48_000.0, 860.0, 900.0));
    let total = band_energy(steady, 48_000.0, 20.0, 20_000.0);
    assert!(low > 0.1 * total && high > 0.1 * total, "440 Hz {low}, 880 Hz {high}, total {total}");

    let Some(data) = noderack_tests::testdata_dir() else { return };
    let library = data.join("songwalker-library");
    let out = render(&library, "Built-in/Sine");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let x = left();
    let hz = noderack_tests::peak_frequency_hz(&x[4_800..22_000], 48_000.0);
    assert!(noderack_tests::analysis::cents(hz, 440.0).abs() < 2.0, "{hz} Hz");
    let out = render(&library, "Built-in/Reverb");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("node: this is an effect preset (\"reverb\"), not an instrument"), "{err}");
    assert!(!wav.exists());
}

/// A patch whose sampler loads an SFZ instrument beside it renders at the instrument's pitch;
/// a patch naming a missing SFZ fails with the patch's line, column and field, and writes
/// nothing.
#[test]
fn render_plays_a_patch_whose_sampler_loads_an_sfz_file() {
    use noderack_tests::fixtures::{sine_wave, write_wav};
    let dir = scratch_dir("cli-patch-instrument");
    write_wav(&dir.join("inst"), "a220.wav", 44_100, &sine_wave(220.0, 44_100, 1.0, 0.5));
    write(&dir.join("inst"), "tone.sfz", b"<region> sample=a220.wav pitch_keycenter=57\n");
    let patch = |sfz: &str| {
        format!(
            r#"{{ "format": "noderack-patch", "version": 1,
  "nodes": [ {{ "id": "keys", "kind": "midi-in" }},
    {{ "id": "tone", "kind": "sampler", "config": {{ "instrument": {{ "sfz": "{sfz}" }} }} }},
    {{ "id": "out", "kind": "output" }} ],
  "connections": [ {{ "from": "keys.events", "to": "tone.events" }}, {{ "from": "tone.out", "to": "out.in" }} ] }}"#
        )
    };
    let good = write(&dir, "good.json", patch("inst/tone.sfz").as_bytes());
    let bad = write(&dir, "bad.json", patch("inst/gone.sfz").as_bytes());
    let midi = write(&dir, "n.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 64, 100]), (480, [0x80, 64, 0])]));
    let wav = dir.join("out.wav");
    let render = |patch: &Path| {
        noderack(&["render", patch.to_str().unwrap(), "--midi", midi.to_str().unwrap(), "-o", wav.to_str().unwrap()])
    };
    let out = render(&good);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let left = left_channel(&wav);
    // Key 64 is seven semitones above the sample's 220 Hz.
    let hz = noderack_tests::peak_frequency_hz(&left[2_400..21_600], 48_000.0);
    assert!(noderack_tests::analysis::cents(hz, 329.63).abs() < 2.0, "{hz} Hz");
    let _ = std::fs::remove_file(&wav);

    let out = render(&bad);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let expected =
        format!("error: {}:3:75: nodes[1].config.instrument.sfz: setting \"instrument\" of sampler: ", bad.display());
    assert!(err.starts_with(&expected) && err.contains("gone.sfz: No such file"), "{err}");
    assert!(!wav.exists());
}

/// A patch's sampler can name a library preset by URL: a `file://` mirror is read through the
/// library client into its cache (here a scratch folder), and the note plays at its pitch; a
/// second render works with the mirror gone (the cache serves it).
#[test]
fn render_plays_a_patch_whose_sampler_loads_a_library_preset_by_url() {
    use noderack_tests::fixtures::songwalker_sine_zone;
    let dir = scratch_dir("cli-patch-library-url");
    let mirror = dir.join("mirror");
    let zone = songwalker_sine_zone(&mirror.join("Mine/Tone"), "a220.wav", 220.0, 57, 0, 127);
    noderack_tests::library::write_library(
        &mirror,
        "Mine",
        "Tone",
        &format!(r#"{{ "type": "sampler", "config": {{ "zones": [ {zone} ] }} }}"#),
    );
    let patch = format!(
        r#"{{ "format": "noderack-patch", "version": 1,
  "nodes": [ {{ "id": "keys", "kind": "midi-in" }},
    {{ "id": "tone", "kind": "sampler", "config": {{ "instrument": {{ "preset": "Mine/Tone", "library": "file://{}" }} }} }},
    {{ "id": "out", "kind": "output" }} ],
  "connections": [ {{ "from": "keys.events", "to": "tone.events" }}, {{ "from": "tone.out", "to": "out.in" }} ] }}"#,
        mirror.display()
    );
    let patch = write(&dir, "url.json", patch.as_bytes());
    let midi = write(&dir, "n.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 69, 100]), (480, [0x80, 69, 0])]));
    let wav = dir.join("out.wav");
    let render = || {
        Command::new(env!("CARGO_BIN_EXE_noderack"))
            .args(["render", patch.to_str().unwrap(), "--midi", midi.to_str().unwrap(), "-o", wav.to_str().unwrap()])
            .env("NODERACK_CACHE_DIR", dir.join("cache"))
            .output()
            .expect("runs")
    };
    let pitch = || {
        let left = left_channel(&wav);
        noderack_tests::peak_frequency_hz(&left[2_400..21_600], 48_000.0)
    };
    let out = render();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Key 69 is twelve semitones above the sample's root (57, 220 Hz).
    assert!(noderack_tests::analysis::cents(pitch(), 440.0).abs() < 2.0, "{} Hz", pitch());
    std::fs::remove_dir_all(&mirror).unwrap();
    let _ = std::fs::remove_file(&wav);
    let out = render();
    assert!(out.status.success(), "from the cache: {}", text(&out.stderr));
    assert!(noderack_tests::analysis::cents(pitch(), 440.0).abs() < 2.0);
}

/// `noderack sw check` prints located diagnostics and exits 1; against the shared library it
/// refuses a preset the library lacks and names the closest; `sw events` prints the notes.
#[test]
fn sw_check_and_events() {
    let dir = scratch_dir("cli-sw-cli");
    let bad = write(&dir, "bad.sw", b"track t() {\n    C4 /4\n    H4\n}\nt()\n");
    let out = noderack(&["sw", "check", "--no-presets", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.sw:3:5") && err.contains("`H4` is neither a note nor a track call"), "{err}");

    let good = write(
        &dir,
        "good.sw",
        b"const p = loadPreset(\"FluidR3_GM/Fingered Bass\")\ntrack.beatsPerMinute = 60\ntrack t(i) {\n    track.instrument = i\n    E2 /2  G2 /2\n}\nt(p)\n",
    );
    let Some(data) = noderack_tests::testdata_dir() else { return };
    let library = data.join("songwalker-library");
    let out = noderack(&["sw", "check", good.to_str().unwrap(), "--library", library.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no preset is called \"FluidR3_GM/Fingered Bass\""), "{err}");
    assert!(err.contains("\"FluidR3_GM/Electric Bass (finger)\""), "the closest name is suggested: {err}");

    let fixed = std::fs::read_to_string(&good).unwrap().replace("Fingered Bass", "Electric Bass (finger)");
    let fixed = write(&dir, "fixed.sw", fixed.as_bytes());
    let out = noderack(&["sw", "events", fixed.to_str().unwrap(), "--library", library.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let notes = events["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!((notes[1]["key"].as_u64(), notes[1]["time_seconds"].as_f64()), (Some(43), Some(0.5)));
    assert_eq!(events["length_seconds"], 1.0);
}

/// A patch with a runner: `noderack render` plays the song when the MIDI file's note starts it,
/// transposed by the note, on the synth the runner drives; a broken song names its line.
#[test]
fn render_plays_a_runner_patch() {
    let dir = scratch_dir("cli-runner-patch");
    std::fs::create_dir_all(dir.join("songs")).unwrap();
    write(&dir, "songs/riff.sw", b"track t() {\n    A4@/2 /2\n    A5@/2 /2\n}\nt()\n");
    let patch = write(
        &dir,
        "runner.json",
        br#"{ "format": "noderack-patch", "version": 1,
  "nodes": [ { "id": "keys", "kind": "midi-in" },
             { "id": "riff", "kind": "runner", "config": { "song": "songs/riff.sw" } },
             { "id": "lead", "kind": "synth", "params": { "waveform": "sine" } },
             { "id": "out", "kind": "output" } ],
  "connections": [ { "from": "keys.events", "to": "riff.in" }, { "from": "riff.out", "to": "lead.events" },
                   { "from": "lead.out", "to": "out.in" } ] }"#,
    );
    // Note 63 (a minor third above the root, 60) at 0, held a second.
    let midi = write(&dir, "go.mid", &noderack_tests::midi::smf_bytes(&[(0, [0x90, 63, 127]), (960, [0x80, 63, 0])]));
    let wav = dir.join("out.wav");
    let out =
        noderack(&["render", patch.to_str().unwrap(), "--midi", midi.to_str().unwrap(), "-o", wav.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let left = left_channel(&wav);
    // A4 + 3 semitones = C5 (523 Hz) for the first quarter second, then C6 (A5 + 3).
    let first = noderack_tests::peak_frequency_hz(&left[2_000..10_000], 48_000.0);
    let second = noderack_tests::peak_frequency_hz(&left[14_000..22_000], 48_000.0);
    assert!((first - 523.25).abs() < 12.0, "{first} Hz");
    assert!((second - 1046.5).abs() < 24.0, "{second} Hz");

    write(&dir, "songs/riff.sw", b"track t() {\n    A4 /2\n    Q4\n}\nt()\n");
    let out =
        noderack(&["render", patch.to_str().unwrap(), "--midi", midi.to_str().unwrap(), "-o", wav.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("riff.sw:3:5") && err.contains("`Q4` is neither a note nor a track call"), "{err}");
}

/// `noderack sw render` plays a song through its own instruments: a library preset (a sine
/// sampler from a tiny library written here, 1 kHz at its root key C2) for a second, then an oscillator playing A3
/// (220 Hz), at the song's tempo; the file lasts the song plus the release. A preset the library lacks is refused with the closest names, or played on the
/// default instrument with `--allow-missing`.
#[test]
fn sw_render_plays_a_song_through_its_own_instruments() {
    let dir = scratch_dir("cli-sw-render");
    noderack_tests::tiny_library::TinyLibrary::write(&dir.join("library"), 96_000);
    let song = "const beep = loadPreset(\"Other/Beep\")\nconst sub = Oscillator({type: 'sine', release: 0.1})\ntrack.beatsPerMinute = 60\ntrack.instrument = beep\nC2@1 /1\ntrack.instrument = sub\nA3@1 /1\n";
    let file = write(&dir, "song.sw", song.as_bytes());
    let wav = dir.join("song.wav");
    let library = dir.join("library");
    let render = |extra: &[&str]| {
        let mut args = vec!["sw", "render", file.to_str().unwrap(), "-o", wav.to_str().unwrap()];
        args.extend(["--library", library.to_str().unwrap()]);
        args.extend(extra);
        noderack(&args)
    };
    let out = render(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let left = left_channel(&wav);
    let (first, second) = (
        noderack_tests::peak_frequency_hz(&left[4_000..44_000], 48_000.0),
        noderack_tests::peak_frequency_hz(&left[52_000..92_000], 48_000.0),
    );
    // The sample's 800-frame loop at 22.05 kHz repeats every 27.56 Hz: the tone is its 36th
    // harmonic, 992.25 Hz.
    assert!((first - 992.25).abs() < 2.0, "the preset: {first} Hz");
    assert!((second - 220.0).abs() < 1.0, "the oscillator: {second} Hz");
    assert!(noderack_tests::first_onset(&left, 1e-3).unwrap() < 480, "starts at once");
    assert!((96_000..96_000 + 48_000).contains(&left.len()), "two seconds and a release: {} frames", left.len());

    write(&dir, "song.sw", song.replace("Other/Beep", "Other/Bleep").as_bytes());
    let out = render(&[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("song.sw:1:") && err.contains("\"Other/Beep\""), "{err}");
    let out = render(&["--allow-missing"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("loadPreset(\"Other/Bleep\")") && err.contains("default instrument"), "{err}");
    let left = left_channel(&wav);
    assert!(noderack_tests::rms(&left[4_000..44_000]) > 0.01, "the missing preset's notes play on the default");
}

/// Every shared song renders: non-silent from its first beat, as long as its last note plus
/// at most the longest tail. `rock-beat.sw` asks for presets the public library does not have
/// and renders with `--allow-missing`, naming them. Skips without the shared data.
#[test]
fn sw_render_plays_every_shared_song() {
    let Some(data) = noderack_tests::testdata_dir() else { return };
    let library = data.join("songwalker-library");
    let dir = scratch_dir("cli-sw-shared");
    let mut songs: Vec<PathBuf> =
        std::fs::read_dir(data.join("songwalker-songs")).unwrap().map(|e| e.unwrap().path()).collect();
    songs.sort();
    assert_eq!(songs.len(), 5);
    for song in songs {
        let name = song.file_stem().unwrap().to_str().unwrap().to_string();
        let wav = dir.join(format!("{name}.wav"));
        let mut args = vec!["sw", "render", song.to_str().unwrap(), "-o", wav.to_str().unwrap()];
        args.extend(["--library", library.to_str().unwrap()]);
        if name == "rock-beat" {
            args.push("--allow-missing");
        }
        let out = noderack(&args);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        if name == "rock-beat" {
            let err = text(&out.stderr);
            assert!(err.contains("FluidR3_GM/Standard") && err.contains("FluidR3_GM/Fingered Bass"), "{err}");
        }
        let source = std::fs::read_to_string(&song).unwrap();
        let compiled = noderack_presets::sw::compile(&source, &name, &Default::default()).unwrap();
        let last_gate = compiled.notes.iter().map(|n| n.time_beats + n.gate_beats).fold(0.0, f64::max);
        let song_frames = (compiled.seconds_at(compiled.length_beats.max(last_gate)) * 48_000.0).round() as usize;
        let channels = noderack_tests::fixtures::wav_channels(&wav);
        let left = &channels[0];
        assert!(left.len() >= song_frames && left.len() <= song_frames + 30 * 48_000, "{name}: {} frames", left.len());
        assert!(noderack_tests::rms(&left[..song_frames]) > 0.005, "{name} is silent");
        assert!(noderack_tests::first_onset(left, 1e-3).unwrap() < 4_800, "{name} starts late");
        assert!(left.iter().all(|s| s.is_finite() && s.abs() < 1.0), "{name} clips");
    }
}

#[test]
fn slots_lists_each_instrument_with_its_channel_and_bus() {
    let dir = scratch_dir("cli-slots");
    let patch = write(
        &dir,
        "rack.json",
        br#"{
  "format": "noderack-patch", "version": 1, "name": "rack",
  "buses": [{ "name": "main", "channels": 2 }, { "name": "drums", "channels": 2 }],
  "nodes": [
    { "id": "keys", "kind": "midi-in" },
    { "id": "ch10", "kind": "channel-filter", "params": { "channel": "10" } },
    { "id": "kit", "kind": "synth" },
    { "id": "kit_level", "kind": "gain" },
    { "id": "lead", "kind": "synth" },
    { "id": "spare", "kind": "synth" },
    { "id": "out", "kind": "output", "config": { "bus": "main" } },
    { "id": "drums_out", "kind": "output", "config": { "bus": "drums" } }
  ],
  "connections": [
    { "from": "keys.events", "to": "ch10.in" }, { "from": "ch10.out", "to": "kit.events" },
    { "from": "kit.out", "to": "kit_level.in" }, { "from": "kit_level.out", "to": "drums_out.in" },
    { "from": "keys.events", "to": "lead.events" }, { "from": "lead.out", "to": "out.in" }
  ]
}"#,
    );
    let out = noderack(&["slots", patch.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["kit", "synth", "10", "drums", "kit_level"], "{table}");
    assert_eq!(rows[1], ["lead", "synth", "omni", "main", "-"], "{table}");
    assert_eq!(rows[2], ["spare", "synth", "none", "-", "-"], "{table}");
    let json = noderack(&["slots", "--json", patch.to_str().unwrap()]);
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list[0]["channel"], "10");
    assert_eq!(list[0]["through"][0], "kit_level");

    // The demo rack: drums on channel 10, bass and pad on every other channel, all mixed.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json");
    let table = text(&noderack(&["slots", demo.to_str().unwrap()]).stdout);
    assert!(
        table.contains("perc") && table.lines().any(|l| l.starts_with("bass") && l.contains("all but 10")),
        "{table}"
    );
}
