//! Expression in the sampler, measured on the audio: vibrato (rate and depth in cents, from
//! the cycle-by-cycle frequency), tremolo (depth in dB), a filter envelope's sweep (spectral
//! centroid), controller routes, velocity curves and crossfades, per-region bend ranges,
//! SF2 LFOs, modulation envelope and modulators (the mod wheel's default vibrato, file
//! modulators replacing it), block-size invariance and the no-allocation contract.

use std::sync::Arc;

use assert_no_alloc::{violation_count, AllocDisabler};
use noderack_graph::{EngineConfig, MidiMessage};
use noderack_host::TimedMidi;
use noderack_nodes::sampler::Sampler;
use noderack_presets::instrument::{
    Bank, Crossfade, Envelope, EnvelopeControl, EnvelopeStage, Lfo, LfoControl, LfoParam, LfoWaveform, LoopMode,
    ModEnvelopeControl, ModInput, ModRoute, ModSource, ModTarget, NoteRange, Region, RegionFilter, SampleLoop,
};
use noderack_presets::sample::Sample;
use noderack_tests::analysis::{
    cents, cents_track, frequency_track, peak, rms, spectral_centroid_hz, track_extremes, track_period_seconds,
};
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
    let sample = Arc::new(Sample::from_f32(48_000, vec![data], [0; 32]));
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

#[test]
fn vibrato_moves_the_pitch_at_the_lfo_rate_by_the_set_depth() {
    let mut region = sine440();
    region.modulation.lfos.push(lfo(5.0, LfoWaveform::Sine));
    region.modulation.routes.push(ModRoute::new(ModInput::linear(ModSource::Lfo(0)), 50.0, ModTarget::PitchCents));
    let out = play(region, 1.5, &[note_on(0, 0, 69, 127)]);
    let track = cents_track(&out, SR, 440.0, 0.1, 1.4);
    let (lo, hi) = track_extremes(&track);
    assert!((hi - 50.0).abs() < 3.0 && (lo + 50.0).abs() < 3.0, "vibrato spans {lo:.1}..{hi:.1} cents");
    let period = track_period_seconds(&track);
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
    region.filter = Some(RegionFilter::low_pass(300.0, 0.0));
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
            let (lo, hi) = track_extremes(&cents_track(&out, SR, 440.0, 0.6, 1.3));
            let before = track_extremes(&cents_track(&out, SR, 440.0, 0.05, 0.45));
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
        let track = cents_track(&out, SR, 440.0, 0.1, 0.5);
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
    let (lo, hi) = track_extremes(&cents_track(&out, SR, 440.0, 0.2, 1.3));
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
    let period = track_period_seconds(&cents_track(&out, SR, 440.0, 0.2, 1.3));
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
    // The vibrato's rate follows CC74 and the second LFO's phase pressure, at every event.
    vib.modulation.lfo_controls.push(LfoControl {
        lfo: 0,
        param: LfoParam::FrequencyHz,
        input: ModInput::linear(ModSource::Controller(74)),
        amount: 6.0,
    });
    vib.modulation.lfo_controls.push(LfoControl {
        lfo: 1,
        param: LfoParam::PhaseCycles,
        input: ModInput::linear(ModSource::ChannelPressure),
        amount: 0.7,
    });
    // The second LFO's delay and fade follow velocity, at each note's start.
    for param in [LfoParam::DelaySeconds, LfoParam::FadeSeconds] {
        vib.modulation.lfo_controls.push(LfoControl {
            lfo: 1,
            param,
            input: ModInput::linear(ModSource::Velocity),
            amount: -0.05,
        });
    }
    let mut swept = buzz110();
    swept.keys = NoteRange { low: 64, high: 127 };
    swept.filter = Some(RegionFilter::low_pass(400.0, 6.0));
    swept.modulation.envelopes.push(Envelope {
        attack_seconds: 0.05,
        decay_seconds: 0.2,
        sustain_level: 0.3,
        ..Envelope::SAMPLE
    });
    // The sweep's attack and decay follow velocity and CC11, at each note's start.
    for (stage, source, amount) in
        [(EnvelopeStage::Attack, ModSource::Velocity, -0.04), (EnvelopeStage::Decay, ModSource::Controller(11), 0.3)]
    {
        let control = EnvelopeControl { stage, input: ModInput::linear(source), amount };
        swept.modulation.envelope_controls.push(ModEnvelopeControl { envelope: 0, control });
    }
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
    let mut blocks = noderack_tests::midi::MidiBlocks::new(&midi);
    let mut energy = 0.0f32;
    for block in 0..(2.0 * SR / 256.0) as u64 {
        let start = block * 256;
        let events = blocks.events(start, 256);
        rig.process_without_alloc(&events, &mut out);
        energy += out[0].iter().map(|s| s * s).sum::<f32>();
    }
    assert!(energy > 1.0, "the stream sounded");
    assert_eq!(violation_count(), before, "allocations on the audio path");
}

/// A rig of `midi-in → mpe → transpose (+12) → sampler (a sine region on every key) → out`.
fn mpe_rig(block: usize) -> Rig {
    use noderack_nodes::mpe::{Mpe, Zone};
    use noderack_nodes::transpose::{Transpose, SEMITONES};
    use noderack_nodes::{MidiIn, Output};
    use noderack_tests::rig::{add, add_with, connect};
    let mut rig = Rig::new(EngineConfig::stereo(SR), block);
    let bank = Bank::single(instrument_of(vec![sine440()]));
    rig.apply(vec![
        add(1, "keys", MidiIn::new()),
        add(2, "mpe", Mpe::new(Zone::Lower, 15)),
        add_with(3, "up", Transpose::new(), vec![(SEMITONES, 12.0)]),
        add(4, "sampler", Sampler::new(Some(Arc::new(bank)), 16)),
        add(5, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
        connect(3, 0, 4, 0),
        connect(4, 0, 5, 0),
    ]);
    rig
}

/// Energy of `x` within `width` (a fraction) of `hz`, relative to its total, in dB.
fn share_db(x: &[f32], hz: f32, width: f32) -> f64 {
    let band = noderack_tests::analysis::band_energy(x, SR, hz * (1.0 - width), hz * (1.0 + width));
    let total = noderack_tests::analysis::band_energy(x, SR, 20.0, 20_000.0);
    10.0 * (band / total).log10()
}

#[test]
fn an_mpe_notes_bend_moves_only_that_note_through_a_transpose_node() {
    // Two notes on member channels 2 and 3 (0-based 1 and 2): A3 and E4, played an octave up.
    let midi = |bend: i16| {
        vec![
            note_on(0, 1, 57, 127),
            note_on(0, 2, 64, 127),
            TimedMidi { frame: 4_800, message: MidiMessage::PitchBend { channel: 1, value: bend } },
        ]
    };
    // +2 semitones of the member range of 48: 8192·2/48.
    let out = mpe_rig(256).render((0.6 * SR) as u64, &midi(341)).swap_remove(0);
    let after = &out[9_600..28_800];
    let (a_bent, a_plain, e_plain) = (440.0 * (2.0f32 / 12.0).exp2(), 440.0, 440.0 * (7.0f32 / 12.0).exp2());
    assert!(
        share_db(after, a_bent, 0.02) > -4.0,
        "the bent A4 (A3 + 12 + 2) is there: {:.1} dB",
        share_db(after, a_bent, 0.02)
    );
    assert!(share_db(after, a_plain, 0.02) < -40.0, "no unbent A4 left: {:.1} dB", share_db(after, a_plain, 0.02));
    assert!(share_db(after, e_plain, 0.02) > -4.0, "E5 is untouched: {:.1} dB", share_db(after, e_plain, 0.02));
    // Before the bend A4 plays at its key: half the energy (the other half is E5); the band is
    // wider for the short excerpt's wider window lobe.
    let before = &out[0..4_800];
    assert!(share_db(before, 440.0, 0.05) > -4.0, "A4 before the bend: {:.1} dB", share_db(before, 440.0, 0.05));
    // The same at another block size, bit for bit.
    let other = mpe_rig(37).render((0.6 * SR) as u64, &midi(341)).swap_remove(0);
    assert!(out.iter().zip(&other).all(|(a, b)| a.to_bits() == b.to_bits()), "block-size invariance");
}

#[test]
fn mpe_pressure_and_timbre_drive_routes_for_their_note_only() {
    use noderack_graph::{ExpressionKind, NodeId, NoteExpression};
    // A region whose level follows pressure (SF2-style amplitude from pressure) and whose
    // pitch follows CC74: both per note when they come as note expressions.
    let mut region = sine440();
    region.amplitude = 0.0;
    region.modulation.routes.push(ModRoute::new(
        ModInput::linear(ModSource::ChannelPressure),
        1.0,
        ModTarget::Amplitude,
    ));
    let mut rig = Rig::new(EngineConfig::stereo(SR), 256);
    rig.add_instrument(Sampler::new(Some(Arc::new(Bank::single(instrument_of(vec![region])))), 16), vec![]);
    let pressure = |key, value| {
        noderack_graph::EventData::Expression(NoteExpression { channel: 0, key, kind: ExpressionKind::Pressure, value })
    };
    rig.engine().send_event(NodeId(noderack_tests::rig::KEYS), pressure(69, 0.5), Some(2_400)).unwrap();
    rig.engine().send_event(NodeId(noderack_tests::rig::KEYS), pressure(81, 1.0), Some(2_400)).unwrap();
    let midi = [cc(0, 0, 7, 127), note_on(0, 0, 69, 127), note_on(0, 0, 81, 127)];
    let out = rig.render((0.5 * SR) as u64, &midi).swap_remove(0);
    // A4 at half pressure, A5 at full; before any pressure, silence.
    assert_eq!(peak(&out[..2_300]), 0.0);
    let a4 = noderack_tests::analysis::band_energy(&out[4_800..24_000], SR, 430.0, 450.0).sqrt();
    let a5 = noderack_tests::analysis::band_energy(&out[4_800..24_000], SR, 870.0, 890.0).sqrt();
    assert!((a4 / a5 - 0.5).abs() < 0.02, "per-note pressure: A4/A5 = {}", a4 / a5);
}
