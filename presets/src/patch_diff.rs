//! A patch as it runs in an engine, and the smallest edit batch that turns it into another
//! version of itself: what `noderack play --watch` applies when the file changes, so that the
//! nodes an edit does not touch keep sounding (held notes, tails, running ramps).
//!
//! Nodes are matched by their name in the file. A node whose kind and settings are unchanged is
//! kept (its engine id and processor stay), and only its parameters that differ are set; a
//! node whose kind or settings changed is rebuilt (removed and added under a new engine id);
//! connections are added and removed as needed. Buses are fixed for the life of an engine, so
//! a change of buses is refused.

use std::collections::{BTreeSet, HashMap};

use noderack_graph::{Connection, Edit, NodeId, ParamId, PortIndex, PortRef};

use crate::patch::{Patch, PatchNode};

/// A patch running in an engine: the patch and the engine id of each of its nodes.
pub struct RunningPatch {
    patch: Patch,
    /// Engine id of each node of `patch`, by index.
    ids: Vec<NodeId>,
    next_id: u64,
}

/// One reload's changes: the edit batch and what it does, in words.
pub struct PatchChange {
    /// The edits, as one batch (atomic in the engine).
    pub edits: Vec<Edit>,
    /// Engine ids of the new patch's nodes, by index.
    ids: Vec<NodeId>,
    next_id: u64,
    /// Nodes kept whose parameters changed, nodes rebuilt, added and removed, connections
    /// made and cut.
    pub summary: ChangeSummary,
}

/// Counts of what a reload changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSummary {
    /// Parameters set on kept nodes.
    pub params: usize,
    /// Nodes added.
    pub added: Vec<String>,
    /// Nodes removed.
    pub removed: Vec<String>,
    /// Nodes rebuilt because their kind or settings changed.
    pub rebuilt: Vec<String>,
    /// Connections made.
    pub connected: usize,
    /// Connections cut.
    pub disconnected: usize,
    /// Whether the MIDI controller bindings changed.
    pub midi_map: bool,
}

impl ChangeSummary {
    /// True when the reload changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ChangeSummary::default()
    }
}

impl std::fmt::Display for ChangeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if self.params > 0 {
            parts.push(format!("{} parameter(s) set", self.params));
        }
        for (what, names) in [("added", &self.added), ("removed", &self.removed), ("rebuilt", &self.rebuilt)] {
            if !names.is_empty() {
                parts.push(format!("{what} {}", names.join(", ")));
            }
        }
        if self.connected > 0 {
            parts.push(format!("{} connection(s) made", self.connected));
        }
        if self.disconnected > 0 {
            parts.push(format!("{} connection(s) cut", self.disconnected));
        }
        if self.midi_map {
            parts.push("MIDI controller mapping changed".to_string());
        }
        if parts.is_empty() {
            f.write_str("no change")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

/// Why a new version of a patch cannot be applied to the running one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// The output or input buses differ: they are fixed while the engine runs.
    #[error("the patch's buses changed ({0}); buses are fixed while playing: restart to apply them")]
    BusesChanged(String),
}

/// Every parameter value of a node: its defaults overlaid with what the file sets.
fn param_values(node: &PatchNode) -> Vec<f32> {
    let mut values: Vec<f32> = node.description.params().iter().map(|p| p.default).collect();
    for &(ParamId(i), v) in &node.params {
        if let Some(slot) = values.get_mut(i as usize) {
            *slot = v;
        }
    }
    values
}

/// Whether `a` and `b` build the same processor (same kind, same settings).
fn same_node(a: &PatchNode, b: &PatchNode) -> bool {
    // A stand-in for a missing node is rebuilt once its file is back, though nothing in the
    // patch changed.
    a.description.kind() == b.description.kind() && a.config == b.config && a.missing == b.missing
}

/// The engine bindings of `patch`'s MIDI map, its nodes renamed to engine ids through `ids`.
fn engine_cc_map(patch: &Patch, ids: &[NodeId]) -> Vec<noderack_graph::CcBinding> {
    crate::midi_map::bindings(&patch.midi_map, |node| patch.nodes.iter().position(|n| n.id == node).map(|i| ids[i]))
}

/// A connection of `patch` with its nodes renamed to engine ids through `ids`.
fn in_engine(c: &Connection, patch: &Patch, ids: &[NodeId]) -> Connection {
    let id = |node: NodeId| {
        let index = patch.nodes.iter().position(|n| n.id == node).expect("connections name the patch's nodes");
        ids[index]
    };
    Connection {
        from: PortRef { node: id(c.from.node), port: PortIndex(c.from.port.0) },
        to: PortRef { node: id(c.to.node), port: PortIndex(c.to.port.0) },
    }
}

impl RunningPatch {
    /// `patch` as built from scratch by [`Patch::edits`] (engine ids as the patch gives them).
    pub fn new(patch: Patch) -> Self {
        let ids: Vec<NodeId> = patch.nodes.iter().map(|n| n.id).collect();
        let next_id = ids.iter().map(|i| i.0).max().unwrap_or(0) + 1;
        Self { patch, ids, next_id }
    }

    /// The patch that runs.
    pub fn patch(&self) -> &Patch {
        &self.patch
    }

    /// The engine id of the node named `name`.
    pub fn id_of(&self, name: &str) -> Option<NodeId> {
        self.patch.nodes.iter().position(|n| n.name == name).map(|i| self.ids[i])
    }

    /// Engine ids and names of the patch's nodes of `kind`.
    pub fn nodes_of_kind(&self, kind: &str) -> Vec<(NodeId, String)> {
        (self.patch.nodes.iter().zip(&self.ids))
            .filter(|(n, _)| n.description.kind() == kind)
            .map(|(n, id)| (*id, n.name.clone()))
            .collect()
    }

    /// The edits that build the running patch in an empty engine, as one batch, with its
    /// current engine ids.
    pub fn edits(&self) -> Vec<Edit> {
        let mut edits: Vec<Edit> = (self.patch.nodes.iter().zip(&self.ids))
            .map(|(n, &id)| Edit::AddNode {
                id,
                label: n.name.clone(),
                description: n.description.clone(),
                params: n.params.clone(),
            })
            .collect();
        edits.extend(self.patch.connections.iter().map(|c| Edit::Connect(in_engine(c, &self.patch, &self.ids))));
        if !self.patch.midi_map.is_empty() {
            edits.push(Edit::SetCcMap(engine_cc_map(&self.patch, &self.ids)));
        }
        edits
    }

    /// The edits that turn the running patch into `new`, as one batch. Nothing changes until
    /// [`RunningPatch::commit`] is called (after the engine has accepted the batch).
    pub fn diff(&self, new: &Patch) -> Result<PatchChange, DiffError> {
        let old = &self.patch;
        if old.buses != new.buses || old.inputs != new.inputs {
            let names = |b: &[noderack_graph::BusSpec]| {
                b.iter().map(|b| format!("{}:{}", b.name, b.channels)).collect::<Vec<_>>().join(" ")
            };
            return Err(DiffError::BusesChanged(format!(
                "outputs {} → {}, inputs {} → {}",
                names(&old.buses),
                names(&new.buses),
                names(&old.inputs),
                names(&new.inputs)
            )));
        }
        let old_index: HashMap<&str, usize> = old.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
        let mut next_id = self.next_id;
        let mut summary = ChangeSummary::default();
        let (mut removals, mut additions, mut params) = (Vec::new(), Vec::new(), Vec::new());
        let mut ids = Vec::with_capacity(new.nodes.len());
        let mut kept = vec![false; old.nodes.len()];
        for node in &new.nodes {
            match old_index.get(node.name.as_str()) {
                Some(&i) if same_node(&old.nodes[i], node) => {
                    kept[i] = true;
                    let id = self.ids[i];
                    ids.push(id);
                    let (before, after) = (param_values(&old.nodes[i]), param_values(node));
                    for (p, (b, a)) in before.iter().zip(&after).enumerate() {
                        if b != a {
                            params.push(Edit::SetParam { node: id, param: ParamId(p as u32), value: *a });
                            summary.params += 1;
                        }
                    }
                }
                found => {
                    let id = NodeId(next_id);
                    next_id += 1;
                    ids.push(id);
                    additions.push(Edit::AddNode {
                        id,
                        label: node.name.clone(),
                        description: node.description.clone(),
                        params: node.params.clone(),
                    });
                    if let Some(&i) = found {
                        removals.push(Edit::RemoveNode { id: self.ids[i] });
                        summary.rebuilt.push(node.name.clone());
                    } else {
                        summary.added.push(node.name.clone());
                    }
                }
            }
        }
        for (i, node) in old.nodes.iter().enumerate() {
            if !kept[i] && !new.nodes.iter().any(|n| n.name == node.name) {
                removals.push(Edit::RemoveNode { id: self.ids[i] });
                summary.removed.push(node.name.clone());
            }
        }
        let kept_ids: BTreeSet<NodeId> = (0..old.nodes.len()).filter(|&i| kept[i]).map(|i| self.ids[i]).collect();
        let before: BTreeSet<Connection> = old.connections.iter().map(|c| in_engine(c, old, &self.ids)).collect();
        let after: BTreeSet<Connection> = new.connections.iter().map(|c| in_engine(c, new, &ids)).collect();
        // Connections between kept nodes that go; those touching a removed node go with it.
        let cuts: Vec<Edit> = before
            .difference(&after)
            .filter(|c| kept_ids.contains(&c.from.node) && kept_ids.contains(&c.to.node))
            .map(|c| Edit::Disconnect(*c))
            .collect();
        let links: Vec<Edit> = after.difference(&before).map(|c| Edit::Connect(*c)).collect();
        summary.disconnected = cuts.len();
        summary.connected = links.len();
        let mut edits = cuts;
        edits.extend(removals);
        edits.extend(additions);
        edits.extend(links);
        edits.extend(params);
        // Bindings name engine ids: a rebuilt node's are new, so they are compared as such.
        let cc_map = engine_cc_map(new, &ids);
        if engine_cc_map(old, &self.ids) != cc_map {
            edits.push(Edit::SetCcMap(cc_map));
            summary.midi_map = true;
        }
        Ok(PatchChange { edits, ids, next_id, summary })
    }

    /// Takes `new` as the running patch without engine edits, for a change the engine got
    /// another way (an instrument sent to a running sampler as a parcel). `new` has the same
    /// nodes, by name and in order, and the same connections; `false` (nothing changes) if not.
    pub fn adopt(&mut self, new: Patch) -> bool {
        let same = new.nodes.len() == self.patch.nodes.len()
            && new.nodes.iter().zip(&self.patch.nodes).all(|(a, b)| a.name == b.name && a.id == b.id)
            && new.connections == self.patch.connections
            && new.midi_map == self.patch.midi_map;
        if same {
            self.patch = new;
        }
        same
    }

    /// Makes `new` the running patch, after the engine accepted `change` (from
    /// [`RunningPatch::diff`] of the same `new`).
    pub fn commit(&mut self, new: Patch, change: PatchChange) {
        self.patch = new;
        self.ids = change.ids;
        self.next_id = change.next_id;
    }
}
