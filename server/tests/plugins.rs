//! `noderack plugins`: the CLAP plugins on the system are listed (ours through `CLAP_PATH`, the
//! zam-plugins CI installs from `/usr/lib/clap`), a broken `.clap` file is reported and skipped,
//! and `info` shows a plugin's ports, parameters, latency and state as the plugin declares them.

use std::path::Path;
use std::process::{Command, Output};

use noderack_tests::clap_plugins::{system_plugin, test_instrument_folder, TEST_INSTRUMENT_ID};
use serde_json::Value;

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
    let dir = test_instrument_folder("plugins-list");
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
    let dir = test_instrument_folder("plugins-info");
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
