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
//! Run: `cargo bench -p noderack-tests --bench clap_hosting`

use std::path::Path;
use std::sync::Arc;

use clack_host::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion};
use noderack_graph::{new_engine, BusSpec, Edit, EngineConfig, Event, Executor, HostBlock, MidiMessage, NodeId};
use noderack_host::clap::handlers::{audio_state, host_info, MainThreadState, NoderackHost, Requests};
use noderack_host::clap::scan::load_entry;
use noderack_host::clap::ClapNode;
use noderack_nodes::{AudioIn, MidiIn, Output};
use noderack_tests::clap_plugins::{test_instrument_library, TEST_INSTRUMENT_ID};
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

fn bench_node(c: &mut Criterion, name: &str, path: &Path, id: &str, input: bool, block: usize) {
    let mut executor = node_executor(path, id, input, block);
    let (mut left, mut right) = (vec![0.0f32; block], vec![0.0f32; block]);
    let (in_left, in_right) = (tone(block), tone(block));
    c.bench_function(&format!("{name}: through the clap node, one {block}-frame block"), |b| {
        b.iter(|| {
            let inputs: [&[f32]; 2] = [&in_left, &in_right];
            let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
            executor.process(HostBlock::new(block, &mut outs).with_inputs(&inputs));
        })
    });
}

fn bench_bare(c: &mut Criterion, name: &str, path: &Path, id: &str, input: bool, block: usize) {
    let entry = load_entry(path).expect("the plugin");
    let c_id = std::ffi::CString::new(id).unwrap();
    let mut instance = PluginInstance::<NoderackHost>::new(
        |_| Requests::new(),
        |requests| MainThreadState { requests },
        &entry,
        &c_id,
        &host_info(),
    )
    .expect("an instance");
    let config = PluginAudioConfiguration { sample_rate: SR, min_frames_count: 1, max_frames_count: block as u32 };
    let processor = instance.activate(audio_state, config).expect("activation");
    let mut processor = processor.start_processing().expect("processing");
    let mut in_ports = AudioPorts::with_capacity(3, 2);
    let mut out_ports = AudioPorts::with_capacity(2, 1);
    let (mut in_left, mut in_right, mut side) = (tone(block), tone(block), vec![0.0f32; block]);
    let source = tone(block);
    let mut outputs = [vec![0.0f32; block], vec![0.0f32; block]];
    let mut events = EventBuffer::with_capacity(64);
    let mut plugin_events = EventBuffer::with_capacity(64);
    if !input {
        for key in KEYS {
            let pckn = Pckn::new(0u16, 0u16, key as u16, clack_host::events::Match::All);
            events.push(&clack_host::events::event_types::NoteOnEvent::new(0, pckn, 100.0 / 127.0));
        }
    }
    let mut steady = 0u64;
    let mut run = |events: &EventBuffer| {
        // The same copy-in a host does from its own buffers.
        if input {
            in_left.copy_from_slice(&source);
            in_right.copy_from_slice(&source);
            side.fill(0.0);
        }
        let ins = if input {
            // The main stereo input and the (silent) mono side-chain, as the node passes them.
            in_ports.with_input_buffers([
                AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_input_only(
                        [Some(InputChannel::variable(&mut in_left)), Some(InputChannel::variable(&mut in_right))]
                            .into_iter()
                            .flatten(),
                    ),
                },
                AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_input_only(
                        [Some(InputChannel::variable(&mut side)), None].into_iter().flatten(),
                    ),
                },
            ])
        } else {
            InputAudioBuffers::empty()
        };
        let mut outs = out_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(outputs.iter_mut().map(|b| b.as_mut_slice())),
        }]);
        plugin_events.clear();
        processor
            .process(&ins, &mut outs, &events.as_input(), &mut plugin_events.as_output(), Some(steady), None)
            .expect("a process call");
        steady += block as u64;
    };
    run(&events);
    let none = EventBuffer::new();
    c.bench_function(&format!("{name}: bare clack-host loop, one {block}-frame block"), |b| b.iter(|| run(&none)));
    instance.deactivate(processor.stop_processing());
}

fn hosting(c: &mut Criterion) {
    let ours = test_instrument_library();
    let zam = Path::new("/usr/lib/clap/ZamCompX2.clap");
    if !zam.is_file() {
        eprintln!("ZamCompX2 is not installed (Debian package zam-plugins): only the test instrument is measured");
    }
    for block in BLOCKS {
        bench_bare(c, "test instrument, 8 notes", &ours, TEST_INSTRUMENT_ID, false, block);
        bench_node(c, "test instrument, 8 notes", &ours, TEST_INSTRUMENT_ID, false, block);
        if zam.is_file() {
            bench_bare(c, "ZamCompX2 on a loud tone", zam, "com.zamaudio.ZamCompX2", true, block);
            bench_node(c, "ZamCompX2 on a loud tone", zam, "com.zamaudio.ZamCompX2", true, block);
        }
    }
}

criterion_group!(benches, hosting);
criterion_main!(benches);
