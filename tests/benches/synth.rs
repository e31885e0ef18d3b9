//! How many synth voices one core renders in real time at 48 kHz in 64-frame blocks, plain and
//! with every modulation route on (figures in docs/PERFORMANCE.md).
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

/// The modulation envelope (held at a sustain of 0.5) and both LFOs routed to pitch, cutoff
/// and volume: every control update of every voice recomputes pitch, filter coefficients and
/// the volume gain.
fn all_routes() -> Vec<(ParamId, f32)> {
    vec![
        (synth::MOD_ENV_SUSTAIN_LEVEL, 0.5),
        (synth::MOD_ENV_TO_PITCH_CENTS, 100.0),
        (synth::MOD_ENV_TO_CUTOFF_OCTAVES, 2.0),
        (synth::MOD_ENV_TO_VOLUME_DB, -3.0),
        (synth::LFO1_RATE_HZ, 5.0),
        (synth::LFO1_WAVEFORM, 1.0),
        (synth::LFO1_TO_PITCH_CENTS, 30.0),
        (synth::LFO1_TO_CUTOFF_OCTAVES, 0.5),
        (synth::LFO1_TO_VOLUME_DB, 1.0),
        (synth::LFO2_RATE_HZ, 0.7),
        (synth::LFO2_TO_PITCH_CENTS, 5.0),
        (synth::LFO2_TO_CUTOFF_OCTAVES, 1.0),
        (synth::LFO2_TO_VOLUME_DB, 3.0),
    ]
}

/// A synth holding `VOICES` notes (sustain 1 so none ends), settled past the attack.
fn held(waveform: f32, extra: &[(ParamId, f32)]) -> Held {
    let mut params = vec![(synth::WAVEFORM, waveform), (synth::SUSTAIN_LEVEL, 1.0), (synth::GAIN_DB, -30.0)];
    params.extend_from_slice(extra);
    let notes = (0..VOICES).map(|i| ((i / 64) as u8, 24 + (i % 64) as u8));
    Held::new(add_with(INSTRUMENT, "synth", Synth::new(256), params), notes, BLOCK)
}

fn voices(c: &mut Criterion) {
    let mut group = c.benchmark_group("synth_128_voices_64_frames");
    group.throughput(Throughput::Elements(VOICES as u64));
    let modulated = all_routes();
    for (name, waveform, extra) in [
        ("saw", 0.0, &[][..]),
        ("square", 1.0, &[][..]),
        ("triangle", 2.0, &[][..]),
        ("sine", 3.0, &[][..]),
        ("saw_modulated", 0.0, &modulated[..]),
        ("sine_modulated", 3.0, &modulated[..]),
    ] {
        let mut held = held(waveform, extra);
        group.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| held.block(&[])));
    }
    group.finish();
}

criterion_group!(benches, voices);
criterion_main!(benches);
