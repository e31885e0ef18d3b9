//! What hosts hand the executor besides output buffers: MIDI addressed to one `midi-in` node (a
//! JACK port per node), live audio input read by `audio-in` nodes, and what the executor
//! reports back: sounding voices, refused parcels, and parcels held back (never leaked) while
//! the control thread has not emptied the return queue.

use std::sync::{Arc, Mutex};

use noderack_graph::limits::PARCEL_QUEUE_CAPACITY;
use noderack_graph::{
    BusSpec, EngineConfig, Event, GraphError, HostBlock, MidiMessage, NodeEvent, NodeId, ParamId, Parcel,
};
use noderack_nodes::sampler::{SamplerProgram, MAX_HELD_PROGRAMS};
use noderack_nodes::{AudioIn, Gain, MidiIn, Output, Sampler, Synth};
use noderack_presets::instrument::Bank;
use noderack_tests::analysis::peak;
use noderack_tests::fixtures::{a440, instrument_of};
use noderack_tests::holder::{DropLog, Holder, Tracked};
use noderack_tests::rig::{add, connect};
use noderack_tests::{rms, Rig};

const SR: f32 = 48_000.0;

fn on(time: u32, key: u8) -> Event {
    Event::midi(time, MidiMessage::NoteOn { channel: 0, key, velocity: 100 })
}

/// midi-in 1 → synth 2 → bus `main`; midi-in 4 → synth 5 → bus `aux`.
fn two_keyboards() -> Rig {
    let config =
        EngineConfig { buses: vec![BusSpec::stereo("main"), BusSpec::stereo("aux")], ..EngineConfig::stereo(SR) };
    let mut rig = Rig::new(config, 256);
    rig.apply(vec![
        add(1, "keys_a", MidiIn::new()),
        add(2, "synth_a", Synth::new(8)),
        add(3, "out_a", Output::new("main", 2)),
        add(4, "keys_b", MidiIn::new()),
        add(5, "synth_b", Synth::new(8)),
        add(6, "out_b", Output::new("aux", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
        connect(4, 0, 5, 0),
        connect(5, 0, 6, 0),
    ]);
    rig
}

fn block(rig: &mut Rig, frames: usize, midi: &[Event], node_midi: &[NodeEvent]) -> Vec<Vec<f32>> {
    let mut out = vec![vec![0.0f32; frames]; 4];
    let mut views: Vec<&mut [f32]> = out.iter_mut().map(Vec::as_mut_slice).collect();
    let block = HostBlock::new(frames, &mut views).with_midi(midi).with_node_midi(node_midi);
    rig.renderer().executor().process(block);
    rig.engine().maintain();
    out
}

#[test]
fn midi_for_one_node_reaches_only_that_midi_in_node() {
    let mut rig = two_keyboards();
    let for_b = [NodeEvent { node: NodeId(4), event: on(100, 69) }];
    let out = block(&mut rig, 2048, &[], &for_b);
    assert_eq!(peak(&out[0]), 0.0, "keyboard A heard nothing");
    assert!(rms(&out[2][200..]) > 0.01, "keyboard B plays");
    // The note starts at its frame: silence before frame 100 of the block.
    assert_eq!(peak(&out[2][..100]), 0.0);
    assert!(peak(&out[2][100..140]) > 0.0);
}

#[test]
fn midi_for_every_node_reaches_both_and_node_events_split_across_chunks_keep_their_frame() {
    let mut rig = two_keyboards();
    // A 1500-frame block runs as chunks of 512: the node event at 1300 lands in the third.
    let for_a = [NodeEvent { node: NodeId(1), event: on(1300, 72) }];
    let out = block(&mut rig, 1500, &[on(10, 60)], &for_a);
    assert!(rms(&out[0][20..1300]) > 0.01 && rms(&out[2][20..]) > 0.01, "broadcast reaches both");
    // Node A's second note: more energy from frame 1300 on in A only.
    let mut reference = two_keyboards();
    let alone = block(&mut reference, 1500, &[on(10, 60)], &[]);
    let first_difference = out[0].iter().zip(&alone[0]).position(|(a, b)| a != b);
    assert_eq!(first_difference, Some(1300), "the node event sounds at frame 1300, not before");
    assert_eq!(out[2], alone[2], "keyboard B did not get node A's event");
}

/// `audio-in` reads the host's input bus exactly, and silence when the host gives none.
#[test]
fn audio_in_passes_the_host_input_bus_through_and_is_silent_without_one() {
    let config = EngineConfig { inputs: vec![BusSpec::stereo("in")], ..EngineConfig::stereo(SR) };
    let mut rig = Rig::new(config, 256);
    rig.apply(vec![
        add(1, "live", AudioIn::new("in", 2)),
        add(2, "gain", Gain::new()),
        add(3, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
    ]);
    let left: Vec<f32> = (0..700).map(|i| ((i as f32) * 0.01).sin() * 0.5).collect();
    let right: Vec<f32> = (0..700).map(|i| ((i as f32) * 0.03).cos() * 0.25).collect();
    let (mut l, mut r) = (vec![0.0f32; 700], vec![0.0f32; 700]);
    let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
    let inputs: [&[f32]; 2] = [&left, &right];
    rig.renderer().executor().process(HostBlock::new(700, &mut outs).with_inputs(&inputs));
    assert_eq!(l, left, "left input reaches the output unchanged through unity gain");
    assert_eq!(r, right);
    let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
    rig.renderer().executor().process(HostBlock::new(700, &mut outs));
    assert_eq!(peak(&l) + peak(&r), 0.0, "no input given: silence");
}

#[test]
fn an_audio_in_node_naming_an_unknown_input_bus_is_refused() {
    let config = EngineConfig { inputs: vec![BusSpec::stereo("in")], ..EngineConfig::stereo(SR) };
    let mut rig = Rig::new(config, 256);
    let error = rig.engine().apply(vec![add(1, "live", AudioIn::new("guitar", 2))]).unwrap_err();
    assert!(
        matches!(
            &error,
            noderack_graph::EngineError::Graph(GraphError::UnknownInputBus { .. })
                | noderack_graph::EngineError::Batch(_)
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("input bus \"guitar\"") && text.contains("in"), "{text}");
}

#[test]
fn instruments_report_their_sounding_voices() {
    let bank = Arc::new(Bank::single(instrument_of(vec![a440(48_000, 0.5)])));
    report_voices_of(Synth::new(16));
    report_voices_of(Sampler::new(Some(bank), 16));
}

fn report_voices_of(instrument: impl noderack_graph::NodeDescription) {
    let mut rig = Rig::stereo(256);
    rig.add_instrument(instrument, vec![]);
    let chord: Vec<Event> = [60, 64, 67].iter().map(|&k| on(0, k)).collect();
    block(&mut rig, 256, &chord, &[]);
    assert_eq!(rig.engine().status().active_voices(), 3);
    let off: Vec<Event> =
        [60, 64, 67].iter().map(|&key| Event::midi(0, MidiMessage::NoteOff { channel: 0, key, velocity: 0 })).collect();
    block(&mut rig, 256, &off, &[]);
    for _ in 0..400 {
        block(&mut rig, 256, &[], &[]);
    }
    assert_eq!(rig.engine().status().active_voices(), 0, "released voices end");
}

fn holder_rig() -> (Rig, DropLog) {
    let mut rig = Rig::stereo(256);
    rig.apply(vec![add(1, "holder", Holder::new()), add(2, "gain", Gain::new())]);
    (rig, Arc::new(Mutex::new(Vec::new())))
}

#[test]
fn a_parcel_its_node_does_not_take_comes_back_refused_and_is_reported() {
    let (mut rig, log) = holder_rig();
    rig.engine().send_parcel(NodeId(2), Parcel::new(Tracked::new(&log))).unwrap();
    block(&mut rig, 64, &[], &[]);
    assert_eq!(rig.engine().status().refused_parcels(), 1);
    assert_eq!(rig.engine().take_refused_parcels(), vec![NodeId(2)], "the gain node took no parcel");
    assert_eq!(rig.engine().take_refused_parcels(), vec![], "reported once");
    assert_eq!(*log.lock().unwrap(), vec![std::thread::current().id()], "freed on the control thread");
}

/// Issue 18 #3: a full parcel return queue holds parcels back in the command queue; none is
/// leaked, and every one is freed on the control thread once it runs `maintain`.
#[test]
fn a_full_parcel_queue_holds_parcels_back_instead_of_leaking_them() {
    let (mut rig, log) = holder_rig();
    let sent = PARCEL_QUEUE_CAPACITY + 500;
    for _ in 0..sent {
        rig.engine().send_parcel(NodeId(1), Parcel::new(Tracked::new(&log))).unwrap();
    }
    // A parameter queued behind the parcels waits for them (order is kept).
    rig.engine().set_param(NodeId(2), ParamId(0), -6.0, None).unwrap();
    let mut out = [vec![0.0f32; 64], vec![0.0f32; 64]];
    let [l, r] = &mut out;
    let mut outs: [&mut [f32]; 2] = [l, r];
    rig.renderer().executor().process(HostBlock::new(64, &mut outs));
    let status = rig.engine().status().clone();
    assert_eq!(status.leaked_parcels(), 0);
    assert!(log.lock().unwrap().is_empty(), "nothing freed yet, and nothing on the audio thread");
    // The holder retired one parcel per new one until the return queue was full.
    rig.engine().maintain();
    assert_eq!(log.lock().unwrap().len(), PARCEL_QUEUE_CAPACITY);
    for _ in 0..4 {
        block(&mut rig, 64, &[], &[]);
    }
    assert_eq!(log.lock().unwrap().len(), sent - 1, "all but the one the holder keeps");
    assert_eq!(status.leaked_parcels(), 0);
    assert_eq!(status.leaked_plans(), 0);
    let me = std::thread::current().id();
    assert!(log.lock().unwrap().iter().all(|t| *t == me), "every parcel freed on the control thread");
}

/// Issue 18 #2: a sampler whose program slots all hold sounding programs refuses a new one,
/// and the control side learns which node did.
#[test]
fn a_sampler_with_every_program_slot_sounding_refuses_the_next_and_says_so() {
    let bank = || Arc::new(Bank::single(instrument_of(vec![a440(48_000, 4.0)])));
    let mut rig = Rig::stereo(256);
    rig.add_instrument(Sampler::new(Some(bank()), 64), vec![]);
    // Each program gets a held note, so none can be retired.
    for i in 0..MAX_HELD_PROGRAMS {
        block(&mut rig, 256, &[on(0, 40 + i as u8)], &[]);
        rig.engine().send_parcel(NodeId(2), Parcel::new(SamplerProgram::new(bank(), SR))).unwrap();
        block(&mut rig, 256, &[], &[]);
    }
    assert_eq!(rig.engine().take_refused_parcels(), vec![NodeId(2)], "the 8th swap finds every slot sounding");
    assert_eq!(rig.engine().status().refused_parcels(), 1);
}
