//! Bad patch files give errors that name the file, the JSON path and the line and column, and
//! never panic.

use noderack_nodes::registry::Registry;
use noderack_presets::{Patch, PatchError};

const GOOD: &str = r#"{
  "format": "noderack-patch",
  "version": 1,
  "name": "test",
  "nodes": [
    { "id": "in", "kind": "midi-in" },
    { "id": "a", "kind": "gain", "params": { "gain_db": -6 } },
    { "id": "b", "kind": "gain" },
    { "id": "out", "kind": "output", "config": { "bus": "main" } }
  ],
  "connections": [
    { "from": "a.out", "to": "b.in" },
    { "from": "b.out", "to": "out.in" }
  ]
}"#;

fn invalid(text: &str) -> (usize, usize, String, String) {
    match Patch::parse(text, "x.json", &Registry) {
        Err(PatchError::Invalid { file, line, column, json_path, message }) => {
            assert_eq!(file, "x.json");
            (line, column, json_path, message)
        }
        Err(other) => panic!("unexpected error kind: {other}"),
        Ok(_) => panic!("accepted a bad patch:\n{text}"),
    }
}

#[test]
fn good_patch_loads_with_ids_in_file_order() {
    let p = Patch::parse(GOOD, "x.json", &Registry).unwrap();
    assert_eq!(p.nodes.len(), 4);
    assert_eq!(p.node("a").unwrap().id.0, 2);
    assert_eq!(p.node("a").unwrap().params, vec![(noderack_graph::ParamId(0), -6.0)]);
    assert_eq!(p.connections.len(), 2);
    assert_eq!(p.buses, vec![noderack_graph::BusSpec::stereo("main")]);
    assert_eq!(p.edits().len(), 6);
}

#[test]
fn truncated_json_reports_where_it_ends() {
    let cut = &GOOD[..GOOD.find("\"b.out\"").unwrap()];
    let (line, _col, _path, message) = invalid(cut);
    assert_eq!(line, 13);
    assert!(message.contains("EOF"), "{message}");
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    for end in (0..GOOD.len()).filter(|&i| GOOD.is_char_boundary(i)) {
        assert!(Patch::parse(&GOOD[..end], "x.json", &Registry).is_err(), "prefix of {end} bytes accepted");
    }
}

/// A file cut inside a value names the last complete path, never the parser's `?`.
#[test]
fn a_truncated_file_names_the_last_complete_path_not_a_question_mark() {
    let cut = &GOOD[..GOOD.find("\"midi-in\"").unwrap() + 4];
    let (_, _, path, message) = invalid(cut);
    assert_eq!(path, "nodes[0].kind", "{message}");
    for end in (1..GOOD.len()).filter(|&i| GOOD.is_char_boundary(i)) {
        if let Err(e) = Patch::parse(&GOOD[..end], "x.json", &Registry) {
            let text = e.to_string();
            assert!(!text.contains("?"), "prefix of {end} bytes: {text}");
        }
    }
    let (_, _, path, _) = invalid("");
    assert_eq!(path, "(end of file)");
}

#[test]
fn unknown_node_kind_is_located_at_the_kind() {
    let text = GOOD.replace("\"kind\": \"gain\" }", "\"kind\": \"gian\" }");
    let (line, column, path, message) = invalid(&text);
    assert_eq!((line, column, path.as_str()), (8, 26, "nodes[2].kind"));
    assert!(message.contains("unknown node kind \"gian\"") && message.contains("gain"), "{message}");
}

#[test]
fn unknown_port_lists_the_ports_that_exist() {
    let text = GOOD.replace("\"to\": \"b.in\"", "\"to\": \"b.input\"");
    let (line, column, path, message) = invalid(&text);
    assert_eq!((line, column, path.as_str()), (12, 30, "connections[0].to"));
    assert!(message.contains("no input port \"input\"") && message.contains("its inputs: in"), "{message}");
}

#[test]
fn unknown_node_in_connection_is_named() {
    let text = GOOD.replace("\"from\": \"a.out\"", "\"from\": \"z.out\"");
    let (line, _, path, message) = invalid(&text);
    assert_eq!((line, path.as_str()), (12, "connections[0].from"));
    assert!(message.contains("no node has id \"z\""), "{message}");
}

#[test]
fn wrong_types_name_the_field() {
    let (line, _, path, message) = invalid(&GOOD.replace("\"version\": 1", "\"version\": \"one\""));
    assert_eq!((line, path.as_str()), (3, "version"));
    assert!(message.contains("invalid type"), "{message}");

    let (line, _, path, message) = invalid(&GOOD.replace("\"gain_db\": -6", "\"gain_db\": \"loud\""));
    assert_eq!((line, path.as_str()), (7, "nodes[1].params.gain_db"));
    assert!(message.contains("expected a number"), "{message}");

    let (_, _, path, _) =
        invalid(&GOOD.replace("\"nodes\": [", "\"nodes\": {").replace("  ],\n  \"conn", "  },\n  \"conn"));
    assert_eq!(path, "nodes");
}

#[test]
fn out_of_range_and_unknown_parameters_are_rejected() {
    let (_, _, path, message) = invalid(&GOOD.replace("\"gain_db\": -6", "\"gain_db\": 60"));
    assert_eq!(path, "nodes[1].params.gain_db");
    assert!(message.contains("outside the range"), "{message}");
    let (_, _, path, message) = invalid(&GOOD.replace("\"gain_db\": -6", "\"volume\": -6"));
    assert_eq!(path, "nodes[1].params.volume");
    assert!(message.contains("its parameters: gain_db, pan"), "{message}");
}

#[test]
fn kind_mismatch_and_cycles_are_located_at_the_connection() {
    let text =
        GOOD.replace("{ \"from\": \"a.out\", \"to\": \"b.in\" }", "{ \"from\": \"in.events\", \"to\": \"b.in\" }");
    let (line, _, path, message) = invalid(&text);
    assert_eq!((line, path.as_str()), (12, "connections[0]"));
    assert!(message.contains("'in'.events") || message.contains("in.events"), "{message}");
    assert!(message.contains("port kinds differ"), "{message}");

    let text = GOOD.replace("{ \"from\": \"b.out\", \"to\": \"out.in\" }", "{ \"from\": \"b.out\", \"to\": \"a.in\" }");
    let (line, _, path, message) = invalid(&text);
    assert_eq!((line, path.as_str()), (13, "connections[1]"));
    assert!(
        message.contains("cycle") && message.contains("b.out -> a.in") && message.contains("a.out -> b.in"),
        "{message}"
    );
}

#[test]
fn format_version_bus_and_duplicate_id_checks() {
    assert_eq!(invalid(&GOOD.replace("noderack-patch", "songwalker-preset")).2, "format");
    let (_, _, path, message) = invalid(&GOOD.replace("\"version\": 1", "\"version\": 9"));
    assert_eq!(path, "version");
    assert!(message.contains("version 9 is not supported"), "{message}");
    let (_, _, path, message) = invalid(&GOOD.replace("\"bus\": \"main\"", "\"bus\": \"drums\""));
    assert_eq!(path, "nodes[3]");
    assert!(message.contains("\"drums\"") && message.contains("main"), "{message}");
    let (_, _, path, _) = invalid(&GOOD.replace("\"id\": \"b\"", "\"id\": \"a\""));
    assert_eq!(path, "nodes[2].id");
    let (_, _, path, message) = invalid(&GOOD.replace("\"name\": \"test\",", "\"name\": \"test\", \"colour\": 1,"));
    assert_eq!(path, "colour");
    assert!(message.contains("unknown field"), "{message}");
}

#[test]
fn missing_file_names_the_file() {
    let err = Patch::load(std::path::Path::new("/nonexistent/p.json"), &Registry).err().unwrap();
    assert!(err.to_string().starts_with("/nonexistent/p.json: "), "{err}");
}

/// `GOOD` with `macros` (a JSON list) added.
fn with_macros(macros: &str) -> String {
    GOOD.replace("  \"connections\": [", &format!("  \"macros\": {macros},\n  \"connections\": ["))
}

#[test]
fn macros_map_parameters_and_survive_a_save() {
    let text = with_macros(
        r#"[{ "index": 3, "name": "Level", "default": 0.5, "targets": [{ "param": "a.gain_db", "min": -40, "max": 0 }, { "param": "b.pan" }] }]"#,
    );
    let patch = Patch::parse(&text, "x.json", &Registry).unwrap();
    let m = &patch.macros[0];
    assert_eq!((m.index, m.name.as_str(), m.default), (2, "Level", 0.5));
    assert_eq!(m.targets[0].value_at(0.5), -20.0);
    // A target without a range spans its parameter's.
    assert_eq!((m.targets[1].min, m.targets[1].max), (-1.0, 1.0));
    let saved = patch.to_json().to_string();
    let again = Patch::parse(&saved, "x.json", &Registry).unwrap();
    assert_eq!(again.macros, patch.macros);
}

#[test]
fn bad_macros_name_the_field() {
    for (macros, path, needle) in [
        (r#"[{ "index": 33, "targets": [] }]"#, "macros[0].index", "1 to 32"),
        (r#"[{ "index": 1, "default": 2, "targets": [] }]"#, "macros[0].default", "0 to 1"),
        (r#"[{ "index": 1, "targets": [{ "param": "a" }] }]"#, "macros[0].targets[0].param", "node.param"),
        (r#"[{ "index": 1, "targets": [{ "param": "zz.gain_db" }] }]"#, "macros[0].targets[0].param", "no node"),
        (r#"[{ "index": 1, "targets": [{ "param": "a.volume" }] }]"#, "macros[0].targets[0].param", "gain_db"),
        (r#"[{ "index": 1, "targets": [{ "param": "a.gain_db", "max": 99 }] }]"#, "macros[0].targets[0].max", "range"),
        (r#"[{ "index": 1, "targets": [] }, { "index": 1, "targets": [] }]"#, "macros[1].index", "twice"),
        (r#"[{ "index": 1, "targets": [], "colour": "red" }]"#, "macros[0]", "colour"),
    ] {
        let (_line, _column, json_path, message) = invalid(&with_macros(macros));
        assert!(json_path.starts_with(path), "{macros}: {json_path} is not {path}");
        assert!(message.contains(needle), "{macros}: {message}");
    }
}

/// `GOOD` with `midi_map` (a JSON list) added.
fn with_midi_map(map: &str) -> String {
    GOOD.replace("  \"connections\": [", &format!("  \"midi_map\": {map},\n  \"connections\": ["))
}

#[test]
fn midi_maps_bind_controllers_and_survive_a_save() {
    let text = with_midi_map(
        r#"[{ "cc": 7, "channel": 2, "param": "a.gain_db", "min": -40, "max": 0 }, { "cc": 10, "param": "b.pan" }]"#,
    );
    let patch = Patch::parse(&text, "x.json", &Registry).unwrap();
    let [volume, pan] = &patch.midi_map[..] else { panic!("two mappings: {:?}", patch.midi_map) };
    assert_eq!((volume.channel, volume.controller, volume.target.value_at(0.5)), (Some(2), 7, -20.0));
    assert_eq!((pan.channel, pan.target.min, pan.target.max), (None, -1.0, 1.0), "any channel, the whole range");
    let binding = volume.binding(volume.target.node);
    assert_eq!(binding.channel, Some(1), "the engine counts channels from 0");
    let again = Patch::parse(&patch.to_json().to_string(), "x.json", &Registry).unwrap();
    assert_eq!(again.midi_map, patch.midi_map);
}

#[test]
fn bad_midi_maps_name_the_field() {
    for (map, path, needle) in [
        (r#"[{ "cc": 128, "param": "a.gain_db" }]"#, "midi_map[0].cc", "0 to 127"),
        (r#"[{ "cc": 1, "channel": 0, "param": "a.gain_db" }]"#, "midi_map[0].channel", "1 to 16"),
        (r#"[{ "cc": 1, "param": "zz.gain_db" }]"#, "midi_map[0].param", "no node"),
        (r#"[{ "cc": 1, "param": "a.volume" }]"#, "midi_map[0].param", "gain_db"),
        (r#"[{ "cc": 1, "param": "a.gain_db", "min": -999 }]"#, "midi_map[0].min", "range"),
        (r#"[{ "cc": 1, "param": "a.gain_db", "curve": "log" }]"#, "midi_map[0]", "curve"),
    ] {
        let (_line, _column, json_path, message) = invalid(&with_midi_map(map));
        assert!(json_path.starts_with(path), "{map}: {json_path} is not {path}");
        assert!(message.contains(needle), "{map}: {message}");
    }
}

#[test]
fn nodes_that_cannot_be_made_become_silent_stand_ins_that_save_as_written() {
    use noderack_presets::MissingNodes;
    let text = r#"{
  "format": "noderack-patch", "version": 1,
  "nodes": [
    { "id": "in", "kind": "midi-in" },
    { "id": "ghost", "kind": "future-synth", "config": { "wavetable": "w.wav" }, "params": { "warp": 0.5 } },
    { "id": "ghost_fx", "kind": "future-fx" },
    { "id": "g", "kind": "gain" },
    { "id": "out", "kind": "output", "config": { "bus": "main" } }
  ],
  "connections": [
    { "from": "in.events", "to": "ghost.notes" },
    { "from": "ghost.out", "to": "ghost_fx.in" },
    { "from": "ghost_fx.out", "to": "g.in" },
    { "from": "g.out", "to": "out.in" }
  ],
  "macros": [{ "index": 1, "targets": [{ "param": "ghost.warp" }, { "param": "g.gain_db", "min": -12, "max": 0 }] }]
}"#;
    assert!(Patch::parse(text, "x.json", &Registry).is_err(), "refused by default");
    let patch = Patch::parse_with(text, "x.json", &Registry, MissingNodes::Silence).expect("loads with stand-ins");
    assert_eq!(patch.warnings.len(), 2, "{:?}", patch.warnings);
    assert!(patch.warnings[0].contains("\"ghost\" (future-synth) is silent"), "{}", patch.warnings[0]);
    // Ports come from the connections to real nodes; the one between two stand-ins is held.
    let ghost = patch.node("ghost").unwrap();
    assert_eq!(ghost.description.kind(), "future-synth");
    assert_eq!(ghost.description.ports().inputs[0].name, "notes");
    assert_eq!(patch.connections.len(), 3);
    assert_eq!(patch.held.connections, [("ghost.out".to_string(), "ghost_fx.in".to_string())]);
    // The macro plays on what exists.
    assert_eq!(patch.macros[0].targets.len(), 1);
    assert_eq!(patch.macros[0].targets[0].node_name, "g");

    // Saved, everything is as written: kinds, settings, parameters, connections, macros.
    let saved = patch.to_json();
    let original: serde_json::Value = serde_json::from_str(text).unwrap();
    let node = |v: &serde_json::Value, id: &str| {
        v["nodes"].as_array().unwrap().iter().find(|n| n["id"] == id).cloned().unwrap()
    };
    assert_eq!(node(&saved, "ghost"), node(&original, "ghost"));
    assert_eq!(node(&saved, "ghost_fx"), node(&original, "ghost_fx"));
    assert_eq!(saved["macros"], original["macros"]);
    let mut connections: Vec<String> = saved["connections"].as_array().unwrap().iter().map(|c| c.to_string()).collect();
    let mut expected: Vec<String> = original["connections"].as_array().unwrap().iter().map(|c| c.to_string()).collect();
    connections.sort();
    expected.sort();
    assert_eq!(connections, expected);
}
