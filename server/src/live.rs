//! What `noderack play` and `noderack serve` share: the backend options, and starting an engine
//! for a patch on the backend they choose (the engine is built at the backend's sample rate).

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use noderack_graph::{new_engine, Engine};
use noderack_host::live::recorder::{self, Recorder};
use noderack_host::live::scope::Scope;
use noderack_host::live::{
    self, midi_queue, AudioDriver, BackendKind, Health, Layout, LiveOptions, MidiNode, MidiSender, RunningBackend,
};
use noderack_nodes::MidiIn;
use noderack_presets::RunningPatch;

/// Events a live MIDI queue holds (a dense file sends ~100 per 0.5 s of lookahead).
const MIDI_QUEUE_CAPACITY: usize = 8192;
/// Frames a scope view shows (about 21 ms at 48 kHz: several periods of a tone).
pub const SCOPE_FRAMES: usize = 1024;

/// Which backend, and how to open it.
#[derive(clap::Args, Clone)]
pub struct BackendArgs {
    /// Audio backend (default: JACK if a server runs, else a sound card through cpal).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// cpal: output device (part of its name or id; `alsa:NAME` or `jack:NAME` picks the host).
    #[arg(long)]
    pub device: Option<String>,
    /// cpal and null: sample rate in Hz (JACK uses its server's).
    #[arg(long)]
    pub sample_rate: Option<u32>,
    /// cpal and null: block size in frames (JACK uses its server's).
    #[arg(long)]
    pub buffer_size: Option<usize>,
    /// JACK: connect the first bus to the system playback ports (and input buses to capture).
    #[arg(long)]
    pub connect: bool,
    /// JACK: client name.
    #[arg(long, default_value = "noderack")]
    pub client_name: String,
}

/// Live audio backends.
#[derive(Copy, Clone, clap::ValueEnum)]
pub enum Backend {
    /// A JACK client.
    Jack,
    /// A sound card through cpal (ALSA, or cpal's JACK host).
    Cpal,
    /// No device, paced by the wall clock.
    Null,
}

impl From<Backend> for BackendKind {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Jack => BackendKind::Jack,
            Backend::Cpal => BackendKind::Cpal,
            Backend::Null => BackendKind::Null,
        }
    }
}

impl BackendArgs {
    /// Refuses values no backend could take, naming the option.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(rate) = self.sample_rate {
            if !(8_000..=384_000).contains(&rate) {
                bail!("--sample-rate must be 8000 to 384000 Hz");
            }
        }
        if let Some(frames) = self.buffer_size {
            if !(16..=8192).contains(&frames) {
                bail!("--buffer-size must be 16 to 8192 frames");
            }
        }
        Ok(())
    }
}

/// The `midi-in` nodes of a running patch, for backends that give each its own port.
pub fn midi_nodes(running: &RunningPatch) -> Vec<MidiNode> {
    running.nodes_of_kind(MidiIn::KIND).into_iter().map(|(id, name)| MidiNode { id, name }).collect()
}

/// An engine playing on a backend.
pub struct Live {
    /// The control side.
    pub engine: Engine,
    /// What the audio thread reports.
    pub health: Arc<Health>,
    /// The backend, running.
    pub backend: Box<dyn RunningBackend>,
    /// What it is, for people.
    pub description: String,
    /// The engine's sample rate (the backend's).
    pub sample_rate: u32,
    /// One live MIDI queue per source asked for.
    pub midi: Vec<MidiSender>,
    /// The recording, if one was asked for.
    pub recorder: Option<Recorder>,
    /// The oscilloscope of the first bus, if one was asked for.
    pub scope: Option<Scope>,
}

/// Opens the backend `args` name for `running`'s buses and MIDI nodes, builds the engine at its
/// sample rate with `midi_sources` live MIDI queues, if `record` is given, a recording of
/// everything played, and with `scope`, an oscilloscope of the first bus; `what` names the
/// patch in errors.
pub fn start(
    args: &BackendArgs,
    running: &RunningPatch,
    midi_sources: usize,
    record: Option<&Path>,
    scope: bool,
    what: &str,
) -> anyhow::Result<Live> {
    let patch = running.patch();
    let layout = Layout { outputs: patch.buses.clone(), inputs: patch.inputs.clone(), midi_nodes: midi_nodes(running) };
    let options = LiveOptions {
        backend: args.backend.map(BackendKind::from),
        device: args.device.clone(),
        sample_rate: args.sample_rate,
        block_frames: args.buffer_size,
        client_name: args.client_name.clone(),
        connect: args.connect,
    };
    let opened = live::open(&options, &layout)?;
    let sample_rate = opened.sample_rate();
    let description = opened.describe();
    let config = patch.engine_config(sample_rate as f32, noderack_graph::limits::DEFAULT_MAX_BLOCK_FRAMES);
    let (mut engine, executor) = new_engine(config);
    engine.apply(running.edits()).with_context(|| format!("building {what}"))?;
    let health = Arc::new(Health::new(&patch.buses, sample_rate, engine.status().clone()));
    health.set_latency_frames(engine.plan().latency_frames());
    let (mut midi, mut receivers) = (Vec::new(), Vec::new());
    for _ in 0..midi_sources {
        let (tx, rx) = midi_queue(MIDI_QUEUE_CAPACITY, health.clone());
        midi.push(tx);
        receivers.push(rx);
    }
    let mut driver = AudioDriver::new(executor, sample_rate, health.clone(), receivers);
    let recorder = match record {
        Some(path) => {
            let (recorder, tap) = recorder::record(path, layout.output_channels(), sample_rate)?;
            driver = driver.with_tap(tap);
            Some(recorder)
        }
        None => None,
    };
    let scope = if scope {
        let channels = patch.buses.first().map_or(0, |b| usize::from(b.channels));
        let (scope, tap) = Scope::new(channels, SCOPE_FRAMES, sample_rate as usize / 4);
        driver = driver.with_scope(tap);
        Some(scope)
    } else {
        None
    };
    let backend = opened.start(driver)?;
    Ok(Live { engine, health, backend, description, sample_rate, midi, recorder, scope })
}
