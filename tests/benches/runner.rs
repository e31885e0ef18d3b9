//! Runner overhead (figures in docs/PERFORMANCE.md): one 64-frame block of a runner with 8
//! looping instances of a dense song (sixteenth notes, a chord every beat), against the same
//! runner idle; the difference over 8 is the cost of one instance per block. The runner's
//! output goes to an event probe, so the events are consumed as an instrument would.
//!
//! Then the cost of hosting the song's instruments inside the runner: the same song on a
//! sawtooth `Oscillator`, 8 looping instances, played (a) by the runner's own instruments on its
//! `audio` output and (b) by the same synth, with the same settings, as a node of the patch fed
//! by the runner's events. Both render the same notes through the same synth; the difference
//! is the runner's inner engine.
//!
//! Run: `cargo bench -p noderack-tests --bench runner`

use criterion::{criterion_group, criterion_main, Criterion};
use noderack_graph::{new_engine, EngineConfig, Event, Executor, HostBlock, MidiMessage};
use noderack_nodes::runner::Runner;
use noderack_nodes::{MidiIn, Output};
use noderack_presets::sw::{self, CompileOptions};
use noderack_tests::event_probe::EventProbe;
use noderack_tests::rig::{add, connect};

const BLOCK: usize = 64;
const SONG: &str = "track t() {\n for (let i = 0; i < 4; i++) {\n  [C4, E4, G4]@/8 /16\n  D4@/16 /16  F4@/16 /16  A4@/16 /16\n }\n}\nt()";

fn executor(instances: u8) -> Executor {
    let song = sw::compile(SONG, "bench.sw", &CompileOptions::default()).expect("compiles");
    let config = serde_json::from_str(r#"{ "instances": 8, "loop": true }"#).expect("JSON");
    let runner = Runner::from_config(&config, &song).expect("a runner");
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(48_000.0));
    engine
        .apply(vec![
            add(1, "keys", MidiIn::new()),
            add(2, "runner", runner),
            add(3, "probe", EventProbe::new()),
            add(4, "out", Output::new("main", 2)),
            connect(1, 0, 2, 0),
            connect(2, 0, 3, 0),
            connect(3, 0, 4, 0),
        ])
        .expect("the graph");
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let triggers: Vec<Event> = (0..instances)
        .map(|i| Event::midi(i as u32, MidiMessage::NoteOn { channel: 0, key: 48 + i, velocity: 100 }))
        .collect();
    let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
    executor.process(HostBlock::new(BLOCK, &mut outs).with_midi(&triggers));
    executor
}

fn runner_overhead(c: &mut Criterion) {
    for instances in [0u8, 8] {
        let mut executor = executor(instances);
        let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
        c.bench_function(&format!("runner, {instances} looping instances, one 64-frame block"), |b| {
            b.iter(|| {
                let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
                executor.process(HostBlock::new(BLOCK, &mut outs));
            })
        });
    }
}

const SAW_SONG: &str = "const lead = Oscillator({type: 'sawtooth'})\ntrack.instrument = lead\ntrack t() {\n for (let i = 0; i < 4; i++) {\n  [C4, E4, G4]@/8 /16\n  D4@/16 /16  F4@/16 /16  A4@/16 /16\n }\n}\nt()";

/// 8 looping instances of the sawtooth song, through the runner's own instruments (`own`) or
/// through the same synth as a patch node.
fn instruments_executor(own: bool) -> Executor {
    use noderack_graph::{Edit, NodeId, PortRef};
    use noderack_nodes::preset_graph::preset_subgraph;
    use noderack_nodes::runner::rack::{instrument_graph, RackInstruments, SAMPLER_GAIN_DB};
    use noderack_nodes::runner::{RunnerSettings, RunnerSong, AUDIO};

    let song = sw::compile(SAW_SONG, "bench.sw", &CompileOptions::default()).expect("compiles");
    let graph = |index| instrument_graph(&song, index, &mut |_, _| Err(())).expect("an oscillator");
    let prepared = RunnerSong::new(&song);
    let rack = own.then(|| RackInstruments::new(&prepared, graph));
    let settings = RunnerSettings { instances: 8, looping: true, ..RunnerSettings::default() };
    let runner = Runner::new(prepared, settings, rack);
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(48_000.0));
    let mut edits =
        vec![add(1, "keys", MidiIn::new()), add(2, "runner", runner), add(4, "out", Output::new("main", 2))];
    edits.push(connect(1, 0, 2, 0));
    if own {
        edits.push(connect(2, AUDIO as u16, 4, 0));
    } else {
        let synth = preset_subgraph(graph(1), NodeId(5), "lead", SAMPLER_GAIN_DB);
        let (nodes, links): (Vec<Edit>, Vec<Edit>) =
            synth.edits.into_iter().partition(|e| matches!(e, Edit::AddNode { .. }));
        edits.extend(nodes);
        edits.extend(links);
        for to in synth.events_in {
            edits.push(Edit::Connect(noderack_graph::Connection { from: PortRef::new(NodeId(2), 0), to }));
        }
        edits.push(Edit::Connect(noderack_graph::Connection { from: synth.audio_out, to: PortRef::new(NodeId(4), 0) }));
    }
    engine.apply(edits).expect("the graph");
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let triggers: Vec<Event> =
        (0..8).map(|i| Event::midi(i, MidiMessage::NoteOn { channel: 0, key: 48 + i as u8, velocity: 100 })).collect();
    let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
    executor.process(HostBlock::new(BLOCK, &mut outs).with_midi(&triggers));
    executor
}

fn hosted_instruments(c: &mut Criterion) {
    for (own, name) in [(false, "a synth node of the patch"), (true, "the runner's own instruments")] {
        let mut executor = instruments_executor(own);
        let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
        c.bench_function(&format!("runner, 8 instances on a sawtooth, through {name}, one 64-frame block"), |b| {
            b.iter(|| {
                let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
                executor.process(HostBlock::new(BLOCK, &mut outs));
            })
        });
    }
}

criterion_group!(benches, runner_overhead, hosted_instruments);
criterion_main!(benches);
