//! `key-split`: sends notes below a split key to one event output and the rest to another, to
//! play two instruments from one keyboard.
//!
//! Notes with a key below `split_key` go to `low`, the others to `high`. Channel-wide messages
//! (control change, pitch bend, program change, channel pressure) concern both instruments, so
//! they go to both outputs. Everything that belongs to a note (its note-off, polyphonic
//! pressure, note expressions) goes where its note-on went, even if `split_key` moved while the
//! note was held, so moving the split never leaves a note stuck. A note-off for a note the node
//! never saw begin goes to both sides (a release for an unknown note is harmless; a lost one is
//! a stuck note).

use noderack_graph::{
    Event, EventData, MidiMessage, NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, PortKind, PortSpec,
    ProcessConfig, ProcessContext, Processor, Unit,
};

/// Event input port index.
pub const IN: usize = 0;
/// Output port index of notes below the split key.
pub const LOW: usize = 0;
/// Output port index of notes at or above the split key.
pub const HIGH: usize = 1;
/// The first key sent to `high` (0 ..= 127, default 60 = middle C; rounded to a whole key, and
/// not smoothed, so a change takes effect exactly at its frame).
pub const SPLIT_KEY: ParamId = ParamId(0);

/// Description of a `key-split` node.
pub struct KeySplit {
    signature: NodeSignature,
}

impl KeySplit {
    /// Kind name in patch files.
    pub const KIND: &'static str = "key-split";

    /// A key split at middle C until `split_key` is set.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::Events)],
                    outputs: vec![PortSpec::new("low", PortKind::Events), PortSpec::new("high", PortKind::Events)],
                },
                params: vec![
                    ParamSpec::continuous("split_key", 0.0, 127.0, 60.0, Unit::None).with_smoothing_seconds(0.0)
                ],
            },
        }
    }
}

impl Default for KeySplit {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for KeySplit {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(KeySplitProcessor { router: Router::new() })
    }
}

/// Entry of [`Router::held`] for a key with no note held.
const NOT_HELD: u8 = 0xff;

/// Where each event goes: one side, or both.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Dest {
    /// Only output `LOW` or `HIGH`.
    One(usize),
    /// Both outputs.
    Both,
}

/// The split's decisions, kept apart from the engine so they can be tested directly.
struct Router {
    /// For each channel and key: the output its held note went to ([`LOW`], [`HIGH`]) or
    /// [`NOT_HELD`].
    held: [[u8; 128]; 16],
}

impl Router {
    fn new() -> Self {
        Self { held: [[NOT_HELD; 128]; 16] }
    }

    /// Routes one event with the split at `split`, handing each output event to `emit`.
    fn route(&mut self, event: &Event, split: u8, mut emit: impl FnMut(usize, Event)) {
        let side_of = |key: u8| if key < split { LOW } else { HIGH };
        let time = event.time_frames;
        let dest = match event.data {
            EventData::Midi(MidiMessage::NoteOn { channel, key, velocity }) if velocity > 0 => {
                let side = side_of(key);
                let slot = &mut self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize];
                // A repeated note-on that now goes to the other side: release the first one.
                if *slot != NOT_HELD && *slot as usize != side {
                    emit(*slot as usize, Event::midi(time, MidiMessage::NoteOff { channel, key, velocity: 64 }));
                }
                *slot = side as u8;
                Dest::One(side)
            }
            EventData::Midi(MidiMessage::NoteOn { channel, key, .. }) => {
                // Velocity 0: a note-off, sent as one.
                let dest = self.release(channel, key);
                let off = Event::midi(time, MidiMessage::NoteOff { channel, key, velocity: 64 });
                emit_to(dest, off, &mut emit);
                return;
            }
            EventData::Midi(MidiMessage::NoteOff { channel, key, .. }) => self.release(channel, key),
            EventData::Midi(MidiMessage::PolyPressure { channel, key, .. }) => self.note_dest(channel, key, side_of),
            EventData::Midi(_) => Dest::Both,
            EventData::Expression(e) => self.note_dest(e.channel, e.key, side_of),
        };
        emit_to(dest, *event, &mut emit);
    }

    /// Forgets a held note, returning where its release goes.
    fn release(&mut self, channel: u8, key: u8) -> Dest {
        let slot = &mut self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize];
        let side = std::mem::replace(slot, NOT_HELD);
        if side == NOT_HELD {
            Dest::Both
        } else {
            Dest::One(side as usize)
        }
    }

    /// Where an event belonging to a note goes: where the note went, else by the current split.
    fn note_dest(&self, channel: u8, key: u8, side_of: impl Fn(u8) -> usize) -> Dest {
        match self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize] {
            NOT_HELD => Dest::One(side_of(key)),
            side => Dest::One(side as usize),
        }
    }
}

/// Hands `event` to `emit` once per output in `dest`.
#[inline]
fn emit_to(dest: Dest, event: Event, emit: &mut impl FnMut(usize, Event)) {
    match dest {
        Dest::One(side) => emit(side, event),
        Dest::Both => {
            emit(LOW, event);
            emit(HIGH, event);
        }
    }
}

struct KeySplitProcessor {
    router: Router,
}

impl Processor for KeySplitProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let events = ctx.inputs().events(IN);
        let split = ctx.params().get(SPLIT_KEY);
        for event in events {
            let split_key = split.at(event.time_frames as usize).round().clamp(0.0, 127.0) as u8;
            let outputs = &mut ctx.outputs();
            self.router.route(event, split_key, |side, e| {
                // A full buffer drops the event and counts it; nothing else to do on this thread.
                if let Some(out) = outputs.events_mut(side) {
                    let _ = out.push(e);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noderack_graph::{ExpressionKind, NoteExpression};

    fn run(router: &mut Router, split: u8, message: MidiMessage) -> Vec<(usize, MidiMessage)> {
        let mut out = Vec::new();
        router.route(&Event::midi(3, message), split, |side, e| {
            assert_eq!(e.time_frames, 3, "events keep their time");
            match e.data {
                EventData::Midi(m) => out.push((side, m)),
                EventData::Expression(_) => unreachable!(),
            }
        });
        out
    }

    fn on(key: u8) -> MidiMessage {
        MidiMessage::NoteOn { channel: 2, key, velocity: 90 }
    }

    fn off(key: u8) -> MidiMessage {
        MidiMessage::NoteOff { channel: 2, key, velocity: 64 }
    }

    #[test]
    fn keys_below_the_split_go_low_and_the_rest_high() {
        let mut r = Router::new();
        assert_eq!(run(&mut r, 60, on(59)), [(LOW, on(59))]);
        assert_eq!(run(&mut r, 60, on(60)), [(HIGH, on(60))]);
        assert_eq!(run(&mut r, 0, on(0)), [(HIGH, on(0))]);
    }

    #[test]
    fn note_off_and_pressure_follow_the_note_on_after_the_split_moves() {
        let mut r = Router::new();
        run(&mut r, 60, on(62));
        let pressure = MidiMessage::PolyPressure { channel: 2, key: 62, pressure: 40 };
        assert_eq!(run(&mut r, 70, pressure), [(HIGH, pressure)]);
        assert_eq!(run(&mut r, 70, off(62)), [(HIGH, off(62))]);
        // Released: an unknown note-off now goes to both sides.
        assert_eq!(run(&mut r, 70, off(62)), [(LOW, off(62)), (HIGH, off(62))]);
    }

    #[test]
    fn channel_messages_go_to_both_sides() {
        let mut r = Router::new();
        for m in [
            MidiMessage::ControlChange { channel: 0, controller: 64, value: 127 },
            MidiMessage::PitchBend { channel: 1, value: 100 },
            MidiMessage::ProgramChange { channel: 2, program: 4 },
            MidiMessage::ChannelPressure { channel: 3, pressure: 9 },
        ] {
            assert_eq!(run(&mut r, 60, m), [(LOW, m), (HIGH, m)]);
        }
    }

    #[test]
    fn retrigger_on_the_other_side_releases_the_first_note() {
        let mut r = Router::new();
        run(&mut r, 60, on(64));
        assert_eq!(run(&mut r, 70, on(64)), [(HIGH, off(64)), (LOW, on(64))]);
        assert_eq!(run(&mut r, 70, MidiMessage::NoteOn { channel: 2, key: 64, velocity: 0 }), [(LOW, off(64))]);
    }

    #[test]
    fn expressions_follow_their_note() {
        let mut r = Router::new();
        run(&mut r, 60, on(50));
        let expr = Event {
            time_frames: 1,
            data: EventData::Expression(NoteExpression {
                channel: 2,
                key: 50,
                kind: ExpressionKind::TuningSemitones,
                value: 0.5,
            }),
        };
        let mut got = Vec::new();
        r.route(&expr, 40, |side, e| got.push((side, e)));
        assert_eq!(got, [(LOW, expr)]);
    }
}
