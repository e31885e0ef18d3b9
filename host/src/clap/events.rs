//! CLAP input events as engine events: notes (CLAP dialect or MIDI 1.0) and per-note
//! expressions. Used where CLAP events enter the engine: a hosted plugin's note output (the
//! `clap` node) and a DAW's notes reaching noderack as a plugin.

use clack_host::events::spaces::CoreEventSpace;
use clack_host::events::{Match, UnknownEvent};
use noderack_graph::{EventData, MidiMessage, NoteExpression};

/// The engine form of `event`, if it is a note on or off addressed to one channel and key, a
/// MIDI 1.0 channel message, or a note expression the engine has (see
/// [`super::expression::from_clap`]). CLAP velocities (0–1) become MIDI velocities (a note-on
/// at least 1); channels and keys are masked to MIDI's ranges. Other events (parameters,
/// transport, wildcard notes) give `None`.
pub fn engine_event(event: &UnknownEvent) -> Option<EventData> {
    let specific = |channel: Match<u16>, key: Match<u16>| match (channel, key) {
        (Match::Specific(channel), Match::Specific(key)) => Some(((channel & 15) as u8, (key & 127) as u8)),
        _ => None,
    };
    let velocity = |v: f64| (v.clamp(0.0, 1.0) * 127.0).round() as u8;
    let message = match event.as_core_event()? {
        CoreEventSpace::NoteOn(e) => {
            let (channel, key) = specific(e.channel(), e.key())?;
            MidiMessage::NoteOn { channel, key, velocity: velocity(e.velocity()).max(1) }
        }
        CoreEventSpace::NoteOff(e) => {
            let (channel, key) = specific(e.channel(), e.key())?;
            MidiMessage::NoteOff { channel, key, velocity: velocity(e.velocity()) }
        }
        CoreEventSpace::Midi(e) => MidiMessage::from_bytes(&e.data())?,
        CoreEventSpace::NoteExpression(e) => {
            let (channel, key) = specific(e.channel(), e.key())?;
            let (kind, value) = super::expression::from_clap(e.expression_type()?, e.value())?;
            return Some(EventData::Expression(NoteExpression { channel, key, kind, value }));
        }
        _ => return None,
    };
    Some(EventData::Midi(message))
}

#[cfg(test)]
mod tests {
    use clack_host::events::event_types::NoteExpressionType;
    use clack_host::events::event_types::{MidiEvent, NoteExpressionEvent, NoteOffEvent, NoteOnEvent};
    use clack_host::events::{Event as _, Pckn};
    use noderack_graph::ExpressionKind;

    use super::*;

    #[test]
    fn notes_in_both_dialects_and_expressions_become_engine_events() {
        let on = NoteOnEvent::new(5, Pckn::new(0u16, 3u16, 60u16, Match::All), 100.0 / 127.0);
        assert_eq!(
            engine_event(on.as_unknown()),
            Some(EventData::Midi(MidiMessage::NoteOn { channel: 3, key: 60, velocity: 100 }))
        );
        // A CLAP velocity of 0 still sounds (MIDI's velocity 0 would be a note-off).
        let silent = NoteOnEvent::new(0, Pckn::new(0u16, 0u16, 60u16, Match::All), 0.0);
        assert_eq!(
            engine_event(silent.as_unknown()),
            Some(EventData::Midi(MidiMessage::NoteOn { channel: 0, key: 60, velocity: 1 }))
        );
        let off = NoteOffEvent::new(0, Pckn::new(0u16, 3u16, 60u16, Match::All), 1.0);
        assert_eq!(
            engine_event(off.as_unknown()),
            Some(EventData::Midi(MidiMessage::NoteOff { channel: 3, key: 60, velocity: 127 }))
        );
        let midi = MidiEvent::new(0, 0, [0xb9, 7, 90]);
        assert_eq!(
            engine_event(midi.as_unknown()),
            Some(EventData::Midi(MidiMessage::ControlChange { channel: 9, controller: 7, value: 90 }))
        );
        let bend =
            NoteExpressionEvent::new(0, Pckn::new(0u16, 1u16, 64u16, Match::All), NoteExpressionType::Tuning, 2.0);
        assert_eq!(
            engine_event(bend.as_unknown()),
            Some(EventData::Expression(NoteExpression {
                channel: 1,
                key: 64,
                kind: ExpressionKind::TuningSemitones,
                value: 2.0
            }))
        );
        // A note-off for every key of a channel has no single MIDI form.
        let wildcard = NoteOffEvent::new(0, Pckn::new(0u16, 3u16, Match::All, Match::All), 1.0);
        assert_eq!(engine_event(wildcard.as_unknown()), None);
    }
}
