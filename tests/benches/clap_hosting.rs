//! The cost of hosting a CLAP plugin as a node (figures in docs/PERFORMANCE.md): one block of
//! a plugin through the `clap` node in the executor, against the same plugin driven by a bare
//! clack-host loop, same block size, same input, same events.
//!
//! - our test instrument holding 8 notes (no audio input): node graph `midi-in → clap → out`;
//! - ZamCompX2 (when installed) compressing a loud stereo tone: node graph `audio-in → clap →
//!   out`, the tone given as the host's input, the bare loop copying the same tone in (and a
//!   silent side-chain, as the node gives an unconnected one).
//!
//! What differs: the node side also runs the executor (the `midi-in`/`audio-in` and `output`
//! nodes, buffer hand-over), copies the input into the plugin's buffers and the output out,
//! scans it for non-finite samples and builds a transport event. That is the cost of hosting.
//!
//! Besides criterion's figure for each side, each pair is measured in turns (`paired`: rounds
//! of blocks of each side, alternating, medians per block) so that a noisy machine's drifts fall
//! on both sides alike; that ratio is the one to quote.
//!
//! Run: `cargo bench -p noderack-tests --bench clap_hosting`

use std::path::Path;
use std::sync::Arc;

use clack_host::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion};
use noderack_graph::{new_engine, BusSpec, Edit, EngineConfig, Event, Executor, HostBlock, MidiMessage, NodeId};
use noderack_host::clap::handlers::{audio_state, NoderackHost};
use noderack_host::clap::plugin_thread::instantiate;
use noderack_host::clap::ClapNode;
use noderack_nodes::{AudioIn, MidiIn, Output};
use noderack_tests::clap_plugins::{test_instrument_library, TEST_INSTRUMENT_ID};
use noderack_tests::median;
use noderack_tests::rig::{add, connect};

/// Block sizes measured.
const BLOCKS: [usize; 2] = [64, 256];
const SR: f64 = 48_000.0;
const KEYS: [u8; 8] = [48, 52, 55, 60, 64, 67, 72, 76];

/// The graph around the plugin, with the notes started (if it takes notes) by a first block.
fn node_executor(path: &Path, id: &str, input: bool, block: usize) -> Executor {
    let node = ClapNode::new(path, id, None).expect("the plugin");
    let config = EngineConfig {
        sample_rate: SR as f32,
        max_block_frames: block,
        buses: vec![BusSpec::stereo("main")],
        inputs: if input { vec![BusSpec::stereo("in")] } else { vec![] },
    };
    let (mut engine, mut executor) = new_engine(config);
    let source = if input { add(1, "in", AudioIn::new("in", 2)) } else { add(1, "keys", MidiIn::new()) };
    engine
        .apply(vec![
            source,
            Edit::AddNode { id: NodeId(2), label: "plugin".into(), description: Arc::new(node), params: vec![] },
            add(3, "out", Output::new("main", 2)),
            connect(1, 0, 2, 0),
            connect(2, 0, 3, 0),
        ])
        .expect("the graph");
    let notes: Vec<Event> =
        KEYS.iter().map(|&key| Event::midi(0, MidiMessage::NoteOn { channel: 0, key, velocity: 100 })).collect();
    let (mut left, mut right) = (vec![0.0f32; block], vec![0.0f32; block]);
    let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
    executor.process(HostBlock::new(block, &mut outs).with_midi(if input { &[] } else { &notes }));
    executor
}

fn tone(block: usize) -> Vec<f32> {
    (0..block).map(|i| (i as f32 * 0.07).sin() * 0.9).collect()
}

/// One block at a time of a plugin through the `clap` node in the executor.
struct ThroughNode {
    executor: Executor,
    outputs: [Vec<f32>; 2],
    inputs: [Vec<f32>; 2],
    block: usize,
}

impl ThroughNode {
    fn new(path: &Path, id: &str, input: bool, block: usize) -> Self {
        let executor = node_executor(path, id, input, block);
        Self { executor, outputs: [vec![0.0; block], vec![0.0; block]], inputs: [tone(block), tone(block)], block }
    }

    fn block(&mut self) {
        let inputs: [&[f32]; 2] = [&self.inputs[0], &self.inputs[1]];
        let [left, right] = &mut self.outputs;
        let mut outs: [&mut [f32]; 2] = [left, right];
        self.executor.process(HostBlock::new(self.block, &mut outs).with_inputs(&inputs));
    }
}

/// One block at a time of the same plugin driven by a bare clack-host loop.
struct Bare {
    instance: PluginInstance<NoderackHost>,
    processor: Option<StartedPluginAudioProcessor<NoderackHost>>,
    in_ports: AudioPorts,
    out_ports: AudioPorts,
    /// Main input (stereo) and side-chain, as the node passes them; the source they copy.
    ins: [Vec<f32>; 3],
    source: Vec<f32>,
    outputs: [Vec<f32>; 2],
    plugin_events: EventBuffer,
    input: bool,
    steady: u64,
}

impl Bare {
    fn new(path: &Path, id: &str, input: bool, block: usize) -> Self {
        let mut instance = instantiate(path, id).expect("an instance");
        let config = PluginAudioConfiguration { sample_rate: SR, min_frames_count: 1, max_frames_count: block as u32 };
        let processor = instance.activate(audio_state, config).expect("activation");
        let processor = processor.start_processing().expect("processing");
        let mut bare = Self {
            instance,
            processor: Some(processor),
            in_ports: AudioPorts::with_capacity(3, 2),
            out_ports: AudioPorts::with_capacity(2, 1),
            ins: [tone(block), tone(block), vec![0.0; block]],
            source: tone(block),
            outputs: [vec![0.0; block], vec![0.0; block]],
            plugin_events: EventBuffer::with_capacity(64),
            input,
            steady: 0,
        };
        let mut notes = EventBuffer::with_capacity(64);
        if !input {
            for key in KEYS {
                let pckn = Pckn::new(0u16, 0u16, key as u16, clack_host::events::Match::All);
                notes.push(&clack_host::events::event_types::NoteOnEvent::new(0, pckn, 100.0 / 127.0));
            }
        }
        bare.run(&notes);
        bare
    }

    fn block(&mut self) {
        self.run(&EventBuffer::new());
    }

    fn run(&mut self, events: &EventBuffer) {
        let [in_left, in_right, side] = &mut self.ins;
        let ins = if self.input {
            // The same copy-in a host does from its own buffers.
            in_left.copy_from_slice(&self.source);
            in_right.copy_from_slice(&self.source);
            side.fill(0.0);
            // The main stereo input and the (silent) mono side-chain, as the node passes them.
            self.in_ports.with_input_buffers([
                AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_input_only(
                        [Some(InputChannel::variable(in_left)), Some(InputChannel::variable(in_right))]
                            .into_iter()
                            .flatten(),
                    ),
                },
                AudioPortBuffer {
                    latency: 0,
                    // Both ports' channel lists must be one type: an array of two, one absent.
                    channels: AudioPortBufferType::f32_input_only(
                        [Some(InputChannel::variable(side)), None].into_iter().flatten(),
                    ),
                },
            ])
        } else {
            InputAudioBuffers::empty()
        };
        let mut outs = self.out_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(self.outputs.iter_mut().map(|b| b.as_mut_slice())),
        }]);
        self.plugin_events.clear();
        let processor = self.processor.as_mut().expect("processing");
        processor
            .process(&ins, &mut outs, &events.as_input(), &mut self.plugin_events.as_output(), Some(self.steady), None)
            .expect("a process call");
        self.steady += self.outputs[0].len() as u64;
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        if let Some(processor) = self.processor.take() {
            self.instance.deactivate(processor.stop_processing());
        }
    }
}

/// Median of `times`, in nanoseconds per block.
/// The two sides measured in turns: 400 rounds of 500 blocks of each, alternating, so that the
/// machine's slow drifts (other tenants, frequency changes) fall on both alike. Prints each
/// side's median per block and their ratio.
fn paired(name: &str, bare: &mut Bare, node: &mut ThroughNode, block: usize) {
    const ROUNDS: usize = 400;
    const BLOCKS_PER_ROUND: usize = 500;
    let (mut bare_times, mut node_times) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for round in 0..ROUNDS {
        // Alternate which side goes first, too.
        for side in [round % 2, 1 - round % 2] {
            let start = std::time::Instant::now();
            for _ in 0..BLOCKS_PER_ROUND {
                if side == 0 {
                    bare.block();
                } else {
                    node.block();
                }
            }
            let ns = start.elapsed().as_nanos() as f64 / BLOCKS_PER_ROUND as f64;
            if side == 0 {
                bare_times.push(ns);
            } else {
                node_times.push(ns);
            }
        }
    }
    let (b, n) = (median(bare_times), median(node_times));
    println!("paired, {name}, {block} frames: bare {b:.0} ns, node {n:.0} ns, ratio {:.3}", n / b);
}

fn measure(c: &mut Criterion, name: &str, path: &Path, id: &str, input: bool, block: usize) {
    let mut bare = Bare::new(path, id, input, block);
    let mut node = ThroughNode::new(path, id, input, block);
    c.bench_function(&format!("{name}: bare clack-host loop, one {block}-frame block"), |b| b.iter(|| bare.block()));
    c.bench_function(&format!("{name}: through the clap node, one {block}-frame block"), |b| b.iter(|| node.block()));
    paired(name, &mut bare, &mut node, block);
}

fn hosting(c: &mut Criterion) {
    let ours = test_instrument_library();
    let zam = Path::new("/usr/lib/clap/ZamCompX2.clap");
    if !zam.is_file() {
        eprintln!("ZamCompX2 is not installed (Debian package zam-plugins): only the test instrument is measured");
    }
    for block in BLOCKS {
        measure(c, "test instrument, 8 notes", &ours, TEST_INSTRUMENT_ID, false, block);
        if zam.is_file() {
            measure(c, "ZamCompX2 on a loud tone", zam, "com.zamaudio.ZamCompX2", true, block);
        }
    }
}

criterion_group!(benches, hosting);
criterion_main!(benches);
