//! `mpe`: turns MIDI Polyphonic Expression into per-note expression events.
//!
//! An MPE controller plays each note on its own *member* channel of a *zone* and sends that
//! note's pitch bend, pressure and timbre (CC74) as channel messages of its member channel;
//! the zone's *manager* channel (channel 1 for the lower zone, 16 for the upper) carries what
//! applies to the whole zone. This node keeps the notes on their member channels and
//! replaces the member channels' bend, pressure and CC74 with [`NoteExpression`]s for the
//! notes sounding there (tuning in semitones, pressure and brightness 0..1), so they reach
//! the playing voice only and travel with the note through `transpose`, `key-split` and
//! `channel-filter`.
//!
//! - **Zones** come from the MPE Configuration Message (RPN 6 on a manager channel: CC101 0,
//!   CC100 6, CC6 = member count; 0 turns the zone off); a new zone shrinks the other so they
//!   do not overlap. Before any, the node uses its `zone` and `members` settings (default: a
//!   lower zone of 15 members).
//! - **Bend ranges**: RPN 0 on a member channel sets every member's range (default 48
//!   semitones), on the manager channel the manager's (default 2). A note's tuning is its
//!   member bend × member range + the manager's bend × manager range.
//! - **At note-on** the member channel's current bend, pressure and timbre are sent right
//!   after the note-on, as the MPE specification asks (controllers sent before the note
//!   apply to it).
//! - **Manager channel** control changes apply to the whole zone: they are repeated on every
//!   member channel (sustain pedal, volume, …), besides passing on the manager channel.
//! - Everything outside the zones passes unchanged.

use noderack_graph::{
    Event, EventData, ExpressionKind, MidiMessage, NodeDescription, NodePorts, NodeSignature, NoteExpression, PortKind,
    PortSpec, ProcessConfig, ProcessContext, Processor,
};
use noderack_presets::{ConfigError, ConfigReader, NodeConfig};

/// Event input port index.
pub const IN: usize = 0;
/// Event output port index.
pub const OUT: usize = 0;
/// Member-channel bend range before any RPN 0 (MPE specification default).
pub const DEFAULT_MEMBER_BEND_SEMITONES: f32 = 48.0;
/// Manager-channel bend range before any RPN 0.
pub const DEFAULT_MANAGER_BEND_SEMITONES: f32 = 2.0;

/// Which zone a setting or a configuration message names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Zone {
    /// Manager channel 1, members from channel 2 up.
    Lower,
    /// Manager channel 16, members from channel 15 down.
    Upper,
}

/// Description of an `mpe` node.
pub struct Mpe {
    zone: Zone,
    members: u8,
    signature: NodeSignature,
}

impl Mpe {
    /// Kind name in patch files.
    pub const KIND: &'static str = "mpe";
    /// Settings: `zone` (`lower` or `upper`, default `lower`) and `members` (0..=15, default
    /// 15): the zone assumed until the controller sends its configuration message.
    pub const CONFIG_KEYS: &'static [&'static str] = &["zone", "members"];

    /// A decoder assuming `members` member channels in `zone` until told otherwise.
    pub fn new(zone: Zone, members: u8) -> Self {
        Self {
            zone,
            members: members.min(15),
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::Events)],
                    outputs: vec![PortSpec::new("out", PortKind::Events)],
                },
                params: vec![],
            },
        }
    }

    /// From patch settings (see [`Mpe::CONFIG_KEYS`]).
    pub fn from_config(config: &NodeConfig) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(Self::KIND, config, Self::CONFIG_KEYS)?;
        let zone = match reader.choice("zone", &["lower", "upper"], "lower")?.as_str() {
            "upper" => Zone::Upper,
            _ => Zone::Lower,
        };
        let members = reader.integer("members", 0, 15, 15)? as u8;
        Ok(Self::new(zone, members))
    }
}

impl NodeDescription for Mpe {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        let mut decoder = Decoder::default();
        decoder.configure(self.zone, self.members);
        Box::new(MpeProcessor { decoder })
    }
}

/// Per-channel state the decoder keeps.
#[derive(Copy, Clone, Debug)]
struct ChannelState {
    /// Pitch bend, −1..1.
    bend: f32,
    /// Bend range in semitones (members share theirs; the manager has its own).
    bend_range: f32,
    pressure: u8,
    timbre: u8,
    /// Keys sounding on this channel (bit n: key n).
    notes: u128,
    /// Registered parameter selected by CC101/CC100.
    rpn: (u8, u8),
}

impl Default for ChannelState {
    fn default() -> Self {
        Self { bend: 0.0, bend_range: 0.0, pressure: 0, timbre: 64, notes: 0, rpn: (127, 127) }
    }
}

/// The MPE decoding, kept apart from the engine so it can be tested directly.
#[derive(Debug)]
struct Decoder {
    /// Member counts of the lower and upper zones.
    lower: u8,
    upper: u8,
    channels: [ChannelState; 16],
}

impl Default for Decoder {
    fn default() -> Self {
        let mut d = Self { lower: 0, upper: 0, channels: [ChannelState::default(); 16] };
        for (i, c) in d.channels.iter_mut().enumerate() {
            c.bend_range =
                if i == 0 || i == 15 { DEFAULT_MANAGER_BEND_SEMITONES } else { DEFAULT_MEMBER_BEND_SEMITONES };
        }
        d
    }
}

impl Decoder {
    /// Sets `zone` to `members` member channels, shrinking the other zone so they do not
    /// overlap (the MPE specification's rule).
    fn configure(&mut self, zone: Zone, members: u8) {
        let members = members.min(15);
        match zone {
            Zone::Lower => {
                self.lower = members;
                self.upper = self.upper.min(14u8.saturating_sub(members));
            }
            Zone::Upper => {
                self.upper = members;
                self.lower = self.lower.min(14u8.saturating_sub(members));
            }
        }
    }

    /// The zone channel `channel` is the manager of, if any.
    fn managed_zone(&self, channel: u8) -> Option<Zone> {
        match channel {
            0 if self.lower > 0 => Some(Zone::Lower),
            15 if self.upper > 0 => Some(Zone::Upper),
            _ => None,
        }
    }

    /// The zone channel `channel` is a member of, if any.
    fn member_zone(&self, channel: u8) -> Option<Zone> {
        if (1..=self.lower).contains(&channel) {
            Some(Zone::Lower)
        } else if self.upper > 0 && (15 - self.upper..15).contains(&channel) {
            Some(Zone::Upper)
        } else {
            None
        }
    }

    fn members(&self, zone: Zone) -> std::ops::Range<u8> {
        match zone {
            Zone::Lower => 1..1 + self.lower,
            Zone::Upper => 15 - self.upper..15,
        }
    }

    fn manager(zone: Zone) -> usize {
        match zone {
            Zone::Lower => 0,
            Zone::Upper => 15,
        }
    }

    /// Tuning in semitones of a note on member `channel` of `zone`.
    fn tuning(&self, zone: Zone, channel: u8) -> f32 {
        let member = &self.channels[channel as usize];
        let manager = &self.channels[Self::manager(zone)];
        member.bend * member.bend_range + manager.bend * manager.bend_range
    }

    /// Decodes one event, handing what results to `emit`.
    fn map(&mut self, event: &Event, mut emit: impl FnMut(Event)) {
        let time = event.time_frames;
        let EventData::Midi(message) = event.data else {
            emit(*event);
            return;
        };
        let channel = message.channel() & 15;
        let expression = |key: u8, kind, value| Event {
            time_frames: time,
            data: EventData::Expression(NoteExpression { channel, key, kind, value }),
        };
        if let Some(zone) = self.member_zone(channel) {
            let c = &mut self.channels[channel as usize];
            match message {
                MidiMessage::NoteOn { key, velocity, .. } if velocity > 0 => {
                    c.notes |= 1 << (key & 127);
                    let (pressure, timbre) = (c.pressure, c.timbre);
                    emit(*event);
                    let tuning = self.tuning(zone, channel);
                    if tuning != 0.0 {
                        emit(expression(key, ExpressionKind::TuningSemitones, tuning));
                    }
                    emit(expression(key, ExpressionKind::Pressure, pressure as f32 / 127.0));
                    emit(expression(key, ExpressionKind::Brightness, timbre as f32 / 127.0));
                }
                MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                    c.notes &= !(1 << (key & 127));
                    emit(*event);
                }
                MidiMessage::PitchBend { value, .. } => {
                    c.bend = (value as f32 / 8192.0).clamp(-1.0, 1.0);
                    let tuning = self.tuning(zone, channel);
                    for_each_note(self.channels[channel as usize].notes, |key| {
                        emit(expression(key, ExpressionKind::TuningSemitones, tuning))
                    });
                }
                MidiMessage::ChannelPressure { pressure, .. } => {
                    c.pressure = pressure.min(127);
                    for_each_note(c.notes, |key| {
                        emit(expression(key, ExpressionKind::Pressure, pressure.min(127) as f32 / 127.0))
                    });
                }
                MidiMessage::PolyPressure { key, pressure, .. } => {
                    emit(expression(key, ExpressionKind::Pressure, pressure.min(127) as f32 / 127.0))
                }
                MidiMessage::ControlChange { controller: 74, value, .. } => {
                    c.timbre = value.min(127);
                    for_each_note(c.notes, |key| {
                        emit(expression(key, ExpressionKind::Brightness, value.min(127) as f32 / 127.0))
                    });
                }
                MidiMessage::ControlChange { controller, value, .. } => {
                    if self.registered_parameter(channel, controller, value, zone) {
                        return;
                    }
                    emit(*event);
                }
                _ => emit(*event),
            }
            return;
        }
        if let MidiMessage::ControlChange { controller, value, .. } = message {
            // An MCM or a bend range on a manager channel (or on channel 1/16 before any
            // zone exists: the MCM is what creates it).
            let zone = match channel {
                0 => Some(Zone::Lower),
                15 => Some(Zone::Upper),
                _ => None,
            };
            if let Some(zone) = zone {
                if self.registered_parameter(channel, controller, value, zone) {
                    return;
                }
            }
        }
        if let Some(zone) = self.managed_zone(channel) {
            match message {
                MidiMessage::PitchBend { value, .. } => {
                    self.channels[channel as usize].bend = (value as f32 / 8192.0).clamp(-1.0, 1.0);
                    for member in self.members(zone) {
                        let tuning = self.tuning(zone, member);
                        for_each_note(self.channels[member as usize].notes, |key| {
                            emit(Event {
                                time_frames: time,
                                data: EventData::Expression(NoteExpression {
                                    channel: member,
                                    key,
                                    kind: ExpressionKind::TuningSemitones,
                                    value: tuning,
                                }),
                            })
                        });
                    }
                    return;
                }
                MidiMessage::ControlChange { controller, value, .. } => {
                    emit(*event);
                    for member in self.members(zone) {
                        emit(Event::midi(time, MidiMessage::ControlChange { channel: member, controller, value }));
                    }
                    return;
                }
                _ => {}
            }
        }
        emit(*event);
    }

    /// Follows RPN selection and data entry on `channel`; applies RPN 0 (bend range) and RPN
    /// 6 (the MPE configuration message, on a manager channel). True when the message was
    /// consumed (data entry for those two).
    fn registered_parameter(&mut self, channel: u8, controller: u8, value: u8, zone: Zone) -> bool {
        let c = &mut self.channels[channel as usize];
        match controller {
            101 => c.rpn.0 = value,
            100 => c.rpn.1 = value,
            6 if c.rpn == (0, 6) && channel as usize == Self::manager(zone) => {
                self.configure(zone, value);
                return true;
            }
            6 if c.rpn == (0, 0) => {
                let range = value.min(96) as f32;
                if channel as usize == Self::manager(zone) {
                    c.bend_range = range;
                } else {
                    // A member's range is every member's.
                    for member in self.members(zone) {
                        self.channels[member as usize].bend_range = range;
                    }
                }
                return true;
            }
            _ => {}
        }
        false
    }
}

/// Calls `f` with every key set in `notes`.
fn for_each_note(mut notes: u128, mut f: impl FnMut(u8)) {
    while notes != 0 {
        let key = notes.trailing_zeros() as u8;
        f(key);
        notes &= notes - 1;
    }
}

struct MpeProcessor {
    decoder: Decoder,
}

impl Processor for MpeProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let events = ctx.inputs().events(IN);
        let mut outputs = ctx.outputs();
        let Some(out) = outputs.events_mut(OUT) else { return };
        for event in events {
            // A full buffer drops the event and counts it; nothing else to do on this thread.
            self.decoder.map(event, |e| {
                let _ = out.push(e);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(decoder: &mut Decoder, messages: &[MidiMessage]) -> Vec<EventData> {
        let mut out = Vec::new();
        for m in messages {
            decoder.map(&Event::midi(0, *m), |e| out.push(e.data));
        }
        out
    }

    fn expr(channel: u8, key: u8, kind: ExpressionKind, value: f32) -> EventData {
        EventData::Expression(NoteExpression { channel, key, kind, value })
    }

    fn cc(channel: u8, controller: u8, value: u8) -> MidiMessage {
        MidiMessage::ControlChange { channel, controller, value }
    }

    #[test]
    fn member_bend_becomes_the_notes_tuning_at_the_member_range() {
        let mut d = Decoder::default();
        d.configure(Zone::Lower, 15);
        let on = MidiMessage::NoteOn { channel: 1, key: 60, velocity: 100 };
        let out = run(&mut d, &[on, MidiMessage::PitchBend { channel: 1, value: 4096 }]);
        assert_eq!(out[0], EventData::Midi(on));
        assert_eq!(out.last(), Some(&expr(1, 60, ExpressionKind::TuningSemitones, 24.0)));
        // The bend message itself is consumed: it is the note's, not the channel's.
        assert!(!out.iter().any(|e| matches!(e, EventData::Midi(MidiMessage::PitchBend { .. }))));
    }

    #[test]
    fn configuration_message_sets_zones_and_rpn_0_sets_member_ranges() {
        let mut d = Decoder::default();
        // MCM on channel 16: an upper zone of 3 members (channels 13–15 here 0-based 12..15).
        let out = run(&mut d, &[cc(15, 101, 0), cc(15, 100, 6), cc(15, 6, 3)]);
        assert!(out.iter().all(|e| !matches!(e, EventData::Midi(MidiMessage::ControlChange { controller: 6, .. }))));
        assert_eq!((d.lower, d.upper), (0, 3));
        assert_eq!(d.member_zone(12), Some(Zone::Upper));
        assert_eq!(d.member_zone(11), None);
        // Bend range 12 on a member applies to every member.
        run(&mut d, &[cc(13, 101, 0), cc(13, 100, 0), cc(13, 6, 12)]);
        let on = MidiMessage::NoteOn { channel: 12, key: 64, velocity: 90 };
        let out = run(&mut d, &[on, MidiMessage::PitchBend { channel: 12, value: -8192 }]);
        assert_eq!(out.last(), Some(&expr(12, 64, ExpressionKind::TuningSemitones, -12.0)));
        // A lower zone of 13 leaves the upper zone one member.
        d.configure(Zone::Lower, 13);
        assert_eq!((d.lower, d.upper), (13, 1));
    }

    #[test]
    fn controllers_sent_before_a_note_apply_to_it_and_pressure_timbre_follow_it() {
        let mut d = Decoder::default();
        d.configure(Zone::Lower, 4);
        let out = run(
            &mut d,
            &[
                MidiMessage::PitchBend { channel: 2, value: 170 },
                cc(2, 74, 100),
                MidiMessage::ChannelPressure { channel: 2, pressure: 0 },
                MidiMessage::NoteOn { channel: 2, key: 50, velocity: 80 },
            ],
        );
        let tuning = 170.0 / 8192.0 * 48.0;
        assert!(out.contains(&expr(2, 50, ExpressionKind::TuningSemitones, tuning)));
        assert!(out.contains(&expr(2, 50, ExpressionKind::Brightness, 100.0 / 127.0)));
        let out = run(&mut d, &[MidiMessage::ChannelPressure { channel: 2, pressure: 127 }]);
        assert_eq!(out, [expr(2, 50, ExpressionKind::Pressure, 1.0)]);
        // After note-off nothing is sounding there: no expression.
        let out = run(&mut d, &[MidiMessage::NoteOff { channel: 2, key: 50, velocity: 0 }, cc(2, 74, 3)]);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn manager_bend_moves_every_note_and_manager_controllers_reach_every_member() {
        let mut d = Decoder::default();
        d.configure(Zone::Lower, 2);
        run(
            &mut d,
            &[
                MidiMessage::NoteOn { channel: 1, key: 60, velocity: 100 },
                MidiMessage::NoteOn { channel: 2, key: 67, velocity: 100 },
            ],
        );
        let out = run(&mut d, &[MidiMessage::PitchBend { channel: 0, value: 8191 }]);
        let two = 8191.0 / 8192.0 * 2.0;
        assert_eq!(
            out,
            [expr(1, 60, ExpressionKind::TuningSemitones, two), expr(2, 67, ExpressionKind::TuningSemitones, two)]
        );
        let out = run(&mut d, &[cc(0, 64, 127)]);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out.contains(&EventData::Midi(cc(2, 64, 127))));
        // Channels outside the zone pass unchanged.
        let bend = MidiMessage::PitchBend { channel: 9, value: 100 };
        assert_eq!(run(&mut d, &[bend]), [EventData::Midi(bend)]);
    }
}
