//! One effect node between the host's stereo input bus `in` and its output bus `main`: the rig
//! the effect tests measure through, driven with whole input signals (an impulse, a tone, a
//! noise burst) rather than source nodes, at any host block size, with parameter changes at
//! exact frames.

use std::sync::Arc;

use noderack_graph::{
    new_engine, BusSpec, Edit, Engine, EngineConfig, Executor, HostBlock, NodeDescription, NodeId, ParamId,
};
use noderack_nodes::{AudioIn, Output};

use crate::rig::{add, connect};

/// The effect's node id in the rig.
pub const EFFECT: NodeId = NodeId(2);

/// Host input `in` → `effect` (with `params`) → host output `main`, 48 kHz, chunks of up to
/// 512 frames: the engine (to send changes) and the executor (to render).
pub fn effect_rig(effect: Arc<dyn NodeDescription>, params: &[(ParamId, f32)]) -> (Engine, Executor) {
    let config = EngineConfig { inputs: vec![BusSpec::stereo("in")], ..EngineConfig::stereo(48_000.0) };
    let (mut engine, executor) = new_engine(config);
    engine
        .apply(vec![
            add(1, "in", AudioIn::new("in", 2)),
            Edit::AddNode { id: EFFECT, label: "effect".into(), description: effect, params: params.to_vec() },
            add(3, "out", Output::new("main", 2)),
            connect(1, 0, EFFECT.0, 0),
            connect(EFFECT.0, 0, 3, 0),
        ])
        .expect("the effect's graph");
    (engine, executor)
}

/// Renders `input` (left, right) through `effect` with `params`, in host blocks of `block`
/// frames, with `changes` (engine frame, parameter, value) sent sample-accurately up front;
/// returns the output (left, right), as long as the input.
pub fn render_through(
    effect: Arc<dyn NodeDescription>,
    params: &[(ParamId, f32)],
    input: (&[f32], &[f32]),
    block: usize,
    changes: &[(u64, ParamId, f32)],
) -> (Vec<f32>, Vec<f32>) {
    let (mut engine, mut executor) = effect_rig(effect, params);
    for &(frame, id, value) in changes {
        engine.set_param(EFFECT, id, value, Some(frame)).expect("a valid change");
    }
    let frames = input.0.len().min(input.1.len());
    let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    let mut at = 0;
    while at < frames {
        let n = block.max(1).min(frames - at);
        let ins: [&[f32]; 2] = [&input.0[at..at + n], &input.1[at..at + n]];
        let mut outs: [&mut [f32]; 2] = [&mut left[at..at + n], &mut right[at..at + n]];
        executor.process(HostBlock::new(n, &mut outs).with_inputs(&ins));
        at += n;
        engine.maintain();
    }
    (left, right)
}
