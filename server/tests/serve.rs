//! `noderack serve` with real clients over loopback: HTTP round trips, atomic batches, undo and
//! redo, the WebSocket's revisions and replies, 32 clients editing at once, tokens, and bad
//! requests that are refused without disturbing anything.

mod common;

use std::process::Command;

use futures_util::{SinkExt, StreamExt};
use noderack_nodes::registry::Registry;
use noderack_presets::Patch;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use common::{call, client, graph, post, Server, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_comes_back_as_a_patch_that_loads() {
    let s = Server::start(&[]);
    let c = client();
    let (status, body) = call(c.get(s.url("/status"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["sample_rate"], 48_000);
    assert_eq!(body["nodes"], 3);
    let (revision, graph) = graph(&c, &s).await;
    assert_eq!(revision, 0);
    let patch = Patch::parse(&graph.to_string(), "served.json", &Registry).expect("the graph is a valid patch");
    assert_eq!(patch.nodes.len(), 3);
    assert_eq!(graph["nodes"][1]["params"]["waveform"], "sine", "choices by name");
    let (status, kinds) = call(c.get(s.url("/node-kinds"))).await;
    assert_eq!(status, 200);
    assert!(kinds["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kind"] == "synth" && k["params"].as_array().unwrap().len() > 5));
}

/// What an editor needs: each node's own ports (a mixer's depend on its settings) and where it
/// drew each node, kept through edits and undo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_carries_each_nodes_ports_and_editor_positions() {
    let s = Server::start(&[]);
    let c = client();
    let edits = json!({ "edits": [
        { "op": "add", "id": "mix", "kind": "mixer", "config": { "inputs": 3 }, "position": [300, 40] },
        { "op": "move", "id": "lead", "position": [100, 80] }
    ] });
    let (status, body) = post(&c, s.url("/edits"), edits).await;
    assert_eq!(status, 200, "{body}");
    let (status, reply) = call(c.get(s.url("/graph"))).await;
    assert_eq!(status, 200);
    let node = |id: &str| reply["graph"]["nodes"].as_array().unwrap().iter().find(|n| n["id"] == id).unwrap().clone();
    assert_eq!(node("lead")["position"], json!([100.0, 80.0]));
    assert_eq!(node("mix")["position"], json!([300.0, 40.0]));
    let inputs: Vec<&str> =
        reply["ports"]["mix"]["inputs"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(&inputs[..3], ["in1", "in2", "in3"]);
    assert_eq!(reply["ports"]["lead"]["outputs"][0]["kind"], "stereo audio");
    let (status, body) =
        post(&c, s.url("/edits"), json!({ "edits": [{ "op": "move", "id": "ghost", "position": [0, 0] }] })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(post(&c, s.url("/undo"), json!({})).await.0, 200);
    let (_, graph) = graph(&c, &s).await;
    let lead = graph["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "lead").unwrap().clone();
    assert!(lead.get("position").is_none(), "undone: {lead}");
}

/// A batch that fails anywhere changes nothing and says which edit failed and why; a good
/// batch applies as one revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_atomic_and_name_the_failing_edit() {
    let s = Server::start(&[]);
    let c = client();
    let (_, before) = graph(&c, &s).await;
    let bad = json!({ "edits": [
        { "op": "add", "id": "pad", "kind": "synth" },
        { "op": "connect", "from": "keys.events", "to": "pad.events" },
        { "op": "set", "id": "pad", "param": "cutoff_hz", "value": 1e9 },
    ]});
    let (status, body) = post(&c, s.url("/edits"), bad).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["edit"], 2);
    assert!(body["error"]["message"].as_str().unwrap().contains("outside the range"), "{body}");
    let (revision, after) = graph(&c, &s).await;
    assert_eq!((revision, &after), (0, &before), "nothing changed");

    let good = json!({ "edits": [
        { "op": "add", "id": "pad", "kind": "synth", "params": { "waveform": "square" } },
        { "op": "connect", "from": "keys.events", "to": "pad.events" },
        { "op": "connect", "from": "pad.out", "to": "out.in" },
    ]});
    let (status, body) = post(&c, s.url("/edits"), good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revision"], 1);
    let (_, after) = graph(&c, &s).await;
    assert_eq!(after["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(after["connections"].as_array().unwrap().len(), 4);
}

/// Undo and redo restore the exact graph, step by step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_and_redo_restore_the_exact_graph() {
    let s = Server::start(&[]);
    let c = client();
    let mut states = vec![graph(&c, &s).await.1];
    let steps = [
        json!({ "op": "add", "id": "g", "kind": "gain" }),
        json!({ "op": "set", "id": "lead", "param": "cutoff_hz", "value": 700 }),
        json!({ "op": "move", "id": "lead", "position": [120, 40] }),
        json!({ "op": "disconnect", "from": "lead.out", "to": "out.in" }),
        json!({ "op": "remove", "id": "lead" }),
    ];
    for step in steps {
        let (status, body) = post(&c, s.url("/edits"), json!({ "edits": [step] })).await;
        assert_eq!(status, 200, "{body}");
        states.push(graph(&c, &s).await.1);
    }
    for expected in states.iter().rev().skip(1) {
        let (status, body) = post(&c, s.url("/undo"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(&graph(&c, &s).await.1, expected);
    }
    let (status, _) = post(&c, s.url("/undo"), json!({})).await;
    assert_eq!(status, 409, "nothing left to undo");
    for expected in states.iter().skip(1) {
        assert_eq!(post(&c, s.url("/redo"), json!({})).await.0, 200);
        assert_eq!(&graph(&c, &s).await.1, expected);
    }
    let (revision, _) = graph(&c, &s).await;
    assert_eq!(revision, 5 + 5 + 5, "every change is a revision");
}

/// A gesture (a knob turned: many batches, all but the first `continues`) is one undo step;
/// a batch continuing after someone else changed the graph, or after an undo, is a step of
/// its own, so nobody's edit is folded into another's gesture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continued_gesture_is_one_undo_step_and_never_takes_in_others_edits() {
    let s = Server::start(&[]);
    let c = client();
    let edit = |session: &str, value: f64, continues: bool| {
        c.post(s.url("/edits")).header("x-noderack-session", session).header("content-type", "application/json").body(
            json!({ "edits": [{ "op": "set", "id": "lead", "param": "cutoff_hz", "value": value }], "continues": continues })
                .to_string(),
        )
    };
    let undo = |session: &str| c.post(s.url("/undo")).header("x-noderack-session", session);
    let cutoff = |g: &Value| {
        g["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "lead").unwrap()["params"]["cutoff_hz"].clone()
    };
    let (_, start) = graph(&c, &s).await;

    // One drag: 300, 400, 500 Hz. One undo restores the graph before it; the next has nothing.
    for (value, continues) in [(300.0, false), (400.0, true), (500.0, true)] {
        assert_eq!(call(edit("knob", value, continues)).await.0, 200);
    }
    assert_eq!(cutoff(&graph(&c, &s).await.1), json!(500.0));
    assert_eq!(call(undo("knob")).await.0, 200);
    assert_eq!(graph(&c, &s).await.1, start, "the whole gesture is undone");
    assert_eq!(call(undo("knob")).await.0, 409, "it was one step");
    // Redo brings the gesture's end back; continuing after that is a step of its own.
    assert_eq!(call(c.post(s.url("/redo")).header("x-noderack-session", "knob")).await.0, 200);
    assert_eq!(cutoff(&graph(&c, &s).await.1), json!(500.0));

    // Someone else edits between two batches of a gesture: the continuation starts a new step.
    assert_eq!(call(edit("knob", 600.0, false)).await.0, 200);
    let add = c.post(s.url("/edits")).header("x-noderack-session", "other").header("content-type", "application/json");
    let add = add.body(json!({ "edits": [{ "op": "add", "id": "fx", "kind": "gain" }] }).to_string());
    assert_eq!(call(add).await.0, 200);
    assert_eq!(call(edit("knob", 700.0, true)).await.0, 200);
    assert_eq!(call(undo("knob")).await.0, 200);
    let (_, now) = graph(&c, &s).await;
    assert_eq!(cutoff(&now), json!(600.0), "only the continuation after the other edit is undone");
    assert!(now["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "fx"), "the other session's node stays");
    assert_eq!(call(undo("knob")).await.0, 200);
    assert_eq!(cutoff(&graph(&c, &s).await.1), json!(500.0));
}

/// Each session undoes only its own changes: selectively when others edited since, refused
/// with a conflict when someone changed what the change touched, exact when nobody did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_session_undoes_its_own_changes_and_conflicts_are_refused() {
    let s = Server::start(&[]);
    let c = client();
    let as_session = |name: &str, path: &str| c.post(s.url(path)).header("x-noderack-session", name);
    let edit = |name: &str, edit: Value| {
        as_session(name, "/edits")
            .header("content-type", "application/json")
            .body(json!({ "edits": [edit] }).to_string())
    };
    let (_, start) = graph(&c, &s).await;
    let param = |g: &Value, node: &str, name: &str| {
        g["nodes"].as_array().unwrap().iter().find(|n| n["id"] == node).map(|n| n["params"][name].clone())
    };
    let ids = |g: &Value| {
        g["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };

    // Alice adds a node, Bob then changes the synth: Alice's undo removes her node only.
    assert_eq!(call(edit("alice", json!({ "op": "add", "id": "fx", "kind": "gain" }))).await.0, 200);
    assert_eq!(
        call(edit("bob", json!({ "op": "set", "id": "lead", "param": "cutoff_hz", "value": 900 }))).await.0,
        200
    );
    let (status, body) = call(as_session("alice", "/undo")).await;
    assert_eq!(status, 200, "{body}");
    let (_, now) = graph(&c, &s).await;
    assert!(!ids(&now).contains(&"fx".to_string()), "{now}");
    assert_eq!(param(&now, "lead", "cutoff_hz"), Some(json!(900.0)), "Bob's change stays");
    // The default session has no changes of its own.
    assert_eq!(call(c.post(s.url("/undo"))).await.0, 409);
    // Bob undoes his: the graph is back where it started.
    assert_eq!(call(as_session("bob", "/undo")).await.0, 200);
    assert_eq!(graph(&c, &s).await.1, start);
    // Alice redoes hers.
    assert_eq!(call(as_session("alice", "/redo")).await.0, 200);
    assert!(ids(&graph(&c, &s).await.1).contains(&"fx".to_string()));

    // Both set the same parameter: Alice's undo would overwrite Bob's later value, so it is
    // refused and changes nothing; Bob's undo (the last change) is exact.
    assert_eq!(
        call(edit("alice", json!({ "op": "set", "id": "lead", "param": "cutoff_hz", "value": 500 }))).await.0,
        200
    );
    assert_eq!(
        call(edit("bob", json!({ "op": "set", "id": "lead", "param": "cutoff_hz", "value": 2000 }))).await.0,
        200
    );
    let (revision, before) = graph(&c, &s).await;
    let (status, body) = call(as_session("alice", "/undo")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("\"lead\""), "{body}");
    assert_eq!(graph(&c, &s).await, (revision, before));
    assert_eq!(call(as_session("bob", "/undo")).await.0, 200);
    assert_eq!(param(&graph(&c, &s).await.1, "lead", "cutoff_hz"), Some(json!(500.0)));
    // Now nothing stands in the way of Alice's undo.
    assert_eq!(call(as_session("alice", "/undo")).await.0, 200);
    assert_eq!(param(&graph(&c, &s).await.1, "lead", "cutoff_hz"), param(&start, "lead", "cutoff_hz"));

    // Session names are checked.
    assert_eq!(call(as_session("../etc", "/undo")).await.0, 400);
}

/// The WebSocket's scope shows the audio that plays: a held A4 reads as 440 Hz, A5 as 880 Hz,
/// and silence as silence; views come at about 30 Hz.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_scope_shows_what_plays() {
    let s = Server::start(&[]);
    let c = client();
    let (mut ws, _) = tokio_tungstenite::connect_async(s.ws_url()).await.unwrap();
    let midi = |on: bool, key: u8| {
        let event = if on {
            json!({ "type": "note_on", "channel": 1, "key": key, "velocity": 100 })
        } else {
            json!({ "type": "note_off", "channel": 1, "key": key })
        };
        post(&c, s.url("/midi"), json!({ "node": "keys", "events": [event] }))
    };
    // The next `n` scope views.
    async fn views(
        ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
        n: usize,
    ) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        while out.len() < n {
            let Some(Ok(Message::Text(text))) = ws.next().await else { panic!("the socket closed") };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["type"] == "scope" {
                assert_eq!(v["bus"], "main");
                assert_eq!(v["sample_rate"], 48_000);
                out.push(v["samples"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect());
            }
        }
        out
    }
    let started = std::time::Instant::now();
    let quiet = views(&mut ws, 10).await;
    let seconds = started.elapsed().as_secs_f64();
    assert!((4.0..=60.0).contains(&(10.0 / seconds)), "{:.1} views per second", 10.0 / seconds);
    assert!(quiet.last().unwrap().iter().all(|x| *x == 0.0), "silence before any note");
    for (key, hz) in [(69, 440.0), (81, 880.0)] {
        assert_eq!(midi(true, key).await.0, 200);
        let view = views(&mut ws, 6).await.pop().unwrap();
        assert_eq!(view.len(), 1024);
        assert!(noderack_tests::rms(&view) > 0.05, "key {key}: the scope shows the note");
        let rising = view.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count() as f32;
        let measured = rising * 48_000.0 / view.len() as f32;
        assert!((measured - hz).abs() < hz * 0.15, "key {key}: {measured} Hz on the scope, not {hz}");
        assert!(view[0].abs() < 0.1, "the view starts on a zero crossing");
        assert_eq!(midi(false, key).await.0, 200);
    }
}

/// The WebSocket greets with the revision and graph, announces every change with the next
/// revision, answers commands with their id, and survives garbage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_announces_changes_and_takes_commands() {
    let s = Server::start(&[]);
    let c = client();
    let (mut ws, _) = tokio_tungstenite::connect_async(s.ws_url()).await.expect("websocket");
    let mut next = async || -> Value {
        loop {
            let message =
                tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "meters" && value["type"] != "scope" {
                    return value;
                }
            }
        }
    };
    let hello = next().await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["revision"], 0);
    assert_eq!(hello["graph"]["nodes"].as_array().unwrap().len(), 3);
    post(&c, s.url("/edits"), json!({ "edits": [{ "op": "add", "id": "g", "kind": "gain" }] })).await;
    let changed = next().await;
    assert_eq!((changed["type"].as_str(), changed["revision"].as_u64()), (Some("changed"), Some(1)));
    assert_eq!(changed["edits"][0]["id"], "g");

    let command = json!({ "type": "edits", "id": "req-7", "edits": [{ "op": "remove", "id": "g" }] });
    ws.send(Message::Text(command.to_string().into())).await.unwrap();
    ws.send(Message::Text("{ not json".into())).await.unwrap();
    ws.send(Message::Text(json!({ "type": "undo", "id": 8 }).to_string().into())).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let message =
            tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "meters" && value["type"] != "scope" {
                seen.push(value);
            }
        }
    }
    let find = |t: &str, id: Value| seen.iter().find(|v| v["type"] == t && v["id"] == id).cloned();
    assert_eq!(find("ack", json!("req-7")).expect("ack for req-7")["result"]["revision"], 2);
    assert!(find("error", Value::Null).is_some(), "garbage gets an error: {seen:?}");
    assert_eq!(find("ack", json!(8)).expect("ack for the undo")["result"]["revision"], 3);
    let revisions: Vec<u64> =
        seen.iter().filter(|v| v["type"] == "changed").filter_map(|v| v["revision"].as_u64()).collect();
    assert_eq!(revisions, [2, 3], "notifications carry consecutive revisions");
}

/// 32 clients add their own nodes and set their parameters at once: every acknowledged edit is
/// in the graph, and the revision counts them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_clients_editing_at_once_leave_the_union_of_their_edits() {
    let s = Server::start(&[]);
    let c = client();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (c, url) = (c.clone(), s.url("/edits"));
            tokio::spawn(async move {
                let mut acks = 0;
                let id = format!("g{i}");
                let add = json!({ "edits": [{ "op": "add", "id": id, "kind": "gain" }, { "op": "connect", "from": "lead.out", "to": format!("{id}.in") }] });
                acks += u64::from(post(&c, url.clone(), add).await.0 == 200);
                for k in 0..5 {
                    let set = json!({ "edits": [{ "op": "set", "id": id, "param": "gain_db", "value": -(k as f32) - (i as f32) / 10.0 }] });
                    acks += u64::from(post(&c, url.clone(), set).await.0 == 200);
                }
                acks
            })
        })
        .collect();
    let mut acks = 0;
    for t in tasks {
        acks += t.await.unwrap();
    }
    assert_eq!(acks, 32 * 6, "every edit was accepted");
    let (revision, graph) = graph(&c, &s).await;
    assert_eq!(revision, acks);
    for i in 0..32 {
        let node = graph["nodes"].as_array().unwrap().iter().find(|n| n["id"] == format!("g{i}")).expect("node added");
        let expected = -4.0 - i as f64 / 10.0;
        assert!((node["params"]["gain_db"].as_f64().unwrap() - expected).abs() < 1e-4, "g{i}: {node}");
    }
    assert_eq!(graph["connections"].as_array().unwrap().len(), 2 + 32);
    assert!(Patch::parse(&graph.to_string(), "g.json", &Registry).is_ok(), "the graph is consistent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_on_every_request_when_set() {
    let s = Server::start(&["--token", TOKEN]);
    let c = client();
    assert_eq!(call(c.get(s.url("/status"))).await.0, 401);
    assert_eq!(call(c.get(s.url("/status")).header("authorization", "Bearer wrong-token-wrong-token")).await.0, 401);
    assert_eq!(call(c.get(s.url("/status")).header("authorization", format!("Bearer {TOKEN}"))).await.0, 200);
    assert_eq!(call(c.get(s.url(&format!("/status?token={TOKEN}")))).await.0, 200);
    assert!(tokio_tungstenite::connect_async(s.ws_url()).await.is_err(), "no WebSocket without the token");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}?token={TOKEN}", s.ws_url())).await.expect("with it");
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("\"hello\""));
}

/// `noderack serve ARGS` on the null backend (no token in the environment), which must refuse
/// to start: what it said.
fn refused_to_start(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_noderack"))
        .args(["serve", "--backend", "null"])
        .args(args)
        .env_remove("NODERACK_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve {args:?} started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn listening_beyond_loopback_without_a_token_is_refused() {
    let err = refused_to_start(&["--bind", "0.0.0.0:0"]);
    assert!(err.contains("--token"), "{err}");
}

/// Malformed, truncated, oversized and out-of-range requests get a 4xx that says what is
/// wrong; the server goes on serving and playing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_a_reason_and_change_nothing() {
    let s = Server::start(&[]);
    let c = client();
    let raw = |body: &str| c.post(s.url("/edits")).header("content-type", "application/json").body(body.to_string());
    let (status, body) = call(raw("{\"edits\": [{\"op\": \"add\", \"id\": \"x\"")).await;
    assert_eq!(status, 400, "truncated: {body}");
    let (status, body) = call(raw(r#"{"edits": [{"op": "explode"}]}"#)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("edits[0]"), "names the field: {body}");
    let (status, body) = call(raw(r#"{"edits": [], "extra": 1}"#)).await;
    assert_eq!(status, 400, "unknown fields are refused: {body}");
    let (status, body) = call(raw(r#"{"edits": [{"op": "add", "id": "a.b", "kind": "gain"}]}"#)).await;
    assert_eq!(status, 422, "{body}");
    // Too large: refused from the announced length, before the body is sent (a client that
    // asks first, as curl does, never sends it).
    let head = format!(
        "POST /api/v1/edits HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        5 << 20
    );
    let address = s.base.trim_start_matches("http://").trim_end_matches("/api/v1").to_string();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await.unwrap();
    let mut reply = vec![0u8; 64];
    let n = tokio::io::AsyncReadExt::read(&mut stream, &mut reply).await.unwrap();
    assert!(
        String::from_utf8_lossy(&reply[..n]).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&reply[..n])
    );
    let (status, body) = post(&c, s.url("/transport"), json!({ "tempo_bpm": 0 })).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(
        &c,
        s.url("/midi"),
        json!({ "node": "lead", "events": [{ "type": "note_on", "channel": 1, "key": 60, "velocity": 90 }] }),
    )
    .await;
    assert_eq!(status, 422, "not a midi-in node: {body}");
    let (status, body) = post(
        &c,
        s.url("/midi"),
        json!({ "node": "keys", "events": [{ "type": "note_on", "channel": 17, "key": 60, "velocity": 90 }] }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(call(c.get(s.url("/nowhere"))).await.0, 404);
    let (revision, _) = graph(&c, &s).await;
    assert_eq!(revision, 0, "nothing changed");
    // And it plays on: a note through the API sounds.
    let (status, _) = post(
        &c,
        s.url("/midi"),
        json!({ "node": "keys", "events": [{ "type": "note_on", "channel": 1, "key": 69, "velocity": 100 }] }),
    )
    .await;
    assert_eq!(status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, status) = call(c.get(s.url("/status"))).await;
        if status["voices"] == 1 && status["bus_peaks_db"]["main"].is_number() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the note did not sound: {status}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Held for a second of audio, its RMS (300 ms average) has settled below its peak by a
    // tone's crest factor: a few dB, not the 60 dB of a meter that sees silence or the 0 of one
    // that sees peaks.
    wait_frames(&c, &s, 48_000).await;
    let (_, status) = call(c.get(s.url("/status"))).await;
    let peak = status["bus_peaks_db"]["main"].as_f64().unwrap();
    let rms = status["bus_rms_db"]["main"].as_f64().expect("an RMS level while the note sounds");
    assert!(rms < peak - 2.0 && rms > peak - 12.0, "peak {peak} dB, RMS {rms} dB");
}

/// An OSC client on loopback.
struct OscClient {
    socket: std::net::UdpSocket,
    server: std::net::SocketAddr,
}

impl OscClient {
    fn new(server: &Server) -> Self {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        Self { socket, server: server.osc.expect("started with --osc") }
    }

    fn send(&self, packet: &rosc::OscPacket) {
        self.socket.send_to(&rosc::encoder::encode(packet).unwrap(), self.server).unwrap();
    }

    fn message(&self, addr: &str, args: Vec<rosc::OscType>) {
        self.send(&rosc::OscPacket::Message(rosc::OscMessage { addr: addr.into(), args }));
    }

    /// The next reply whose address is `addr` (others are collected in `seen`).
    fn wait_for(&self, addr: &str, seen: &mut Vec<rosc::OscMessage>) -> rosc::OscMessage {
        let mut buf = [0u8; 65_536];
        loop {
            let (n, _) = self.socket.recv_from(&mut buf).unwrap_or_else(|e| panic!("no {addr}: {e}; seen {seen:?}"));
            if let (_, rosc::OscPacket::Message(m)) = rosc::decoder::decode_udp(&buf[..n]).unwrap() {
                if m.addr == addr {
                    return m;
                }
                seen.push(m);
            }
        }
    }
}

fn s(text: &str) -> rosc::OscType {
    rosc::OscType::String(text.into())
}

/// OSC edits join the same history as HTTP's; `/sync` answers once everything before it is
/// applied; `/status` replies; errors come back as `/fail`, and garbage changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn osc_commands_edit_the_graph_and_sync_confirms_them() {
    let server = Server::start(&["--osc", "127.0.0.1:0"]);
    let osc = OscClient::new(&server);
    use rosc::OscType::{Float, Int};
    osc.message("/n_new", vec![s("pad"), s("synth"), s("waveform"), s("square")]);
    osc.message("/connect", vec![s("keys.events"), s("pad.events")]);
    osc.message("/n_set", vec![s("pad"), s("cutoff_hz"), Float(900.0)]);
    osc.message("/no_such_command", vec![]);
    osc.socket.send_to(b"certainly not OSC", osc.server).unwrap();
    osc.message("/sync", vec![Int(42)]);
    let mut seen = Vec::new();
    let synced = osc.wait_for("/synced", &mut seen);
    assert_eq!(synced.args, vec![Int(42)]);
    let fails: Vec<String> = seen.iter().filter(|m| m.addr == "/fail").map(|m| format!("{:?}", m.args)).collect();
    assert_eq!(fails.len(), 2, "the unknown command and the garbage: {fails:?}");
    let c = client();
    let (revision, graph) = graph(&c, &server).await;
    assert_eq!(revision, 3);
    let pad = graph["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "pad").expect("added over OSC").clone();
    assert_eq!(
        (pad["params"]["waveform"].as_str(), pad["params"]["cutoff_hz"].as_f64()),
        (Some("square"), Some(900.0))
    );
    osc.message("/status", vec![]);
    let status = osc.wait_for("/status.reply", &mut seen);
    assert_eq!(status.args[0], Int(3), "revision");
    assert_eq!(status.args[1], Int(4), "nodes");
    assert_eq!(status.args[6], Int(48_000), "sample rate");
}

/// Two bundles time-tagged 100 ms apart play their notes exactly 4800 frames apart at 48 kHz,
/// wherever the blocks fall (a note at its bundle's time, not at the next block start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_tagged_osc_bundles_land_on_their_frames() {
    let dir = noderack_tests::fixtures::scratch_dir("serve-osc-timed");
    let wav = dir.join("played.wav");
    let mut server = Server::with_patch(
        noderack_tests::fixtures::TWO_BUS_PATCH,
        &["--osc", "127.0.0.1:0", "--record", wav.to_str().unwrap()],
    );
    let osc = OscClient::new(&server);
    use rosc::OscType::Int;
    // Once the audio thread has run (its clock places time tags), two bundles for 400 ms and
    // 500 ms from now.
    let c = client();
    wait_frames(&c, &server, 4800).await;
    let now = std::time::SystemTime::now();
    for (ahead_ms, channel) in [(400, 1), (500, 2)] {
        let at = now + std::time::Duration::from_millis(ahead_ms);
        let note = rosc::OscPacket::Message(rosc::OscMessage {
            addr: "/note_on".into(),
            args: vec![s("keys"), Int(channel), Int(69), Int(100)],
        });
        osc.send(&rosc::OscPacket::Bundle(rosc::OscBundle { timetag: at.try_into().unwrap(), content: vec![note] }));
    }
    osc.message("/sync", vec![Int(1)]);
    osc.wait_for("/synced", &mut Vec::new());
    // Until both have sounded (the engine is 600 ms further on).
    wait_frames(&c, &server, 28_800).await;
    server.terminate();
    let played = noderack_tests::fixtures::wav_channels(&wav);
    let a = noderack_tests::analysis::first_onset(&played[0], 0.0).expect("the first note sounds");
    let b = noderack_tests::analysis::first_onset(&played[2], 0.0).expect("the second note sounds");
    assert!((b as i64 - a as i64 - 4800).abs() <= 1, "100 ms apart became {} frames", b as i64 - a as i64);
}

/// With a token, OSC peers must `/auth` first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn osc_peers_authenticate_when_a_token_is_set() {
    let server = Server::start(&["--osc", "127.0.0.1:0", "--token", TOKEN]);
    let osc = OscClient::new(&server);
    use rosc::OscType::Int;
    osc.message("/sync", vec![Int(1)]);
    let mut seen = Vec::new();
    let fail = osc.wait_for("/fail", &mut seen);
    assert!(format!("{:?}", fail.args).contains("token"), "{fail:?}");
    osc.message("/auth", vec![s("not the token at all")]);
    assert_eq!(osc.wait_for("/auth.reply", &mut seen).args, vec![Int(0)]);
    osc.message("/auth", vec![s(TOKEN)]);
    assert_eq!(osc.wait_for("/auth.reply", &mut seen).args, vec![Int(1)]);
    osc.message("/sync", vec![Int(2)]);
    assert_eq!(osc.wait_for("/synced", &mut seen).args, vec![Int(2)]);
}

/// Named patches: the graph saved under a name, listed, read back, loaded over a changed graph
/// (which it restores exactly); names that could leave the store are refused and create
/// nothing anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_patches_are_saved_listed_and_loaded_and_names_cannot_escape() {
    let dir = noderack_tests::fixtures::scratch_dir("serve-store");
    let store = dir.join("patches");
    let s = Server::start(&["--store", store.to_str().unwrap()]);
    let c = client();
    let (_, original) = graph(&c, &s).await;
    let (status, body) = call(c.put(s.url("/patches/set one"))).await;
    assert_eq!(status, 200, "{body}");
    post(&c, s.url("/edits"), json!({ "edits": [{ "op": "remove", "id": "lead" }] })).await;
    let (status, list) = call(c.get(s.url("/patches"))).await;
    assert_eq!(status, 200);
    assert_eq!(list["patches"][0]["name"], "set one");
    let (status, stored) = call(c.get(s.url("/patches/set one"))).await;
    assert_eq!((status, &stored), (200, &original), "the stored patch is the graph as it was");
    let (status, body) = post(&c, s.url("/patches/set one/load"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(graph(&c, &s).await.1, original, "loading restores it");
    // A patch sent in the body is checked before it is stored.
    let (status, body) = call(c.put(s.url("/patches/broken")).body("{ \"format\": \"noderack-patch\" }")).await;
    assert_eq!(status, 422, "{body}");
    for bad in ["..%2Fescape", ".hidden", "a%2Fb", "x%00y"] {
        let (status, body) = call(c.put(s.url(&format!("/patches/{bad}")))).await;
        assert!(status == 422 || status == 404, "{bad}: {status} {body}");
    }
    let (status, _) = call(c.get(s.url("/patches/nothing-here"))).await;
    assert_eq!(status, 404);
    let names: Vec<_> = std::fs::read_dir(&store).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, ["set one.json"], "only the saved patch is in the store");
    assert!(!store.parent().unwrap().join("escape.json").exists());
}

/// Waits until the engine has played `frames` more frames than now.
async fn wait_frames(c: &reqwest::Client, server: &Server, frames: u64) {
    let start = call(c.get(server.url("/status"))).await.1["frames"].as_u64().unwrap();
    while call(c.get(server.url("/status"))).await.1["frames"].as_u64().unwrap() < start + frames {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A sampler gets another instrument while it plays: the held note finishes on the old one (no
/// cut), new notes play the new one; the graph records the setting, and undo brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sampler_takes_a_new_instrument_while_its_notes_ring_on() {
    use noderack_tests::analysis::band_energy;
    use noderack_tests::fixtures::{scratch_dir, sine_wave, wav_channels, write_text, write_wav};
    let dir = scratch_dir("serve-instrument");
    for (name, hz) in [("a", 440.0), ("b", 660.0)] {
        write_wav(&dir, &format!("{name}.wav"), 48_000, &sine_wave(hz, 48_000, 3.0, 0.5));
        write_text(&dir, &format!("{name}.sfz"), &format!("<region> sample={name}.wav pitch_keycenter=69\n"));
    }
    let patch = dir.join("swap.json");
    std::fs::write(
        &patch,
        r#"{ "format": "noderack-patch", "version": 1, "nodes": [
          { "id": "keys", "kind": "midi-in" },
          { "id": "inst", "kind": "sampler", "config": { "instrument": { "sfz": "a.sfz" } } },
          { "id": "out", "kind": "output" } ],
          "connections": [ { "from": "keys.events", "to": "inst.events" }, { "from": "inst.out", "to": "out.in" } ] }"#,
    )
    .unwrap();
    let wav = dir.join("played.wav");
    let mut server = Server::with_file(&patch, &["--record", wav.to_str().unwrap()]);
    let c = client();
    let note = |key: u8| json!({ "node": "keys", "events": [{ "type": "note_on", "channel": 1, "key": key, "velocity": 100 }] });
    let (status, body) = post(&c, server.url("/midi"), note(69)).await;
    assert_eq!(status, 200, "{body}");
    let first = body["frame"].as_u64().unwrap();
    wait_frames(&c, &server, 9600).await;

    let put = |body: Value| c.put(server.url("/nodes/inst/instrument")).body(body.to_string());
    let (status, body) = call(put(json!({ "sfz": "b.sfz" }))).await;
    assert_eq!(status, 200, "{body}");
    let (_, g) = graph(&c, &server).await;
    assert_eq!(g["nodes"][1]["config"]["instrument"], json!({ "sfz": "b.sfz" }));
    let (status, body) = post(&c, server.url("/midi"), note(81)).await;
    assert_eq!(status, 200, "{body}");
    let second = body["frame"].as_u64().unwrap();
    wait_frames(&c, &server, 24_000).await;

    // Refusals: not a sampler, a file that is not there, no such node.
    let (status, body) =
        call(c.put(server.url("/nodes/keys/instrument")).body(json!({ "sfz": "b.sfz" }).to_string())).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = call(put(json!({ "sfz": "missing.sfz" }))).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("missing.sfz"), "{body}");
    let (status, _) =
        call(c.put(server.url("/nodes/ghost/instrument")).body(json!({ "sfz": "b.sfz" }).to_string())).await;
    assert_eq!(status, 404);
    // Undo brings the old setting back.
    assert_eq!(call(c.post(server.url("/undo"))).await.0, 200);
    assert_eq!(graph(&c, &server).await.1["nodes"][1]["config"]["instrument"], json!({ "sfz": "a.sfz" }));
    server.terminate();

    let played = &wav_channels(&wav)[0];
    let band =
        |from: u64, hz: f32| band_energy(&played[from as usize..from as usize + 9600], 48_000.0, hz - 30.0, hz + 30.0);
    // Before the swap: the old instrument's A4.
    assert!(band(first + 2400, 440.0) > 100.0 * band(first + 2400, 660.0));
    // After it: the held A4 goes on (not cut), the new note plays the new instrument (A5 of a
    // 660 Hz sample: 1320 Hz), not the old one (880 Hz).
    let after = second + 4800;
    assert!(band(after, 440.0) > 0.1 * band(first + 2400, 440.0), "the held note was cut");
    assert!(band(after, 1320.0) > 100.0 * band(after, 880.0), "the new note plays the old instrument");
}

/// `status` reports the library cache's folder and size (measured off the control thread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_the_library_cache_size() {
    let dir = noderack_tests::fixtures::scratch_dir("serve-cache-size");
    let cache = dir.join("cache");
    std::fs::create_dir_all(cache.join("objects")).unwrap();
    std::fs::write(cache.join("objects").join("x"), vec![7u8; 12_345]).unwrap();
    std::fs::write(cache.join("index"), vec![1u8; 655]).unwrap();
    let patch = dir.join("p.json");
    std::fs::write(&patch, common::PATCH).unwrap();
    let server =
        Server::launch_with_env(&patch, &["--backend", "null"], &[("NODERACK_CACHE_DIR", cache.to_str().unwrap())]);
    let c = client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, status) = call(c.get(server.url("/status"))).await;
        if status["library_cache"]["bytes"].is_u64() {
            assert_eq!(status["library_cache"]["bytes"], json!(13_000));
            assert_eq!(status["library_cache"]["dir"], json!(cache));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no cache size: {status}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The preset library through the server (`--library`): a search lists presets with the setting
/// that loads each; loading one into a sampler announces its download on the WebSocket, sample
/// by sample; loads that go on with the caller's last change (a browser trying presets in place)
/// are one undo step, which brings back the instrument that was there before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_presets_are_searched_loaded_with_progress_and_tried_in_place() {
    use noderack_tests::tiny_library::TinyLibrary;
    let dir = noderack_tests::fixtures::scratch_dir("serve-library");
    let tiny = TinyLibrary::write(&dir.join("library"), 4_000);
    let root = std::fs::canonicalize(&tiny.root).unwrap().display().to_string();
    let patch = dir.join("patch.json");
    let first = json!({ "preset": "Other/Beep", "library": root });
    let text = json!({ "format": "noderack-patch", "version": 1, "nodes": [
        { "id": "keys", "kind": "midi-in" },
        { "id": "inst", "kind": "sampler", "config": { "instrument": first } },
        { "id": "out", "kind": "output" } ],
        "connections": [ { "from": "keys.events", "to": "inst.events" }, { "from": "inst.out", "to": "out.in" } ] });
    std::fs::write(&patch, text.to_string()).unwrap();
    let cache = dir.join("cache");
    let server = Server::launch_with_env(
        &patch,
        &["--backend", "null", "--library", tiny.root.to_str().unwrap()],
        &[("NODERACK_CACHE_DIR", cache.to_str().unwrap())],
    );
    let c = client();

    let (status, found) = call(c.get(server.url("/library/presets?q=SINE"))).await;
    assert_eq!(status, 200, "{found}");
    let names: Vec<&str> = found["presets"].as_array().unwrap().iter().map(|p| p["preset"].as_str().unwrap()).collect();
    assert_eq!(names, ["Tiny Lib/Sine Bass", "Tiny Lib/Sine Lead"]);
    assert_eq!(found["presets"][0]["instrument"], json!({ "preset": "Tiny Lib/Sine Bass", "library": root }));
    assert_eq!(found["more"], 0);
    let (_, all) = call(c.get(server.url("/library/presets"))).await;
    assert_eq!(all["presets"].as_array().unwrap().len(), 4, "an empty query lists every preset: {all}");

    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url()).await.unwrap();
    let put = |setting: &Value| c.put(server.url("/nodes/inst/instrument?continues=true")).body(setting.to_string());
    let (status, body) = call(put(&found["presets"][0]["instrument"])).await;
    assert_eq!(status, 200, "{body}");
    // The download's steps: the preset file read, then each of its two samples.
    let mut steps = Vec::new();
    while steps.last().is_none_or(|(done, _)| *done < 2) {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("download events")
            .unwrap()
            .unwrap();
        let event: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
        if event["type"] == "download" {
            assert_eq!((event["node"].as_str(), event["preset"].as_str()), (Some("inst"), Some("Tiny Lib/Sine Bass")));
            assert_eq!(event["samples"], 2);
            steps.push((event["samples_done"].as_u64().unwrap(), event["bytes"].as_u64().unwrap()));
        }
    }
    assert_eq!(steps, [(0, 0), (1, 8_000), (2, 16_000)], "4 000 16-bit frames a sample");

    let (status, body) = call(put(&found["presets"][1]["instrument"])).await;
    assert_eq!(status, 200, "{body}");
    let (_, g) = graph(&c, &server).await;
    assert_eq!(g["nodes"][1]["config"]["instrument"], found["presets"][1]["instrument"]);
    // Both tries are one step: one undo brings the first instrument back.
    let (status, body) = post(&c, server.url("/undo"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, g) = graph(&c, &server).await;
    assert_eq!(g["nodes"][1]["config"]["instrument"], first);
    let (status, _) = post(&c, server.url("/undo"), json!({})).await;
    assert_eq!(status, 409, "nothing more to undo");
}

#[test]
fn a_library_folder_that_is_not_there_stops_serve_before_it_starts() {
    let err = refused_to_start(&["--bind", "127.0.0.1:0", "--library", "/no/such/library"]);
    assert!(err.contains("--library /no/such/library"), "{err}");
}

/// MIDI learn through the server: a control change sent to the graph is announced to
/// WebSocket clients (`midi_cc`); a `map_cc` edit binds it to the lead's level, stored in the
/// graph; the next control change moves the level (the bus's RMS falls by the binding's 30 dB);
/// undo unbinds it, and the controller moves nothing any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learned_controller_moves_its_parameter_and_is_stored_in_the_graph() {
    let s = Server::start(&[]);
    let c = client();
    let midi = |event: Value| json!({ "node": "keys", "events": [event] });
    // Controller 20 means nothing to the synth by itself (7 would be its channel volume).
    let cc = |value: u8| midi(json!({ "type": "cc", "channel": 1, "controller": 20, "value": value }));
    let rms = |status: &Value| status["bus_rms_db"]["main"].as_f64();
    let settled = |c: &reqwest::Client, what: &'static str, near: f64| {
        let (c, url) = (c.clone(), s.url("/status"));
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let (_, status) = call(c.get(&url)).await;
                if rms(&status).is_some_and(|db| (db - near).abs() < 1.0) {
                    return;
                }
                assert!(std::time::Instant::now() < deadline, "{what}: {status}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    let (mut ws, _) = tokio_tungstenite::connect_async(s.ws_url()).await.unwrap();
    let (status, body) =
        post(&c, s.url("/midi"), midi(json!({ "type": "note_on", "channel": 1, "key": 69, "velocity": 100 }))).await;
    assert_eq!(status, 200, "{body}");
    // Full level first: the held sine's RMS after 1.5 s of audio, whatever it is, is the reference.
    wait_frames(&c, &s, 72_000).await;
    let (_, status) = call(c.get(s.url("/status"))).await;
    let full = rms(&status).expect("the note sounds");

    let (status, _) = post(&c, s.url("/midi"), cc(64)).await;
    assert_eq!(status, 200);
    loop {
        let message =
            tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        let event: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
        if event["type"] == "midi_cc" {
            assert_eq!(
                (event["channel"].as_u64(), event["controller"].as_u64(), event["value"].as_u64()),
                (Some(1), Some(20), Some(64))
            );
            break;
        }
    }
    let map =
        json!({ "edits": [{ "op": "map_cc", "cc": 20, "channel": 1, "param": "lead.gain_db", "min": -30, "max": 0 }] });
    let (status, body) = post(&c, s.url("/edits"), map).await;
    assert_eq!(status, 200, "{body}");
    let (_, g) = graph(&c, &s).await;
    assert_eq!(g["midi_map"], json!([{ "cc": 20, "channel": 1, "param": "lead.gain_db", "min": -30.0, "max": 0.0 }]));

    post(&c, s.url("/midi"), cc(0)).await;
    settled(&c, "controller 0 is -30 dB", full - 30.0).await;
    post(&c, s.url("/midi"), cc(127)).await;
    settled(&c, "controller 127 is 0 dB", full).await;

    let (status, _) = post(&c, s.url("/undo"), json!({})).await;
    assert_eq!(status, 200);
    assert!(graph(&c, &s).await.1.get("midi_map").is_none(), "undone");
    post(&c, s.url("/midi"), cc(0)).await;
    // A second of audio past the control change: a bound level would have fallen by then.
    wait_frames(&c, &s, 48_000).await;
    let (_, status) = call(c.get(s.url("/status"))).await;
    assert!((rms(&status).unwrap() - full).abs() < 1.0, "unbound, the controller moves nothing: {status}");

    let bad = json!({ "edits": [{ "op": "map_cc", "cc": 300, "param": "lead.gain_db" }] });
    let (status, body) = post(&c, s.url("/edits"), bad).await;
    assert_eq!(status, 422);
    assert!(body["error"].to_string().contains("0 to 127"), "{body}");
}

/// The server keeps one client of its library: searches typed letter by letter fetch the
/// library's indexes once, not once per search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_fetch_the_librarys_indexes_once() {
    let dir = noderack_tests::fixtures::scratch_dir("serve-library-http");
    let tiny = noderack_tests::tiny_library::TinyLibrary::write(&dir.join("library"), 1_000);
    let http = noderack_tests::http_server::TestServer::serve(&tiny.root);
    let patch = noderack_tests::fixtures::write_text(&dir, "patch.json", common::PATCH);
    let cache = dir.join("cache");
    let s = Server::launch_with_env(
        &patch,
        &["--backend", "null", "--library", &http.url()],
        &[("NODERACK_CACHE_DIR", cache.to_str().unwrap())],
    );
    let c = client();
    for typed in ["s", "si", "sin", "sine"] {
        let (status, found) = call(c.get(s.url(&format!("/library/presets?q={typed}")))).await;
        assert_eq!(status, 200, "{found}");
    }
    let (_, found) = call(c.get(s.url("/library/presets?q=sine"))).await;
    assert_eq!(found["presets"].as_array().unwrap().len(), 2, "{found}");
    assert_eq!(http.requests("index.json"), 1, "the root index, once");
    assert_eq!(http.requests("Tiny/index.json"), 1, "a library's index, once");
    // Asked to, it looks again (presets published since).
    let (status, _) = call(c.get(s.url("/library/presets?q=sine&refresh=true"))).await;
    assert_eq!(status, 200);
    assert_eq!(http.requests("index.json"), 2);
}
