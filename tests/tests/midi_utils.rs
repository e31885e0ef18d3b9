//! The MIDI utilities (channel filter, key split, transpose) through the real executor. Their
//! output events drive an event probe, whose DC levels show which notes are held at every
//! frame: left = held note count, right = sum of the held notes' codes (channel and key).

use noderack_graph::{BusSpec, EngineConfig, Event, HostBlock, MidiMessage, NodeDescription, NodeId, ParamId};
use noderack_nodes::channel_filter::{ChannelFilter, CHANNEL, REMAP_TO};
use noderack_nodes::key_split::{KeySplit, HIGH, LOW, SPLIT_KEY};
use noderack_nodes::transpose::{Transpose, SEMITONES};
use noderack_nodes::{MidiIn, Output};
use noderack_tests::event_probe::EventProbe;
use noderack_tests::midi::{cc, note_off, note_on, sorted};
use noderack_tests::rig::{add, add_with, connect};
use noderack_tests::Rig;

#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const SR: f32 = 48_000.0;
/// The node under test.
const NODE: NodeId = NodeId(2);
/// Host block sizes every scenario is rendered with: one frame, less than a chunk, several
/// chunks. Event and parameter timing must not depend on them.
const BLOCKS: [usize; 3] = [1, 64, 4096];

/// midi-in → `node` → probe → main bus.
fn single_output_rig(block: usize, node: impl NodeDescription, params: Vec<(ParamId, f32)>) -> Rig {
    let mut rig = Rig::stereo(block);
    rig.apply(vec![
        add(1, "midi", MidiIn::new()),
        add_with(2, "node", node, params),
        add(3, "probe", EventProbe::new()),
        add(4, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
        connect(3, 0, 4, 0),
    ]);
    rig
}

/// midi-in → key split; `low` → probe → bus `low` (channels 0, 1), `high` → probe → bus
/// `high` (channels 2, 3).
fn key_split_rig(block: usize) -> Rig {
    let config =
        EngineConfig { buses: vec![BusSpec::stereo("low"), BusSpec::stereo("high")], ..EngineConfig::stereo(SR) };
    let mut rig = Rig::new(config, block);
    rig.apply(vec![
        add(1, "midi", MidiIn::new()),
        add(2, "split", KeySplit::new()),
        add(3, "probe-low", EventProbe::new()),
        add(4, "out-low", Output::new("low", 2)),
        add(5, "probe-high", EventProbe::new()),
        add(6, "out-high", Output::new("high", 2)),
        connect(1, 0, 2, 0),
        connect(2, LOW as u16, 3, 0),
        connect(3, 0, 4, 0),
        connect(2, HIGH as u16, 5, 0),
        connect(5, 0, 6, 0),
    ]);
    rig
}

/// The probe's (held count, code sum) at `frame`, reading the stereo pair starting at `ch`.
fn held(out: &[Vec<f32>], ch: usize, frame: usize) -> (f32, f32) {
    (out[ch][frame], out[ch + 1][frame])
}

/// One held note: count 1 and its code.
fn one(channel: u8, key: u8) -> (f32, f32) {
    (1.0, EventProbe::code(channel, key))
}

const NONE: (f32, f32) = (0.0, 0.0);

/// Checks the probe state just before and at each frame of `changes` (and that it holds in
/// between), then that no note is left held at the end.
fn assert_timeline(out: &[Vec<f32>], ch: usize, changes: &[(usize, (f32, f32))], what: &str) {
    let end = out[ch].len();
    let mut state = NONE;
    let mut from = 0;
    for (i, &(at, next)) in changes.iter().chain([(end, NONE)].iter()).enumerate() {
        for frame in from..at {
            assert_eq!(held(out, ch, frame), state, "{what}: frame {frame} (before change {i} at {at})");
        }
        state = next;
        from = at;
    }
    assert_eq!(state, NONE, "{what}: the timeline must end with nothing held");
}

#[test]
fn channel_filter_passes_only_its_channel() {
    let midi = sorted(vec![
        note_on(100, 0, 60, 100),
        note_on(200, 1, 62, 100),
        note_on(300, 2, 64, 100),
        cc(350, 1, 64, 127),
        note_off(1000, 0, 60),
        note_off(1100, 1, 62),
        note_off(1200, 2, 64),
    ]);
    for block in BLOCKS {
        // Channel choice 2 = MIDI channel 2 = channel index 1.
        let mut rig = single_output_rig(block, ChannelFilter::new(), vec![(CHANNEL, 2.0)]);
        let out = rig.render(2000, &midi);
        assert_timeline(&out, 0, &[(200, one(1, 62)), (1100, NONE)], &format!("block {block}"));
    }
}

#[test]
fn channel_filter_remaps_and_releases_notes_where_they_went_after_a_change() {
    let midi = sorted(vec![
        note_on(100, 3, 70, 100),
        note_on(400, 0, 50, 100),
        note_on(450, 3, 72, 100),
        note_off(600, 3, 70),
        note_off(700, 0, 50),
        note_off(800, 3, 72),
    ]);
    for block in BLOCKS {
        // Channel 4 (index 3), moved to channel 5 (index 4).
        let mut rig = single_output_rig(block, ChannelFilter::new(), vec![(CHANNEL, 4.0), (REMAP_TO, 5.0)]);
        // From frame 300 only channel 1 passes, unmapped: the held note must still be released
        // on channel index 4, and notes on index 3 no longer pass.
        rig.engine().set_param(NODE, CHANNEL, 1.0, Some(300)).unwrap();
        rig.engine().set_param(NODE, REMAP_TO, 0.0, Some(300)).unwrap();
        let out = rig.render(1000, &midi);
        let both = (2.0, EventProbe::code(4, 70) + EventProbe::code(0, 50));
        assert_timeline(
            &out,
            0,
            &[(100, one(4, 70)), (400, both), (600, one(0, 50)), (700, NONE)],
            &format!("block {block}"),
        );
    }
}

#[test]
fn key_split_routes_low_keys_low_and_the_rest_high() {
    let midi = sorted(vec![
        note_on(100, 0, 59, 100),
        note_on(200, 0, 60, 100),
        cc(250, 0, 64, 127),
        note_off(400, 0, 59),
        note_off(500, 0, 60),
    ]);
    for block in BLOCKS {
        let mut rig = key_split_rig(block);
        let out = rig.render(1000, &midi);
        assert_timeline(&out, 0, &[(100, one(0, 59)), (400, NONE)], &format!("low, block {block}"));
        assert_timeline(&out, 2, &[(200, one(0, 60)), (500, NONE)], &format!("high, block {block}"));
    }
}

#[test]
fn key_split_note_off_after_moving_the_split_reaches_the_same_side() {
    let midi =
        sorted(vec![note_on(100, 0, 62, 100), note_off(300, 0, 62), note_on(400, 0, 62, 100), note_off(500, 0, 62)]);
    for block in BLOCKS {
        let mut rig = key_split_rig(block);
        rig.engine().set_param(NODE, SPLIT_KEY, 70.0, Some(200)).unwrap();
        let out = rig.render(1000, &midi);
        // Held while the split moved above it: released on the high side, no stuck note; the
        // next note on the same key goes low under the new split.
        assert_timeline(&out, 2, &[(100, one(0, 62)), (300, NONE)], &format!("high, block {block}"));
        assert_timeline(&out, 0, &[(400, one(0, 62)), (500, NONE)], &format!("low, block {block}"));
    }
}

#[test]
fn transpose_shifts_keys_by_whole_semitones() {
    let midi = sorted(vec![note_on(100, 5, 60, 100), note_off(500, 5, 60)]);
    for block in BLOCKS {
        // 6.6 rounds to 7.
        let mut rig = single_output_rig(block, Transpose::new(), vec![(SEMITONES, 6.6)]);
        let out = rig.render(1000, &midi);
        assert_timeline(&out, 0, &[(100, one(5, 67)), (500, NONE)], &format!("block {block}"));
    }
}

#[test]
fn transpose_note_off_after_changing_semitones_still_releases_the_note() {
    let midi =
        sorted(vec![note_on(100, 0, 60, 100), note_off(300, 0, 60), note_on(400, 0, 60, 100), note_off(500, 0, 60)]);
    for block in BLOCKS {
        let mut rig = single_output_rig(block, Transpose::new(), vec![(SEMITONES, 5.0)]);
        rig.engine().set_param(NODE, SEMITONES, -3.0, Some(200)).unwrap();
        let out = rig.render(1000, &midi);
        assert_timeline(&out, 0, &[(100, one(0, 65)), (300, NONE), (400, one(0, 57)), (500, NONE)], "transpose");
    }
}

#[test]
fn transposing_out_of_range_drops_both_note_on_and_note_off() {
    let midi = sorted(vec![
        note_on(100, 0, 100, 100), // +48 = 148: dropped
        note_on(150, 0, 79, 100),  // +48 = 127: the top key still passes
        note_off(180, 0, 79),
        note_on(300, 0, 88, 100), // +12 = 100
        // At 0 semitones this note-off would read as key 100 and release the note above; it
        // belongs to the dropped note, so it must be dropped too.
        note_off(500, 0, 100),
        note_off(600, 0, 88),
    ]);
    for block in BLOCKS {
        let mut rig = single_output_rig(block, Transpose::new(), vec![(SEMITONES, 48.0)]);
        rig.engine().set_param(NODE, SEMITONES, 12.0, Some(200)).unwrap();
        rig.engine().set_param(NODE, SEMITONES, 0.0, Some(400)).unwrap();
        let out = rig.render(1000, &midi);
        assert_timeline(
            &out,
            0,
            &[(150, one(0, 127)), (180, NONE), (300, one(0, 100)), (600, NONE)],
            &format!("block {block}"),
        );
    }
}

#[test]
fn midi_utilities_never_allocate_on_the_audio_thread() {
    let config =
        EngineConfig { buses: vec![BusSpec::stereo("low"), BusSpec::stereo("high")], ..EngineConfig::stereo(SR) };
    let mut rig = Rig::new(config, 256);
    // midi → filter → transpose → split → two probes.
    rig.apply(vec![
        add(1, "midi", MidiIn::new()),
        add(2, "filter", ChannelFilter::new()),
        add(3, "transpose", Transpose::new()),
        add(4, "split", KeySplit::new()),
        add(5, "probe-low", EventProbe::new()),
        add(6, "out-low", Output::new("low", 2)),
        add(7, "probe-high", EventProbe::new()),
        add(8, "out-high", Output::new("high", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
        connect(3, 0, 4, 0),
        connect(4, LOW as u16, 5, 0),
        connect(5, 0, 6, 0),
        connect(4, HIGH as u16, 7, 0),
        connect(7, 0, 8, 0),
    ]);
    rig.render(256, &[]); // adopts the plan
    let e = rig.engine();
    e.set_param(NodeId(2), REMAP_TO, 3.0, Some(700)).unwrap();
    e.set_param(NodeId(3), SEMITONES, 5.0, Some(900)).unwrap();
    e.set_param(NodeId(4), SPLIT_KEY, 64.0, Some(1100)).unwrap();
    let block: Vec<Event> = (0..200u32)
        .map(|i| {
            let (channel, key) = ((i % 3) as u8, 40 + (i % 50) as u8);
            let message = if i % 2 == 0 {
                MidiMessage::NoteOn { channel, key, velocity: 90 }
            } else {
                MidiMessage::NoteOff { channel, key: key - 1, velocity: 0 }
            };
            Event::midi(i * 3, message)
        })
        .collect();
    let mut buffers = vec![vec![0.0f32; 700]; 4];
    let before = assert_no_alloc::violation_count();
    for _ in 0..4 {
        let mut outputs: Vec<&mut [f32]> = buffers.iter_mut().map(|b| b.as_mut_slice()).collect();
        assert_no_alloc::assert_no_alloc(|| {
            rig.renderer().executor().process(HostBlock::new(700, &mut outputs).with_midi(&block))
        });
    }
    assert_eq!(assert_no_alloc::violation_count(), before, "the audio thread allocated");
    assert!(buffers.iter().any(|b| b.iter().any(|s| *s != 0.0)), "notes reached the probes");
}
