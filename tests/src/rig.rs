//! A test rig: an engine plus its offline renderer, with short names for the edits tests make.

use std::sync::Arc;

use noderack_graph::{new_engine, Connection, Edit, Engine, EngineConfig, NodeDescription, NodeId, ParamId, PortRef};
use noderack_host::{OfflineRenderer, TimedMidi};
use noderack_nodes::preset_graph::preset_subgraph;
use noderack_nodes::{MidiIn, Output};
use noderack_presets::songwalker::PresetGraph;

/// Node ids used by [`Rig::add_instrument`]: the MIDI input, the instrument and the output.
pub const KEYS: u64 = 1;
/// See [`KEYS`].
pub const INSTRUMENT: u64 = 2;
/// See [`KEYS`].
pub const OUT: u64 = 3;

/// An engine driven offline through the real executor.
pub struct Rig {
    renderer: OfflineRenderer,
}

impl Rig {
    /// A rig with `config`, rendering host blocks of `block_frames`.
    pub fn new(config: EngineConfig, block_frames: usize) -> Self {
        let (engine, executor) = new_engine(config);
        Self { renderer: OfflineRenderer::new(engine, executor, block_frames) }
    }

    /// A stereo 48 kHz rig with a `main` bus.
    pub fn stereo(block_frames: usize) -> Self {
        Self::new(EngineConfig::stereo(48_000.0), block_frames)
    }

    /// The control side.
    pub fn engine(&mut self) -> &mut Engine {
        self.renderer.engine()
    }

    /// The renderer.
    pub fn renderer(&mut self) -> &mut OfflineRenderer {
        &mut self.renderer
    }

    /// Applies a batch, panicking with the engine's message if it is rejected.
    pub fn apply(&mut self, edits: Vec<Edit>) -> Vec<Edit> {
        self.engine().apply(edits).unwrap_or_else(|e| panic!("batch rejected: {e}"))
    }

    /// Adds `midi-in` ([`KEYS`]) → `instrument` ([`INSTRUMENT`], with `params`) → output to the
    /// `main` bus ([`OUT`]): the usual way to hear one node play MIDI.
    pub fn add_instrument(&mut self, instrument: impl NodeDescription, params: Vec<(ParamId, f32)>) -> &mut Self {
        self.apply(vec![
            add(KEYS, "keys", MidiIn::new()),
            add_with(INSTRUMENT, "instrument", instrument, params),
            add(OUT, "out", Output::new("main", 2)),
            connect(KEYS, 0, INSTRUMENT, 0),
            connect(INSTRUMENT, 0, OUT, 0),
        ]);
        self
    }

    /// Adds `midi-in` ([`KEYS`]) → the nodes `graph` becomes (ids from [`INSTRUMENT`] on,
    /// samplers at `sampler_gain_db`) → output to the `main` bus: how a SongWalker preset of
    /// any kind plays.
    pub fn add_preset(&mut self, graph: PresetGraph, sampler_gain_db: f32) -> &mut Self {
        let sub = preset_subgraph(graph, NodeId(INSTRUMENT), "instrument", sampler_gain_db);
        let out = sub.next_id;
        let mut edits = vec![add(KEYS, "keys", MidiIn::new()), add(out.0, "out", Output::new("main", 2))];
        edits.extend(sub.edits);
        edits.extend(
            sub.events_in.iter().map(|&to| Edit::Connect(Connection { from: PortRef::new(NodeId(KEYS), 0), to })),
        );
        edits.push(Edit::Connect(Connection { from: sub.audio_out, to: PortRef::new(out, 0) }));
        self.apply(edits);
        self
    }

    /// Renders `frames` frames with `midi`; one `Vec` per output channel.
    pub fn render(&mut self, frames: u64, midi: &[TimedMidi]) -> Vec<Vec<f32>> {
        self.renderer.render_to_vec(frames, midi)
    }

    /// Processes one host block of `events` into the stereo `out` on this thread with
    /// allocation forbidden: `assert_no_alloc` counts every allocation or free made inside (the
    /// test binary installs `assert_no_alloc::AllocDisabler` as its global allocator).
    pub fn process_without_alloc(&mut self, events: &[noderack_graph::Event], out: &mut [Vec<f32>; 2]) {
        let frames = out[0].len().min(out[1].len());
        let [l, r] = out;
        let mut outs: [&mut [f32]; 2] = [l, r];
        let executor = self.renderer().executor();
        assert_no_alloc::assert_no_alloc(|| {
            executor.process(noderack_graph::HostBlock::new(frames, &mut outs).with_midi(events))
        });
    }
}

/// An `AddNode` edit with default parameters.
pub fn add(id: u64, label: &str, description: impl NodeDescription) -> Edit {
    add_with(id, label, description, vec![])
}

/// An `AddNode` edit with initial parameter values.
pub fn add_with(id: u64, label: &str, description: impl NodeDescription, params: Vec<(ParamId, f32)>) -> Edit {
    Edit::AddNode { id: NodeId(id), label: label.to_string(), description: Arc::new(description), params }
}

/// An `AddNode` edit for a description the test keeps a handle on (to read what the node
/// reports while it plays), with initial parameter values.
pub fn add_shared(id: u64, description: Arc<dyn NodeDescription>, params: Vec<(ParamId, f32)>) -> Edit {
    Edit::AddNode { id: NodeId(id), label: format!("n{id}"), description, params }
}

/// A connection from output `from_port` of `from` to input `to_port` of `to`.
pub fn conn(from: u64, from_port: u16, to: u64, to_port: u16) -> Connection {
    Connection { from: PortRef::new(NodeId(from), from_port), to: PortRef::new(NodeId(to), to_port) }
}

/// A `Connect` edit.
pub fn connect(from: u64, from_port: u16, to: u64, to_port: u16) -> Edit {
    Edit::Connect(conn(from, from_port, to, to_port))
}

/// A `Disconnect` edit.
pub fn disconnect(from: u64, from_port: u16, to: u64, to_port: u16) -> Edit {
    Edit::Disconnect(conn(from, from_port, to, to_port))
}
