//! How many synth voices one core renders in real time at 48 kHz in 64-frame blocks
//! (figures in docs/PERFORMANCE.md).
//!
//! Run: `cargo bench -p noderack-tests --bench synth`
//! Voices in real time = held voices × (64 / 48 000 s) / time per block.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noderack_graph::{new_engine, Edit, EngineConfig, Event, Executor, HostBlock, MidiMessage, NodeId, ParamId};
use noderack_nodes::{synth, MidiIn, Output, Synth};
use noderack_tests::rig::{add, connect};

const BLOCK: usize = 64;
const VOICES: usize = 128;

/// A synth holding `VOICES` notes (sustain 1 so none ends), settled past the attack.
fn held(waveform: f32) -> Executor {
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(48_000.0));
    engine
        .apply(vec![
            add(1, "keys", MidiIn::new()),
            Edit::AddNode {
                id: NodeId(2),
                label: "synth".into(),
                description: Arc::new(Synth::new(256)),
                params: vec![(synth::WAVEFORM, waveform), (synth::SUSTAIN_LEVEL, 1.0), (ParamId(11), -30.0)],
            },
            add(3, "out", Output::new("main", 2)),
            connect(1, 0, 2, 0),
            connect(2, 0, 3, 0),
        ])
        .unwrap();
    let notes: Vec<Event> = (0..VOICES)
        .map(|i| {
            Event::midi(0, MidiMessage::NoteOn { channel: (i / 64) as u8, key: 24 + (i % 64) as u8, velocity: 100 })
        })
        .collect();
    let mut l = vec![0.0; BLOCK];
    let mut r = vec![0.0; BLOCK];
    for b in 0..200 {
        let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
        let midi: &[Event] = if b == 0 { &notes } else { &[] };
        executor.process(HostBlock { frames: BLOCK, outputs: &mut outs, midi_in: midi });
    }
    executor
}

fn voices(c: &mut Criterion) {
    let mut group = c.benchmark_group("synth_128_voices_64_frames");
    group.throughput(Throughput::Elements(VOICES as u64));
    for (name, waveform) in [("saw", 0.0), ("square", 1.0), ("triangle", 2.0), ("sine", 3.0)] {
        let mut executor = held(waveform);
        let mut l = vec![0.0; BLOCK];
        let mut r = vec![0.0; BLOCK];
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
                executor.process(HostBlock { frames: BLOCK, outputs: &mut outs, midi_in: &[] });
            })
        });
    }
    group.finish();
}

criterion_group!(benches, voices);
criterion_main!(benches);
