//! Renders an engine faster than real time, block by block, through the same executor a live
//! audio callback would drive.

use noderack_graph::{Engine, Event, Executor, HostBlock};

use crate::TimedMidi;

/// Drives an engine offline: feeds MIDI at its frames, collects output, runs the control
/// side's maintenance between blocks.
pub struct OfflineRenderer {
    engine: Engine,
    executor: Executor,
    block_frames: usize,
    position_frames: u64,
    scratch: Vec<Vec<f32>>,
    block_events: Vec<Event>,
}

impl OfflineRenderer {
    /// Renders `engine` in host blocks of `block_frames` (any size; the executor splits them).
    pub fn new(engine: Engine, executor: Executor, block_frames: usize) -> Self {
        let channels = engine.config().output_channels();
        let block_frames = block_frames.max(1);
        Self {
            engine,
            executor,
            block_frames,
            position_frames: 0,
            scratch: vec![vec![0.0; block_frames]; channels],
            block_events: Vec::new(),
        }
    }

    /// The control side, for edits between blocks.
    pub fn engine(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The executor (for transport changes).
    pub fn executor(&mut self) -> &mut Executor {
        &mut self.executor
    }

    /// Frames rendered so far.
    pub fn position_frames(&self) -> u64 {
        self.position_frames
    }

    /// Renders `frames` more frames. `midi` holds events at absolute frames, sorted; those
    /// inside the rendered span are played (earlier ones were due before and are skipped).
    /// `sink` receives each block as one slice per output channel.
    pub fn render(&mut self, frames: u64, midi: &[TimedMidi], mut sink: impl FnMut(&[&[f32]])) {
        let end = self.position_frames + frames;
        let mut cursor = midi.partition_point(|e| e.frame < self.position_frames);
        while self.position_frames < end {
            let n = (self.block_frames as u64).min(end - self.position_frames) as usize;
            self.block_events.clear();
            while cursor < midi.len() && midi[cursor].frame < self.position_frames + n as u64 {
                let e = midi[cursor];
                self.block_events.push(Event::midi((e.frame - self.position_frames) as u32, e.message));
                cursor += 1;
            }
            let mut outs: Vec<&mut [f32]> = self.scratch.iter_mut().map(|c| &mut c[..n]).collect();
            {
                // As live: the same samples offline and live, to the last denormal.
                let _flush = crate::denormals::FlushDenormals::new();
                self.executor.process(HostBlock::new(n, &mut outs).with_midi(&self.block_events));
            }
            let views: Vec<&[f32]> = self.scratch.iter().map(|c| &c[..n]).collect();
            sink(&views);
            self.position_frames += n as u64;
            self.engine.maintain();
        }
    }

    /// Renders `frames` frames and returns them, one `Vec` per output channel.
    pub fn render_to_vec(&mut self, frames: u64, midi: &[TimedMidi]) -> Vec<Vec<f32>> {
        let mut out = vec![Vec::with_capacity(frames as usize); self.scratch.len()];
        self.render(frames, midi, |block| {
            for (o, b) in out.iter_mut().zip(block) {
                o.extend_from_slice(b);
            }
        });
        out
    }
}
