//! The examples of `docs/API.md` and `docs/BUNDLES.md`, run as written against a real server:
//! every `sh` block through `sh` with the real `curl` and `noderack` (each `curl` must get a
//! 2xx, except in blocks marked `sh fails`, where each command must fail and change nothing),
//! and every WebSocket transcript (the `text` block after a `websocat` command) played with a
//! WebSocket client, each server message checked against the fields the transcript shows.
//! websocat itself is not packaged for Debian, so the transcript is played here rather than
//! through it.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use common::{client, graph, Server};

/// One example of a document.
#[derive(Debug)]
enum Example {
    /// Shell commands that must succeed.
    Shell(String),
    /// Shell commands, one per line, each of which must fail.
    Fails(String),
    /// A WebSocket session: the URL and the transcript.
    Socket(String, String),
}

/// The examples of `markdown`, in order.
fn examples(markdown: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut lines = markdown.lines();
    let mut pending_socket: Option<String> = None;
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else { continue };
        let mut body = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            body.push_str(line);
            body.push('\n');
        }
        match info.trim() {
            "sh" if body.trim_start().starts_with("websocat") => {
                let url = body.split_whitespace().nth(1).expect("websocat URL").trim_matches('\'').to_string();
                pending_socket = Some(url);
            }
            "sh" => out.push(Example::Shell(body)),
            "sh fails" => out.push(Example::Fails(body)),
            "text" => {
                if let Some(url) = pending_socket.take() {
                    out.push(Example::Socket(url, body));
                }
            }
            _ => {}
        }
    }
    assert!(pending_socket.is_none(), "a websocat command without its transcript");
    out
}

/// Runs `script` with `sh` in `dir`, `localhost:7890` pointing at `server` and `noderack` on
/// the path; its status and output.
fn shell(script: &str, dir: &Path, server: &Server, strict: bool) -> (bool, String) {
    let address = server.base.trim_start_matches("http://").trim_end_matches("/api/v1");
    let script = script
        .lines()
        .filter(|l| !l.starts_with("noderack serve"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("localhost:7890", address);
    let fail = if strict { "--fail-with-body" } else { "" };
    let prelude = format!("set -e\ncurl() {{ command curl {fail} -sS \"$@\"; echo; }}\n");
    let exe = Path::new(env!("CARGO_BIN_EXE_noderack"));
    let path = format!("{}:{}", exe.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh")
        .arg("-c")
        .arg(prelude + &script)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("NODERACK_TOKEN")
        .output()
        .expect("sh runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Whether `actual` has every field of `expected`, with the same values.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().all(|(k, v)| a.get(k).is_some_and(|x| matches(v, x))),
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        _ => expected == actual,
    }
}

/// Plays `transcript` on a WebSocket to `url`.
async fn socket(url: &str, transcript: &str, server: &Server) {
    let address = server.base.trim_start_matches("http://").trim_end_matches("/api/v1");
    let url = url.replace("localhost:7890", address);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.expect("the WebSocket opens");
    let mut expected: Vec<Value> = Vec::new();
    let lines: Vec<&str> = transcript.lines().filter(|l| !l.trim().is_empty()).collect();
    for (n, line) in lines.iter().enumerate() {
        let (mark, json) = line.split_at(2);
        let value: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("transcript line {line:?}: {e}"));
        if mark == "< " {
            expected.push(value);
        } else {
            assert_eq!(mark, "> ", "transcript line {line:?}");
            receive(&mut ws, &mut expected).await;
            ws.send(Message::Text(json.to_string().into())).await.unwrap();
        }
        if n + 1 == lines.len() {
            receive(&mut ws, &mut expected).await;
        }
    }
}

/// Reads server messages until every one of `expected` has arrived (in any order); meters and
/// scope views are skipped, anything else unexpected fails.
async fn receive(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    expected: &mut Vec<Value>,
) {
    while !expected.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("still waiting for {expected:?}"));
        let Some(Ok(Message::Text(text))) = message else { panic!("the socket closed while waiting for {expected:?}") };
        let value: Value = serde_json::from_str(&text).unwrap();
        if matches!(value["type"].as_str(), Some("meters" | "scope")) {
            continue;
        }
        let at = expected.iter().position(|e| matches(e, &value));
        let at = at.unwrap_or_else(|| panic!("unexpected message {value} while waiting for {expected:?}"));
        expected.remove(at);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_examples_run_as_written() {
    let dir = noderack_tests::fixtures::scratch_dir("api-examples");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json");
    let store = dir.join("store");
    // The API examples run in a scratch folder holding `presets/demo.json`.
    std::fs::create_dir_all(dir.join("presets")).unwrap();
    std::fs::copy(&demo, dir.join("presets/demo.json")).unwrap();
    let server = Server::with_file(&demo, &["--store", store.to_str().unwrap()]);
    // `song.json` for the bundle examples: a patch with an SFZ and an SF2 instrument.
    let song_dir = noderack_tests::fixtures::patch_with_files(&dir.join("song")).parent().unwrap().to_path_buf();
    let c = client();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut counts = (0, 0, 0);
    for doc in ["docs/API.md", "docs/BUNDLES.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let cwd = if doc.ends_with("BUNDLES.md") { song_dir.as_path() } else { dir.path() };
        for example in examples(&text) {
            match example {
                Example::Shell(script) => {
                    let (ok, output) = shell(&script, cwd, &server, true);
                    assert!(ok, "{doc}: this example failed:\n{script}\n--- output:\n{output}");
                    counts.0 += 1;
                }
                Example::Fails(script) => {
                    for command in script.lines().filter(|l| !l.trim().is_empty()) {
                        let before = graph(&c, &server).await;
                        let (ok, output) = shell(command, cwd, &server, true);
                        assert!(!ok, "{doc}: this example should fail:\n{command}\n--- output:\n{output}");
                        assert!(output.contains("\"error\""), "{doc}: {command}: no error body: {output}");
                        assert_eq!(graph(&c, &server).await, before, "{doc}: {command} changed the graph");
                        counts.1 += 1;
                    }
                }
                Example::Socket(url, transcript) => {
                    socket(&url, &transcript, &server).await;
                    counts.2 += 1;
                }
            }
        }
    }
    // The documents really hold examples of every kind (a parser that found none would pass).
    assert!(counts.0 >= 6 && counts.1 >= 3 && counts.2 >= 1, "examples run: {counts:?}");
    // The bundle examples left what they say: an install, a fetched copy, a fork.
    assert!(song_dir.join("song.nrbundle").is_file() && song_dir.join("copy.nrbundle").is_file());
    let (_, listed) = common::call(c.get(server.url("/registry?q=song"))).await;
    assert!(listed["bundles"].as_array().unwrap().iter().any(|b| b["name"] == "Song, slower"), "{listed}");
}
