//! SongWalker effect presets become effect nodes, measured on the render: an effect node loads
//! one by name (`"config": {"preset": "Lib/Name"}`) and plays it with the preset's settings (a
//! delay's echo at the preset's time, at its mix); a composite preset's chain plays its source
//! through its effects; a preset of another effect type, or of a type noderack has no node for,
//! is refused naming it. The shared library's three effect presets (shared test data) each
//! audibly do their work on a synth.

use std::path::Path;

use noderack_graph::limits::DEFAULT_MAX_BLOCK_FRAMES;
use noderack_graph::new_engine;
use noderack_host::OfflineRenderer;
use noderack_presets::Patch;
use noderack_tests::fixtures::scratch_dir;
use noderack_tests::midi::{note_off, note_on};
use noderack_tests::tiny_library::{index_json, write_file};
use noderack_tests::{rms, testdata_dir};

const SR: f32 = 48_000.0;

/// A library at `root`: `FX/Echo` (a delay, 0.25 s, no feedback, half wet), `FX/Odd` (a
/// phaser) and `FX/Lead` (a sine oscillator chained through a 0.1-s fully wet delay).
fn fx_library(root: &Path) {
    write_file(root, "index.json", index_json("Root", &[("index", "FX", "FX/index.json")]).as_bytes());
    let entries = [
        ("preset", "Echo", "Echo/preset.json"),
        ("preset", "Odd", "Odd/preset.json"),
        ("preset", "Lead", "Lead/preset.json"),
    ];
    write_file(root, "FX/index.json", index_json("FX", &entries).as_bytes());
    let preset = |name: &str, node: &str| {
        format!(r#"{{"format":"songwalker-preset","version":1,"name":"{name}","category":"effect","node":{node}}}"#)
    };
    let echo = r#"{"type":"effect","effectType":"delay","params":{"time":0.25,"feedback":0,"wetDry":0.5}}"#;
    write_file(root, "FX/Echo/preset.json", preset("Echo", echo).as_bytes());
    let odd = r#"{"type":"effect","effectType":"phaser","params":{"rate":0.5}}"#;
    write_file(root, "FX/Odd/preset.json", preset("Odd", odd).as_bytes());
    let lead = r#"{"type":"composite","mode":"chain","children":[
        {"type":"oscillator","config":{"waveform":"sine"}},
        {"type":"effect","effectType":"delay","params":{"time":0.1,"feedback":0,"wetDry":1}}]}"#;
    write_file(root, "FX/Lead/preset.json", preset("Lead", lead).as_bytes());
}

/// keys → a sine synth → `effect` (a node's JSON) → out.
fn patch(effect: &str) -> Result<Patch, String> {
    let text = format!(
        r#"{{ "format": "noderack-patch", "version": 1,
  "nodes": [ {{ "id": "keys", "kind": "midi-in" }},
             {{ "id": "lead", "kind": "synth", "params": {{ "waveform": "sine", "release_seconds": 0.01 }} }},
             {effect},
             {{ "id": "out", "kind": "output" }} ],
  "connections": [ {{ "from": "keys.events", "to": "lead.events" }}, {{ "from": "lead.out", "to": "fx.in" }},
                   {{ "from": "fx.out", "to": "out.in" }} ] }}"#
    );
    Patch::parse(&text, "fx.json", &noderack_nodes::registry::Registry).map_err(|e| e.to_string())
}

/// A 50-ms A4 at frame 0 through `patch`, for `seconds`: the left channel.
fn render(patch: &Patch, seconds: f32, note_frames: u64) -> Vec<f32> {
    let (mut engine, executor) = new_engine(patch.engine_config(SR, DEFAULT_MAX_BLOCK_FRAMES));
    engine.apply(patch.edits()).unwrap();
    let mut renderer = OfflineRenderer::new(engine, executor, 256);
    let midi = [note_on(0, 0, 69, 110), note_off(note_frames, 0, 69)];
    renderer.render_to_vec((seconds * SR) as u64, &midi).swap_remove(0)
}

/// The first frame from `from` on where `x` is louder than `threshold`.
fn onset(x: &[f32], from: usize, threshold: f32) -> Option<usize> {
    x[from..].iter().position(|s| s.abs() > threshold).map(|i| i + from)
}

#[test]
fn an_effect_node_plays_a_library_preset_by_name() {
    let root = scratch_dir("fx-library");
    fx_library(&root);
    let library = root.display().to_string();
    let node = |kind: &str, name: &str| {
        format!(r#"{{ "id": "fx", "kind": "{kind}", "config": {{ "preset": "{name}", "library": "{library}" }} }}"#)
    };
    let echo = patch(&node("delay", "FX/Echo")).unwrap();
    let left = render(&echo, 0.6, 2_400);
    let dry = rms(&left[200..2_400]);
    assert!(dry > 0.01, "the note, half dry");
    assert!(rms(&left[4_000..12_000]) < 1e-6, "silence until the echo");
    assert_eq!(onset(&left, 4_000, 1e-6).map(|f| f / 10), Some(12_000 / 10), "the echo 0.25 s after the note");
    let echoed = rms(&left[12_200..14_400]);
    assert!((echoed / dry - 1.0).abs() < 0.02, "half wet: the echo as loud as the dry half ({echoed} vs {dry})");

    let wrong = patch(&node("reverb", "FX/Echo")).err().expect("refused");
    assert!(wrong.contains("FX/Echo is a delay preset, not a reverb one"), "{wrong}");
    let unknown = patch(&node("delay", "FX/Odd")).err().expect("refused");
    assert!(unknown.contains("effect \"phaser\" is not supported"), "{unknown}");
}

#[test]
fn a_composite_chain_plays_its_source_through_its_effects() {
    let root = scratch_dir("fx-chain");
    fx_library(&root);
    let built = noderack_presets::songwalker::load_graph(&root, "FX/Lead", &mut Default::default()).unwrap();
    let mut rig = noderack_tests::Rig::stereo(128);
    rig.add_preset(built.graph, 0.0);
    let left = rig.render(24_000, &[note_on(0, 0, 69, 110), note_off(2_400, 0, 69)]).swap_remove(0);
    // Fully wet: nothing until the delay's 0.1 s, then the note.
    assert!(left[..4_800].iter().all(|s| *s == 0.0), "nothing dry");
    let start = onset(&left, 0, 1e-6).expect("the delayed note");
    assert!((4_800..4_900).contains(&start), "starts 0.1 s late: {start}");
    assert!(rms(&left[5_000..7_000]) > 0.01);
}

#[test]
fn the_shared_effect_presets_do_their_work_on_a_synth() {
    let Some(data) = testdata_dir() else { return };
    let library = data.join("songwalker-library").display().to_string();
    let node = |kind: &str, name: &str| {
        format!(
            r#"{{ "id": "fx", "kind": "{kind}", "config": {{ "preset": "_shared/{name}", "library": "{library}" }} }}"#
        )
    };
    // Reverb (roomSize 0.7, wetDry 0.3): a tail long after the 50-ms note.
    let left = render(&patch(&node("reverb", "Reverb")).unwrap(), 2.0, 2_400);
    let tail = rms(&left[(0.5 * SR) as usize..(1.0 * SR) as usize]);
    assert!(tail > 1e-4, "a reverb tail half a second after the note: {tail}");
    // Delay (time 0.375 s, feedback 0.4, wetDry 0.3): its first echo at 18 000 frames.
    let left = render(&patch(&node("delay", "Delay")).unwrap(), 1.0, 2_400);
    assert!(rms(&left[6_000..18_000]) < 1e-6, "silence until the echo");
    assert_eq!(onset(&left, 6_000, 1e-6).map(|f| f / 10), Some(18_000 / 10), "the echo at 0.375 s");
    assert!(rms(&left[36_200..38_400]) > 0.0, "and a second, fed back");
    // Chorus (rate 1.5 Hz, depth 0.7, wetDry 0.5): a held tone beats as the sweep moves.
    let left = render(&patch(&node("chorus", "Chorus")).unwrap(), 2.0, 96_000);
    let levels: Vec<f32> = left[9_600..90_000].chunks(480).map(rms).collect();
    let (low, high) = (levels.iter().copied().fold(f32::MAX, f32::min), levels.iter().copied().fold(0.0, f32::max));
    assert!(high / low > 1.3, "the chorus moves the level of a held tone: {low}..{high}");
}
