//! The editor (`noderack-editor`) against a real `noderack serve` on loopback, started the way
//! the editor starts its embedded engine: the demo graph and rack drawn like their reference
//! images, a cable dragged between two ports connecting them on the server (and refused
//! between ports of different kinds), a node dropped somewhere saved there, an unreachable
//! server reported; then the window driven like a person (iced_test): the palette, the
//! inspector's parameters, undo, duplicate and delete, the rack's strips and new slots; and the
//! same window opened by the CLAP plugin, editing the graph that plays in the plugin.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use iced::mouse;
use iced::widget::canvas::{Event, Program};
use iced::{Point, Rectangle, Size};
use noderack_editor::app::edit_for;
use noderack_editor::client::{Client, ClientError, EmbeddedServer};
use noderack_editor::geometry::{port_position, Camera, PortRef, Side};
use noderack_editor::graph_view::{GraphMessage, GraphView, ViewState};
use noderack_editor::model::GraphModel;
use noderack_editor::render::{difference, graph_image, rack_image, read_png, write_png};

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

/// Compares `image` with the committed reference `name` (within the tolerance above), or
/// writes it there under `NODERACK_UPDATE_SNAPSHOTS=1`.
fn assert_snapshot(image: &noderack_editor::render::Image, name: &str) {
    let reference = snapshot(name);
    if std::env::var_os("NODERACK_UPDATE_SNAPSHOTS").is_some() {
        write_png(image, &reference).unwrap();
        eprintln!("wrote {}", reference.display());
        return;
    }
    let expected = read_png(&reference).unwrap_or_else(|e| {
        panic!(
            "{e}: the reference image is missing (NODERACK_UPDATE_SNAPSHOTS=1 writes it; look at it before committing)"
        )
    });
    let (mean, far) = difference(image, &expected).expect("the same size");
    if mean > MEAN_TOLERANCE || far > FAR_PIXELS_TOLERANCE {
        let actual = std::env::temp_dir().join(name.replace(".png", "-actual.png"));
        write_png(image, &actual).unwrap();
        panic!(
            "the view differs from {} (mean {mean:.3}, {:.3} % of pixels far off); this render: {}",
            reference.display(),
            far * 100.0,
            actual.display()
        );
    }
}

#[test]
fn the_demo_graph_and_rack_look_like_their_reference_images() {
    let (_server, client) = server(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json"));
    let model = model(&client);
    assert_snapshot(&graph_image(&model, 1200, 700).expect("drawn"), "demo-graph.png");
    assert_snapshot(&rack_image(&model, 1200, 500).expect("drawn"), "demo-rack.png");
}

/// Presses at `from`, moves to `to` and releases there (screen points), as a user dragging;
/// returns the messages the view sent.
fn drag(view: &GraphView<'_>, from: [f32; 2], to: [f32; 2]) -> Vec<GraphMessage> {
    let bounds = Rectangle::new(Point::ORIGIN, Size::new(1200.0, 700.0));
    let mut state = ViewState::default();
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
    let view = GraphView { model: &graph, camera: Camera::default(), selected: Vec::new() };
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
    client.block_on(client.clone().edits(vec![edit], false)).expect("the server takes it");
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
    client.block_on(client.clone().edits(vec![edit_for(&moved, dropped).unwrap()], false)).unwrap();
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
    let refused = client.block_on(
        client.clone().edits(vec![serde_json::json!({ "op": "move", "id": "ghost", "position": [0, 0] })], false),
    );
    assert!(matches!(refused, Err(ClientError::Refused { status: 422, .. })), "{refused:?}");
    drop(server);
}

// ------------------------------------------------ the editor window, driven like a person

mod window {
    use std::sync::Arc;

    use iced::keyboard::{self, key, Key};
    use iced::{mouse, Event, Point};
    use iced_test::simulator::{click, typewrite};
    use iced_test::{selector, Simulator};
    use noderack_editor::app::{key_command, Change, Command, Editor, Message, Request, GRAPH_ID, WINDOW};
    use noderack_editor::browser::BrowserMessage;
    use noderack_editor::client::{Client, EmbeddedServer, ServerEvent};
    use noderack_editor::graph_view::GraphMessage;
    use noderack_editor::graph_view::FONT;
    use noderack_editor::inspector::{field_id, slider_id, InspectorMessage};
    use noderack_editor::palette::PaletteMessage;
    use noderack_editor::param_slider::SliderMessage;
    use noderack_editor::rack::{control_id, RackMessage};
    use serde_json::{json, Value};

    use super::{server, LOOSE};

    /// An editor of `client`'s server with the graph and node kinds read.
    fn open(client: &Arc<Client>) -> Editor {
        let (mut editor, requests) = Editor::new(client.clone(), None);
        let answers: Vec<Message> = requests.into_iter().map(|r| client.block_on(r.run(client.clone()))).collect();
        editor.settle(answers);
        assert!(editor.model().is_some() && !editor.kinds().kinds.is_empty(), "{}", editor.status());
        editor
    }

    /// An editor of a server playing `LOOSE` (its folder, the server, its client).
    fn on_loose_patch(name: &str) -> (noderack_tests::fixtures::ScratchDir, EmbeddedServer, Arc<Client>, Editor) {
        let dir = noderack_tests::fixtures::scratch_dir(name);
        let patch = noderack_tests::fixtures::write_text(&dir, "loose.json", LOOSE);
        let (server, client) = server(&patch);
        let editor = open(&client);
        (dir, server, client, editor)
    }

    /// Clicks the widget showing `label` and handles what that sends.
    fn press(editor: &mut Editor, label: &str) {
        let messages = act(editor, |ui| {
            ui.click(label).unwrap_or_else(|e| panic!("no \"{label}\" to click: {e}"));
        });
        editor.settle(messages);
    }

    /// The window as it is now, acted on by `act`; the messages it sent.
    fn act(editor: &Editor, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Message> {
        let settings = iced::Settings { default_font: FONT, ..iced::Settings::default() };
        let mut ui = Simulator::with_size(settings, WINDOW, editor.view());
        act(&mut ui);
        ui.into_messages().collect()
    }

    /// The server's graph node `id` (its patch JSON), if it has one.
    fn server_node(client: &Arc<Client>, id: &str) -> Option<Value> {
        let reply = client.block_on(client.clone().graph()).unwrap();
        reply["graph"]["nodes"].as_array().unwrap().iter().find(|n| n["id"] == id).cloned()
    }

    fn mouse(event: mouse::Event) -> Event {
        Event::Mouse(event)
    }

    fn modifiers(m: keyboard::Modifiers) -> Event {
        Event::Keyboard(keyboard::Event::ModifiersChanged(m))
    }

    fn key_press(key: Key, modifiers: keyboard::Modifiers) -> Event {
        Event::Keyboard(keyboard::Event::KeyPressed {
            key: key.clone(),
            modified_key: key,
            physical_key: key::Physical::Unidentified(key::NativeCode::Unidentified),
            location: keyboard::Location::Standard,
            modifiers,
            text: None,
            repeat: false,
        })
    }

    /// Presses the mouse at `from`, moves it through `through`, releases it at the last point.
    fn drag_pointer(ui: &mut Simulator<'_, Message>, from: Point, through: &[Point]) {
        ui.point_at(from);
        let _ = ui.simulate([mouse(mouse::Event::ButtonPressed(mouse::Button::Left))]);
        for &to in through {
            ui.point_at(to);
            let _ = ui.simulate([mouse(mouse::Event::CursorMoved { position: to })]);
        }
        let _ = ui.simulate([mouse(mouse::Event::ButtonReleased(mouse::Button::Left))]);
    }

    /// Clicks node `id` in the graph view (on its title).
    fn click_node(editor: &Editor, id: &str) -> Vec<Message> {
        let model = editor.model().unwrap();
        let node = &model.nodes[model.index_of(id).unwrap()];
        let at = editor.camera().to_screen([node.position[0] + 20.0, node.position[1] + 10.0]);
        act(editor, |ui| {
            let graph = ui.find(selector::id(GRAPH_ID)).expect("the graph view").bounds();
            ui.point_at(Point::new(graph.x + at[0], graph.y + at[1]));
            let _ = ui.simulate(click());
        })
    }

    /// Selects everything in the text field `id` and types `text`, then Enter.
    fn type_into(editor: &Editor, id: &str, text: &str) -> Vec<Message> {
        act(editor, |ui| {
            ui.click(selector::id(id.to_string())).expect("the field");
            let _ = ui.simulate([
                modifiers(keyboard::Modifiers::CTRL),
                key_press(Key::Character("a".into()), keyboard::Modifiers::CTRL),
                modifiers(keyboard::Modifiers::empty()),
            ]);
            let _ = ui.simulate(typewrite(text));
            let _ = ui.simulate([key_press(Key::Named(key::Named::Enter), keyboard::Modifiers::empty())]);
        })
    }

    /// The plugin's editor: the host asks the plugin for its window; the editor it starts
    /// (here the window driven in-process, given the URL and token the plugin gave its
    /// program) adds a node from the palette and undoes it, and the plugin's own state (what
    /// the DAW saves) has the node, then not.
    #[test]
    fn the_plugin_opens_the_editor_on_the_graph_that_plays_in_the_daw() {
        use noderack_tests::editor_standin::StandInEditor;
        use noderack_tests::plugin_rig::PluginRig;

        let program = StandInEditor::install();
        let library = noderack_tests::clap_plugins::noderack_plugin_library();
        let mut rig = PluginRig::new(&library, noderack_plugin::INSTRUMENT_ID);
        rig.activate(48_000.0, 256);
        assert!(rig.show_floating_gui("noderack"), "the plugin opens its editor");
        let started = program.started();
        let client = Client::new(started.option("--connect").expect("a URL"), Some(started.token.clone()));
        let mut editor = open(&client);
        let saved_nodes = |rig: &mut PluginRig| -> Vec<String> {
            let state = noderack_plugin::state::decode(&rig.save_state()).expect("the state decodes");
            state.patch["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect()
        };
        let before = saved_nodes(&mut rig);
        assert!(!before.is_empty() && !before.contains(&"gain".to_string()), "{before:?}");
        assert_eq!(editor.model().unwrap().nodes.len(), before.len(), "the editor shows the plugin's graph");

        let typed = act(&editor, |ui| {
            ui.click(selector::id("palette-search")).expect("the search field");
            let _ = ui.simulate(typewrite("gain"));
        });
        editor.settle(typed);
        let added = act(&editor, |ui| {
            ui.click("+ gain").expect("the gain button");
        });
        editor.settle(added);
        assert!(saved_nodes(&mut rig).contains(&"gain".to_string()), "the DAW's state has the new node");

        let ctrl_z = key_press(Key::Character("z".into()), keyboard::Modifiers::CTRL);
        editor.settle(key_command(ctrl_z, iced::event::Status::Ignored, iced::window::Id::unique()));
        assert_eq!(saved_nodes(&mut rig), before, "undone in the plugin");
        rig.destroy_gui();
    }

    #[test]
    fn the_palette_searches_and_adds_a_node_on_the_server() {
        let (_dir, _server, client, mut editor) = on_loose_patch("editor-palette");

        let typed = act(&editor, |ui| {
            ui.click(selector::id("palette-search")).expect("the search field");
            let _ = ui.simulate(typewrite("gain"));
        });
        editor.settle(typed);
        let shown = act(&editor, |ui| {
            assert!(ui.find("+ gain").is_ok(), "gain is listed");
            assert!(ui.find("+ synth").is_err(), "synth is filtered out");
        });
        assert!(shown.is_empty());

        let added = act(&editor, |ui| {
            ui.click("+ gain").expect("the gain button");
        });
        editor.settle(added);
        let node = server_node(&client, "gain").expect("the server has the new node");
        assert_eq!(node["kind"], "gain");
        assert!(node["position"].is_array(), "placed where the view is: {node}");
        assert_eq!(editor.selected(), Some("gain"), "the new node is selected");
        assert!(editor.model().unwrap().index_of("gain").is_some(), "and read back");
        // A second one gets a name of its own.
        let again = act(&editor, |ui| {
            ui.click("+ gain").expect("the gain button");
        });
        editor.settle(again);
        assert!(server_node(&client, "gain2").is_some());
    }

    #[test]
    fn a_dragged_parameter_reaches_the_server_and_one_undo_takes_back_the_whole_drag() {
        let (_dir, _server, client, mut editor) = on_loose_patch("editor-param");
        editor.settle(click_node(&editor, "lead"));
        assert_eq!(editor.selected(), Some("lead"));
        let info = editor.kinds().get("synth").unwrap().params.iter().find(|p| p.name == "cutoff_hz").unwrap().clone();
        assert!(server_node(&client, "lead").unwrap()["params"].get("cutoff_hz").is_none(), "at its default");

        // Press in the middle of the bar, move right 20 then 40 pixels, let go.
        let mut width = 0.0;
        let dragged = act(&editor, |ui| {
            let bar = ui.find(selector::id(slider_id("cutoff_hz"))).expect("the bar").bounds();
            width = bar.width;
            let start = bar.center();
            drag_pointer(ui, start, &[Point::new(start.x + 20.0, start.y), Point::new(start.x + 40.0, start.y)]);
        });
        let drags = dragged
            .iter()
            .filter(|m| matches!(m, Message::Inspector(InspectorMessage::Slider(_, SliderMessage::Drag(_)))))
            .count();
        assert_eq!(drags, 2, "{dragged:?}");
        editor.settle(dragged);
        // A drag is relative: 40 px of a bar `width` wide moves 40/width of the (log) range.
        let expected = info.from_unit(info.to_unit(info.default) + 40.0 / f64::from(width));
        let on_server = server_node(&client, "lead").unwrap()["params"]["cutoff_hz"].as_f64().expect("set");
        assert!((on_server - expected).abs() < 1e-4 * expected, "{on_server} Hz, expected {expected} Hz");
        assert!((on_server - info.default).abs() > 1.0, "it moved");

        // Ctrl+Z (the keyboard handler's command) undoes the whole drag in one step.
        let ctrl_z = key_press(Key::Character("z".into()), keyboard::Modifiers::CTRL);
        let undo = key_command(ctrl_z.clone(), iced::event::Status::Ignored, iced::window::Id::unique());
        assert!(matches!(undo, Some(Message::Command(Command::Undo))), "{undo:?}");
        assert!(
            key_command(ctrl_z, iced::event::Status::Captured, iced::window::Id::unique()).is_none(),
            "a text field's own"
        );
        editor.settle(undo);
        assert!(server_node(&client, "lead").unwrap()["params"].get("cutoff_hz").is_none(), "back at its default");
        let redo = key_press(Key::Character("Z".into()), keyboard::Modifiers::CTRL | keyboard::Modifiers::SHIFT);
        let redo = key_command(redo, iced::event::Status::Ignored, iced::window::Id::unique());
        assert!(matches!(redo, Some(Message::Command(Command::Redo))), "{redo:?}");
        editor.settle(redo);
        assert!(server_node(&client, "lead").unwrap()["params"]["cutoff_hz"].as_f64().is_some(), "redone");
    }

    #[test]
    fn typed_values_are_set_or_refused_where_they_were_typed() {
        let (_dir, _server, client, mut editor) = on_loose_patch("editor-typed");
        editor.settle(click_node(&editor, "lead"));

        editor.settle(type_into(&editor, &field_id("cutoff_hz"), "1.2k"));
        assert_eq!(server_node(&client, "lead").unwrap()["params"]["cutoff_hz"], json!(1200.0));

        editor.settle(type_into(&editor, &field_id("cutoff_hz"), "loud"));
        let shown = act(&editor, |ui| {
            assert!(ui.find("\"loud\" is not a number").is_ok(), "the reason is under the field");
        });
        assert!(shown.is_empty());
        assert_eq!(server_node(&client, "lead").unwrap()["params"]["cutoff_hz"], json!(1200.0), "nothing sent");

        // Double-click on the bar: the default again (the patch no longer sets it).
        let reset = act(&editor, |ui| {
            let bar = ui.find(selector::id(slider_id("cutoff_hz"))).expect("the bar").bounds();
            ui.point_at(bar.center());
            let _ = ui.simulate(click().chain(click()));
        });
        editor.settle(reset);
        assert!(server_node(&client, "lead").unwrap()["params"].get("cutoff_hz").is_none());
    }

    #[test]
    fn duplicate_delete_and_undo_act_on_the_selected_node() {
        let (_dir, _server, client, mut editor) = on_loose_patch("editor-duplicate");
        editor.settle(click_node(&editor, "lead"));
        editor.settle(type_into(&editor, &field_id("cutoff_hz"), "800"));

        let duplicate = act(&editor, |ui| {
            ui.click("Duplicate").expect("the button");
        });
        editor.settle(duplicate);
        let copy = server_node(&client, "lead2").expect("a copy");
        assert_eq!((copy["kind"].clone(), copy["params"]["cutoff_hz"].clone()), (json!("synth"), json!(800.0)));
        assert_eq!(editor.selected(), Some("lead2"));

        let delete = key_press(Key::Named(key::Named::Delete), keyboard::Modifiers::empty());
        editor.settle(key_command(delete, iced::event::Status::Ignored, iced::window::Id::unique()));
        assert!(server_node(&client, "lead2").is_none(), "deleted");
        assert_eq!(editor.selected(), None);
        editor.settle([Message::Command(Command::Undo)]);
        assert!(server_node(&client, "lead2").is_some(), "undone");
        assert!(editor.model().unwrap().index_of("lead2").is_some(), "and read back");
    }

    /// Edits leave one at a time: values dragged while one is in flight wait, and only the
    /// newest is sent, continuing the drag's undo step.
    #[test]
    fn a_fast_drag_sends_its_newest_value_after_each_answer() {
        let (_dir, _server, _client, mut editor) = on_loose_patch("editor-outbox");
        editor.settle(click_node(&editor, "lead"));
        let drag = |v: f64| Message::Inspector(InspectorMessage::Slider("cutoff_hz".into(), SliderMessage::Drag(v)));
        let set = |v: f64, continues: bool| {
            Request::Send(Change::Edits {
                edits: vec![json!({ "op": "set", "id": "lead", "param": "cutoff_hz", "value": v })],
                continues,
                reload: false,
            })
        };
        assert_eq!(editor.update(drag(500.0)), [set(500.0, false)]);
        assert_eq!(editor.update(drag(600.0)), [], "waits for the answer");
        assert_eq!(editor.update(drag(700.0)), [], "replaces the waiting value");
        assert_eq!(editor.update(Message::Sent(Ok(json!({})))), [set(700.0, true)]);
        assert_eq!(editor.update(Message::Sent(Ok(json!({})))), []);
        let node = &editor.model().unwrap().nodes[editor.model().unwrap().index_of("lead").unwrap()];
        assert_eq!(node.params["cutoff_hz"], json!(700.0), "the view shows the newest value at once");
    }

    /// The demo's rack: a slot selected there is inspected, its level bar and mute switch set
    /// the mixer input's parameters on the server, and a new slot on channel 3 is the
    /// instrument, a channel filter and a gain into the bus, which the server reads back as a
    /// slot.
    #[test]
    fn the_rack_sets_strips_and_adds_slots_on_the_server() {
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json");
        let (_server, client) = server(&demo);
        let mut editor = open(&client);
        press(&mut editor, "Rack");
        press(&mut editor, "pad");
        assert_eq!(editor.selected(), Some("pad"), "a slot's instrument is selected");

        let mix_param = |name: &str| server_node(&client, "mix").unwrap()["params"][name].clone();
        let before = mix_param("in1_gain_db").as_f64().unwrap();
        let dragged = act(&editor, |ui| {
            let bar = ui.find(selector::id(control_id("level", "bass"))).expect("bass's level").bounds();
            let start = bar.center();
            drag_pointer(ui, start, &[Point::new(start.x - bar.width / 4.0, start.y)]);
        });
        editor.settle(dragged);
        let after = mix_param("in1_gain_db").as_f64().unwrap();
        // A quarter of the bar is a quarter of the level's range (−96 … +12 dB): −27 dB.
        assert!((after - (before - 27.0)).abs() < 0.01, "{before} dB → {after} dB");

        editor.settle(act(&editor, |ui| {
            ui.click(selector::id(control_id("mute", "perc"))).expect("perc's mute");
        }));
        assert_eq!(mix_param("in3_mute"), json!(true), "perc is the mixer's third input");

        editor.settle([Message::Rack(RackMessage::NewChannel("3".into()))]);
        press(&mut editor, "Add slot");
        let reply = client.block_on(client.clone().graph()).unwrap();
        let slot = reply["slots"].as_array().unwrap().iter().find(|s| s["instrument"] == "synth").cloned();
        let slot = slot.unwrap_or_else(|| panic!("a new slot: {}", reply["slots"]));
        assert_eq!((slot["channel"].as_str(), slot["bus"].as_str()), (Some("3"), Some("main")), "{slot}");
        assert_eq!(slot["strip"]["level"], json!({ "node": "synth-level", "param": "gain_db" }), "{slot}");
        assert_eq!(server_node(&client, "synth-ch").unwrap()["params"]["channel"], json!("3"));
        assert_eq!(editor.selected(), Some("synth"));
        assert!(editor.model().unwrap().slots.iter().any(|s| s.instrument == "synth"), "the rack shows it");
        // One undo step removes the whole slot.
        editor.settle([Message::Command(Command::Undo)]);
        assert!(server_node(&client, "synth").is_none() && server_node(&client, "synth-ch").is_none());
    }

    /// A `noderack serve PATCH` on `port` of loopback (the null backend), stopped when dropped.
    struct Served(std::process::Child);

    impl Served {
        fn on(port: u16, patch: &std::path::Path) -> Served {
            Self::with(port, patch, &[])
        }

        /// With `extra` arguments to `serve`.
        fn with(port: u16, patch: &std::path::Path, extra: &[&str]) -> Served {
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_noderack"))
                .arg("serve")
                .arg(patch)
                .args(["--bind", &format!("127.0.0.1:{port}"), "--backend", "null"])
                .args(extra)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
            assert!(line.starts_with("listening on"), "{line:?}");
            Served(child)
        }
    }

    impl Drop for Served {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// The next event that is not a meter reading (those are handled on the way), waiting at
    /// most ten seconds.
    fn next_event(
        client: &Arc<Client>,
        events: &mut tokio::sync::mpsc::Receiver<ServerEvent>,
        editor: &mut Editor,
    ) -> ServerEvent {
        loop {
            let event = client
                .block_on(async { tokio::time::timeout(std::time::Duration::from_secs(10), events.recv()).await })
                .expect("an event within ten seconds")
                .expect("the stream goes on");
            if !matches!(event, ServerEvent::Meters(_)) {
                return event;
            }
            editor.settle([Message::Server(event)]);
        }
    }

    /// The editor outlives its server: a lost connection is shown (edits meanwhile are refused
    /// with the reason, never a crash), and when a server is back on the address the editor
    /// reads its graph; other clients' changes are followed as they happen.
    #[test]
    fn the_editor_survives_a_server_that_goes_away_and_comes_back() {
        let dir = noderack_tests::fixtures::scratch_dir("editor-reconnect");
        let loose = noderack_tests::fixtures::write_text(&dir, "loose.json", LOOSE);
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.json");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let first = Served::on(port, &loose);
        let client = Client::new(&format!("http://127.0.0.1:{port}"), None);
        let mut events = client.clone().events();
        let mut editor = open(&client);
        let connected = next_event(&client, &mut events, &mut editor);
        assert!(matches!(connected, ServerEvent::Connected { .. }), "{connected:?}");
        editor.settle([Message::Server(connected)]);

        // Another client adds a node: the editor reads the graph again.
        let other = Client::new(&format!("http://127.0.0.1:{port}"), None);
        other
            .block_on(other.clone().edits(vec![json!({ "op": "add", "id": "theirs", "kind": "gain" })], false))
            .unwrap();
        let changed = next_event(&client, &mut events, &mut editor);
        assert!(matches!(&changed, ServerEvent::Changed { session, .. } if session == other.session()), "{changed:?}");
        editor.settle([Message::Server(changed)]);
        assert!(editor.model().unwrap().index_of("theirs").is_some(), "the other client's node is shown");
        assert!(editor.status().is_empty() || !editor.status().contains("cannot"), "{}", editor.status());

        drop(first);
        let lost = next_event(&client, &mut events, &mut editor);
        assert!(matches!(lost, ServerEvent::Lost(_)), "{lost:?}");
        editor.settle([Message::Server(lost)]);
        assert!(editor.status().contains("trying again"), "{}", editor.status());
        editor.settle([Message::Command(Command::Undo)]);
        assert!(editor.status().contains("cannot be reached"), "an edit meanwhile says why: {}", editor.status());

        // Another server (another graph) on the same address.
        let _second = Served::on(port, &demo);
        let back = next_event(&client, &mut events, &mut editor);
        assert!(matches!(back, ServerEvent::Connected { .. }), "{back:?}");
        editor.settle([Message::Server(back)]);
        assert!(editor.status().contains("again"), "{}", editor.status());
        let model = editor.model().expect("the graph read again");
        assert!(model.index_of("mix").is_some() && model.index_of("theirs").is_none(), "the new server's graph");
        // And it edits it.
        editor.settle(click_node(&editor, "bass"));
        editor.settle(type_into(&editor, &field_id("cutoff_hz"), "700"));
        assert_eq!(server_node(&client, "bass").unwrap()["params"]["cutoff_hz"], json!(700.0));
    }

    /// The files panel: the graph saved under a name and opened again after an edit; exported
    /// as a bundle file and imported from it; published to the server's registry, found there
    /// and installed. Each step checked on the server.
    #[test]
    fn the_files_panel_saves_opens_exports_imports_and_uses_the_registry() {
        let dir = noderack_tests::fixtures::scratch_dir("editor-files");
        let patch = noderack_tests::fixtures::write_text(&dir, "loose.json", LOOSE);
        let store = dir.join("store");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let _server = Served::with(port, &patch, &["--store", store.to_str().unwrap()]);
        let client = Client::new(&format!("http://127.0.0.1:{port}"), None);
        let mut editor = open(&client);
        let has_gain = |client: &Arc<Client>| server_node(client, "gain").is_some();
        let add_gain = |editor: &mut Editor| editor.settle([Message::Palette(PaletteMessage::Add("gain".into()))]);

        press(&mut editor, "Files");
        editor.settle(type_into(&editor, "save-name", "first take"));
        let saved = client.block_on(client.clone().call(reqwest::Method::GET, "/patches", None)).unwrap();
        assert_eq!(saved["patches"][0]["name"], "first take", "{saved}");

        add_gain(&mut editor);
        assert!(has_gain(&client));
        press(&mut editor, "Open");
        assert!(!has_gain(&client), "the saved graph is back");
        assert!(editor.model().unwrap().index_of("gain").is_none(), "and shown");

        let file = dir.join("take.noderack");
        editor.settle(type_into(&editor, "bundle-path", file.to_str().unwrap()));
        press(&mut editor, "Export");
        assert!(std::fs::metadata(&file).map(|m| m.len() > 0).unwrap_or(false), "{} written", file.display());
        add_gain(&mut editor);
        press(&mut editor, "Import");
        assert!(!has_gain(&client), "the bundle's graph plays");

        press(&mut editor, "Publish this graph");
        press(&mut editor, "Search");
        add_gain(&mut editor);
        press(&mut editor, "Install");
        assert!(!has_gain(&client), "the registry's bundle plays");

        // A bundle path that does not exist: the reason, in the panel; the graph untouched.
        add_gain(&mut editor);
        editor.settle(type_into(&editor, "bundle-path", dir.join("missing.noderack").to_str().unwrap()));
        press(&mut editor, "Import");
        assert!(editor.status().contains("missing.noderack"), "{}", editor.status());
        assert!(has_gain(&client), "nothing changed");
    }

    /// Several nodes at once: Shift-click picks two, dragging one moves both (one batch of
    /// moves on the server), Ctrl+D copies both and the cable between them, a Shift-drag box
    /// picks a node, Delete removes what is picked.
    #[test]
    fn a_selection_of_several_nodes_moves_copies_and_goes_together() {
        let (_dir, _server, client, mut editor) = on_loose_patch("editor-multi");
        let model = editor.model().unwrap().clone();
        let camera = editor.camera();
        let title = |id: &str| {
            let n = &model.nodes[model.index_of(id).unwrap()];
            camera.to_screen([n.position[0] + 20.0, n.position[1] + 10.0])
        };
        let position = |id: &str| server_node(&client, id).unwrap()["position"].clone();
        let (keys_before, lead_before) = (position("keys"), position("lead"));

        let picked = act(&editor, |ui| {
            let graph = ui.find(selector::id(GRAPH_ID)).expect("the graph view").bounds();
            let _ = ui.simulate([modifiers(keyboard::Modifiers::SHIFT)]);
            for id in ["keys", "lead"] {
                let [x, y] = title(id);
                ui.point_at(Point::new(graph.x + x, graph.y + y));
                let _ = ui.simulate(click());
            }
        });
        editor.settle(picked);
        assert_eq!(editor.selection(), ["keys", "lead"]);
        act(&editor, |ui| {
            assert!(ui.find("2 nodes selected").is_ok(), "the panel for several");
        });

        // Drag lead 50 px right and 100 down (at the view's zoom): both move.
        let moved = act(&editor, |ui| {
            let graph = ui.find(selector::id(GRAPH_ID)).expect("the graph view").bounds();
            let [x, y] = title("lead");
            let from = Point::new(graph.x + x, graph.y + y);
            drag_pointer(ui, from, &[Point::new(from.x + 50.0, from.y + 100.0)]);
        });
        editor.settle(moved);
        let shift = |before: &Value, after: &Value| {
            [
                after[0].as_f64().unwrap() - before[0].as_f64().unwrap(),
                after[1].as_f64().unwrap() - before[1].as_f64().unwrap(),
            ]
        };
        let (keys_shift, lead_shift) = (shift(&keys_before, &position("keys")), shift(&lead_before, &position("lead")));
        let zoom = f64::from(camera.zoom);
        assert!(
            (lead_shift[0] - 50.0 / zoom).abs() <= 1.0 && (lead_shift[1] - 100.0 / zoom).abs() <= 1.0,
            "{lead_shift:?}"
        );
        assert_eq!(keys_shift, lead_shift, "the selection moved together");

        // Ctrl+D: both copied, with the cable between them.
        let ctrl_d = key_press(Key::Character("d".into()), keyboard::Modifiers::CTRL);
        editor.settle(key_command(ctrl_d, iced::event::Status::Ignored, iced::window::Id::unique()));
        assert_eq!(editor.selection(), ["keys2", "lead2"], "the copies are selected");
        let graph = client.block_on(client.clone().graph()).unwrap();
        let cables = graph["graph"]["connections"].as_array().unwrap();
        assert!(cables.iter().any(|c| c["from"] == "keys2.events" && c["to"] == "lead2.events"), "{cables:?}");

        // A Shift-drag box around `out` picks it; Delete removes the picked nodes.
        editor.settle([Message::Graph(GraphMessage::Select(None))]);
        let model = editor.model().unwrap().clone();
        let out = &model.nodes[model.index_of("out").unwrap()];
        let a = camera.to_screen([out.position[0] - 10.0, out.position[1] - 10.0]);
        let b = camera.to_screen([out.position[0] + 30.0, out.position[1] + 20.0]);
        let boxed = act(&editor, |ui| {
            let graph = ui.find(selector::id(GRAPH_ID)).expect("the graph view").bounds();
            let (from, to) = (Point::new(graph.x + a[0], graph.y + a[1]), Point::new(graph.x + b[0], graph.y + b[1]));
            let _ = ui.simulate([modifiers(keyboard::Modifiers::SHIFT)]);
            drag_pointer(ui, from, &[to]);
        });
        editor.settle(boxed);
        assert_eq!(editor.selection(), ["out"]);
        let delete = key_press(Key::Named(key::Named::Delete), keyboard::Modifiers::empty());
        editor.settle(key_command(delete, iced::event::Status::Ignored, iced::window::Id::unique()));
        assert!(server_node(&client, "out").is_none() && server_node(&client, "lead").is_some());
    }

    /// A key of the computer keyboard (by its place on the keyboard) pressed or released.
    fn piano(code: key::Code, pressed: bool) -> Option<Message> {
        let (key, physical_key) = (Key::Unidentified, key::Physical::Code(code));
        let event = if pressed {
            keyboard::Event::KeyPressed {
                key: key.clone(),
                modified_key: key,
                physical_key,
                location: keyboard::Location::Standard,
                modifiers: keyboard::Modifiers::empty(),
                text: None,
                repeat: false,
            }
        } else {
            keyboard::Event::KeyReleased {
                key: key.clone(),
                modified_key: key,
                physical_key,
                location: keyboard::Location::Standard,
                modifiers: keyboard::Modifiers::empty(),
            }
        };
        key_command(Event::Keyboard(event), iced::event::Status::Ignored, iced::window::Id::unique())
    }

    /// The preset browser against a server with a library of its own (`--library`): the
    /// library listed and searched; presets tried in the selected sampler, each on the server,
    /// the download's progress shown from the server's events; a key of the computer keyboard
    /// (two octaves down) sounds a note through the sampler's channel filter, its release ends
    /// it; Cancel brings back the instrument from before the browse, and after Keep a new browse
    /// starts its own undo step.
    #[test]
    fn the_preset_browser_tries_presets_in_place_plays_them_and_cancels() {
        use noderack_tests::tiny_library::TinyLibrary;
        let dir = noderack_tests::fixtures::scratch_dir("editor-presets");
        let tiny = TinyLibrary::write(&dir.join("library"), 4_000);
        let root = std::fs::canonicalize(&tiny.root).unwrap().display().to_string();
        let beep = json!({ "preset": "Other/Beep", "library": root });
        let patch = json!({ "format": "noderack-patch", "version": 1, "nodes": [
            { "id": "keys", "kind": "midi-in", "position": [40, 60] },
            { "id": "ch2", "kind": "channel-filter", "params": { "channel": "2" }, "position": [240, 60] },
            { "id": "inst", "kind": "sampler", "config": { "instrument": beep }, "position": [440, 60] },
            { "id": "out", "kind": "output", "position": [640, 60] } ],
            "connections": [ { "from": "keys.events", "to": "ch2.in" }, { "from": "ch2.out", "to": "inst.events" },
                             { "from": "inst.out", "to": "out.in" } ] });
        let patch = noderack_tests::fixtures::write_text(&dir, "browse.json", &patch.to_string());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let _server = Served::with(port, &patch, &["--library", &root]);
        let client = Client::new(&format!("http://127.0.0.1:{port}"), None);
        let mut events = client.clone().events();
        let mut editor = open(&client);
        let instrument = |client: &Arc<Client>| server_node(client, "inst").unwrap()["config"]["instrument"].clone();
        let setting = |name: &str| json!({ "preset": format!("Tiny Lib/{name}"), "library": root });

        editor.settle(click_node(&editor, "inst"));
        press(&mut editor, "Presets");
        act(&editor, |ui| {
            assert!(ui.find("Beep").is_ok() && ui.find("Soft Pad").is_ok(), "the whole library, unsearched");
        });
        editor.settle(type_into(&editor, "preset-query", "sine"));
        // Refresh asks the server to fetch the library's indexes anew, then lists the search.
        let refreshed = act(&editor, |ui| {
            ui.click("Refresh").expect("the button");
        });
        assert!(matches!(&refreshed[..], [Message::Browser(BrowserMessage::Refresh)]), "{refreshed:?}");
        let asked = editor.update(Message::Browser(BrowserMessage::Refresh));
        assert_eq!(asked, [Request::Presets("sine".into(), true)]);
        editor.settle(asked.into_iter().map(|r| client.block_on(r.run(client.clone()))).collect::<Vec<_>>());
        act(&editor, |ui| {
            assert!(ui.find("Sine Bass").is_ok() && ui.find("Soft Pad").is_err(), "searched");
            assert!(ui.find("trying presets in inst; keys A–K play C4 to C5 (Z, X: octave)").is_ok());
        });

        press(&mut editor, "Sine Bass");
        assert_eq!(instrument(&client), setting("Sine Bass"));
        loop {
            match next_event(&client, &mut events, &mut editor) {
                ServerEvent::Download(event) if event["samples_done"] == event["samples"] => {
                    editor.settle([Message::Server(ServerEvent::Download(event))]);
                    break;
                }
                other => editor.settle([Message::Server(other)]),
            }
        }
        act(&editor, |ui| {
            assert!(ui.find("Tiny Lib/Sine Bass: 2 samples ready (16 kB)").is_ok(), "the download's progress");
        });

        // Z twice: C2, inside the bass's zones; sent on the filter's channel 2, so it sounds.
        let status =
            |client: &Arc<Client>| client.block_on(client.clone().call(reqwest::Method::GET, "/status", None)).unwrap();
        let until = |client: &Arc<Client>, what: &str, done: &dyn Fn(&Value) -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let s = status(client);
                if done(&s) {
                    return s;
                }
                assert!(std::time::Instant::now() < deadline, "{what}: {s}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        };
        editor.settle(piano(key::Code::KeyZ, true));
        editor.settle(piano(key::Code::KeyZ, true));
        editor.settle(piano(key::Code::KeyA, true));
        let sounding = until(&client, "the note sounds", &|s| {
            s["voices"] == 1 && s["bus_rms_db"]["main"].as_f64().is_some_and(|db| db > -30.0)
        });
        assert_eq!(sounding["dropped"]["midi"], 0);
        editor.settle(piano(key::Code::KeyA, false));
        until(&client, "the note ends", &|s| s["voices"] == 0);

        press(&mut editor, "Sine Lead");
        assert_eq!(instrument(&client), setting("Sine Lead"));
        press(&mut editor, "Cancel");
        assert_eq!(instrument(&client), beep, "both tries were one undo step");

        press(&mut editor, "Sine Lead");
        press(&mut editor, "Keep");
        press(&mut editor, "Sine Bass");
        press(&mut editor, "Cancel");
        assert_eq!(instrument(&client), setting("Sine Lead"), "a browse after Keep is a step of its own");
    }

    /// MIDI learn: with Learn on, a control change sent to the server (as a device would) comes
    /// back as its event; dragging the cutoff's bar then binds that controller to the cutoff on
    /// the server (the cutoff keeps its value, the drag's further moves change nothing), shown
    /// beside the parameter; × lets go of it and undo brings it back.
    #[test]
    fn midi_learn_binds_the_control_moved_to_the_parameter_moved_next() {
        let (_dir, _server, client, mut editor) = on_loose_patch("editor-learn");
        let mut events = client.clone().events();
        editor.settle(click_node(&editor, "lead"));
        press(&mut editor, "Learn");
        assert!(editor.status().contains("move a control"), "{}", editor.status());

        let cc = json!({ "node": "keys", "events": [{ "type": "cc", "channel": 2, "controller": 21, "value": 90 }] });
        client.block_on(client.clone().call(reqwest::Method::POST, "/midi", Some(cc))).unwrap();
        loop {
            match next_event(&client, &mut events, &mut editor) {
                event @ ServerEvent::MidiCc(_) => {
                    editor.settle([Message::Server(event)]);
                    break;
                }
                other => editor.settle([Message::Server(other)]),
            }
        }
        assert!(editor.status().contains("CC 21 on channel 2"), "{}", editor.status());

        let dragged = act(&editor, |ui| {
            let bar = ui.find(selector::id(slider_id("cutoff_hz"))).expect("the bar").bounds();
            let start = bar.center();
            drag_pointer(ui, start, &[Point::new(start.x + 30.0, start.y), Point::new(start.x + 60.0, start.y)]);
        });
        editor.settle(dragged);
        let graph = client.block_on(client.clone().graph()).unwrap();
        assert_eq!(
            graph["graph"]["midi_map"],
            json!([{ "cc": 21, "channel": 2, "param": "lead.cutoff_hz", "min": 20.0, "max": 20000.0 }])
        );
        assert!(
            server_node(&client, "lead").unwrap()["params"].get("cutoff_hz").is_none(),
            "the cutoff kept its value"
        );
        act(&editor, |ui| {
            assert!(ui.find("CC 21 · ch 2").is_ok(), "the binding beside its parameter");
        });

        press(&mut editor, "Learn");
        press(&mut editor, "×");
        assert!(client.block_on(client.clone().graph()).unwrap()["graph"].get("midi_map").is_none(), "let go");
        editor.settle([Message::Command(Command::Undo)]);
        assert_eq!(client.block_on(client.clone().graph()).unwrap()["graph"]["midi_map"][0]["cc"], 21, "undone");
    }

    /// The file chooser: the bundle path chosen by walking folders (other kinds of file left
    /// out) and imported; a sampler's instrument chosen the same way and loaded on the server.
    #[test]
    fn files_are_chosen_by_walking_folders_for_bundles_and_instruments() {
        use noderack_tests::fixtures::{sine_wave, write_text, write_wav};
        let (dir, _server, client, mut editor) = on_loose_patch("editor-picker");
        std::fs::create_dir(dir.join("bundles")).unwrap();
        let bundle = dir.join("bundles").join("take.nrbundle");
        press(&mut editor, "Files");
        editor.settle(type_into(&editor, "bundle-path", bundle.to_str().unwrap()));
        press(&mut editor, "Export");
        editor.settle([Message::Palette(PaletteMessage::Add("gain".into()))]);
        assert!(server_node(&client, "gain").is_some());

        editor.settle(type_into(&editor, "bundle-path", &format!("{}/", dir.display())));
        press(&mut editor, "Browse…");
        act(&editor, |ui| {
            assert!(ui.find("bundles/").is_ok(), "the folder");
            assert!(ui.find("loose.json").is_err(), "not a bundle: left out");
        });
        press(&mut editor, "bundles/");
        press(&mut editor, "take.nrbundle");
        act(&editor, |ui| {
            assert!(ui.find("take.nrbundle").is_err(), "chosen: the chooser closed");
        });
        press(&mut editor, "Import");
        assert!(server_node(&client, "gain").is_none(), "the chosen bundle's graph plays");

        // An instrument for a sampler, chosen from this machine's files.
        write_wav(&dir, "tone.wav", 48_000, &sine_wave(440.0, 48_000, 0.5, 0.5));
        write_text(&dir, "tone.sfz", "<region> sample=tone.wav pitch_keycenter=69\n");
        editor.settle([Message::Palette(PaletteMessage::Add("sampler".into()))]);
        press(&mut editor, "Nodes"); // one Browse… on screen: the inspector's
        editor.settle(type_into(&editor, "instrument", &format!("{}/", dir.display())));
        press(&mut editor, "Browse…");
        press(&mut editor, "tone.sfz");
        press(&mut editor, "Load");
        let loaded = server_node(&client, "sampler").unwrap()["config"]["instrument"].clone();
        let sfz = std::fs::canonicalize(dir.join("tone.sfz")).unwrap();
        assert_eq!(loaded, json!({ "sfz": sfz.to_str().unwrap() }));
    }
}
