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
//! (which many SF2 instruments set); each stored as `f32` or as 16-bit points; and with
//! modulation on: a vibrato LFO (±30 cents, 5.5 Hz) and a tremolo LFO (±2 dB), and, with the
//! filter, a modulation envelope and the vibrato LFO sweeping its cutoff.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noderack_nodes::sampler::Sampler;
use noderack_presets::instrument::{
    Bank, Envelope, Group, Instrument, Lfo, LfoWaveform, LoopDirection, LoopMode, ModInput, ModRoute, ModSource,
    ModTarget, Region, RegionFilter, SampleLoop,
};
use noderack_presets::sample::{Pcm16, Sample};
use noderack_tests::held::Held;
use noderack_tests::rig::{add, INSTRUMENT};

const BLOCK: usize = 64;
const VOICES: usize = 256;
const SAMPLE_RATE: u32 = 44_100;

/// Two seconds of a chord-like tone (three partials, different per channel) at 44.1 kHz, as
/// 16-bit points when `sixteen_bit`.
fn sample(channels: usize, sixteen_bit: bool) -> Arc<Sample> {
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
    if sixteen_bit {
        let words = |c| Pcm16::owned(channel(c).iter().map(|x| (x * 32_767.0).round() as i16).collect());
        Arc::new(Sample::from_i16(SAMPLE_RATE, (0..channels).map(words).collect(), [0; 32]))
    } else {
        Arc::new(Sample::from_f32(SAMPLE_RATE, (0..channels).map(channel).collect(), [0; 32]))
    }
}

/// What each benchmark's voices play.
#[derive(Copy, Clone)]
struct Variant {
    name: &'static str,
    channels: usize,
    sixteen_bit: bool,
    filter: bool,
    modulated: bool,
}

/// A sampler holding `VOICES` notes of a looped sample as `variant` says, settled in sustain.
fn held(variant: Variant) -> Held {
    let Variant { channels, sixteen_bit, filter, modulated, .. } = variant;
    let mut region = Region::new(sample(channels, sixteen_bit), 60);
    region.loop_mode = LoopMode::Continuous;
    region.sample_loop =
        Some(SampleLoop { start_frames: 4410.0, end_frames: 84_000.0, direction: LoopDirection::Forward });
    if filter {
        region.filter = Some(RegionFilter::low_pass(4000.0, 0.0));
    }
    if modulated {
        let m = &mut region.modulation;
        m.lfos.push(Lfo { frequency_hz: 5.5, waveform: LfoWaveform::Triangle, ..Lfo::default() });
        m.lfos.push(Lfo { frequency_hz: 3.0, waveform: LfoWaveform::Sine, ..Lfo::default() });
        m.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 30.0, ModTarget::PitchCents));
        m.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(1)), 2.0, ModTarget::VolumeDb));
        if filter {
            m.envelopes.push(Envelope {
                attack_seconds: 0.5,
                decay_seconds: 2.0,
                sustain_level: 0.5,
                ..Envelope::SAMPLE
            });
            m.routes.push(ModRoute::new(ModInput::linear(ModSource::Envelope(0)), 2400.0, ModTarget::CutoffCents));
            m.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 200.0, ModTarget::CutoffCents));
        }
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
    let v = |name, channels, sixteen_bit, filter, modulated| Variant { name, channels, sixteen_bit, filter, modulated };
    for variant in [
        v("stereo", 2, false, false, false),
        v("stereo_16bit", 2, true, false, false),
        v("stereo_modulated", 2, false, false, true),
        v("stereo_16bit_modulated", 2, true, false, true),
        v("mono", 1, false, false, false),
        v("mono_16bit", 1, true, false, false),
        v("mono_lowpass", 1, false, true, false),
        v("mono_16bit_lowpass_modulated", 1, true, true, true),
    ] {
        let mut held = held(variant);
        group.bench_function(BenchmarkId::from_parameter(variant.name), |b| b.iter(|| held.block(&[])));
    }
    group.finish();
}

criterion_group!(benches, voices);
criterion_main!(benches);
