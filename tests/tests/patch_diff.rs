//! Reloading a patch while it plays (`noderack play --watch`): the edit batch holds only what
//! changed, untouched nodes keep their engine ids and processors, so their sound goes on
//! exactly as if nothing had happened.

use noderack_graph::{Edit, NodeId};
use noderack_nodes::registry::Registry;
use noderack_presets::{Patch, RunningPatch};
use noderack_tests::midi::note_on;
use noderack_tests::{rms, Rig};

const SR: f32 = 48_000.0;

/// A patch text: keys → lead synth → out (bus main); `extra` nodes and connections are spliced
/// in; `lead_params` are the lead synth's params; `buses` the bus list.
fn patch(lead_params: &str, extra_nodes: &str, extra_connections: &str, buses: &str) -> Patch {
    let text = format!(
        r#"{{ "format": "noderack-patch", "version": 1, "buses": [{buses}],
            "nodes": [
              {{ "id": "keys", "kind": "midi-in" }},
              {{ "id": "lead", "kind": "synth", "config": {{ "voices": 8 }}, "params": {{ {lead_params} }} }},
              {{ "id": "out", "kind": "output" }}{extra_nodes}
            ],
            "connections": [
              {{ "from": "keys.events", "to": "lead.events" }},
              {{ "from": "lead.out", "to": "out.in" }}{extra_connections}
            ] }}"#
    );
    Patch::parse(&text, "p.json", &Registry).unwrap_or_else(|e| panic!("{e}"))
}

const MAIN: &str = r#"{ "name": "main", "channels": 2 }"#;
const PAD: &str = r#", { "id": "pad", "kind": "synth", "config": { "voices": 4 }, "params": { "waveform": "square" } },
    { "id": "pad_out", "kind": "output" }"#;
const PAD_LINKS: &str = r#", { "from": "keys.events", "to": "pad.events" }, { "from": "pad.out", "to": "pad_out.in" }"#;

fn kinds(edits: &[Edit]) -> Vec<String> {
    edits
        .iter()
        .map(|e| match e {
            Edit::AddNode { id, label, .. } => format!("add {label} as {}", id.0),
            Edit::RemoveNode { id } => format!("remove {}", id.0),
            Edit::Connect(c) => format!("connect {}.{} {}.{}", c.from.node.0, c.from.port.0, c.to.node.0, c.to.port.0),
            Edit::Disconnect(c) => {
                format!("disconnect {}.{} {}.{}", c.from.node.0, c.from.port.0, c.to.node.0, c.to.port.0)
            }
            Edit::SetParam { node, param, value } => format!("set {}.{} = {value}", node.0, param.0),
            Edit::SetCcMap(bindings) => {
                let each: Vec<String> =
                    bindings.iter().map(|b| format!("cc{} {}.{}", b.controller, b.node.0, b.param.0)).collect();
                format!("map {}", each.join(" "))
            }
        })
        .collect()
}

#[test]
fn an_unchanged_patch_needs_no_edit() {
    let running = RunningPatch::new(patch("", PAD, PAD_LINKS, MAIN));
    let change = running.diff(&patch("", PAD, PAD_LINKS, MAIN)).unwrap();
    assert!(change.edits.is_empty() && change.summary.is_empty());
}

#[test]
fn a_parameter_change_is_one_set_param_on_the_kept_node() {
    let running = RunningPatch::new(patch(r#""gain_db": -6"#, "", "", MAIN));
    let change = running.diff(&patch(r#""gain_db": -12"#, "", "", MAIN)).unwrap();
    let gain = noderack_nodes::registry::create("synth", &Default::default())
        .unwrap()
        .params()
        .iter()
        .position(|p| p.name == "gain_db")
        .unwrap();
    assert_eq!(kinds(&change.edits), vec![format!("set 2.{gain} = -12")]);
    // Removing the setting returns the parameter to its default.
    let back = running.diff(&patch("", "", "", MAIN)).unwrap();
    assert_eq!(back.summary.params, 1);
}

/// The lead with `voices` voices and its cutoff bound to controller `cc`.
fn mapped(voices: u32, cc: u32) -> Patch {
    let text = format!(
        r#"{{ "format": "noderack-patch", "version": 1,
            "nodes": [ {{ "id": "keys", "kind": "midi-in" }},
                       {{ "id": "lead", "kind": "synth", "config": {{ "voices": {voices} }} }},
                       {{ "id": "out", "kind": "output" }} ],
            "connections": [ {{ "from": "keys.events", "to": "lead.events" }}, {{ "from": "lead.out", "to": "out.in" }} ],
            "midi_map": [ {{ "cc": {cc}, "channel": 1, "param": "lead.cutoff_hz", "min": 100, "max": 5000 }} ] }}"#
    );
    Patch::parse(&text, "p.json", &Registry).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_midi_map_follows_a_rebuilt_node_and_changes_as_one_edit() {
    let running = RunningPatch::new(mapped(8, 74));
    let cutoff = running.patch().nodes[1].description.params().iter().position(|p| p.name == "cutoff_hz").unwrap();
    assert_eq!(kinds(&running.edits()).last().unwrap(), &format!("map cc74 2.{cutoff}"));
    let change = running.diff(&mapped(8, 71)).unwrap();
    assert_eq!(kinds(&change.edits), [format!("map cc71 2.{cutoff}")]);
    assert!(change.summary.midi_map && change.summary.to_string().contains("MIDI controller"));
    // The lead rebuilt under id 4: its binding names the new id.
    let change = running.diff(&mapped(16, 74)).unwrap();
    assert_eq!(kinds(&change.edits).last().unwrap(), &format!("map cc74 4.{cutoff}"));
    assert!(running.diff(&mapped(8, 74)).unwrap().edits.is_empty(), "an unchanged map needs no edit");
}

#[test]
fn a_changed_setting_rebuilds_the_node_under_a_new_id_and_reconnects_it() {
    let running = RunningPatch::new(patch("", "", "", MAIN));
    let rebuilt = Patch::parse(
        r#"{ "format": "noderack-patch", "version": 1,
            "nodes": [ { "id": "keys", "kind": "midi-in" },
                       { "id": "lead", "kind": "synth", "config": { "voices": 16 } },
                       { "id": "out", "kind": "output" } ],
            "connections": [ { "from": "keys.events", "to": "lead.events" }, { "from": "lead.out", "to": "out.in" } ] }"#,
        "p.json",
        &Registry,
    )
    .unwrap();
    let change = running.diff(&rebuilt).unwrap();
    assert_eq!(kinds(&change.edits), vec!["remove 2", "add lead as 4", "connect 1.0 4.0", "connect 4.0 3.0"]);
    assert_eq!(change.summary.rebuilt, vec!["lead".to_string()]);
}

#[test]
fn added_and_removed_nodes_come_and_go_with_their_connections() {
    let mut running = RunningPatch::new(patch("", "", "", MAIN));
    let with_pad = patch("", PAD, PAD_LINKS, MAIN);
    let change = running.diff(&with_pad).unwrap();
    assert_eq!(
        kinds(&change.edits),
        vec!["add pad as 4", "add pad_out as 5", "connect 1.0 4.0", "connect 4.0 5.0"],
        "new nodes get fresh ids; kept ones keep theirs"
    );
    running.commit(with_pad, change);
    assert_eq!(running.id_of("pad"), Some(NodeId(4)));
    let change = running.diff(&patch("", "", "", MAIN)).unwrap();
    assert_eq!(kinds(&change.edits), vec!["remove 4", "remove 5"], "their connections go with them");
}

#[test]
fn changed_buses_are_refused_while_playing() {
    let running = RunningPatch::new(patch("", "", "", MAIN));
    let two = format!(r#"{MAIN}, {{ "name": "aux", "channels": 2 }}"#);
    let error = running.diff(&patch("", "", "", &two)).err().expect("refused");
    assert!(error.to_string().contains("restart"), "{error}");
}

/// The change applied to a running engine: the lead, untouched, plays on bit-identically on
/// the main bus (no click, no restart), while a new pad joins on the aux bus.
#[test]
fn a_reload_leaves_the_untouched_lead_bit_identical() {
    let buses = format!(r#"{MAIN}, {{ "name": "aux", "channels": 2 }}"#);
    let aux_out = r#", { "id": "aux_out", "kind": "output", "config": { "bus": "aux" } }"#;
    let old = patch("", aux_out, "", &buses);
    let config = |p: &Patch| p.engine_config(SR, 512);
    let notes = [note_on(100, 0, 69, 100), note_on(100, 0, 76, 100), note_on(24_100, 0, 60, 100)];
    // Reference: the old patch alone, for 1 s.
    let mut reference = Rig::new(config(&old), 256);
    reference.apply(RunningPatch::new(patch("", aux_out, "", &buses)).edits());
    let expected = reference.render(48_000, &notes);

    let mut rig = Rig::new(config(&old), 256);
    let mut running = RunningPatch::new(old);
    rig.apply(running.edits());
    let mut got = rig.render(24_000, &notes);
    let pad = format!(r#"{aux_out}, {{ "id": "pad", "kind": "synth", "config": {{ "voices": 4 }} }}"#);
    let pad_links = r#", { "from": "keys.events", "to": "pad.events" }, { "from": "pad.out", "to": "aux_out.in" }"#;
    let new = patch("", &pad, pad_links, &buses);
    let change = running.diff(&new).unwrap();
    assert_eq!(change.summary.added, vec!["pad".to_string()]);
    rig.apply(change.edits.clone());
    running.commit(new, change);
    let rest = rig.render(24_000, &notes);
    for (g, r) in got.iter_mut().zip(rest) {
        g.extend(r);
    }
    for channel in 0..2 {
        let first_difference = got[channel].iter().zip(&expected[channel]).position(|(a, b)| a != b);
        assert_eq!(first_difference, None, "main channel {channel}: the lead goes on as if nothing happened");
    }
    assert_eq!(rms(&got[2][..24_000]), 0.0, "aux silent before the reload");
    assert!(rms(&got[2][24_200..]) > 0.01, "the new pad plays on aux after it");
    assert!(rms(&got[0][30_000..]) > 0.01);
}
