//! Which notes (and sustain pedals) are held through one event connection, so that removing the
//! connection can release them instead of leaving them hanging in the destination.

use crate::plan::ConnectionKey;
use crate::{Event, EventBuffer, EventData, MidiMessage};

/// Held notes (one bit per channel and key) and pedals (one bit per channel) seen on one
/// connection. Fixed size; updating and releasing never allocate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NoteTracker {
    pub(crate) key: ConnectionKey,
    /// Index of the same connection's tracker in the plan this one replaces (the executor
    /// adopts plans in the order they were compiled, so that plan is the one it is running).
    pub(crate) previous: Option<u32>,
    held: [u128; 16],
    pedal: u16,
}

impl NoteTracker {
    pub(crate) fn new(key: ConnectionKey, previous: Option<u32>) -> Self {
        Self { key, previous, held: [0; 16], pedal: 0 }
    }

    /// Takes over the state of the same connection in the previous plan.
    pub(crate) fn continue_from(&mut self, previous: &NoteTracker) {
        self.held = previous.held;
        self.pedal = previous.pedal;
    }

    /// Updates the held notes and pedals from the events that passed in this chunk.
    pub(crate) fn observe(&mut self, events: &[Event]) {
        for e in events {
            let EventData::Midi(m) = e.data else { continue };
            match m {
                MidiMessage::NoteOn { channel, key, .. } => self.held[channel as usize & 15] |= 1 << (key & 127),
                MidiMessage::NoteOff { channel, key, .. } => self.held[channel as usize & 15] &= !(1 << (key & 127)),
                MidiMessage::ControlChange { channel, controller: 64, value } => {
                    let bit = 1u16 << (channel & 15);
                    if value >= 64 {
                        self.pedal |= bit;
                    } else {
                        self.pedal &= !bit;
                    }
                }
                MidiMessage::ControlChange { channel, controller: 120 | 123..=127, .. } => {
                    self.held[channel as usize & 15] = 0;
                }
                _ => {}
            }
        }
    }

    /// Writes a note-off for every held note and a pedal-up for every held pedal, at the start
    /// of the chunk, and forgets them (so they are released once).
    pub(crate) fn release_into(&mut self, out: &mut EventBuffer) {
        for channel in 0..16u8 {
            let mut keys = std::mem::take(&mut self.held[channel as usize]);
            while keys != 0 {
                let key = keys.trailing_zeros() as u8;
                keys &= keys - 1;
                let _ = out.push(Event::midi(0, MidiMessage::NoteOff { channel, key, velocity: 64 }));
            }
            if self.pedal & (1 << channel) != 0 {
                let _ = out.push(Event::midi(0, MidiMessage::ControlChange { channel, controller: 64, value: 0 }));
            }
        }
        self.pedal = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SlotKey;

    fn key() -> ConnectionKey {
        let s = SlotKey { index: 0, generation: 0 };
        ConnectionKey { from: s, from_port: 0, to: s, to_port: 0 }
    }

    fn midi(m: MidiMessage) -> Event {
        Event::midi(3, m)
    }

    #[test]
    fn releases_exactly_the_notes_and_pedals_still_held() {
        let mut t = NoteTracker::new(key(), None);
        t.observe(&[
            midi(MidiMessage::NoteOn { channel: 0, key: 60, velocity: 90 }),
            midi(MidiMessage::NoteOn { channel: 0, key: 64, velocity: 90 }),
            midi(MidiMessage::NoteOn { channel: 9, key: 127, velocity: 90 }),
            midi(MidiMessage::NoteOff { channel: 0, key: 60, velocity: 0 }),
            midi(MidiMessage::ControlChange { channel: 2, controller: 64, value: 127 }),
        ]);
        let mut out = EventBuffer::with_capacity(16);
        t.release_into(&mut out);
        let got: Vec<MidiMessage> = out
            .as_slice()
            .iter()
            .map(|e| match e.data {
                EventData::Midi(m) => m,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                MidiMessage::NoteOff { channel: 0, key: 64, velocity: 64 },
                MidiMessage::ControlChange { channel: 2, controller: 64, value: 0 },
                MidiMessage::NoteOff { channel: 9, key: 127, velocity: 64 },
            ]
        );
        assert!(out.as_slice().iter().all(|e| e.time_frames == 0));
        let mut again = EventBuffer::with_capacity(16);
        t.release_into(&mut again);
        assert!(again.is_empty(), "released once only");
    }

    #[test]
    fn all_notes_off_and_pedal_up_clear_the_state() {
        let mut t = NoteTracker::new(key(), None);
        t.observe(&[
            midi(MidiMessage::NoteOn { channel: 1, key: 1, velocity: 1 }),
            midi(MidiMessage::ControlChange { channel: 1, controller: 64, value: 100 }),
            midi(MidiMessage::ControlChange { channel: 1, controller: 123, value: 0 }),
            midi(MidiMessage::ControlChange { channel: 1, controller: 64, value: 0 }),
        ]);
        let mut out = EventBuffer::with_capacity(4);
        t.release_into(&mut out);
        assert!(out.is_empty());
    }
}
