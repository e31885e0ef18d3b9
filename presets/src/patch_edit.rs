//! Edits a client asks for, in the terms of the patch format (node ids are names, ports are
//! `"node.port"`, parameters by name), applied to a patch as one all-or-nothing batch. The
//! control server turns every API call into these; the result is a new patch, which
//! [`crate::RunningPatch`] then turns into the engine's edit batch.

use std::collections::BTreeMap;

use noderack_graph::{Connection, Direction, Edit, Graph, NodeId};
use serde::Deserialize;

use crate::load_context::LoadContext;
use crate::node_config::NodeConfig;
use crate::patch::{resolve_endpoint, resolve_param, NodeFactory, ParamValue, Patch, PatchNode};

/// One change to a patch, as clients send it (JSON: `{"op": "add", ...}`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum PatchEdit {
    /// Adds node `id` (chosen by the client: unique, no dots or spaces) of `kind`.
    Add {
        /// Its id.
        id: String,
        /// Its kind (`noderack nodes` lists them).
        kind: String,
        /// Structural settings (as in a patch file).
        #[serde(default)]
        config: NodeConfig,
        /// Initial parameter values by name.
        #[serde(default)]
        params: BTreeMap<String, ParamValue>,
        /// Where an editor draws it.
        #[serde(default)]
        position: Option<[f32; 2]>,
    },
    /// Moves node `id` in an editor's drawing (the engine is not involved).
    Move {
        /// The node.
        id: String,
        /// Its new place, `[x, y]`.
        position: [f32; 2],
    },
    /// Removes node `id` and its connections.
    Remove {
        /// The node.
        id: String,
    },
    /// Connects output `from` (`"node.port"`) to input `to`.
    Connect {
        /// An output port.
        from: String,
        /// An input port.
        to: String,
    },
    /// Removes the connection from `from` to `to`.
    Disconnect {
        /// An output port.
        from: String,
        /// An input port.
        to: String,
    },
    /// Sets parameter `param` of node `id`.
    Set {
        /// The node.
        id: String,
        /// The parameter's name.
        param: String,
        /// The value: a number, a choice name, a switch.
        value: ParamValue,
    },
    /// Returns parameter `param` of node `id` to its default (the patch no longer sets it).
    Reset {
        /// The node.
        id: String,
        /// The parameter's name.
        param: String,
    },
    /// Binds MIDI controller `cc` (on `channel` 1..=16, or any) to `param` (`"node.param"`)
    /// over its range or `min`..`max` (MIDI learn). A parameter follows one controller: one it
    /// followed before lets go of it.
    MapCc {
        /// The controller number, 0..=127.
        cc: u32,
        /// The channel; absent: any.
        #[serde(default)]
        channel: Option<u32>,
        /// `"node.param"`.
        param: String,
        /// The parameter's value at controller value 0.
        #[serde(default)]
        min: Option<f32>,
        /// Its value at 127.
        #[serde(default)]
        max: Option<f32>,
    },
    /// Lets go of every controller bound to `param` (`"node.param"`).
    UnmapCc {
        /// `"node.param"`.
        param: String,
    },
}

impl PatchEdit {
    /// The edit's `op`, for messages.
    pub fn op(&self) -> &'static str {
        match self {
            PatchEdit::Add { .. } => "add",
            PatchEdit::Remove { .. } => "remove",
            PatchEdit::Connect { .. } => "connect",
            PatchEdit::Disconnect { .. } => "disconnect",
            PatchEdit::Set { .. } => "set",
            PatchEdit::Reset { .. } => "reset",
            PatchEdit::Move { .. } => "move",
            PatchEdit::MapCc { .. } => "map_cc",
            PatchEdit::UnmapCc { .. } => "unmap_cc",
        }
    }
}

/// Why a batch was refused: which edit, and what is wrong with it. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("edit {index} ({op}): {message}")]
pub struct EditError {
    /// Position of the failing edit in the batch (0-based).
    pub index: usize,
    /// Its `op`.
    pub op: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Patch {
    /// This patch with `edits` applied in order, or the first edit that fails and why (this
    /// patch is unchanged either way). Files that settings name (a sampler's instrument) are
    /// read through `context`, relative to its folder.
    pub fn edited(
        &self,
        edits: &[PatchEdit],
        factory: &dyn NodeFactory,
        context: &mut LoadContext,
    ) -> Result<Patch, EditError> {
        let mut patch = self.clone();
        let mut graph = Graph::new(patch.buses.clone()).with_inputs(patch.inputs.clone());
        graph.apply_batch(patch.edits()).expect("a loaded patch is valid");
        for (index, edit) in edits.iter().enumerate() {
            let fail = |message: String| EditError { index, op: edit.op(), message };
            apply(&mut patch, &mut graph, edit, factory, context).map_err(fail)?;
        }
        patch.warnings.clear();
        patch.warnings.append(&mut context.warnings);
        Ok(patch)
    }
}

fn apply(
    patch: &mut Patch,
    graph: &mut Graph,
    edit: &PatchEdit,
    factory: &dyn NodeFactory,
    context: &mut LoadContext,
) -> Result<(), String> {
    let model =
        |graph: &mut Graph, edit: Edit| graph.apply_batch(vec![edit]).map(|_| ()).map_err(|e| e.source.to_string());
    let node_index = |patch: &Patch, id: &str| {
        patch.nodes.iter().position(|n| n.name == id).ok_or_else(|| format!("no node has id \"{id}\""))
    };
    match edit {
        PatchEdit::Add { id, kind, config, params, position } => {
            if id.is_empty() || id.contains('.') || id.chars().any(char::is_whitespace) {
                return Err("a node id must be non-empty, without dots or spaces".into());
            }
            if patch.nodes.iter().any(|n| &n.name == id) {
                return Err(format!("node id \"{id}\" is in use"));
            }
            let description = factory.create(kind, config, context).map_err(|e| e.to_string())?;
            let params = params
                .iter()
                .map(|(name, value)| resolve_param(kind, description.as_ref(), name, value))
                .collect::<Result<Vec<_>, _>>()?;
            let node_id = NodeId(patch.nodes.iter().map(|n| n.id.0).max().unwrap_or(0) + 1);
            let node = PatchNode {
                name: id.clone(),
                id: node_id,
                description,
                params,
                config: config.clone(),
                missing: None,
                held_params: Default::default(),
                position: *position,
            };
            model(
                graph,
                Edit::AddNode {
                    id: node_id,
                    label: id.clone(),
                    description: node.description.clone(),
                    params: node.params.clone(),
                },
            )?;
            patch.nodes.push(node);
        }
        PatchEdit::Remove { id } => {
            let index = node_index(patch, id)?;
            let node_id = patch.nodes[index].id;
            model(graph, Edit::RemoveNode { id: node_id })?;
            patch.nodes.remove(index);
            patch.connections.retain(|c| c.from.node != node_id && c.to.node != node_id);
            // Macros and controllers no longer move what is gone.
            for m in &mut patch.macros {
                m.targets.retain(|t| t.node_name != *id);
            }
            patch.midi_map.retain(|m| m.target.node_name != *id);
        }
        PatchEdit::Move { id, position } => {
            if !position.iter().all(|v| v.is_finite()) {
                return Err(format!("position {position:?} is not a pair of finite numbers"));
            }
            let index = node_index(patch, id)?;
            patch.nodes[index].position = Some(*position);
        }
        PatchEdit::Connect { from, to } | PatchEdit::Disconnect { from, to } => {
            let connection = Connection {
                from: resolve_endpoint(&patch.nodes, from, Direction::Output)?,
                to: resolve_endpoint(&patch.nodes, to, Direction::Input)?,
            };
            if matches!(edit, PatchEdit::Connect { .. }) {
                model(graph, Edit::Connect(connection))?;
                patch.connections.push(connection);
            } else {
                let Some(at) = patch.connections.iter().position(|c| *c == connection) else {
                    return Err(format!("{from} is not connected to {to}"));
                };
                model(graph, Edit::Disconnect(connection))?;
                patch.connections.remove(at);
            }
        }
        PatchEdit::Set { id, param, value } => {
            let index = node_index(patch, id)?;
            let node = &mut patch.nodes[index];
            let (param, value) = resolve_param(node.description.kind(), node.description.as_ref(), param, value)?;
            model(graph, Edit::SetParam { node: node.id, param, value })?;
            node.set_param(param, value);
        }
        PatchEdit::Reset { id, param } => {
            let index = node_index(patch, id)?;
            let node = &mut patch.nodes[index];
            let specs = node.description.params();
            let Some(at) = specs.iter().position(|s| s.name == param.as_str()) else {
                return Err(format!("{} has no parameter \"{param}\"", node.description.kind()));
            };
            let param = noderack_graph::ParamId(at as u32);
            model(graph, Edit::SetParam { node: node.id, param, value: specs[at].default })?;
            node.params.retain(|(p, _)| *p != param);
        }
        PatchEdit::MapCc { cc, channel, param, min, max } => {
            let file = crate::midi_map::CcMappingFile {
                cc: *cc,
                channel: *channel,
                param: param.clone(),
                min: *min,
                max: *max,
            };
            let lookup = |name: &str| {
                patch
                    .nodes
                    .iter()
                    .find(|n| n.name == name)
                    .map(|n| (n.id, n.description.kind(), n.description.params()))
            };
            let mapping = file.resolve(&lookup).map_err(|(field, message)| format!("{field}: {message}"))?;
            let path = mapping.param_path();
            patch.midi_map.retain(|m| m.param_path() != path);
            patch.midi_map.push(mapping);
            let bindings = crate::midi_map::bindings(&patch.midi_map, Some);
            model(graph, Edit::SetCcMap(bindings))?;
        }
        PatchEdit::UnmapCc { param } => {
            let before = patch.midi_map.len();
            patch.midi_map.retain(|m| m.param_path() != *param);
            if patch.midi_map.len() == before {
                return Err(format!("no controller is bound to \"{param}\""));
            }
        }
    }
    Ok(())
}
