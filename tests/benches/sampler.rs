//! How many sampler voices one core renders in real time at 48 kHz in 64-frame blocks
//! (figures in docs/PERFORMANCE.md).
//!
//! Run: `cargo bench -p noderack-tests --bench sampler`
//! Voices in real time = sounding voices × (64 / 48 000 s) / time per block.
//!
//! Every voice holds a note of a looped sample recorded at 44.1 kHz, keys spread over two
//! octaves around the root (pitch ratios 0.46 to 1.84, as a keyboard part plays them), the
//! envelope in its sustain. Variants: a stereo sample, a mono sample (what SF2 banks hold:
//! stereo pairs are two mono regions), and a mono sample through the per-voice low-pass filter
//! (which many SF2 instruments set).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noderack_nodes::sampler::Sampler;
use noderack_presets::instrument::{
    Bank, FilterKind, Group, Instrument, LoopDirection, LoopMode, Region, RegionFilter, SampleLoop,
};
use noderack_presets::sample::Sample;
use noderack_tests::held::Held;
use noderack_tests::rig::{add, INSTRUMENT};

const BLOCK: usize = 64;
const VOICES: usize = 256;
const SAMPLE_RATE: u32 = 44_100;

/// Two seconds of a chord-like tone (three partials, different per channel) at 44.1 kHz.
fn sample(channels: usize) -> Arc<Sample> {
    let frames = 2 * SAMPLE_RATE as usize;
    let channel = |c: usize| -> Vec<f32> {
        (0..frames)
            .map(|i| {
                let t = i as f64 / SAMPLE_RATE as f64;
                let partial = |hz: f64| (std::f64::consts::TAU * hz * t + c as f64).sin();
                (0.3 * partial(261.63) + 0.2 * partial(523.25) + 0.1 * partial(784.0)) as f32
            })
            .collect()
    };
    Arc::new(Sample { sample_rate_hz: SAMPLE_RATE, channels: (0..channels).map(channel).collect(), sha256: [0; 32] })
}

/// A sampler holding `VOICES` notes of a looped `channels`-channel sample, settled in sustain.
fn held(channels: usize, filter: bool) -> Held {
    let mut region = Region::new(sample(channels), 60);
    region.loop_mode = LoopMode::Continuous;
    region.sample_loop =
        Some(SampleLoop { start_frames: 4410.0, end_frames: 84_000.0, direction: LoopDirection::Forward });
    if filter {
        region.filter = Some(RegionFilter {
            kind: FilterKind::LowPass,
            cutoff_hz: 4000.0,
            resonance_db: 0.0,
            keytrack_cents: 0.0,
            velocity_track_cents: 0.0,
        });
    }
    let instrument = Instrument {
        name: "bench".into(),
        groups: vec![Group { name: None, regions: vec![region] }],
        ..Instrument::default()
    };
    let sampler = Sampler::new(Some(Arc::new(Bank::single(instrument))), VOICES);
    // 8 channels × 32 keys (48..=79): every (channel, key) pair once, so no note releases another.
    let notes = (0..VOICES).map(|i| ((i / 32) as u8, 48 + (i % 32) as u8));
    let held = Held::new(add(INSTRUMENT, "sampler", sampler), notes, BLOCK);
    assert!(held.left().iter().any(|s| s.abs() > 1e-3), "the held notes are silent");
    held
}

fn voices(c: &mut Criterion) {
    let mut group = c.benchmark_group("sampler_256_voices_64_frames");
    group.throughput(Throughput::Elements(VOICES as u64));
    for (name, channels, filter) in [("stereo", 2, false), ("mono", 1, false), ("mono_lowpass", 1, true)] {
        let mut held = held(channels, filter);
        group.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| held.block(&[])));
    }
    group.finish();
}

criterion_group!(benches, voices);
criterion_main!(benches);
