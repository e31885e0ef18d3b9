//! MIDI devices by port name: through the ALSA sequencer (midir) where the system has one, else
//! through JACK MIDI (a small JACK client of our own). Hot-plug tolerant: a watcher thread
//! reconnects a device that disappears and comes back. Both stamp events with their arrival
//! time, mapped onto the host clock, so that the audio callback can place them inside the
//! block ([`super::clock`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use jack::{Client, ClientOptions, Control, MidiIn, PortFlags, ProcessScope};

use super::clock::{host_micros, StampMapper};
use super::midi_in::{MidiSender, MidiTarget, MidiTime};
use super::LiveError;

/// How often the watcher looks for the device (plugged in, unplugged, back again).
const WATCH_PERIOD: Duration = Duration::from_millis(500);
/// JACK's type name of MIDI ports.
const MIDI_TYPE: &str = "8 bit raw midi";

/// Which MIDI system a device input uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MidiSystem {
    /// The ALSA sequencer, through midir.
    Alsa,
    /// JACK MIDI, through a JACK client of our own.
    Jack,
}

/// A MIDI device input kept connected by a watcher thread.
pub struct DeviceMidiInput {
    system: MidiSystem,
    pattern: String,
    stop: Arc<AtomicBool>,
    connected: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The devices (ALSA sequencer or JACK MIDI output ports) MIDI input could come from now, or
/// why none can be listed.
pub fn list_midi_sources(client_name: &str) -> Vec<(MidiSystem, Result<Vec<String>, String>)> {
    let alsa = match midir::MidiInput::new(client_name) {
        Ok(input) => Ok(input.ports().iter().filter_map(|p| input.port_name(p).ok()).collect()),
        Err(e) => Err(format!("ALSA sequencer unavailable ({e})")),
    };
    let jack = match Client::new(&format!("{client_name}-list"), ClientOptions::NO_START_SERVER) {
        Ok((client, _)) => Ok(client.ports(None, Some(MIDI_TYPE), PortFlags::IS_OUTPUT)),
        Err(e) => Err(format!("no JACK server ({e})")),
    };
    vec![(MidiSystem::Alsa, alsa), (MidiSystem::Jack, jack)]
}

impl DeviceMidiInput {
    /// Starts listening to the device whose port name contains `pattern` (case-insensitive),
    /// sending its messages to `target`. Fails only when neither MIDI system works at all; a
    /// device that is not there yet is waited for.
    pub fn open(pattern: &str, target: MidiTarget, sender: MidiSender, client_name: &str) -> Result<Self, LiveError> {
        Self::start(pattern, target, sender, client_name).map_err(LiveError::Backend)
    }

    fn start(pattern: &str, target: MidiTarget, sender: MidiSender, client_name: &str) -> Result<Self, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let connected = Arc::new(AtomicBool::new(false));
        let (system, thread) = match midir::MidiInput::new(client_name) {
            Ok(probe) => {
                let watch = AlsaWatch {
                    pattern: pattern.to_lowercase(),
                    client_name: client_name.to_string(),
                    shared: Arc::new(Mutex::new((sender, StampMapper::new()))),
                    target,
                };
                let (stop, connected) = (stop.clone(), connected.clone());
                let thread = std::thread::Builder::new()
                    .name("noderack-midi-watch".into())
                    .spawn(move || watch.run(probe, &stop, &connected))
                    .map_err(|e| e.to_string())?;
                (MidiSystem::Alsa, thread)
            }
            Err(alsa_error) => {
                let name = format!("{client_name}-midi");
                let (client, _) = Client::new(&name, ClientOptions::NO_START_SERVER).map_err(|jack_error| {
                    format!(
                        "no MIDI system to read \"{pattern}\" from: ALSA sequencer: {alsa_error}; JACK: {jack_error}"
                    )
                })?;
                let port = client.register_port("in", MidiIn::default()).map_err(|e| e.to_string())?;
                let own = port.name().map_err(|e| e.to_string())?;
                let handler = JackMidi { port, sender, mapper: StampMapper::new(), target };
                let active = client.activate_async((), handler).map_err(|e| e.to_string())?;
                let pattern = pattern.to_lowercase();
                let (stop, connected) = (stop.clone(), connected.clone());
                let thread = std::thread::Builder::new()
                    .name("noderack-midi-watch".into())
                    .spawn(move || watch_jack(active, &own, &pattern, &stop, &connected))
                    .map_err(|e| e.to_string())?;
                (MidiSystem::Jack, thread)
            }
        };
        Ok(Self { system, pattern: pattern.to_string(), stop, connected, thread: Some(thread) })
    }

    /// The MIDI system in use.
    pub fn system(&self) -> MidiSystem {
        self.system
    }

    /// Whether the device is connected now.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// The name pattern it listens for.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl Drop for DeviceMidiInput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sleeps one watch period in small steps, returning early when asked to stop.
fn nap(stop: &AtomicBool) -> bool {
    for _ in 0..10 {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        std::thread::sleep(WATCH_PERIOD / 10);
    }
    !stop.load(Ordering::Acquire)
}

/// The ALSA watcher: connects to the first port whose name matches, notices when it is gone.
struct AlsaWatch {
    pattern: String,
    client_name: String,
    /// The queue and the stamp mapper, shared with midir's callback (its own thread; the
    /// watcher never takes the lock).
    shared: Arc<Mutex<(MidiSender, StampMapper)>>,
    target: MidiTarget,
}

impl AlsaWatch {
    fn run(self, probe: midir::MidiInput, stop: &AtomicBool, connected: &AtomicBool) {
        let mut connection: Option<(midir::MidiInputConnection<()>, String)> = None;
        loop {
            let ports = probe.ports();
            let present = |id: &str| ports.iter().any(|p| p.id() == id);
            match &connection {
                Some((_, id)) if present(id) => {}
                Some((_, _)) => {
                    tracing::warn!("MIDI device \"{}\" disappeared; waiting for it to come back", self.pattern);
                    connection = None;
                    connected.store(false, Ordering::Release);
                }
                None => {
                    let found = ports
                        .iter()
                        .find(|p| probe.port_name(p).is_ok_and(|n| n.to_lowercase().contains(&self.pattern)));
                    if let (Some(port), Ok(input)) = (found, midir::MidiInput::new(&self.client_name)) {
                        let shared = self.shared.clone();
                        let target = self.target;
                        // Each connection has its own stamp epoch: a fresh mapper.
                        if let Ok(mut s) = shared.lock() {
                            s.1 = StampMapper::new();
                        }
                        let callback = move |stamp: u64, bytes: &[u8], _: &mut ()| {
                            let arrival = host_micros();
                            if let Ok(mut s) = shared.lock() {
                                let at = s.1.map(stamp, arrival);
                                s.0.send_bytes(MidiTime::HostMicros(at), target, bytes);
                            }
                        };
                        match input.connect(port, "noderack-in", callback, ()) {
                            Ok(c) => {
                                tracing::info!("MIDI input from {}", probe.port_name(port).unwrap_or_default());
                                connection = Some((c, port.id()));
                                connected.store(true, Ordering::Release);
                            }
                            Err(e) => tracing::warn!("cannot connect MIDI device \"{}\": {e}", self.pattern),
                        }
                    }
                }
            }
            if !nap(stop) {
                return;
            }
        }
    }
}

/// The JACK MIDI client's process callback: events stamped with their JACK time, mapped onto
/// the host clock.
struct JackMidi {
    port: jack::Port<MidiIn>,
    sender: MidiSender,
    mapper: StampMapper,
    target: MidiTarget,
}

impl jack::ProcessHandler for JackMidi {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        let arrival = host_micros();
        let Ok(times) = ps.cycle_times() else { return Control::Continue };
        let frames = ps.n_frames().max(1) as f64;
        for event in self.port.iter(ps) {
            let stamp = times.current_usecs + (event.time as f64 * times.period_usecs as f64 / frames) as u64;
            let at = self.mapper.map(stamp, arrival);
            self.sender.send_bytes(MidiTime::HostMicros(at), self.target, event.bytes);
        }
        Control::Continue
    }
}

/// The JACK watcher: keeps every output port matching the pattern connected to ours.
fn watch_jack(
    active: jack::AsyncClient<(), JackMidi>,
    own: &str,
    pattern: &str,
    stop: &AtomicBool,
    connected: &AtomicBool,
) {
    let mut was_connected = false;
    loop {
        let client = active.as_client();
        let sources = client.ports(None, Some(MIDI_TYPE), PortFlags::IS_OUTPUT);
        let own_client = own.split(':').next().unwrap_or_default();
        let mut any = false;
        for source in sources.iter().filter(|s| s.to_lowercase().contains(pattern) && !s.starts_with(own_client)) {
            any = true;
            match client.connect_ports_by_name(source, own) {
                Ok(()) => tracing::info!("MIDI input from {source}"),
                Err(jack::Error::PortAlreadyConnected(..)) => {}
                Err(e) => tracing::warn!("cannot connect {source}: {e}"),
            }
        }
        if was_connected && !any {
            tracing::warn!("MIDI device \"{pattern}\" disappeared; waiting for it to come back");
        }
        was_connected = any;
        connected.store(any, Ordering::Release);
        if !nap(stop) {
            break;
        }
    }
    let _ = active.deactivate();
}
