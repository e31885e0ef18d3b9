//! `noderack plugins`: the CLAP plugins on the system are listed (ours through `CLAP_PATH`, the
//! zam-plugins CI installs from `/usr/lib/clap`), a broken `.clap` file is reported and skipped,
//! and `info` shows a plugin's ports, parameters, latency, tail and state as the plugin declares
//! them; `serve` records a hosted plugin's own parameter changes and saves its current state.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{client, graph, post, Server};
use futures_util::StreamExt;
use noderack_tests::clap_plugins::{link_test_instrument, system_plugin, TEST_INSTRUMENT_ID};
use noderack_tests::fixtures::scratch_dir;
use serde_json::{json, Value};

fn plugins(clap_path: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_noderack"))
        .arg("plugins")
        .args(args)
        .env("CLAP_PATH", clap_path)
        .env("HOME", clap_path)
        .output()
        .expect("runs")
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn plugins_are_listed_and_a_broken_file_is_skipped() {
    let dir = scratch_dir("plugins-list");
    link_test_instrument(&dir);
    std::fs::create_dir_all(dir.join("nested/deeper")).unwrap();
    std::fs::write(dir.join("nested/deeper/broken.clap"), b"this is not a shared library").unwrap();
    let out = plugins(&dir, &["list", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let list = json(&out);
    let ours = list.as_array().unwrap().iter().find(|p| p["id"] == TEST_INSTRUMENT_ID).expect("ours is listed");
    assert_eq!(ours["name"], "noderack test instrument");
    assert_eq!(ours["vendor"], "noderack");
    assert_eq!(ours["features"], serde_json::json!(["instrument", "synthesizer", "stereo"]));
    assert!(stderr.contains("broken.clap") && stderr.contains("not a loadable CLAP plugin"), "{stderr}");
    if system_plugin("ZamComp.clap").is_some() {
        let zam: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["id"].as_str())
            .filter(|id| id.starts_with("com.zamaudio."))
            .collect();
        assert!(zam.contains(&"com.zamaudio.ZamComp") && zam.contains(&"com.zamaudio.ZamVerb"), "{zam:?}");
    }
}

#[test]
fn info_shows_ports_parameters_latency_and_state() {
    let dir = scratch_dir("plugins-info");
    link_test_instrument(&dir);
    let info = json(&plugins(&dir, &["info", TEST_INSTRUMENT_ID, "--json"]));
    assert_eq!(info["audio_inputs"], serde_json::json!([]));
    assert_eq!(info["audio_outputs"][0]["channels"], 2);
    assert_eq!(info["audio_outputs"][0]["main"], true);
    assert_eq!(info["note_inputs"][0]["clap"], true);
    assert_eq!(info["note_inputs"][0]["midi"], true);
    assert_eq!(info["latency_frames"], 0);
    assert_eq!(info["state"], true);
    let params: Vec<(String, f64, f64, f64)> = info["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["min"].as_f64().unwrap(),
                p["max"].as_f64().unwrap(),
                p["default"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        params,
        vec![("Gain".into(), 0.0, 1.0, 0.5), ("Latency".into(), 0.0, 4800.0, 0.0), ("Fault".into(), 0.0, 1.0, 0.0)]
    );
    let text = plugins(&dir, &["info", TEST_INSTRUMENT_ID]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("notes in: notes (CLAP+MIDI)") && text.contains("state: saved and restored"), "{text}");
    assert!(text.contains("notes out: echo (CLAP+MIDI)") && text.contains("tail: 256 frames at 48 kHz"), "{text}");

    let unknown = plugins(&dir, &["info", "noderack.test-instrument"]);
    assert!(!unknown.status.success());
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("no plugin has the id") && err.contains(TEST_INSTRUMENT_ID), "{err}");

    // ZamComp, as the shared facts describe it: mono in, a mono side-chain, mono out.
    if system_plugin("ZamComp.clap").is_some() {
        let zam = json(&plugins(&dir, &["info", "com.zamaudio.ZamComp", "--json"]));
        let channels = |ports: &Value| {
            ports.as_array().unwrap().iter().map(|p| p["channels"].as_u64().unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(channels(&zam["audio_inputs"]), vec![1, 1]);
        assert_eq!(zam["audio_inputs"][0]["main"], true);
        assert_eq!(zam["audio_inputs"][1]["main"], false, "the side-chain");
        assert_eq!(channels(&zam["audio_outputs"]), vec![1]);
        assert!(zam["params"].as_array().unwrap().iter().any(|p| p["name"] == "Threshold" && p["min"] == -80.0));
    }
}

/// A patch with a `clap` node renders through the plugin: our instrument, its gain restored
/// from the patch's base64 state, plays the MIDI file's A4. An unknown plugin id is an error at
/// its line that names the closest id.
#[test]
fn render_plays_a_patch_with_a_hosted_plugin() {
    let dir = scratch_dir("plugins-render");
    link_test_instrument(&dir);
    let patch = |plugin: &str| instrument_patch(plugin, 0.25);
    std::fs::write(dir.join("patch.json"), patch(TEST_INSTRUMENT_ID)).unwrap();
    std::fs::write(dir.join("a4.mid"), noderack_tests::midi::smf_bytes(&[(0, [0x90, 69, 127]), (960, [0x80, 69, 0])]))
        .unwrap();
    let wav = dir.join("out.wav");
    let render = || {
        Command::new(env!("CARGO_BIN_EXE_noderack"))
            .args(["render", "patch.json", "--midi", "a4.mid", "-o", "out.wav"])
            .current_dir(&dir)
            .env("CLAP_PATH", &dir)
            .env("HOME", &dir)
            .output()
            .expect("runs")
    };
    let out = render();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let left = noderack_tests::fixtures::wav_channels(&wav).swap_remove(0);
    let hz = noderack_tests::peak_frequency_hz(&left[2_000..40_000], 48_000.0);
    assert!((hz - 440.0).abs() < 0.5, "{hz} Hz");
    let level = noderack_tests::rms(&left[2_000..40_000]);
    assert!((level - 0.25 / 2f32.sqrt()).abs() < 0.005, "the state's gain: rms {level}");

    std::fs::write(dir.join("patch.json"), patch("org.noderack.test-instrumen")).unwrap();
    let out = render();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("patch.json:3:") && err.contains("did you mean \"org.noderack.test-instrument\""), "{err}");
}

/// The test instrument's state with `gain`, no latency, no fault (its documented layout).
fn state_with_gain(gain: f32) -> String {
    use base64::Engine as _;
    let mut state = b"NRTI".to_vec();
    state.extend(gain.to_le_bytes());
    state.extend([0u8; 8]);
    base64::engine::general_purpose::STANDARD.encode(state)
}

/// The gain in a state of the test instrument.
fn gain_in_state(state: &str) -> f32 {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(state).expect("base64");
    assert_eq!(&bytes[..4], b"NRTI");
    f32::from_le_bytes(bytes[4..8].try_into().unwrap())
}

/// keys → `synth` (a `clap` node hosting `plugin`, its state holding `gain`) → out.
fn instrument_patch(plugin: &str, gain: f32) -> String {
    let state = state_with_gain(gain);
    format!(
        r#"{{ "format": "noderack-patch", "version": 1,
  "nodes": [ {{ "id": "keys", "kind": "midi-in" }},
             {{ "id": "synth", "kind": "clap", "config": {{ "plugin": "{plugin}", "state": "{state}" }} }},
             {{ "id": "out", "kind": "output" }} ],
  "connections": [ {{ "from": "keys.events", "to": "synth.notes" }}, {{ "from": "synth.out", "to": "out.in" }} ] }}"#
    )
}

/// `noderack serve` hosting our instrument: a change the plugin makes itself (CC 7 sets its
/// gain, as its own control would) is recorded in the graph as an undo step of the `plugin`
/// session and announced; the graph (and so a saved patch) carries the plugin's state as it is
/// now; undoing the change sets the plugin back, which its state then shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_records_a_plugins_own_changes_and_saves_its_state() {
    let dir = scratch_dir("plugins-serve");
    link_test_instrument(&dir);
    std::fs::write(dir.join("patch.json"), instrument_patch(TEST_INSTRUMENT_ID, 0.25)).unwrap();
    let env = [("CLAP_PATH", dir.to_str().unwrap()), ("HOME", dir.to_str().unwrap())];
    let s = Server::launch_with_env(&dir.join("patch.json"), &["--backend", "null"], &env);
    let c = client();
    let synth = |graph: &Value| graph["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "synth").unwrap().clone();
    let (revision, before) = graph(&c, &s).await;
    assert_eq!(synth(&before)["params"].get("gain"), None, "the state's gain is the node's starting value");
    assert_eq!(gain_in_state(synth(&before)["config"]["state"].as_str().unwrap()), 0.25);

    let cc = json!({ "node": "keys", "events": [{ "type": "cc", "channel": 1, "controller": 7, "value": 127 }] });
    // The server announces the plugin's own change on the WebSocket: wait for that.
    let (mut ws, _) = tokio_tungstenite::connect_async(s.ws_url()).await.expect("websocket");
    let (status, body) = post(&c, s.url("/midi"), cc).await;
    assert_eq!(status, 200, "{body}");
    let announced = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(Ok(message)) = ws.next().await {
            let Ok(text) = message.into_text() else { continue };
            let note: Value = serde_json::from_str(&text).unwrap_or_default();
            if note["type"] == "changed" && note["cause"] == "plugin" {
                return note;
            }
        }
        panic!("the WebSocket closed");
    })
    .await
    .expect("the plugin's change is announced");
    assert_eq!(announced["session"], "plugin");
    let (r, after) = graph(&c, &s).await;
    assert!(r > revision);
    assert_eq!(synth(&after)["params"]["gain"], json!(1.0), "the plugin's own change is in the graph: {after}");
    assert_eq!(gain_in_state(synth(&after)["config"]["state"].as_str().unwrap()), 1.0, "and in its state");

    let (status, body) = post(&c, s.url("/undo?session=plugin"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, undone) = graph(&c, &s).await;
    assert_eq!(synth(&undone)["params"].get("gain"), None);
    // The plugin takes the value on the audio thread within a block; nothing announces that,
    // so its state is read until it shows it (bounded by a deadline, not a count of tries).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut gain;
    loop {
        let (_, g) = graph(&c, &s).await;
        gain = gain_in_state(synth(&g)["config"]["state"].as_str().unwrap());
        if gain == 0.25 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(gain, 0.25, "undo set the plugin back");
}
