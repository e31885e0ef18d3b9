//! What the CLAP plugin costs (figures in docs/PERFORMANCE.md):
//!
//! 1. **Overhead**: the demo rack playing a dense 10 s MIDI stream (16 channels), rendered
//!    through `noderack.clap` (the built plugin library, hosted by a clack-host loop, 256-frame
//!    blocks, the MIDI as CLAP MIDI events) against `noderack render`'s own path (the patch
//!    loaded the same way, `OfflineRenderer`, 256-frame blocks). Both start from a fresh
//!    instance each round (built outside the timing) and keep every rendered frame. What
//!    differs: the plugin side also runs the host loop (events into a CLAP event buffer, the
//!    host's buffers), converts the events, and copies the engine's bus buffers to the host's;
//!    the render side runs the engine's maintenance between blocks (the plugin's runs on its
//!    worker thread). Measured in alternating rounds; the ratio of the medians is the figure.
//! 2. **Load and restore** with a General MIDI SF2 bank: creating an instance (it starts with
//!    the built-in demo rack), loading a state whose patch plays the whole bank in a sampler
//!    (TimGM6mb, 6 MB; FluidR3 GM, 148 MB), and activating it (the engine built, 256 voices).
//!
//! Run: `cargo bench -p noderack-tests --bench plugin`

use std::path::Path;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use noderack_host::{OfflineRenderer, TimedMidi};
use noderack_nodes::registry::Registry;
use noderack_plugin::ports::PortMode;
use noderack_plugin::state::{encode, SavedState};
use noderack_plugin::INSTRUMENT_ID;
use noderack_presets::macros::MACRO_COUNT;
use noderack_presets::Patch;
use noderack_tests::clap_plugins::noderack_plugin_library;
use noderack_tests::midi::dense_stream;
use noderack_tests::plugin_rig::{HostEvent, PluginRig};

const RATE: f64 = 48_000.0;
const BLOCK: usize = 256;
const SONG_FRAMES: u64 = 480_000;
const ROUNDS: usize = 15;

fn demo_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json")).expect("the demo")
}

fn state_of(patch: serde_json::Value) -> Vec<u8> {
    encode(&SavedState { patch, folder: None, macros: [0.0; MACRO_COUNT], port_mode: PortMode::Patch })
}

fn song() -> Vec<TimedMidi> {
    dense_stream(SONG_FRAMES, 2_000, 16, 7)
}

/// `noderack render`'s path, ready to play.
fn render_side(text: &str) -> OfflineRenderer {
    let patch = Patch::parse(text, "demo.json", &Registry).expect("the demo loads");
    let (mut engine, executor) = noderack_graph::new_engine(patch.engine_config(RATE as f32, 512));
    engine.apply(patch.edits()).expect("the demo builds");
    OfflineRenderer::new(engine, executor, BLOCK)
}

/// The plugin holding the same patch, active.
fn plugin_side(state: &[u8]) -> PluginRig {
    let mut rig = PluginRig::new(&noderack_plugin_library(), INSTRUMENT_ID);
    rig.load_state(state).expect("the state loads");
    rig.activate(RATE, 512);
    rig
}

fn overhead(c: &mut Criterion) {
    let text = demo_text();
    let state = state_of(serde_json::from_str(&text).unwrap());
    let midi = song();
    let events: Vec<HostEvent> =
        midi.iter().map(|e| HostEvent::Midi { frame: e.frame, bytes: e.message.to_bytes() }).collect();
    let mut group = c.benchmark_group("plugin overhead, demo rack, 10 s dense MIDI");
    group.sample_size(10);
    group.bench_function("noderack render path", |b| {
        b.iter_batched(|| render_side(&text), |mut r| r.render_to_vec(SONG_FRAMES, &midi), BatchSize::PerIteration)
    });
    group.bench_function("through noderack.clap", |b| {
        b.iter_batched(
            || plugin_side(&state),
            |mut rig| rig.render(SONG_FRAMES as usize, BLOCK, &events, &[]),
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let (mut render_times, mut plugin_times) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for side in [round % 2, 1 - round % 2] {
            if side == 0 {
                let mut r = render_side(&text);
                let start = Instant::now();
                std::hint::black_box(r.render_to_vec(SONG_FRAMES, &midi));
                render_times.push(start.elapsed().as_secs_f64());
            } else {
                let mut rig = plugin_side(&state);
                let start = Instant::now();
                std::hint::black_box(rig.render(SONG_FRAMES as usize, BLOCK, &events, &[]));
                plugin_times.push(start.elapsed().as_secs_f64());
            }
        }
    }
    let (r, p) = (noderack_tests::median(render_times), noderack_tests::median(plugin_times));
    println!("paired, 10 s of the demo rack: render {:.1} ms, plugin {:.1} ms, ratio {:.3}", r * 1e3, p * 1e3, p / r);
}

/// A patch playing the whole GM bank in `sf2` through one sampler.
fn gm_state(sf2: &Path) -> Vec<u8> {
    state_of(serde_json::json!({
        "format": "noderack-patch", "version": 1, "name": "GM",
        "nodes": [
            { "id": "keys", "kind": "midi-in" },
            { "id": "gm", "kind": "sampler", "config": { "voices": 256, "instrument": { "sf2": sf2.display().to_string() } } },
            { "id": "out", "kind": "output", "config": { "bus": "main" } }
        ],
        "connections": [{ "from": "keys.events", "to": "gm.events" }, { "from": "gm.out", "to": "out.in" }]
    }))
}

fn load_and_restore(c: &mut Criterion) {
    let library = noderack_plugin_library();
    let mut group = c.benchmark_group("plugin load and restore");
    group.sample_size(10);
    group.bench_function("create an instance (built-in demo rack)", |b| {
        b.iter(|| PluginRig::new(&library, INSTRUMENT_ID))
    });
    for name in ["TimGM6mb", "FluidR3_GM"] {
        let sf2 = Path::new("/usr/share/sounds/sf2").join(format!("{name}.sf2"));
        if !sf2.is_file() {
            eprintln!("{} is missing (Debian packages timgm6mb-soundfont, fluid-soundfont-gm): skipped", sf2.display());
            continue;
        }
        let state = gm_state(&sf2);
        group.bench_function(format!("load a state playing {name}"), |b| {
            b.iter_batched(
                || PluginRig::new(&library, INSTRUMENT_ID),
                |mut rig| {
                    rig.load_state(&state).expect("the GM state loads");
                    rig
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_function(format!("activate with {name} (engine built, 256 voices)"), |b| {
            b.iter_batched(
                || {
                    let mut rig = PluginRig::new(&library, INSTRUMENT_ID);
                    rig.load_state(&state).expect("the GM state loads");
                    rig
                },
                |mut rig| {
                    rig.activate(RATE, 512);
                    rig
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, overhead, load_and_restore);
criterion_main!(benches);
