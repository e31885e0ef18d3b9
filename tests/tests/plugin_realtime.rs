//! The CLAP plugin's audio thread on a thread of its own, as a DAW runs it, while the host's
//! main thread loads one patch after another into it (each applied as an engine edit: nodes
//! added, removed and changed, plans swapped, macro mappings replaced) and automates a macro,
//! and the editor (through the plugin's control server) adds nodes and turns parameters in
//! between: not one allocation or free on the audio thread. The plugin is linked in-process so that its
//! allocations go through this binary's counting allocator.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clack_host::prelude::PluginEntry;
use noderack_plugin::ports::PortMode;
use noderack_plugin::state::{encode, SavedState};
use noderack_plugin::{NoderackEntry, INSTRUMENT_ID};
use noderack_presets::macros::MACRO_COUNT;
use noderack_tests::analysis::rms;
use noderack_tests::editor_standin::{EditorApi, StandInEditor};
use noderack_tests::plugin_rig::{HostEvent, PluginRig};

#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const BLOCK: usize = 256;

/// Version `n` of a patch: a synth through a gain, a macro on the gain, `n` extra gain
/// stages in the chain (so nodes come and go), the synth's cutoff moving, and the last
/// version 40 dB quieter.
fn patch(n: usize, last: bool) -> serde_json::Value {
    let mut nodes = vec![
        serde_json::json!({ "id": "keys", "kind": "midi-in" }),
        serde_json::json!({ "id": "lead", "kind": "synth", "params": {
            "waveform": "saw", "sustain_level": 1, "cutoff_hz": 500 + 300 * n, "gain_db": if last { -46 } else { -6 } } }),
        serde_json::json!({ "id": "level", "kind": "gain" }),
        serde_json::json!({ "id": "out", "kind": "output", "config": { "bus": "main" } }),
    ];
    let mut connections = vec![serde_json::json!({ "from": "keys.events", "to": "lead.events" })];
    let mut from = "lead".to_string();
    for stage in 0..n % 4 {
        let id = format!("stage{stage}");
        nodes.push(serde_json::json!({ "id": id, "kind": "gain" }));
        connections.push(serde_json::json!({ "from": format!("{from}.out"), "to": format!("{id}.in") }));
        from = id;
    }
    connections.push(serde_json::json!({ "from": format!("{from}.out"), "to": "level.in" }));
    connections.push(serde_json::json!({ "from": "level.out", "to": "out.in" }));
    serde_json::json!({
        "format": "noderack-patch", "version": 1, "nodes": nodes, "connections": connections,
        "macros": [{ "index": 1, "targets": [{ "param": "level.gain_db", "min": -12, "max": 0 }] }]
    })
}

fn state(n: usize, last: bool) -> Vec<u8> {
    encode(&SavedState { patch: patch(n, last), folder: None, macros: [1.0; MACRO_COUNT], port_mode: PortMode::Patch })
}

#[test]
fn the_plugin_audio_thread_neither_allocates_nor_frees_while_the_host_edits_the_patch() {
    let entry = PluginEntry::load_from_clack::<NoderackEntry>(c"").expect("the entry loads in-process");
    let mut rig = PluginRig::in_process(&entry, INSTRUMENT_ID);
    rig.load_state(&state(0, false)).unwrap();
    rig.activate(48_000.0, BLOCK);
    let editor = StandInEditor::install();
    assert!(rig.show_floating_gui("noderack"), "the editor opens");
    let api = EditorApi::of(&editor.started());
    let mut audio = rig.take_audio();
    audio.forbid_allocation();

    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    // Blocks the audio thread has rendered: the main thread paces its edits by them.
    let rendered = Arc::new(AtomicU64::new(0));
    let counter = rendered.clone();
    let audio_thread = std::thread::spawn(move || {
        let mut levels = Vec::new();
        let mut block = 0u64;
        while !stopping.load(Ordering::Acquire) || block < 200 {
            let at = block * BLOCK as u64;
            let mut events = Vec::new();
            if block.is_multiple_of(50) {
                events.push(HostEvent::NoteOn {
                    frame: at + 3,
                    channel: 0,
                    key: 57 + (block / 50 % 12) as u16,
                    velocity: 0.9,
                });
            }
            // The macro swept every block, at a frame inside it.
            events.push(HostEvent::Param {
                frame: at + (block * 37 % BLOCK as u64),
                id: 0,
                value: (block % 7) as f64 / 6.0,
            });
            let out = audio.render(BLOCK, BLOCK, &events, &[]);
            levels.push(rms(&out[0][0]));
            block += 1;
            counter.store(block, Ordering::Release);
            // A callback period, roughly: the edits land between blocks, as in a host.
            std::thread::yield_now();
        }
        (audio, assert_no_alloc::violation_count(), levels)
    });

    // Waits until the audio thread has rendered `blocks` more blocks.
    let wait_blocks = |blocks: u64| {
        let until = rendered.load(Ordering::Acquire) + blocks;
        let deadline = Instant::now() + Duration::from_secs(30);
        while rendered.load(Ordering::Acquire) < until {
            assert!(Instant::now() < deadline, "the audio thread stalled");
            std::thread::yield_now();
        }
    };
    let versions = 24;
    for n in 1..=versions {
        wait_blocks(8);
        rig.load_state(&state(n, n == versions)).unwrap_or_else(|e| panic!("version {n}: {e}"));
        assert!(!rig.asked(|r| &r.restart), "version {n} has the same buses: no restart");
        wait_blocks(4);
        // The editor adds a node and turns a knob (the next state load takes the node away).
        let edits = serde_json::json!({ "edits": [
            { "op": "add", "id": "probe", "kind": "gain" },
            { "op": "set", "id": "lead", "param": "cutoff_hz", "value": 700 + 300 * n }
        ]});
        let (status, reply) = api.post("/edits", edits);
        assert_eq!(status, 200, "version {n}: {reply}");
    }
    // The last edit reaches the audio thread at its next block; 40 more show its sound.
    wait_blocks(40);
    stop.store(true, Ordering::Release);
    let (audio, violations, levels) = audio_thread.join().expect("the audio thread ran");
    rig.return_audio(audio);

    assert_eq!(violations, 0, "allocations or frees on the audio thread");
    assert!(levels.len() >= 200);
    let early = levels[20..60].iter().copied().fold(0.0f32, f32::max);
    let late = levels[levels.len() - 20..].iter().copied().fold(0.0f32, f32::max);
    assert!(early > 0.01, "the patch sounded ({early})");
    // 40 dB quieter, give or take the macro's 12 dB sweep and the brighter cutoff.
    let drop_db = 20.0 * (late / early).log10();
    assert!(drop_db < -20.0, "the last version (40 dB quieter) was applied while playing: {drop_db:.1} dB");
}
