//! Self-contained patch bundles: a bundle made from a patch and the files around it renders
//! bit-identically once installed elsewhere with the originals gone; the same patch gives the
//! same id; and tampered, truncated or hostile bundles (paths out of the bundle, instruments
//! pointing outside it) are refused with a reason, never installed, never a panic.

use std::path::Path;

use noderack_presets::bundle::{FORMAT, PATCH_FILE};
use noderack_presets::{Bundle, ContentHash};
use noderack_tests::fixtures::{patch_with_files, render_patch, scratch_dir, two_notes_midi};
use noderack_tests::{peak_frequency_hz, rms, testdata_dir};
use serde_json::{json, Value};

const SR: f32 = 48_000.0;
const FRAMES: u64 = 48_000;

fn export(patch: &Path) -> Bundle {
    let value: Value = serde_json::from_str(&std::fs::read_to_string(patch).unwrap()).unwrap();
    Bundle::export(&value, patch.parent().unwrap()).unwrap_or_else(|e| panic!("export: {e}"))
}

#[test]
fn a_bundle_renders_bit_identically_once_its_sources_are_gone() {
    let dir = scratch_dir("bundle-roundtrip");
    let sources = dir.join("sources");
    let patch = patch_with_files(&sources);
    let midi = two_notes_midi(&dir, "notes.mid");
    let before = render_patch(&patch, &midi, SR, FRAMES);
    // Both instruments sound: A4 from the SFZ (440 Hz) and program 1 of the bank (600 Hz).
    assert!(rms(&before[0][..24_000]) > 0.05, "the reference render is not silent");
    let first = peak_frequency_hz(&before[0][2_000..18_000], SR);
    assert!((first - 440.0).abs() < 8.0 || (first - 600.0).abs() < 8.0, "peak at {first} Hz");

    let bundle = export(&patch);
    let bytes = bundle.to_bytes();
    assert_eq!(export(&patch).to_bytes(), bytes, "the same patch and files make the same bundle");
    assert_eq!(bundle.manifest().name, "Bundled song");
    // Five files: the SFZ, its include, its sample, the bank; plus nothing else.
    let paths: Vec<&String> = bundle.manifest().files.keys().collect();
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert!(
        paths.iter().any(|p| p.ends_with("samples/A%204%25.wav") || p.ends_with("samples/A 4%25.wav")),
        "{paths:?}"
    );

    std::fs::remove_dir_all(&sources).unwrap();
    let read = Bundle::from_bytes(&bytes, "song.nrbundle").unwrap();
    assert_eq!(read.id(), bundle.id());
    let installed = read.install(&dir.join("installed")).unwrap();
    assert_eq!(installed, dir.join("installed").join(bundle.id().as_str()).join(PATCH_FILE));
    let after = render_patch(&installed, &midi, SR, FRAMES);
    assert_eq!(before.len(), after.len());
    for (channel, (a, b)) in before.iter().zip(&after).enumerate() {
        let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "channel {channel} differs after the round trip");
    }
    // Installing again reuses the folder; no staging folder is left behind.
    assert_eq!(read.install(&dir.join("installed")).unwrap(), installed);
    let left: Vec<String> = std::fs::read_dir(dir.join("installed"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![bundle.id().to_string()]);
}

#[test]
fn a_library_preset_travels_with_its_indexes_and_samples_only() {
    let Some(data) = testdata_dir() else { return };
    let library = data.join("songwalker-library");
    let dir = scratch_dir("bundle-preset");
    let patch = dir.join("preset.json");
    let text = json!({
        "format": "noderack-patch", "version": 1, "name": "Preset",
        "nodes": [
            { "id": "keys", "kind": "midi-in" },
            { "id": "bass", "kind": "sampler", "config": { "instrument": {
                "preset": "FluidR3_GM/Finger", "library": library.display().to_string() } } },
            { "id": "out", "kind": "output" }
        ],
        "connections": [ { "from": "keys.events", "to": "bass.events" }, { "from": "bass.out", "to": "out.in" } ]
    });
    std::fs::write(&patch, text.to_string()).unwrap();
    let midi = two_notes_midi(&dir, "notes.mid");
    let before = render_patch(&patch, &midi, SR, FRAMES);
    assert!(rms(&before[0]) > 0.01, "the preset plays");

    let bundle = export(&patch);
    let files = &bundle.manifest().files;
    assert!(files.contains_key("instruments/1/index.json"), "{files:?}");
    let samples = files.keys().filter(|p| p.ends_with(".mp3") || p.ends_with(".raw")).count();
    let others = files.len() - samples;
    assert_eq!(others, 3, "the root index, the library index and the preset: {files:?}");
    assert!(samples > 0);
    let installed = Bundle::from_bytes(&bundle.to_bytes(), "preset").unwrap().install(&dir.join("installed")).unwrap();
    let after = render_patch(&installed, &midi, SR, FRAMES);
    for (a, b) in before.iter().zip(&after) {
        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "the bundled preset renders the same");
    }
}

/// A tar archive of `entries`, as a bundle is laid out.
fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, *bytes).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A bundle holding one file `path` with `content`, and `instrument` as its sampler's setting.
fn crafted(path: &str, content: &[u8], instrument: Value) -> Vec<u8> {
    let hash = ContentHash::of(content);
    let manifest = json!({
        "format": FORMAT, "version": 1, "name": "crafted",
        "patch": { "format": "noderack-patch", "version": 1, "nodes": [
            { "id": "s", "kind": "sampler", "config": { "instrument": instrument } } ] },
        "files": { path: hash },
    });
    archive(&[("manifest.json", manifest.to_string().as_bytes()), (&format!("blobs/{hash}"), content)])
}

fn refused(bytes: &[u8]) -> String {
    match Bundle::from_bytes(bytes, "test.nrbundle") {
        Ok(b) => panic!("bundle {} was accepted", b.id()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tampered_truncated_and_hostile_bundles_are_refused_with_a_reason() {
    let dir = scratch_dir("bundle-hostile");
    let good = export(&patch_with_files(&dir.join("sources"))).to_bytes();

    // One flipped byte in a sample (inside the first RIFF file: the WAV or the SF2).
    let mut tampered = good.clone();
    let at = tampered.windows(4).position(|w| w == b"RIFF").expect("the bundle holds RIFF files") + 100;
    tampered[at] ^= 0x40;
    let message = refused(&tampered);
    assert!(message.contains("test.nrbundle") && message.contains("hash"), "{message}");

    // Cut short: an error, not a panic. (Only the archive's end marker, 1024 zero bytes, may go:
    // what remains is the whole bundle.)
    for cut in [0, 10, 511, 512, 700, 1500, good.len() / 2, good.len() - 1024 - 513] {
        let message = refused(&good[..cut]);
        assert!(message.starts_with("test.nrbundle:"), "cut at {cut}: {message}");
    }
    assert!(refused(b"not a bundle at all, just text").starts_with("test.nrbundle:"));

    // Paths that would leave the install folder, or clobber the patch.
    let sfz = b"<region> sample=x.wav".as_slice();
    for path in ["../escape.sfz", "a/../../escape.sfz", "/etc/escape.sfz", "a//b.sfz", "a/%2e%2e/b.sfz", PATCH_FILE] {
        let message = refused(&crafted(path, sfz, json!({ "sfz": path })));
        assert!(message.contains("files") || message.contains("reserved"), "{path}: {message}");
    }
    // Instruments reading files outside the bundle, or from the network.
    for (instrument, field) in [
        (json!({ "sfz": "/etc/passwd" }), "sfz"),
        (json!({ "sfz": "inst/missing.sfz" }), "sfz"),
        (json!({ "sf2": "../bank.sf2" }), "sf2"),
        (json!({ "preset": "Lib/Name" }), "library"),
        (json!({ "preset": "Lib/Name", "library": "https://example.com/lib" }), "library"),
    ] {
        let message = refused(&crafted("inst/a.sfz", sfz, instrument.clone()));
        assert!(message.contains(&format!("instrument.{field}")), "{instrument}: {message}");
    }
    // A blob that is not what its name says, an extra entry, a missing one.
    let hash = ContentHash::of(sfz);
    let manifest = json!({ "format": FORMAT, "version": 1, "name": "x",
        "patch": { "nodes": [ { "id": "s", "config": { "instrument": { "sfz": "a.sfz" } } } ] },
        "files": { "a.sfz": hash } })
    .to_string();
    let message = refused(&archive(&[("manifest.json", manifest.as_bytes()), (&format!("blobs/{hash}"), b"other")]));
    assert!(message.contains("hash"), "{message}");
    let message = refused(&archive(&[("manifest.json", manifest.as_bytes())]));
    assert!(message.contains("missing"), "{message}");
    let message = refused(&archive(&[
        ("manifest.json", manifest.as_bytes()),
        (&format!("blobs/{hash}"), sfz),
        ("blobs/extra", b"x"),
    ]));
    assert!(message.contains("unexpected entry"), "{message}");
    let message = refused(&archive(&[(&format!("blobs/{hash}"), sfz), ("manifest.json", manifest.as_bytes())]));
    assert!(message.contains("first entry"), "{message}");
    // Nothing was installed anywhere by any of this.
    assert!(!dir.join("installed").exists());
}

#[test]
fn a_fork_records_its_parent_and_gets_its_own_id() {
    let dir = scratch_dir("bundle-fork");
    let bundle = export(&patch_with_files(&dir.join("sources")));
    let fork = bundle.fork(Some("My take".into()), None).unwrap();
    assert_ne!(fork.id(), bundle.id());
    assert_eq!(fork.manifest().parent.as_ref(), Some(bundle.id()));
    assert_eq!(fork.manifest().files, bundle.manifest().files);
    let again = Bundle::from_bytes(&fork.to_bytes(), "fork").unwrap();
    assert_eq!(again.id(), fork.id(), "the parent is part of what the id covers");
    // A fork's patch may only use the bundle's files.
    let mut patch = bundle.manifest().patch.clone();
    patch["nodes"][1]["config"]["instrument"]["sfz"] = json!("/etc/passwd");
    let message = bundle.fork(None, Some(patch)).unwrap_err().to_string();
    assert!(message.contains("instrument.sfz"), "{message}");
}

/// A graph as the server writes it (parameters are `f32`s widened to JSON numbers) keeps its
/// bundle id through writing and reading: numbers read back to the same bits.
#[test]
fn a_bundle_of_a_played_graph_keeps_its_id_through_a_round_trip() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json");
    let patch = noderack_presets::Patch::load(&demo, &noderack_nodes::registry::Registry).unwrap();
    let bundle = Bundle::export(&patch.to_json(), demo.parent().unwrap()).unwrap();
    let read = Bundle::from_bytes(&bundle.to_bytes(), "demo.nrbundle").unwrap();
    assert_eq!(read.manifest(), bundle.manifest());
    assert_eq!(read.id(), bundle.id());
}

/// A runner's song travels in the bundle, with the library files of the presets it loads (and
/// no others): the installed patch renders bit-identically with the sources gone. A bundle
/// whose runner reads a song or presets from outside it is refused.
#[test]
fn a_runners_song_and_its_presets_travel_in_the_bundle() {
    let dir = scratch_dir("bundle-runner");
    let sources = dir.join("sources");
    std::fs::create_dir_all(sources.join("songs")).unwrap();
    noderack_tests::tiny_library::TinyLibrary::write(&sources.join("lib"), 48_000);
    let song = "const beep = loadPreset(\"Other/Beep\")\nconst bass = Oscillator({type: 'sine'})\ntrack.instrument = beep\nC2@1 /1\ntrack.instrument = bass\nC3@1 /1\n";
    std::fs::write(sources.join("songs/beep.sw"), song).unwrap();
    let patch = sources.join("runner.json");
    let patch_json = json!({ "format": "noderack-patch", "version": 1, "name": "runner",
        "nodes": [ { "id": "keys", "kind": "midi-in" },
                   { "id": "song", "kind": "runner", "config": { "song": "songs/beep.sw", "library": "lib", "root": 69 } },
                   { "id": "out", "kind": "output" } ],
        "connections": [ { "from": "keys.events", "to": "song.in" }, { "from": "song.audio", "to": "out.in" } ] });
    std::fs::write(&patch, patch_json.to_string()).unwrap();
    let midi = two_notes_midi(&dir, "notes.mid");
    let before = render_patch(&patch, &midi, SR, FRAMES);
    assert!(rms(&before[0][..24_000]) > 0.01, "the runner plays its preset");

    let bundle = export(&patch);
    let paths: Vec<&str> = bundle.manifest().files.keys().map(String::as_str).collect();
    assert!(paths.contains(&"songs/1/beep.sw"), "{paths:?}");
    assert!(paths.contains(&"songs/1/library/Other/Beep/zone_A4.raw"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("Tiny/")), "only the presets the song loads: {paths:?}");
    let bytes = bundle.to_bytes();
    std::fs::remove_dir_all(&sources).unwrap();
    let installed = Bundle::from_bytes(&bytes, "runner.nrbundle").unwrap().install(&dir.join("installed")).unwrap();
    let after = render_patch(&installed, &midi, SR, FRAMES);
    assert!(before[0].iter().zip(&after[0]).all(|(a, b)| a.to_bits() == b.to_bits()), "the installed patch differs");

    // A runner pointing outside the bundle, or playing presets from no bundled library.
    let crafted_runner = |config: Value| {
        let hash = ContentHash::of(song.as_bytes());
        let manifest = json!({
            "format": FORMAT, "version": 1, "name": "crafted",
            "patch": { "format": "noderack-patch", "version": 1, "nodes": [
                { "id": "r", "kind": "runner", "config": config } ] },
            "files": { "songs/beep.sw": hash },
        });
        archive(&[("manifest.json", manifest.to_string().as_bytes()), (&format!("blobs/{hash}"), song.as_bytes())])
    };
    let e = refused(&crafted_runner(json!({ "song": "../beep.sw" })));
    assert!(e.contains("config.song") && e.contains("not a file of the bundle"), "{e}");
    let e = refused(&crafted_runner(json!({ "song": "songs/beep.sw" })));
    assert!(e.contains("config.library") && e.contains("no library folder of the bundle"), "{e}");
    let e = refused(&crafted_runner(json!({ "song": "songs/beep.sw", "library": "https://example.com/lib" })));
    assert!(e.contains("config.library"), "{e}");
    assert!(Bundle::from_bytes(&crafted_runner(json!({ "song": "songs/beep.sw", "instruments": false })), "t").is_ok());
}
