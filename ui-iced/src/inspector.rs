//! The selected node's panel: its id and kind, Duplicate and Delete, every parameter of its
//! kind with its unit and range (a bar to drag, a field to type a value into, double-click or
//! ↺ for the default), and for a sampler the instrument to load.

use std::collections::HashMap;

use iced::widget::{button, canvas, checkbox, column, container, pick_list, row, scrollable, text, text_input};
use iced::{Element, Fill, Length};

use crate::file_picker::{file_picker, FilePicker, PickerMessage};
use crate::graph_view::PALETTE;
use crate::kinds::{ParamInfo, ParamUnit};
use crate::learn::Mapping;
use crate::model::Node;
use crate::param_slider::{self, ParamSlider, SliderMessage};

/// What a person did in the inspector (parameters by name, of the node shown).
#[derive(Clone, Debug, PartialEq)]
pub enum InspectorMessage {
    /// The parameter's bar.
    Slider(String, SliderMessage),
    /// Typing into the parameter's field.
    Typed(String, String),
    /// Enter in the parameter's field.
    Submit(String),
    /// A choice or switch set to this value.
    Set(String, f64),
    /// Back to the default.
    Reset(String),
    /// Let go of the MIDI controller bound to the parameter.
    Unmap(String),
    /// Typing into the instrument field.
    InstrumentTyped(String),
    /// Load the typed instrument.
    LoadInstrument,
    /// Open (or close) the file chooser for the instrument.
    BrowseInstrument,
    /// The file chooser.
    Picker(PickerMessage),
    /// Add a copy of the node.
    Duplicate,
    /// Remove the node.
    Delete,
}

/// What the inspector shows besides the node: text being typed (by parameter name, and the
/// instrument field).
#[derive(Clone, Debug, Default)]
pub struct Drafts {
    /// Parameter fields being typed into.
    pub params: HashMap<String, String>,
    /// Why what was typed into a parameter's field was refused.
    pub errors: HashMap<String, String>,
    /// The instrument field.
    pub instrument: String,
}

/// The id of parameter `name`'s text field (for focus and for tests).
pub fn field_id(name: &str) -> String {
    format!("param-{name}")
}

/// The id of parameter `name`'s bar's container.
pub fn slider_id(name: &str) -> String {
    format!("slider-{name}")
}

/// The instrument files the chooser shows.
pub const INSTRUMENT_EXTENSIONS: &[&str] = &["sf2", "sfz"];

/// The panel for `node` (`summary`: what its kind is, from the server; `midi_map`: the graph's
/// MIDI controller bindings, shown beside the parameters they move; `picker`: the file chooser
/// for a sampler's instrument, when open).
pub fn inspector<'a>(
    node: &'a Node,
    summary: Option<&'a str>,
    drafts: &'a Drafts,
    midi_map: &'a [Mapping],
    picker: Option<&'a FilePicker>,
) -> Element<'a, InspectorMessage> {
    let title = column![
        text(&node.id).size(18).color(PALETTE.text),
        text(format!("{} — {}", node.kind, summary.unwrap_or("a kind this server does not describe")))
            .size(12)
            .color(PALETTE.text),
    ]
    .spacing(2);
    let actions = row![
        button(text("Duplicate").size(13)).on_press(InspectorMessage::Duplicate),
        button(text("Delete").size(13)).on_press(InspectorMessage::Delete).style(button::danger),
    ]
    .spacing(8);
    let mut body = column![title, actions].spacing(10).padding(10);
    if node.kind == "sampler" {
        body = body.push(instrument_row(drafts));
        if let Some(picker) = picker {
            body = body.push(file_picker(picker).map(InspectorMessage::Picker));
        }
    }
    if node.param_specs.is_empty() {
        body = body.push(text("no parameters").size(13).color(PALETTE.text));
    }
    for info in &node.param_specs {
        let path = format!("{}.{}", node.id, info.name);
        let mapping = midi_map.iter().find(|m| m.param == path);
        body = body.push(param_row(info, info.value_of(node.params.get(&info.name)), drafts, mapping));
    }
    container(scrollable(body)).width(Fill).height(Fill).into()
}

/// The panel for a selection of `count` nodes: what applies to all of them.
pub fn several<'a>(count: usize) -> Element<'a, InspectorMessage> {
    let actions = row![
        button(text("Duplicate").size(13)).on_press(InspectorMessage::Duplicate),
        button(text("Delete").size(13)).on_press(InspectorMessage::Delete).style(button::danger),
    ]
    .spacing(8);
    let hint = "Shift-click a node to add or remove it; Shift-drag on the background to add the nodes in a box; drag one to move them all.";
    column![
        text(format!("{count} nodes selected")).size(18).color(PALETTE.text),
        actions,
        text(hint).size(12).color(PALETTE.text)
    ]
    .spacing(10)
    .padding(10)
    .into()
}

/// The instrument field and its Load button.
fn instrument_row(drafts: &Drafts) -> Element<'_, InspectorMessage> {
    let field = text_input("file.sf2, file.sfz or Library/Preset", &drafts.instrument)
        .id("instrument")
        .size(13)
        .on_input(InspectorMessage::InstrumentTyped)
        .on_submit(InspectorMessage::LoadInstrument);
    column![
        text("instrument").size(13).color(PALETTE.text),
        row![
            field,
            button(text("Browse…").size(13)).on_press(InspectorMessage::BrowseInstrument),
            button(text("Load").size(13)).on_press(InspectorMessage::LoadInstrument)
        ]
        .spacing(6),
    ]
    .spacing(4)
    .into()
}

/// One parameter: its name and range, then its control.
fn param_row<'a>(
    info: &'a ParamInfo,
    value: f64,
    drafts: &'a Drafts,
    mapping: Option<&Mapping>,
) -> Element<'a, InspectorMessage> {
    let name = info.name.clone();
    let mut label = row![text(&info.name).size(13).color(PALETTE.text).width(Fill)].spacing(4).align_y(iced::Center);
    if let Some(mapping) = mapping {
        label = label.push(text(mapping.label()).size(11).color(PALETTE.events));
        label = label.push(button(text("×").size(11)).on_press(InspectorMessage::Unmap(name.clone())).padding([0, 4]));
    }
    let label = label.push(text(range_text(info)).size(11).color(PALETTE.text));
    let reset = button(text("↺").size(12)).on_press(InspectorMessage::Reset(name.clone())).padding([2, 6]);
    let control: Element<'a, InspectorMessage> = match info.unit {
        ParamUnit::Choice => {
            let selected = info.choices.get(value.round().max(0.0) as usize).cloned();
            let on_pick = {
                let name = name.clone();
                move |choice: String| {
                    let index = info.choices.iter().position(|c| *c == choice).unwrap_or(0);
                    InspectorMessage::Set(name.clone(), index as f64)
                }
            };
            pick_list(info.choices.as_slice(), selected, on_pick).text_size(13).width(Fill).into()
        }
        ParamUnit::Toggle => {
            let name = name.clone();
            checkbox(value >= 0.5)
                .label(info.format(value))
                .on_toggle(move |on| InspectorMessage::Set(name.clone(), f64::from(u8::from(on))))
                .into()
        }
        _ => {
            let bar = {
                let name = name.clone();
                Element::from(canvas(ParamSlider { info, value }).width(Fill).height(param_slider::HEIGHT))
                    .map(move |m| InspectorMessage::Slider(name.clone(), m))
            };
            let typed = drafts.params.get(&info.name).cloned().unwrap_or_else(|| info.format(value));
            let field = text_input("", &typed)
                .id(field_id(&info.name))
                .size(13)
                .width(Length::Fixed(90.0))
                .on_input({
                    let name = name.clone();
                    move |t| InspectorMessage::Typed(name.clone(), t)
                })
                .on_submit(InspectorMessage::Submit(name.clone()));
            row![container(bar).id(slider_id(&info.name)).width(Fill), field].spacing(6).into()
        }
    };
    let mut rows = column![label, row![control, reset].spacing(6)].spacing(3);
    if let Some(error) = drafts.errors.get(&info.name) {
        rows = rows.push(text(error).size(12).color(PALETTE.refused));
    }
    rows.into()
}

/// `min … max (default)` of a parameter with a range.
fn range_text(info: &ParamInfo) -> String {
    match info.unit {
        ParamUnit::Choice | ParamUnit::Toggle => format!("default {}", info.format(info.default)),
        _ => format!("{} … {} · default {}", info.format(info.min), info.format(info.max), info.format(info.default)),
    }
}

/// The instrument setting a person's text stands for: a SoundFont (its first program), an
/// SFZ file, or a library preset by name.
pub fn instrument_setting(typed: &str) -> serde_json::Value {
    let typed = typed.trim();
    let lower = typed.to_lowercase();
    if lower.ends_with(".sf2") {
        serde_json::json!({ "sf2": typed, "program": 0 })
    } else if lower.ends_with(".sfz") {
        serde_json::json!({ "sfz": typed })
    } else {
        serde_json::json!({ "preset": typed })
    }
}
