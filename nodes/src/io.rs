//! Host I/O nodes: `midi-in` (the host's MIDI input, plus events sent through the control API),
//! `output` (feeds a named output bus) and `audio-in` (reads a named input bus). The executor
//! does their work; they only describe their ports and role.

use noderack_graph::{
    NodeDescription, NodePorts, NodeRole, NodeSignature, NoopProcessor, PortKind, PortSpec, ProcessConfig, Processor,
};

/// Description of a `midi-in` node: one event output carrying the host's MIDI input.
pub struct MidiIn {
    signature: NodeSignature,
}

impl MidiIn {
    /// Kind name in patch files.
    pub const KIND: &'static str = "midi-in";

    /// A MIDI input node.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts { inputs: vec![], outputs: vec![PortSpec::new("events", PortKind::Events)] },
                params: vec![],
            },
        }
    }
}

impl Default for MidiIn {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for MidiIn {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn role(&self) -> NodeRole {
        NodeRole::HostMidiInput
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(NoopProcessor)
    }
}

/// Description of an `output` node: its audio input is added to a host output bus.
pub struct Output {
    bus: String,
    signature: NodeSignature,
}

impl Output {
    /// Kind name in patch files.
    pub const KIND: &'static str = "output";

    /// An output node feeding bus `bus` with `channels` channels.
    pub fn new(bus: &str, channels: u16) -> Self {
        Self {
            bus: bus.to_string(),
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts { inputs: vec![PortSpec::new("in", PortKind::Audio { channels })], outputs: vec![] },
                params: vec![],
            },
        }
    }

    /// The bus it feeds.
    pub fn bus(&self) -> &str {
        &self.bus
    }
}

impl NodeDescription for Output {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn role(&self) -> NodeRole {
        NodeRole::HostOutput { bus: self.bus.clone() }
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(NoopProcessor)
    }
}

/// Description of an `audio-in` node: its audio output carries a host input bus (a sound card's
/// or JACK's capture ports, a plugin's audio input), for effects on live input.
pub struct AudioIn {
    bus: String,
    signature: NodeSignature,
}

impl AudioIn {
    /// Kind name in patch files.
    pub const KIND: &'static str = "audio-in";

    /// An input node reading bus `bus` with `channels` channels (channels the bus lacks are
    /// silent).
    pub fn new(bus: &str, channels: u16) -> Self {
        Self {
            bus: bus.to_string(),
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts { inputs: vec![], outputs: vec![PortSpec::new("out", PortKind::Audio { channels })] },
                params: vec![],
            },
        }
    }

    /// The bus it reads.
    pub fn bus(&self) -> &str {
        &self.bus
    }
}

impl NodeDescription for AudioIn {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn role(&self) -> NodeRole {
        NodeRole::HostAudioInput { bus: self.bus.clone() }
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(NoopProcessor)
    }
}
