//! Latency compensation: parallel paths through latent nodes stay aligned, every output bus is
//! delayed to the graph's latency (which the plan reports), and delay lines keep their contents
//! across recompiles.

use noderack_graph::{BusSpec, Edit, EngineConfig, NodeId};
use noderack_nodes::{Gain, Output};
use noderack_tests::latent::Latent;
use noderack_tests::rig::{add, connect, disconnect};
use noderack_tests::{Rig, TestTone};

const SR: f32 = 48_000.0;

fn tone(i: i64) -> f32 {
    if i < 0 {
        0.0
    } else {
        TestTone::sample_at(300.0, 0.4, i as u64, SR)
    }
}

/// tone 1 ─┬─ latent(L) 2 ─┐
///         └───────────────┴→ out 3
fn parallel(rig: &mut Rig, latency: u32) {
    rig.apply(vec![
        add(1, "tone", TestTone::new(300.0, 0.4)),
        add(2, "lookahead", Latent::new(latency)),
        add(3, "out", Output::new("main", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
        connect(1, 0, 3, 0),
    ]);
}

#[test]
fn parallel_paths_are_aligned_to_the_latent_one() {
    for block in [1usize, 64, 1000] {
        let mut rig = Rig::stereo(block);
        parallel(&mut rig, 100);
        assert_eq!(rig.engine().plan().latency_frames(), 100);
        assert_eq!(rig.engine().plan().delay_line_count(), 2, "one line per channel of the direct path");
        let out = rig.render(3_000, &[]);
        for (i, s) in out[0].iter().enumerate() {
            assert_eq!(*s, 2.0 * tone(i as i64 - 100), "frame {i}, block {block}");
        }
    }
}

#[test]
fn without_latency_nothing_is_delayed() {
    let mut rig = Rig::stereo(64);
    parallel(&mut rig, 0);
    assert_eq!(rig.engine().plan().latency_frames(), 0);
    assert_eq!(rig.engine().plan().delay_line_count(), 0);
    let out = rig.render(500, &[]);
    assert!((0..500).all(|i| out[0][i] == 2.0 * tone(i as i64)));
}

#[test]
fn every_bus_is_delayed_to_the_graph_latency() {
    let config = EngineConfig {
        sample_rate: SR,
        max_block_frames: 512,
        buses: vec![BusSpec::stereo("main"), BusSpec::stereo("aux")],
        inputs: vec![],
    };
    let mut rig = Rig::new(config, 128);
    // main: tone → latent(30) → latent(50); aux: tone directly.
    rig.apply(vec![
        add(1, "tone", TestTone::new(300.0, 0.4)),
        add(2, "a", Latent::new(30)),
        add(3, "b", Latent::new(50)),
        add(4, "main", Output::new("main", 2)),
        add(5, "aux", Output::new("aux", 2)),
        connect(1, 0, 2, 0),
        connect(2, 0, 3, 0),
        connect(3, 0, 4, 0),
        connect(1, 0, 5, 0),
    ]);
    assert_eq!(rig.engine().plan().latency_frames(), 80);
    let out = rig.render(2_000, &[]);
    for (i, (main, aux)) in out[0].iter().zip(&out[2]).enumerate() {
        assert_eq!(*main, tone(i as i64 - 80), "main, frame {i}");
        assert_eq!(*aux, tone(i as i64 - 80), "aux is aligned with main, frame {i}");
    }
}

#[test]
fn delay_lines_keep_their_contents_across_recompiles() {
    let mut reference = Rig::stereo(64);
    parallel(&mut reference, 400);
    let expected = reference.render(6_000, &[]);

    let mut rig = Rig::stereo(64);
    parallel(&mut rig, 400);
    let mut got: Vec<Vec<f32>> = vec![Vec::new(); 2];
    for (frames, edit) in [
        (1_000u64, vec![add(10, "idle", Gain::new())]),
        (1_000, vec![connect(1, 0, 10, 0)]),
        (1_000, vec![Edit::RemoveNode { id: NodeId(10) }]),
        (3_000, vec![]),
    ] {
        for (g, o) in got.iter_mut().zip(rig.render(frames, &[])) {
            g.extend(o);
        }
        if !edit.is_empty() {
            rig.apply(edit);
        }
    }
    assert_eq!(got[0], expected[0], "a delayed path renders as if nothing had been edited");
}

#[test]
fn disconnecting_the_latent_path_removes_the_latency() {
    let mut rig = Rig::stereo(64);
    parallel(&mut rig, 100);
    rig.render(1_000, &[]);
    rig.apply(vec![disconnect(2, 0, 3, 0)]);
    rig.render(1_000, &[]); // the removed path fades out, then is retired
    assert!(rig.engine().is_settled());
    assert_eq!(rig.engine().plan().latency_frames(), 0, "the latent node no longer reaches an output");
    assert_eq!(rig.engine().plan().delay_line_count(), 0);
    let out = rig.render(500, &[]);
    let now = rig.renderer().position_frames() as i64 - 500;
    assert!((0..500).all(|i| out[0][i] == tone(now + i as i64)), "the direct path plays undelayed");
}
