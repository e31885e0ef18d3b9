//! MIDI learn: with Learn on, move a control on a MIDI device (the server reports it as a
//! `midi_cc` event), then a parameter in the inspector or the rack: the control is bound to it
//! (a `map_cc` edit, stored in the patch's `midi_map`, one undo step), and the parameter keeps
//! its value. Learn stays on for the next pair until it is switched off.

use serde_json::Value;

/// A MIDI controller on a channel, as the server reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control {
    /// Channel 1..=16.
    pub channel: u8,
    /// Controller number.
    pub controller: u8,
}

impl Control {
    /// The control a `midi_cc` event names.
    pub fn from_event(event: &Value) -> Option<Control> {
        let small = |key: &str| event[key].as_u64().and_then(|v| u8::try_from(v).ok());
        Some(Control { channel: small("channel").filter(|c| (1..=16).contains(c))?, controller: small("controller")? })
    }
}

/// Where MIDI learn is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Learn {
    /// Learn is on.
    pub on: bool,
    /// The control moved last, waiting for a parameter to bind to.
    pub control: Option<Control>,
    /// The parameter (node, name) a drag just bound, while that drag goes on: its further
    /// moves are the learning gesture's, not changes.
    pub bound: Option<(String, String)>,
}

/// One binding of the graph's `midi_map`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// `"node.param"`.
    pub param: String,
    /// The controller number.
    pub cc: u8,
    /// Its channel, or any.
    pub channel: Option<u8>,
}

impl Mapping {
    /// The bindings in a graph (patch file format).
    pub fn all_in(graph: &Value) -> Vec<Mapping> {
        graph["midi_map"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|m| {
                        Some(Mapping {
                            param: m["param"].as_str()?.to_string(),
                            cc: u8::try_from(m["cc"].as_u64()?).ok()?,
                            channel: m["channel"].as_u64().and_then(|c| u8::try_from(c).ok()),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How the inspector names it: `CC 74 · ch 1` (or `· any channel`).
    pub fn label(&self) -> String {
        match self.channel {
            Some(channel) => format!("CC {} · ch {channel}", self.cc),
            None => format!("CC {} · any channel", self.cc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn controls_and_mappings_read_from_the_server() {
        let event = json!({ "type": "midi_cc", "channel": 3, "controller": 74, "value": 12 });
        assert_eq!(Control::from_event(&event), Some(Control { channel: 3, controller: 74 }));
        assert_eq!(Control::from_event(&json!({ "channel": 0, "controller": 1 })), None, "channels count from 1");
        let graph = json!({ "midi_map": [{ "cc": 74, "channel": 3, "param": "lead.cutoff_hz" }, { "cc": 7, "param": "mix.gain_db" }] });
        let all = Mapping::all_in(&graph);
        assert_eq!(all.iter().map(Mapping::label).collect::<Vec<_>>(), ["CC 74 · ch 3", "CC 7 · any channel"]);
        assert_eq!(all[0].param, "lead.cutoff_hz");
        assert!(Mapping::all_in(&json!({})).is_empty());
    }
}
