//! `event-probe`: makes the notes arriving on an event input visible in rendered audio, so
//! tests of event-processing nodes can check what arrived when through the real executor.
//!
//! It tracks which notes are held (a note-on holds, a note-off or velocity-0 note-on releases,
//! repeated note-ons of a held note and note-offs of unheld notes change nothing) and writes,
//! from the frame of each event on, two DC levels: left = number of held notes, right = sum of
//! [`EventProbe::code`] over the held notes. With one note held the right channel names its
//! channel and key exactly; a stuck note shows as a level that never returns to 0. Both are
//! small whole numbers, exact in `f32`. Not a user-facing node.

use noderack_graph::{
    EventData, MidiMessage, NodeDescription, NodePorts, NodeSignature, PortKind, PortSpec, ProcessConfig,
    ProcessContext, Processor,
};

/// Description of an event probe: one event input `in`, one stereo output `out`.
pub struct EventProbe {
    signature: NodeSignature,
}

impl EventProbe {
    /// A probe.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: "event-probe",
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::Events)],
                    outputs: vec![PortSpec::new("out", PortKind::STEREO)],
                },
                params: vec![],
            },
        }
    }

    /// The right-channel contribution of a held note: `channel * 128 + key + 1` (never 0).
    pub fn code(channel: u8, key: u8) -> f32 {
        (channel as u32 * 128 + key as u32 + 1) as f32
    }
}

impl Default for EventProbe {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for EventProbe {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(ProbeProcessor { held: [[false; 128]; 16], count: 0.0, codes: 0.0 })
    }
}

struct ProbeProcessor {
    held: [[bool; 128]; 16],
    count: f32,
    codes: f32,
}

impl ProbeProcessor {
    fn set(&mut self, channel: u8, key: u8, down: bool) {
        let slot = &mut self.held[(channel & 0x0f) as usize][(key & 0x7f) as usize];
        if *slot != down {
            *slot = down;
            let sign = if down { 1.0 } else { -1.0 };
            self.count += sign;
            self.codes += sign * EventProbe::code(channel & 0x0f, key & 0x7f);
        }
    }
}

impl Processor for ProbeProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let events = ctx.inputs().events(0);
        let mut outputs = ctx.outputs();
        let (l, r) = outputs.stereo_mut(0);
        let mut next = 0;
        for (i, (l, r)) in l.iter_mut().zip(r.iter_mut()).enumerate() {
            while let Some(e) = events.get(next).filter(|e| e.time_frames as usize <= i) {
                match e.data {
                    EventData::Midi(MidiMessage::NoteOn { channel, key, velocity }) => {
                        self.set(channel, key, velocity > 0)
                    }
                    EventData::Midi(MidiMessage::NoteOff { channel, key, .. }) => self.set(channel, key, false),
                    _ => {}
                }
                next += 1;
            }
            *l = self.count;
            *r = self.codes;
        }
    }
}
