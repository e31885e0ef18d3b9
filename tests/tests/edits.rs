//! Edits while playing: atomic batches, undo through inverse batches, precise rejections, and
//! paths an edit does not touch rendering bit-identically to a render without edits.

use noderack_graph::{BusSpec, Edit, EngineConfig, EngineError, GraphError, NodeId, ParamId, PortKind};
use noderack_nodes::{Gain, MidiIn, Output};
use noderack_tests::rig::{add, connect, disconnect};
use noderack_tests::{Rig, TestTone};

fn two_bus_rig(block: usize) -> Rig {
    let config = EngineConfig {
        sample_rate: 48_000.0,
        max_block_frames: 512,
        buses: vec![BusSpec::stereo("main"), BusSpec::stereo("aux")],
        inputs: vec![],
    };
    Rig::new(config, block)
}

/// Path A: tone 1 → gain 2 → out 3 (main). A timed gain change at frame 3000 ramps while edits
/// happen elsewhere.
fn path_a(rig: &mut Rig) {
    rig.apply(vec![
        add(1, "toneA", TestTone::new(330.0, 0.6)),
        add(2, "gainA", Gain::new()),
        add(3, "outA", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
    ]);
    rig.engine().set_param(NodeId(2), noderack_nodes::gain::GAIN_DB, -12.0, Some(3000)).unwrap();
}

#[test]
fn edit_leaves_untouched_path_bit_identical() {
    let mut reference = two_bus_rig(64);
    path_a(&mut reference);
    let expected = reference.render(12_000, &[]);

    let mut rig = two_bus_rig(64);
    path_a(&mut rig);
    let mut got: Vec<Vec<f32>> = vec![Vec::new(); 4];
    let mut take = |rig: &mut Rig, frames: u64| {
        for (g, o) in got.iter_mut().zip(rig.render(frames, &[])) {
            g.extend(o);
        }
    };
    take(&mut rig, 2_000);
    // A second path on the aux bus, built while A plays.
    rig.apply(vec![
        add(10, "toneB", TestTone::new(1000.0, 0.5)),
        add(11, "gainB", Gain::new()),
        add(12, "outB", Output::new("aux", 2)),
        connect(10, 0, 11, 0),
        connect(11, 0, 12, 0),
    ]);
    take(&mut rig, 1_100); // now inside A's gain ramp (3000..3480)
                           // Fan out from A's tone into a new branch, add an unconnected node, retune B.
    rig.apply(vec![add(20, "tap", Gain::new()), connect(1, 0, 20, 0), add(21, "idle", MidiIn::new())]);
    rig.engine().set_param(NodeId(11), ParamId(0), -6.0, None).unwrap();
    take(&mut rig, 300);
    // Tear B down under sound, remove the tap, reconnect things on aux.
    rig.apply(vec![Edit::RemoveNode { id: NodeId(11) }, disconnect(1, 0, 20, 0)]);
    take(&mut rig, 1_000);
    rig.apply(vec![connect(20, 0, 12, 0), connect(10, 0, 20, 0)]);
    take(&mut rig, 7_600);

    assert_eq!(got[0], expected[0], "main left");
    assert_eq!(got[1], expected[1], "main right");
    assert!(noderack_tests::rms(&got[2][2_100..3_000]) > 0.1, "the aux path really played");
}

#[test]
fn failed_batch_changes_nothing() {
    let mut rig = two_bus_rig(128);
    path_a(&mut rig);
    let before = rig.render(1_000, &[]);
    let connections = rig.engine().graph().connections();
    let err = rig
        .engine()
        .apply(vec![
            add(30, "new", Gain::new()),
            disconnect(2, 0, 3, 0),
            connect(1, 0, 30, 0),
            connect(30, 0, 99, 0), // no node 99
        ])
        .unwrap_err();
    assert!(matches!(err, EngineError::Batch(ref b) if b.edit_index == Some(3)), "{err}");
    assert!(err.to_string().contains("edit 3 of the batch failed: no node has id #99"), "{err}");
    assert_eq!(rig.engine().graph().connections(), connections);
    assert!(rig.engine().graph().node(NodeId(30)).is_none());
    let after = rig.render(1_000, &[]);
    // Same path, same tone phase function: the rendered continuation equals a fresh render's.
    let mut fresh = two_bus_rig(128);
    path_a(&mut fresh);
    let expected = fresh.render(2_000, &[]);
    assert_eq!([before[0].clone(), after[0].clone()].concat(), expected[0]);
}

#[test]
fn inverse_batch_undoes_the_edit() {
    let mut rig = two_bus_rig(128);
    path_a(&mut rig);
    let connections = rig.engine().graph().connections();
    let params = rig.engine().graph().node(NodeId(2)).unwrap().params().to_vec();
    let undo = rig.apply(vec![
        Edit::RemoveNode { id: NodeId(2) },
        add(40, "other", Gain::new()),
        connect(1, 0, 40, 0),
        connect(40, 0, 3, 0),
    ]);
    assert!(rig.engine().graph().node(NodeId(2)).is_none());
    let redo = rig.apply(undo);
    assert_eq!(rig.engine().graph().connections(), connections);
    assert_eq!(rig.engine().graph().node(NodeId(2)).unwrap().params(), params.as_slice());
    assert!(rig.engine().graph().node(NodeId(40)).is_none());
    rig.apply(redo);
    assert!(rig.engine().graph().node(NodeId(40)).is_some());
}

#[test]
fn cycles_are_rejected_naming_nodes_and_ports() {
    let mut rig = Rig::stereo(64);
    rig.apply(vec![add(1, "a", Gain::new()), add(2, "b", Gain::new()), add(3, "c", Gain::new())]);
    rig.apply(vec![connect(1, 0, 2, 0), connect(2, 0, 3, 0)]);
    let err = rig.engine().apply(vec![connect(3, 0, 1, 0)]).unwrap_err();
    let EngineError::Batch(b) = &err else { panic!("{err}") };
    assert_eq!(b.edit_index, None);
    let GraphError::Cycle { path } = &b.source else { panic!("{err}") };
    assert!(
        path.contains("a.out -> b.in") && path.contains("b.out -> c.in") && path.contains("c.out -> a.in"),
        "{path}"
    );
    // Self-loops too, and nothing changed.
    let err = rig.engine().apply(vec![connect(2, 0, 2, 0)]).unwrap_err();
    assert!(err.to_string().contains("cycle: b.out -> b.in"), "{err}");
    assert_eq!(rig.engine().graph().connections().len(), 2);
}

#[test]
fn kind_and_channel_mismatches_name_both_ports() {
    let mut rig = Rig::stereo(64);
    rig.apply(vec![add(1, "keys", MidiIn::new()), add(2, "amp", Gain::new()), add(3, "mono", Output::new("main", 1))]);
    let err = rig.engine().apply(vec![connect(1, 0, 2, 0)]).unwrap_err().to_string();
    assert!(
        err.contains("keys.events (events)") && err.contains("amp.in (stereo audio)") && err.contains("kinds differ"),
        "{err}"
    );
    let err = rig.engine().apply(vec![connect(2, 0, 3, 0)]).unwrap_err().to_string();
    assert!(
        err.contains("amp.out (stereo audio)")
            && err.contains("mono.in (mono audio)")
            && err.contains("channel counts"),
        "{err}"
    );
    let err = rig.engine().apply(vec![connect(2, 5, 3, 0)]).unwrap_err().to_string();
    assert!(err.contains("has no output port 5 (its outputs: out)"), "{err}");
    assert_eq!(PortKind::Audio { channels: 6 }.to_string(), "6-channel audio");
}

#[test]
fn parameter_and_event_requests_are_validated() {
    let mut rig = Rig::stereo(64);
    rig.apply(vec![add(1, "keys", MidiIn::new()), add(2, "amp", Gain::new())]);
    let err = rig.engine().set_param(NodeId(2), ParamId(0), 100.0, None).unwrap_err().to_string();
    assert!(err.contains("100 is outside the range -96..=24 of parameter gain_db of 'amp'"), "{err}");
    let err = rig.engine().set_param(NodeId(2), ParamId(7), 0.0, None).unwrap_err().to_string();
    assert!(err.contains("has no parameter 7"), "{err}");
    let note =
        noderack_graph::EventData::Midi(noderack_graph::MidiMessage::NoteOn { channel: 0, key: 60, velocity: 1 });
    let err = rig.engine().send_event(NodeId(2), note, None).unwrap_err().to_string();
    assert!(err.contains("not a MIDI input node"), "{err}");
    rig.engine().send_event(NodeId(1), note, None).unwrap();
    let err = rig.engine().apply(vec![add(1, "again", Gain::new())]).unwrap_err().to_string();
    assert!(err.contains("node #1 already exists ('keys' (midi-in #1))"), "{err}");
}

mod event_connections {
    use noderack_graph::{Edit, NodeId};
    use noderack_nodes::{synth, MidiIn, Synth};
    use noderack_tests::analysis::{band_energy, peak};
    use noderack_tests::midi::{cc, note_off, note_on};
    use noderack_tests::rig::{add, connect, disconnect};
    use noderack_tests::{rms, Rig};

    const SR: f32 = 48_000.0;

    /// keys A (1) and keys B (4) → sine synth (2) → out (3); release 0.1 s.
    fn rig() -> Rig {
        let mut rig = Rig::stereo(128);
        let params = vec![(synth::WAVEFORM, 3.0), (synth::RELEASE_SECONDS, 0.1), (synth::SUSTAIN_LEVEL, 0.8)];
        rig.add_instrument(Synth::new(8), params);
        rig.apply(vec![add(4, "keysB", MidiIn::new())]);
        rig
    }

    fn assert_released(out: &[Vec<f32>], what: &str) {
        let release = (0.1 * SR) as usize;
        assert!(rms(&out[0][..release / 4]) > 0.01, "{what}: the note rings on into its release");
        assert_eq!(peak(&out[0][release + 480..]), 0.0, "{what}: silent after the release");
    }

    #[test]
    fn disconnecting_releases_the_notes_it_was_holding() {
        let mut r = rig();
        r.render(4_800, &[note_on(0, 0, 69, 100)]);
        r.apply(vec![disconnect(1, 0, 2, 0)]);
        assert_released(&r.render(9_600, &[]), "disconnect");
    }

    #[test]
    fn removing_the_source_node_releases_its_notes() {
        let mut r = rig();
        r.render(4_800, &[note_on(0, 0, 69, 100)]);
        r.apply(vec![Edit::RemoveNode { id: NodeId(1) }]);
        assert_released(&r.render(9_600, &[]), "source removed");
    }

    #[test]
    fn a_held_sustain_pedal_is_lifted_too() {
        let mut r = rig();
        r.render(4_800, &[cc(0, 0, 64, 127), note_on(10, 0, 69, 100), note_off(2_000, 0, 69)]);
        let held = r.render(480, &[]);
        assert!(rms(&held[0]) > 0.01, "the pedal holds the note");
        r.apply(vec![disconnect(1, 0, 2, 0)]);
        assert_released(&r.render(9_600, &[]), "pedal");
    }

    #[test]
    fn notes_from_another_connection_keep_sounding() {
        let mut r = rig();
        r.apply(vec![connect(4, 0, 2, 0)]);
        // A holds A4 (440 Hz) from frame 0; B holds E5 (659 Hz) from frame 0.
        r.engine()
            .send_event(NodeId(4), noderack_graph::EventData::Midi(note_on(0, 0, 76, 100).message), None)
            .unwrap();
        r.render(4_800, &[note_on(0, 0, 69, 100)]);
        r.apply(vec![disconnect(1, 0, 2, 0)]);
        let out = r.render(19_200, &[]);
        let late = &out[0][9_600..];
        let a4 = band_energy(late, SR, 430.0, 450.0);
        let e5 = band_energy(late, SR, 650.0, 670.0);
        assert!(e5 > 1e3 * a4.max(1e-12), "E5 from B still sounds ({e5}), A4 from A is released ({a4})");
    }
}

#[test]
fn held_notes_and_release_tails_survive_unrelated_recompiles() {
    use noderack_nodes::Synth;
    use noderack_tests::midi::{note_off, note_on};
    let build = |rig: &mut Rig| {
        rig.add_instrument(Synth::new(8), vec![]);
    };
    let midi = [note_on(100, 0, 57, 110), note_on(300, 0, 64, 90), note_off(6_000, 0, 57), note_off(6_500, 0, 64)];
    let mut reference = two_bus_rig(64);
    build(&mut reference);
    let expected = reference.render(20_000, &midi);

    let mut rig = two_bus_rig(64);
    build(&mut rig);
    let mut got = vec![Vec::new(); 4];
    // Edits while the notes are held (frames ~1000-5000) and while they release (~7000-9000).
    for (until, edit) in [
        (1_000u64, vec![add(10, "tone", TestTone::new(500.0, 0.3)), add(11, "aux", Output::new("aux", 2))]),
        (3_000, vec![connect(10, 0, 11, 0), add(12, "spare", Synth::new(4)), connect(1, 0, 12, 0)]),
        (5_000, vec![Edit::RemoveNode { id: NodeId(12) }]),
        (7_000, vec![disconnect(10, 0, 11, 0), add(13, "g", Gain::new())]),
        (9_000, vec![Edit::RemoveNode { id: NodeId(10) }]),
    ] {
        let done = rig.renderer().position_frames();
        for (g, o) in got.iter_mut().zip(rig.render(until - done, &midi)) {
            g.extend(o);
        }
        rig.apply(edit);
    }
    let done = rig.renderer().position_frames();
    for (g, o) in got.iter_mut().zip(rig.render(20_000 - done, &midi)) {
        g.extend(o);
    }
    assert_eq!(got[0], expected[0]);
    assert_eq!(got[1], expected[1]);
    assert!(noderack_tests::rms(&expected[0][1_000..5_000]) > 0.05, "notes really held");
    assert!(noderack_tests::rms(&expected[0][7_000..9_000]) > 0.001, "tails really decaying");
}

/// Renders a tone (reporting `tail_frames`) into `main`, removes it at frame 4 800, and returns
/// the render with the removal and the same render without it.
fn removal_of_a_tone_with_tail(tail_frames: u32, total_frames: u64) -> (Vec<f32>, Vec<f32>) {
    let render = |remove: bool| {
        let mut rig = two_bus_rig(64);
        rig.apply(vec![
            add(1, "tone", TestTone::new(440.0, 0.5).with_tail(tail_frames)),
            add(3, "out", Output::new("main", 2)),
            connect(1, 0, 3, 0),
        ]);
        let mut left = rig.render(4_800, &[]).swap_remove(0);
        if remove {
            rig.apply(vec![Edit::RemoveNode { id: NodeId(1) }]);
        }
        left.extend(rig.render(total_frames - 4_800, &[]).swap_remove(0));
        if remove {
            rig.engine().maintain();
            assert!(rig.engine().is_settled(), "the removed node is gone once its tail and fade are over");
        }
        left
    };
    (render(true), render(false))
}

#[test]
fn a_removed_node_with_a_tail_is_heard_for_its_tail_then_fades() {
    const FADE: usize = 240; // EDGE_FADE_SECONDS at 48 kHz
    let (got, whole) = removal_of_a_tone_with_tail(2_000, 12_000);
    assert_eq!(got[..6_800], whole[..6_800], "untouched for its 2 000-frame tail");
    for i in 0..FADE {
        let expected = whole[6_800 + i] * (FADE - i) as f32 / FADE as f32;
        assert!((got[6_800 + i] - expected).abs() < 1e-6, "frame {}: {} vs {expected}", 6_800 + i, got[6_800 + i]);
    }
    assert!(got[6_800 + FADE..].iter().all(|s| *s == 0.0), "silent after the fade");

    // Without a tail the fade starts at the removal.
    let (got, whole) = removal_of_a_tone_with_tail(0, 12_000);
    assert_eq!(got[..4_800], whole[..4_800]);
    assert!((got[4_900] - whole[4_900] * 140.0 / 240.0).abs() < 1e-6);
    assert!(got[4_800 + FADE..].iter().all(|s| *s == 0.0));
}

#[test]
fn an_endless_tail_is_cut_at_the_limit() {
    let limit = (noderack_graph::limits::MAX_TAIL_SECONDS * 48_000.0) as usize;
    let (got, whole) = removal_of_a_tone_with_tail(u32::MAX, 4_800 + limit as u64 + 2_000);
    assert_eq!(got[..4_800 + limit], whole[..4_800 + limit], "heard at full level up to the limit");
    assert!(got[4_800 + limit + 240..].iter().all(|s| *s == 0.0), "then faded and gone");
}
