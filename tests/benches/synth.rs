//! How many synth voices one core renders in real time at 48 kHz in 64-frame blocks
//! (figures in docs/PERFORMANCE.md).
//!
//! Run: `cargo bench -p noderack-tests --bench synth`
//! Voices in real time = held voices × (64 / 48 000 s) / time per block.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noderack_graph::ParamId;
use noderack_nodes::{synth, Synth};
use noderack_tests::held::Held;
use noderack_tests::rig::{add_with, INSTRUMENT};

const BLOCK: usize = 64;
const VOICES: usize = 128;

/// A synth holding `VOICES` notes (sustain 1 so none ends), settled past the attack.
fn held(waveform: f32) -> Held {
    let params = vec![(synth::WAVEFORM, waveform), (synth::SUSTAIN_LEVEL, 1.0), (ParamId(11), -30.0)];
    let notes = (0..VOICES).map(|i| ((i / 64) as u8, 24 + (i % 64) as u8));
    Held::new(add_with(INSTRUMENT, "synth", Synth::new(256), params), notes, BLOCK)
}

fn voices(c: &mut Criterion) {
    let mut group = c.benchmark_group("synth_128_voices_64_frames");
    group.throughput(Throughput::Elements(VOICES as u64));
    for (name, waveform) in [("saw", 0.0), ("square", 1.0), ("triangle", 2.0), ("sine", 3.0)] {
        let mut held = held(waveform);
        group.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| held.block(&[])));
    }
    group.finish();
}

criterion_group!(benches, voices);
criterion_main!(benches);
