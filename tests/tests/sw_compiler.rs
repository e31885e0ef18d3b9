//! The `.sw` compiler: the shared songs compile to the events their text means; wherever the
//! reference compiler (`songwalker_core` 0.1.1) accepts a source, our notes match its notes
//! (with its sequential reading of track calls); the deliberate differences behave as
//! documented; diagnostics match golden texts reviewed by hand; and no input makes it panic.

use std::path::{Path, PathBuf};

use noderack_presets::sw::{self, CallTiming, CompileOptions, EndMode, InstrumentDef, Song};
use noderack_tests::testdata_dir;
use proptest::prelude::*;

fn ours(source: &str) -> Song {
    sw::compile(source, "test.sw", &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Notes as (time, key, velocity out of 127, gate), for comparing.
type Row = (f64, u8, f64, f64);

fn rows(song: &Song) -> Vec<Row> {
    let mut rows: Vec<Row> =
        song.notes.iter().map(|n| (n.time_beats, n.key, (n.velocity as f64 * 127.0).round(), n.gate_beats)).collect();
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rows
}

/// The reference's notes for `source`, if it accepts it.
fn reference(source: &str) -> Option<Vec<Row>> {
    let program = songwalker_core::parse(source).ok()?;
    let events = songwalker_core::compiler::compile(&program).ok()?;
    let mut rows: Vec<Row> = events
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            songwalker_core::compiler::EventKind::Note { pitch, velocity, gate, .. } => {
                Some((e.time, sw::compiler::key_of(pitch).expect("a note the reference read"), velocity.round(), *gate))
            }
            _ => None,
        })
        .collect();
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Some(rows)
}

fn songs() -> Option<PathBuf> {
    Some(testdata_dir()?.join("songwalker-songs"))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn every_shared_song_compiles_and_tracks_play_side_by_side() {
    let Some(dir) = songs() else { return };
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let song = ours(&std::fs::read_to_string(&path).unwrap());
        assert!(!song.notes.is_empty() && song.length_beats > 0.0, "{}", path.display());
        count += 1;
    }
    assert_eq!(count, 5);

    // Piano ballad: melody and chords start together (72 BPM, 12 beats = 10 s).
    let ballad = ours(&read(&dir, "piano-ballad.sw"));
    let at_zero: Vec<u8> = ballad.notes.iter().filter(|n| n.time_beats == 0.0).map(|n| n.key).collect();
    assert_eq!(at_zero, [64, 48, 52, 55], "E4 of the melody and the C major chord");
    assert_eq!(ballad.length_beats, 12.0);
    assert!((ballad.seconds_at(ballad.length_beats) - 10.0).abs() < 1e-9);
    assert!(
        matches!(&ballad.instruments[1], InstrumentDef::Preset { name, .. } if name == "FluidR3_GM/Acoustic Grand Piano")
    );

    // Rock beat: `for` runs four times, `F#2` is a note, `*0.9` is 90 %, `E4 . E4` steps by `.`.
    let rock = ours(&read(&dir, "rock-beat.sw"));
    let kicks: Vec<&sw::SongNote> = rock.notes.iter().filter(|n| n.key == 36).collect();
    assert_eq!(kicks.len(), 8, "two kicks per bar, four bars");
    assert!((kicks[0].velocity - 0.9).abs() < 1e-6);
    assert_eq!(rock.notes.iter().filter(|n| n.key == 42).count(), 16, "F#2 hi-hats");
    // The drum track is the longest: four bars of four lines of ¼ + ½ beat.
    assert_eq!(rock.length_beats, 12.0);

    // 432 Hz: every note carries the tuning; `. /2` rests half a beat.
    let meditation = ours(&read(&dir, "432hz-meditation.sw"));
    assert!(meditation.notes.iter().all(|n| n.tuning_hz == 432.0));
    let texture_first = meditation.notes.iter().find(|n| n.key == 69).unwrap();
    assert_eq!(texture_first.time_beats, 0.5);

    // Composite: a layer of two presets; the multi-line object literal reads.
    let composite = ours(&read(&dir, "composite-demo.sw"));
    assert!(composite
        .instruments
        .iter()
        .any(|i| matches!(i, InstrumentDef::Composite { children, .. } if children.len() == 2)));
}

#[test]
fn where_the_reference_accepts_a_source_our_notes_are_its_notes() {
    let sources = [
        "track t() {\n C3 /2\n D3 /4\n E3 /4\n}\nt()",
        "track t() {\n track.noteLength = 1/4\n C4 D4 E4 .\n F4 /2\n G4*90@2 /4\n 2\n A4 3/8\n}\nt()",
        "track t() {\n [C3@2, E3, G3]@1 /2\n [F3, A3] 1\n .. \n B3\n}\nt()",
        "track a() {\n C4 /4 D4 /4\n}\ntrack b() {\n a() /2\n E4\n a()\n G4 /8\n}\nb()\nb() 1\na()",
        "track t() {\n track.duration = 1/8\n C5 C5 .\n C5 G4 /4\n}\nt()",
        "const s = Oscillator({type: 'square', attack: 0.01})\ntrack t(i) {\n track.instrument = i\n C4@/8 /4\n}\nt(s)",
    ];
    let mut compared = 0;
    let mut all = sources.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if let Some(dir) = songs() {
        all.push(read(&dir, "piano-ballad.sw"));
    }
    let sequential = CompileOptions { calls: CallTiming::Sequential, ..Default::default() };
    for source in &all {
        let theirs = reference(source).unwrap_or_else(|| panic!("the reference refuses:\n{source}"));
        let ours = rows(&sw::compile(source, "t.sw", &sequential).unwrap_or_else(|e| panic!("{e}")));
        assert!(!ours.is_empty());
        assert_eq!(ours, theirs, "for:\n{source}");
        compared += 1;
    }
    assert_eq!(compared, all.len());
}

#[test]
fn deliberate_differences_from_the_reference_behave_as_documented() {
    // Calls without a step play beside the caller.
    let song = ours("track a() {\n C4 /4\n}\ntrack b() {\n E4 /4\n}\na()\nb()");
    assert_eq!(rows(&song), vec![(0.0, 60, 100.0, 1.0), (0.0, 64, 100.0, 1.0)]);
    // `for` loops run as often as their header says.
    let song = ours(
        "track t() {\n for (let i = 0; i < 3; i++) {\n C4 /4\n }\n for (let i = 4; i > 0; i -= 2) { D4 /4 }\n}\nt()",
    );
    assert_eq!(song.notes.len(), 5);
    assert_eq!(song.length_beats, 1.25);
    // `*0.9` is 90 % of full scale, `*90` is 90 of 127; a call's `*` scales its notes.
    let song = ours("track t() {\n C4*0.9 D4*90\n}\nt*0.5()");
    assert!((song.notes[0].velocity - 0.45).abs() < 1e-6);
    assert!((song.notes[1].velocity - 90.0 / 127.0 * 0.5).abs() < 1e-6);
    // `@1/8` is an eighth of a beat; `. /2` rests half a beat; `F#4` and `Bb3` are notes.
    let song = ours("track t() {\n F#4@1/8 /4\n . /2\n Bb3\n}\nt()");
    assert_eq!(rows(&song), vec![(0.0, 66, 100.0, 0.125), (0.75, 58, 100.0, 1.0)]);
    // A call's `@length` cuts the track there.
    let song = ours("track t() {\n C4 D4 E4 F4\n}\nt@2()");
    assert_eq!(song.notes.len(), 2);
    // The tempo map: 120 BPM for 4 beats, then 60.
    let song = ours("track t() {\n C4 C4 C4 C4\n track.beatsPerMinute = 60\n D4\n}\nt()");
    assert_eq!(song.seconds_at(4.0), 2.0);
    assert_eq!(song.seconds_at(5.0), 3.0);
    let song = ours("song.endMode = 'gate'\ntrack t() { C4 }\nt()");
    assert_eq!(song.end_mode, EndMode::Gate);
}

/// Malformed sources and their diagnostics, compared with golden texts (`tests/golden/sw/`),
/// which were reviewed by hand: each names the file, line and column, shows the line with a
/// caret, and gives a hint where one helps. `NODERACK_BLESS=1` rewrites them.
#[test]
fn diagnostics_match_their_reviewed_golden_texts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/sw");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sw"))
        .collect();
    sources.sort();
    assert!(sources.len() >= 12, "a dozen malformed sources");
    for source in sources {
        let name = source.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&source).unwrap();
        let errors = match sw::compile(&text, &name, &CompileOptions::default()) {
            Ok(_) => panic!("{name} compiled"),
            Err(errors) => errors.render(),
        };
        let golden = source.with_extension("txt");
        if std::env::var_os("NODERACK_BLESS").is_some() {
            std::fs::write(&golden, format!("{errors}\n")).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        assert_eq!(errors.trim_end(), expected.trim_end(), "{name}");
    }
}

/// Text made of the language's pieces, in any order.
fn token_soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "C4",
        "F#4",
        "Bb3",
        "/4",
        "/",
        "2",
        "3/8",
        ".",
        "..",
        "*0.8",
        "*",
        "@",
        "@/8",
        "[",
        "]",
        ",",
        "(",
        ")",
        "{",
        "}",
        "track",
        "t",
        "t()",
        "for",
        "(let i = 0; i < 3; i++)",
        "const",
        "=",
        "x",
        "\n",
        ";",
        "Oscillator",
        "loadPreset(\"A/B\")",
        "track.instrument",
        "track.noteLength",
        "1/0",
        "0",
        "-",
        "'",
        "\"",
        "//",
        "/*",
        "*/",
        "#",
        "é",
        "song.endMode",
        "'gate'",
        ":",
        "C99",
        "G#9",
        "1e308",
    ]);
    prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Nothing panics on any token sequence, and every error points inside the source.
    #[test]
    fn any_token_soup_compiles_or_fails_cleanly(source in token_soup()) {
        if let Err(errors) = sw::compile(&source, "soup.sw", &CompileOptions::default()) {
            prop_assert!(!errors.errors.is_empty());
            for e in &errors.errors {
                prop_assert!(e.span.start <= e.span.end && e.span.end <= source.len(), "{e:?}");
            }
            let _ = errors.render();
        }
    }

    /// Nothing panics on any bytes.
    #[test]
    fn any_bytes_compile_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let source = String::from_utf8_lossy(&bytes);
        if let Err(errors) = sw::compile(&source, "bytes.sw", &CompileOptions::default()) {
            let _ = errors.render();
        }
    }

    /// A generated melody: every note where the sum of the steps before it says.
    #[test]
    fn generated_melodies_land_where_their_steps_say(steps in prop::collection::vec((0u8..12, 1u32..16), 1..200)) {
        let body: String = steps.iter().map(|(k, d)| format!("{} /{d}\n", ["C4", "C#4", "D4", "Eb4", "E4", "F4", "F#4", "G4", "Ab4", "A4", "Bb4", "B4"][*k as usize])).collect();
        let song = ours(&format!("track t() {{\n{body}}}\nt()"));
        prop_assert_eq!(song.notes.len(), steps.len());
        let mut at = 0.0;
        for (note, (k, d)) in song.notes.iter().zip(&steps) {
            prop_assert_eq!(note.time_beats, at);
            prop_assert_eq!(note.key, 60 + k);
            at += 1.0 / *d as f64;
        }
        prop_assert_eq!(song.length_beats, at);
    }
}

/// Song parameters: top-level `const`s holding numbers, readable as a velocity (`*accent`) or a
/// loop bound (`i < bars`), listed with their values, and replaced by `CompileOptions::set`.
#[test]
fn song_parameters_are_listed_and_can_be_set() {
    let source = "const accent = 0.5\nconst bars = 2\ntrack t() {\n for (let i = 0; i < bars; i++) {\n  C4*accent /1\n }\n}\nt()\nD4 *accent /1\n";
    let song = ours(source);
    let names: Vec<(&str, f64)> = song.parameters.iter().map(|p| (p.name.as_str(), p.default)).collect();
    assert_eq!(names, vec![("accent", 0.5), ("bars", 2.0)]);
    assert_eq!(song.notes.len(), 3, "two bars of C4 and one D4");
    assert!(song.notes.iter().all(|n| (n.velocity - 0.5).abs() < 1e-6));
    let set = [("bars", 4.0), ("accent", 100.0)];
    let changed = sw::compile(source, "t.sw", &CompileOptions { set: &set, ..Default::default() }).unwrap();
    assert_eq!(changed.notes.iter().filter(|n| n.key == 60).count(), 4);
    assert!(changed.notes.iter().all(|n| (n.velocity - 100.0 / 127.0).abs() < 1e-6), "*100 is out of 127");
    // A name bound inside a track is not a song parameter, and `set` does not reach it.
    let inner = ours("track t() {\n const hidden = 3\n C4 /1\n}\nt()\n");
    assert!(inner.parameters.is_empty());
}

/// The stable-Rust fuzz harness (`noderack_tests::sw_fuzz`, also the `sw-fuzz` binary for long
/// runs): 30 000 inputs grown from the shared songs and the golden sources by mutation and
/// generation, each compiling or failing cleanly. Its oracle refuses what it must.
#[test]
fn the_fuzz_harness_finds_nothing() {
    use noderack_tests::sw_fuzz::{run, sane, seeds, Rng};
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/sw");
    let shared = testdata_dir().map(|d| d.join("songwalker-songs"));
    let mut dirs = vec![golden.as_path()];
    dirs.extend(shared.as_deref());
    let mut rng = Rng::new(12);
    let corpus = seeds(&dirs, &mut rng);
    assert!(corpus.len() > 20, "the seeds were read");
    let report = run(corpus, &mut rng, 30_000, None, None);
    assert_eq!(report.inputs, 30_000);
    assert!(report.outcomes > 20, "the inputs reach many outcomes: {report:?}");
    assert!(report.findings.is_empty(), "{:#?}", report.findings);

    let mut bad = ours("C4 /1\nD4 /1\n");
    assert!(sane(&bad).is_ok());
    bad.notes[1].time_beats = f64::NAN;
    assert!(sane(&bad).is_err(), "a time that is not a number is caught");
    bad.notes[1].time_beats = 0.5;
    bad.notes[0].time_beats = 0.75;
    assert!(sane(&bad).is_err(), "notes out of order are caught");
}
