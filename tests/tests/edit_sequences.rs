//! Random edit sequences, valid and invalid, as clients of the control server send them: every
//! batch the patch layer accepts, the engine accepts too; a refused batch changes nothing; the
//! graph stays a valid patch that reads back as itself; and the audio thread, rendering with
//! MIDI between every batch, never allocates or frees. The edits that per-session undo computes
//! between two graphs turn either one into the other.

use std::collections::BTreeMap;
use std::path::Path;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{new_engine, Event, HostBlock, MidiMessage};
use noderack_nodes::registry::Registry;
use noderack_presets::patch_history::edits_between;
use noderack_presets::{ConfigValue, LoadContext, NodeConfig, ParamValue, Patch, PatchEdit, RunningPatch};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const START: &str = r#"{ "format": "noderack-patch", "version": 1,
  "nodes": [ { "id": "keys", "kind": "midi-in" }, { "id": "out", "kind": "output" } ] }"#;

/// Node kinds the sequences add (one config each, where a kind needs one).
const KINDS: [&str; 7] = ["synth", "gain", "mixer", "transpose", "key-split", "midi-in", "channel-filter"];

/// One step a client might take, resolved against the graph as it is when the step comes (so
/// that most steps name real nodes, ports and parameters); `invalid` steps are broken on
/// purpose (a taken id, an unknown node, a value out of range, an unknown kind).
#[derive(Clone, Debug)]
struct Intent {
    op: u8,
    a: usize,
    b: usize,
    c: usize,
    x: f32,
    invalid: bool,
}

fn intent() -> impl Strategy<Value = Intent> {
    (0u8..7, any::<usize>(), any::<usize>(), any::<usize>(), 0.0f32..1.0, proptest::bool::weighted(0.15))
        .prop_map(|(op, a, b, c, x, invalid)| Intent { op, a, b, c, x, invalid })
}

/// The edit `intent` means for `patch`; `fresh` numbers new node ids.
fn resolve(patch: &Patch, intent: &Intent, fresh: &mut usize) -> PatchEdit {
    let nodes = &patch.nodes;
    let node = |i: usize| &nodes[i % nodes.len()];
    let port = |n: &noderack_presets::PatchNode, direction, i: usize| {
        let side = n.description.ports().side(direction);
        if side.is_empty() {
            format!("{}.none", n.name)
        } else {
            format!("{}.{}", n.name, side[i % side.len()].name)
        }
    };
    let op = if nodes.is_empty() { 0 } else { intent.op };
    match op {
        0 => {
            *fresh += 1;
            let taken = (intent.invalid && !nodes.is_empty()).then(|| node(intent.a).name.clone());
            let id = taken.unwrap_or_else(|| format!("n{fresh}"));
            let kind =
                if intent.invalid && intent.b.is_multiple_of(2) { "nope" } else { KINDS[intent.b % KINDS.len()] };
            let mut config = NodeConfig::new();
            if kind == "mixer" {
                config.insert("inputs".into(), ConfigValue::Number((intent.c % 4 + 1) as f64));
            }
            PatchEdit::Add { id, kind: kind.into(), config, params: BTreeMap::new(), position: None }
        }
        1 => PatchEdit::Remove { id: if intent.invalid { "ghost".into() } else { node(intent.a).name.clone() } },
        2 => {
            // From any output to an input of the same kind (a mismatch would only be refused).
            let from = node(intent.a);
            let outputs = from.description.ports().side(noderack_graph::Direction::Output);
            let Some(out) = (!outputs.is_empty()).then(|| &outputs[intent.b % outputs.len()]) else {
                return PatchEdit::Connect { from: format!("{}.none", from.name), to: "keys.none".into() };
            };
            let inputs: Vec<String> = nodes
                .iter()
                .flat_map(|n| {
                    let side = n.description.ports().side(noderack_graph::Direction::Input);
                    side.iter()
                        .filter(|p| p.kind == out.kind)
                        .map(|p| format!("{}.{}", n.name, p.name))
                        .collect::<Vec<_>>()
                })
                .collect();
            let to = match inputs.len() {
                _ if intent.invalid => "ghost.in".to_string(),
                0 => port(node(intent.c), noderack_graph::Direction::Input, intent.b),
                n => inputs[intent.c % n].clone(),
            };
            PatchEdit::Connect { from: format!("{}.{}", from.name, out.name), to }
        }
        3 if !patch.connections.is_empty() && !intent.invalid => {
            let json = patch.to_json();
            let c = &json["connections"][intent.a % patch.connections.len()];
            PatchEdit::Disconnect { from: c["from"].as_str().unwrap().into(), to: c["to"].as_str().unwrap().into() }
        }
        3 => PatchEdit::Disconnect { from: "keys.events".into(), to: "ghost.in".into() },
        // MIDI learn: a controller bound to some parameter (out of MIDI's range when invalid).
        5 if !nodes[intent.a % nodes.len()].description.params().is_empty() => {
            let n = node(intent.a);
            let specs = n.description.params();
            PatchEdit::MapCc {
                cc: if intent.invalid { 200 } else { (intent.c % 128) as u32 },
                channel: (!intent.b.is_multiple_of(3)).then_some((intent.b % 16 + 1) as u32),
                param: format!("{}.{}", n.name, specs[intent.b % specs.len()].name),
                min: None,
                max: None,
            }
        }
        6 if !patch.midi_map.is_empty() && !intent.invalid => {
            PatchEdit::UnmapCc { param: patch.midi_map[intent.a % patch.midi_map.len()].param_path() }
        }
        6 => PatchEdit::UnmapCc { param: "ghost.level".into() },
        _ => {
            let n = node(intent.a);
            let specs = n.description.params();
            if specs.is_empty() {
                return PatchEdit::Set { id: n.name.clone(), param: "level".into(), value: ParamValue::Number(0.0) };
            }
            let spec = &specs[intent.b % specs.len()];
            let value =
                if intent.invalid { spec.max + 1.0 + intent.x } else { spec.min + (spec.max - spec.min) * intent.x };
            let value = if spec.choices.is_empty() { value } else { value.floor().min(spec.max) };
            PatchEdit::Set { id: n.name.clone(), param: spec.name.to_string(), value: ParamValue::Number(value) }
        }
    }
}

/// How many batches one case applied (accepted) and tried.
#[derive(Default)]
struct Tally {
    accepted: usize,
    tried: usize,
}

/// Plays `batches` through the patch layer and the engine, checking each step; what was
/// accepted.
fn run(batches: &[Vec<Intent>]) -> Result<Tally, TestCaseError> {
    let mut running = RunningPatch::new(Patch::parse(START, "start.json", &Registry).unwrap());
    let (mut engine, mut executor) = new_engine(running.patch().engine_config(48_000.0, 512));
    engine.apply(running.edits()).unwrap();
    let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let notes = [
        Event::midi(3, MidiMessage::NoteOn { channel: 0, key: 60, velocity: 100 }),
        Event::midi(200, MidiMessage::NoteOff { channel: 0, key: 60, velocity: 0 }),
    ];
    let before = violation_count();
    let (mut fresh, mut tally) = (0, Tally::default());
    for intents in batches {
        let batch: Vec<PatchEdit> = intents.iter().map(|i| resolve(running.patch(), i, &mut fresh)).collect();
        let mut context = LoadContext::new(Path::new(""));
        tally.tried += 1;
        match running.patch().edited(&batch, &Registry, &mut context) {
            Ok(new) => {
                let change = running.diff(&new).expect("buses never change here");
                let applied = engine.apply(change.edits.clone());
                prop_assert!(
                    applied.is_ok(),
                    "the patch layer accepted {batch:?} but the engine refused it: {:?}",
                    applied.err()
                );
                leads_both_ways(running.patch(), &new)?;
                running.commit(new, change);
                tally.accepted += 1;
            }
            Err(error) => prop_assert!(error.index < batch.len()),
        }
        prop_assert_eq!(engine.graph().node_count(), running.patch().nodes.len());
        // The graph, written as a patch, reads back as itself.
        let json = running.patch().to_json();
        let again = Patch::parse(&json.to_string(), "again.json", &Registry);
        prop_assert!(again.is_ok(), "{json}");
        prop_assert_eq!(again.unwrap().to_json(), json);
        for _ in 0..3 {
            let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
            assert_no_alloc(|| executor.process(HostBlock::new(256, &mut outs).with_midi(&notes)));
            engine.maintain();
        }
    }
    prop_assert_eq!(violation_count(), before, "the audio thread allocated");
    prop_assert_eq!(engine.status().rejected_plans(), 0);
    let start = Patch::parse(START, "start.json", &Registry).unwrap();
    leads_both_ways(&start, running.patch())?;
    Ok(tally)
}

/// The edits between `a` and `b` (what per-session undo applies), either way, lead from one
/// to the other.
fn leads_both_ways(a: &Patch, b: &Patch) -> Result<(), TestCaseError> {
    for (from, to) in [(a, b), (b, a)] {
        let edits = edits_between(&from.to_json(), &to.to_json());
        let reached = from.edited(&edits, &Registry, &mut LoadContext::new(Path::new("")));
        prop_assert!(reached.is_ok(), "{edits:?}: {:?}", reached.err());
        prop_assert_eq!(normal(&reached.unwrap().to_json()), normal(&to.to_json()));
    }
    Ok(())
}

/// A patch (file format) as nodes by id, a set of connections and a set of MIDI mappings: what
/// matters, not the order.
type Normal =
    (BTreeMap<String, serde_json::Value>, std::collections::BTreeSet<String>, std::collections::BTreeSet<String>);

fn normal(patch: &serde_json::Value) -> Normal {
    let nodes = patch["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap().to_string(), n.clone()));
    let links = patch["connections"].as_array().unwrap().iter().map(|c| format!("{} -> {}", c["from"], c["to"]));
    let map = patch["midi_map"].as_array().into_iter().flatten().map(|m| m.to_string());
    (nodes.collect(), links.collect(), map.collect())
}

#[test]
fn random_edit_batches_keep_the_graph_valid_and_the_audio_thread_allocation_free() {
    let config = ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let totals = std::cell::RefCell::new(Tally::default());
    let strategy = proptest::collection::vec(proptest::collection::vec(intent(), 1..4), 1..32);
    let result = runner.run(&strategy, |batches| {
        let tally = run(&batches)?;
        let mut totals = totals.borrow_mut();
        totals.accepted += tally.accepted;
        totals.tried += tally.tried;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Most batches are valid, so the sequences really edit (a generator that only produced
    // refusals would test nothing); many are not, so refusals are tested too.
    let totals = totals.into_inner();
    // (About a quarter are accepted: a batch fails if any of its one to three edits does.)
    assert!(
        totals.accepted * 10 >= totals.tried && totals.accepted >= 50,
        "only {} of {} batches accepted",
        totals.accepted,
        totals.tried
    );
    assert!(totals.accepted < totals.tried, "no batch was refused");
}
