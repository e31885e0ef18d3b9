//! The rack: the graph's slots as rows, the way a multi-timbral sampler shows its parts —
//! instrument, MIDI channel, bus, then the channel strip's level, pan, mute and solo (the
//! mixer input or gain the slot passes on its way to the bus). A slot is read off the graph by
//! the server, so the rack and the graph view always agree; the row below adds a slot, which
//! is the nodes and connections behind it.

use iced::widget::{button, canvas, checkbox, column, container, pick_list, row, scrollable, text, Space};
use iced::{Element, Fill, Length};

use crate::graph_view::PALETTE;
use crate::model::{GraphModel, ParamRef, Slot};
use crate::param_slider::{self, ParamSlider, SliderMessage};

/// What a person did in the rack.
#[derive(Clone, Debug, PartialEq)]
pub enum RackMessage {
    /// Selected a slot's instrument (the inspector shows it).
    Select(String),
    /// A strip's bar (node, parameter).
    Param(String, String, SliderMessage),
    /// A strip's switch (node, parameter) turned on or off.
    Switch(String, String, bool),
    /// The new slot's instrument kind.
    NewKind(String),
    /// The new slot's channel (`omni`, `1`–`16`).
    NewChannel(String),
    /// The new slot's bus.
    NewBus(String),
    /// Add the new slot.
    AddSlot,
}

/// The slot about to be added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotDraft {
    /// Its instrument's kind.
    pub kind: String,
    /// Its channel: `omni` or `1`–`16`.
    pub channel: String,
    /// Its bus.
    pub bus: String,
}

impl Default for SlotDraft {
    fn default() -> Self {
        SlotDraft { kind: "synth".into(), channel: "1".into(), bus: "main".into() }
    }
}

/// The channels a new slot can listen on.
pub fn channel_choices() -> Vec<String> {
    std::iter::once("omni".to_string()).chain((1..=16).map(|c| c.to_string())).collect()
}

/// Column widths.
const INSTRUMENT: f32 = 150.0;
const KIND: f32 = 80.0;
const CHANNEL: f32 = 90.0;
const BUS: f32 = 80.0;
const PAN: f32 = 110.0;
const SWITCH: f32 = 44.0;

/// The id of a slot's strip control (`what`: `level`, `pan`, `mute`, `solo`), for tests and
/// focus.
pub fn control_id(what: &str, instrument: &str) -> String {
    format!("{what}-{instrument}")
}

/// The rack of `model`: its slots (`selected`: the selected node), then the row that adds one
/// (`instruments`: the kinds that can be one; `buses`: where it can go).
pub fn rack<'a>(
    model: &'a GraphModel,
    selected: Option<&'a str>,
    draft: &'a SlotDraft,
    instruments: Vec<String>,
    buses: Vec<String>,
) -> Element<'a, RackMessage> {
    let cell = |content: Element<'a, RackMessage>, width: f32| container(content).width(Length::Fixed(width));
    let heading = |label: &'a str| text(label).size(12).color(PALETTE.text);
    let header = row![
        cell(heading("instrument").into(), INSTRUMENT),
        cell(heading("kind").into(), KIND),
        cell(heading("channel").into(), CHANNEL),
        cell(heading("bus").into(), BUS),
        container(heading("level")).width(Fill),
        cell(heading("pan").into(), PAN),
        cell(heading("mute").into(), SWITCH),
        cell(heading("solo").into(), SWITCH),
    ]
    .spacing(8);
    let mut rows = column![header].spacing(6);
    if model.slots.is_empty() {
        rows = rows.push(text("no instruments in this graph: add a slot below").size(13).color(PALETTE.text));
    }
    for slot in &model.slots {
        rows = rows.push(slot_row(model, slot, selected == Some(slot.instrument.as_str())));
    }
    let add = row![
        cell(text("new slot").size(13).color(PALETTE.text).into(), INSTRUMENT),
        pick_list(instruments, Some(draft.kind.clone()), RackMessage::NewKind).text_size(13),
        pick_list(channel_choices(), Some(draft.channel.clone()), RackMessage::NewChannel).text_size(13),
        pick_list(buses, Some(draft.bus.clone()), RackMessage::NewBus).text_size(13),
        button(text("Add slot").size(13)).on_press(RackMessage::AddSlot),
    ]
    .spacing(8)
    .align_y(iced::Center);
    container(scrollable(column![rows, add].spacing(16).padding(12))).width(Fill).height(Fill).into()
}

/// One slot's row.
fn slot_row<'a>(model: &'a GraphModel, slot: &'a Slot, selected: bool) -> Element<'a, RackMessage> {
    let cell = |content: Element<'a, RackMessage>, width: f32| container(content).width(Length::Fixed(width));
    let small = |label: String| text(label).size(13).color(PALETTE.text);
    let name = button(text(&slot.instrument).size(14))
        .width(Fill)
        .style(if selected { button::primary } else { button::secondary })
        .on_press(RackMessage::Select(slot.instrument.clone()));
    let strip = slot.strip.clone().unwrap_or_default();
    let id = slot.instrument.as_str();
    let through = if slot.through.is_empty() { String::new() } else { format!("via {}", slot.through.join(" → ")) };
    row![
        cell(name.into(), INSTRUMENT),
        cell(small(slot.kind.clone()).into(), KIND),
        cell(small(slot.channel.clone()).into(), CHANNEL),
        cell(small(slot.bus.clone().unwrap_or_else(|| "none".into())).into(), BUS),
        container(
            column![bar(model, strip.level.as_ref(), "level", id), text(through).size(11).color(PALETTE.text)]
                .spacing(2)
        )
        .width(Fill),
        cell(bar(model, strip.pan.as_ref(), "pan", id), PAN),
        cell(switch(model, strip.mute.as_ref(), "mute", id), SWITCH),
        cell(switch(model, strip.solo.as_ref(), "solo", id), SWITCH),
    ]
    .spacing(8)
    .align_y(iced::Center)
    .into()
}

/// The bar of a strip parameter (`what` of `instrument`'s strip), or nothing where the strip
/// has none.
fn bar<'a>(model: &'a GraphModel, param: Option<&ParamRef>, what: &str, instrument: &str) -> Element<'a, RackMessage> {
    let found = param.and_then(|p| {
        let node = &model.nodes[model.index_of(&p.node)?];
        let info = node.param(&p.param)?;
        Some((p.clone(), info, info.value_of(node.params.get(&p.param))))
    });
    match found {
        Some((p, info, value)) => {
            let bar = Element::from(canvas(ParamSlider { info, value }).width(Fill).height(param_slider::HEIGHT))
                .map(move |m| RackMessage::Param(p.node.clone(), p.param.clone(), m));
            container(bar).id(control_id(what, instrument)).width(Fill).into()
        }
        None => Element::from(Space::new().width(Fill).height(param_slider::HEIGHT)),
    }
}

/// The checkbox of a strip switch (`what` of `instrument`'s strip), or a dash where the strip
/// has none.
fn switch<'a>(
    model: &'a GraphModel,
    param: Option<&ParamRef>,
    what: &str,
    instrument: &str,
) -> Element<'a, RackMessage> {
    let found = param.and_then(|p| {
        let node = &model.nodes[model.index_of(&p.node)?];
        Some((p.clone(), node.param_value(&p.param)? >= 0.5))
    });
    match found {
        Some((p, on)) => {
            let box_ = checkbox(on).on_toggle(move |on| RackMessage::Switch(p.node.clone(), p.param.clone(), on));
            container(box_).id(control_id(what, instrument)).into()
        }
        None => text("–").size(13).color(PALETTE.text).into(),
    }
}
