//! Slots: the rack view of a patch, what a DAW user routes — "channel 10 → drums → bus 2".
//! A slot is not a thing of its own: it is an instrument node (anything that takes notes and
//! makes sound), the MIDI channel its notes are filtered to on the way from the host (a
//! `channel-filter`, or none: omni), and the bus its sound reaches (an `output` node, through
//! any gains, mixers and effects). Reading slots off the graph keeps one source of truth: the
//! engine API that edits nodes and connections edits slots.

use std::collections::VecDeque;

use noderack_graph::{Direction, NodeRole, PortKind, Unit};

use crate::patch::{Patch, PatchNode};

/// Which notes reach a slot's instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotChannel {
    /// Every channel.
    Omni,
    /// One channel, 1–16.
    Only(u8),
    /// Every channel but one.
    Except(u8),
    /// No note source reaches it.
    Unconnected,
}

impl std::fmt::Display for SlotChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotChannel::Omni => f.write_str("omni"),
            SlotChannel::Only(c) => write!(f, "{c}"),
            SlotChannel::Except(c) => write!(f, "all but {c}"),
            SlotChannel::Unconnected => f.write_str("none"),
        }
    }
}

/// One slot of a patch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The instrument node's name.
    pub instrument: String,
    /// Its kind.
    pub kind: String,
    /// The channel its notes come on.
    pub channel: SlotChannel,
    /// The bus its sound reaches first (`None`: it reaches none).
    pub bus: Option<String>,
    /// The nodes between it and that bus, in order (gains, effects, mixers).
    pub through: Vec<String>,
    /// Where its level is set on the way: the first mixer input or gain it passes.
    pub strip: Option<Strip>,
}

/// The channel strip of a slot: the parameters a rack shows as its level, pan, mute and solo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strip {
    /// An input of a `mixer` (`in3`): its gain, pan, mute and solo.
    MixerInput {
        /// The mixer node.
        mixer: String,
        /// The input port (`in3`).
        input: String,
    },
    /// A `gain` node: its gain and pan (no mute or solo).
    Gain {
        /// The gain node.
        node: String,
    },
}

/// A parameter of a node: (node, parameter).
pub type ParamRef = (String, String);

impl Strip {
    /// The level parameter (decibels).
    pub fn level(&self) -> ParamRef {
        match self {
            Strip::MixerInput { mixer, input } => (mixer.clone(), format!("{input}_gain_db")),
            Strip::Gain { node } => (node.clone(), "gain_db".into()),
        }
    }

    /// The pan parameter.
    pub fn pan(&self) -> ParamRef {
        match self {
            Strip::MixerInput { mixer, input } => (mixer.clone(), format!("{input}_pan")),
            Strip::Gain { node } => (node.clone(), "pan".into()),
        }
    }

    /// The mute switch, where there is one.
    pub fn mute(&self) -> Option<ParamRef> {
        match self {
            Strip::MixerInput { mixer, input } => Some((mixer.clone(), format!("{input}_mute"))),
            Strip::Gain { .. } => None,
        }
    }

    /// The solo switch (within its mixer), where there is one.
    pub fn solo(&self) -> Option<ParamRef> {
        match self {
            Strip::MixerInput { mixer, input } => Some((mixer.clone(), format!("{input}_solo"))),
            Strip::Gain { .. } => None,
        }
    }
}

/// The kinds a strip is found in.
const MIXER: &str = "mixer";
const GAIN: &str = "gain";

/// The kind of node that filters channels, and its parameter names.
const CHANNEL_FILTER: &str = "channel-filter";

/// A node's parameter `name` as its choice name, or `None` if it has no such choice parameter.
fn choice(node: &PatchNode, name: &str) -> Option<String> {
    let specs = node.description.params();
    let index = specs.iter().position(|s| s.name == name && s.unit == Unit::Choice)?;
    let value = node.params.iter().find(|(p, _)| p.0 as usize == index).map_or(specs[index].default, |(_, v)| *v);
    specs[index].choices.get(value as usize).map(|c| c.to_string())
}

/// Whether a node takes notes and makes sound.
fn is_instrument(node: &PatchNode) -> bool {
    let ports = node.description.ports();
    node.description.role() == NodeRole::Processor
        && ports.inputs.iter().any(|p| p.kind == PortKind::Events)
        && ports.outputs.iter().any(|p| matches!(p.kind, PortKind::Audio { .. }))
}

/// The slots of `patch`, in node order.
pub fn slots(patch: &Patch) -> Vec<Slot> {
    patch.nodes.iter().enumerate().filter(|(_, n)| is_instrument(n)).map(|(i, _)| slot_of(patch, i)).collect()
}

fn slot_of(patch: &Patch, instrument: usize) -> Slot {
    let node = &patch.nodes[instrument];
    let index_of = |id| patch.nodes.iter().position(|n| n.id == id);
    let port_kind = |node: usize, direction: Direction, port: u16| {
        patch.nodes[node].description.ports().side(direction).get(port as usize).map(|p| p.kind)
    };

    // Notes: walk back along event connections to the host's MIDI, nearest filter first.
    let mut channel = SlotChannel::Unconnected;
    let mut queue = VecDeque::from([instrument]);
    let mut seen = vec![false; patch.nodes.len()];
    while let Some(at) = queue.pop_front() {
        if std::mem::replace(&mut seen[at], true) {
            continue;
        }
        let here = &patch.nodes[at];
        if here.description.role() == NodeRole::HostMidiInput {
            channel = SlotChannel::Omni;
            break;
        }
        if at != instrument && here.description.kind() == CHANNEL_FILTER {
            let number = choice(here, "channel").and_then(|c| c.parse::<u8>().ok());
            channel = match (number, choice(here, "mode").as_deref()) {
                (None, _) => SlotChannel::Omni,
                (Some(c), Some("except")) => SlotChannel::Except(c),
                (Some(c), _) => SlotChannel::Only(c),
            };
            break;
        }
        for c in &patch.connections {
            if c.to.node == here.id && port_kind(at, Direction::Input, c.to.port.0) == Some(PortKind::Events) {
                if let Some(from) = index_of(c.from.node) {
                    queue.push_back(from);
                }
            }
        }
    }

    // Sound: walk forward along audio connections to the first output bus.
    let mut bus = None;
    let mut through = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; patch.nodes.len()];
    let mut queue = VecDeque::from([instrument]);
    let mut seen = vec![false; patch.nodes.len()];
    while let Some(at) = queue.pop_front() {
        if std::mem::replace(&mut seen[at], true) {
            continue;
        }
        if let NodeRole::HostOutput { bus: name } = patch.nodes[at].description.role() {
            bus = Some(name);
            let mut step = previous[at];
            while let Some(p) = step.filter(|&p| p != instrument) {
                through.push(patch.nodes[p].name.clone());
                step = previous[p];
            }
            through.reverse();
            break;
        }
        for c in &patch.connections {
            let audio = matches!(port_kind(at, Direction::Output, c.from.port.0), Some(PortKind::Audio { .. }));
            if c.from.node == patch.nodes[at].id && audio {
                if let Some(to) = index_of(c.to.node).filter(|&to| !seen[to]) {
                    previous[to].get_or_insert(at);
                    queue.push_back(to);
                }
            }
        }
    }
    let strip = strip_of(patch, instrument, &through);
    Slot { instrument: node.name.clone(), kind: node.description.kind().to_string(), channel, bus, through, strip }
}

/// The first mixer input or gain on the path `instrument` → `through`.
fn strip_of(patch: &Patch, instrument: usize, through: &[String]) -> Option<Strip> {
    let mut previous = patch.nodes[instrument].id;
    for name in through {
        let node = patch.nodes.iter().find(|n| n.name == *name)?;
        match node.description.kind() {
            MIXER => {
                let inputs = node.description.ports();
                let input = patch
                    .connections
                    .iter()
                    .find(|c| c.from.node == previous && c.to.node == node.id)
                    .and_then(|c| inputs.side(Direction::Input).get(c.to.port.0 as usize))
                    .map(|p| p.name.to_string())?;
                return Some(Strip::MixerInput { mixer: name.clone(), input });
            }
            GAIN => return Some(Strip::Gain { node: name.clone() }),
            _ => previous = node.id,
        }
    }
    None
}
