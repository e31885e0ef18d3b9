//! Runner overhead (figures in docs/PERFORMANCE.md): one 64-frame block of a runner with 8
//! looping instances of a dense song (sixteenth notes, a chord every beat), against the same
//! runner idle; the difference over 8 is the cost of one instance per block. The runner's
//! output goes to an event probe, so the events are consumed as an instrument would.
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

criterion_group!(benches, runner_overhead);
criterion_main!(benches);
