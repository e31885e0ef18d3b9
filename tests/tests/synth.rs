//! The `synth` node end to end through the real executor: pitch of every waveform, sample-exact
//! note timing, envelope release, block-size invariance, velocity, pitch bend, sustain pedal,
//! channel mode messages, per-note expression, voice stealing, band-limiting and the
//! no-allocation contract — all asserted on the rendered audio.

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{Event, EventData, ExpressionKind, HostBlock, MidiMessage, NodeId, NoteExpression, ParamId};
use noderack_host::TimedMidi;
use noderack_nodes::synth::{self, Synth};
use noderack_tests::analysis::{
    band_energy, cents, inharmonic_energy_db, last_above, max_step, peak, peak_frequency_hz, rms,
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
    assert!((sustained - synth::VOICE_LEVEL / 2f32.sqrt()).abs() < 0.01, "sustain rms {sustained}");
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
    // Full velocity, full envelope: one voice peaks at VOICE_LEVEL.
    let mut rig = synth_rig(256, 4, &steady(SINE));
    let out = render_mono(&mut rig, 24_000, &[note_on(0, 0, 69, 127)]);
    assert!((peak(&out) - synth::VOICE_LEVEL).abs() < 0.005, "peak {}", peak(&out));
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

#[test]
fn process_does_not_allocate() {
    let mut rig = synth_rig(256, 32, &[]);
    rig.render(512, &[]); // the plan is live
    let midi = dense_stream(4096, 200, 4, 3);
    let mut events: Vec<Event> = midi.iter().map(|m| Event::midi(m.frame as u32, m.message)).collect();
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
