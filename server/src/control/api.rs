//! The control API's vocabulary: request bodies, errors with the status they map to, and the
//! JSON views of the engine (node kinds, MIDI events). The HTTP and WebSocket front ends share
//! it; `docs/API.md` documents it.

use noderack_graph::{Direction, EventData, MidiMessage, TransportChange, Unit};
use noderack_nodes::registry::KINDS;
use noderack_presets::{NodeConfig, PatchEdit};
use serde::Deserialize;
use serde_json::{json, Value};

/// Why a request failed: an HTTP status, what is wrong, and for a batch, which edit.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The HTTP status (400 malformed, 401 no token, 404 unknown, 409 nothing to undo, 413 too
    /// large, 422 refused by validation, 503 the engine is busy).
    pub status: u16,
    /// What is wrong, for people.
    pub message: String,
    /// The failing edit's position in the batch.
    pub edit: Option<usize>,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), edit: None }
    }

    /// The error as the JSON body clients receive.
    pub fn to_json(&self) -> Value {
        let mut error = json!({ "status": self.status, "message": self.message });
        if let Some(edit) = self.edit {
            error["edit"] = json!(edit);
        }
        json!({ "error": error })
    }
}

/// Parses `bytes` as `T`, naming the JSON path of what is wrong.
pub fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." || path.contains('?') { String::new() } else { format!("{path}: ") };
        ApiError::new(400, format!("{at}{}", e.inner()))
    })
}

/// `POST /api/v1/edits` and the WebSocket `edits` command.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBatch {
    /// The edits, applied in order, all or none.
    pub edits: Vec<PatchEdit>,
    /// The batch goes on with the caller's last change (a knob being turned, a node being
    /// dragged): one undo step covers both.
    #[serde(default)]
    pub continues: bool,
}

/// `POST /api/v1/connections` and `DELETE /api/v1/connections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    /// An output port, `"node.port"`.
    pub from: String,
    /// An input port, `"node.port"`.
    pub to: String,
}

/// `POST /api/v1/nodes`: a node to add.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeBody {
    /// Its id, chosen by the client.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Structural settings.
    #[serde(default)]
    pub config: NodeConfig,
    /// Initial parameters by name.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, noderack_presets::ParamValue>,
    /// Where an editor draws it.
    #[serde(default)]
    pub position: Option<[f32; 2]>,
}

/// `POST /api/v1/transport`: fields left out keep their value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportBody {
    /// Tempo, 1–999 beats per minute.
    pub tempo_bpm: Option<f64>,
    /// Time signature, `[beats per bar, beat unit]`.
    pub signature: Option<[u8; 2]>,
    /// Start or stop.
    pub playing: Option<bool>,
    /// Jump to this position, in beats.
    pub position_beats: Option<f64>,
}

impl TransportBody {
    /// The change it asks for, or what is out of range.
    pub fn change(&self) -> Result<TransportChange, ApiError> {
        if let Some(t) = self.tempo_bpm {
            if !(1.0..=999.0).contains(&t) {
                return Err(ApiError::new(422, format!("tempo_bpm: {t} is outside 1..=999")));
            }
        }
        if let Some([beats, unit]) = self.signature {
            if beats == 0 || !matches!(unit, 1 | 2 | 4 | 8 | 16 | 32) {
                return Err(ApiError::new(422, format!("signature: {beats}/{unit} is not a time signature")));
            }
        }
        if let Some(p) = self.position_beats {
            if !(p.is_finite() && p >= 0.0) {
                return Err(ApiError::new(422, format!("position_beats: {p} must be 0 or more")));
            }
        }
        Ok(TransportChange {
            tempo_bpm: self.tempo_bpm,
            signature: self.signature.map(|[b, u]| (b, u)),
            playing: self.playing,
            position_beats: self.position_beats,
        })
    }
}

/// `POST /api/v1/midi`: events for one `midi-in` node.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MidiBody {
    /// The `midi-in` node.
    pub node: String,
    /// The events, in order.
    pub events: Vec<MidiEventBody>,
}

/// One MIDI event. Channels are 1–16, as musicians count them.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MidiEventBody {
    /// A key pressed (velocity 1–127).
    NoteOn {
        /// Channel 1–16.
        channel: u8,
        /// Key 0–127.
        key: u8,
        /// Velocity 1–127.
        velocity: u8,
        /// Engine frame to play it at (sample-accurate), or as soon as possible.
        at_frame: Option<u64>,
    },
    /// A key released.
    NoteOff {
        /// Channel 1–16.
        channel: u8,
        /// Key 0–127.
        key: u8,
        /// Engine frame, or as soon as possible.
        at_frame: Option<u64>,
    },
    /// A control change.
    Cc {
        /// Channel 1–16.
        channel: u8,
        /// Controller 0–127.
        controller: u8,
        /// Value 0–127.
        value: u8,
        /// Engine frame, or as soon as possible.
        at_frame: Option<u64>,
    },
    /// A program change.
    Program {
        /// Channel 1–16.
        channel: u8,
        /// Program 0–127.
        program: u8,
        /// Engine frame, or as soon as possible.
        at_frame: Option<u64>,
    },
    /// Pitch bend, −8192 to 8191.
    PitchBend {
        /// Channel 1–16.
        channel: u8,
        /// Bend amount.
        value: i16,
        /// Engine frame, or as soon as possible.
        at_frame: Option<u64>,
    },
}

impl MidiEventBody {
    /// The engine event and its frame, or what is out of range.
    pub fn to_event(&self) -> Result<(EventData, Option<u64>), String> {
        let channel = |c: u8| if (1..=16).contains(&c) { Ok(c - 1) } else { Err(format!("channel {c} is not 1–16")) };
        let seven = |what: &str, v: u8| if v <= 127 { Ok(v) } else { Err(format!("{what} {v} is not 0–127")) };
        let (message, at) = match *self {
            MidiEventBody::NoteOn { channel: c, key, velocity, at_frame } => {
                if velocity == 0 || velocity > 127 {
                    return Err(format!("velocity {velocity} is not 1–127"));
                }
                (MidiMessage::NoteOn { channel: channel(c)?, key: seven("key", key)?, velocity }, at_frame)
            }
            MidiEventBody::NoteOff { channel: c, key, at_frame } => {
                (MidiMessage::NoteOff { channel: channel(c)?, key: seven("key", key)?, velocity: 64 }, at_frame)
            }
            MidiEventBody::Cc { channel: c, controller, value, at_frame } => (
                MidiMessage::ControlChange {
                    channel: channel(c)?,
                    controller: seven("controller", controller)?,
                    value: seven("value", value)?,
                },
                at_frame,
            ),
            MidiEventBody::Program { channel: c, program, at_frame } => {
                (MidiMessage::ProgramChange { channel: channel(c)?, program: seven("program", program)? }, at_frame)
            }
            MidiEventBody::PitchBend { channel: c, value, at_frame } => {
                if !(-8192..=8191).contains(&value) {
                    return Err(format!("pitch bend {value} is not −8192–8191"));
                }
                (MidiMessage::PitchBend { channel: channel(c)?, value }, at_frame)
            }
        };
        Ok((EventData::Midi(message), at))
    }
}

/// A node's ports on one side: name, kind, channels.
pub fn ports_json(d: &dyn noderack_graph::NodeDescription, direction: Direction) -> Vec<Value> {
    d.ports()
        .side(direction)
        .iter()
        .map(|p| json!({ "name": p.name, "kind": p.kind.to_string(), "channels": p.kind.signal_channels() }))
        .collect()
}

/// A node's parameters: name, range, default, unit, smoothing, and a choice's names.
pub fn params_json(d: &dyn noderack_graph::NodeDescription) -> Vec<Value> {
    d.params()
        .iter()
        .map(|p| {
            let mut v = json!({
                "name": p.name, "min": p.min, "max": p.max, "default": p.default,
                "unit": p.unit.name(), "smoothing_seconds": p.smoothing_seconds,
            });
            if p.unit == Unit::Choice {
                v["choices"] = json!(p.choices);
            }
            v
        })
        .collect()
}

/// Every node of `patch` with its own ports and parameters (which depend on its settings: a
/// mixer's inputs, a hosted plugin's), by node id: what an editor draws and edits.
pub fn patch_ports(patch: &noderack_presets::Patch) -> Value {
    let nodes: serde_json::Map<String, Value> = patch
        .nodes
        .iter()
        .map(|n| {
            let d = n.description.as_ref();
            (
                n.name.clone(),
                json!({
                    "inputs": ports_json(d, Direction::Input),
                    "outputs": ports_json(d, Direction::Output),
                    "params": params_json(d),
                }),
            )
        })
        .collect();
    Value::Object(nodes)
}

/// The slots of `patch` (what `noderack slots --json` prints and `GET /graph` carries): each
/// instrument, its channel, bus, the nodes on the way and its strip's parameters.
pub fn slots_json(patch: &noderack_presets::Patch) -> Value {
    let param =
        |p: Option<noderack_presets::slots::ParamRef>| p.map(|(node, param)| json!({ "node": node, "param": param }));
    let slots: Vec<Value> = noderack_presets::slots::slots(patch)
        .iter()
        .map(|s| {
            let strip = s.strip.as_ref().map(|strip| {
                json!({
                    "level": param(Some(strip.level())), "pan": param(Some(strip.pan())),
                    "mute": param(strip.mute()), "solo": param(strip.solo()),
                })
            });
            json!({
                "instrument": s.instrument, "kind": s.kind, "channel": s.channel.to_string(),
                "bus": s.bus, "through": s.through, "strip": strip,
            })
        })
        .collect();
    Value::Array(slots)
}

/// Every node kind with its settings, ports and parameters (`GET /api/v1/node-kinds`), what
/// `noderack nodes` prints, for clients.
pub fn node_kinds() -> Value {
    let kinds: Vec<Value> = KINDS
        .iter()
        .filter_map(|kind| {
            let d = noderack_nodes::registry::create(kind.kind, &NodeConfig::new()).ok()?;
            let ports = |direction| ports_json(d.as_ref(), direction);
            Some(json!({
                "kind": kind.kind, "summary": kind.summary, "settings": kind.settings,
                "inputs": ports(Direction::Input), "outputs": ports(Direction::Output), "params": params_json(d.as_ref()),
            }))
        })
        .collect();
    json!({ "kinds": kinds })
}
