//! The CLAP plugin reports its patch's latency (here a hosted CLAP instrument's) and asks the
//! host for a restart when a new patch changes it. Its own binary: the plugin finds hosted
//! plugins through `CLAP_PATH`, read once per process.

use base64::Engine as _;
use noderack_plugin::ports::PortMode;
use noderack_plugin::state::{encode, SavedState};
use noderack_plugin::INSTRUMENT_ID;
use noderack_presets::macros::MACRO_COUNT;
use noderack_tests::analysis::first_onset;
use noderack_tests::clap_plugins::{noderack_plugin_library, test_instrument_folder, TEST_INSTRUMENT_ID};
use noderack_tests::plugin_rig::{HostEvent, PluginRig};

/// A patch playing the test instrument with its latency set to `latency_frames` (through its
/// state: magic, gain, latency, fault).
fn state(latency_frames: u32) -> Vec<u8> {
    let mut bytes = b"NRTI".to_vec();
    bytes.extend_from_slice(&0.5f32.to_le_bytes());
    bytes.extend_from_slice(&latency_frames.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    let plugin_state = base64::engine::general_purpose::STANDARD.encode(bytes);
    let patch = serde_json::json!({
        "format": "noderack-patch", "version": 1,
        "nodes": [
            { "id": "keys", "kind": "midi-in" },
            { "id": "sines", "kind": "clap", "config": { "plugin": TEST_INSTRUMENT_ID, "state": plugin_state } },
            { "id": "out", "kind": "output", "config": { "bus": "main" } }
        ],
        "connections": [{ "from": "keys.events", "to": "sines.notes" }, { "from": "sines.out", "to": "out.in" }]
    });
    encode(&SavedState { patch, folder: None, macros: [0.0; MACRO_COUNT], port_mode: PortMode::Patch })
}

#[test]
fn the_plugin_reports_its_patch_latency_and_restarts_when_it_changes() {
    // Set before any plugin is loaded: this binary holds this one test.
    std::env::set_var("CLAP_PATH", test_instrument_folder("clap-plugin-latency"));
    let mut rig = PluginRig::new(&noderack_plugin_library(), INSTRUMENT_ID);
    rig.load_state(&state(480)).expect("the patch with a hosted plugin loads");
    assert_eq!(rig.info().latency_frames, 480);

    rig.activate(48_000.0, 256);
    let out = rig.render(4_800, 256, &[HostEvent::NoteOn { frame: 100, channel: 0, key: 69, velocity: 1.0 }], &[]);
    let onset = first_onset(&out[0][0], 1e-4).expect("the note sounds");
    assert!((580..=584).contains(&onset), "the note starts at frame {onset}: 100 + 480 of latency");

    rig.load_state(&state(960)).unwrap();
    assert!(rig.asked(|r| &r.restart), "a new latency needs a restart");
    rig.deactivate();
    assert_eq!(rig.info().latency_frames, 960);
}
