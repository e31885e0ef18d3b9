//! The editor (`noderack-editor`) against a real `noderack serve` on loopback, started the way
//! the editor starts its embedded engine: the demo graph drawn like its reference image, a
//! cable dragged between two ports connecting them on the server (and refused between ports of
//! different kinds), a node dropped somewhere saved there, and an unreachable server reported.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use iced::mouse;
use iced::widget::canvas::{Event, Program};
use iced::{Point, Rectangle, Size};
use noderack_editor::app::edit_for;
use noderack_editor::client::{Client, ClientError, EmbeddedServer};
use noderack_editor::geometry::{port_position, Camera, PortRef, Side};
use noderack_editor::graph_view::{Drag, GraphMessage, GraphView};
use noderack_editor::model::GraphModel;
use noderack_editor::render::{difference, graph_image, read_png, write_png};

fn server(patch: &Path) -> (EmbeddedServer, Arc<Client>) {
    let server = EmbeddedServer::start(Path::new(env!("CARGO_BIN_EXE_noderack")), patch, Some("null"))
        .expect("the server starts");
    let client = Client::new(server.url(), None);
    (server, client)
}

fn model(client: &Arc<Client>) -> GraphModel {
    GraphModel::from_api(&client.block_on(client.clone().graph()).expect("the graph")).expect("a readable graph")
}

fn snapshot(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui-iced/tests/snapshots").join(name)
}

/// Tolerance of a snapshot comparison: the mean difference per channel (0–255) and the share
/// of pixels that differ visibly (a channel off by more than 64). Renders on one machine are
/// identical; the slack is for another CPU's float rounding in anti-aliased edges and text.
const MEAN_TOLERANCE: f64 = 0.5;
const FAR_PIXELS_TOLERANCE: f64 = 0.002;

#[test]
fn the_demo_graph_looks_like_its_reference_image() {
    let (_server, client) = server(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json"));
    let image = graph_image(&model(&client), 1200, 700).expect("drawn");
    let reference = snapshot("demo-graph.png");
    if std::env::var_os("NODERACK_UPDATE_SNAPSHOTS").is_some() {
        write_png(&image, &reference).unwrap();
        eprintln!("wrote {}", reference.display());
        return;
    }
    let expected = read_png(&reference).unwrap_or_else(|e| {
        panic!(
            "{e}: the reference image is missing (NODERACK_UPDATE_SNAPSHOTS=1 writes it; look at it before committing)"
        )
    });
    let (mean, far) = difference(&image, &expected).expect("the same size");
    if mean > MEAN_TOLERANCE || far > FAR_PIXELS_TOLERANCE {
        let actual = std::env::temp_dir().join("demo-graph-actual.png");
        write_png(&image, &actual).unwrap();
        panic!(
            "the graph view differs from {} (mean {mean:.3}, {:.3} % of pixels far off); this render: {}",
            reference.display(),
            far * 100.0,
            actual.display()
        );
    }
}

/// Presses at `from`, moves to `to` and releases there (screen points), as a user dragging;
/// returns the messages the view sent.
fn drag(view: &GraphView<'_>, from: [f32; 2], to: [f32; 2]) -> Vec<GraphMessage> {
    let bounds = Rectangle::new(Point::ORIGIN, Size::new(1200.0, 700.0));
    let mut state = Drag::default();
    let mut messages = Vec::new();
    let at = |p: [f32; 2]| mouse::Cursor::Available(Point::new(p[0], p[1]));
    let events = [
        (Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)), from),
        (Event::Mouse(mouse::Event::CursorMoved { position: Point::new(to[0], to[1]) }), to),
        (Event::Mouse(mouse::Event::ButtonReleased(mouse::Button::Left)), to),
    ];
    for (event, point) in events {
        if let Some(action) = view.update(&mut state, &event, bounds, at(point)) {
            messages.extend(action.into_inner().0);
        }
    }
    messages
}

const LOOSE: &str = r#"{
  "format": "noderack-patch", "version": 1,
  "nodes": [
    { "id": "keys", "kind": "midi-in", "position": [40, 60] },
    { "id": "lead", "kind": "synth", "position": [300, 60] },
    { "id": "out", "kind": "output", "config": { "bus": "main" }, "position": [560, 60] }
  ],
  "connections": [{ "from": "keys.events", "to": "lead.events" }]
}"#;

#[test]
fn dragging_a_cable_connects_compatible_ports_on_the_server_and_refuses_others() {
    let dir = noderack_tests::fixtures::scratch_dir("editor-cable");
    let patch = noderack_tests::fixtures::write_text(&dir, "loose.json", LOOSE);
    let (_server, client) = server(&patch);
    let graph = model(&client);
    let view = GraphView { model: &graph, camera: Camera::default(), selected: None };
    let screen = |node: &str, side, port| {
        let n = graph.index_of(node).unwrap();
        view.camera.to_screen(port_position(&graph.nodes[n], side, port))
    };

    // Events into audio: refused, nothing sent.
    let refused = drag(&view, screen("keys", Side::Output, 0), screen("out", Side::Input, 0));
    assert!(!refused.iter().any(|m| matches!(m, GraphMessage::Connect(..))), "{refused:?}");

    // Audio out into audio in, dragged from the input end: connected.
    let messages = drag(&view, screen("out", Side::Input, 0), screen("lead", Side::Output, 0));
    let connect = messages.iter().find(|m| matches!(m, GraphMessage::Connect(..))).expect("a connection");
    let lead = graph.index_of("lead").unwrap();
    let out = graph.index_of("out").unwrap();
    assert_eq!(
        *connect,
        GraphMessage::Connect(
            PortRef { node: lead, side: Side::Output, port: 0 },
            PortRef { node: out, side: Side::Input, port: 0 }
        )
    );
    let edit = edit_for(&graph, connect).unwrap();
    client.block_on(client.clone().edits(vec![edit])).expect("the server takes it");
    let after = model(&client);
    assert!(after.cables.iter().any(|c| c.from == lead && c.to == out), "the server has the cable");
    assert!(after.revision > graph.revision);

    // A node dragged by its title and dropped is saved where it lies.
    let title = view.camera.to_screen([graph.nodes[lead].position[0] + 20.0, graph.nodes[lead].position[1] + 10.0]);
    let messages = drag(&view, title, [title[0] + 50.0, title[1] + 120.0]);
    let mut moved = graph.clone();
    for m in &messages {
        if let GraphMessage::Drag(node, position) = m {
            moved.nodes[*node].position = *position;
        }
    }
    let dropped = messages.iter().find(|m| matches!(m, GraphMessage::Dropped(_))).expect("a drop");
    client.block_on(client.clone().edits(vec![edit_for(&moved, dropped).unwrap()])).unwrap();
    assert_eq!(model(&client).nodes[lead].position, [350.0, 180.0]);
}

#[test]
fn an_unreachable_server_is_reported_not_a_crash() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::new(&format!("http://127.0.0.1:{port}"), None);
    match client.block_on(client.clone().graph()) {
        Err(ClientError::Unreachable { url, .. }) => assert!(url.ends_with("/api/v1"), "{url}"),
        other => panic!("expected an unreachable server, got {other:?}"),
    }
    let (server, client) = server(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json"));
    let refused = client
        .block_on(client.clone().edits(vec![serde_json::json!({ "op": "move", "id": "ghost", "position": [0, 0] })]));
    assert!(matches!(refused, Err(ClientError::Refused { status: 422, .. })), "{refused:?}");
    drop(server);
}
