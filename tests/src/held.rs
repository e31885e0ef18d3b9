//! Instruments holding many notes, for the voice benchmarks: an engine of `midi-in` →
//! instrument → main bus, notes struck once and played past their attack, and one block of
//! rendering to time.

use noderack_graph::{new_engine, Edit, Engine, EngineConfig, Event, Executor, HostBlock, MidiMessage};
use noderack_nodes::{MidiIn, Output};

use crate::rig::{connect, INSTRUMENT, KEYS, OUT};

/// Blocks played after the note-ons before timing starts (past any attack at 64 frames).
pub const SETTLE_BLOCKS: usize = 200;

/// An instrument holding notes, ready to be timed.
pub struct Held {
    /// The control side (kept alive: dropping it would end the engine).
    pub engine: Engine,
    /// The audio side, to time.
    pub executor: Executor,
    left: Vec<f32>,
    right: Vec<f32>,
}

impl Held {
    /// `instrument` (added with `edit`, as node [`INSTRUMENT`]) striking every (channel, key)
    /// of `notes` at velocity 100, then played for [`SETTLE_BLOCKS`] blocks of `block_frames`.
    pub fn new(instrument: Edit, notes: impl IntoIterator<Item = (u8, u8)>, block_frames: usize) -> Self {
        let (mut engine, executor) = new_engine(EngineConfig::stereo(48_000.0));
        engine
            .apply(vec![
                crate::rig::add(KEYS, "keys", MidiIn::new()),
                instrument,
                crate::rig::add(OUT, "out", Output::new("main", 2)),
                connect(KEYS, 0, INSTRUMENT, 0),
                connect(INSTRUMENT, 0, OUT, 0),
            ])
            .unwrap_or_else(|e| panic!("batch rejected: {e}"));
        let notes: Vec<Event> = notes
            .into_iter()
            .map(|(channel, key)| Event::midi(0, MidiMessage::NoteOn { channel, key, velocity: 100 }))
            .collect();
        let mut held = Self { engine, executor, left: vec![0.0; block_frames], right: vec![0.0; block_frames] };
        held.block(&notes);
        for _ in 1..SETTLE_BLOCKS {
            held.block(&[]);
        }
        held
    }

    /// Renders one block with `midi_in`.
    #[inline]
    pub fn block(&mut self, midi_in: &[Event]) {
        let frames = self.left.len();
        let mut outs: [&mut [f32]; 2] = [&mut self.left, &mut self.right];
        self.executor.process(HostBlock::new(frames, &mut outs).with_midi(midi_in));
    }

    /// The left channel of the last block.
    pub fn left(&self) -> &[f32] {
        &self.left
    }
}
