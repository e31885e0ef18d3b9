//! `transpose`: shifts notes by a whole number of semitones.
//!
//! A note is transposed by the amount in effect at its note-on, and everything that belongs to
//! it afterwards (note-off, polyphonic pressure, note expressions) gets the same key, even if
//! `semitones` changed while the note was held, so changing the transposition mid-phrase never
//! leaves a note stuck. A note pushed outside 0 ..= 127 is dropped, and so is everything that
//! belongs to it. Channel-wide messages pass unchanged. Events for notes the node never saw
//! begin (held before it was created) are transposed by the current amount.

use noderack_graph::{
    Event, EventData, MidiMessage, NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, PortKind, PortSpec,
    ProcessConfig, ProcessContext, Processor, Unit,
};

/// Event input port index.
pub const IN: usize = 0;
/// Event output port index.
pub const OUT: usize = 0;
/// Transposition in semitones, -48 ..= 48, default 0. Rounded to a whole semitone and not
/// smoothed: a change takes effect exactly at its frame, for notes starting from then on.
pub const SEMITONES: ParamId = ParamId(0);

/// Description of a `transpose` node.
pub struct Transpose {
    signature: NodeSignature,
}

impl Transpose {
    /// Kind name in patch files.
    pub const KIND: &'static str = "transpose";

    /// A transposer, by 0 semitones until `semitones` is set.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::Events)],
                    outputs: vec![PortSpec::new("out", PortKind::Events)],
                },
                params: vec![
                    ParamSpec::continuous("semitones", -48.0, 48.0, 0.0, Unit::Semitones).with_smoothing_seconds(0.0)
                ],
            },
        }
    }
}

impl Default for Transpose {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Transpose {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(TransposeProcessor { mapper: Mapper::new() })
    }
}

/// Entry of [`Mapper::held`] for a key with no note held.
const NOT_HELD: u8 = 0xff;
/// Entry of [`Mapper::held`] for a held note that was transposed out of range and dropped.
const DROPPED: u8 = 0xfe;

/// The transposer's decisions, kept apart from the engine so they can be tested directly.
struct Mapper {
    /// For each channel and input key: the key its held note was sent as (0 ..= 127),
    /// [`DROPPED`] or [`NOT_HELD`].
    held: [[u8; 128]; 16],
}

/// `key` moved by `semitones`, or [`DROPPED`] when that leaves 0 ..= 127.
#[inline]
fn shifted(key: u8, semitones: i32) -> u8 {
    let k = key as i32 + semitones;
    if (0..=127).contains(&k) {
        k as u8
    } else {
        DROPPED
    }
}

impl Mapper {
    fn new() -> Self {
        Self { held: [[NOT_HELD; 128]; 16] }
    }

    /// Transposes one event by `semitones` (the amount in effect at its time), handing the
    /// result (zero, one or two events) to `emit`.
    fn map(&mut self, event: &Event, semitones: i32, mut emit: impl FnMut(Event)) {
        let time = event.time_frames;
        match event.data {
            EventData::Midi(MidiMessage::NoteOn { channel, key, velocity }) if velocity > 0 => {
                let to = shifted(key, semitones);
                let slot = &mut self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize];
                // A repeated note-on that now maps elsewhere: release the first one.
                if *slot <= 127 && *slot != to {
                    emit(Event::midi(time, MidiMessage::NoteOff { channel, key: *slot, velocity: 64 }));
                }
                *slot = to;
                if to <= 127 {
                    emit(Event::midi(time, MidiMessage::NoteOn { channel, key: to, velocity }));
                }
            }
            EventData::Midi(MidiMessage::NoteOn { channel, key, .. } | MidiMessage::NoteOff { channel, key, .. }) => {
                let velocity = match event.data {
                    EventData::Midi(MidiMessage::NoteOff { velocity, .. }) => velocity,
                    _ => 64, // a note-on with velocity 0 is a note-off
                };
                let slot = &mut self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize];
                let to = match std::mem::replace(slot, NOT_HELD) {
                    NOT_HELD => shifted(key, semitones),
                    to => to,
                };
                if to <= 127 {
                    emit(Event::midi(time, MidiMessage::NoteOff { channel, key: to, velocity }));
                }
            }
            EventData::Midi(MidiMessage::PolyPressure { channel, key, pressure }) => {
                let to = self.note_key(channel, key, semitones);
                if to <= 127 {
                    emit(Event::midi(time, MidiMessage::PolyPressure { channel, key: to, pressure }));
                }
            }
            EventData::Midi(_) => emit(*event),
            EventData::Expression(mut expression) => {
                let to = self.note_key(expression.channel, expression.key, semitones);
                if to <= 127 {
                    expression.key = to;
                    emit(Event { time_frames: time, data: EventData::Expression(expression) });
                }
            }
        }
    }

    /// Key for an event belonging to a note: its note-on's, else the current mapping.
    fn note_key(&self, channel: u8, key: u8, semitones: i32) -> u8 {
        match self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize] {
            NOT_HELD => shifted(key, semitones),
            to => to,
        }
    }
}

struct TransposeProcessor {
    mapper: Mapper,
}

impl Processor for TransposeProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let events = ctx.inputs().events(IN);
        let semitones = ctx.params().get(SEMITONES);
        let mut outputs = ctx.outputs();
        let Some(out) = outputs.events_mut(OUT) else { return };
        for event in events {
            let amount = semitones.at(event.time_frames as usize).round().clamp(-48.0, 48.0) as i32;
            // A full buffer drops the event and counts it; nothing else to do on this thread.
            self.mapper.map(event, amount, |e| {
                let _ = out.push(e);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noderack_graph::{ExpressionKind, NoteExpression};

    fn run(mapper: &mut Mapper, semitones: i32, message: MidiMessage) -> Vec<MidiMessage> {
        let mut out = Vec::new();
        mapper.map(&Event::midi(11, message), semitones, |e| {
            assert_eq!(e.time_frames, 11, "events keep their time");
            match e.data {
                EventData::Midi(m) => out.push(m),
                EventData::Expression(_) => unreachable!(),
            }
        });
        out
    }

    fn on(key: u8) -> MidiMessage {
        MidiMessage::NoteOn { channel: 1, key, velocity: 77 }
    }

    fn off(key: u8) -> MidiMessage {
        MidiMessage::NoteOff { channel: 1, key, velocity: 64 }
    }

    #[test]
    fn notes_move_by_the_amount_and_channel_messages_pass() {
        let mut m = Mapper::new();
        assert_eq!(run(&mut m, 7, on(60)), [on(67)]);
        assert_eq!(run(&mut m, 7, off(60)), [off(67)]);
        assert_eq!(run(&mut m, -12, on(60)), [on(48)]);
        let cc = MidiMessage::ControlChange { channel: 1, controller: 7, value: 100 };
        assert_eq!(run(&mut m, -12, cc), [cc]);
    }

    #[test]
    fn note_off_and_pressure_use_the_amount_from_the_note_on() {
        let mut m = Mapper::new();
        run(&mut m, 3, on(60));
        let pressure = |key| MidiMessage::PolyPressure { channel: 1, key, pressure: 20 };
        assert_eq!(run(&mut m, -5, pressure(60)), [pressure(63)]);
        assert_eq!(run(&mut m, -5, off(60)), [off(63)]);
        // Released: the current amount applies again.
        assert_eq!(run(&mut m, -5, off(60)), [off(55)]);
    }

    #[test]
    fn out_of_range_notes_are_dropped_on_and_off() {
        let mut m = Mapper::new();
        assert_eq!(run(&mut m, 48, on(100)), []);
        assert_eq!(run(&mut m, 0, MidiMessage::PolyPressure { channel: 1, key: 100, pressure: 1 }), []);
        assert_eq!(run(&mut m, 0, off(100)), [], "its note-off is dropped even though 100 is now in range");
        assert_eq!(run(&mut m, -48, on(47)), []);
        assert_eq!(run(&mut m, -48, on(48)), [on(0)]);
        assert_eq!(run(&mut m, 48, on(79)), [on(127)]);
    }

    #[test]
    fn retrigger_mapped_elsewhere_releases_the_first_note() {
        let mut m = Mapper::new();
        run(&mut m, 0, on(60));
        assert_eq!(run(&mut m, 12, on(60)), [off(60), on(72)]);
        assert_eq!(run(&mut m, 48, on(100)), []);
        assert_eq!(run(&mut m, 48, on(60)), [off(72), on(108)]);
        assert_eq!(run(&mut m, 48, MidiMessage::NoteOn { channel: 1, key: 60, velocity: 0 }), [off(108)]);
    }

    #[test]
    fn expressions_follow_their_note() {
        let mut m = Mapper::new();
        run(&mut m, -2, on(70));
        let expr = |key| Event {
            time_frames: 0,
            data: EventData::Expression(NoteExpression { channel: 1, key, kind: ExpressionKind::Volume, value: 0.3 }),
        };
        let mut got = Vec::new();
        m.map(&expr(70), 5, |e| got.push(e));
        assert_eq!(got, [expr(68)]);
    }
}
