//! The audio while the editor drags a parameter (`docs/PERFORMANCE.md`, "The editor's graph
//! view"): `noderack serve presets/demo.json` on JACK (dummy backend, 64-frame periods) with
//! notes held on every slot, first left alone, then with the editor's own code (`Editor`, the
//! inspector's bar messages) sweeping the bass's cutoff as fast as the server answers — each
//! value a `set` edit that continues one undo step. For each phase: JACK's xruns as the server
//! counts them, noderack's own deadline overruns, DSP load, and the edit rate reached.
//!
//! `cargo bench -p noderack --bench editor_drag` (needs jackd: `scripts/setup-debian.sh`);
//! `NODERACK_BENCH_QUICK=1` runs 2-second phases, as `cargo test --all-targets` does.

use std::path::Path;
use std::time::{Duration, Instant};

use noderack_editor::app::{Editor, Message};
use noderack_editor::client::{Client, EmbeddedServer};
use noderack_editor::graph_view::GraphMessage;
use noderack_editor::inspector::InspectorMessage;
use noderack_editor::param_slider::SliderMessage;
use serde_json::{json, Value};

/// Shorter runs: asked for, or as `cargo test --all-targets`'s smoke test (no `--bench`).
fn quick() -> bool {
    std::env::var_os("NODERACK_BENCH_QUICK").is_some() || !std::env::args().any(|a| a == "--bench")
}

/// What one phase measured.
struct Phase {
    xruns: u64,
    overruns: u64,
    load_average: f64,
    load_peak: f64,
    edits: u64,
    seconds: f64,
}

fn status(client: &std::sync::Arc<Client>) -> Value {
    client.block_on(client.clone().status()).expect("the server's status")
}

/// Runs `work` (called until `seconds` have passed; returns the edits it made) and measures.
fn phase(client: &std::sync::Arc<Client>, seconds: f64, mut work: impl FnMut() -> u64) -> Phase {
    let before = status(client);
    let start = Instant::now();
    let (mut edits, mut loads, mut peak) = (0, Vec::new(), 0.0f64);
    let mut next_sample = start + Duration::from_secs(1);
    while start.elapsed().as_secs_f64() < seconds {
        edits += work();
        if Instant::now() >= next_sample {
            let s = status(client);
            loads.push(s["load"]["average"].as_f64().unwrap_or(0.0));
            peak = peak.max(s["load"]["peak"].as_f64().unwrap_or(0.0));
            next_sample += Duration::from_secs(1);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let after = status(client);
    let count =
        |field: &str| after["xruns"][field].as_u64().unwrap_or(0) - before["xruns"][field].as_u64().unwrap_or(0);
    Phase {
        xruns: count("backend"),
        overruns: count("overruns"),
        load_average: if loads.is_empty() { 0.0 } else { noderack_tests::median(loads) * 100.0 },
        load_peak: peak * 100.0,
        edits,
        seconds,
    }
}

fn main() {
    let Some(jack) = noderack_tests::jack::JackServer::start(64) else {
        println!("editor_drag: SKIPPED (jackd is not installed: apt-get install jackd2)");
        return;
    };
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json");
    let server = EmbeddedServer::start(Path::new(env!("CARGO_BIN_EXE_noderack")), &demo, Some("jack"))
        .expect("noderack serve starts on JACK");
    let client = Client::new(server.url(), None);
    // Notes on every slot: bass, pad (all but channel 10) and perc (channel 10).
    let notes: Vec<Value> = [(1, 36), (1, 60), (1, 64), (1, 67), (10, 38)]
        .iter()
        .map(|&(channel, key)| json!({ "type": "note_on", "channel": channel, "key": key, "velocity": 100 }))
        .collect();
    let body = json!({ "node": "keys", "events": notes });
    client.block_on(client.clone().call(reqwest::Method::POST, "/midi", Some(body))).expect("notes sent");

    let (mut editor, requests) = Editor::new(client.clone(), None);
    let answers: Vec<Message> = requests.into_iter().map(|r| client.block_on(r.run(client.clone()))).collect();
    editor.settle(answers);
    let bass = editor.model().and_then(|m| m.index_of("bass")).expect("the demo's bass");
    editor.settle([Message::Graph(GraphMessage::Select(Some(bass)))]);

    let seconds = if quick() { 2.0 } else { 30.0 };
    let idle = phase(&client, seconds, || {
        std::thread::sleep(Duration::from_millis(50));
        0
    });
    let mut t = 0.0f64;
    let drag = phase(&client, seconds, || {
        // A sweep of the cutoff between 300 Hz and 6 kHz, one value per answered edit.
        t += 0.01;
        let cutoff = 300.0 * 20f64.powf(0.5 + 0.5 * (t * 3.0).sin());
        let message = Message::Inspector(InspectorMessage::Slider("cutoff_hz".into(), SliderMessage::Drag(cutoff)));
        editor.settle([message]);
        1
    });
    editor.settle([Message::Inspector(InspectorMessage::Slider("cutoff_hz".into(), SliderMessage::Released))]);
    assert!(editor.status().is_empty() || !editor.status().contains("refused"), "{}", editor.status());

    println!("editor dragging the bass's cutoff, presets/demo.json on JACK dummy, 48 kHz, 64-frame periods:");
    println!("| phase | seconds | edits / s | JACK xruns | noderack overruns | DSP load median / peak |");
    println!("|---|---|---|---|---|---|");
    for (name, p) in [("idle", &idle), ("dragging", &drag)] {
        println!(
            "| {name} | {:.0} | {:.0} | {} | {} | {:.1} / {:.1} % |",
            p.seconds,
            p.edits as f64 / p.seconds,
            p.xruns,
            p.overruns,
            p.load_average,
            p.load_peak
        );
    }
    drop(server);
    drop(jack);
}
