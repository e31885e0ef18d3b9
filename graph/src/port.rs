//! Typed ports: what a node exposes and what a connection may join.

use std::borrow::Cow;
use std::fmt;

/// What flows through a port. Connections join ports of the same kind only.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PortKind {
    /// Audio-rate sample buffers, one per channel.
    Audio {
        /// Number of channels; a connection requires equal counts on both ends.
        channels: u16,
    },
    /// Timestamped note/MIDI events (see [`crate::Event`]).
    Events,
    /// A mono, audio-rate control signal (modulation); kept apart from audio so a modulation
    /// source cannot be wired into a loudspeaker by mistake.
    Control,
}

impl PortKind {
    /// Stereo audio.
    pub const STEREO: PortKind = PortKind::Audio { channels: 2 };
    /// Mono audio.
    pub const MONO: PortKind = PortKind::Audio { channels: 1 };

    /// Number of sample buffers a port of this kind carries (0 for events).
    pub fn signal_channels(self) -> u16 {
        match self {
            PortKind::Audio { channels } => channels,
            PortKind::Control => 1,
            PortKind::Events => 0,
        }
    }
}

impl fmt::Display for PortKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortKind::Audio { channels: 1 } => write!(f, "mono audio"),
            PortKind::Audio { channels: 2 } => write!(f, "stereo audio"),
            PortKind::Audio { channels } => write!(f, "{channels}-channel audio"),
            PortKind::Events => write!(f, "events"),
            PortKind::Control => write!(f, "control"),
        }
    }
}

/// Which side of a node a port is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Consumes a signal.
    Input,
    /// Produces a signal.
    Output,
}

/// One port of a node: a name unique within its direction, and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Name used by patch files, the CLI and error messages.
    pub name: Cow<'static, str>,
    /// What the port carries.
    pub kind: PortKind,
}

impl PortSpec {
    /// A port with a fixed name.
    pub const fn new(name: &'static str, kind: PortKind) -> Self {
        Self { name: Cow::Borrowed(name), kind }
    }

    /// A port whose name is built at run time (e.g. `in3` on an 8-input mixer).
    pub fn named(name: String, kind: PortKind) -> Self {
        Self { name: Cow::Owned(name), kind }
    }
}

/// All ports of a node, inputs and outputs each indexed from 0 in declaration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodePorts {
    /// Input ports.
    pub inputs: Vec<PortSpec>,
    /// Output ports.
    pub outputs: Vec<PortSpec>,
}

impl NodePorts {
    /// One stereo audio input `in` and one stereo audio output `out`: the ports of a stereo
    /// effect (`gain`, `eq`, `delay`, `reverb`, …).
    pub fn stereo_in_out() -> Self {
        Self {
            inputs: vec![PortSpec::new("in", PortKind::STEREO)],
            outputs: vec![PortSpec::new("out", PortKind::STEREO)],
        }
    }

    /// Ports on one side.
    pub fn side(&self, direction: Direction) -> &[PortSpec] {
        match direction {
            Direction::Input => &self.inputs,
            Direction::Output => &self.outputs,
        }
    }

    /// Finds a port by name on one side.
    pub fn find(&self, direction: Direction, name: &str) -> Option<crate::PortIndex> {
        self.side(direction).iter().position(|p| p.name == name).map(|i| crate::PortIndex(i as u16))
    }
}
