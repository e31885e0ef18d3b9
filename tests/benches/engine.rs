//! Engine benchmarks (figures in docs/PERFORMANCE.md):
//! - executor overhead: a 1000-node chain of gain nodes against a hand-written loop doing the
//!   same arithmetic on two ping-pong buffer pairs (the limit);
//! - compile time for 100, 1 000 and 10 000 nodes, and the cost of one edit at 10 000 nodes.
//!
//! Run: `cargo bench -p noderack-tests --bench engine`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noderack_graph::{new_engine, Edit, Engine, EngineConfig, Executor, HostBlock, NodeId};
use noderack_nodes::dsp::{db_to_gain, pan_gains};
use noderack_nodes::{gain, Gain, Output};
use noderack_tests::rig::{add, connect};
use noderack_tests::TestTone;

const BLOCK: usize = 64;
const CHAIN: u64 = 1000;
const GAIN_DB: f32 = -0.001;

/// gain ×1000 → output, every gain at GAIN_DB. The first gain's input is unconnected (it reads
/// the silent buffers): a source node would add its own DSP to what is meant to be the cost of
/// running nodes. The hand-written side multiplies zeros too, so neither meets denormals.
fn gain_chain() -> (Engine, Executor) {
    let (mut engine, executor) = new_engine(EngineConfig::stereo(48_000.0));
    let mut edits = Vec::new();
    for i in 1..=CHAIN {
        edits.push(Edit::AddNode {
            id: NodeId(i),
            label: format!("g{i}"),
            description: std::sync::Arc::new(Gain::new()),
            params: vec![(gain::GAIN_DB, GAIN_DB)],
        });
        if i > 1 {
            edits.push(connect(i - 1, 0, i, 0));
        }
    }
    edits.push(add(CHAIN + 1, "out", Output::new("main", 2)));
    edits.push(connect(CHAIN, 0, CHAIN + 1, 0));
    engine.apply(edits).unwrap();
    (engine, executor)
}

/// Renders one 64-frame block through the engine.
fn engine_block(executor: &mut Executor, out: &mut [Vec<f32>; 2]) {
    let [l, r] = out;
    let mut outs: [&mut [f32]; 2] = [l, r];
    executor.process(HostBlock::new(BLOCK, &mut outs));
}

/// `output = input * gain`: the arithmetic of every reference below, written once so that
/// they all do exactly the same work.
#[inline(always)]
fn scale(output: &mut [f32], input: &[f32], gain: f32) {
    for (o, i) in output.iter_mut().zip(input) {
        *o = *i * gain;
    }
}

/// The limit: the same multiplications as the gain chain, by a hand-written loop, on buffers
/// laid out as the executor lays out its pool (mono buffers `stride` floats apart in one
/// allocation), ping-ponging between two stereo pairs as the compiled chain does. The block
/// length is a run-time value, as it is for every processor (hosts choose it); with a
/// compile-time length the compiler unrolls the loops completely, which no node can count on,
/// and the bench reports that stricter ratio too.
struct HandWritten {
    pool: Vec<f32>,
    stride: usize,
    gains: (f32, f32),
}

impl HandWritten {
    fn new(stride: usize) -> Self {
        let g = db_to_gain(GAIN_DB);
        let (pl, pr) = pan_gains(0.0);
        Self { pool: vec![0.0f32; 6 * stride], stride, gains: (g * pl, g * pr) }
    }

    /// One block, its length known only at run time (the limit the goal is measured against).
    fn block(&mut self) {
        self.run(black_box(BLOCK));
    }

    /// One block of a length fixed at compile time (fully unrolled loops: a stricter limit).
    fn block_fixed_length(&mut self) {
        self.run(BLOCK);
    }

    #[inline(always)]
    fn run(&mut self, frames: usize) {
        let stride = self.stride;
        let (mut src, mut dst) = (2usize, 4usize);
        for _ in 0..CHAIN {
            for (c, gain) in [self.gains.0, self.gains.1].into_iter().enumerate() {
                let (a, z) = self.pool.split_at_mut(dst.max(src) * stride);
                let (input, output) = if src < dst {
                    (&a[(src + c) * stride..][..frames], &mut z[c * stride..][..frames])
                } else {
                    (&z[c * stride..][..frames], &mut a[(dst + c) * stride..][..frames])
                };
                scale(output, input, gain);
            }
            std::mem::swap(&mut src, &mut dst);
        }
        black_box(&self.pool);
    }
}

/// The floor of any engine that calls one trait object per node: the hand-written loop's
/// multiplications split into 1000 boxed nodes called through `dyn`, each holding its four
/// channel pointers resolved in advance (no ports, parameters or context to look up).
struct DynChain {
    _pool: Vec<f32>,
    nodes: Vec<Box<dyn DynNode>>,
}

trait DynNode {
    fn run(&mut self, frames: usize);
}

struct DynGain {
    input: [*const f32; 2],
    output: [*mut f32; 2],
    gains: (f32, f32),
}

impl DynNode for DynGain {
    fn run(&mut self, frames: usize) {
        for (c, gain) in [self.gains.0, self.gains.1].into_iter().enumerate() {
            // SAFETY: the pointers lead into `DynChain::_pool`, which outlives the nodes; a
            // node's input and output buffers are distinct.
            let (input, output) = unsafe {
                (
                    std::slice::from_raw_parts(self.input[c], frames),
                    std::slice::from_raw_parts_mut(self.output[c], frames),
                )
            };
            scale(output, input, gain);
        }
    }
}

impl DynChain {
    fn new(stride: usize) -> Self {
        let hand = HandWritten::new(stride);
        let mut pool = vec![0.0f32; 6 * stride];
        let base = pool.as_mut_ptr();
        let (mut src, mut dst) = (2usize, 4usize);
        let nodes = (0..CHAIN)
            .map(|_| {
                // SAFETY (of the later dereferences): every buffer index is below 6.
                let at = |b: usize| base.wrapping_add(b * stride);
                let node = DynGain {
                    input: [at(src).cast_const(), at(src + 1).cast_const()],
                    output: [at(dst), at(dst + 1)],
                    gains: hand.gains,
                };
                std::mem::swap(&mut src, &mut dst);
                Box::new(node) as Box<dyn DynNode>
            })
            .collect();
        Self { _pool: pool, nodes }
    }

    fn block(&mut self) {
        let frames = black_box(BLOCK);
        for node in &mut self.nodes {
            node.run(frames);
        }
    }
}

fn executor_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("executor_overhead");
    group.throughput(Throughput::Elements(CHAIN));

    let (_engine, mut executor) = gain_chain();
    let mut out = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    for _ in 0..10 {
        engine_block(&mut executor, &mut out); // adopt the plan
    }
    group.bench_function("engine_1000_gains_64_frames", |b| b.iter(|| engine_block(&mut executor, &mut out)));
    let mut hand = HandWritten::new(executor.buffer_stride());
    group.bench_function("hand_written_1000_gains_64_frames", |b| b.iter(|| hand.block()));
    group.finish();

    // The ratio, measured interleaved (rounds of engine blocks and hand-written blocks
    // alternating) so that the VM's drifting speed affects both sides alike. Only under
    // `cargo bench` (`--bench`): `cargo test --all-targets` runs each benchmark once as a smoke
    // test, unoptimised, where a ratio would mean nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = 200;
    let per_round = 50;
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..per_round {
            f();
        }
        start.elapsed().as_secs_f64() * 1e6 / per_round as f64
    };
    let mut hand_fixed = HandWritten::new(executor.buffer_stride());
    let mut dyn_chain = DynChain::new(executor.buffer_stride());
    let [mut engine_us, mut hand_us, mut fixed_us, mut dyn_us, mut ratios, mut fixed_ratios, mut dyn_ratios] =
        std::array::from_fn(|_| Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let e = time(&mut || engine_block(&mut executor, &mut out));
        let h = time(&mut || hand.block());
        let f = time(&mut || hand_fixed.block_fixed_length());
        let d = time(&mut || dyn_chain.block());
        engine_us.push(e);
        hand_us.push(h);
        fixed_us.push(f);
        dyn_us.push(d);
        ratios.push(e / h);
        fixed_ratios.push(e / f);
        dyn_ratios.push(d / h);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "executor_overhead/interleaved: engine {:.2} µs, hand-written {:.2} µs per block (medians of {rounds} rounds); \
         median ratio {:.2} (goal <= 1.3); against a hand-written loop of compile-time length ({:.2} µs): {:.2}; \
         the floor of one dyn call per node ({:.2} µs) to the hand-written loop: {:.2}",
        median(&mut engine_us),
        median(&mut hand_us),
        median(&mut ratios),
        median(&mut fixed_us),
        median(&mut fixed_ratios),
        median(&mut dyn_us),
        median(&mut dyn_ratios),
    );
}

/// `n` gain nodes as chains of 10 fed by tones, every chain summed into the output.
fn wide_graph(n: u64) -> (Engine, Executor) {
    let (mut engine, _executor) = new_engine(EngineConfig::stereo(48_000.0));
    let mut edits = vec![add(u64::MAX, "out", Output::new("main", 2))];
    for i in 0..n {
        if i % 10 == 0 {
            edits.push(add(i, &format!("n{i}"), TestTone::new(100.0 + i as f64, 0.01)));
        } else {
            edits.push(add(i, &format!("n{i}"), Gain::new()));
            edits.push(connect(i - 1, 0, i, 0));
        }
        if i % 10 == 9 {
            edits.push(connect(i, 0, u64::MAX, 0));
        }
    }
    engine.apply(edits).unwrap();
    (engine, _executor)
}

/// Lets the executor adopt pending plans and play past any fade, then frees what came back.
fn settle(engine: &mut Engine, executor: &mut Executor) {
    let mut out = [vec![0.0f32; 512], vec![0.0f32; 512]];
    let [l, r] = &mut out;
    let mut outs: [&mut [f32]; 2] = [l, r];
    executor.process(HostBlock::new(512, &mut outs));
    engine.maintain();
}

fn compile_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    for n in [100u64, 1_000, 10_000] {
        let (engine, _executor) = wide_graph(n);
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::new("nodes", n), &engine, |b, engine| {
            b.iter(|| black_box(engine.compile_plan().unwrap()))
        });
    }
    group.finish();

    // What a client waits for: validate + build + compile + send one small edit, at 10 000
    // nodes (timed: an add-and-connect batch, then its undo; untimed: the audio thread
    // adopting both and the fade of the undo running out).
    let mut group = c.benchmark_group("edit");
    group.sample_size(20);
    let (mut engine, mut executor) = wide_graph(10_000);
    settle(&mut engine, &mut executor);
    group.bench_function("add_connect_then_undo_at_10000", |b| {
        b.iter_custom(|iterations| {
            let mut timed = std::time::Duration::ZERO;
            for _ in 0..iterations {
                let start = std::time::Instant::now();
                let undo = engine.apply(vec![add(1_000_000, "x", Gain::new()), connect(5, 0, 1_000_000, 0)]).unwrap();
                engine.apply(undo).unwrap();
                timed += start.elapsed();
                settle(&mut engine, &mut executor);
                assert!(engine.is_settled());
            }
            timed
        })
    });
    group.finish();

    // What the audio thread pays for adopting a plan at 10 000 nodes (taking removed slots,
    // moving in pools and processors, linking the run list): the 64-frame block that adopts
    // an edit's plan, against the same block without one.
    let mut group = c.benchmark_group("adopt");
    group.sample_size(20);
    let block = |executor: &mut Executor| {
        let mut out = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
        let [l, r] = &mut out;
        let mut outs: [&mut [f32]; 2] = [l, r];
        let start = std::time::Instant::now();
        executor.process(HostBlock::new(BLOCK, &mut outs));
        start.elapsed()
    };
    let mut added = false;
    group.bench_function("block_adopting_a_plan_at_10000", |b| {
        b.iter_custom(|iterations| {
            let mut timed = std::time::Duration::ZERO;
            for _ in 0..iterations {
                added = !added;
                let edit = if added {
                    vec![add(1_000_000, "x", Gain::new()), connect(5, 0, 1_000_000, 0)]
                } else {
                    vec![Edit::RemoveNode { id: NodeId(1_000_000) }]
                };
                engine.apply(edit).unwrap();
                timed += block(&mut executor);
                settle(&mut engine, &mut executor);
            }
            timed
        })
    });
    group.bench_function("block_without_a_plan_at_10000", |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| block(&mut executor)).sum())
    });
    group.finish();
}

criterion_group!(benches, executor_overhead, compile_time);
criterion_main!(benches);
