//! The executor end to end: plans reach the audio thread, signals flow to the buses, edits keep
//! untouched paths intact, removed connections fade instead of clicking.

use noderack_graph::{Edit, NodeId, ParamId};
use noderack_nodes::{Gain, Output};
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
