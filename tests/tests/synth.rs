//! The `synth` node end to end through the real executor: pitch of every waveform, sample-exact
//! note timing, envelope release, block-size invariance, velocity, pitch bend, sustain pedal,
//! channel mode messages, per-note expression, voice stealing, band-limiting, modulation
//! (vibrato rate and depth from the cycle-by-cycle frequency, tremolo depth in dB, a filter
//! sweep in the spectral centroid, the mod wheel and pressure vibratos), the General MIDI
//! channel mix (CC7, CC11, CC10) and the no-allocation contract — all asserted on the rendered
//! audio.

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{Event, EventData, ExpressionKind, HostBlock, MidiMessage, NodeId, NoteExpression, ParamId};
use noderack_host::TimedMidi;
use noderack_nodes::dsp::channel_mix::controller_gain;
use noderack_nodes::synth::{self, Synth};
use noderack_tests::analysis::{
    band_energy, cents, cents_track, inharmonic_energy_db, last_above, max_step, peak, peak_frequency_hz, rms,
    spectral_centroid_hz, track_extremes, track_period_seconds, track_swing,
};
use noderack_tests::midi::{cc, dense_stream, note_off, note_on, sorted};
use noderack_tests::Rig;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f32 = 48_000.0;
const MIDI_NODE: u64 = noderack_tests::rig::KEYS;
const SYNTH_NODE: u64 = noderack_tests::rig::INSTRUMENT;

const SAW: f32 = 0.0;
const SQUARE: f32 = 1.0;
const TRIANGLE: f32 = 2.0;
const SINE: f32 = 3.0;

/// LFO waveforms (`lfo1_waveform`, `lfo2_waveform`).
const LFO_TRIANGLE: f32 = 0.0;
const LFO_SINE: f32 = 1.0;
const LFO_SQUARE: f32 = 2.0;

/// The gain of a channel nobody sent CC7 to: General MIDI's default volume 100, (100/127)².
fn default_channel_gain() -> f32 {
    controller_gain(synth::DEFAULT_VOLUME)
}

/// midi-in → synth → main bus, with `params` set at creation, rendering host blocks of
/// `block_frames`.
fn synth_rig(block_frames: usize, voices: usize, params: &[(ParamId, f32)]) -> Rig {
    let mut rig = Rig::stereo(block_frames);
    rig.add_instrument(Synth::new(voices), params.to_vec());
    rig
}

/// A plain patch: no filter movement, no resonance, full sustain, so levels are steady.
fn steady(waveform: f32) -> Vec<(ParamId, f32)> {
    vec![
        (synth::WAVEFORM, waveform),
        (synth::SUSTAIN_LEVEL, 1.0),
        (synth::CUTOFF_HZ, 20_000.0),
        (synth::RESONANCE, 0.0),
        (synth::FILTER_ENV_OCTAVES, 0.0),
    ]
}

fn with(mut params: Vec<(ParamId, f32)>, extra: &[(ParamId, f32)]) -> Vec<(ParamId, f32)> {
    params.extend_from_slice(extra);
    params
}

/// Renders `frames` of `midi` and returns the left channel (after checking right == left, as
/// nothing is panned).
fn render_mono(rig: &mut Rig, frames: u64, midi: &[TimedMidi]) -> Vec<f32> {
    let mut out = rig.render(frames, midi);
    assert_eq!(out[0], out[1], "unpanned notes are identical on both channels");
    out.swap_remove(0)
}

fn key_hz(key: f32) -> f32 {
    440.0 * 2f32.powf((key - 69.0) / 12.0)
}

fn bend(frame: u64, channel: u8, value: i16) -> TimedMidi {
    TimedMidi { frame, message: MidiMessage::PitchBend { channel, value } }
}

#[test]
fn every_waveform_plays_in_tune_at_several_notes() {
    let mut worst = 0.0f32;
    for waveform in [SAW, SQUARE, TRIANGLE, SINE] {
        for key in [45u8, 69, 84] {
            // Default filter settings: the envelope sweeps the cutoff, the pitch must not care.
            let mut rig = synth_rig(256, 4, &[(synth::WAVEFORM, waveform)]);
            let out = render_mono(&mut rig, 48_000, &[note_on(0, 0, key, 100)]);
            let measured = peak_frequency_hz(&out[9600..], SR);
            let error = cents(measured, key_hz(key as f32));
            assert!(error.abs() < 2.0, "waveform {waveform} key {key}: {measured} Hz is {error} cents off");
            worst = worst.max(error.abs());
        }
    }
    eprintln!("worst pitch error over 4 waveforms × 3 keys: {worst:.3} cents");
}

#[test]
fn note_starts_and_stops_exactly_at_its_frame_for_any_block_size() {
    for block in [1usize, 64, 100, 512] {
        let mut rig = synth_rig(block, 4, &[]);
        let out = render_mono(&mut rig, 4000, &[note_on(1000, 0, 60, 100)]);
        assert!(out[..1000].iter().all(|s| *s == 0.0), "block {block}: silent before the note");
        assert_ne!(out[1000], 0.0, "block {block}: the note sounds at its very first frame");
    }

    // The same note scheduled later is the same audio shifted, sample for sample.
    let mut early = synth_rig(64, 4, &[]);
    let mut late = synth_rig(64, 4, &[]);
    let a = render_mono(&mut early, 30_000, &[note_on(1000, 0, 60, 100), note_off(9000, 0, 60)]);
    let b = render_mono(&mut late, 30_777, &[note_on(1777, 0, 60, 100), note_off(9777, 0, 60)]);
    assert_eq!(a[1000..], b[1777..]);

    // A note-off changes the audio exactly at its frame and not before.
    let mut held = synth_rig(64, 4, &[]);
    let mut released = synth_rig(64, 4, &[]);
    let h = render_mono(&mut held, 8000, &[note_on(100, 0, 60, 100)]);
    let r = render_mono(&mut released, 8000, &[note_on(100, 0, 60, 100), note_off(5000, 0, 60)]);
    assert_eq!(h[..5000], r[..5000]);
    assert_ne!(h[5000], r[5000]);
}

#[test]
fn release_lasts_release_seconds_then_is_exactly_silent() {
    let release_seconds = 0.3;
    let mut rig = synth_rig(
        128,
        4,
        &with(steady(SINE), &[(synth::ATTACK_SECONDS, 0.002), (synth::RELEASE_SECONDS, release_seconds)]),
    );
    let off = 24_000usize;
    let out = render_mono(&mut rig, 48_000, &[note_on(0, 0, 69, 127), note_off(off as u64, 0, 69)]);
    let sustained = rms(&out[off - 4800..off]);
    let expected = synth::VOICE_LEVEL * default_channel_gain() / 2f32.sqrt();
    assert!((sustained - expected).abs() < 0.01 * expected, "sustain rms {sustained}, expected {expected}");
    let last = last_above(&out, 0.0).expect("the note sounded");
    let tail_seconds = (last - off) as f32 / SR;
    assert!(
        (tail_seconds - release_seconds).abs() < 0.01 * release_seconds,
        "release tail {tail_seconds} s for release_seconds {release_seconds}"
    );
    // Half way through the release the note is still clearly audible (-30 dB-ish, exponential).
    let mid = off + (release_seconds * SR / 2.0) as usize;
    let mid_rms = rms(&out[mid - 480..mid + 480]);
    assert!(mid_rms > sustained * 0.01 && mid_rms < sustained * 0.1, "mid-release rms {mid_rms}");
}

#[test]
fn output_is_bit_identical_for_any_host_block_size() {
    let frames = 96_000u64;
    // Few voices for many overlapping notes on four channels: stealing, pedal and bends.
    let midi = sorted({
        let mut m = dense_stream(frames, 400, 4, 11);
        m.push(cc(60_000, 2, 120, 0));
        m.push(cc(70_000, 1, 123, 0));
        m
    });
    let render = |block: usize| {
        let mut rig = synth_rig(block, 8, &[]);
        let engine = rig.engine();
        let s = NodeId(SYNTH_NODE);
        // Sample-accurate automation of smoothed and stepped parameters alike.
        engine.set_param(s, synth::CUTOFF_HZ, 700.0, Some(20_011)).unwrap();
        engine.set_param(s, synth::RESONANCE, 0.8, Some(25_003)).unwrap();
        engine.set_param(s, synth::WAVEFORM, SQUARE, Some(40_000)).unwrap();
        engine.set_param(s, synth::SUSTAIN_LEVEL, 0.3, Some(45_123)).unwrap();
        engine.set_param(s, synth::TUNE_CENTS, 30.0, Some(50_321)).unwrap();
        engine.set_param(s, synth::GAIN_DB, -6.0, Some(80_017)).unwrap();
        for (i, kind) in
            [ExpressionKind::TuningSemitones, ExpressionKind::Volume, ExpressionKind::Pan].iter().enumerate()
        {
            for channel in 0..4u8 {
                for key in (36..96u8).step_by(3) {
                    let data = EventData::Expression(NoteExpression {
                        channel,
                        key,
                        kind: *kind,
                        value: 0.5 - i as f32 * 0.3,
                    });
                    let at = 10_000 + (i as u64) * 20_000 + key as u64 * 97 + channel as u64;
                    engine.send_event(NodeId(MIDI_NODE), data, Some(at)).unwrap();
                }
            }
        }
        rig.render(frames, &midi)
    };
    let reference = render(512);
    assert!(rms(&reference[0]) > 0.01, "the stream actually played");
    assert_ne!(reference[0], reference[1], "pan expressions made the channels differ");
    for block in [1usize, 17, 64, 4096] {
        let out = render(block);
        assert_eq!(out[0], reference[0], "left channel differs at host block size {block}");
        assert_eq!(out[1], reference[1], "right channel differs at host block size {block}");
    }
}

#[test]
fn velocity_scales_level_along_the_sensitivity_curve() {
    let level = |sensitivity: f32, velocity: u8| {
        let mut rig = synth_rig(256, 4, &with(steady(SINE), &[(synth::VELOCITY_SENSITIVITY, sensitivity)]));
        let out = render_mono(&mut rig, 24_000, &[note_on(0, 0, 69, velocity)]);
        rms(&out[4800..])
    };
    for sensitivity in [1.0f32, 0.5, 0.0] {
        let full = level(sensitivity, 127);
        for velocity in [64u8, 20] {
            let expected = (velocity as f32 / 127.0).powf(2.0 * sensitivity);
            let ratio = level(sensitivity, velocity) / full;
            assert!(
                (ratio / expected - 1.0).abs() < 0.005,
                "sensitivity {sensitivity}, velocity {velocity}: ratio {ratio}, expected {expected}"
            );
        }
    }
    // Full velocity, full envelope, full channel volume (CC7 127): one voice peaks at
    // VOICE_LEVEL; at the General MIDI default volume (100) 4.2 dB lower.
    let mut rig = synth_rig(256, 4, &steady(SINE));
    let out = render_mono(&mut rig, 24_000, &[cc(0, 0, 7, 127), note_on(0, 0, 69, 127)]);
    assert!((peak(&out) - synth::VOICE_LEVEL).abs() < 0.005, "peak {}", peak(&out));
    let mut rig = synth_rig(256, 4, &steady(SINE));
    let out = render_mono(&mut rig, 24_000, &[note_on(0, 0, 69, 127)]);
    let expected = synth::VOICE_LEVEL * default_channel_gain();
    assert!((peak(&out) - expected).abs() < 0.005, "peak {} at default volume, expected {expected}", peak(&out));
}

#[test]
fn pitch_bend_moves_the_pitch_by_the_bend_range() {
    // Full downward bend with the default range of 2 semitones, set before the note.
    let mut rig = synth_rig(128, 4, &[]);
    let out = render_mono(&mut rig, 48_000, &[bend(0, 0, -8192), note_on(0, 0, 69, 100)]);
    let error = cents(peak_frequency_hz(&out[4800..], SR), key_hz(67.0));
    assert!(error.abs() < 2.0, "bent down 2 semitones: {error} cents off");

    // Half deflection with a 12 semitone range while the note sounds; other channels are not
    // affected.
    let mut rig = synth_rig(128, 4, &[(synth::BEND_RANGE_SEMITONES, 12.0)]);
    let midi = [note_on(0, 0, 69, 100), bend(24_000, 1, 4096), bend(48_000, 0, 4096)];
    let out = render_mono(&mut rig, 96_000, &midi);
    for (range, key) in [(4800..48_000, 69.0), (52_800..96_000, 75.0)] {
        let error = cents(peak_frequency_hz(&out[range.clone()], SR), key_hz(key));
        assert!(error.abs() < 2.0, "frames {range:?}: {error} cents from key {key}");
    }
}

#[test]
fn sustain_pedal_holds_released_notes_until_pedal_up() {
    let params = with(steady(SAW), &[(synth::RELEASE_SECONDS, 0.1)]);
    let release_frames = (0.1 * SR) as usize;
    let midi = [cc(0, 0, 64, 127), note_on(100, 0, 60, 100), note_off(12_000, 0, 60), cc(48_000, 0, 64, 0)];
    let mut rig = synth_rig(128, 4, &params);
    let out = render_mono(&mut rig, 72_000, &midi);
    let before = rms(&out[6000..12_000]);
    let held = rms(&out[30_000..48_000]);
    assert!((held / before - 1.0).abs() < 0.01, "held at {held} vs {before} before the note-off");
    let last = last_above(&out, 0.0).unwrap();
    assert!((last as i64 - (48_000 + release_frames) as i64).abs() < 50, "released at pedal up: last {last}");

    // Without the pedal the same note ends a release time after its note-off; a pedal on
    // another channel does not hold it.
    let mut rig = synth_rig(128, 4, &params);
    let out = render_mono(&mut rig, 72_000, &[cc(0, 1, 64, 127), midi[1], midi[2]]);
    let last = last_above(&out, 0.0).unwrap();
    assert!((last as i64 - (12_000 + release_frames) as i64).abs() < 50, "no pedal: last {last}");
}

#[test]
fn all_notes_off_releases_and_all_sound_off_silences_within_milliseconds() {
    let params = with(steady(SINE), &[(synth::RELEASE_SECONDS, 2.0)]);
    let notes = [note_on(0, 5, 60, 100), note_on(0, 5, 64, 100), note_on(0, 5, 67, 100)];

    let mut rig = synth_rig(128, 8, &params);
    let mut midi = notes.to_vec();
    midi.push(cc(24_000, 5, 120, 0));
    let out = render_mono(&mut rig, 48_000, &midi);
    let fade = (synth::KILL_FADE_SECONDS * SR) as usize;
    assert!(peak(&out[24_000 - 1000..24_000]) > 0.2, "sounding before");
    assert!(out[24_000 + fade + 1..].iter().all(|s| *s == 0.0), "silent {fade} frames after CC120");
    // No click: no step larger than the chord's own steepest slope plus the fade's.
    let slope_bound = 3.0 * 0.25 * std::f32::consts::TAU * key_hz(67.0) / SR + 0.75 / fade as f32;
    assert!(max_step(&out) < slope_bound, "step {} > {slope_bound}", max_step(&out));

    let mut rig = synth_rig(128, 8, &with(params.clone(), &[(synth::RELEASE_SECONDS, 0.05)]));
    let mut midi = notes.to_vec();
    midi.push(cc(24_000, 5, 123, 0));
    let out = render_mono(&mut rig, 48_000, &midi);
    let last = last_above(&out, 0.0).unwrap();
    assert!((last as i64 - (24_000 + 2400) as i64).abs() < 30, "CC123 released the notes: last {last}");
}

#[test]
fn per_note_expression_retunes_and_scales_only_its_note() {
    let mut rig = synth_rig(128, 4, &steady(SINE));
    let expression = |kind, value| EventData::Expression(NoteExpression { channel: 0, key: 69, kind, value });
    rig.engine().send_event(NodeId(MIDI_NODE), expression(ExpressionKind::TuningSemitones, 1.0), Some(24_000)).unwrap();
    rig.engine().send_event(NodeId(MIDI_NODE), expression(ExpressionKind::Volume, 0.5), Some(48_000)).unwrap();
    let out = render_mono(&mut rig, 72_000, &[note_on(0, 0, 69, 127)]);
    let before = cents(peak_frequency_hz(&out[4800..24_000], SR), key_hz(69.0));
    let after = cents(peak_frequency_hz(&out[24_000..48_000], SR), key_hz(70.0));
    assert!(before.abs() < 2.0 && after.abs() < 2.0, "tuning: {before} / {after} cents");
    let ratio = rms(&out[50_400..72_000]) / rms(&out[28_800..48_000]);
    assert!((ratio - 0.5).abs() < 0.005, "volume 0.5 gave ratio {ratio}");
    // The volume change glides (no click).
    let slope = 0.25 * std::f32::consts::TAU * key_hz(70.0) / SR;
    assert!(max_step(&out[47_000..50_000]) <= slope * 1.05, "step {}", max_step(&out[47_000..50_000]));

    // An expression for another key changes nothing.
    let mut a = synth_rig(128, 4, &steady(SINE));
    let other = EventData::Expression(NoteExpression {
        channel: 0,
        key: 70,
        kind: ExpressionKind::TuningSemitones,
        value: 3.0,
    });
    a.engine().send_event(NodeId(MIDI_NODE), other, Some(1000)).unwrap();
    let mut b = synth_rig(128, 4, &steady(SINE));
    assert_eq!(
        render_mono(&mut a, 9600, &[note_on(0, 0, 69, 127)]),
        render_mono(&mut b, 9600, &[note_on(0, 0, 69, 127)])
    );
}

#[test]
fn voice_stealing_keeps_the_newest_note_and_does_not_click() {
    // Four voices, four held notes, then a fifth: the oldest (A3) is stolen.
    let keys = [57u8, 60, 64, 67];
    let mut midi: Vec<TimedMidi> = keys.iter().enumerate().map(|(i, k)| note_on(i as u64 * 2400, 0, *k, 100)).collect();
    // Stolen a quarter period into A3's cycle, where cutting it short would step the most.
    midi.push(note_on(24_055, 0, 72, 100));
    let mut rig = synth_rig(64, 4, &steady(SINE));
    let out = render_mono(&mut rig, 48_000, &midi);

    let after = &out[28_800..];
    let energy_at = |key: u8| {
        let hz = key_hz(key as f32);
        band_energy(after, SR, hz - 15.0, hz + 15.0)
    };
    let newest = energy_at(72);
    for key in [60, 64, 67] {
        assert!((energy_at(key) / newest - 1.0).abs() < 0.05, "key {key} still sounds as loud as the new note");
    }
    assert!(energy_at(57) < newest * 1e-6, "the stolen note is gone ({} vs {newest})", energy_at(57));

    // No click: no step beyond the sum of the sounding sines' steepest slopes.
    let amplitude = synth::VOICE_LEVEL * (100.0f32 / 127.0).powf(2.0 * 0.8);
    let bound: f32 =
        [57u8, 60, 64, 67, 72].iter().map(|k| std::f32::consts::TAU * key_hz(*k as f32) / SR * amplitude).sum();
    let step = max_step(&out[23_000..26_000]);
    assert!(step < bound, "step {step} at the steal, bound {bound}");
}

#[test]
fn high_saw_aliases_far_less_than_a_naive_saw() {
    let key = 102u8; // F#7, 2960 Hz
    let hz = key_hz(key as f32);
    let mut rig = synth_rig(512, 4, &steady(SAW));
    let out = render_mono(&mut rig, 48_000, &[note_on(0, 0, key, 127)]);
    let synth_db = inharmonic_energy_db(&out[9600..9600 + 32_768], SR, hz, 20.0);
    let mut t = 0.0f32;
    let naive: Vec<f32> = (0..32_768)
        .map(|_| {
            t = (t + hz / SR).fract();
            2.0 * t - 1.0
        })
        .collect();
    let naive_db = inharmonic_energy_db(&naive, SR, hz, 20.0);
    eprintln!("inharmonic energy at {hz:.0} Hz: synth {synth_db:.1} dB, naive saw {naive_db:.1} dB");
    assert!(synth_db < naive_db - 15.0, "synth {synth_db:.1} dB vs naive {naive_db:.1} dB");
}

/// Every modulation route on: the mod envelope and both LFOs to pitch, cutoff and volume.
fn all_modulation() -> Vec<(ParamId, f32)> {
    vec![
        (synth::MOD_ENV_DELAY_SECONDS, 0.01),
        (synth::MOD_ENV_ATTACK_SECONDS, 0.05),
        (synth::MOD_ENV_HOLD_SECONDS, 0.02),
        (synth::MOD_ENV_DECAY_SECONDS, 0.2),
        (synth::MOD_ENV_SUSTAIN_LEVEL, 0.4),
        (synth::MOD_ENV_RELEASE_SECONDS, 0.3),
        (synth::MOD_ENV_TO_PITCH_CENTS, 300.0),
        (synth::MOD_ENV_TO_CUTOFF_OCTAVES, 3.0),
        (synth::MOD_ENV_TO_VOLUME_DB, -6.0),
        (synth::LFO1_RATE_HZ, 5.5),
        (synth::LFO1_WAVEFORM, LFO_SINE),
        (synth::LFO1_DELAY_SECONDS, 0.05),
        (synth::LFO1_FADE_SECONDS, 0.1),
        (synth::LFO1_TO_PITCH_CENTS, 20.0),
        (synth::LFO1_TO_CUTOFF_OCTAVES, 0.5),
        (synth::LFO1_TO_VOLUME_DB, 2.0),
        (synth::LFO2_RATE_HZ, 3.0),
        (synth::LFO2_WAVEFORM, LFO_SQUARE),
        (synth::LFO2_TO_PITCH_CENTS, 5.0),
        (synth::LFO2_TO_CUTOFF_OCTAVES, -1.0),
        (synth::LFO2_TO_VOLUME_DB, -3.0),
        (synth::PRESSURE_VIBRATO_CENTS, 30.0),
    ]
}

fn pressure(frame: u64, channel: u8, value: u8) -> TimedMidi {
    TimedMidi { frame, message: MidiMessage::ChannelPressure { channel, pressure: value } }
}

#[test]
fn vibrato_moves_the_pitch_at_the_lfo_rate_by_the_set_depth() {
    let params = with(
        steady(SINE),
        &[(synth::LFO1_RATE_HZ, 5.0), (synth::LFO1_WAVEFORM, LFO_SINE), (synth::LFO1_TO_PITCH_CENTS, 50.0)],
    );
    let mut rig = synth_rig(256, 4, &params);
    let out = render_mono(&mut rig, 72_000, &[note_on(0, 0, 69, 127)]);
    let track = cents_track(&out, SR, 440.0, 0.1, 1.4);
    let (lo, hi) = track_extremes(&track);
    eprintln!(
        "vibrato ±50 cents at 5 Hz measured {lo:.2}..{hi:.2} cents, period {:.4} s",
        track_period_seconds(&track)
    );
    assert!((hi - 50.0).abs() < 3.0 && (lo + 50.0).abs() < 3.0, "vibrato spans {lo:.1}..{hi:.1} cents");
    let period = track_period_seconds(&track);
    assert!((period - 0.2).abs() < 0.004, "vibrato period {period} s, not 0.2 s (5 Hz)");

    // LFO 2 does the same, and its delay keeps the pitch still until it has passed.
    let params = with(
        steady(SINE),
        &[(synth::LFO2_RATE_HZ, 8.0), (synth::LFO2_DELAY_SECONDS, 0.5), (synth::LFO2_TO_PITCH_CENTS, -30.0)],
    );
    let mut rig = synth_rig(256, 4, &params);
    let out = render_mono(&mut rig, 72_000, &[note_on(0, 0, 69, 127)]);
    assert!(track_swing(&cents_track(&out, SR, 440.0, 0.02, 0.49)) < 0.5, "still during the delay");
    let after = cents_track(&out, SR, 440.0, 0.6, 1.4);
    assert!((track_swing(&after) - 30.0).abs() < 2.0, "LFO 2 swing {}", track_swing(&after));
    assert!((track_period_seconds(&after) - 0.125).abs() < 0.003, "LFO 2 period {}", track_period_seconds(&after));
}

#[test]
fn tremolo_moves_the_level_by_the_set_depth_in_db() {
    let params = with(
        steady(SINE),
        &[(synth::LFO2_RATE_HZ, 4.0), (synth::LFO2_WAVEFORM, LFO_TRIANGLE), (synth::LFO2_TO_VOLUME_DB, 6.0)],
    );
    let mut rig = synth_rig(256, 4, &params);
    let out = render_mono(&mut rig, 57_600, &[note_on(0, 0, 69, 127)]);
    // Level per 440 Hz cycle (its peak), over whole LFO cycles.
    let cycle = (SR / 440.0) as usize;
    let levels: Vec<f32> = out[4_800..52_800].chunks(cycle).map(peak).collect();
    let (lo, hi) = levels.iter().fold((f32::MAX, 0.0f32), |(lo, hi), &l| (lo.min(l), hi.max(l)));
    let depth_db = 20.0 * (hi / lo).log10();
    eprintln!("tremolo ±6 dB measured {depth_db:.2} dB peak to peak");
    assert!((depth_db - 12.0).abs() < 0.4, "tremolo depth {depth_db:.2} dB, not ±6 dB");
    // The gain moves smoothly: no step beyond the loudest sine's own.
    let amplitude = synth::VOICE_LEVEL * default_channel_gain() * 2.0;
    let bound = amplitude * std::f32::consts::TAU * 440.0 / SR * 1.05;
    assert!(max_step(&out) < bound, "step {} > {bound}", max_step(&out));
}

/// A 110 Hz saw through a 300 Hz low-pass whose cutoff the modulation envelope sweeps up four
/// octaves over 0.25 s and back down over 0.5 s.
fn swept_saw(block: usize) -> Vec<f32> {
    let params = with(
        steady(SAW),
        &[
            (synth::CUTOFF_HZ, 300.0),
            (synth::MOD_ENV_ATTACK_SECONDS, 0.25),
            (synth::MOD_ENV_DECAY_SECONDS, 0.5),
            (synth::MOD_ENV_SUSTAIN_LEVEL, 0.0),
            (synth::MOD_ENV_TO_CUTOFF_OCTAVES, 4.0),
        ],
    );
    let mut rig = synth_rig(block, 4, &params);
    render_mono(&mut rig, 48_000, &[note_on(0, 0, 45, 127)])
}

#[test]
fn the_mod_envelope_sweeps_the_spectral_centroid_up_and_back() {
    let out = swept_saw(256);
    let window = |t: f32| {
        let at = (t * SR) as usize;
        &out[at..at + 4096]
    };
    let centroid = |t: f32| spectral_centroid_hz(window(t), SR);
    // A saw's power falls as 1/k², so its centroid stays near the fundamental even unfiltered
    // (about 290 Hz for 110 Hz through 4.8 kHz); the energy above 1 kHz shows the sweep plainly.
    let above_1k_db = |t: f32| {
        let x = window(t);
        10.0 * (band_energy(x, SR, 1000.0, SR / 2.0) / band_energy(x, SR, 0.0, SR / 2.0)).log10()
    };
    let (start, top, end) = (centroid(0.0), centroid(0.23), centroid(0.85));
    let (start_db, top_db, end_db) = (above_1k_db(0.0), above_1k_db(0.23), above_1k_db(0.85));
    eprintln!(
        "centroid {start:.0} → {top:.0} → {end:.0} Hz; energy above 1 kHz {start_db:.1} → {top_db:.1} → {end_db:.1} dB"
    );
    assert!(top > 1.6 * start && top > 1.6 * end, "centroid {start:.0} → {top:.0} → {end:.0} Hz");
    // (The first window, 0–85 ms, already sees the attack a third of the way up.)
    assert!(top_db > start_db + 12.0 && top_db > end_db + 18.0, "{start_db:.1} → {top_db:.1} → {end_db:.1} dB");
    // At the top the cutoff is 4.8 kHz: the saw's harmonics below it are there, about -13 dB
    // of its energy above 1 kHz (Σ 1/k² from the 10th harmonic on, against π²/6).
    assert!(top_db > -16.0, "energy above 1 kHz at the top of the sweep {top_db:.1} dB");
}

#[test]
fn the_mod_envelope_bends_the_pitch_along_its_segments() {
    // Attack at once, decay over 0.2 s to 0: the note starts an octave up and glides down.
    let params = with(
        steady(SINE),
        &[
            (synth::MOD_ENV_ATTACK_SECONDS, 0.0),
            (synth::MOD_ENV_DECAY_SECONDS, 0.2),
            (synth::MOD_ENV_SUSTAIN_LEVEL, 0.0),
            (synth::MOD_ENV_TO_PITCH_CENTS, 1200.0),
        ],
    );
    let mut rig = synth_rig(128, 4, &params);
    let out = render_mono(&mut rig, 24_000, &[note_on(0, 0, 57, 127)]);
    let track = cents_track(&out, SR, 220.0, 0.0, 0.5);
    let at = |t: f32| track.iter().find(|p| p.0 >= t).expect("a cycle there").1;
    // Linear in cents: half way down at 0.1 s (a cycle is 4.5 ms, so ±15 cents of slope).
    assert!((at(0.1) - 600.0).abs() < 20.0, "at 0.1 s: {} cents", at(0.1));
    assert!(at(0.25).abs() < 1.0, "after the decay: {} cents", at(0.25));
}

#[test]
fn the_mod_wheel_and_pressure_add_vibrato_depth() {
    // Default `mod_wheel_vibrato_cents` (50): CC1 scales LFO 1's vibrato, moved mid-note.
    let params = with(steady(SINE), &[(synth::LFO1_RATE_HZ, 6.0)]);
    let depths: Vec<f32> = [0u8, 64, 127]
        .iter()
        .map(|&value| {
            let mut rig = synth_rig(256, 4, &params);
            let out = render_mono(&mut rig, 67_200, &[note_on(0, 0, 69, 127), cc(24_000, 0, 1, value)]);
            assert!(track_swing(&cents_track(&out, SR, 440.0, 0.05, 0.45)) < 0.5, "no vibrato before CC1 moves");
            track_swing(&cents_track(&out, SR, 440.0, 0.6, 1.35))
        })
        .collect();
    eprintln!("vibrato at CC1 0/64/127: {depths:?} cents");
    for (depth, expected) in depths.iter().zip([0.0, 50.0 * 64.0 / 127.0, 50.0]) {
        assert!((depth - expected).abs() < 2.0, "depths {depths:?}");
    }
    // The wheel adds to LFO 1's own depth; pressure adds `pressure_vibrato_cents`.
    let params = with(params, &[(synth::LFO1_TO_PITCH_CENTS, 10.0), (synth::PRESSURE_VIBRATO_CENTS, 40.0)]);
    let mut rig = synth_rig(256, 4, &params);
    let midi = [cc(0, 0, 1, 127), pressure(0, 0, 127), note_on(0, 0, 69, 127)];
    let depth = track_swing(&cents_track(&render_mono(&mut rig, 48_000, &midi), SR, 440.0, 0.1, 0.95));
    assert!((depth - 100.0).abs() < 3.0, "10 + 50 (wheel) + 40 (pressure) cents: {depth}");
    // A wheel depth of 0 ignores the wheel.
    let mut rig = synth_rig(256, 4, &with(steady(SINE), &[(synth::MOD_WHEEL_VIBRATO_CENTS, 0.0)]));
    let out = render_mono(&mut rig, 24_000, &[cc(0, 0, 1, 127), note_on(0, 0, 69, 127)]);
    assert!(track_swing(&cents_track(&out, SR, 440.0, 0.05, 0.45)) < 0.5);
}

#[test]
fn depth_and_rate_changes_apply_to_sounding_notes() {
    let params = with(steady(SINE), &[(synth::LFO1_RATE_HZ, 5.0), (synth::LFO1_TO_PITCH_CENTS, 20.0)]);
    let mut rig = synth_rig(256, 4, &params);
    let s = NodeId(SYNTH_NODE);
    rig.engine().set_param(s, synth::LFO1_TO_PITCH_CENTS, 60.0, Some(48_000)).unwrap();
    rig.engine().set_param(s, synth::LFO1_RATE_HZ, 8.0, Some(48_000)).unwrap();
    let out = render_mono(&mut rig, 120_000, &[note_on(0, 0, 69, 127)]);
    let before = cents_track(&out, SR, 440.0, 0.1, 0.95);
    let after = cents_track(&out, SR, 440.0, 1.1, 2.45);
    let (b, a) = (track_swing(&before), track_swing(&after));
    assert!((b - 20.0).abs() < 1.5 && (a - 60.0).abs() < 3.0, "depth {b} then {a} cents");
    let (pb, pa) = (track_period_seconds(&before), track_period_seconds(&after));
    assert!((pb - 0.2).abs() < 0.004 && (pa - 0.125).abs() < 0.003, "period {pb} then {pa} s");
}

#[test]
fn channel_volume_and_expression_follow_the_general_midi_law_and_pan_moves_the_channel() {
    let level = |midi: &[TimedMidi]| {
        let mut rig = synth_rig(256, 4, &steady(SINE));
        let midi = sorted([midi, &[note_on(0, 0, 69, 127)][..]].concat());
        let out = rig.render(24_000, &midi);
        (rms(&out[0][4800..]), rms(&out[1][4800..]))
    };
    let db = |x: f32, reference: f32| 20.0 * (x / reference).log10();
    let (full, full_r) = level(&[cc(0, 0, 7, 127)]);
    assert_eq!(full, full_r);
    assert!((full - synth::VOICE_LEVEL / 2f32.sqrt()).abs() < 0.002, "full volume rms {full}");
    for (midi, expected_db) in [
        (vec![], 40.0 * (100.0f32 / 127.0).log10()), // General MIDI's default volume, 100: -4.15 dB
        (vec![cc(0, 0, 7, 64)], -11.91),
        (vec![cc(0, 0, 7, 127), cc(0, 0, 11, 64)], -11.91),
        (vec![cc(0, 0, 7, 64), cc(0, 0, 11, 64)], -23.82),
        (vec![cc(0, 1, 7, 10), cc(0, 0, 7, 127)], 0.0), // another channel's volume
    ] {
        let (l, r) = level(&midi);
        assert!((db(l, full) - expected_db).abs() < 0.02, "{midi:?}: {:.2} dB, not {expected_db:.2}", db(l, full));
        assert_eq!(l, r, "centred");
    }
    // CC7 64 is (64/127)² as a gain.
    let (l, _) = level(&[cc(0, 0, 7, 64)]);
    assert!((l / full - (64.0f32 / 127.0).powi(2)).abs() < 1e-3, "CC7 64: gain {}", l / full);
    // Pan: hard left silences the right side and leaves the left at unity, and back.
    let (l, r) = level(&[cc(0, 0, 7, 127), cc(0, 0, 10, 0)]);
    assert!((l / full - 1.0).abs() < 1e-4 && r < full * 1e-3, "hard left: {l} / {r}");
    let (l, r) = level(&[cc(0, 0, 7, 127), cc(0, 0, 10, 127)]);
    assert!((r / full - 1.0).abs() < 1e-4 && l < full * 1e-3, "hard right: {l} / {r}");
    let (l, r) = level(&[cc(0, 0, 7, 127), cc(0, 0, 10, 96)]);
    assert!(r == full && l < full && l > 0.5 * full, "half right: {l} / {r}");

    // A change while the note sounds glides: no click.
    let mut rig = synth_rig(256, 4, &steady(SINE));
    let out = render_mono(&mut rig, 36_000, &[cc(0, 0, 7, 127), note_on(0, 0, 69, 127), cc(24_000, 0, 7, 0)]);
    let slope = synth::VOICE_LEVEL * std::f32::consts::TAU * 440.0 / SR;
    assert!(max_step(&out[23_000..26_000]) < slope * 1.05, "step {}", max_step(&out[23_000..26_000]));
    assert!(peak(&out[24_000 + 480..]) == 0.0, "CC7 0 is silence");
}

#[test]
fn modulated_output_is_bit_identical_for_any_host_block_size() {
    let frames = 72_000u64;
    let midi = sorted({
        let mut m = dense_stream(frames, 250, 4, 29);
        for (i, frame) in (1_000..frames).step_by(6_007).enumerate() {
            let channel = (i % 4) as u8;
            m.push(cc(frame, channel, 1, (i * 37 % 128) as u8));
            m.push(pressure(frame + 13, channel, (i * 53 % 128) as u8));
            m.push(cc(frame + 29, channel, [7, 10, 11][i % 3], (i * 41 % 128) as u8));
        }
        m.push(cc(50_000, 3, 121, 0));
        m
    });
    let render = |block: usize| {
        let mut rig = synth_rig(block, 8, &all_modulation());
        let s = NodeId(SYNTH_NODE);
        let engine = rig.engine();
        // Depths, rates and envelope times move while notes sound.
        engine.set_param(s, synth::LFO1_RATE_HZ, 9.0, Some(20_011)).unwrap();
        engine.set_param(s, synth::LFO2_TO_VOLUME_DB, 6.0, Some(30_007)).unwrap();
        engine.set_param(s, synth::MOD_ENV_TO_CUTOFF_OCTAVES, -2.0, Some(35_003)).unwrap();
        engine.set_param(s, synth::MOD_ENV_DECAY_SECONDS, 0.05, Some(40_001)).unwrap();
        engine.set_param(s, synth::LFO2_WAVEFORM, 4.0, Some(45_000)).unwrap();
        engine.set_param(s, synth::MOD_WHEEL_VIBRATO_CENTS, 200.0, Some(55_555)).unwrap();
        rig.render(frames, &midi)
    };
    let reference = render(512);
    assert!(rms(&reference[0]) > 0.01, "the stream actually played");
    assert_ne!(reference[0], reference[1], "CC10 made the channels differ");
    for block in [1usize, 17, 64, 4096] {
        let out = render(block);
        assert_eq!(out[0], reference[0], "left channel differs at host block size {block}");
        assert_eq!(out[1], reference[1], "right channel differs at host block size {block}");
    }
    // The filter sweep alone, too.
    assert_eq!(swept_saw(1), swept_saw(333));
}

#[test]
fn process_does_not_allocate() {
    let mut rig = synth_rig(256, 32, &all_modulation());
    rig.render(512, &[]); // the plan is live
    rig.engine().set_param(NodeId(SYNTH_NODE), synth::LFO1_RATE_HZ, 7.0, Some(600)).unwrap();
    let midi = dense_stream(4096, 200, 4, 3);
    let mut events: Vec<Event> = midi.iter().map(|m| Event::midi(m.frame as u32, m.message)).collect();
    for (frame, channel) in [(100u32, 0u8), (900, 1), (2000, 2)] {
        for (controller, value) in [(1, 127), (7, 90), (10, 20), (11, 100)] {
            events.push(Event::midi(frame, MidiMessage::ControlChange { channel, controller, value }));
        }
        events.push(Event::midi(frame + 7, MidiMessage::ChannelPressure { channel, pressure: 80 }));
    }
    events.push(Event::midi(3000, MidiMessage::ControlChange { channel: 1, controller: 121, value: 0 }));
    events.push(Event::midi(4000, MidiMessage::ControlChange { channel: 0, controller: 120, value: 0 }));
    events.sort_by_key(|e| e.time_frames);
    let mut left = vec![0.0f32; 4096];
    let mut right = vec![0.0f32; 4096];
    let executor = rig.renderer().executor();
    let before = violation_count();
    assert_no_alloc(|| {
        let mut outputs: [&mut [f32]; 2] = [&mut left, &mut right];
        executor.process(HostBlock::new(4096, &mut outputs).with_midi(&events));
    });
    assert_eq!(violation_count(), before, "the audio thread allocated");
    assert!(rms(&left) > 0.01);
}
