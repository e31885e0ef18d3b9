//! The CLAP plugin with a patch that hosts a CLAP plugin itself (our test instrument): it
//! reports the patch's latency and tail and asks the host for a restart when a new patch
//! changes the latency; its state keeps the hosted plugin's state as it has come to be. A
//! binary of its own: the plugin finds hosted plugins through `CLAP_PATH`, read once per
//! process.

use base64::Engine as _;
use noderack_plugin::ports::PortMode;
use noderack_plugin::state::{encode, SavedState};
use noderack_plugin::INSTRUMENT_ID;
use noderack_presets::macros::MACRO_COUNT;
use noderack_tests::analysis::first_onset;
use noderack_tests::clap_plugins::{noderack_plugin_library, test_instrument_folder, TEST_INSTRUMENT_ID};
use noderack_tests::plugin_rig::{HostEvent, PluginRig};

/// Points `CLAP_PATH` at the test instrument, once, before any plugin is loaded.
fn find_the_test_instrument() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("CLAP_PATH", test_instrument_folder()));
}

/// The test instrument's state: magic, gain, latency, fault.
fn instrument_state(gain: f32, latency_frames: u32) -> Vec<u8> {
    let mut bytes = b"NRTI".to_vec();
    bytes.extend_from_slice(&gain.to_le_bytes());
    bytes.extend_from_slice(&latency_frames.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes
}

/// A patch playing the test instrument with its latency set to `latency_frames` (through its
/// state).
fn state(latency_frames: u32) -> Vec<u8> {
    let plugin_state = base64::engine::general_purpose::STANDARD.encode(instrument_state(0.5, latency_frames));
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
    find_the_test_instrument();
    let mut rig = PluginRig::new(&noderack_plugin_library(), INSTRUMENT_ID);
    rig.load_state(&state(480)).expect("the patch with a hosted plugin loads");
    assert_eq!(rig.info().latency_frames, 480);

    rig.activate(48_000.0, 256);
    // Its tail: the instrument's (its 256-frame release plus its latency) plus the patch's latency.
    assert_eq!(rig.tail_frames(), 256 + 480 + 480);
    let out = rig.render(4_800, 256, &[HostEvent::NoteOn { frame: 100, channel: 0, key: 69, velocity: 1.0 }], &[]);
    let onset = first_onset(&out[0][0], 1e-4).expect("the note sounds");
    assert!((580..=584).contains(&onset), "the note starts at frame {onset}: 100 + 480 of latency");

    rig.load_state(&state(960)).unwrap();
    assert!(rig.asked(|r| &r.restart), "a new latency needs a restart");
    rig.deactivate();
    assert_eq!(rig.info().latency_frames, 960);
}

#[test]
fn the_state_keeps_the_hosted_plugins_state_as_it_has_come_to_be() {
    find_the_test_instrument();
    let mut rig = PluginRig::new(&noderack_plugin_library(), INSTRUMENT_ID);
    rig.load_state(&state(0)).unwrap();
    rig.activate(48_000.0, 256);
    // CC 7 sets the instrument's gain from inside it, as its own control would.
    rig.render(2_400, 256, &[HostEvent::Midi { frame: 10, bytes: [0xb0, 7, 127] }], &[]);
    let saved: serde_json::Value = serde_json::from_slice(&rig.save_state()).unwrap();
    let node = saved["patch"]["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "sines").unwrap().clone();
    let kept = base64::engine::general_purpose::STANDARD.decode(node["config"]["state"].as_str().unwrap()).unwrap();
    assert_eq!(kept, instrument_state(1.0, 0), "the saved state holds the gain CC 7 set");
}
