//! The audio callback every live backend runs: one [`AudioDriver`] owns the engine's
//! [`Executor`] and everything the audio thread needs around it (live MIDI queues, the clock
//! that places device MIDI inside the block, load and level meters, an optional recording
//! tap). Backends differ only in where buffers and native MIDI come from.

use std::sync::Arc;
use std::time::Instant;

use noderack_graph::{Executor, HostBlock, MidiMessage};

use super::clock::{host_micros, CallbackClock};
use super::health::{Health, HealthWriter};
use super::midi_in::{BlockMidi, MidiReceiver, MidiTarget};
use super::recorder::Tap;
use super::scope::ScopeTap;
use crate::denormals::FlushDenormals;

/// A function every backend callback runs inside (the whole callback, port handling included,
/// is the closure it is given). Tests pass one that counts allocations on the audio thread
/// (`assert_no_alloc`); profilers can mark callbacks.
pub type ProcessGuard = fn(&mut dyn FnMut());

/// Runs `callback` inside `guard`, if there is one.
#[inline]
pub(crate) fn guarded(guard: Option<ProcessGuard>, mut callback: impl FnMut()) {
    match guard {
        Some(guard) => guard(&mut callback),
        None => callback(),
    }
}

/// MIDI a backend hands over natively for the current block (JACK MIDI ports), with frame
/// offsets inside the block.
pub struct NativeMidi<'a> {
    midi: &'a mut BlockMidi,
    frames: usize,
}

impl NativeMidi<'_> {
    /// Adds the channel message in `bytes` at `time_frames` into the block for `target`
    /// (system messages are ignored; times past the block are played at its last frame).
    pub fn push(&mut self, target: MidiTarget, time_frames: u32, bytes: &[u8]) {
        if let Some(message) = MidiMessage::from_bytes(bytes) {
            let time = time_frames.min(self.frames.saturating_sub(1) as u32);
            self.midi.push(target, time, message);
        }
    }
}

/// The engine's audio-thread half plus what live playback adds around it. Built on the control
/// thread, then moved into a backend's callback.
pub struct AudioDriver {
    executor: Executor,
    sample_rate: f64,
    /// Engine frame at the start of the next block.
    frame: u64,
    clock: CallbackClock,
    queues: Vec<MidiReceiver>,
    midi: BlockMidi,
    health: HealthWriter,
    tap: Option<Tap>,
    scope: Option<ScopeTap>,
    guard: Option<ProcessGuard>,
}

impl AudioDriver {
    /// A driver running `executor` at `sample_rate`, reporting to `health` and taking live MIDI
    /// from `queues`.
    pub fn new(executor: Executor, sample_rate: u32, health: Arc<Health>, queues: Vec<MidiReceiver>) -> Self {
        Self {
            executor,
            sample_rate: sample_rate as f64,
            frame: 0,
            clock: CallbackClock::new(sample_rate as f64),
            queues,
            midi: BlockMidi::new(),
            health: HealthWriter::new(health),
            tap: None,
            scope: None,
            guard: None,
        }
    }

    /// The same driver copying everything it plays into `tap` (a recording).
    pub fn with_tap(mut self, tap: Tap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// The same driver copying its first bus into `scope` (a live oscilloscope).
    pub fn with_scope(mut self, scope: ScopeTap) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The same driver, whose backend runs every callback inside `guard`.
    pub fn with_guard(mut self, guard: ProcessGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The guard backends run each callback inside.
    pub fn guard(&self) -> Option<ProcessGuard> {
        self.guard
    }

    /// The health it reports to.
    pub fn health(&self) -> &Arc<Health> {
        self.health.health()
    }

    /// The executor (its transport, for hosts that have their own musical time).
    pub fn executor_mut(&mut self) -> &mut Executor {
        &mut self.executor
    }

    /// Sample rate the engine runs at.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate as u32
    }

    /// Renders one block of `frames` frames into `outputs` (one slice per output channel, bus
    /// by bus) from `inputs` (one slice per input channel). `native` adds the backend's own
    /// MIDI for the block. Real-time safe: no allocation, lock or system call.
    pub fn process(
        &mut self,
        frames: usize,
        outputs: &mut [&mut [f32]],
        inputs: &[&[f32]],
        native: impl FnOnce(&mut NativeMidi<'_>),
    ) {
        let started = Instant::now();
        let _flush = FlushDenormals::new();
        if frames == 0 {
            return;
        }
        self.clock.callback(self.frame, host_micros(), frames);
        self.health.clock(&self.clock);
        self.midi.clear();
        native(&mut NativeMidi { midi: &mut self.midi, frames });
        let health = self.health.health();
        self.midi.collect(&mut self.queues, self.frame, frames, &self.clock, frames as u64, health);
        let block = HostBlock::new(frames, outputs)
            .with_inputs(inputs)
            .with_midi(self.midi.all.as_slice())
            .with_node_midi(&self.midi.nodes);
        self.executor.process(block);
        self.frame += frames as u64;
        self.health.levels(outputs, frames, self.sample_rate);
        if let Some(tap) = self.tap.as_mut() {
            tap.push(outputs, frames, self.health.health());
        }
        if let Some(scope) = self.scope.as_mut() {
            scope.push(outputs, frames);
        }
        self.health.callback(started.elapsed(), frames, self.sample_rate);
    }
}
