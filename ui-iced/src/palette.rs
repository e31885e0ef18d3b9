//! The node palette: the server's node kinds, searchable by name and summary; a click adds
//! one to the graph, in the middle of the view.

use iced::widget::{button, column, container, scrollable, text, text_input};
use iced::{Element, Fill};

use crate::graph_view::PALETTE;
use crate::kinds::NodeKinds;

/// What a person did in the palette.
#[derive(Clone, Debug, PartialEq)]
pub enum PaletteMessage {
    /// The search text changed.
    Search(String),
    /// Add a node of this kind.
    Add(String),
}

/// The label of the button that adds a node of `kind`.
pub fn add_label(kind: &str) -> String {
    format!("+ {kind}")
}

/// The palette of `kinds`, filtered by `query`.
pub fn palette<'a>(kinds: &'a NodeKinds, query: &'a str) -> Element<'a, PaletteMessage> {
    let search = text_input("search nodes", query).id("palette-search").size(13).on_input(PaletteMessage::Search);
    let found = kinds.search(query);
    let mut list = column![].spacing(4);
    if found.is_empty() {
        list = list.push(text(format!("no node kind matches \"{query}\"")).size(12).color(PALETTE.text));
    }
    for kind in found {
        let label = column![text(add_label(&kind.kind)).size(14), text(&kind.summary).size(11)].spacing(1);
        list = list
            .push(button(label).width(Fill).style(button::secondary).on_press(PaletteMessage::Add(kind.kind.clone())));
    }
    container(column![search, scrollable(list).height(Fill)].spacing(8).padding(10)).width(Fill).height(Fill).into()
}
