//! Real-time safety: over a scripted session of 1500 blocks that adds and removes nodes,
//! reconnects, changes parameters (immediate and timed), sends events and feeds dense MIDI,
//! the audio thread never allocates or frees. Every `Executor::process` call runs inside
//! `assert_no_alloc`, whose counting allocator is this test binary's global allocator.

use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use noderack_graph::{
    new_engine, Edit, Engine, EngineConfig, Event, EventData, HostBlock, MidiMessage, NodeDescription, NodeId, ParamId,
};
use noderack_nodes::registry;
use noderack_presets::{ConfigValue, NodeConfig};
use noderack_tests::midi::dense_stream;
use noderack_tests::rig::{connect, disconnect};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

fn node(kind: &str, config: &[(&str, f64)]) -> Arc<dyn NodeDescription> {
    let config: NodeConfig = config.iter().map(|(k, v)| (k.to_string(), ConfigValue::Number(*v))).collect();
    registry::create(kind, &config).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn add(id: u64, kind: &str, config: &[(&str, f64)]) -> Edit {
    Edit::AddNode { id: NodeId(id), label: format!("{kind}{id}"), description: node(kind, config), params: vec![] }
}

/// midi-in 1 → transpose 2 → key-split 3 → (low) synth 4, (high) channel-filter 5 → synth 6;
/// synths → mixer 7 → gain 8 → output 9, and gain 8 → a 37-frame latent node 10 → output 9
/// (so the direct path runs through latency-compensation delay lines).
fn initial_graph() -> Vec<Edit> {
    vec![
        add(1, "midi-in", &[]),
        add(2, "transpose", &[]),
        add(3, "key-split", &[]),
        add(4, "synth", &[("voices", 32.0)]),
        add(5, "channel-filter", &[]),
        add(6, "synth", &[("voices", 16.0)]),
        add(7, "mixer", &[("inputs", 4.0)]),
        add(8, "gain", &[]),
        add(9, "output", &[]),
        Edit::AddNode {
            id: NodeId(10),
            label: "latent".into(),
            description: Arc::new(noderack_tests::latent::Latent::new(37)),
            params: vec![],
        },
        connect(8, 0, 10, 0),
        connect(10, 0, 9, 0),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
        connect(3, 0, 4, 0),
        connect(3, 1, 5, 0),
        connect(5, 0, 6, 0),
        connect(4, 0, 7, 0),
        connect(6, 0, 7, 1),
        connect(7, 0, 8, 0),
        connect(8, 0, 9, 0),
    ]
}

/// One step of the scripted session at block `b`: structural edits, parameter changes, events.
fn script(engine: &mut Engine, b: usize, frame: u64) {
    let synth_id = 100 + (b / 100) as u64;
    match b % 100 {
        10 => {
            engine
                .apply(vec![
                    add(synth_id, "synth", &[("voices", 8.0)]),
                    connect(3, 0, synth_id, 0),
                    connect(synth_id, 0, 7, 2),
                ])
                .unwrap();
        }
        40 => {
            engine.apply(vec![disconnect(6, 0, 7, 1), connect(6, 0, 7, 3)]).unwrap();
        }
        60 => {
            engine.apply(vec![disconnect(6, 0, 7, 3), connect(6, 0, 7, 1)]).unwrap();
        }
        80 => {
            engine.apply(vec![Edit::RemoveNode { id: NodeId(synth_id) }]).unwrap();
        }
        _ => {}
    }
    // Parameters every block: mixer gain sweeps, gain smoothing, a timed change mid-block.
    let sweep = -20.0 + 20.0 * ((b as f32) * 0.05).sin().abs();
    engine.set_param(NodeId(7), ParamId(0), sweep, None).unwrap();
    engine.set_param(NodeId(8), ParamId(0), -3.0 - (b % 7) as f32, Some(frame + 17)).unwrap();
    if b.is_multiple_of(25) {
        engine.set_param(NodeId(2), ParamId(0), ((b / 25) % 5) as f32 - 2.0, None).unwrap();
        engine.set_param(NodeId(3), ParamId(0), 48.0 + (b % 24) as f32, None).unwrap();
    }
    if b.is_multiple_of(9) {
        let on = MidiMessage::NoteOn { channel: 2, key: 60 + (b % 12) as u8, velocity: 90 };
        engine.send_event(NodeId(1), EventData::Midi(on), Some(frame + 5)).unwrap();
    }
}

fn run_session(host_blocks: &[usize], blocks: usize) -> (u32, f32) {
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(48_000.0));
    engine.apply(initial_graph()).unwrap();
    assert_eq!(engine.plan().latency_frames(), 37);
    let total: u64 = (0..blocks).map(|b| host_blocks[b % host_blocks.len()] as u64).sum();
    let midi = dense_stream(total, 6000, 4, 42);
    let max_block = *host_blocks.iter().max().unwrap();
    let mut left = vec![0.0f32; max_block];
    let mut right = vec![0.0f32; max_block];
    let mut events: Vec<Event> = Vec::with_capacity(4096);
    let mut frame = 0u64;
    let mut cursor = 0;
    let mut energy = 0.0f32;
    reset_violation_count();
    for b in 0..blocks {
        let n = host_blocks[b % host_blocks.len()];
        script(&mut engine, b, frame);
        events.clear();
        while cursor < midi.len() && midi[cursor].frame < frame + n as u64 {
            events.push(Event::midi((midi[cursor].frame - frame) as u32, midi[cursor].message));
            cursor += 1;
        }
        let mut outs: [&mut [f32]; 2] = [&mut left[..n], &mut right[..n]];
        assert_no_alloc(|| executor.process(HostBlock::new(n, &mut outs).with_midi(&events)));
        energy += left[..n].iter().map(|s| s * s).sum::<f32>();
        engine.maintain();
        frame += n as u64;
    }
    assert_eq!(engine.status().dropped_messages(), 0);
    assert_eq!(engine.status().rejected_plans(), 0);
    (violation_count(), energy)
}

#[test]
fn audio_thread_never_allocates_over_a_scripted_session() {
    let (violations, energy) = run_session(&[64], 1500);
    assert_eq!(violations, 0, "the audio thread (de)allocated {violations} times");
    assert!(energy > 1.0, "the session must actually make sound (energy {energy})");
}

#[test]
fn audio_thread_never_allocates_with_odd_and_oversized_host_blocks() {
    // 1-frame blocks, odd sizes and a block larger than the 512-frame chunk limit.
    let (violations, energy) = run_session(&[1, 17, 700, 64, 333], 1000);
    assert_eq!(violations, 0, "the audio thread (de)allocated {violations} times");
    assert!(energy > 1.0);
}

#[test]
fn the_checker_catches_an_allocation() {
    reset_violation_count();
    let v = assert_no_alloc(|| std::hint::black_box(vec![1u8; 16]).len());
    assert_eq!(v, 16);
    assert!(violation_count() >= 1, "an allocation inside assert_no_alloc must be counted");
}
