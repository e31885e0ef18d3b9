//! Note events: MIDI 1.0 channel messages plus per-note expression, timestamped to the sample,
//! and the fixed-capacity, always-sorted buffer they travel in.

/// A MIDI 1.0 channel-voice message, decoded. Channels are 0..=15.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MidiMessage {
    /// Key released.
    NoteOff {
        /// MIDI channel 0..=15.
        channel: u8,
        /// Key number 0..=127.
        key: u8,
        /// Release velocity 0..=127.
        velocity: u8,
    },
    /// Key pressed (a note-on with velocity 0 is decoded as [`MidiMessage::NoteOff`]).
    NoteOn {
        /// MIDI channel 0..=15.
        channel: u8,
        /// Key number 0..=127.
        key: u8,
        /// Velocity 1..=127.
        velocity: u8,
    },
    /// Polyphonic key pressure (aftertouch).
    PolyPressure {
        /// MIDI channel 0..=15.
        channel: u8,
        /// Key number 0..=127.
        key: u8,
        /// Pressure 0..=127.
        pressure: u8,
    },
    /// Control change (CC).
    ControlChange {
        /// MIDI channel 0..=15.
        channel: u8,
        /// Controller number 0..=127 (64 = sustain pedal).
        controller: u8,
        /// Value 0..=127.
        value: u8,
    },
    /// Program change.
    ProgramChange {
        /// MIDI channel 0..=15.
        channel: u8,
        /// Program 0..=127.
        program: u8,
    },
    /// Channel pressure (aftertouch).
    ChannelPressure {
        /// MIDI channel 0..=15.
        channel: u8,
        /// Pressure 0..=127.
        pressure: u8,
    },
    /// Pitch bend, centred on 0.
    PitchBend {
        /// MIDI channel 0..=15.
        channel: u8,
        /// Bend amount, -8192..=8191.
        value: i16,
    },
}

impl MidiMessage {
    /// Decodes a channel-voice message from raw bytes; `None` for system or malformed messages.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let status = *bytes.first()?;
        let channel = status & 0x0f;
        let d1 = || bytes.get(1).copied().filter(|b| *b < 0x80);
        let d2 = || bytes.get(2).copied().filter(|b| *b < 0x80);
        Some(match status & 0xf0 {
            0x80 => MidiMessage::NoteOff { channel, key: d1()?, velocity: d2()? },
            0x90 => match d2()? {
                0 => MidiMessage::NoteOff { channel, key: d1()?, velocity: 64 },
                velocity => MidiMessage::NoteOn { channel, key: d1()?, velocity },
            },
            0xa0 => MidiMessage::PolyPressure { channel, key: d1()?, pressure: d2()? },
            0xb0 => MidiMessage::ControlChange { channel, controller: d1()?, value: d2()? },
            0xc0 => MidiMessage::ProgramChange { channel, program: d1()? },
            0xd0 => MidiMessage::ChannelPressure { channel, pressure: d1()? },
            0xe0 => MidiMessage::PitchBend { channel, value: ((d2()? as i16) << 7 | d1()? as i16) - 8192 },
            _ => return None,
        })
    }

    /// The message as MIDI 1.0 bytes: status and two data bytes (the third is 0 for the
    /// two-byte program change and channel pressure). [`MidiMessage::from_bytes`] reads it back.
    pub fn to_bytes(&self) -> [u8; 3] {
        let status = |kind: u8, channel: u8| kind | (channel & 15);
        match *self {
            MidiMessage::NoteOff { channel, key, velocity } => [status(0x80, channel), key & 127, velocity & 127],
            MidiMessage::NoteOn { channel, key, velocity } => [status(0x90, channel), key & 127, velocity & 127],
            MidiMessage::PolyPressure { channel, key, pressure } => [status(0xa0, channel), key & 127, pressure & 127],
            MidiMessage::ControlChange { channel, controller, value } => {
                [status(0xb0, channel), controller & 127, value & 127]
            }
            MidiMessage::ProgramChange { channel, program } => [status(0xc0, channel), program & 127, 0],
            MidiMessage::ChannelPressure { channel, pressure } => [status(0xd0, channel), pressure & 127, 0],
            MidiMessage::PitchBend { channel, value } => {
                let raw = (value as i32 + 8192).clamp(0, 16_383) as u16;
                [status(0xe0, channel), (raw & 127) as u8, (raw >> 7) as u8]
            }
        }
    }

    /// The channel the message is addressed to.
    pub fn channel(&self) -> u8 {
        match *self {
            MidiMessage::NoteOff { channel, .. }
            | MidiMessage::NoteOn { channel, .. }
            | MidiMessage::PolyPressure { channel, .. }
            | MidiMessage::ControlChange { channel, .. }
            | MidiMessage::ProgramChange { channel, .. }
            | MidiMessage::ChannelPressure { channel, .. }
            | MidiMessage::PitchBend { channel, .. } => channel,
        }
    }

    /// The same message on another channel.
    pub fn with_channel(mut self, new_channel: u8) -> Self {
        match &mut self {
            MidiMessage::NoteOff { channel, .. }
            | MidiMessage::NoteOn { channel, .. }
            | MidiMessage::PolyPressure { channel, .. }
            | MidiMessage::ControlChange { channel, .. }
            | MidiMessage::ProgramChange { channel, .. }
            | MidiMessage::ChannelPressure { channel, .. }
            | MidiMessage::PitchBend { channel, .. } => *channel = new_channel & 0x0f,
        }
        self
    }
}

/// Which per-note dimension a [`NoteExpression`] changes (the CLAP set).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExpressionKind {
    /// Pitch offset in semitones.
    TuningSemitones,
    /// Linear gain, 1.0 = unchanged.
    Volume,
    /// Stereo position, -1 (left) ..= 1 (right).
    Pan,
    /// Timbre brightness, 0..=1.
    Brightness,
    /// Pressure, 0..=1.
    Pressure,
}

/// A change to one sounding note (identified by channel and key), beyond what MIDI 1.0 carries.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct NoteExpression {
    /// MIDI channel 0..=15 of the note.
    pub channel: u8,
    /// Key of the note.
    pub key: u8,
    /// Which dimension changes.
    pub kind: ExpressionKind,
    /// New value, in the unit of `kind`.
    pub value: f32,
}

/// What an event carries.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum EventData {
    /// A MIDI 1.0 channel message.
    Midi(MidiMessage),
    /// Per-note expression.
    Expression(NoteExpression),
}

/// An event at a frame offset within the current chunk.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Event {
    /// Offset in frames from the start of the chunk being processed.
    pub time_frames: u32,
    /// The event itself.
    pub data: EventData,
}

impl Event {
    /// A MIDI event at `time_frames`.
    pub fn midi(time_frames: u32, message: MidiMessage) -> Self {
        Self { time_frames, data: EventData::Midi(message) }
    }
}

/// Returned when an [`EventBuffer`] is full; the event was dropped (and counted).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EventBufferFull;

/// A list of events kept sorted by time (stable for equal times), with a capacity fixed at
/// creation: pushing never allocates, and a full buffer drops and counts instead.
#[derive(Debug)]
pub struct EventBuffer {
    events: Vec<Event>,
    dropped: u32,
}

impl EventBuffer {
    /// An empty buffer holding at most `capacity` events (allocates, so build it off the audio
    /// thread).
    pub fn with_capacity(capacity: usize) -> Self {
        Self { events: Vec::with_capacity(capacity), dropped: 0 }
    }

    /// Inserts an event after all events with the same or an earlier time.
    pub fn push(&mut self, event: Event) -> Result<(), EventBufferFull> {
        if self.events.len() == self.events.capacity() {
            self.dropped = self.dropped.saturating_add(1);
            return Err(EventBufferFull);
        }
        let at = match self.events.last() {
            Some(last) if last.time_frames > event.time_frames => {
                self.events.partition_point(|e| e.time_frames <= event.time_frames)
            }
            _ => self.events.len(),
        };
        self.events.insert(at, event);
        Ok(())
    }

    /// Removes all events (keeps the capacity).
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// The events, sorted by time.
    pub fn as_slice(&self) -> &[Event] {
        &self.events
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Events dropped because the buffer was full, since the last [`EventBuffer::take_dropped`].
    pub fn take_dropped(&mut self) -> u32 {
        std::mem::take(&mut self.dropped)
    }

    /// Events dropped so far (not reset).
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(t: u32, key: u8) -> Event {
        Event::midi(t, MidiMessage::NoteOn { channel: 0, key, velocity: 100 })
    }

    #[test]
    fn every_message_reads_back_from_its_bytes() {
        let messages = [
            MidiMessage::NoteOff { channel: 15, key: 0, velocity: 64 },
            MidiMessage::NoteOn { channel: 9, key: 127, velocity: 1 },
            MidiMessage::PolyPressure { channel: 1, key: 60, pressure: 99 },
            MidiMessage::ControlChange { channel: 2, controller: 74, value: 127 },
            MidiMessage::ProgramChange { channel: 3, program: 33 },
            MidiMessage::ChannelPressure { channel: 4, pressure: 12 },
            MidiMessage::PitchBend { channel: 5, value: -8192 },
            MidiMessage::PitchBend { channel: 5, value: 8191 },
            MidiMessage::PitchBend { channel: 5, value: 0 },
        ];
        for m in messages {
            assert_eq!(MidiMessage::from_bytes(&m.to_bytes()), Some(m), "{:02x?}", m.to_bytes());
        }
        assert_eq!(MidiMessage::NoteOn { channel: 0, key: 60, velocity: 100 }.to_bytes(), [0x90, 60, 100]);
    }

    #[test]
    fn push_keeps_time_order_and_is_stable_for_equal_times() {
        let mut b = EventBuffer::with_capacity(8);
        for (t, k) in [(5, 1), (2, 2), (5, 3), (0, 4), (2, 5)] {
            b.push(on(t, k)).unwrap();
        }
        let order: Vec<(u32, u8)> = b
            .as_slice()
            .iter()
            .map(|e| match e.data {
                EventData::Midi(MidiMessage::NoteOn { key, .. }) => (e.time_frames, key),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![(0, 4), (2, 2), (2, 5), (5, 1), (5, 3)]);
    }

    #[test]
    fn full_buffer_drops_and_counts_without_growing() {
        let mut b = EventBuffer::with_capacity(2);
        b.push(on(0, 1)).unwrap();
        b.push(on(0, 2)).unwrap();
        assert_eq!(b.push(on(0, 3)), Err(EventBufferFull));
        assert_eq!(b.len(), 2);
        assert_eq!(b.take_dropped(), 1);
        assert_eq!(b.events.capacity(), 2);
    }

    #[test]
    fn midi_decoding_maps_velocity_zero_to_note_off_and_centres_bend() {
        assert_eq!(
            MidiMessage::from_bytes(&[0x93, 60, 0]),
            Some(MidiMessage::NoteOff { channel: 3, key: 60, velocity: 64 })
        );
        assert_eq!(MidiMessage::from_bytes(&[0xe0, 0x00, 0x40]), Some(MidiMessage::PitchBend { channel: 0, value: 0 }));
        assert_eq!(
            MidiMessage::from_bytes(&[0xe1, 0x7f, 0x7f]),
            Some(MidiMessage::PitchBend { channel: 1, value: 8191 })
        );
        assert_eq!(MidiMessage::from_bytes(&[0x90, 200, 1]), None);
        assert_eq!(MidiMessage::from_bytes(&[0xf8]), None);
        assert_eq!(MidiMessage::from_bytes(&[]), None);
    }
}
