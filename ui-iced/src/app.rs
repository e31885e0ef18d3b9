//! The editor window: the graph view of the server's graph, edits sent through the control
//! API and the graph read back after each, errors shown in the status line (never a crash).

use std::sync::Arc;

use iced::widget::{canvas, column, container, text};
use iced::{Element, Fill, Task, Theme};
use serde_json::{json, Value};

use crate::client::{Client, ClientError, EmbeddedServer};
use crate::geometry::{Camera, PortRef};
use crate::graph_view::{GraphMessage, GraphView, FONT, PALETTE};
use crate::model::GraphModel;

/// Window size the editor opens at.
pub const WINDOW: (f32, f32) = (1280.0, 800.0);

/// The editor's state.
pub struct Editor {
    client: Arc<Client>,
    /// Kept alive while the editor runs (the embedded engine).
    _server: Option<EmbeddedServer>,
    model: Option<GraphModel>,
    camera: Option<Camera>,
    selected: Option<usize>,
    status: String,
}

/// What happens in the editor.
#[derive(Debug, Clone)]
pub enum Message {
    /// The graph arrived (or did not).
    Loaded(Result<Value, ClientError>),
    /// The graph view asked for something.
    Graph(GraphMessage),
    /// An edit was applied (or refused).
    Edited(Result<Value, ClientError>),
}

impl Editor {
    /// An editor of the server `client` talks to (`server`: the embedded one, if it started it).
    pub fn new(client: Arc<Client>, server: Option<EmbeddedServer>) -> (Editor, Task<Message>) {
        let status = format!("connecting to {}", client.api());
        let load = Task::perform(client.clone().graph(), Message::Loaded);
        (Editor { client, _server: server, model: None, camera: None, selected: None, status }, load)
    }

    fn reload(&self) -> Task<Message> {
        Task::perform(self.client.clone().graph(), Message::Loaded)
    }

    fn edit(&self, edits: Vec<Value>) -> Task<Message> {
        Task::perform(self.client.clone().edits(edits), Message::Edited)
    }

    /// Handles `message`.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Loaded(Ok(reply)) => match GraphModel::from_api(&reply) {
                Ok(model) => {
                    self.status = format!("{} — revision {}", self.client.api(), model.revision);
                    if self.camera.is_none() {
                        self.camera = Some(Camera::fitting(&model, WINDOW.0, WINDOW.1 - 30.0));
                    }
                    self.selected = self.selected.filter(|&s| s < model.nodes.len());
                    self.model = Some(model);
                }
                Err(e) => self.status = e.to_string(),
            },
            Message::Loaded(Err(e)) => self.status = e.to_string(),
            Message::Edited(Ok(_)) => return self.reload(),
            Message::Edited(Err(e)) => {
                self.status = e.to_string();
                return self.reload();
            }
            Message::Graph(GraphMessage::Select(node)) => self.selected = node,
            Message::Graph(GraphMessage::Camera(camera)) => self.camera = Some(camera),
            Message::Graph(GraphMessage::Drag(node, position)) => {
                if let Some(n) = self.model.as_mut().and_then(|m| m.nodes.get_mut(node)) {
                    n.position = position;
                }
            }
            Message::Graph(message @ (GraphMessage::Dropped(_) | GraphMessage::Connect(..))) => {
                if let Some(edit) = self.model.as_ref().and_then(|m| edit_for(m, &message)) {
                    return self.edit(vec![edit]);
                }
            }
        }
        Task::none()
    }

    /// The window's contents.
    pub fn view(&self) -> Element<'_, Message> {
        let graph: Element<'_, Message> = match &self.model {
            Some(model) => {
                let view = GraphView { model, camera: self.camera.unwrap_or_default(), selected: self.selected };
                Element::from(canvas(view).width(Fill).height(Fill)).map(Message::Graph)
            }
            None => container(text("waiting for the graph…").color(PALETTE.text)).center(Fill).into(),
        };
        let status = container(text(&self.status).size(13).color(PALETTE.text)).padding(6).width(Fill);
        column![graph, status].into()
    }

    /// The editor's theme.
    pub fn theme(&self) -> Theme {
        Theme::Dark
    }
}

/// The API edit a graph-view message stands for: a dropped node is moved where it lies, a
/// cable drawn is a connection. `None` for messages that change only the view.
pub fn edit_for(model: &GraphModel, message: &GraphMessage) -> Option<Value> {
    let port_name = |port: PortRef, output: bool| {
        let node = model.nodes.get(port.node)?;
        let side = if output { &node.outputs } else { &node.inputs };
        Some(format!("{}.{}", node.id, side.get(port.port)?.name))
    };
    match *message {
        GraphMessage::Dropped(node) => {
            let n = model.nodes.get(node)?;
            Some(json!({ "op": "move", "id": n.id, "position": [n.position[0].round(), n.position[1].round()] }))
        }
        GraphMessage::Connect(from, to) => {
            Some(json!({ "op": "connect", "from": port_name(from, true)?, "to": port_name(to, false)? }))
        }
        _ => None,
    }
}

/// Opens the editor window on `client`'s server; returns when it is closed.
pub fn run(client: Arc<Client>, server: Option<EmbeddedServer>) -> iced::Result {
    let boot = std::sync::Mutex::new(Some((client, server)));
    iced::application(
        move || {
            let (client, server) = boot.lock().ok().and_then(|mut b| b.take()).expect("the editor boots once");
            Editor::new(client, server)
        },
        Editor::update,
        Editor::view,
    )
    .title("noderack editor")
    .window_size(WINDOW)
    .theme(Editor::theme)
    .default_font(FONT)
    .run()
}
