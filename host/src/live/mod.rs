//! Live playback: the engine's executor driven in real time by JACK, a sound card (cpal) or the
//! wall clock (`null`), with MIDI from devices, JACK ports and files placed at their frames.
//!
//! Every backend runs the same [`AudioDriver`] in its audio callback. Opening is two steps,
//! because the device decides the sample rate the engine must be built for: [`open`] finds a
//! backend and reports its rate and block size ([`OpenBackend`]); the caller builds the engine
//! at that rate and hands its executor, wrapped in a driver, to [`OpenBackend::start`].

pub mod clock;
pub mod cpal_backend;
pub mod device_midi;
pub mod devices;
pub mod driver;
pub mod file_player;
pub mod health;
pub mod jack_backend;
pub mod midi_in;
pub mod null;
pub mod recorder;
pub mod scope;

mod channels;

pub use driver::{AudioDriver, NativeMidi, ProcessGuard};
pub use health::{Health, HealthReport};
pub use midi_in::{midi_queue, LiveMidi, MidiReceiver, MidiSender, MidiTarget, MidiTime};

use noderack_graph::{BusSpec, NodeId};

/// The audio backends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// A JACK client: one port per bus channel, one MIDI port per `midi-in` node.
    Jack,
    /// A sound card through cpal (its ALSA host, or its JACK host).
    Cpal,
    /// No device; paced by the wall clock.
    Null,
}

impl BackendKind {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Jack => "jack",
            BackendKind::Cpal => "cpal",
            BackendKind::Null => "null",
        }
    }
}

/// Sample rate used where the backend leaves the choice to us (cpal, null).
pub const DEFAULT_SAMPLE_RATE: u32 = 48_000;
/// Block size used where the backend leaves the choice to us (cpal, null): 256 frames is
/// 5.3 ms at 48 kHz, safe on a loaded machine; `--buffer-size` goes lower.
pub const DEFAULT_BLOCK_FRAMES: usize = 256;

/// What to open and how.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// The backend, or `None` to try JACK, then cpal.
    pub backend: Option<BackendKind>,
    /// cpal: the output device (part of its name or id; `jack:`/`alsa:` picks cpal's host).
    pub device: Option<String>,
    /// cpal and null: the sample rate (JACK uses its server's).
    pub sample_rate: Option<u32>,
    /// cpal and null: the block size in frames (JACK uses its server's).
    pub block_frames: Option<usize>,
    /// JACK: the client name.
    pub client_name: String,
    /// JACK: connect the first bus to the system's playback ports (and the input buses to its
    /// capture ports).
    pub connect: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            backend: None,
            device: None,
            sample_rate: None,
            block_frames: None,
            client_name: "noderack".into(),
            connect: false,
        }
    }
}

/// A `midi-in` node of the engine, which a JACK backend gives its own MIDI port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MidiNode {
    /// The node.
    pub id: NodeId,
    /// Its name in the patch (the port is named after it).
    pub name: String,
}

/// The engine's inputs and outputs as the backend must present them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Output buses, in order.
    pub outputs: Vec<BusSpec>,
    /// Input buses, in order (usually none).
    pub inputs: Vec<BusSpec>,
    /// The engine's `midi-in` nodes.
    pub midi_nodes: Vec<MidiNode>,
}

impl Layout {
    /// Channels over all output buses.
    pub fn output_channels(&self) -> usize {
        self.outputs.iter().map(|b| b.channels as usize).sum()
    }
    /// Channels over all input buses.
    pub fn input_channels(&self) -> usize {
        self.inputs.iter().map(|b| b.channels as usize).sum()
    }
}

/// The port name of channel `channel` of `bus`: `main_L`, `main_R` for stereo buses,
/// `drums_1`, `drums_2`, … otherwise (mono buses too).
pub fn channel_port_name(bus: &BusSpec, channel: u16) -> String {
    match (bus.channels, channel) {
        (2, 0) => format!("{}_L", bus.name),
        (2, 1) => format!("{}_R", bus.name),
        _ => format!("{}_{}", bus.name, channel + 1),
    }
}

/// Why live playback could not start or continue.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No backend could be opened: what was tried and why each failed.
    #[error("no audio backend could be opened:{}", list_attempts(.0))]
    NothingOpened(Vec<(String, String)>),
    /// A backend failed.
    #[error("{0}")]
    Backend(String),
}

fn list_attempts(attempts: &[(String, String)]) -> String {
    attempts.iter().map(|(what, why)| format!("\n  {what}: {why}")).collect()
}

/// A backend that is open (its sample rate and block size are known) but not running yet.
pub trait OpenBackend {
    /// What it is, for people ("JACK client noderack at 48000 Hz, 256-frame blocks").
    fn describe(&self) -> String;
    /// The sample rate the engine must run at.
    fn sample_rate(&self) -> u32;
    /// The block size the backend will use (it may change later: JACK's buffer size).
    fn block_frames(&self) -> usize;
    /// Starts calling `driver` from the backend's audio thread.
    fn start(self: Box<Self>, driver: AudioDriver) -> Result<Box<dyn RunningBackend>, LiveError>;
}

/// A running backend.
pub trait RunningBackend: Send {
    /// What it is, for people.
    fn describe(&self) -> String;
    /// Follows a change of the engine's `midi-in` nodes (JACK: adds and removes their ports).
    fn set_midi_nodes(&mut self, _nodes: &[MidiNode]) -> Result<(), LiveError> {
        Ok(())
    }
    /// Connects the backend's own MIDI sources whose names contain `pattern` (JACK MIDI ports)
    /// straight to the `midi-in` nodes, frame-accurately, and keeps them connected when they
    /// come and go. False when the backend has no such source now (the caller then looks for
    /// a MIDI device of that name).
    fn connect_midi_source(&mut self, _pattern: &str) -> bool {
        false
    }
    /// Periodic upkeep from the control thread (reconnecting sources that came back).
    fn maintain(&mut self) {}
    /// Stops the audio thread and gives the driver back (`None` if the backend lost it, as
    /// when its server died).
    fn stop(self: Box<Self>) -> Option<AudioDriver>;
}

/// Opens the backend `options` ask for (or the first that works: JACK, then cpal) for
/// `layout`. When none opens, the error lists each attempt and why it failed.
pub fn open(options: &LiveOptions, layout: &Layout) -> Result<Box<dyn OpenBackend>, LiveError> {
    let order: &[BackendKind] = match options.backend {
        Some(kind) => match kind {
            BackendKind::Jack => &[BackendKind::Jack],
            BackendKind::Cpal => &[BackendKind::Cpal],
            BackendKind::Null => &[BackendKind::Null],
        },
        None => &[BackendKind::Jack, BackendKind::Cpal],
    };
    let mut attempts = Vec::new();
    for kind in order {
        let opened: Result<Box<dyn OpenBackend>, Vec<(String, String)>> = match kind {
            BackendKind::Jack => jack_backend::JackBackend::open(options, layout)
                .map(|b| Box::new(b) as Box<dyn OpenBackend>)
                .map_err(|why| vec![("jack".to_string(), why)]),
            BackendKind::Cpal => {
                cpal_backend::CpalBackend::open(options, layout).map(|b| Box::new(b) as Box<dyn OpenBackend>)
            }
            BackendKind::Null => Ok(Box::new(null::NullBackend::new(
                options.sample_rate.unwrap_or(DEFAULT_SAMPLE_RATE),
                options.block_frames.unwrap_or(DEFAULT_BLOCK_FRAMES),
                layout.clone(),
            ))),
        };
        match opened {
            Ok(backend) => {
                tracing::info!("opened {}", backend.describe());
                return Ok(backend);
            }
            Err(failed) => attempts.extend(failed),
        }
    }
    Err(LiveError::NothingOpened(attempts))
}
