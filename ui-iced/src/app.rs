//! The editor window: the node palette, the graph view and the selected node's inspector.
//! Every change is an edit sent through the control API and the graph is read back after
//! structural ones; errors are shown where they happened (the field, the status line), never
//! a crash.
//!
//! [`Editor::update`] returns what to ask the server ([`Request`]) instead of doing it, so the
//! window runs the requests as iced tasks and scripts and tests run them one by one
//! ([`Editor::settle`]). Edits leave one at a time, in order: a parameter dragged faster than
//! the server answers sends its latest value when the previous edit is answered, and a whole
//! drag is one undo step (`"continues"`).

use std::collections::VecDeque;
use std::sync::Arc;

use iced::widget::{button, column, container, row, text};
use iced::{event, keyboard, window, Element, Fill, Length, Subscription, Task, Theme};
use reqwest::Method;
use serde_json::{json, Value};

use crate::browser::{
    browser, found_presets, note_of, note_source, piano_key, Browser, BrowserMessage, Download, PianoKey, MOST_OCTAVES,
};
use crate::client::{path_segment, Client, ClientError, EmbeddedServer, ServerEvent};
use crate::file_picker::{FilePicker, PickerMessage};
use crate::files::{files, listed_bundles, patch_names, Files, FilesMessage, BUNDLE_EXTENSIONS};
use crate::geometry::{Camera, PortRef};
use crate::graph_view::{GraphMessage, GraphView, FONT, PALETTE};
use crate::inspector::{inspector, instrument_setting, several, Drafts, InspectorMessage, INSTRUMENT_EXTENSIONS};
use crate::kinds::NodeKinds;
use crate::learn::{Control, Learn};
use crate::meters::{bus_levels, meters, BusLevel};
use crate::model::{GraphModel, PortKind};
use crate::palette::{palette, PaletteMessage};
use crate::param_slider::SliderMessage;
use crate::rack::{rack, RackMessage, SlotDraft};

/// Window size the editor opens at.
pub const WINDOW: (f32, f32) = (1280.0, 800.0);
/// The id of the graph view's container (where the canvas lies in the window).
pub const GRAPH_ID: &str = "graph";
/// Width of the palette.
pub const PALETTE_WIDTH: f32 = 250.0;
/// Width of the inspector.
pub const INSPECTOR_WIDTH: f32 = 330.0;

/// The editor's state.
pub struct Editor {
    client: Arc<Client>,
    /// Kept alive while the editor runs (the embedded engine).
    _server: Option<EmbeddedServer>,
    model: Option<GraphModel>,
    kinds: NodeKinds,
    camera: Option<Camera>,
    /// The selected nodes, by id (indices change when the graph is read back).
    selection: Vec<String>,
    drafts: Drafts,
    query: String,
    view: View,
    panel: Panel,
    files: Files,
    browser: Browser,
    learn: Learn,
    /// The file chooser, when open, and the field it fills.
    picker: Option<(PickTarget, FilePicker)>,
    slot_draft: SlotDraft,
    status: String,
    /// The engine's health, one line, from its last status.
    health: String,
    /// Each bus's peak level in dB (`None`: silent), from its last status.
    meters: Vec<BusLevel>,
    /// Whether the connection to the server is lost (and being made again).
    lost: bool,
    /// Changes waiting for the one in flight to be answered.
    outbox: VecDeque<Change>,
    in_flight: bool,
    /// What to read again when the change in flight is answered.
    after_sent: Vec<Request>,
    /// The parameter being dragged (node, parameter): its further values continue the drag's
    /// undo step.
    gesture: Option<(String, String)>,
}

/// A change sent to the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// An edit batch; `continues`: part of the last change; `reload`: read the graph back
    /// after it (its shape changed).
    Edits {
        /// The edits.
        edits: Vec<Value>,
        /// Part of the last change (one undo step).
        continues: bool,
        /// Read the graph back afterwards.
        reload: bool,
    },
    /// Undo this editor's last change.
    Undo,
    /// Redo it.
    Redo,
    /// Save the graph on the server under a name.
    Save(String),
    /// Make a saved patch the graph.
    Open(String),
    /// Make the bundle file at a path the graph.
    Import(std::path::PathBuf),
    /// Install a registry bundle (by id) and make it the graph.
    Install(String),
    /// Load an instrument into a sampler.
    Instrument {
        /// The sampler.
        node: String,
        /// The instrument setting.
        setting: Value,
        /// Part of the last change (a browse's tries: one undo step).
        continues: bool,
    },
}

/// What the editor asks of the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// The graph.
    Graph,
    /// The node kinds.
    Kinds,
    /// The saved patches.
    Patches,
    /// The registry's bundles matching some words.
    Registry(String),
    /// The graph as a bundle file, written to a path.
    Export(std::path::PathBuf),
    /// The graph published to the registry.
    Publish,
    /// The library's presets matching some words; `true`: after fetching its indexes anew.
    Presets(String, bool),
    /// Events played into a `midi-in` node (a `POST /midi` body): not a change of the graph.
    Midi(Value),
    /// A change.
    Send(Change),
}

impl Request {
    /// Asks the server; the answer as the message the editor handles next.
    pub async fn run(self, client: Arc<Client>) -> Message {
        match self {
            Request::Graph => Message::Loaded(client.graph().await),
            Request::Kinds => Message::KindsLoaded(client.node_kinds().await),
            Request::Patches => Message::PatchesListed(client.call(Method::GET, "/patches", None).await),
            Request::Registry(words) => {
                let path = format!("/registry?q={}", path_segment(&words));
                Message::RegistryListed(client.call(Method::GET, &path, None).await)
            }
            Request::Export(path) => Message::Exported(export(client, path).await),
            Request::Presets(words, refresh) => {
                let refresh = if refresh { "&refresh=true" } else { "" };
                let path = format!("/library/presets?q={}{refresh}", path_segment(&words));
                Message::PresetsListed(client.call(Method::GET, &path, None).await)
            }
            Request::Midi(body) => Message::Played(client.call(Method::POST, "/midi", Some(body)).await),
            Request::Publish => {
                let published = match client.clone().bytes(Method::GET, "/bundle", None).await {
                    Ok(bundle) => client.bytes(Method::POST, "/registry", Some(bundle)).await.map(|b| json_of(&b)),
                    Err(e) => Err(e),
                };
                Message::Published(published)
            }
            Request::Send(change) => {
                let result = match change {
                    Change::Edits { edits, continues, .. } => client.edits(edits, continues).await,
                    Change::Undo => client.undo().await,
                    Change::Redo => client.redo().await,
                    Change::Save(name) => {
                        client.call(Method::PUT, &format!("/patches/{}", path_segment(&name)), None).await
                    }
                    Change::Open(name) => {
                        client.call(Method::POST, &format!("/patches/{}/load", path_segment(&name)), None).await
                    }
                    Change::Import(path) => match std::fs::read(&path) {
                        Ok(bundle) => client.bytes(Method::POST, "/bundle", Some(bundle)).await.map(|b| json_of(&b)),
                        Err(e) => Err(ClientError::File { path: path.display().to_string(), reason: e.to_string() }),
                    },
                    Change::Install(id) => {
                        match client.clone().bytes(Method::GET, &format!("/registry/{}", path_segment(&id)), None).await
                        {
                            Ok(bundle) => {
                                client.bytes(Method::POST, "/bundle", Some(bundle)).await.map(|b| json_of(&b))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Change::Instrument { node, setting, continues } => {
                        let continues = if continues { "?continues=true" } else { "" };
                        let path = format!("/nodes/{}/instrument{continues}", path_segment(&node));
                        client.call(Method::PUT, &path, Some(setting)).await
                    }
                };
                Message::Sent(result)
            }
        }
    }
}

/// Which view the window shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The node graph, with the palette.
    Graph,
    /// The rack of slots.
    Rack,
}

/// A reply's bytes as JSON (a string where they are not JSON).
fn json_of(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
}

/// Writes the graph, as a bundle file, to `path`; what was written.
async fn export(client: Arc<Client>, path: std::path::PathBuf) -> Result<String, ClientError> {
    let bundle = client.bytes(Method::GET, "/bundle", None).await?;
    std::fs::write(&path, &bundle)
        .map_err(|e| ClientError::File { path: path.display().to_string(), reason: e.to_string() })?;
    Ok(format!("wrote the graph as a bundle to {} ({} bytes)", path.display(), bundle.len()))
}

/// The field a file chooser fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickTarget {
    /// The files panel's bundle path.
    Bundle,
    /// The inspector's instrument.
    Instrument,
}

/// What the left side of the window shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The node palette.
    Nodes,
    /// Saving, opening, bundles and the registry.
    Files,
    /// The preset library.
    Presets,
}

/// Commands from the keyboard and the toolbar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Ctrl+Z.
    Undo,
    /// Ctrl+Shift+Z, Ctrl+Y.
    Redo,
    /// Delete, Backspace: remove the selected node.
    Delete,
    /// Ctrl+D: add a copy of the selected nodes (and the cables among them).
    Duplicate,
    /// Ctrl+A: select every node.
    SelectAll,
}

/// What happens in the editor.
#[derive(Debug, Clone)]
pub enum Message {
    /// The graph arrived (or did not).
    Loaded(Result<Value, ClientError>),
    /// The node kinds arrived.
    KindsLoaded(Result<Value, ClientError>),
    /// The server's WebSocket said something.
    Server(ServerEvent),
    /// A change was answered.
    Sent(Result<Value, ClientError>),
    /// The graph view asked for something.
    Graph(GraphMessage),
    /// The palette.
    Palette(PaletteMessage),
    /// The inspector.
    Inspector(InspectorMessage),
    /// The rack.
    Rack(RackMessage),
    /// Show a view.
    Show(View),
    /// Show a panel on the left.
    ShowPanel(Panel),
    /// The files panel.
    Files(FilesMessage),
    /// The saved patches arrived.
    PatchesListed(Result<Value, ClientError>),
    /// The registry's search results arrived.
    RegistryListed(Result<Value, ClientError>),
    /// The bundle file was written (or not).
    Exported(Result<String, ClientError>),
    /// The graph was published (or not).
    Published(Result<Value, ClientError>),
    /// The preset browser.
    Browser(BrowserMessage),
    /// The library's search results arrived.
    PresetsListed(Result<Value, ClientError>),
    /// A key of the computer keyboard that plays notes went down (`true`) or up.
    Key(PianoKey, bool),
    /// Played notes were answered.
    Played(Result<Value, ClientError>),
    /// MIDI learn on or off.
    Learn,
    /// A command.
    Command(Command),
}

impl Editor {
    /// An editor of the server `client` talks to (`server`: the embedded one, if it started it),
    /// and what to ask first.
    pub fn new(client: Arc<Client>, server: Option<EmbeddedServer>) -> (Editor, Vec<Request>) {
        let status = format!("connecting to {}", client.api());
        let editor = Editor {
            client,
            _server: server,
            model: None,
            kinds: NodeKinds::default(),
            camera: None,
            selection: Vec::new(),
            drafts: Drafts::default(),
            query: String::new(),
            view: View::Graph,
            panel: Panel::Nodes,
            files: Files::default(),
            browser: Browser::default(),
            learn: Learn::default(),
            picker: None,
            slot_draft: SlotDraft::default(),
            status,
            health: String::new(),
            meters: Vec::new(),
            lost: false,
            outbox: VecDeque::new(),
            in_flight: false,
            after_sent: Vec::new(),
            gesture: None,
        };
        (editor, vec![Request::Graph, Request::Kinds])
    }

    /// The graph as last read (with local changes not yet read back).
    pub fn model(&self) -> Option<&GraphModel> {
        self.model.as_ref()
    }

    /// The selected node's id, when exactly one is selected.
    pub fn selected(&self) -> Option<&str> {
        match self.selection.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Every selected node's id.
    pub fn selection(&self) -> &[String] {
        &self.selection
    }

    /// The status line.
    pub fn status(&self) -> &str {
        &self.status
    }

    /// The node kinds the server has.
    pub fn kinds(&self) -> &NodeKinds {
        &self.kinds
    }

    /// The camera.
    pub fn camera(&self) -> Camera {
        self.camera.unwrap_or_default()
    }

    /// Handles `messages` and every request they lead to, waiting for each answer, until
    /// nothing is left to do: the editor without a window (scripts, tests).
    pub fn settle(&mut self, messages: impl IntoIterator<Item = Message>) {
        let mut queue: VecDeque<Message> = messages.into_iter().collect();
        while let Some(message) = queue.pop_front() {
            for request in self.update(message) {
                queue.push_back(self.client.block_on(request.run(self.client.clone())));
            }
        }
    }

    /// Queues `change` behind the one in flight.
    fn send(&mut self, change: Change) -> Vec<Request> {
        // Any other change ends a browse: its next try starts an undo step of its own.
        self.browser.trying = None;
        // A drag's newer value replaces a queued older one of the same parameter.
        if let (
            Change::Edits { edits, continues: true, .. },
            Some(Change::Edits { edits: queued, continues: true, .. }),
        ) = (&change, self.outbox.back_mut())
        {
            let same = |a: &[Value], b: &[Value]| matches!((a, b), ([x], [y]) if x["op"] == "set" && y["op"] == "set" && x["id"] == y["id"] && x["param"] == y["param"]);
            if same(edits, queued) {
                *queued = edits.clone();
                return Vec::new();
            }
        }
        self.outbox.push_back(change);
        self.flush()
    }

    /// Sends the next queued change if none is in flight.
    fn flush(&mut self) -> Vec<Request> {
        if self.in_flight {
            return Vec::new();
        }
        match self.outbox.pop_front() {
            Some(change) => {
                self.in_flight = true;
                self.after_sent = match &change {
                    Change::Edits { reload: false, .. } => Vec::new(),
                    Change::Save(_) => vec![Request::Patches],
                    _ => vec![Request::Graph],
                };
                vec![Request::Send(change)]
            }
            None => Vec::new(),
        }
    }

    /// Handles `message`; what to ask the server.
    pub fn update(&mut self, message: Message) -> Vec<Request> {
        match message {
            Message::Loaded(Ok(reply)) => match GraphModel::from_api(&reply) {
                // An answer older than what is shown (it crossed a newer one) is dropped.
                Ok(model) if self.model.as_ref().is_some_and(|m| m.revision > model.revision) => {}
                Ok(model) => {
                    if self.camera.is_none() {
                        self.camera = Some(Camera::fitting(&model, GRAPH_VIEW.0, GRAPH_VIEW.1));
                    }
                    let kept: Vec<String> =
                        self.selection.iter().filter(|id| model.index_of(id).is_some()).cloned().collect();
                    if kept.len() != self.selection.len() {
                        self.select_all_of(kept);
                    }
                    self.model = Some(model);
                }
                Err(e) => self.status = e.to_string(),
            },
            Message::Loaded(Err(e)) | Message::KindsLoaded(Err(e)) => self.status = e.to_string(),
            Message::KindsLoaded(Ok(reply)) => match NodeKinds::from_api(&reply) {
                Ok(kinds) => self.kinds = kinds,
                Err(e) => self.status = e.to_string(),
            },
            Message::Server(event) => return self.server_event(event),
            Message::Sent(result) => {
                self.in_flight = false;
                let mut after = std::mem::take(&mut self.after_sent);
                match result {
                    Ok(reply) => {
                        if let Some(summary) = reply["summary"].as_str().filter(|s| !s.is_empty()) {
                            self.status = summary.to_string();
                        }
                    }
                    Err(e) => {
                        // What the editor shows may now differ from the server: read it back.
                        self.status = e.to_string();
                        self.files.note = self.status.clone();
                        self.gesture = None;
                        if !after.contains(&Request::Graph) {
                            after.push(Request::Graph);
                        }
                    }
                }
                let mut requests = self.flush();
                requests.extend(after);
                return requests;
            }
            Message::ShowPanel(panel) => {
                self.panel = panel;
                if panel == Panel::Files {
                    return vec![Request::Patches];
                }
                if panel == Panel::Presets && self.browser.found.is_empty() {
                    return vec![Request::Presets(self.browser.query.trim().to_string(), false)];
                }
            }
            Message::Files(message) => return self.files_message(message),
            Message::Browser(message) => return self.browser_message(message),
            Message::PresetsListed(Ok(reply)) => {
                (self.browser.found, self.browser.more) = found_presets(&reply);
                self.browser.tried = None;
                self.browser.note = format!("{} presets found", self.browser.found.len() as u64 + self.browser.more);
            }
            Message::PresetsListed(Err(e)) => self.browser.note = e.to_string(),
            Message::Key(key, down) => return self.play_key(key, down),
            Message::Played(Ok(_)) => {}
            Message::Learn => {
                self.learn = Learn { on: !self.learn.on, ..Learn::default() };
                self.status = if self.learn.on {
                    "MIDI learn: move a control on your MIDI device, then the parameter it should move".into()
                } else {
                    "MIDI learn off".into()
                };
            }
            Message::Played(Err(e)) => self.browser.note = e.to_string(),
            Message::PatchesListed(Ok(reply)) => self.files.patches = patch_names(&reply),
            Message::RegistryListed(Ok(reply)) => {
                self.files.bundles = listed_bundles(&reply);
                self.files.note = format!("{} bundles found", self.files.bundles.len());
            }
            Message::Exported(Ok(note)) => self.files.note = note,
            Message::Published(Ok(reply)) => {
                let new = if reply["new"] == true { "published" } else { "already in the registry" };
                self.files.note = format!("{new}: {}", reply["entry"]["id"].as_str().unwrap_or("?"));
            }
            Message::PatchesListed(Err(e))
            | Message::RegistryListed(Err(e))
            | Message::Exported(Err(e))
            | Message::Published(Err(e)) => self.files.note = e.to_string(),
            Message::Graph(message) => return self.graph_message(message),
            Message::Palette(PaletteMessage::Search(query)) => self.query = query,
            Message::Palette(PaletteMessage::Add(kind)) => return self.add_node(&kind),
            Message::Inspector(message) => return self.inspector_message(message),
            Message::Rack(message) => return self.rack_message(message),
            Message::Show(view) => self.view = view,
            Message::Command(command) => return self.command(command),
        }
        Vec::new()
    }

    fn server_event(&mut self, event: ServerEvent) -> Vec<Request> {
        match event {
            ServerEvent::Connected { .. } => {
                let again = self.lost;
                self.lost = false;
                if again {
                    // A server that came back may hold another graph (a restart): read it all.
                    self.status = format!("connected to {} again", self.client.api());
                    self.model = None;
                    self.in_flight = false;
                    self.outbox.clear();
                    return vec![Request::Graph, Request::Kinds];
                }
            }
            ServerEvent::Changed { revision, session } => {
                let behind = self.model.as_ref().is_none_or(|m| m.revision < revision);
                if session != self.client.session() && behind {
                    return vec![Request::Graph];
                }
            }
            ServerEvent::Meters(status) => {
                self.health = health_line(&status);
                self.meters = bus_levels(&status);
            }
            ServerEvent::Download(event) => self.browser.download = Download::from_event(&event),
            ServerEvent::MidiCc(event) => {
                if let Some(control) = Control::from_event(&event).filter(|_| self.learn.on) {
                    self.learn.control = Some(control);
                    self.status = format!(
                        "MIDI learn: CC {} on channel {}; now move the parameter it should move",
                        control.controller, control.channel
                    );
                }
            }
            ServerEvent::Lost(reason) => {
                self.lost = true;
                self.meters.clear();
                self.health.clear();
                self.status = format!("{reason}; trying again every second");
            }
        }
        Vec::new()
    }

    fn files_message(&mut self, message: FilesMessage) -> Vec<Request> {
        let path = || std::path::PathBuf::from(self.files.path.trim());
        match message {
            FilesMessage::Name(name) => self.files.name = name,
            FilesMessage::Path(path) => self.files.path = path,
            FilesMessage::Browse => self.browse(PickTarget::Bundle),
            FilesMessage::Picker(message) => {
                if let Some(path) = self.picked(PickTarget::Bundle, &message) {
                    self.files.path = path.display().to_string();
                }
            }
            FilesMessage::Query(query) => self.files.query = query,
            FilesMessage::Refresh => return vec![Request::Patches],
            FilesMessage::Save => {
                let name = self.files.name.trim().to_string();
                if name.is_empty() {
                    self.files.note = "type a name to save under".into();
                } else {
                    self.files.note = format!("saved as \"{name}\"");
                    return self.send(Change::Save(name));
                }
            }
            FilesMessage::Open(name) => {
                self.files.note = format!("opened \"{name}\"");
                return self.send(Change::Open(name));
            }
            FilesMessage::Export | FilesMessage::Import if self.files.path.trim().is_empty() => {
                self.files.note = "type the bundle file's path".into();
            }
            FilesMessage::Export => return vec![Request::Export(path())],
            FilesMessage::Import => {
                self.files.note = format!("imported {}", path().display());
                return self.send(Change::Import(path()));
            }
            FilesMessage::Search => return vec![Request::Registry(self.files.query.trim().to_string())],
            FilesMessage::Install(id) => {
                self.files.note = format!("installed {id}");
                return self.send(Change::Install(id));
            }
            FilesMessage::Publish => return vec![Request::Publish],
        }
        Vec::new()
    }

    /// Opens the file chooser for `target` near what its field holds, or closes it if it is
    /// open for it.
    fn browse(&mut self, target: PickTarget) {
        if self.picker.as_ref().is_some_and(|(t, _)| *t == target) {
            self.picker = None;
            return;
        }
        let (near, extensions) = match target {
            PickTarget::Bundle => (&self.files.path, BUNDLE_EXTENSIONS),
            PickTarget::Instrument => (&self.drafts.instrument, INSTRUMENT_EXTENSIONS),
        };
        self.picker = Some((target, FilePicker::open(near, extensions)));
    }

    /// Hands `message` to the file chooser open for `target`; the file chosen (which closes it).
    fn picked(&mut self, target: PickTarget, message: &PickerMessage) -> Option<std::path::PathBuf> {
        let (open_for, picker) = self.picker.as_mut()?;
        if *open_for != target {
            return None;
        }
        let chosen = picker.update(message);
        if chosen.is_some() || *message == PickerMessage::Close {
            self.picker = None;
        }
        chosen
    }

    /// The sampler the browser tries presets in: the selected node, if it is one.
    fn browse_target(&self) -> Option<&str> {
        let id = self.selected()?;
        let model = self.model.as_ref()?;
        (model.nodes.get(model.index_of(id)?)?.kind == "sampler").then_some(id)
    }

    fn browser_message(&mut self, message: BrowserMessage) -> Vec<Request> {
        match message {
            BrowserMessage::Query(query) => self.browser.query = query,
            BrowserMessage::Search => return vec![Request::Presets(self.browser.query.trim().to_string(), false)],
            BrowserMessage::Refresh => return vec![Request::Presets(self.browser.query.trim().to_string(), true)],
            BrowserMessage::Try(index) => {
                let (Some(target), Some(found)) =
                    (self.browse_target().map(str::to_string), self.browser.found.get(index).cloned())
                else {
                    self.browser.note = "select a sampler to try presets in".into();
                    return Vec::new();
                };
                let continues = self.browser.trying.as_deref() == Some(target.as_str());
                let requests =
                    self.send(Change::Instrument { node: target.clone(), setting: found.instrument, continues });
                self.browser.trying = Some(target.clone());
                self.browser.tried = Some(index);
                self.browser.note = format!("{} in {target}", found.preset);
                return requests;
            }
            BrowserMessage::Keep => {
                self.browser.trying = None;
                self.browser.note = "kept".into();
            }
            BrowserMessage::Cancel => {
                if self.browser.trying.is_some() {
                    self.browser.tried = None;
                    self.browser.note = "the instrument from before the browse is back".into();
                    return self.send(Change::Undo);
                }
            }
        }
        Vec::new()
    }

    /// A key of the computer keyboard pressed (`down`) or released while the browser is shown:
    /// a note into the browsed sampler's MIDI input, or the keyboard's octave moved.
    fn play_key(&mut self, key: PianoKey, down: bool) -> Vec<Request> {
        if self.panel != Panel::Presets {
            return Vec::new();
        }
        let step = match (key, down) {
            (PianoKey::OctaveDown, true) => {
                self.browser.octave = (self.browser.octave - 1).max(-MOST_OCTAVES);
                return Vec::new();
            }
            (PianoKey::OctaveUp, true) => {
                self.browser.octave = (self.browser.octave + 1).min(MOST_OCTAVES);
                return Vec::new();
            }
            (PianoKey::Note(step), _) => step,
            _ => return Vec::new(),
        };
        let held = self.browser.held.iter().position(|&(s, _)| s == step);
        if down == held.is_some() {
            return Vec::new();
        }
        let Some((source, channel)) = self.browse_target().and_then(|target| note_source(self.model.as_ref()?, target))
        else {
            return Vec::new();
        };
        let event = match held {
            None => {
                let note = note_of(step, self.browser.octave);
                self.browser.held.push((step, note));
                json!({ "type": "note_on", "channel": channel, "key": note, "velocity": 100 })
            }
            // The note the key started, even if the octave moved since.
            Some(at) => {
                let (_, note) = self.browser.held.remove(at);
                json!({ "type": "note_off", "channel": channel, "key": note })
            }
        };
        vec![Request::Midi(json!({ "node": source, "events": [event] }))]
    }

    /// Selects node `id` alone (`None`: nothing).
    fn select(&mut self, id: Option<String>) {
        self.select_all_of(id.into_iter().collect());
    }

    /// Selects exactly `ids`.
    fn select_all_of(&mut self, ids: Vec<String>) {
        if ids != self.selection {
            self.drafts = Drafts::default();
            self.gesture = None;
        }
        self.selection = ids;
    }

    /// The ids of the nodes at `indices` of the graph.
    fn ids_of(&self, indices: &[usize]) -> Vec<String> {
        let Some(model) = &self.model else { return Vec::new() };
        indices.iter().filter_map(|&i| model.nodes.get(i)).map(|n| n.id.clone()).collect()
    }

    fn graph_message(&mut self, message: GraphMessage) -> Vec<Request> {
        match message {
            GraphMessage::Select(node) => {
                let id = node.and_then(|n| self.model.as_ref()?.nodes.get(n)).map(|n| n.id.clone());
                self.select(id);
            }
            GraphMessage::Camera(camera) => self.camera = Some(camera),
            GraphMessage::Toggle(node) => {
                let mut ids = self.selection.clone();
                for id in self.ids_of(&[node]) {
                    match ids.iter().position(|x| *x == id) {
                        Some(at) => {
                            ids.remove(at);
                        }
                        None => ids.push(id),
                    }
                }
                self.select_all_of(ids);
            }
            GraphMessage::SelectIn(nodes) => {
                let mut ids = self.selection.clone();
                for id in self.ids_of(&nodes) {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                self.select_all_of(ids);
            }
            GraphMessage::Drag(node, position) => {
                let moving = self.moving_with(node);
                if let Some(model) = self.model.as_mut() {
                    let Some(dragged) = model.nodes.get(node) else { return Vec::new() };
                    let delta = [position[0] - dragged.position[0], position[1] - dragged.position[1]];
                    for i in moving {
                        let n = &mut model.nodes[i];
                        n.position = [n.position[0] + delta[0], n.position[1] + delta[1]];
                    }
                }
            }
            GraphMessage::Dropped(node) => {
                let moving = self.moving_with(node);
                let edits: Vec<Value> = moving
                    .into_iter()
                    .filter_map(|i| self.model.as_ref().and_then(|m| edit_for(m, &GraphMessage::Dropped(i))))
                    .collect();
                if !edits.is_empty() {
                    return self.send(Change::Edits { edits, continues: false, reload: false });
                }
            }
            GraphMessage::Connect(..) => {
                if let Some(edit) = self.model.as_ref().and_then(|m| edit_for(m, &message)) {
                    return self.send(Change::Edits { edits: vec![edit], continues: false, reload: true });
                }
            }
        }
        Vec::new()
    }

    /// The nodes that move when `node` is dragged: the whole selection if it is in it, else
    /// itself.
    fn moving_with(&self, node: usize) -> Vec<usize> {
        let Some(model) = &self.model else { return Vec::new() };
        let in_selection = model.nodes.get(node).is_some_and(|n| self.selection.contains(&n.id));
        if in_selection {
            self.selection.iter().filter_map(|id| model.index_of(id)).collect()
        } else {
            vec![node]
        }
    }

    /// A free node id made of `name` (a kind, or the id of the node copied) without its
    /// number: the name alone, then numbered from 2 (`lead`, `lead2`, `lead3`).
    /// `also_taken`: ids a batch being made has already given out.
    fn free_id(&self, name: &str, also_taken: &[String]) -> String {
        let taken = |id: &str| {
            self.model.as_ref().is_some_and(|m| m.index_of(id).is_some()) || also_taken.iter().any(|t| t == id)
        };
        let name = name.trim_end_matches(|c: char| c.is_ascii_digit());
        let name = if name.is_empty() { "node" } else { name };
        let base = name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "-");
        (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}{n}") }).find(|id| !taken(id)).unwrap_or(base)
    }

    fn add_node(&mut self, kind: &str) -> Vec<Request> {
        let id = self.free_id(kind, &[]);
        let center = self.camera().to_graph([GRAPH_VIEW.0 / 2.0 - 80.0, GRAPH_VIEW.1 / 2.0 - 40.0]);
        let edit = json!({ "op": "add", "id": id, "kind": kind, "position": [center[0].round(), center[1].round()] });
        self.select(Some(id));
        self.send(Change::Edits { edits: vec![edit], continues: false, reload: true })
    }

    fn command(&mut self, command: Command) -> Vec<Request> {
        match command {
            Command::Undo => {
                self.gesture = None;
                self.send(Change::Undo)
            }
            Command::Redo => {
                self.gesture = None;
                self.send(Change::Redo)
            }
            Command::Delete => self.delete_selection(),
            Command::Duplicate => self.duplicate_selection(),
            Command::SelectAll => {
                let all =
                    self.model.as_ref().map(|m| m.nodes.iter().map(|n| n.id.clone()).collect()).unwrap_or_default();
                self.select_all_of(all);
                Vec::new()
            }
        }
    }

    /// Removes every selected node, as one batch.
    fn delete_selection(&mut self) -> Vec<Request> {
        let edits: Vec<Value> = self.selection.iter().map(|id| json!({ "op": "remove", "id": id })).collect();
        if edits.is_empty() {
            return Vec::new();
        }
        self.select(None);
        self.send(Change::Edits { edits, continues: false, reload: true })
    }

    /// Adds a copy of every selected node (settings, parameters, offset from the original)
    /// and of the connections among them, as one batch; the copies become the selection.
    fn duplicate_selection(&mut self) -> Vec<Request> {
        let Some(model) = self.model.clone() else { return Vec::new() };
        let originals: Vec<usize> = self.selection.iter().filter_map(|id| model.index_of(id)).collect();
        let mut copies: Vec<(usize, String)> = Vec::new();
        let mut edits = Vec::new();
        for &i in &originals {
            let node = &model.nodes[i];
            let given: Vec<String> = copies.iter().map(|(_, id)| id.clone()).collect();
            let id = self.free_id(&node.id, &given);
            let mut edit = json!({
                "op": "add", "id": id, "kind": node.kind, "params": node.params,
                "position": [node.position[0] + 40.0, node.position[1] + 40.0],
            });
            if !node.config.is_null() {
                edit["config"] = node.config.clone();
            }
            edits.push(edit);
            copies.push((i, id));
        }
        let copy_of = |i: usize| copies.iter().find(|(o, _)| *o == i).map(|(_, id)| id.clone());
        for cable in &model.cables {
            if let (Some(from), Some(to)) = (copy_of(cable.from), copy_of(cable.to)) {
                let from_port = &model.nodes[cable.from].outputs[cable.from_port].name;
                let to_port = &model.nodes[cable.to].inputs[cable.to_port].name;
                edits.push(
                    json!({ "op": "connect", "from": format!("{from}.{from_port}"), "to": format!("{to}.{to_port}") }),
                );
            }
        }
        if edits.is_empty() {
            return Vec::new();
        }
        self.select_all_of(copies.into_iter().map(|(_, id)| id).collect());
        self.send(Change::Edits { edits, continues: false, reload: true })
    }

    fn inspector_message(&mut self, message: InspectorMessage) -> Vec<Request> {
        match message {
            InspectorMessage::Duplicate => return self.duplicate_selection(),
            InspectorMessage::Delete => return self.delete_selection(),
            _ => {}
        }
        let Some(node) = self.selected().map(str::to_string) else { return Vec::new() };
        let Some(current) = self.model.as_ref().and_then(|m| m.index_of(&node).map(|i| m.nodes[i].clone())) else {
            return Vec::new();
        };
        let info = |name: &str| current.param(name).cloned();
        match message {
            InspectorMessage::Slider(name, message) => {
                self.drafts.params.remove(&name);
                self.drafts.errors.remove(&name);
                return self.slider(&node, &name, message);
            }
            InspectorMessage::Reset(name) => {
                self.drafts.params.remove(&name);
                self.drafts.errors.remove(&name);
                return self.slider(&node, &name, SliderMessage::Reset);
            }
            InspectorMessage::Typed(name, typed) => {
                self.drafts.errors.remove(&name);
                self.drafts.params.insert(name, typed);
            }
            InspectorMessage::Submit(name) => {
                let (Some(typed), Some(info)) = (self.drafts.params.get(&name).cloned(), info(&name)) else {
                    return Vec::new();
                };
                match info.parse(&typed) {
                    Ok(value) => {
                        self.drafts.params.remove(&name);
                        self.gesture = None;
                        return self.set_param(&node, &name, value, false);
                    }
                    Err(reason) => {
                        self.drafts.errors.insert(name, reason);
                    }
                }
            }
            InspectorMessage::Set(name, value) => {
                self.gesture = None;
                return self.set_param(&node, &name, value, false);
            }
            InspectorMessage::Unmap(name) => {
                let edit = json!({ "op": "unmap_cc", "param": format!("{node}.{name}") });
                return self.send(Change::Edits { edits: vec![edit], continues: false, reload: true });
            }
            InspectorMessage::InstrumentTyped(typed) => self.drafts.instrument = typed,
            InspectorMessage::BrowseInstrument => self.browse(PickTarget::Instrument),
            InspectorMessage::Picker(message) => {
                if let Some(path) = self.picked(PickTarget::Instrument, &message) {
                    self.drafts.instrument = path.display().to_string();
                }
            }
            InspectorMessage::LoadInstrument => {
                if self.drafts.instrument.trim().is_empty() {
                    return Vec::new();
                }
                let setting = instrument_setting(&self.drafts.instrument);
                return self.send(Change::Instrument { node, setting, continues: false });
            }
            // Handled above, for the whole selection.
            InspectorMessage::Duplicate | InspectorMessage::Delete => {}
        }
        Vec::new()
    }

    /// A parameter's bar, in the inspector or the rack: a drag is one gesture (one undo step),
    /// a double-click returns it to its default.
    fn slider(&mut self, node: &str, name: &str, message: SliderMessage) -> Vec<Request> {
        let param = (node.to_string(), name.to_string());
        match message {
            SliderMessage::Drag(value) => {
                let continues = self.gesture.as_ref() == Some(&param);
                self.gesture = Some(param);
                self.set_param(node, name, value, continues)
            }
            SliderMessage::Released => {
                self.gesture = None;
                self.learn.bound = None;
                Vec::new()
            }
            SliderMessage::Reset => {
                self.gesture = None;
                if let Some(n) = self.node_mut(node) {
                    n.params.remove(name);
                }
                let edit = json!({ "op": "reset", "id": node, "param": name });
                self.send(Change::Edits { edits: vec![edit], continues: false, reload: false })
            }
        }
    }

    fn rack_message(&mut self, message: RackMessage) -> Vec<Request> {
        match message {
            RackMessage::Select(id) => self.select(Some(id)),
            RackMessage::Param(node, name, message) => return self.slider(&node, &name, message),
            RackMessage::Switch(node, name, on) => {
                self.gesture = None;
                return self.set_param(&node, &name, f64::from(u8::from(on)), false);
            }
            RackMessage::NewKind(kind) => self.slot_draft.kind = kind,
            RackMessage::NewChannel(channel) => self.slot_draft.channel = channel,
            RackMessage::NewBus(bus) => self.slot_draft.bus = bus,
            RackMessage::AddSlot => return self.add_slot(),
        }
        Vec::new()
    }

    /// The kinds that can be a slot's instrument: notes in, audio out.
    fn instrument_kinds(&self) -> Vec<String> {
        self.kinds
            .kinds
            .iter()
            .filter(|k| {
                k.inputs.iter().any(|p| p.kind == PortKind::Events)
                    && k.outputs.iter().any(|p| matches!(p.kind, PortKind::Audio(_)))
            })
            .map(|k| k.kind.clone())
            .collect()
    }

    /// The buses the graph's outputs play: `(bus, output node)`.
    fn buses(&self) -> Vec<(String, String)> {
        self.model.as_ref().map(GraphModel::buses).unwrap_or_default()
    }

    /// Adds the slot drafted in the rack, as one batch: the instrument, a channel filter from
    /// the graph's MIDI input when the slot listens on one channel, and its way to the bus —
    /// a free input of the mixer other slots on that bus pass, else a gain into the bus's
    /// output (so it has a level either way).
    fn add_slot(&mut self) -> Vec<Request> {
        let Some(model) = self.model.clone() else { return Vec::new() };
        let draft = self.slot_draft.clone();
        let port = |kind: &str, output: bool, wanted: fn(&PortKind) -> bool| {
            let info = self.kinds.get(kind)?;
            let side = if output { &info.outputs } else { &info.inputs };
            side.iter().find(|p| wanted(&p.kind)).map(|p| p.name.clone())
        };
        let events = |k: &PortKind| *k == PortKind::Events;
        let audio = |k: &PortKind| matches!(k, PortKind::Audio(_));
        let (Some(notes_in), Some(sound_out)) = (port(&draft.kind, false, events), port(&draft.kind, true, audio))
        else {
            self.status = format!("a {} cannot be a slot: it needs notes in and sound out", draft.kind);
            return Vec::new();
        };
        let Some((_, output)) = self.buses().into_iter().find(|(bus, _)| *bus == draft.bus) else {
            self.status = format!("the graph has no output for bus \"{}\"", draft.bus);
            return Vec::new();
        };
        let bottom = model.nodes.iter().map(|n| n.position[1]).fold(0.0f32, f32::max) + 160.0;
        let mut edits = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        let mut fresh = |this: &Editor, name: &str| {
            let id = this.free_id(name, &taken);
            taken.push(id.clone());
            id
        };
        let source = match model.nodes.iter().find(|n| n.kind == "midi-in") {
            Some(n) => n.id.clone(),
            None => {
                let id = fresh(self, "keys");
                edits.push(json!({ "op": "add", "id": id, "kind": "midi-in", "position": [0.0, bottom] }));
                id
            }
        };
        let instrument = fresh(self, &draft.kind);
        edits.push(json!({ "op": "add", "id": instrument, "kind": draft.kind, "position": [400.0, bottom] }));
        let notes_from = if draft.channel == "omni" {
            format!("{source}.events")
        } else {
            let filter = fresh(self, &format!("{instrument}-ch"));
            edits.push(json!({
                "op": "add", "id": filter, "kind": "channel-filter",
                "params": { "channel": draft.channel }, "position": [200.0, bottom],
            }));
            edits.push(json!({ "op": "connect", "from": format!("{source}.events"), "to": format!("{filter}.in") }));
            format!("{filter}.out")
        };
        edits.push(json!({ "op": "connect", "from": notes_from, "to": format!("{instrument}.{notes_in}") }));
        let sound_from = format!("{instrument}.{sound_out}");
        match free_mixer_input(&model, &draft.bus) {
            Some(input) => edits.push(json!({ "op": "connect", "from": sound_from, "to": input })),
            None => {
                let gain = fresh(self, &format!("{instrument}-level"));
                edits.push(json!({ "op": "add", "id": gain, "kind": "gain", "position": [600.0, bottom] }));
                edits.push(json!({ "op": "connect", "from": sound_from, "to": format!("{gain}.in") }));
                edits.push(json!({ "op": "connect", "from": format!("{gain}.out"), "to": format!("{output}.in") }));
            }
        }
        self.select(Some(instrument));
        self.send(Change::Edits { edits, continues: false, reload: true })
    }

    fn node_mut(&mut self, id: &str) -> Option<&mut crate::model::Node> {
        let model = self.model.as_mut()?;
        let index = model.index_of(id)?;
        model.nodes.get_mut(index)
    }

    /// Sets parameter `name` of `node` to `value`, shown at once and sent. With MIDI learn
    /// on and a control moved, binds the control to the parameter instead (which keeps its
    /// value).
    fn set_param(&mut self, node: &str, name: &str, value: f64, continues: bool) -> Vec<Request> {
        if self.learn.on {
            let param = (node.to_string(), name.to_string());
            if self.learn.bound.as_ref() == Some(&param) {
                return Vec::new();
            }
            if let Some(control) = self.learn.control.take() {
                // A drag that binds goes on as the learning gesture: its further moves change
                // nothing (until it is released). A typed value or a pick is over at once.
                if self.gesture.as_ref() == Some(&param) {
                    self.learn.bound = Some(param);
                }
                self.status = format!(
                    "MIDI learn: CC {} on channel {} moves {node}.{name}; move another control, or switch Learn off",
                    control.controller, control.channel
                );
                let edit = json!({
                    "op": "map_cc", "cc": control.controller, "channel": control.channel, "param": format!("{node}.{name}"),
                });
                return self.send(Change::Edits { edits: vec![edit], continues: false, reload: true });
            }
        }
        let Some(info) = self.node_mut(node).and_then(|n| n.param(name).cloned()) else { return Vec::new() };
        let written = info.to_json(value);
        if let Some(n) = self.node_mut(node) {
            n.params.insert(name.to_string(), written.clone());
        }
        let edit = json!({ "op": "set", "id": node, "param": name, "value": written });
        self.send(Change::Edits { edits: vec![edit], continues, reload: false })
    }

    /// The file chooser, if it is open for `target`.
    fn picker_for(&self, target: PickTarget) -> Option<&FilePicker> {
        self.picker.as_ref().filter(|(t, _)| *t == target).map(|(_, p)| p)
    }

    /// The window's contents.
    pub fn view(&self) -> Element<'_, Message> {
        let toolbar = row![
            button(text("Undo").size(13)).on_press(Message::Command(Command::Undo)),
            button(text("Redo").size(13)).on_press(Message::Command(Command::Redo)),
            choice("Nodes", self.panel == Panel::Nodes, Message::ShowPanel(Panel::Nodes)),
            choice("Files", self.panel == Panel::Files, Message::ShowPanel(Panel::Files)),
            choice("Presets", self.panel == Panel::Presets, Message::ShowPanel(Panel::Presets)),
            choice("Graph", self.view == View::Graph, Message::Show(View::Graph)),
            choice("Rack", self.view == View::Rack, Message::Show(View::Rack)),
            choice("Learn", self.learn.on, Message::Learn),
            text(&self.health).size(13).color(PALETTE.text),
            meters(&self.meters),
        ]
        .spacing(8)
        .padding(6)
        .align_y(iced::Center);
        let selected = self.selected().zip(self.model.as_ref()).and_then(|(id, m)| Some((m.index_of(id)?, m)));
        let graph: Element<'_, Message> = match &self.model {
            Some(model) => {
                let indices = self.selection.iter().filter_map(|id| model.index_of(id)).collect();
                let view = GraphView { model, camera: self.camera(), selected: indices };
                container(view.element().map(Message::Graph)).id(GRAPH_ID).width(Fill).height(Fill).into()
            }
            None => container(text("waiting for the graph…").color(PALETTE.text)).center(Fill).into(),
        };
        let panel = match self.panel {
            Panel::Nodes => palette(&self.kinds, &self.query).map(Message::Palette),
            Panel::Files => files(&self.files, self.picker_for(PickTarget::Bundle)).map(Message::Files),
            Panel::Presets => browser(&self.browser, self.browse_target()).map(Message::Browser),
        };
        let mut middle = match (self.view, &self.model) {
            (View::Rack, Some(model)) => {
                let buses = self.buses().into_iter().map(|(bus, _)| bus).collect();
                let rack = rack(model, self.selected(), &self.slot_draft, self.instrument_kinds(), buses);
                // The browser beside the rack loads into the selected slot.
                match self.panel {
                    Panel::Presets => row![side(panel, PALETTE_WIDTH), rack.map(Message::Rack)],
                    _ => row![rack.map(Message::Rack)],
                }
            }
            _ => row![side(panel, PALETTE_WIDTH), graph],
        };
        if let Some((index, model)) = selected {
            let node = &model.nodes[index];
            let summary = self.kinds.get(&node.kind).map(|k| k.summary.as_str());
            let picker = self.picker_for(PickTarget::Instrument);
            let panel = inspector(node, summary, &self.drafts, &model.midi_map, picker).map(Message::Inspector);
            middle = middle.push(side(panel, INSPECTOR_WIDTH));
        } else if self.selection.len() > 1 {
            let panel = several(self.selection.len()).map(Message::Inspector);
            middle = middle.push(side(panel, INSPECTOR_WIDTH));
        }
        let status = container(text(&self.status).size(13).color(PALETTE.text)).padding(6).width(Fill);
        column![toolbar, middle.height(Fill), status].into()
    }

    /// The editor's theme.
    pub fn theme(&self) -> Theme {
        Theme::Dark
    }

    /// The keyboard commands and the server's events.
    pub fn subscription(&self) -> Subscription<Message> {
        Subscription::batch([
            event::listen_with(key_command),
            Subscription::run_with(EventSource(self.client.clone()), EventSource::stream).map(Message::Server),
        ])
    }
}

/// A mixer input on the way of a slot to `bus` that nothing is connected to yet
/// (`"mix.in4"`).
fn free_mixer_input(model: &GraphModel, bus: &str) -> Option<String> {
    model.slots.iter().filter(|s| s.bus.as_deref() == Some(bus)).find_map(|slot| {
        let level = slot.strip.as_ref()?.level.as_ref()?;
        let mixer = model.index_of(&level.node)?;
        let node = &model.nodes[mixer];
        if node.kind != "mixer" {
            return None;
        }
        let used = |port: usize| model.cables.iter().any(|c| c.to == mixer && c.to_port == port);
        let free = (0..node.inputs.len()).find(|&p| !used(p) && matches!(node.inputs[p].kind, PortKind::Audio(_)))?;
        Some(format!("{}.{}", node.id, node.inputs[free].name))
    })
}

/// A toolbar button choosing one of several things, highlighted when `chosen`.
fn choice(label: &str, chosen: bool, message: Message) -> Element<'_, Message> {
    button(text(label).size(13))
        .style(if chosen { button::primary } else { button::secondary })
        .on_press(message)
        .into()
}

/// `element` as a side panel `width` pixels wide.
fn side(element: Element<'_, Message>, width: f32) -> Element<'_, Message> {
    container(element).width(Length::Fixed(width)).height(Fill).into()
}

/// The size of the graph view in a window of the opening size with the inspector shown,
/// below the toolbar and above the status line: what a new graph is fitted to.
const GRAPH_VIEW: (f32, f32) = (WINDOW.0 - PALETTE_WIDTH - INSPECTOR_WIDTH, WINDOW.1 - 60.0);

/// The command a key press stands for, unless a widget (a text field) took it.
pub fn key_command(event: iced::Event, status: event::Status, _window: window::Id) -> Option<Message> {
    if status == event::Status::Captured {
        return None;
    }
    let (key, modifiers) = match event {
        // Letters without a modifier play notes (heard while the preset browser is shown).
        iced::Event::Keyboard(keyboard::Event::KeyPressed { physical_key, modifiers, repeat, .. })
            if !modifiers.command() && !modifiers.alt() && piano_key(physical_key).is_some() =>
        {
            return (!repeat).then(|| Message::Key(piano_key(physical_key).expect("checked"), true));
        }
        iced::Event::Keyboard(keyboard::Event::KeyReleased { physical_key, .. }) => {
            return piano_key(physical_key).map(|key| Message::Key(key, false));
        }
        iced::Event::Keyboard(keyboard::Event::KeyPressed { key, modifiers, .. }) => (key, modifiers),
        _ => return None,
    };
    let command = match key.as_ref() {
        keyboard::Key::Character(c) if modifiers.command() && c.eq_ignore_ascii_case("z") => {
            if modifiers.shift() {
                Command::Redo
            } else {
                Command::Undo
            }
        }
        keyboard::Key::Character(c) if modifiers.command() && c.eq_ignore_ascii_case("y") => Command::Redo,
        keyboard::Key::Character(c) if modifiers.command() && c.eq_ignore_ascii_case("d") => Command::Duplicate,
        keyboard::Key::Character(c) if modifiers.command() && c.eq_ignore_ascii_case("a") => Command::SelectAll,
        keyboard::Key::Named(keyboard::key::Named::Delete | keyboard::key::Named::Backspace) => Command::Delete,
        _ => return None,
    };
    Some(Message::Command(command))
}

/// The server's events as an iced subscription: one stream per server and session.
struct EventSource(Arc<Client>);

impl std::hash::Hash for EventSource {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.0.api(), self.0.session()).hash(state);
    }
}

impl EventSource {
    fn stream(&self) -> impl iced::futures::Stream<Item = ServerEvent> {
        iced::futures::stream::unfold(self.0.clone().events(), |mut events| async move {
            events.recv().await.map(|event| (event, events))
        })
    }
}

/// The engine's health in one line: DSP load, xruns, voices.
fn health_line(status: &Value) -> String {
    let percent = |v: &Value| v.as_f64().map_or("–".to_string(), |x| format!("{:.1} %", x * 100.0));
    let xruns = status["xruns"]["backend"].as_u64().unwrap_or(0) + status["xruns"]["overruns"].as_u64().unwrap_or(0);
    format!(
        "DSP {} (peak {}) · xruns {xruns} · voices {}",
        percent(&status["load"]["average"]),
        percent(&status["load"]["peak"]),
        status["voices"].as_u64().unwrap_or(0)
    )
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

/// Opens the editor window on `client`'s server, titled `title`; returns when it is closed.
/// Given an X11 `parent` window (a plugin host's), the window opens inside it instead
/// ([`crate::embed`]), or as a window of its own if it cannot.
pub fn run(client: Arc<Client>, server: Option<EmbeddedServer>, title: String, parent: Option<u32>) -> iced::Result {
    let boot = std::sync::Mutex::new(Some((client, server)));
    let window = iced::window::Settings {
        size: WINDOW.into(),
        // Inside a host's window: hidden until it is there, so that no window manager frames it.
        visible: parent.is_none(),
        decorations: parent.is_none(),
        resizable: parent.is_none(),
        ..iced::window::Settings::default()
    };
    iced::application(
        move || {
            let (client, server) = boot.lock().ok().and_then(|mut b| b.take()).expect("the editor boots once");
            let (editor, requests) = Editor::new(client, server);
            let mut tasks = vec![as_tasks(&editor, requests)];
            if let Some(parent) = parent {
                tasks.push(embed_into(parent));
            }
            (editor, Task::batch(tasks))
        },
        |editor: &mut Editor, message| {
            let requests = editor.update(message);
            as_tasks(editor, requests)
        },
        Editor::view,
    )
    .title(move |_: &Editor| title.clone())
    .window(window)
    .theme(Editor::theme)
    .subscription(Editor::subscription)
    .default_font(FONT)
    .run()
}

/// Moves the editor's window into X11 window `parent`; where it cannot, the window shows as a
/// window of its own and the log says why.
fn embed_into(parent: u32) -> Task<Message> {
    iced::window::oldest()
        .and_then(move |id| {
            iced::window::run(id, move |window| crate::embed::embed(window, parent)).then(
                move |embedded| match embedded {
                    Ok(()) => iced::window::set_mode::<()>(id, iced::window::Mode::Windowed),
                    Err(e) => {
                        tracing::warn!("the editor opens as a window of its own: {e}");
                        Task::batch([
                            iced::window::toggle_decorations(id),
                            iced::window::set_mode(id, iced::window::Mode::Windowed),
                        ])
                    }
                },
            )
        })
        .discard()
}

/// `requests` as iced tasks.
fn as_tasks(editor: &Editor, requests: Vec<Request>) -> Task<Message> {
    Task::batch(requests.into_iter().map(|r| Task::perform(r.run(editor.client.clone()), std::convert::identity)))
}
