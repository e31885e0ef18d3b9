//! `presets/sends.json`, the send/return pattern of docs/PATCH_FORMAT.md: one reverb and one
//! delay on a mixer's aux sends serve both synths. Measured on the render: a note's reverb tail
//! goes on long after the dry note is over, and only while the reverb send is up; the delay's
//! first echo lands 0.75 beats (at 120 BPM, 18 000 frames) after the note, and nothing sounds
//! between the dry note's end and the echo.

use std::path::Path;

use noderack_graph::limits::DEFAULT_MAX_BLOCK_FRAMES;
use noderack_graph::new_engine;
use noderack_host::OfflineRenderer;
use noderack_presets::Patch;
use noderack_tests::midi::{note_off, note_on};
use noderack_tests::rms;

const SR: f32 = 48_000.0;

/// The patch with its send levels replaced as given (`(from, to)` text substitutions).
fn patch(substitutions: &[(&str, &str)]) -> Patch {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/sends.json");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in substitutions {
        assert!(text.contains(from), "{from} is in the patch");
        text = text.replace(from, to);
    }
    Patch::parse(&text, "sends.json", &noderack_nodes::registry::Registry).unwrap_or_else(|e| panic!("{e}"))
}

/// A 50-ms lead note (C5) at frame 0, rendered for `seconds`; the left channel.
fn render(patch: &Patch, seconds: f32) -> Vec<f32> {
    let (mut engine, executor) = new_engine(patch.engine_config(SR, DEFAULT_MAX_BLOCK_FRAMES));
    engine.apply(patch.edits()).unwrap();
    let mut renderer = OfflineRenderer::new(engine, executor, 256);
    let midi = [note_on(0, 0, 72, 110), note_off(2_400, 0, 72)];
    renderer.render_to_vec((seconds * SR) as u64, &midi).swap_remove(0)
}

#[test]
fn the_reverb_on_the_send_leaves_a_tail_after_the_dry_note() {
    let no_echo = ("\"in2_send2_db\": -10", "\"in2_send2_db\": -96");
    let wet = render(&patch(&[no_echo]), 2.0);
    let dry = render(&patch(&[no_echo, ("\"in2_send1_db\": -6", "\"in2_send1_db\": -96")]), 2.0);
    let late = |x: &[f32]| rms(&x[(0.6 * SR) as usize..(1.0 * SR) as usize]);
    assert!(rms(&dry[..2_400]) > 0.01, "the note plays");
    assert!(late(&dry) < 1e-5, "without the send, silence 0.6 s on: {}", late(&dry));
    assert!(late(&wet) > 100.0 * late(&dry).max(1e-7), "with it, the reverb rings: {}", late(&wet));
}

#[test]
fn the_delay_on_the_send_echoes_at_three_quarters_of_a_beat() {
    let no_reverb = ("\"in2_send1_db\": -6", "\"in2_send1_db\": -96");
    let left = render(&patch(&[no_reverb]), 1.0);
    // The limiter's 64-frame look-ahead delays the dry note and the echo alike.
    let echo = 18_000;
    let quiet = rms(&left[14_000..echo]);
    let heard = rms(&left[echo + 64..echo + 64 + 2_400]);
    assert!(quiet < 1e-5, "between the dry note and the echo: {quiet}");
    assert!(heard > 100.0 * quiet.max(1e-7) && heard > 0.001, "the echo: {heard} against {quiet}");
    let onset = left[echo - 100..].iter().position(|s| s.abs() > 1e-4).map(|i| i + echo - 100);
    assert!(onset.is_some_and(|f| (echo..echo + 200).contains(&f)), "the echo starts at {onset:?}");
}
