//! Expression in the sampler, measured on the audio: vibrato (rate and depth in cents, from
//! the cycle-by-cycle frequency), tremolo (depth in dB), a filter envelope's sweep (spectral
//! centroid), controller routes, velocity curves and crossfades, per-region bend ranges,
//! SF2 LFOs, modulation envelope and modulators (the mod wheel's default vibrato, file
//! modulators replacing it), block-size invariance and the no-allocation contract.

use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{EngineConfig, HostBlock, MidiMessage};
use noderack_host::TimedMidi;
use noderack_nodes::sampler::Sampler;
use noderack_presets::instrument::{
    Bank, Crossfade, Envelope, FilterKind, Lfo, LfoWaveform, LoopMode, ModInput, ModRoute, ModSource, ModTarget,
    NoteRange, Region, RegionFilter, SampleLoop,
};
use noderack_presets::sample::Sample;
use noderack_tests::analysis::{cents, frequency_track, peak, rms, spectral_centroid_hz};
use noderack_tests::fixtures::instrument_of;
use noderack_tests::midi::{cc, dense_stream, note_on, sorted};
use noderack_tests::sf2_builder::{gen, sine_points, SampleDef, Sf2Builder, ZoneDef};
use noderack_tests::Rig;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f32 = 48_000.0;

/// A one-second looped sample of `f(t)` (t in seconds) recorded at 48 kHz, its root key `root`;
/// `f` must repeat each second so the loop is seamless.
fn looped(root: u8, f: impl Fn(f64) -> f64) -> Region {
    let data: Vec<f32> = (0..48_000).map(|i| f(i as f64 / 48_000.0) as f32).collect();
    let sample = Arc::new(Sample { sample_rate_hz: 48_000, channels: vec![data], sha256: [0; 32] });
    let mut region = Region::new(sample, root);
    region.loop_mode = LoopMode::Continuous;
    region.sample_loop = Some(SampleLoop {
        start_frames: 0.0,
        end_frames: 48_000.0,
        direction: noderack_presets::instrument::LoopDirection::Forward,
    });
    region
}

/// A 440 Hz sine at half scale on A4.
fn sine440() -> Region {
    looped(69, |t| 0.5 * (std::f64::consts::TAU * 440.0 * t).sin())
}

fn lfo(hz: f32, waveform: LfoWaveform) -> Lfo {
    Lfo { frequency_hz: hz, waveform, ..Lfo::default() }
}

/// The left output of `midi` on `bank` at `block` frames per block; channel 1 at full volume.
fn render(bank: &Bank, block: usize, seconds: f32, midi: &[TimedMidi]) -> Vec<f32> {
    let mut rig = Rig::new(EngineConfig::stereo(SR), block);
    rig.add_instrument(Sampler::new(Some(Arc::new(bank.clone())), 64), vec![]);
    let midi = sorted([&[cc(0, 0, 7, 127)][..], midi].concat());
    rig.render((seconds * SR) as u64, &midi).swap_remove(0)
}

fn play(region: Region, seconds: f32, midi: &[TimedMidi]) -> Vec<f32> {
    render(&Bank::single(instrument_of(vec![region])), 256, seconds, midi)
}

/// Pitch in cents from 440 Hz of every cycle between `from` and `to` seconds.
fn cents_track(x: &[f32], from: f32, to: f32) -> Vec<(f32, f32)> {
    frequency_track(x, SR)
        .into_iter()
        .filter(|(t, _)| (from..to).contains(t))
        .map(|(t, hz)| (t, cents(hz, 440.0)))
        .collect()
}

/// Lowest and highest value of a track.
fn extremes(track: &[(f32, f32)]) -> (f32, f32) {
    track.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &(_, c)| (lo.min(c), hi.max(c)))
}

/// Mean time between upward crossings of a track's mean: its period.
fn period_seconds(track: &[(f32, f32)]) -> f32 {
    let mean = track.iter().map(|p| p.1).sum::<f32>() / track.len() as f32;
    let ups: Vec<f32> = track.windows(2).filter(|w| w[0].1 < mean && w[1].1 >= mean).map(|w| w[1].0).collect();
    assert!(ups.len() >= 3, "too few cycles in the track: {ups:?}");
    (ups[ups.len() - 1] - ups[0]) / (ups.len() - 1) as f32
}

#[test]
fn vibrato_moves_the_pitch_at_the_lfo_rate_by_the_set_depth() {
    let mut region = sine440();
    region.modulation.lfos.push(lfo(5.0, LfoWaveform::Sine));
    region.modulation.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 50.0, ModTarget::PitchCents));
    let out = play(region, 1.5, &[note_on(0, 0, 69, 127)]);
    let track = cents_track(&out, 0.1, 1.4);
    let (lo, hi) = extremes(&track);
    assert!((hi - 50.0).abs() < 3.0 && (lo + 50.0).abs() < 3.0, "vibrato spans {lo:.1}..{hi:.1} cents");
    let period = period_seconds(&track);
    assert!((period - 0.2).abs() < 0.004, "vibrato period {period} s, not 0.2 s (5 Hz)");
}

#[test]
fn tremolo_moves_the_level_by_the_set_depth_in_db() {
    let mut region = sine440();
    region.modulation.lfos.push(lfo(4.0, LfoWaveform::Triangle));
    region.modulation.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 6.0, ModTarget::VolumeDb));
    let out = play(region, 1.2, &[note_on(0, 0, 69, 127)]);
    // Level per 440 Hz cycle (its peak), over whole LFO cycles.
    let cycle = (SR / 440.0) as usize;
    let levels: Vec<f32> = out[4_800..52_800].chunks(cycle).map(peak).collect();
    let (lo, hi) = levels.iter().fold((f32::MAX, 0.0f32), |(lo, hi), &l| (lo.min(l), hi.max(l)));
    let depth_db = 20.0 * (hi / lo).log10();
    assert!((depth_db - 12.0).abs() < 0.4, "tremolo depth {depth_db:.2} dB, not ±6 dB");
    // The gain moves smoothly: no step between neighbouring samples beyond the sine's own.
    let largest_step = out.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0f32, f32::max);
    assert!(largest_step < 0.5 * std::f32::consts::TAU * 440.0 / SR * 2.0 * 1.05, "step {largest_step}");
}

/// A 110 Hz buzz: 40 harmonics of equal amplitude (a flat spectrum to 4.4 kHz, so a filter's
/// cutoff shows in the spectral centroid).
fn buzz110() -> Region {
    looped(45, |t| (1..=40).map(|k| (std::f64::consts::TAU * 110.0 * k as f64 * t).sin()).sum::<f64>() * 0.02)
}

#[test]
fn a_filter_envelope_sweeps_the_spectral_centroid_up_and_back() {
    let mut region = buzz110();
    region.filter = Some(RegionFilter {
        kind: FilterKind::LowPass,
        cutoff_hz: 300.0,
        resonance_db: 0.0,
        keytrack_cents: 0.0,
        velocity_track_cents: 0.0,
    });
    region.modulation.envelopes.push(Envelope {
        delay_seconds: 0.0,
        attack_seconds: 0.25,
        hold_seconds: 0.0,
        decay_seconds: 0.5,
        sustain_level: 0.0,
        release_seconds: 0.1,
    });
    region.modulation.routes.push(ModRoute::new(
        ModInput::linear(ModSource::Envelope(0)),
        4800.0,
        ModTarget::CutoffCents,
    ));
    let out = play(region, 1.0, &[note_on(0, 0, 45, 127)]);
    let centroid = |t: f32| {
        let at = (t * SR) as usize;
        spectral_centroid_hz(&out[at..at + 4096], SR)
    };
    let (start, top, end) = (centroid(0.0), centroid(0.23), centroid(0.8));
    assert!(top > 3.0 * start && top > 3.0 * end, "centroid {start:.0} → {top:.0} → {end:.0} Hz");
    // After the decay the cutoff is back at 300 Hz: most energy below 500 Hz.
    assert!(end < 500.0, "centroid after the sweep {end:.0} Hz");
}

#[test]
fn a_controller_scales_the_vibrato_at_three_values() {
    let mut region = sine440();
    region.modulation.lfos.push(lfo(6.0, LfoWaveform::Triangle));
    region.modulation.routes.push(
        ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 40.0, ModTarget::PitchCents)
            .scaled_by(ModInput::linear(ModSource::Controller(1))),
    );
    let depths: Vec<f32> = [0u8, 64, 127]
        .iter()
        .map(|&value| {
            // The controller moves mid-note: the depth follows.
            let out = play(region.clone(), 1.4, &[note_on(0, 0, 69, 127), cc(24_000, 0, 1, value)]);
            let (lo, hi) = extremes(&cents_track(&out, 0.6, 1.3));
            let before = extremes(&cents_track(&out, 0.05, 0.45));
            assert!(before.1 - before.0 < 1.0, "CC1 is 0 before it moves: {before:?}");
            (hi - lo) / 2.0
        })
        .collect();
    for (depth, expected) in depths.iter().zip([0.0, 40.0 * 64.0 / 127.0, 40.0]) {
        assert!((depth - expected).abs() < 2.0, "depths {depths:?}");
    }
}

#[test]
fn amplitude_routes_velocity_curves_and_crossfades_set_the_level() {
    let level = |region: Region, velocity: u8, midi: &[TimedMidi]| {
        let out = play(region, 0.5, &[&[note_on(2_400, 0, 69, velocity)][..], midi].concat());
        rms(&out[12_000..24_000])
    };
    let full = level(sine440(), 127, &[]);

    // amplitude = 0 plus CC 11 → amplitude 100 %: the level follows the controller.
    let mut by_cc = sine440();
    by_cc.amplitude = 0.0;
    by_cc.modulation.routes.push(ModRoute::new(ModInput::linear(ModSource::Controller(20)), 1.0, ModTarget::Amplitude));
    for value in [0u8, 32, 127] {
        let got = level(by_cc.clone(), 127, &[cc(0, 0, 20, value)]) / full;
        assert!((got - value as f32 / 127.0).abs() < 0.01, "CC20 {value}: level {got}");
    }

    // A velocity curve replaces the velocity law.
    let mut curved = sine440();
    let mut table = [0.0f32; 128];
    for (v, t) in table.iter_mut().enumerate() {
        *t = v as f32 / 127.0;
    }
    curved.velocity_curve = Some(Arc::new(table));
    let got = level(curved, 64, &[]) / full;
    assert!((got - 64.0 / 127.0).abs() < 0.01, "linear velocity curve at 64: {got}");

    // A controller crossfade (fade in over CC 21 = 0..127, linear gain) at three values.
    let mut faded = sine440();
    faded.crossfades.push(Crossfade {
        source: ModSource::Controller(21),
        low: 0,
        high: 127,
        fade_in: true,
        power: false,
    });
    for value in [0u8, 64, 127] {
        let got = level(faded.clone(), 127, &[cc(0, 0, 21, value)]) / full;
        assert!((got - value as f32 / 127.0).abs() < 0.01, "crossfade at CC21 {value}: {got}");
    }
    // Controller ranges (locc/hicc): the region sounds only inside its range.
    let mut gated = sine440();
    gated.controller_ranges.push((22, NoteRange { low: 64, high: 127 }));
    assert_eq!(level(gated.clone(), 127, &[cc(0, 0, 22, 10)]), 0.0);
    assert!((level(gated, 127, &[cc(0, 0, 22, 100)]) / full - 1.0).abs() < 1e-3);
}

#[test]
fn a_region_bend_range_replaces_the_channel_range() {
    let mut region = sine440();
    region.bend_cents = Some((1200.0, -700.0));
    let bent = |value: i16| {
        let bend = TimedMidi { frame: 0, message: MidiMessage::PitchBend { channel: 0, value } };
        let out = play(region.clone(), 0.6, &[bend, note_on(0, 0, 69, 127)]);
        let track = cents_track(&out, 0.1, 0.5);
        track.iter().map(|p| p.1).sum::<f32>() / track.len() as f32
    };
    assert!((bent(8191) - 1200.0).abs() < 1.0, "full up: {}", bent(8191));
    assert!((bent(-8192) + 700.0).abs() < 1.0, "full down: {}", bent(-8192));
}

/// A SoundFont with a looped 440 Hz sine whose zone adds `generators` and `modulators`.
fn sf2_sine(generators: Vec<(u16, u16)>, modulators: Vec<(u16, u16, i16, u16, u16)>) -> Bank {
    let mut b = Sf2Builder::new();
    let sine = b.sample(SampleDef::mono("A440", sine_points(440.0, 48_000, 1.0, 0.5), 48_000, 69));
    let mut gens = vec![gen(54, 1)]; // sampleModes: loop
    gens.extend(generators);
    let inst = b.instrument("Sine", vec![ZoneDef::to(sine, gens).with_modulators(modulators)]);
    b.preset("Sine", 0, 0, vec![ZoneDef::to(inst, vec![])]);
    let mut store = noderack_presets::sample::SampleStore::default();
    let bank = noderack_presets::sf2::read_bank(&b.build(), "test.sf2", &mut store).expect("the SoundFont loads");
    bank.bank
}

/// Vibrato depth (half the peak-to-peak cents) of a held A4 with CC1 and channel pressure set.
fn sf2_vibrato_depth(bank: &Bank, mod_wheel: u8, pressure: u8) -> f32 {
    let press = TimedMidi { frame: 0, message: MidiMessage::ChannelPressure { channel: 0, pressure } };
    let out = render(bank, 256, 1.4, &[cc(0, 0, 1, mod_wheel), press, note_on(0, 0, 69, 127)]);
    let (lo, hi) = extremes(&cents_track(&out, 0.2, 1.3));
    (hi - lo) / 2.0
}

/// `freqVibLFO` for 5 Hz, in absolute cents.
fn five_hz_cents() -> i16 {
    (1200.0 * (5.0f64 / 8.175_799).log2()).round() as i16
}

#[test]
fn sf2_mod_wheel_and_pressure_raise_vibrato_depth_by_the_default_modulators() {
    let bank = sf2_sine(vec![gen(24, five_hz_cents())], vec![]);
    assert!(sf2_vibrato_depth(&bank, 0, 0) < 0.5);
    let wheel = sf2_vibrato_depth(&bank, 127, 0);
    assert!((wheel - 50.0).abs() < 3.0, "CC1 127 gives ±50 cents (SF2 8.4.4): {wheel}");
    let half = sf2_vibrato_depth(&bank, 64, 0);
    assert!((half - 50.0 * 64.0 / 127.0).abs() < 2.0, "CC1 64: {half}");
    let pressed = sf2_vibrato_depth(&bank, 0, 127);
    assert!((pressed - 50.0).abs() < 3.0, "pressure 127 gives ±50 cents (SF2 8.4.3): {pressed}");
    // The vibrato runs at freqVibLFO.
    let out = render(&bank, 256, 1.4, &[cc(0, 0, 1, 127), note_on(0, 0, 69, 127)]);
    let period = period_seconds(&cents_track(&out, 0.2, 1.3));
    assert!((period - 0.2).abs() < 0.005, "vibrato period {period}");
}

#[test]
fn sf2_file_modulators_replace_the_default_and_vib_lfo_to_pitch_adds_a_fixed_depth() {
    // An instrument modulator with the mod wheel default's identity and 100 cents replaces it.
    let bank = sf2_sine(vec![gen(24, five_hz_cents())], vec![(0x0081, 6, 100, 0, 0)]);
    let depth = sf2_vibrato_depth(&bank, 127, 0);
    assert!((depth - 100.0).abs() < 4.0, "replaced mod wheel depth {depth}");
    // vibLfoToPitch sets a depth without any controller.
    let fixed = sf2_sine(vec![gen(24, five_hz_cents()), gen(6, 30)], vec![]);
    let depth = sf2_vibrato_depth(&fixed, 0, 0);
    assert!((depth - 30.0).abs() < 2.0, "vibLfoToPitch 30: {depth}");
}

#[test]
fn sf2_modulation_envelope_bends_the_pitch_as_the_spec_shapes_it() {
    // modEnvToPitch +1200 cents; attack 2^(−1200/1200) = 0.5 s, decay 1 s full scale, sustain 50 %.
    let bank = sf2_sine(vec![gen(7, 1200), gen(26, -1200), gen(28, 0), gen(29, 500)], vec![]);
    let out = render(&bank, 256, 1.6, &[note_on(0, 0, 69, 127)]);
    let track = frequency_track(&out, SR);
    let at = |t: f32| track.iter().find(|p| p.0 >= t).map(|p| cents(p.1, 440.0)).unwrap();
    // Linear attack: half way at 0.25 s, the octave at 0.5 s; linear decay to 50 % by 1.0 s.
    assert!((at(0.25) - 600.0).abs() < 15.0, "0.25 s: {}", at(0.25));
    assert!((at(0.5) - 1200.0).abs() < 15.0, "0.5 s: {}", at(0.5));
    assert!((at(0.75) - 900.0).abs() < 15.0, "0.75 s: {}", at(0.75));
    assert!((at(1.3) - 600.0).abs() < 15.0, "sustain: {}", at(1.3));
}

/// A bank whose regions use every kind of modulation, for invariance and allocation tests.
fn modulated_bank() -> Bank {
    let mut vib = sine440();
    vib.keys = NoteRange { low: 0, high: 63 };
    vib.modulation.lfos.push(lfo(5.5, LfoWaveform::Sine));
    vib.modulation.lfos.push(Lfo { delay_seconds: 0.05, fade_seconds: 0.1, ..lfo(3.0, LfoWaveform::SawUp) });
    vib.modulation.routes.push(
        ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 60.0, ModTarget::PitchCents)
            .scaled_by(ModInput::linear(ModSource::Controller(1))),
    );
    // Both LFO routes follow CC1, which the test stream keeps at 0 half the time: the voices
    // go quiet (rendered without ticks) and wake up again.
    vib.modulation.routes.push(
        ModRoute::new(ModInput::linear(ModSource::Lfo(1)), 3.0, ModTarget::VolumeDb)
            .scaled_by(ModInput::linear(ModSource::Controller(1))),
    );
    vib.modulation.routes.push(ModRoute::new(ModInput::linear(ModSource::ChannelPressure), 0.5, ModTarget::Pan));
    let mut swept = buzz110();
    swept.keys = NoteRange { low: 64, high: 127 };
    swept.filter = Some(RegionFilter {
        kind: FilterKind::LowPass,
        cutoff_hz: 400.0,
        resonance_db: 6.0,
        keytrack_cents: 0.0,
        velocity_track_cents: 0.0,
    });
    swept.modulation.envelopes.push(Envelope {
        attack_seconds: 0.05,
        decay_seconds: 0.2,
        sustain_level: 0.3,
        ..Envelope::SAMPLE
    });
    swept.modulation.lfos.push(lfo(7.0, LfoWaveform::Pulse { duty_thousandths: 250 }));
    swept.modulation.routes.push(ModRoute::new(
        ModInput::linear(ModSource::Envelope(0)),
        3600.0,
        ModTarget::CutoffCents,
    ));
    swept.modulation.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 300.0, ModTarget::CutoffCents));
    swept.modulation.routes.push(ModRoute::new(
        ModInput::linear(ModSource::Controller(74)).bipolar(),
        1200.0,
        ModTarget::CutoffCents,
    ));
    swept.crossfades.push(Crossfade {
        source: ModSource::Controller(11),
        low: 0,
        high: 127,
        fade_in: true,
        power: true,
    });
    Bank::single(instrument_of(vec![vib, swept]))
}

fn busy_midi(seconds: f32) -> Vec<TimedMidi> {
    let frames = (seconds * SR) as u64;
    let mut midi = dense_stream(frames, 60, 1, 7);
    for n in 0..(frames / 1_000) {
        let wheel = if n % 2 == 0 { 0 } else { (n * 37 % 127 + 1) as u8 };
        midi.push(cc(n * 1_000 + 13, 0, 1, wheel));
        midi.push(cc(n * 1_000 + 501, 0, 74, (n * 53 % 128) as u8));
        midi.push(cc(n * 1_000 + 777, 0, 11, (n * 29 % 128) as u8));
        let pressure = (n * 17 % 128) as u8;
        midi.push(TimedMidi { frame: n * 1_000 + 251, message: MidiMessage::ChannelPressure { channel: 0, pressure } });
    }
    sorted(midi)
}

#[test]
fn modulated_voices_render_the_same_at_any_block_size() {
    let bank = modulated_bank();
    let midi = busy_midi(1.0);
    let reference = render(&bank, 256, 1.0, &midi);
    assert!(rms(&reference) > 0.01, "the stream plays");
    for block in [1, 31, 64, 1000] {
        let out = render(&bank, block, 1.0, &midi);
        let first = reference.iter().zip(&out).position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(first, None, "block {block}: first difference at frame {first:?}");
    }
}

#[test]
fn modulated_voices_do_not_allocate_on_the_audio_path() {
    let mut rig = Rig::new(EngineConfig::stereo(SR), 256);
    rig.add_instrument(Sampler::new(Some(Arc::new(modulated_bank())), 64), vec![]);
    let midi = busy_midi(2.0);
    let before = violation_count();
    let mut out = [vec![0.0f32; 256], vec![0.0f32; 256]];
    let mut cursor = 0;
    let mut energy = 0.0f32;
    for block in 0..(2.0 * SR / 256.0) as u64 {
        let start = block * 256;
        let first = cursor;
        while cursor < midi.len() && midi[cursor].frame < start + 256 {
            cursor += 1;
        }
        let events: Vec<noderack_graph::Event> = midi[first..cursor]
            .iter()
            .map(|m| noderack_graph::Event::midi((m.frame - start) as u32, m.message))
            .collect();
        let [l, r] = &mut out;
        let mut outs: [&mut [f32]; 2] = [l, r];
        let executor = rig.renderer().executor();
        assert_no_alloc(|| executor.process(HostBlock::new(256, &mut outs).with_midi(&events)));
        energy += out[0].iter().map(|s| s * s).sum::<f32>();
    }
    assert!(energy > 1.0, "the stream sounded");
    assert_eq!(violation_count(), before, "allocations on the audio path");
}
