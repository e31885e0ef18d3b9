//! `channel-filter`: passes only the events addressed to one MIDI channel (or all of them), and
//! can move what passes onto another channel.
//!
//! Both settings are parameters, not creation-time settings, so they can be changed (and
//! automated) live like any other control: `channel` picks the channel that passes (`omni`
//! passes all sixteen), `mode` = `except` inverts the choice (everything but that channel
//! passes: "all but the drums"), `remap_to` rewrites the channel of what passes (`off` keeps
//! it). To pass several channels, fan the same events into several filters and merge their
//! outputs.
//!
//! Every event is addressed to a channel, note expressions included, and all are filtered and
//! remapped alike, with one exception that keeps notes whole: a note-off, polyphonic pressure
//! or note expression follows the decision taken at its note-on, even if `channel` or
//! `remap_to` changed while the note was held. A note that passed is released on the channel
//! it was sent to; a note that was blocked stays blocked. Events for notes the filter never saw
//! begin (held before it was created) follow the current settings.

use noderack_graph::{
    Event, EventData, MidiMessage, NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, PortKind, PortSpec,
    ProcessConfig, ProcessContext, Processor,
};

/// Event input port index.
pub const IN: usize = 0;
/// Event output port index.
pub const OUT: usize = 0;
/// Which channel passes: 0 = all (`omni`), 1 ..= 16 = that channel only (a choice parameter).
pub const CHANNEL: ParamId = ParamId(0);
/// Channel to move passing events to: 0 = keep their channel (`off`), 1 ..= 16 = that channel.
pub const REMAP_TO: ParamId = ParamId(1);
/// Whether `channel` is the one that passes (`only`, 0) or the one that is blocked (`except`, 1).
pub const MODE: ParamId = ParamId(2);

/// Names of the `mode` choices (index = parameter value).
pub const MODE_CHOICES: &[&str] = &["only", "except"];

/// Names of the `channel` choices (index = parameter value).
pub const CHANNEL_CHOICES: &[&str] =
    &["omni", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"];
/// Names of the `remap_to` choices (index = parameter value).
pub const REMAP_CHOICES: &[&str] =
    &["off", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"];

/// Description of a `channel-filter` node.
pub struct ChannelFilter {
    signature: NodeSignature,
}

impl ChannelFilter {
    /// Kind name in patch files.
    pub const KIND: &'static str = "channel-filter";

    /// A filter passing all channels unchanged until its parameters are set.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::Events)],
                    outputs: vec![PortSpec::new("out", PortKind::Events)],
                },
                params: vec![
                    ParamSpec::choice("channel", CHANNEL_CHOICES, 0),
                    ParamSpec::choice("remap_to", REMAP_CHOICES, 0),
                    ParamSpec::choice("mode", MODE_CHOICES, 0),
                ],
            },
        }
    }
}

impl Default for ChannelFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for ChannelFilter {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(ChannelFilterProcessor { router: Router::new() })
    }
}

/// Route of a held note in [`Router::held`]: no note-on seen.
const NOT_HELD: u8 = 0xff;
/// Route of a held note whose note-on was blocked.
const BLOCKED: u8 = 0xfe;

/// The filter's decisions, kept apart from the engine so they can be tested directly.
struct Router {
    /// For each input channel and key: the output channel its note-on went to, [`BLOCKED`] or
    /// [`NOT_HELD`].
    held: [[u8; 128]; 16],
}

/// The settings in effect for one event: the channel that passes (`None` = all) and the
/// channel to move it to (`None` = keep).
#[derive(Copy, Clone, Debug)]
struct Settings {
    only: Option<u8>,
    except: bool,
    remap: Option<u8>,
}

impl Settings {
    /// Reads the choice values (0 = omni / off, 1 ..= 16 = channel).
    fn from_values(channel: f32, remap_to: f32, mode: f32) -> Self {
        let pick = |v: f32| {
            let n = v.round().clamp(0.0, 16.0) as u8;
            n.checked_sub(1)
        };
        Self { only: pick(channel), except: mode >= 0.5, remap: pick(remap_to) }
    }

    /// Output channel for an event on `channel` now, or [`BLOCKED`].
    fn route(&self, channel: u8) -> u8 {
        match self.only {
            Some(only) if (only == channel) == self.except => BLOCKED,
            _ => self.remap.unwrap_or(channel),
        }
    }
}

impl Router {
    fn new() -> Self {
        Self { held: [[NOT_HELD; 128]; 16] }
    }

    /// Filters one event, handing what passes (zero, one or two events) to `emit`.
    fn route(&mut self, event: &Event, settings: Settings, mut emit: impl FnMut(Event)) {
        let time = event.time_frames;
        match event.data {
            EventData::Midi(MidiMessage::NoteOn { channel, key, velocity }) if velocity > 0 => {
                let route = settings.route(channel);
                let slot = &mut self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize];
                // A repeated note-on that now goes elsewhere: release the first one where it went.
                if *slot < 16 && *slot != route {
                    emit(Event::midi(time, MidiMessage::NoteOff { channel: *slot, key, velocity: 64 }));
                }
                *slot = route;
                if route < 16 {
                    emit(Event::midi(time, MidiMessage::NoteOn { channel: route, key, velocity }));
                }
            }
            EventData::Midi(MidiMessage::NoteOn { channel, key, .. } | MidiMessage::NoteOff { channel, key, .. }) => {
                let velocity = match event.data {
                    EventData::Midi(MidiMessage::NoteOff { velocity, .. }) => velocity,
                    _ => 64, // a note-on with velocity 0 is a note-off
                };
                let slot = &mut self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize];
                let route = if *slot == NOT_HELD { settings.route(channel) } else { *slot };
                *slot = NOT_HELD;
                if route < 16 {
                    emit(Event::midi(time, MidiMessage::NoteOff { channel: route, key, velocity }));
                }
            }
            EventData::Midi(message @ MidiMessage::PolyPressure { channel, key, .. }) => {
                let route = self.note_route(channel, key, settings);
                if route < 16 {
                    emit(Event::midi(time, message.with_channel(route)));
                }
            }
            EventData::Midi(message) => {
                let route = settings.route(message.channel());
                if route < 16 {
                    emit(Event::midi(time, message.with_channel(route)));
                }
            }
            EventData::Expression(mut expression) => {
                let route = self.note_route(expression.channel, expression.key, settings);
                if route < 16 {
                    expression.channel = route;
                    emit(Event { time_frames: time, data: EventData::Expression(expression) });
                }
            }
        }
    }

    /// Route for an event belonging to a note: its note-on's, else the current one.
    fn note_route(&self, channel: u8, key: u8, settings: Settings) -> u8 {
        match self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize] {
            NOT_HELD => settings.route(channel),
            route => route,
        }
    }
}

struct ChannelFilterProcessor {
    router: Router,
}

impl Processor for ChannelFilterProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let events = ctx.inputs().events(IN);
        let channel = ctx.params().get(CHANNEL);
        let remap = ctx.params().get(REMAP_TO);
        let mode = ctx.params().get(MODE);
        let mut outputs = ctx.outputs();
        let Some(out) = outputs.events_mut(OUT) else { return };
        for event in events {
            let settings = Settings::from_values(
                channel.at(event.time_frames as usize),
                remap.at(event.time_frames as usize),
                mode.at(event.time_frames as usize),
            );
            // A full buffer drops the event and counts it; nothing else to do on this thread.
            self.router.route(event, settings, |e| {
                let _ = out.push(e);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noderack_graph::{ExpressionKind, NoteExpression};

    fn run(router: &mut Router, settings: Settings, data: MidiMessage) -> Vec<MidiMessage> {
        let mut out = Vec::new();
        router.route(&Event::midi(7, data), settings, |e| {
            assert_eq!(e.time_frames, 7, "events keep their time");
            match e.data {
                EventData::Midi(m) => out.push(m),
                EventData::Expression(_) => unreachable!(),
            }
        });
        out
    }

    fn on(channel: u8, key: u8) -> MidiMessage {
        MidiMessage::NoteOn { channel, key, velocity: 100 }
    }

    fn off(channel: u8, key: u8) -> MidiMessage {
        MidiMessage::NoteOff { channel, key, velocity: 64 }
    }

    fn settings(channel: f32, remap: f32) -> Settings {
        Settings::from_values(channel, remap, 0.0)
    }

    #[test]
    fn omni_passes_everything_and_a_channel_passes_only_itself() {
        let mut r = Router::new();
        let cc = MidiMessage::ControlChange { channel: 5, controller: 1, value: 9 };
        assert_eq!(run(&mut r, settings(0.0, 0.0), cc), [cc]);
        assert_eq!(run(&mut r, settings(6.0, 0.0), cc), [cc]);
        assert_eq!(run(&mut r, settings(7.0, 0.0), cc), []);
        let bend = MidiMessage::PitchBend { channel: 0, value: -3 };
        assert_eq!(run(&mut r, settings(1.0, 0.0), bend), [bend]);
        assert_eq!(run(&mut r, settings(2.0, 0.0), bend), []);
    }

    #[test]
    fn except_mode_passes_every_channel_but_the_chosen_one() {
        let mut r = Router::new();
        let all_but_drums = Settings::from_values(10.0, 0.0, 1.0);
        assert_eq!(run(&mut r, all_but_drums, on(9, 36)), [], "channel 10 is blocked");
        assert_eq!(run(&mut r, all_but_drums, on(0, 60)), [on(0, 60)]);
        assert_eq!(run(&mut r, all_but_drums, on(15, 61)), [on(15, 61)]);
        let omni_except = Settings::from_values(0.0, 0.0, 1.0);
        assert_eq!(run(&mut r, omni_except, on(3, 62)), [on(3, 62)], "omni passes everything in either mode");
    }

    #[test]
    fn remap_moves_passing_events_to_the_chosen_channel() {
        let mut r = Router::new();
        assert_eq!(run(&mut r, settings(3.0, 10.0), on(2, 60)), [on(9, 60)]);
        assert_eq!(run(&mut r, settings(3.0, 10.0), off(2, 60)), [off(9, 60)]);
        let pressure = MidiMessage::ChannelPressure { channel: 2, pressure: 5 };
        assert_eq!(run(&mut r, settings(3.0, 10.0), pressure), [pressure.with_channel(9)]);
    }

    #[test]
    fn note_off_follows_its_note_on_when_settings_change_while_held() {
        let mut r = Router::new();
        assert_eq!(run(&mut r, settings(1.0, 0.0), on(0, 60)), [on(0, 60)]);
        assert_eq!(run(&mut r, settings(1.0, 0.0), on(1, 61)), []);
        // Now only channel 2 passes, remapped to 5.
        let now = settings(2.0, 5.0);
        let pressure = MidiMessage::PolyPressure { channel: 0, key: 60, pressure: 3 };
        assert_eq!(run(&mut r, now, pressure), [pressure]);
        assert_eq!(run(&mut r, now, off(0, 60)), [off(0, 60)], "released where it went");
        assert_eq!(run(&mut r, now, off(1, 61)), [], "a blocked note stays blocked");
        // Once released, the current settings apply again.
        assert_eq!(run(&mut r, now, off(0, 60)), []);
        assert_eq!(run(&mut r, now, off(1, 61)), [off(4, 61)]);
    }

    #[test]
    fn retrigger_routed_elsewhere_releases_the_first_note() {
        let mut r = Router::new();
        run(&mut r, settings(0.0, 0.0), on(3, 40));
        assert_eq!(run(&mut r, settings(0.0, 2.0), on(3, 40)), [off(3, 40), on(1, 40)]);
        assert_eq!(run(&mut r, settings(0.0, 2.0), on(3, 40)), [on(1, 40)], "same route: passed as is");
        assert_eq!(run(&mut r, settings(9.0, 0.0), on(3, 40)), [off(1, 40)], "now blocked");
    }

    #[test]
    fn velocity_zero_note_on_is_a_note_off() {
        let mut r = Router::new();
        run(&mut r, settings(1.0, 3.0), on(0, 50));
        let zero = MidiMessage::NoteOn { channel: 0, key: 50, velocity: 0 };
        assert_eq!(run(&mut r, settings(1.0, 3.0), zero), [off(2, 50)]);
    }

    #[test]
    fn expressions_are_filtered_and_remapped_like_their_note() {
        let mut r = Router::new();
        run(&mut r, settings(1.0, 4.0), on(0, 64));
        let expr = |channel| NoteExpression { channel, key: 64, kind: ExpressionKind::Pan, value: 0.5 };
        let mut got = Vec::new();
        r.route(&Event { time_frames: 2, data: EventData::Expression(expr(0)) }, settings(2.0, 0.0), |e| got.push(e));
        assert_eq!(got, [Event { time_frames: 2, data: EventData::Expression(expr(3)) }]);
        got.clear();
        r.route(&Event { time_frames: 2, data: EventData::Expression(expr(5)) }, settings(2.0, 0.0), |e| got.push(e));
        assert!(got.is_empty(), "expression on a filtered channel with no held note is blocked");
    }
}
