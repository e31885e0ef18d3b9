//! The bundled demo patch: it loads, plays the bundled song in tune without clipping, renders
//! bit-identically at every block size, and plays a dense General MIDI file (shared test data)
//! cleanly.

use std::path::{Path, PathBuf};

use noderack_graph::{limits::DEFAULT_MAX_BLOCK_FRAMES, new_engine};
use noderack_host::{read_midi_file, MidiSequence, OfflineRenderer};
use noderack_presets::Patch;
use noderack_tests::analysis::{chroma, peak, strongest_classes};
use noderack_tests::{rms, testdata_dir};

const SR: f32 = 48_000.0;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn render(patch: &Patch, midi: &MidiSequence, frames: u64, block: usize) -> (Vec<Vec<f32>>, u64) {
    let (mut engine, executor) = new_engine(patch.engine_config(SR, DEFAULT_MAX_BLOCK_FRAMES));
    engine.apply(patch.edits()).unwrap();
    let status = engine.status().clone();
    let mut r = OfflineRenderer::new(engine, executor, block);
    let out = r.render_to_vec(frames, &midi.events);
    (out, status.dropped_events())
}

fn demo() -> (Patch, MidiSequence) {
    let patch = Patch::load(&repo("presets/demo.json"), &noderack_nodes::registry::Registry).unwrap();
    let midi = read_midi_file(&repo("presets/demo.mid"), SR as f64).unwrap();
    (patch, midi)
}

const C: usize = 0;
const D: usize = 2;
const E: usize = 4;
const F: usize = 5;
const G: usize = 7;
const A: usize = 9;
const B: usize = 11;

#[test]
fn demo_song_plays_its_chords_at_a_healthy_level() {
    let (patch, midi) = demo();
    let bar = (2.4 * SR) as usize; // 100 bpm, 4/4
    let (out, dropped) = render(&patch, &midi, 4 * bar as u64, 256);
    assert_eq!(dropped, 0);
    let mono: Vec<f32> = out[0].iter().zip(&out[1]).map(|(l, r)| 0.5 * (l + r)).collect();
    // Am, F, C, G: in each bar the chord's three pitch classes hold most of the energy
    // between 100 Hz and 1.2 kHz (what is left is overtones of the bass).
    let window = |b: usize| &mono[b * bar + bar / 8..(b + 1) * bar - bar / 16];
    let chords: [(&str, [usize; 3]); 4] =
        [("A minor", [A, C, E]), ("F", [F, A, C]), ("C", [C, E, G]), ("G", [G, B, D])];
    for (b, (name, tones)) in chords.iter().enumerate() {
        let c = chroma(window(b), SR, 100.0, 1200.0);
        let share = tones.iter().map(|&t| c[t]).sum::<f64>() / c.iter().sum::<f64>();
        assert!(share > 0.65, "bar {}: {name} chord tones hold only {:.0}% of the energy", b + 1, share * 100.0);
        let strongest = strongest_classes(&c, 1)[0];
        assert!(tones.contains(&strongest), "bar {}: strongest pitch class {strongest} is not in {name}", b + 1);
    }
    let level = peak(&mono);
    assert!(level > 0.1 && level < 0.9, "peak {level} should be loud but below -1 dBFS");
    assert!(rms(&mono) > 0.02, "rms {}", rms(&mono));
}

#[test]
fn demo_patch_renders_bit_identically_at_any_block_size() {
    let (patch, midi) = demo();
    let frames = (6.0 * SR) as u64;
    let (reference, _) = render(&patch, &midi, frames, 4096);
    for block in [1, 17, 64, 512] {
        let (out, _) = render(&patch, &midi, frames, block);
        assert!(out == reference, "block size {block} changed the output");
    }
    assert!(rms(&reference[0]) > 0.01);
}

#[test]
fn dense_general_midi_file_plays_without_clipping_or_dropouts() {
    let Some(data) = testdata_dir() else { return };
    let (patch, _) = demo();
    let midi = read_midi_file(&data.join("midi/dense60.mid"), SR as f64).unwrap();
    assert!(midi.events.len() > 11_000, "{} events", midi.events.len());
    let frames = midi.end_frame + (2.0 * SR) as u64;
    let (out, dropped) = render(&patch, &midi, frames, 256);
    assert_eq!(dropped, 0, "no events may be dropped");
    for ch in &out {
        assert!(peak(ch) < 1.0, "peak {} clips", peak(ch));
        assert!(peak(ch) > 0.3, "peak {} is too quiet", peak(ch));
    }
    // The piece plays throughout: every 2-second window of its 61.5 s has sound.
    let window = (2.0 * SR) as usize;
    for (i, w) in out[0][..midi.end_frame as usize].chunks(window).enumerate() {
        assert!(rms(w) > 0.005, "window {i} ({} s) is nearly silent: rms {}", i * 2, rms(w));
    }
}

/// The General MIDI demo (`presets/gm.json`: one sampler on the FluidR3 GM SoundFont the setup
/// script installs) plays the demo song's chords too, without clipping. Skips where the
/// SoundFont is not installed (not under CI).
#[test]
fn general_midi_demo_plays_the_song_through_the_soundfont() {
    if noderack_tests::soundfont("FluidR3_GM.sf2").is_none() {
        return;
    }
    let patch = Patch::load(&repo("presets/gm.json"), &noderack_nodes::registry::Registry).unwrap();
    let midi = read_midi_file(&repo("presets/demo.mid"), SR as f64).unwrap();
    let bar = (2.4 * SR) as usize;
    let (out, dropped) = render(&patch, &midi, 4 * bar as u64, 256);
    assert_eq!(dropped, 0);
    assert!(peak(&out[0]) < 1.0 && peak(&out[1]) < 1.0, "no clipping");
    let mono: Vec<f32> = out[0].iter().zip(&out[1]).map(|(l, r)| 0.5 * (l + r)).collect();
    assert!(rms(&mono) > 0.02, "audible: rms {}", rms(&mono));
    // Bar 1 is A minor: its tones hold most of the energy, as with the synth demo.
    let c = chroma(&mono[bar / 8..bar - bar / 16], SR, 100.0, 1200.0);
    let share = [A, C, E].iter().map(|&t| c[t]).sum::<f64>() / c.iter().sum::<f64>();
    assert!(share > 0.5, "A minor tones hold only {:.0}% of the energy", share * 100.0);
}
