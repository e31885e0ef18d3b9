//! Undo when several people edit one graph: each undoes only their own changes.
//!
//! A change is kept as the graph before and after it. Undoing it when nothing happened since
//! restores the exact graph before. When others have edited meanwhile, the change is reverted
//! selectively: the edits that turn its "after" back into its "before" are applied to the
//! graph as it now is, provided nothing the change touched (a node, a connection) was changed
//! again by someone else; otherwise the undo is refused as a conflict and changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::load_context::LoadContext;
use crate::patch::{NodeFactory, Patch};
use crate::patch_edit::PatchEdit;

/// Why a change cannot be reverted onto the current graph. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RevertError {
    /// Someone else changed what this change touched.
    #[error("conflicts with a later change: {0}")]
    Conflict(String),
    /// The reverting edits do not apply to the current graph.
    #[error("cannot be reverted on the graph as it is now: {0}")]
    Refused(String),
}

/// The graph `current` with the change `before → after` reverted (see the module docs): the
/// exact `before` when `current` is `after`.
pub fn revert(
    current: &Patch,
    before: &Patch,
    after: &Patch,
    factory: &dyn NodeFactory,
    context: &mut LoadContext,
) -> Result<Patch, RevertError> {
    let (c, b, a) = (current.to_json(), before.to_json(), after.to_json());
    if c == a {
        return Ok(before.clone());
    }
    for field in ["buses", "inputs"] {
        if a.get(field) != b.get(field) {
            return Err(RevertError::Conflict(format!(
                "the change replaced the patch's {field} and the graph has changed since"
            )));
        }
    }
    let (nodes_a, nodes_b, nodes_c) = (nodes(&a), nodes(&b), nodes(&c));
    let touched: BTreeSet<&str> =
        nodes_a.keys().chain(nodes_b.keys()).copied().filter(|id| nodes_a.get(id) != nodes_b.get(id)).collect();
    if let Some(id) = touched.iter().find(|id| nodes_c.get(*id) != nodes_a.get(*id)) {
        return Err(RevertError::Conflict(format!("node \"{id}\" was changed since")));
    }
    let (links_a, links_b, links_c) = (links(&a), links(&b), links(&c));
    if let Some((from, to)) =
        links_a.symmetric_difference(&links_b).find(|l| links_c.contains(*l) != links_a.contains(*l))
    {
        return Err(RevertError::Conflict(format!("the connection {from} → {to} was changed since")));
    }
    let edits = edits_between(&a, &b);
    current.edited(&edits, factory, context).map_err(|e| RevertError::Refused(e.to_string()))
}

/// The edits that turn patch `from` into patch `to` (both in the file format), nodes compared
/// by id: parameters are set or reset, a node whose kind or settings differ is removed and
/// added again (with its connections). Buses are not compared.
pub fn edits_between(from: &Value, to: &Value) -> Vec<PatchEdit> {
    let (nodes_from, nodes_to) = (nodes(from), nodes(to));
    let (links_from, links_to) = (links(from), links(to));
    let replaced: BTreeSet<&str> = nodes_from
        .iter()
        .filter(|(id, node)| nodes_to.get(*id).is_some_and(|other| !same_shape(node, other)))
        .map(|(id, _)| *id)
        .collect();
    let gone = |id: &str| !nodes_to.contains_key(id) || replaced.contains(id);
    let node_of = |port: &str| port.split('.').next().unwrap_or_default().to_string();
    let mut edits: Vec<Value> = Vec::new();
    for (from_port, to_port) in links_from.difference(&links_to) {
        if !gone(&node_of(from_port)) && !gone(&node_of(to_port)) {
            edits.push(json!({ "op": "disconnect", "from": from_port, "to": to_port }));
        }
    }
    for id in nodes_from.keys().filter(|id| gone(id)) {
        edits.push(json!({ "op": "remove", "id": id }));
    }
    for (id, node) in &nodes_to {
        if !nodes_from.contains_key(id) || replaced.contains(id) {
            let mut add = json!({ "op": "add", "id": id, "kind": node["kind"] });
            for field in ["config", "params", "position"] {
                if let Some(value) = node.get(field) {
                    add[field] = value.clone();
                }
            }
            edits.push(add);
        } else {
            let params = |n: &Value| n.get("params").and_then(Value::as_object).cloned().unwrap_or_default();
            let (before, after) = (params(nodes_from[id]), params(node));
            for (param, value) in &after {
                if before.get(param) != Some(value) {
                    edits.push(json!({ "op": "set", "id": id, "param": param, "value": value }));
                }
            }
            for param in before.keys().filter(|p| !after.contains_key(*p)) {
                edits.push(json!({ "op": "reset", "id": id, "param": param }));
            }
            if let Some(position) = node.get("position").filter(|p| nodes_from[id].get("position") != Some(*p)) {
                edits.push(json!({ "op": "move", "id": id, "position": position }));
            }
        }
    }
    let renewed = |port: &str| replaced.contains(node_of(port).as_str());
    for (from_port, to_port) in &links_to {
        if !links_from.contains(&(from_port.clone(), to_port.clone())) || renewed(from_port) || renewed(to_port) {
            edits.push(json!({ "op": "connect", "from": from_port, "to": to_port }));
        }
    }
    // MIDI learn's bindings, by parameter: bound anew where they differ, let go where gone (a
    // removed node's went with it).
    let (map_from, map_to) = (midi_map(from), midi_map(to));
    for (param, mapping) in &map_to {
        if map_from.get(param) != Some(mapping) {
            let mut edit = (*mapping).clone();
            edit["op"] = json!("map_cc");
            edits.push(edit);
        }
    }
    for param in map_from.keys().filter(|p| !map_to.contains_key(*p) && !gone(&node_of(p))) {
        edits.push(json!({ "op": "unmap_cc", "param": param }));
    }
    edits.into_iter().map(|e| serde_json::from_value(e).expect("edits are built in the edit format")).collect()
}

/// The MIDI map of a patch (file format) by parameter (`"node.param"`).
fn midi_map(patch: &Value) -> BTreeMap<&str, &Value> {
    patch["midi_map"]
        .as_array()
        .map(|map| map.iter().filter_map(|m| Some((m.get("param")?.as_str()?, m))).collect())
        .unwrap_or_default()
}

/// Whether two nodes (file format) differ only in their parameters.
fn same_shape(a: &Value, b: &Value) -> bool {
    a.get("kind") == b.get("kind") && a.get("config") == b.get("config")
}

/// The nodes of a patch (file format) by id.
fn nodes(patch: &Value) -> BTreeMap<&str, &Value> {
    patch["nodes"]
        .as_array()
        .map(|nodes| nodes.iter().filter_map(|n| Some((n.get("id")?.as_str()?, n))).collect())
        .unwrap_or_default()
}

/// The connections of a patch (file format) as `(from, to)`.
fn links(patch: &Value) -> BTreeSet<(String, String)> {
    let text = |c: &Map<String, Value>, k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    patch["connections"]
        .as_array()
        .map(|links| links.iter().filter_map(Value::as_object).map(|c| (text(c, "from"), text(c, "to"))).collect())
        .unwrap_or_default()
}
