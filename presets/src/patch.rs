//! Patch files: a graph of nodes, their settings and parameters, connections and output buses,
//! as JSON (`"format": "noderack-patch"`). Every error names the file, the JSON path and the
//! line and column. Specification: `docs/PATCH_FORMAT.md`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use noderack_graph::{
    BusSpec, Connection, Direction, Edit, EngineConfig, Graph, NodeDescription, NodeId, NodePorts, ParamId, PortKind,
    PortRef, PortSpec, Unit,
};
use serde::Deserialize;

use crate::json_file::{key, read, FileError, Locator};
use crate::json_location::PathStep;
use crate::load_context::LoadContext;
use crate::missing_node::MissingNode;
use crate::node_config::{ConfigError, ConfigValue, NodeConfig};

/// The value of `format` every patch file carries.
pub const FORMAT: &str = "noderack-patch";
/// The newest format version this build reads (and writes).
pub const VERSION: u32 = 1;

/// Why a patch could not be loaded (every error names the file, line, column and JSON path).
pub type PatchError = FileError;

/// A parameter value as written in a patch or sent by a client: a number, a choice name
/// (`"square"`) or a switch (`true`).
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A number (continuous parameters, or a choice's index).
    Number(f32),
    /// A choice by name.
    Name(String),
    /// A switch.
    Switch(bool),
}

/// Parameter `name` of a node of `kind` set to `value`: its id and numeric value, or what is
/// wrong (no such parameter, a name that is not one of the choices, out of range).
pub(crate) fn resolve_param(
    kind: &str,
    description: &dyn NodeDescription,
    name: &str,
    value: &ParamValue,
) -> Result<(ParamId, f32), String> {
    let specs = description.params();
    let Some(index) = specs.iter().position(|s| s.name == name) else {
        let known: Vec<&str> = specs.iter().map(|s| s.name.as_ref()).collect();
        return Err(format!(
            "{kind} has no parameter \"{name}\" (its parameters: {})",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        ));
    };
    let spec = &specs[index];
    let v = match (value, spec.unit) {
        (ParamValue::Number(v), _) => *v,
        (ParamValue::Switch(b), Unit::Toggle) => f32::from(u8::from(*b)),
        (ParamValue::Name(s), Unit::Choice) => match spec.choices.iter().position(|c| c == s) {
            Some(c) => c as f32,
            None => return Err(format!("\"{s}\" is not one of: {}", spec.choices.join(", "))),
        },
        (ParamValue::Switch(_), _) => return Err("expected a number, found true/false".into()),
        (ParamValue::Name(s), _) => return Err(format!("expected a number, found \"{s}\"")),
    };
    if !spec.accepts(v) {
        return Err(format!("{v} is outside the range {}..={}", spec.min, spec.max));
    }
    Ok((ParamId(index as u32), v))
}

/// The port `text` (`"node.port"`) names among `nodes`, on the `direction` side.
pub(crate) fn resolve_endpoint(nodes: &[PatchNode], text: &str, direction: Direction) -> Result<PortRef, String> {
    let Some((node_name, port_name)) = text.split_once('.') else {
        return Err(format!("expected \"node.port\", found \"{text}\""));
    };
    let Some(node) = nodes.iter().find(|n| n.name == node_name) else {
        return Err(format!("no node has id \"{node_name}\""));
    };
    let ports = node.description.ports();
    match ports.find(direction, port_name) {
        Some(port) => Ok(PortRef { node: node.id, port }),
        None => {
            let side = ports.side(direction);
            let names: Vec<&str> = side.iter().map(|p| p.name.as_ref()).collect();
            let dir = if direction == Direction::Input { "input" } else { "output" };
            Err(format!(
                "node \"{node_name}\" ({}) has no {dir} port \"{port_name}\" (its {dir}s: {})",
                node.description.kind(),
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BusFile {
    name: String,
    #[serde(default = "two")]
    channels: u16,
}

fn two() -> u16 {
    2
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeFile {
    id: String,
    kind: String,
    #[serde(default)]
    config: NodeConfig,
    #[serde(default)]
    params: BTreeMap<String, ParamValue>,
    /// Where an editor drew the node; kept for editors, ignored by the engine.
    #[serde(default)]
    position: Option<[f32; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionFile {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchFile {
    format: String,
    version: u32,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    buses: Option<Vec<BusFile>>,
    #[serde(default)]
    inputs: Vec<BusFile>,
    nodes: Vec<NodeFile>,
    #[serde(default)]
    connections: Vec<ConnectionFile>,
    #[serde(default)]
    macros: Vec<crate::macros::MacroFile>,
    #[serde(default)]
    midi_map: Vec<crate::midi_map::CcMappingFile>,
}

/// Creates node descriptions by kind name while a patch loads. The node registry
/// (`noderack_nodes::registry::Registry`) implements it; the patch format itself knows no kinds.
pub trait NodeFactory {
    /// The description of a node of `kind` with the settings `config`. Files the settings
    /// name (a sampler's instrument) are read here, relative to `context.folder`.
    fn create(
        &self,
        kind: &str,
        config: &NodeConfig,
        context: &mut LoadContext,
    ) -> Result<Arc<dyn NodeDescription>, ConfigError>;
}

/// What a patch load does with a node that cannot be made (its file is gone, its plugin is not
/// installed, its kind is unknown to this build).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MissingNodes {
    /// The load fails, naming the node (editing a patch: the author fixes it).
    Refuse,
    /// The node is a silent stand-in ([`crate::missing_node::MissingNode`]) with the ports the
    /// patch's connections show, a warning says why, and saving writes it back as it was
    /// (opening a project: the rest of the patch plays).
    Silence,
}

/// A node of a loaded patch, resolved through a [`NodeFactory`].
#[derive(Clone)]
pub struct PatchNode {
    /// Its name in the file (`id`), used by connections and shown in listings.
    pub name: String,
    /// The engine id it is given (1-based position in the file).
    pub id: NodeId,
    /// What it is.
    pub description: Arc<dyn NodeDescription>,
    /// Parameters the file sets.
    pub params: Vec<(ParamId, f32)>,
    /// Its settings as written (what a live reload compares to decide whether the node must
    /// be rebuilt).
    pub config: NodeConfig,
    /// Why the node could not be made, when it is a silent stand-in ([`MissingNodes::Silence`]).
    pub missing: Option<String>,
    /// The parameters the file sets on a stand-in, as written (kept for saving).
    pub held_params: BTreeMap<String, ParamValue>,
    /// Where an editor drew the node (`[x, y]`), kept for editors; the engine ignores it.
    pub position: Option<[f32; 2]>,
}

impl PatchNode {
    /// Sets parameter `param` to `value`, replacing what the patch set or adding it.
    pub fn set_param(&mut self, param: ParamId, value: f32) {
        match self.params.iter_mut().find(|(p, _)| *p == param) {
            Some(slot) => slot.1 = value,
            None => self.params.push((param, value)),
        }
    }
}

/// A loaded, validated patch: turning it into engine edits cannot fail.
#[derive(Clone)]
pub struct Patch {
    /// Human name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Output buses (default: one stereo `main`).
    pub buses: Vec<BusSpec>,
    /// Input buses (live input read by `audio-in` nodes; default none).
    pub inputs: Vec<BusSpec>,
    /// Nodes in file order.
    pub nodes: Vec<PatchNode>,
    /// Connections in file order.
    pub connections: Vec<Connection>,
    /// The macros the patch maps (host-automatable controls, see [`crate::macros`]), by index.
    pub macros: Vec<crate::macros::Macro>,
    /// MIDI controllers bound to node parameters (MIDI learn, see [`crate::midi_map`]).
    pub midi_map: Vec<crate::midi_map::CcMapping>,
    /// What loading the nodes' files ignored or repaired (unsupported SFZ opcodes, sample
    /// hash mismatches), for the host to show.
    pub warnings: Vec<String>,
    /// Parts of the file a load with stand-ins could not use but keeps for saving.
    pub held: Held,
}

/// Parts of a patch file kept as written because they involve nodes that could not be made
/// ([`MissingNodes::Silence`]): written back on save so that nothing is lost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Held {
    /// Connections between two stand-ins (`from`, `to`), whose port kinds nothing shows.
    pub connections: Vec<(String, String)>,
    /// The file's `macros`, when a target names a stand-in's parameter.
    pub macros: Option<serde_json::Value>,
    /// The file's `midi_map`, when a mapping names a stand-in's parameter.
    pub midi_map: Option<serde_json::Value>,
}

impl Patch {
    /// Reads and validates the patch at `path`, creating its nodes with `factory`.
    pub fn load(path: &Path, factory: &dyn NodeFactory) -> Result<Patch, PatchError> {
        Self::parse(&read(path)?, &path.display().to_string(), factory)
    }

    /// Validates patch `text`; `file` names it in errors, and paths in node settings are
    /// relative to its folder. A node that cannot be made fails the load.
    pub fn parse(text: &str, file: &str, factory: &dyn NodeFactory) -> Result<Patch, PatchError> {
        Self::parse_with(text, file, factory, MissingNodes::Refuse)
    }

    /// [`Patch::parse`], with nodes that cannot be made treated as `missing` says.
    pub fn parse_with(
        text: &str,
        file: &str,
        factory: &dyn NodeFactory,
        missing: MissingNodes,
    ) -> Result<Patch, PatchError> {
        let mut context = LoadContext::new(Path::new(file).parent().unwrap_or(Path::new("")));
        let at = Locator { file, text };
        let raw: PatchFile = at.parse()?;
        if raw.format != FORMAT {
            return Err(at.error(&[key("format")], format!("expected \"{FORMAT}\", found \"{}\"", raw.format)));
        }
        if raw.version == 0 || raw.version > VERSION {
            return Err(at.error(
                &[key("version")],
                format!("version {} is not supported (this build reads versions 1 to {VERSION})", raw.version),
            ));
        }

        let bus_list = |list: Vec<BusFile>, field: &'static str| {
            let mut buses: Vec<BusSpec> = Vec::new();
            for (i, b) in list.into_iter().enumerate() {
                let here = [key(field), PathStep::Index(i)];
                if buses.iter().any(|x| x.name == b.name) {
                    return Err(at.error(&here, format!("bus \"{}\" is declared twice", b.name)));
                }
                if !(1..=64).contains(&b.channels) {
                    return Err(
                        at.error(&[here[0].clone(), here[1].clone(), key("channels")], "channels must be 1 to 64")
                    );
                }
                buses.push(BusSpec { name: b.name, channels: b.channels });
            }
            Ok(buses)
        };
        let buses = match raw.buses {
            None => vec![BusSpec::stereo("main")],
            Some(list) => {
                let buses = bus_list(list, "buses")?;
                if buses.is_empty() {
                    return Err(at.error(&[key("buses")], "a patch needs at least one output bus"));
                }
                buses
            }
        };
        let inputs = bus_list(raw.inputs, "inputs")?;

        let mut nodes: Vec<PatchNode> = Vec::with_capacity(raw.nodes.len());
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (i, n) in raw.nodes.into_iter().enumerate() {
            let here = |rest: &[PathStep]| {
                let mut p = vec![key("nodes"), PathStep::Index(i)];
                p.extend_from_slice(rest);
                p
            };
            if n.id.is_empty() || n.id.contains('.') || n.id.chars().any(char::is_whitespace) {
                return Err(at.error(&here(&[key("id")]), "a node id must be non-empty, without dots or spaces"));
            }
            if by_name.contains_key(&n.id) {
                return Err(at.error(&here(&[key("id")]), format!("node id \"{}\" is used twice", n.id)));
            }
            let created = factory.create(&n.kind, &n.config, &mut context);
            let description = match created {
                Err(e) if missing == MissingNodes::Silence => {
                    let reason = e.to_string();
                    context.warnings.push(format!("node \"{}\" ({}) is silent: {reason}", n.id, n.kind));
                    by_name.insert(n.id.clone(), i);
                    nodes.push(PatchNode {
                        name: n.id,
                        id: NodeId(i as u64 + 1),
                        // Its ports are filled in below, from the connections.
                        description: Arc::new(MissingNode::new(&n.kind, &reason, NodePorts::default())),
                        params: Vec::new(),
                        config: n.config,
                        missing: Some(reason),
                        held_params: n.params,
                        position: n.position,
                    });
                    continue;
                }
                created => created.map_err(|e| match &e {
                    ConfigError::UnknownKind { .. } => at.error(&here(&[key("kind")]), e.to_string()),
                    ConfigError::UnknownKey { key: k, .. } | ConfigError::BadValue { key: k, .. } => {
                        at.error(&here(&[key("config"), key(k)]), e.to_string())
                    }
                    ConfigError::Nested { key: k, field, .. } => {
                        let mut path = here(&[key("config"), key(k)]);
                        path.extend(field.as_deref().map(key));
                        at.error(&path, e.to_string())
                    }
                })?,
            };
            let mut params = Vec::with_capacity(n.params.len());
            for (name, value) in &n.params {
                let resolved = resolve_param(&n.kind, description.as_ref(), name, value)
                    .map_err(|message| at.error(&here(&[key("params"), key(name)]), message))?;
                params.push(resolved);
            }
            by_name.insert(n.id.clone(), i);
            nodes.push(PatchNode {
                name: n.id,
                id: NodeId(i as u64 + 1),
                description,
                params,
                config: n.config,
                missing: None,
                held_params: BTreeMap::new(),
                position: n.position,
            });
        }

        let mut held = Held::default();
        let held_connections = stand_in_ports(&mut nodes, &raw.connections, &mut held);

        let mut connections = Vec::with_capacity(raw.connections.len());
        for (i, c) in raw.connections.iter().enumerate() {
            if held_connections.contains(&i) {
                continue;
            }
            let endpoint = |field: &str, text: &str, direction: Direction| {
                resolve_endpoint(&nodes, text, direction)
                    .map_err(|message| at.error(&[key("connections"), PathStep::Index(i), key(field)], message))
            };
            let from = endpoint("from", &c.from, Direction::Output)?;
            let to = endpoint("to", &c.to, Direction::Input)?;
            connections.push(Connection { from, to });
        }

        let mut macros: Vec<crate::macros::Macro> = Vec::with_capacity(raw.macros.len());
        let names_stand_in = |m: &crate::macros::MacroFile| {
            m.targets.iter().any(|t| {
                let node = t.param.split_once('.').map_or("", |(node, _)| node);
                nodes.iter().any(|n| n.name == node && n.missing.is_some())
            })
        };
        if raw.macros.iter().any(names_stand_in) {
            // Kept as written for saving; the macros play without the stand-ins' targets.
            held.macros = serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v.get("macros").cloned());
        }
        for (i, m) in raw.macros.iter().enumerate() {
            let lookup = |name: &str| {
                nodes
                    .iter()
                    .find(|n| n.name == name && n.missing.is_none())
                    .map(|n| (n.id, n.description.kind(), n.description.params()))
            };
            let m = &m.without_targets_on(|node| nodes.iter().any(|n| n.name == node && n.missing.is_some()));
            let resolved = m.resolve(lookup).map_err(|problem| {
                let mut path = vec![key("macros"), PathStep::Index(i)];
                if let Some((t, _)) = problem.target {
                    path.extend([key("targets"), PathStep::Index(t)]);
                }
                path.push(key(problem.field));
                at.error(&path, problem.message)
            })?;
            if macros.iter().any(|other| other.index == resolved.index) {
                return Err(at.error(
                    &[key("macros"), PathStep::Index(i), key("index")],
                    format!("macro {} is mapped twice (list all its targets in one entry)", m.index),
                ));
            }
            macros.push(resolved);
        }
        macros.sort_by_key(|m| m.index);

        let stand_in = |param: &str| {
            let node = param.split_once('.').map_or("", |(node, _)| node);
            nodes.iter().any(|n| n.name == node && n.missing.is_some())
        };
        if raw.midi_map.iter().any(|m| stand_in(&m.param)) {
            // Kept as written for saving; the mappings of stand-ins move nothing meanwhile.
            held.midi_map =
                serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v.get("midi_map").cloned());
        }
        let mut midi_map = Vec::with_capacity(raw.midi_map.len());
        for (i, m) in raw.midi_map.iter().enumerate().filter(|(_, m)| !stand_in(&m.param)) {
            let lookup = |name: &str| {
                nodes.iter().find(|n| n.name == name).map(|n| (n.id, n.description.kind(), n.description.params()))
            };
            let mapping = m
                .resolve(&lookup)
                .map_err(|(field, message)| at.error(&[key("midi_map"), PathStep::Index(i), key(field)], message))?;
            midi_map.push(mapping);
        }

        let warnings = context.warnings;
        let patch = Patch {
            name: raw.name,
            description: raw.description,
            buses,
            inputs,
            nodes,
            connections,
            macros,
            midi_map,
            warnings,
            held,
        };
        patch.check_graph(&at)?;
        Ok(patch)
    }

    /// Applies the patch to a scratch graph so kind, channel, bus and cycle errors are found at
    /// load time and located at the node or connection that causes them.
    fn check_graph(&self, at: &Locator<'_>) -> Result<(), PatchError> {
        let mut graph = Graph::new(self.buses.clone()).with_inputs(self.inputs.clone());
        for (i, node) in self.nodes.iter().enumerate() {
            graph
                .apply_batch(vec![self.add_edit(node)])
                .map_err(|e| at.error(&[key("nodes"), PathStep::Index(i)], e.source.to_string()))?;
        }
        for (i, c) in self.connections.iter().enumerate() {
            graph
                .apply_batch(vec![Edit::Connect(*c)])
                .map_err(|e| at.error(&[key("connections"), PathStep::Index(i)], e.source.to_string()))?;
        }
        Ok(())
    }

    fn add_edit(&self, node: &PatchNode) -> Edit {
        Edit::AddNode {
            id: node.id,
            label: node.name.clone(),
            description: node.description.clone(),
            params: node.params.clone(),
        }
    }

    /// The edits that build this patch in an empty engine, as one batch.
    pub fn edits(&self) -> Vec<Edit> {
        let mut edits: Vec<Edit> = self.nodes.iter().map(|n| self.add_edit(n)).collect();
        edits.extend(self.connections.iter().map(|&c| Edit::Connect(c)));
        if !self.midi_map.is_empty() {
            edits.push(Edit::SetCcMap(crate::midi_map::bindings(&self.midi_map, Some)));
        }
        edits
    }

    /// An engine configuration with this patch's output and input buses.
    pub fn engine_config(&self, sample_rate: f32, max_block_frames: usize) -> EngineConfig {
        EngineConfig { sample_rate, max_block_frames, buses: self.buses.clone(), inputs: self.inputs.clone() }
    }

    /// The patch in its file format (what `Patch::parse` reads back into the same patch):
    /// parameters as the file sets them, choices by name, switches as booleans.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let bus = |b: &BusSpec| json!({ "name": b.name, "channels": b.channels });
        let port = |p: &PortRef, direction: Direction| {
            let node = self.nodes.iter().find(|n| n.id == p.node).expect("connections name the patch's nodes");
            let side = node.description.ports().side(direction);
            let name = side.get(p.port.0 as usize).map_or("?", |s| s.name.as_ref());
            format!("{}.{name}", node.name)
        };
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                let specs = n.description.params();
                let params: Map<String, Value> = n
                    .params
                    .iter()
                    .filter_map(|&(ParamId(i), v)| {
                        let spec = specs.get(i as usize)?;
                        let value = match spec.unit {
                            Unit::Choice => spec.choices.get(v as usize).map_or(json!(v), |c| json!(c)),
                            Unit::Toggle => json!(v >= 0.5),
                            _ => json!(v),
                        };
                        Some((spec.name.to_string(), value))
                    })
                    .collect();
                let mut params = params;
                for (name, value) in &n.held_params {
                    params.insert(name.clone(), json!(value));
                }
                let mut node = Map::new();
                node.insert("id".into(), json!(n.name));
                node.insert("kind".into(), json!(n.description.kind()));
                if !n.config.is_empty() {
                    node.insert("config".into(), json!(n.config));
                }
                if !params.is_empty() {
                    node.insert("params".into(), Value::Object(params));
                }
                if let Some(position) = n.position {
                    node.insert("position".into(), json!(position));
                }
                Value::Object(node)
            })
            .collect();
        let mut connections: Vec<Value> = self
            .connections
            .iter()
            .map(|c| json!({ "from": port(&c.from, Direction::Output), "to": port(&c.to, Direction::Input) }))
            .collect();
        connections.extend(self.held.connections.iter().map(|(from, to)| json!({ "from": from, "to": to })));
        let mut patch = Map::new();
        patch.insert("format".into(), json!(FORMAT));
        patch.insert("version".into(), json!(VERSION));
        patch.insert("name".into(), json!(self.name));
        patch.insert("description".into(), json!(self.description));
        patch.insert("buses".into(), Value::Array(self.buses.iter().map(bus).collect()));
        if !self.inputs.is_empty() {
            patch.insert("inputs".into(), Value::Array(self.inputs.iter().map(bus).collect()));
        }
        patch.insert("nodes".into(), Value::Array(nodes));
        patch.insert("connections".into(), Value::Array(connections));
        if let Some(macros) = &self.held.macros {
            patch.insert("macros".into(), macros.clone());
        } else if !self.macros.is_empty() {
            patch.insert("macros".into(), Value::Array(self.macros.iter().map(crate::macros::to_json).collect()));
        }
        if let Some(midi_map) = &self.held.midi_map {
            patch.insert("midi_map".into(), midi_map.clone());
        } else if !self.midi_map.is_empty() {
            patch.insert("midi_map".into(), Value::Array(self.midi_map.iter().map(|m| m.to_json()).collect()));
        }
        Value::Object(patch)
    }

    /// This patch as it should be saved now: each node's settings overlaid with the ones it
    /// has come to hold while running (a hosted plugin's state,
    /// [`NodeDescription::current_settings`]). Asks every node, so call it when saving, not
    /// on every change.
    pub fn with_current_settings(&self) -> Patch {
        let mut patch = self.clone();
        for node in &mut patch.nodes {
            for (key, value) in node.description.current_settings() {
                node.config.insert(key, ConfigValue::Text(value));
            }
        }
        patch
    }

    /// The node named `name` in the file.
    pub fn node(&self, name: &str) -> Option<&PatchNode> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// Gives each stand-in the ports the connections show it has (the kind of the port at the other
/// end). Connections with a stand-in at both ends are held as written, with a warning; their
/// indices are returned so that they are left out of the graph.
fn stand_in_ports(nodes: &mut [PatchNode], connections: &[ConnectionFile], held: &mut Held) -> Vec<usize> {
    if nodes.iter().all(|n| n.missing.is_none()) {
        return Vec::new();
    }
    let mut ports: HashMap<usize, NodePorts> = HashMap::new();
    let mut held_indices = Vec::new();
    let split = |text: &str| text.split_once('.').map(|(n, p)| (n.to_string(), p.to_string()));
    for (i, c) in connections.iter().enumerate() {
        let (Some((from_node, from_port)), Some((to_node, to_port))) = (split(&c.from), split(&c.to)) else { continue };
        let index = |name: &str| nodes.iter().position(|n| n.name == name);
        let (Some(from), Some(to)) = (index(&from_node), index(&to_node)) else { continue };
        let (from_missing, to_missing) = (nodes[from].missing.is_some(), nodes[to].missing.is_some());
        let found = |node: usize, direction: Direction, name: &str| {
            let ports = nodes[node].description.ports();
            ports.find(direction, name).map(|p| ports.side(direction)[p.0 as usize].kind)
        };
        let add = |side: &mut Vec<PortSpec>, name: String, kind: PortKind| {
            if !side.iter().any(|p| p.name == name) {
                side.push(PortSpec { name: name.into(), kind });
            }
        };
        match (from_missing, to_missing) {
            (true, true) => {
                held.connections.push((c.from.clone(), c.to.clone()));
                held_indices.push(i);
            }
            (true, false) => {
                if let Some(kind) = found(to, Direction::Input, &to_port) {
                    add(&mut ports.entry(from).or_default().outputs, from_port, kind);
                }
            }
            (false, true) => {
                if let Some(kind) = found(from, Direction::Output, &from_port) {
                    add(&mut ports.entry(to).or_default().inputs, to_port, kind);
                }
            }
            (false, false) => {}
        }
    }
    for (index, node) in nodes.iter_mut().enumerate() {
        if let Some(reason) = node.missing.clone() {
            let node_ports = ports.remove(&index).unwrap_or_default();
            let kind = node.description.kind().to_string();
            node.description = Arc::new(MissingNode::new(&kind, &reason, node_ports));
        }
    }
    held_indices
}
