//! The executor end to end: plans reach the audio thread, signals flow to the buses, edits keep
//! untouched paths intact, removed connections fade instead of clicking.

use noderack_graph::{CcBinding, Edit, EventData, MidiMessage, NodeId, ParamId};
use noderack_nodes::{Gain, MidiIn, Output};
use noderack_tests::analysis::{max_step, peak};
use noderack_tests::rig::{add, connect, disconnect};
use noderack_tests::{rms, Rig, TestTone};

const SR: f32 = 48_000.0;

fn tone_to_main(rig: &mut Rig, hz: f64, amp: f32) {
    rig.apply(vec![
        add(1, "tone", TestTone::new(hz, amp)),
        add(2, "gain", Gain::new()),
        add(3, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
    ]);
}

#[test]
fn tone_reaches_the_main_bus_unchanged_through_unity_gain() {
    let mut rig = Rig::stereo(256);
    tone_to_main(&mut rig, 440.0, 0.5);
    let out = rig.render(4800, &[]);
    for (i, s) in out[0].iter().enumerate() {
        assert_eq!(*s, TestTone::sample_at(440.0, 0.5, i as u64, SR), "frame {i}");
    }
    assert_eq!(out[0], out[1]);
}

#[test]
fn gain_parameter_change_is_smoothed_not_stepped() {
    let mut rig = Rig::stereo(64);
    tone_to_main(&mut rig, 100.0, 0.5);
    rig.render(4800, &[]);
    rig.engine().set_param(NodeId(2), ParamId(0), -40.0, None).unwrap();
    let out = rig.render(4800, &[]);
    // After the 10 ms ramp the level is -40 dB; during it the signal never jumps.
    assert!(rms(&out[0][1000..]) < 0.5 / 2f32.sqrt() * 0.0101);
    let step_limit = 2.0 * std::f32::consts::PI * 100.0 / SR * 0.5 * 1.05;
    assert!(max_step(&out[0]) <= step_limit, "step {} > {}", max_step(&out[0]), step_limit);
}

#[test]
fn disconnect_under_sound_fades_out_within_a_few_milliseconds() {
    let mut rig = Rig::stereo(128);
    tone_to_main(&mut rig, 1000.0, 0.8);
    rig.render(4800, &[]);
    rig.apply(vec![disconnect(2, 0, 3, 0)]);
    let out = rig.render(4800, &[]);
    let fade = (0.005 * SR) as usize;
    assert!(peak(&out[0][fade..]) == 0.0, "silent after the fade");
    assert!(peak(&out[0][..fade / 4]) > 0.3, "still sounding at the start of the fade");
    // No click: no sample-to-sample step larger than the tone's own slope.
    let slope = 2.0 * std::f32::consts::PI * 1000.0 / SR * 0.8 * 1.05;
    assert!(max_step(&out[0]) <= slope);
    assert!(rig.engine().is_settled(), "the fade has been retired");
}

#[test]
fn removing_a_node_under_sound_fades_out_and_frees_it() {
    let mut rig = Rig::stereo(128);
    tone_to_main(&mut rig, 1000.0, 0.8);
    rig.render(4800, &[]);
    rig.apply(vec![Edit::RemoveNode { id: NodeId(2) }]);
    let out = rig.render(4800, &[]);
    let fade = (0.005 * SR) as usize;
    assert_eq!(peak(&out[0][fade..]), 0.0);
    assert!(peak(&out[0][..fade / 4]) > 0.3);
    let slope = 2.0 * std::f32::consts::PI * 1000.0 / SR * 0.8 * 1.05;
    assert!(max_step(&out[0]) <= slope);
    assert!(rig.engine().is_settled());
    assert_eq!(rig.engine().plan().process_step_count(), 1, "only the tone is left in the plan");
}

mod timing {
    use noderack_graph::{EventData, MidiMessage, NodeId};
    use noderack_tests::event_probe::EventProbe;
    use noderack_tests::midi::{note_off, note_on};
    use noderack_tests::Rig;

    fn probe_rig(block: usize) -> Rig {
        let mut rig = Rig::stereo(block);
        rig.add_instrument(EventProbe::new(), vec![]);
        rig
    }

    /// Frames at which the held-note count changes.
    fn changes(left: &[f32]) -> Vec<(usize, f32)> {
        let mut out = Vec::new();
        let mut last = 0.0;
        for (i, &v) in left.iter().enumerate() {
            if v != last {
                out.push((i, v));
                last = v;
            }
        }
        out
    }

    #[test]
    fn host_midi_lands_on_its_exact_frame_for_any_block_size() {
        let midi = vec![
            note_on(0, 0, 60, 100),
            note_on(511, 0, 62, 100),
            note_on(512, 0, 64, 100),
            note_off(4095, 0, 60),
            note_off(4097, 0, 62),
        ];
        for block in [1, 17, 64, 512, 4096] {
            let out = probe_rig(block).render(6000, &midi);
            assert_eq!(
                changes(&out[0]),
                vec![(0, 1.0), (511, 2.0), (512, 3.0), (4095, 2.0), (4097, 1.0)],
                "block {block}"
            );
        }
    }

    #[test]
    fn events_sent_through_the_api_land_on_their_timestamp() {
        let mut rig = probe_rig(256);
        rig.render(1000, &[]);
        let on = |key| EventData::Midi(MidiMessage::NoteOn { channel: 0, key, velocity: 1 });
        rig.engine().send_event(NodeId(1), on(60), Some(1_700)).unwrap();
        rig.engine().send_event(NodeId(1), on(61), Some(1_000 + 4_000)).unwrap();
        rig.engine().send_event(NodeId(1), on(62), None).unwrap(); // as soon as possible
        let out = rig.render(5_000, &[]);
        assert_eq!(changes(&out[0]), vec![(0, 1.0), (700, 2.0), (4_000, 3.0)]);
    }
}

#[test]
fn timed_parameter_change_starts_on_its_exact_frame() {
    for block in [1usize, 100, 4096] {
        let mut rig = Rig::stereo(block);
        tone_to_main(&mut rig, 200.0, 0.5);
        rig.engine().set_param(NodeId(2), ParamId(0), -20.0, Some(2_500)).unwrap();
        let out = rig.render(4_000, &[]);
        let tone = |i: usize| TestTone::sample_at(200.0, 0.5, i as u64, SR);
        assert!((0..2_500).all(|i| out[0][i] == tone(i)), "unchanged before frame 2500 (block {block})");
        assert!(out[0][2_500].abs() < tone(2_500).abs(), "ramp starts at frame 2500 (block {block})");
        let settled = 2_500 + 480; // 10 ms ramp
        let ratio = out[0][settled + 50] / tone(settled + 50);
        assert!((ratio - 0.1).abs() < 1e-4, "-20 dB after the ramp, got {ratio}");
    }
}

/// MIDI learn's bindings: a control change arriving with the host's MIDI sets the bound gain on
/// the control change's own frame (its 10 ms ramp starts there, at any block size); the same
/// controller on another channel moves nothing; a control change sent through the API lands on
/// its timestamp; and once the map is emptied, the controller moves nothing.
#[test]
fn a_bound_controller_sets_its_parameter_on_its_own_frame() {
    let bind = |channel| CcBinding {
        channel,
        controller: 7,
        node: NodeId(2),
        param: ParamId(0),
        min: -20.0,
        max: 0.0,
        stepped: false,
    };
    let tone = |i: usize| TestTone::sample_at(200.0, 0.5, i as u64, SR);
    for block in [1usize, 100, 4096] {
        let mut rig = Rig::stereo(block);
        tone_to_main(&mut rig, 200.0, 0.5);
        rig.apply(vec![Edit::SetCcMap(vec![bind(Some(1))])]);
        let midi = [noderack_tests::midi::cc(1_000, 2, 7, 0), noderack_tests::midi::cc(2_500, 1, 7, 0)];
        let out = rig.render(4_000, &midi);
        assert!((0..2_500).all(|i| out[0][i] == tone(i)), "unchanged before frame 2500 (block {block})");
        assert!(out[0][2_500].abs() < tone(2_500).abs(), "the ramp starts at frame 2500 (block {block})");
        let ratio = out[0][2_500 + 480 + 50] / tone(2_500 + 480 + 50);
        assert!((ratio - 0.1).abs() < 1e-4, "controller 0 is the binding's -20 dB, got {ratio}");
        let seen = rig.engine().status().last_cc().expect("seen");
        assert_eq!((seen.channel, seen.controller, seen.value), (1, 7, 0));
    }

    // Through the API, at a timestamp; then no binding at all.
    let mut rig = Rig::stereo(256);
    tone_to_main(&mut rig, 200.0, 0.5);
    rig.apply(vec![add(4, "keys", MidiIn::new()), Edit::SetCcMap(vec![bind(None)])]);
    let cc = |value| EventData::Midi(MidiMessage::ControlChange { channel: 9, controller: 7, value });
    rig.engine().send_event(NodeId(4), cc(0), Some(1_700)).unwrap();
    let out = rig.render(3_000, &[]);
    assert!((0..1_700).all(|i| out[0][i] == tone(i)) && out[0][1_700].abs() < tone(1_700).abs());
    let inverse = rig.apply(vec![Edit::SetCcMap(Vec::new())]);
    assert!(matches!(&inverse[..], [Edit::SetCcMap(old)] if *old == vec![bind(None)]), "undo brings it back");
    rig.engine().send_event(NodeId(4), cc(127), None).unwrap();
    let later = rig.render(2_000, &[]);
    let ratio = later[0][1_500] / tone(3_000 + 1_500);
    assert!((ratio - 0.1).abs() < 1e-4, "still -20 dB: nothing is bound, got {ratio}");
}

#[test]
fn retirement_waits_for_room_in_the_queue_instead_of_losing_the_node() {
    use noderack_graph::{new_engine, EngineConfig, EngineError, Executor, HostBlock};
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(SR));
    engine
        .apply(vec![
            add(1, "tone", TestTone::new(1000.0, 0.8)),
            add(2, "gain", Gain::new()),
            add(3, "out", Output::new("main", 2)),
            add(5, "spare", Gain::new()),
            connect(1, 0, 2, 0),
            connect(2, 0, 3, 0),
        ])
        .unwrap();
    let block = |executor: &mut Executor| {
        let (mut l, mut r) = (vec![0.0; 128], vec![0.0; 128]);
        let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
        executor.process(HostBlock::new(128, &mut outs));
    };
    block(&mut executor);
    engine.apply(vec![Edit::RemoveNode { id: NodeId(2) }]).unwrap();
    for _ in 0..4 {
        block(&mut executor); // adopt the plan and play past the 5 ms fade
    }
    // The control thread fills the queue before its next maintenance...
    loop {
        match engine.set_param(NodeId(5), ParamId(0), -1.0, None) {
            Ok(()) => {}
            Err(EngineError::QueueFull(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    engine.maintain();
    assert!(!engine.is_settled(), "no plan could be sent, so the node must still be retiring");
    // ...and once the audio thread has drained it, the node is retired and freed.
    block(&mut executor);
    engine.maintain();
    block(&mut executor);
    engine.maintain();
    assert!(engine.is_settled());
    assert_eq!(engine.plan().process_step_count(), 2, "the tone and the spare gain are left");
}

/// Outputs 1.0 over a chunk in which its context said the parameters were unchanged, else 0.0.
struct UnchangedProbe {
    signature: noderack_graph::NodeSignature,
}

impl UnchangedProbe {
    /// One parameter ramping over `smoothing_seconds`.
    fn new(smoothing_seconds: f32) -> Self {
        use noderack_graph::{NodePorts, NodeSignature, ParamSpec, PortKind, PortSpec, Unit};
        let ports = NodePorts { inputs: vec![], outputs: vec![PortSpec::new("out", PortKind::STEREO)] };
        let params =
            vec![ParamSpec::continuous("x", 0.0, 1.0, 0.0, Unit::None).with_smoothing_seconds(smoothing_seconds)];
        Self { signature: NodeSignature { kind: "unchanged-probe", ports, params } }
    }
}

impl noderack_graph::NodeDescription for UnchangedProbe {
    fn signature(&self) -> &noderack_graph::NodeSignature {
        &self.signature
    }
    fn build(&self, _: &noderack_graph::ProcessConfig) -> Box<dyn noderack_graph::Processor> {
        struct P;
        impl noderack_graph::Processor for P {
            fn process(&mut self, ctx: &mut noderack_graph::ProcessContext<'_>) {
                let flag = if ctx.params_unchanged() { 1.0 } else { 0.0 };
                let mut outputs = ctx.outputs();
                let (l, r) = outputs.stereo_mut(0);
                l.fill(flag);
                r.fill(flag);
            }
        }
        Box::new(P)
    }
}

#[test]
fn params_unchanged_holds_exactly_while_nothing_moved_since_the_previous_call() {
    const BLOCK: usize = 64;
    let mut rig = Rig::stereo(BLOCK);
    // A 48-frame ramp: a change at frame 650 ramps until 698, inside chunk 10 (640..704).
    rig.apply(vec![
        add(1, "probe", UnchangedProbe::new(0.001)),
        add(2, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
    ]);
    rig.engine().set_param(NodeId(1), ParamId(0), 0.5, Some(650)).unwrap();
    let out = rig.render(16 * BLOCK as u64, &[]);
    let per_chunk: Vec<f32> = out[0].chunks(BLOCK).map(|c| c[0]).collect();
    for (i, c) in out[0].chunks(BLOCK).enumerate() {
        assert!(c.iter().all(|&v| v == c[0]), "chunk {i} is one flag");
    }
    // First call: false. Chunk 10 ramps: false. Chunk 11 is the first constant chunk at the
    // new value, which the previous call did not see: false. Everything else: true.
    let expected: Vec<f32> = (0..16).map(|i| if [0, 10, 11].contains(&i) { 0.0 } else { 1.0 }).collect();
    assert_eq!(per_chunk, expected);
}

/// Every node keeps its first input and output port as addresses into the executor's pools,
/// resolved when a plan is adopted. An edit that needs more buffers brings a bigger pool: the
/// untouched path must carry on in the new pool, bit-identical to a render without the edit,
/// and the new nodes must sound in it too.
#[test]
fn a_plan_with_a_bigger_pool_moves_every_port_onto_it() {
    let config = || noderack_graph::EngineConfig {
        sample_rate: SR,
        max_block_frames: 256,
        buses: vec![noderack_graph::BusSpec::stereo("main"), noderack_graph::BusSpec::stereo("aux")],
        inputs: vec![],
    };
    let mut reference = Rig::new(config(), 64);
    tone_to_main(&mut reference, 440.0, 0.5);
    let expected = reference.render(8_000, &[]);

    let mut rig = Rig::new(config(), 64);
    tone_to_main(&mut rig, 440.0, 0.5);
    let before = rig.engine().compile_plan().unwrap().audio_buffer_count();
    let mut got = rig.render(2_000, &[]);
    // Twenty tones summed into one input: all their outputs are live at once.
    let mut edits = vec![add(100, "aux", Output::new("aux", 2))];
    for i in 0..20 {
        edits.push(add(200 + i, "t", TestTone::new(200.0 + 50.0 * i as f64, 0.02)));
        edits.push(connect(200 + i, 0, 100, 0));
    }
    rig.apply(edits);
    let after = rig.engine().compile_plan().unwrap().audio_buffer_count();
    assert!(after > before, "the edit needs more buffers ({before} → {after}), so it brings a new pool");
    for (g, o) in got.iter_mut().zip(rig.render(6_000, &[])) {
        g.extend(o);
    }
    assert_eq!(got[0], expected[0], "main left is untouched by the edit");
    assert_eq!(got[1], expected[1], "main right is untouched by the edit");
    assert!(rms(&got[2][4_000..]) > 0.05, "the new tones sound on aux, from the new pool");
}
