//! The graph as the editor sees it: nodes with their own typed ports and where they are drawn,
//! and the cables between them, read from the control API's `GET /api/v1/graph` reply (the
//! patch and each node's ports). Plain data, no drawing: what the views and tests share.

use serde_json::Value;

use crate::kinds::ParamInfo;

/// What a port carries, which decides its colour and what it may connect to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PortKind {
    /// Audio with this many channels.
    Audio(u16),
    /// Notes and MIDI.
    Events,
    /// A mono control signal.
    Control,
}

impl PortKind {
    /// The kind the API names (`"stereo audio"`, `"events"`, `"control"`), with its channels.
    fn from_api(name: &str, channels: u16) -> Option<PortKind> {
        match name {
            "events" => Some(PortKind::Events),
            "control" => Some(PortKind::Control),
            audio if audio.ends_with("audio") => Some(PortKind::Audio(channels)),
            _ => None,
        }
    }
}

/// One port of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    /// Its name (`"out"`, `"in1"`).
    pub name: String,
    /// What it carries.
    pub kind: PortKind,
}

/// One node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Its id in the patch.
    pub id: String,
    /// Its kind (`synth`, `mixer`, …).
    pub kind: String,
    /// Where it is drawn (its top-left corner, in graph units).
    pub position: [f32; 2],
    /// Whether that position came from the patch (else the editor laid it out).
    pub placed: bool,
    /// Input ports, top to bottom.
    pub inputs: Vec<Port>,
    /// Output ports, top to bottom.
    pub outputs: Vec<Port>,
    /// The parameters the patch sets, as it writes them (numbers, choice names, switches);
    /// the others are at their defaults.
    pub params: serde_json::Map<String, Value>,
    /// Its settings, as the patch writes them (`null`: none).
    pub config: Value,
    /// Its parameters (which depend on its settings: a mixer's inputs).
    pub param_specs: Vec<ParamInfo>,
}

impl Node {
    /// Its parameter `name`.
    pub fn param(&self, name: &str) -> Option<&ParamInfo> {
        self.param_specs.iter().find(|p| p.name == name)
    }

    /// The value of its parameter `name` now (the default where the patch does not set it).
    pub fn param_value(&self, name: &str) -> Option<f64> {
        Some(self.param(name)?.value_of(self.params.get(name)))
    }
}

/// The ports on one side of a node (`what`, for errors) as the API lists them.
pub fn ports_from_api(list: &Value, what: &str) -> Result<Vec<Port>, ModelError> {
    let list = list.as_array().ok_or_else(|| ModelError(format!("no port list for \"{what}\"")))?;
    list.iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let channels = p["channels"].as_u64().unwrap_or(0).min(u16::MAX as u64) as u16;
            let kind = PortKind::from_api(p["kind"].as_str().unwrap_or_default(), channels)
                .ok_or_else(|| ModelError(format!("port {what}.{name} has an unknown kind {}", p["kind"])))?;
            Ok(Port { name, kind })
        })
        .collect()
}

/// A connection: output `from_port` of node `from` to input `to_port` of node `to` (indices).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Cable {
    /// Source node.
    pub from: usize,
    /// Its output port.
    pub from_port: usize,
    /// Destination node.
    pub to: usize,
    /// Its input port.
    pub to_port: usize,
}

/// A parameter of a node, by names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamRef {
    /// The node's id.
    pub node: String,
    /// The parameter's name.
    pub param: String,
}

/// The parameters a slot's channel strip is made of (each where there is one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strip {
    /// Level, in decibels.
    pub level: Option<ParamRef>,
    /// Stereo position.
    pub pan: Option<ParamRef>,
    /// Mute switch.
    pub mute: Option<ParamRef>,
    /// Solo switch.
    pub solo: Option<ParamRef>,
}

/// A slot of the rack: an instrument, where its notes come from and where its sound goes
/// (the server reads them off the graph: `noderack slots`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The instrument node's id.
    pub instrument: String,
    /// Its kind.
    pub kind: String,
    /// The MIDI channel its notes come on (`"omni"`, `"10"`, `"all but 10"`, `"none"`).
    pub channel: String,
    /// The bus its sound reaches.
    pub bus: Option<String>,
    /// The nodes on the way there.
    pub through: Vec<String>,
    /// Its channel strip, if its way passes a mixer input or a gain.
    pub strip: Option<Strip>,
}

impl Slot {
    /// The slot in a `GET /graph` reply's `slots` list.
    fn from_api(s: &Value) -> Slot {
        let param = |p: &Value| {
            Some(ParamRef { node: p["node"].as_str()?.to_string(), param: p["param"].as_str()?.to_string() })
        };
        let strip = s["strip"].is_object().then(|| Strip {
            level: param(&s["strip"]["level"]),
            pan: param(&s["strip"]["pan"]),
            mute: param(&s["strip"]["mute"]),
            solo: param(&s["strip"]["solo"]),
        });
        Slot {
            instrument: s["instrument"].as_str().unwrap_or_default().to_string(),
            kind: s["kind"].as_str().unwrap_or_default().to_string(),
            channel: s["channel"].as_str().unwrap_or_default().to_string(),
            bus: s["bus"].as_str().map(str::to_string),
            through: s["through"]
                .as_array()
                .map(|t| t.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            strip,
        }
    }
}

/// The graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GraphModel {
    /// Nodes in patch order.
    pub nodes: Vec<Node>,
    /// Connections in patch order.
    pub cables: Vec<Cable>,
    /// The slots (instruments and their routes), in node order.
    pub slots: Vec<Slot>,
    /// MIDI controllers bound to parameters (MIDI learn).
    pub midi_map: Vec<crate::learn::Mapping>,
    /// The server's revision this was read at.
    pub revision: u64,
}

/// Why a reply could not be read as a graph.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("the server's graph is not readable: {0}")]
pub struct ModelError(pub String);

/// Distance between laid-out columns and rows, in graph units.
const COLUMN_STEP: f32 = 240.0;
const ROW_STEP: f32 = 150.0;
/// Where layout starts.
const MARGIN: f32 = 40.0;

impl GraphModel {
    /// The graph in a `GET /api/v1/graph` reply (`{"revision", "graph", "ports"}`). Nodes the
    /// patch gives no position are laid out in columns by their distance from the sources.
    pub fn from_api(reply: &Value) -> Result<GraphModel, ModelError> {
        let fail = |what: &str| ModelError(what.to_string());
        let graph = reply.get("graph").ok_or_else(|| fail("no \"graph\""))?;
        let ports = reply.get("ports").ok_or_else(|| fail("no \"ports\" (a server older than this editor?)"))?;
        let mut nodes = Vec::new();
        for node in graph["nodes"].as_array().ok_or_else(|| fail("no \"nodes\""))? {
            let id = node["id"].as_str().ok_or_else(|| fail("a node without an id"))?.to_string();
            let side = |side: &str| ports_from_api(&ports[&id][side], &id);
            let position = node["position"]
                .as_array()
                .and_then(|p| Some([p.first()?.as_f64()? as f32, p.get(1)?.as_f64()? as f32]));
            nodes.push(Node {
                kind: node["kind"].as_str().unwrap_or_default().to_string(),
                position: position.unwrap_or_default(),
                placed: position.is_some(),
                inputs: side("inputs")?,
                outputs: side("outputs")?,
                params: node["params"].as_object().cloned().unwrap_or_default(),
                param_specs: ports[&id]["params"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(ParamInfo::from_api)
                    .collect(),
                config: node["config"].clone(),
                id,
            });
        }
        let mut cables = Vec::new();
        for c in graph["connections"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let end = |field: &str, outputs: bool| -> Result<(usize, usize), ModelError> {
                let text = c[field].as_str().unwrap_or_default();
                let (node, port) = text.split_once('.').ok_or_else(|| ModelError(format!("bad port \"{text}\"")))?;
                let n =
                    nodes.iter().position(|x| x.id == node).ok_or_else(|| ModelError(format!("no node \"{node}\"")))?;
                let side = if outputs { &nodes[n].outputs } else { &nodes[n].inputs };
                let p = side
                    .iter()
                    .position(|x| x.name == port)
                    .ok_or_else(|| ModelError(format!("no port \"{text}\"")))?;
                Ok((n, p))
            };
            let ((from, from_port), (to, to_port)) = (end("from", true)?, end("to", false)?);
            cables.push(Cable { from, from_port, to, to_port });
        }
        let slots = reply["slots"].as_array().map(|l| l.iter().map(Slot::from_api).collect()).unwrap_or_default();
        let midi_map = crate::learn::Mapping::all_in(graph);
        let revision = reply["revision"].as_u64().unwrap_or(0);
        let mut model = GraphModel { nodes, cables, slots, midi_map, revision };
        model.lay_out_unplaced();
        Ok(model)
    }

    /// Gives every node without a position one: column = its longest distance from a node
    /// with no inputs connected, row = its order in that column, below any placed nodes.
    fn lay_out_unplaced(&mut self) {
        let n = self.nodes.len();
        let mut depth = vec![0usize; n];
        // Longest path by relaxation (the graph has no cycles: the server refuses them).
        for _ in 0..n {
            let mut changed = false;
            for c in &self.cables {
                if depth[c.to] < depth[c.from] + 1 {
                    depth[c.to] = depth[c.from] + 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut rows = vec![0usize; n];
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if node.placed {
                continue;
            }
            let row = rows[depth[i]];
            rows[depth[i]] += 1;
            node.position = [MARGIN + depth[i] as f32 * COLUMN_STEP, MARGIN + row as f32 * ROW_STEP];
        }
    }

    /// The buses the graph's `output` nodes play: `(bus, output node id)`.
    pub fn buses(&self) -> Vec<(String, String)> {
        self.nodes
            .iter()
            .filter(|n| n.kind == "output")
            .map(|n| (n.config["bus"].as_str().unwrap_or("main").to_string(), n.id.clone()))
            .collect()
    }

    /// The index of the node with id `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }
}

/// A synthetic graph of `nodes` stereo processors in a grid, each fed by the two before it
/// (about two cables per node): the load the frame-time benchmark draws.
pub fn grid(nodes: usize) -> GraphModel {
    let audio = |name: &str| Port { name: name.into(), kind: PortKind::Audio(2) };
    let columns = (nodes as f32).sqrt().ceil().max(1.0) as usize;
    let nodes_list: Vec<Node> = (0..nodes)
        .map(|i| Node {
            id: format!("n{i}"),
            kind: "mixer".into(),
            position: [(i % columns) as f32 * COLUMN_STEP, (i / columns) as f32 * ROW_STEP],
            placed: true,
            inputs: vec![audio("in1"), audio("in2")],
            outputs: vec![audio("out")],
            params: Default::default(),
            config: Value::Null,
            param_specs: vec![],
        })
        .collect();
    let mut cables = Vec::new();
    for to in 0..nodes {
        for (port, back) in [(0, 1), (1, columns)] {
            if to >= back {
                cables.push(Cable { from: to - back, from_port: 0, to, to_port: port });
            }
        }
    }
    GraphModel { nodes: nodes_list, cables, slots: Vec::new(), midi_map: Vec::new(), revision: 0 }
}

/// Whether output port `from` may feed input port `to`: same kind, and audio with equal
/// channel counts (what the engine accepts).
pub fn can_connect(from: &Port, to: &Port) -> bool {
    from.kind == to.kind
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reply() -> Value {
        json!({
            "revision": 7,
            "graph": {
                "nodes": [
                    { "id": "keys", "kind": "midi-in" },
                    { "id": "lead", "kind": "synth", "position": [500, 60] },
                    { "id": "fx", "kind": "gain" },
                    { "id": "out", "kind": "output" }
                ],
                "connections": [
                    { "from": "keys.events", "to": "lead.events" },
                    { "from": "lead.out", "to": "fx.in" },
                    { "from": "fx.out", "to": "out.in" }
                ]
            },
            "ports": {
                "keys": { "inputs": [], "outputs": [{ "name": "events", "kind": "events", "channels": 0 }] },
                "lead": { "inputs": [{ "name": "events", "kind": "events", "channels": 0 }],
                          "outputs": [{ "name": "out", "kind": "stereo audio", "channels": 2 }] },
                "fx": { "inputs": [{ "name": "in", "kind": "stereo audio", "channels": 2 }],
                        "outputs": [{ "name": "out", "kind": "stereo audio", "channels": 2 }] },
                "out": { "inputs": [{ "name": "in", "kind": "stereo audio", "channels": 2 }], "outputs": [] }
            }
        })
    }

    #[test]
    fn a_reply_becomes_nodes_ports_and_cables() {
        let model = GraphModel::from_api(&reply()).unwrap();
        assert_eq!(model.revision, 7);
        assert_eq!(model.nodes.len(), 4);
        assert_eq!(model.nodes[1].outputs[0], Port { name: "out".into(), kind: PortKind::Audio(2) });
        assert_eq!(model.cables[1], Cable { from: 1, from_port: 0, to: 2, to_port: 0 });
    }

    #[test]
    fn unplaced_nodes_are_laid_out_in_columns_by_depth_and_placed_ones_stay() {
        let model = GraphModel::from_api(&reply()).unwrap();
        assert_eq!(model.nodes[1].position, [500.0, 60.0], "the patch's position is kept");
        assert_eq!(model.nodes[0].position, [MARGIN, MARGIN]);
        assert_eq!(model.nodes[2].position, [MARGIN + 2.0 * COLUMN_STEP, MARGIN], "two steps from the keys");
        assert_eq!(model.nodes[3].position, [MARGIN + 3.0 * COLUMN_STEP, MARGIN]);
    }

    #[test]
    fn only_ports_of_one_kind_and_width_connect() {
        let port = |kind| Port { name: "p".into(), kind };
        assert!(can_connect(&port(PortKind::Audio(2)), &port(PortKind::Audio(2))));
        assert!(!can_connect(&port(PortKind::Audio(2)), &port(PortKind::Audio(1))));
        assert!(!can_connect(&port(PortKind::Events), &port(PortKind::Audio(2))));
        assert!(!can_connect(&port(PortKind::Control), &port(PortKind::Events)));
    }

    #[test]
    fn a_reply_naming_what_does_not_exist_is_an_error() {
        let mut bad = reply();
        bad["graph"]["connections"][0]["to"] = json!("lead.nowhere");
        assert!(GraphModel::from_api(&bad).unwrap_err().0.contains("lead.nowhere"));
        assert!(GraphModel::from_api(&json!({ "graph": {} })).is_err());
    }
}
