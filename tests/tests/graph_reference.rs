//! Random graphs rendered by the executor match a direct evaluation of the same graph. Every
//! node adds its own constant, so any buffer reused too early (liveness bug), a missed fan-in
//! or a wrong order shows up as a wrong value at the bus.

use std::collections::BTreeSet;

use noderack_graph::{
    Edit, NodeDescription, NodeId, NodePorts, NodeSignature, PortKind, PortSpec, ProcessConfig, ProcessContext,
    Processor,
};
use noderack_nodes::Output;
use noderack_tests::rig::{add, connect, disconnect};
use noderack_tests::Rig;

/// `out[c] = a * in0[c] + b * in1[c] + k[c]`
struct Affine {
    a: f32,
    b: f32,
    k: [f32; 2],
    signature: NodeSignature,
}

impl Affine {
    fn new(a: f32, b: f32, k: [f32; 2]) -> Self {
        let ports = NodePorts {
            inputs: vec![PortSpec::new("in0", PortKind::STEREO), PortSpec::new("in1", PortKind::STEREO)],
            outputs: vec![PortSpec::new("out", PortKind::STEREO)],
        };
        Self { a, b, k, signature: NodeSignature { kind: "affine", ports, params: vec![] } }
    }
}

impl NodeDescription for Affine {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(AffineProcessor { a: self.a, b: self.b, k: self.k })
    }
}

struct AffineProcessor {
    a: f32,
    b: f32,
    k: [f32; 2],
}

impl Processor for AffineProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let inputs = ctx.inputs();
        let mut outputs = ctx.outputs();
        for c in 0..2 {
            let (x, y) = (inputs.signal(0, c), inputs.signal(1, c));
            let out = outputs.signal_mut(0, c);
            for i in 0..out.len() {
                out[i] = self.a * x[i] + self.b * y[i] + self.k[c];
            }
        }
    }
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

struct RandomGraph {
    /// (id, a, b, k) in topological position order.
    nodes: Vec<(u64, f32, f32, [f32; 2])>,
    /// (from position, to position, to port)
    edges: BTreeSet<(usize, usize, u16)>,
    /// positions feeding the output
    sinks: BTreeSet<usize>,
}

const OUT_ID: u64 = 1_000_000;

impl RandomGraph {
    fn new(seed: u64, n: usize) -> Self {
        let mut rng = Lcg(seed);
        let mut ids: Vec<u64> = (1..=n as u64).collect();
        for i in (1..ids.len()).rev() {
            ids.swap(i, rng.next(i as u64 + 1) as usize);
        }
        let nodes = (0..n)
            .map(|i| {
                let a = 0.25 + rng.next(100) as f32 / 200.0;
                let b = -0.5 + rng.next(100) as f32 / 150.0;
                let k = [rng.next(1000) as f32 / 1000.0 - 0.5, rng.next(1000) as f32 / 700.0 - 0.6];
                (ids[i], a, b, k)
            })
            .collect();
        let mut edges = BTreeSet::new();
        for to in 1..n {
            for port in 0..2u16 {
                for _ in 0..rng.next(3) {
                    edges.insert((rng.next(to as u64) as usize, to, port));
                }
            }
        }
        let sinks = (0..n).filter(|_| rng.next(3) == 0).chain([n - 1]).collect();
        Self { nodes, edges, sinks }
    }

    fn reference(&self) -> [f64; 2] {
        let mut out = vec![[0.0f64; 2]; self.nodes.len()];
        for (pos, (_, a, b, k)) in self.nodes.iter().enumerate() {
            for c in 0..2 {
                let sum = |port: u16| -> f64 {
                    self.edges.iter().filter(|e| e.1 == pos && e.2 == port).map(|e| out[e.0][c]).sum()
                };
                out[pos][c] = *a as f64 * sum(0) + *b as f64 * sum(1) + k[c] as f64;
            }
        }
        let mut bus = [0.0; 2];
        for &s in &self.sinks {
            bus[0] += out[s][0];
            bus[1] += out[s][1];
        }
        bus
    }

    fn build(&self) -> Vec<Edit> {
        let mut edits: Vec<Edit> =
            self.nodes.iter().map(|&(id, a, b, k)| add(id, &format!("n{id}"), Affine::new(a, b, k))).collect();
        edits.push(add(OUT_ID, "out", Output::new("main", 2)));
        edits.extend(self.edges.iter().map(|&(f, t, p)| connect(self.nodes[f].0, 0, self.nodes[t].0, p)));
        edits.extend(self.sinks.iter().map(|&s| connect(self.nodes[s].0, 0, OUT_ID, 0)));
        edits
    }
}

fn assert_matches(out: &[Vec<f32>], expected: [f64; 2], what: &str) {
    for c in 0..2 {
        for (i, s) in out[c].iter().enumerate() {
            let tol = 1e-4 * (1.0 + expected[c].abs());
            assert!((*s as f64 - expected[c]).abs() <= tol, "{what}: channel {c} frame {i}: {s} != {}", expected[c]);
        }
    }
}

#[test]
fn random_graphs_match_direct_evaluation() {
    for seed in 0..40 {
        let g = RandomGraph::new(seed, 5 + (seed as usize * 7) % 40);
        let mut rig = Rig::stereo(97);
        rig.apply(g.build());
        let out = rig.render(300, &[]);
        assert_matches(&out, g.reference(), &format!("seed {seed}"));
    }
}

#[test]
fn random_edits_keep_matching_direct_evaluation_after_fades_settle() {
    for seed in 100..115 {
        let mut g = RandomGraph::new(seed, 24);
        let mut rig = Rig::stereo(128);
        rig.apply(g.build());
        rig.render(256, &[]);
        let mut rng = Lcg(seed);
        for round in 0..6 {
            // Drop some edges, add others; one batch per round.
            let mut batch = Vec::new();
            let existing: Vec<_> = g.edges.iter().copied().collect();
            for e in existing.iter().filter(|_| rng.next(4) == 0) {
                g.edges.remove(e);
                batch.push(disconnect(g.nodes[e.0].0, 0, g.nodes[e.1].0, e.2));
            }
            for _ in 0..3 {
                let to = 1 + rng.next(g.nodes.len() as u64 - 1) as usize;
                let e = (rng.next(to as u64) as usize, to, rng.next(2) as u16);
                if g.edges.insert(e) {
                    batch.push(connect(g.nodes[e.0].0, 0, g.nodes[e.1].0, e.2));
                }
            }
            rig.apply(batch);
            rig.render(2_000, &[]); // longer than the 5 ms fade
            assert!(rig.engine().is_settled());
            let out = rig.render(256, &[]);
            assert_matches(&out, g.reference(), &format!("seed {seed} round {round}"));
        }
    }
}

#[test]
fn ids_are_client_chosen_and_stable() {
    let g = RandomGraph::new(7, 10);
    let mut rig = Rig::stereo(64);
    rig.apply(g.build());
    let ids: Vec<u64> = rig.engine().graph().nodes().iter().map(|n| n.id().0).collect();
    let mut expected: Vec<u64> = g.nodes.iter().map(|n| n.0).chain([OUT_ID]).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(rig.engine().graph().node(NodeId(OUT_ID)).unwrap().label(), "out");
}
