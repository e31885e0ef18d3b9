//! `runner`: plays a `.sw` song when MIDI asks it to. A note-on starts an instance of the song
//! transposed by (note − root) with its velocities scaled by the trigger's; a note-off either
//! stops scheduling and lets sounding notes end at their gates, or ends them at once; instances
//! overlap, up to a preallocated number (the oldest is cut when all are busy); a transport stop
//! ends everything.
//!
//! Two outputs. `out` carries the song's notes, each on the MIDI channel of its instrument
//! (instrument N on channel N mod 16 + 1: the default instrument on channel 1, the first the
//! song defines on channel 2…), to drive any instrument node. `audio` plays them through the
//! song's own instruments (its `loadPreset`s, `Oscillator`s and `Composite`s, each at the
//! tuning of the notes it plays), hosted inside the runner ([`rack`]), so a runner alone plays
//! the whole song.
//!
//! Timing: a song that sets its tempo keeps its own tempo map; one that does not follows the
//! transport's tempo, also when it changes while an instance plays. Times are exact frames,
//! the same at any block size. With `quantize`, an instance starts on the transport's next beat
//! or bar (its time signature). Pitch bend and controllers that are not mapped go to every
//! channel the song plays on; a mapped controller sets a song parameter (a top-level `const`),
//! choosing among versions of the song compiled ahead for each step of its range
//! ([`RunnerSong`]). Starting an instance, moving a controller or bending allocates nothing.

pub mod load;
mod play;
pub mod rack;
mod song;

use std::sync::Arc;

use noderack_graph::{NodeDescription, NodePorts, NodeSignature, PortKind, PortSpec, ProcessConfig, Processor};
use noderack_presets::sw::Song;
use noderack_presets::{ConfigError, ConfigReader, ConfigValue, NodeConfig};

pub use load::{load_song, InstrumentSource, MissingPresets};
pub use rack::RackInstruments;
pub use song::{check_parameters, ControlMap, RunnerSong, VoiceGroup, MAX_VARIANTS};

/// Event input port index.
pub const IN: usize = 0;
/// Event output port index.
pub const OUT: usize = 0;
/// Audio output port index (the song's own instruments).
pub const AUDIO: usize = 1;
/// Most instances at once.
pub const MAX_INSTANCES: u32 = 64;

/// What a note-off does to the instance it ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// No new notes; the sounding ones end at their gates.
    Finish,
    /// Every sounding note ends at once.
    Cut,
}

/// Where a triggered instance starts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Quantize {
    /// At the trigger's frame.
    Off,
    /// On the transport's next beat (of its time signature's unit).
    Beat,
    /// On the transport's next bar.
    Bar,
}

/// How a runner plays its song.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RunnerSettings {
    /// The trigger key that plays the song untransposed.
    pub root: u8,
    /// Instances that can play at once.
    pub instances: usize,
    /// What a note-off does.
    pub release: Release,
    /// Whether an instance starts again at the song's end.
    pub looping: bool,
    /// Where an instance starts.
    pub quantize: Quantize,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self { root: 60, instances: 8, release: Release::Finish, looping: false, quantize: Quantize::Off }
    }
}

impl RunnerSettings {
    /// Reads `root` (default 60), `instances` (default 8), `release` (`finish` or `cut`),
    /// `loop` (default false) and `quantize` (`off`, `beat` or `bar`).
    pub fn from_config(config: &NodeConfig) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(Runner::KIND, config, Runner::CONFIG_KEYS)?;
        let bad = |key: &str, reason: String| ConfigError::BadValue { kind: Runner::KIND, key: key.into(), reason };
        let release = match reader.text("release", "finish")?.as_str() {
            "finish" => Release::Finish,
            "cut" => Release::Cut,
            other => return Err(bad("release", format!("\"{other}\" is not \"finish\" or \"cut\""))),
        };
        let quantize = match reader.text("quantize", "off")?.as_str() {
            "off" => Quantize::Off,
            "beat" => Quantize::Beat,
            "bar" => Quantize::Bar,
            other => return Err(bad("quantize", format!("\"{other}\" is not \"off\", \"beat\" or \"bar\""))),
        };
        let looping = match config.get("loop") {
            None => false,
            Some(ConfigValue::Bool(b)) => *b,
            Some(_) => return Err(bad("loop", "expected true or false".into())),
        };
        Ok(Self {
            root: reader.integer("root", 0, 127, 60)? as u8,
            instances: reader.integer("instances", 1, MAX_INSTANCES, 8)? as usize,
            release,
            looping,
            quantize,
        })
    }
}

/// Description of a `runner` node.
pub struct Runner {
    signature: NodeSignature,
    song: Arc<RunnerSong>,
    settings: RunnerSettings,
    instruments: Option<Arc<RackInstruments>>,
}

impl Runner {
    /// Kind name in patch files.
    pub const KIND: &'static str = "runner";
    /// Its settings (`song`, `controls`, `instruments` and `library` are read by the registry,
    /// which compiles the song and loads its instruments).
    pub const CONFIG_KEYS: &'static [&'static str] =
        &["song", "root", "instances", "release", "loop", "quantize", "controls", "instruments", "library"];

    /// A runner of `song`, sending its notes out as events and, with `instruments`, playing
    /// them through those on its audio output.
    pub fn new(song: RunnerSong, settings: RunnerSettings, instruments: Option<RackInstruments>) -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::Events)],
                    outputs: vec![PortSpec::new("out", PortKind::Events), PortSpec::new("audio", PortKind::STEREO)],
                },
                params: vec![],
            },
            song: Arc::new(song),
            settings,
            instruments: instruments.map(Arc::new),
        }
    }

    /// A runner of `song` with the settings in `config`, its notes on the event output only.
    pub fn from_config(config: &NodeConfig, song: &Song) -> Result<Self, ConfigError> {
        Ok(Self::new(RunnerSong::new(song), RunnerSettings::from_config(config)?, None))
    }

    /// The prepared song.
    pub fn song(&self) -> &RunnerSong {
        &self.song
    }
}

impl NodeDescription for Runner {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        let rack = self.instruments.as_ref().and_then(|instruments| instruments.build(&self.song, config));
        Box::new(play::RunnerProcessor::new(self.song.clone(), self.settings, config, rack))
    }
}
