//! Live MIDI on its way to the audio thread. Every source (a MIDI device, a MIDI file being
//! played, a JACK MIDI client) pushes [`LiveMidi`] into its own lock-free queue; the audio
//! thread takes from each queue what falls inside the block it is rendering and leaves later
//! events queued. Events carry their time as an engine frame (exact: files, JACK), as host
//! microseconds (devices: mapped through the callback clock) or as "now".

use std::sync::Arc;

use noderack_graph::{Event, EventBuffer, MidiMessage, NodeEvent, NodeId};

use super::clock::CallbackClock;
use super::health::Health;

/// When a live MIDI event should sound.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum MidiTime {
    /// At the start of the next block.
    Now,
    /// At this engine frame (events for earlier frames play at the start of the next block).
    Frame(u64),
    /// At this host time ([`super::clock::host_micros`]) plus one block: the block being
    /// rendered when the event arrived is already late for it, so every such event is
    /// delayed by the same amount and keeps its distance from the others.
    HostMicros(u64),
}

/// Which `midi-in` nodes a live event goes to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MidiTarget {
    /// Every `midi-in` node.
    All,
    /// One `midi-in` node.
    Node(NodeId),
}

/// A MIDI channel message with its time and destination.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LiveMidi {
    /// When it sounds.
    pub time: MidiTime,
    /// Where it goes.
    pub target: MidiTarget,
    /// The message.
    pub message: MidiMessage,
}

/// The sending end of a live MIDI queue (owned by one source thread).
pub struct MidiSender {
    producer: rtrb::Producer<LiveMidi>,
    health: Arc<Health>,
}

/// The receiving end of a live MIDI queue, handed to the [`super::AudioDriver`].
pub struct MidiReceiver {
    consumer: rtrb::Consumer<LiveMidi>,
}

/// A queue for one MIDI source holding up to `capacity` events; events that do not fit are
/// dropped and counted in `health`.
pub fn midi_queue(capacity: usize, health: Arc<Health>) -> (MidiSender, MidiReceiver) {
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    (MidiSender { producer, health }, MidiReceiver { consumer })
}

impl MidiSender {
    /// Queues `event`; false (and counted as dropped) if the queue is full.
    pub fn send(&mut self, event: LiveMidi) -> bool {
        let sent = self.producer.push(event).is_ok();
        if !sent {
            self.health.midi_dropped(1);
        }
        sent
    }

    /// Decodes raw MIDI bytes and queues the channel message; system messages (clock, sysex)
    /// are ignored. False if the queue was full.
    pub fn send_bytes(&mut self, time: MidiTime, target: MidiTarget, bytes: &[u8]) -> bool {
        match MidiMessage::from_bytes(bytes) {
            Some(message) => self.send(LiveMidi { time, target, message }),
            None => true,
        }
    }

    /// Room left in the queue.
    pub fn free_slots(&self) -> usize {
        self.producer.slots()
    }

    /// The health this queue reports to.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }
}

/// The MIDI of one block, gathered on the audio thread into fixed-capacity lists (sorted by
/// time) before the engine renders it.
pub(crate) struct BlockMidi {
    pub(crate) all: EventBuffer,
    pub(crate) nodes: Vec<NodeEvent>,
    /// Events that did not fit, to be counted.
    pub(crate) dropped: u64,
}

/// Events one block can carry, over all sources and nodes. A dense MIDI file peaks at a few
/// hundred per 10 ms; a block is at most a few thousand frames.
pub(crate) const BLOCK_MIDI_CAPACITY: usize = 4096;

impl BlockMidi {
    pub(crate) fn new() -> Self {
        Self {
            all: EventBuffer::with_capacity(BLOCK_MIDI_CAPACITY),
            nodes: Vec::with_capacity(BLOCK_MIDI_CAPACITY),
            dropped: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.all.clear();
        self.all.take_dropped();
        self.nodes.clear();
        self.dropped = 0;
    }

    /// Adds `message` at `time_frames` (relative to the block) for `target`.
    pub(crate) fn push(&mut self, target: MidiTarget, time_frames: u32, message: MidiMessage) {
        let event = Event::midi(time_frames, message);
        match target {
            MidiTarget::All => {
                if self.all.push(event).is_err() {
                    self.dropped += 1;
                }
            }
            MidiTarget::Node(node) => {
                if self.nodes.len() == self.nodes.capacity() {
                    self.dropped += 1;
                    return;
                }
                // Sorted by time, stable: after every event at the same or an earlier time.
                let at = self.nodes.partition_point(|e| e.event.time_frames <= time_frames);
                self.nodes.insert(at, NodeEvent { node, event });
            }
        }
    }

    /// Takes from `queues` every event due before `block_start + frames`, placing it at its
    /// frame in the block. `clock` maps host times; such events are delayed by
    /// `latency_frames` (see [`MidiTime::HostMicros`]). Events due later stay queued.
    pub(crate) fn collect(
        &mut self,
        queues: &mut [MidiReceiver],
        block_start: u64,
        frames: usize,
        clock: &CallbackClock,
        latency_frames: u64,
        health: &Health,
    ) {
        let block_end = block_start + frames as u64;
        for queue in queues.iter_mut() {
            while let Ok(event) = queue.consumer.peek() {
                let due = match event.time {
                    MidiTime::Now => block_start,
                    MidiTime::Frame(frame) => frame,
                    MidiTime::HostMicros(micros) if clock.is_running() => {
                        (clock.frame_at(micros).max(0.0) as u64).saturating_add(latency_frames)
                    }
                    MidiTime::HostMicros(_) => block_start,
                };
                if due >= block_end {
                    break; // the queue is in time order: the rest is later still
                }
                let Ok(event) = queue.consumer.pop() else { break };
                if due < block_start && event.time != MidiTime::Now {
                    health.midi_late();
                }
                let offset = due.saturating_sub(block_start) as u32;
                self.push(event.target, offset, event.message);
            }
        }
        if self.dropped > 0 {
            health.midi_dropped(self.dropped);
        }
    }
}
