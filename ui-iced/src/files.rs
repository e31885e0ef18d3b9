//! The files panel: the graph saved on the server under a name and named patches opened
//! again; the graph exported as a self-contained bundle file and bundle files imported; the
//! registry's bundles searched and installed, and this graph published to it. Everything goes
//! through the control API (`/patches`, `/bundle`, `/registry`), so it works on a server
//! elsewhere as well as on the editor's own.

use iced::widget::{button, column, container, row, rule, scrollable, text, text_input};
use iced::{Element, Fill};

use crate::file_picker::{file_picker, FilePicker, PickerMessage};
use crate::graph_view::PALETTE;

/// What a person did in the files panel.
#[derive(Clone, Debug, PartialEq)]
pub enum FilesMessage {
    /// Typing the name to save under.
    Name(String),
    /// Save the graph under the name.
    Save,
    /// Read the saved patches again.
    Refresh,
    /// Make this saved patch the graph.
    Open(String),
    /// Typing a bundle file's path.
    Path(String),
    /// Open (or close) the file chooser for the bundle file.
    Browse,
    /// The file chooser.
    Picker(PickerMessage),
    /// Write the graph as a bundle file at the path.
    Export,
    /// Make the bundle file at the path the graph.
    Import,
    /// Typing registry search words.
    Query(String),
    /// Search the registry.
    Search,
    /// Install this registry bundle (by id) and make it the graph.
    Install(String),
    /// Publish the graph to the registry.
    Publish,
}

/// A bundle the registry lists.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is.
    pub description: String,
}

/// The panel's fields and lists.
#[derive(Clone, Debug, Default)]
pub struct Files {
    /// The name to save under.
    pub name: String,
    /// The bundle file's path.
    pub path: String,
    /// Registry search words.
    pub query: String,
    /// The server's saved patches.
    pub patches: Vec<String>,
    /// The registry's answer to the last search.
    pub bundles: Vec<Listed>,
    /// What the last action did, or why it failed.
    pub note: String,
}

/// The bundle files the chooser shows.
pub const BUNDLE_EXTENSIONS: &[&str] = &["nrbundle"];

/// The panel (`picker`: the file chooser for the bundle path, when open).
pub fn files<'a>(state: &'a Files, picker: Option<&'a FilePicker>) -> Element<'a, FilesMessage> {
    let heading = |label: &'static str| text(label).size(13).color(PALETTE.text);
    let small = |label: String| text(label).size(12).color(PALETTE.text);
    let save = row![
        text_input("name", &state.name)
            .id("save-name")
            .size(13)
            .on_input(FilesMessage::Name)
            .on_submit(FilesMessage::Save),
        button(text("Save").size(13)).on_press(FilesMessage::Save),
    ]
    .spacing(6);
    let mut saved = column![].spacing(4);
    if state.patches.is_empty() {
        saved = saved.push(small("none saved on this server".into()));
    }
    for name in &state.patches {
        saved = saved.push(
            row![
                small(name.clone()).width(Fill),
                button(text("Open").size(12)).on_press(FilesMessage::Open(name.clone()))
            ]
            .spacing(6)
            .align_y(iced::Center),
        );
    }
    let mut bundle = column![
        row![
            text_input("bundle file path", &state.path).id("bundle-path").size(13).on_input(FilesMessage::Path),
            button(text("Browse…").size(13)).on_press(FilesMessage::Browse),
        ]
        .spacing(6),
        row![
            button(text("Export").size(13)).on_press(FilesMessage::Export),
            button(text("Import").size(13)).on_press(FilesMessage::Import),
        ]
        .spacing(6),
    ]
    .spacing(6);
    if let Some(picker) = picker {
        bundle = bundle.push(file_picker(picker).map(FilesMessage::Picker));
    }
    let search = row![
        text_input("search the registry", &state.query)
            .id("registry-query")
            .size(13)
            .on_input(FilesMessage::Query)
            .on_submit(FilesMessage::Search),
        button(text("Search").size(13)).on_press(FilesMessage::Search),
    ]
    .spacing(6);
    let mut found = column![].spacing(4);
    for listed in &state.bundles {
        found = found.push(
            row![
                column![small(listed.name.clone()), text(&listed.description).size(11).color(PALETTE.text)].width(Fill),
                button(text("Install").size(12)).on_press(FilesMessage::Install(listed.id.clone())),
            ]
            .spacing(6)
            .align_y(iced::Center),
        );
    }
    let body = column![
        heading("save this graph"),
        save,
        row![heading("saved patches").width(Fill), button(text("Refresh").size(12)).on_press(FilesMessage::Refresh)]
            .align_y(iced::Center),
        saved,
        rule::horizontal(1),
        heading("bundle file"),
        bundle,
        rule::horizontal(1),
        heading("registry"),
        search,
        button(text("Publish this graph").size(13)).on_press(FilesMessage::Publish),
        found,
        small(state.note.clone()),
    ]
    .spacing(8)
    .padding(10);
    container(scrollable(body)).width(Fill).height(Fill).into()
}

/// The saved patches' names in a `GET /patches` reply.
pub fn patch_names(reply: &serde_json::Value) -> Vec<String> {
    reply["patches"]
        .as_array()
        .map(|list| list.iter().filter_map(|p| p["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The bundles in a `GET /registry` reply.
pub fn listed_bundles(reply: &serde_json::Value) -> Vec<Listed> {
    reply["bundles"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|b| {
                    Some(Listed {
                        id: b["id"].as_str()?.to_string(),
                        name: b["name"].as_str().unwrap_or_default().to_string(),
                        description: b["description"].as_str().unwrap_or_default().to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}
