//! The JACK backend: noderack as a JACK client. Every channel of every patch bus is an audio
//! output port named after it (`main_L`, `main_R`, `drums_1`…), so a rack's slots reach JACK as
//! separate outputs; every input bus channel is an input port; every `midi-in` node has its own
//! MIDI input port (named after the node), whose events land at their exact frame. The sample
//! rate and block size are the server's; a buffer-size change needs nothing from us (the
//! engine takes blocks of any size), a sample-rate change asks the control side to rebuild the
//! engine, and a server that goes away stops the client with its reason.

use std::sync::Arc;

use jack::{AudioIn, AudioOut, Client, ClientOptions, ClientStatus, Control, MidiIn, Port, PortFlags, ProcessScope};
use noderack_graph::NodeId;

use super::channels::ChannelLists;
use super::driver::guarded;
use super::health::Health;
use super::midi_in::MidiTarget;
use super::{channel_port_name, AudioDriver, Layout, LiveError, LiveOptions, MidiNode, OpenBackend, RunningBackend};

/// MIDI ports the audio thread can hold: `midi-in` nodes of one engine (a rack has a handful).
const MAX_MIDI_PORTS: usize = 64;
/// Port changes queued for the audio thread at once.
const PORT_QUEUE_CAPACITY: usize = 128;
/// JACK's type name of MIDI ports.
const MIDI_TYPE: &str = "8 bit raw midi";
/// JACK's type name of audio ports.
const AUDIO_TYPE: &str = "32 bit float mono audio";

/// A JACK port name for a node or bus name: JACK reserves `:` for `client:port`.
fn port_name(name: &str) -> String {
    name.replace(':', "_")
}

/// Why a JACK client could not be opened, for people.
pub(crate) fn describe_error(error: &jack::Error) -> String {
    match error {
        jack::Error::ClientError(status) if status.contains(ClientStatus::SERVER_FAILED) => {
            let server = std::env::var("JACK_DEFAULT_SERVER").unwrap_or_else(|_| "default".into());
            format!(
                "no JACK server is running (server \"{server}\"; start one, e.g. `jackd -d alsa` or `jackd -d dummy`, or \
                 name another with JACK_DEFAULT_SERVER)"
            )
        }
        jack::Error::LibraryError(why) => {
            format!("the JACK library could not be loaded ({why}); install libjack-jackd2-0")
        }
        other => other.to_string(),
    }
}

/// Ports of the source `pattern` names: full JACK port names containing it (case-insensitive)
/// among `ports`.
fn matching<'a>(ports: &'a [String], pattern: &str) -> impl Iterator<Item = &'a String> {
    let pattern = pattern.to_lowercase();
    ports.iter().filter(move |p| p.to_lowercase().contains(&pattern))
}

/// An open JACK client with its ports, not yet active.
pub struct JackBackend {
    client: Client,
    outs: Vec<Port<AudioOut>>,
    ins: Vec<Port<AudioIn>>,
    midi: Vec<(NodeId, Port<MidiIn>)>,
    connect: bool,
    layout: Layout,
}

impl JackBackend {
    /// Opens a client named as `options` says and registers the ports of `layout`. The error
    /// says why, for people.
    pub fn open(options: &LiveOptions, layout: &Layout) -> Result<Self, String> {
        let (client, _) =
            Client::new(&options.client_name, ClientOptions::NO_START_SERVER).map_err(|e| describe_error(&e))?;
        let register_failed = |name: &str, e: jack::Error| format!("cannot register port {name}: {e}");
        let mut outs = Vec::with_capacity(layout.output_channels());
        for bus in &layout.outputs {
            for c in 0..bus.channels {
                let name = port_name(&channel_port_name(bus, c));
                outs.push(client.register_port(&name, AudioOut::default()).map_err(|e| register_failed(&name, e))?);
            }
        }
        let mut ins = Vec::with_capacity(layout.input_channels());
        for bus in &layout.inputs {
            for c in 0..bus.channels {
                let name = port_name(&channel_port_name(bus, c));
                ins.push(client.register_port(&name, AudioIn::default()).map_err(|e| register_failed(&name, e))?);
            }
        }
        let mut midi = Vec::with_capacity(MAX_MIDI_PORTS);
        for node in layout.midi_nodes.iter().take(MAX_MIDI_PORTS) {
            let name = port_name(&node.name);
            midi.push((
                node.id,
                client.register_port(&name, MidiIn::default()).map_err(|e| register_failed(&name, e))?,
            ));
        }
        Ok(Self { client, outs, ins, midi, connect: options.connect, layout: layout.clone() })
    }
}

impl OpenBackend for JackBackend {
    fn describe(&self) -> String {
        format!(
            "JACK client \"{}\" at {} Hz, {}-frame blocks",
            self.client.name(),
            self.client.sample_rate(),
            self.client.buffer_size()
        )
    }
    fn sample_rate(&self) -> u32 {
        self.client.sample_rate()
    }
    fn block_frames(&self) -> usize {
        self.client.buffer_size() as usize
    }
    fn start(self: Box<Self>, driver: AudioDriver) -> Result<Box<dyn RunningBackend>, LiveError> {
        let description = self.describe();
        let JackBackend { client, outs, ins, midi, connect, layout } = *self;
        let health = driver.health().clone();
        health.set_block_frames(client.buffer_size() as usize);
        let midi_names: Vec<(NodeId, String)> = layout.midi_nodes.iter().map(|n| (n.id, n.name.clone())).collect();
        let own_ports: Vec<String> = outs.iter().filter_map(|p| p.name().ok()).collect();
        let own_inputs: Vec<String> = ins.iter().filter_map(|p| p.name().ok()).collect();
        let (commands, command_rx) = rtrb::RingBuffer::new(PORT_QUEUE_CAPACITY);
        let (return_tx, returns) = rtrb::RingBuffer::new(PORT_QUEUE_CAPACITY);
        let lists = ChannelLists::new(outs.len(), ins.len());
        let process = Process { driver, outs, ins, midi, commands: command_rx, returns: return_tx, lists };
        let notifications = Notifications { health: health.clone(), sample_rate: client.sample_rate() };
        let active = client
            .activate_async(notifications, process)
            .map_err(|e| LiveError::Backend(format!("cannot activate the JACK client: {e}")))?;
        let running =
            RunningJack { active: Some(active), commands, returns, midi_names, sources: Vec::new(), description };
        if connect {
            running.connect_system(&own_ports, &own_inputs, &layout);
        }
        Ok(Box::new(running))
    }
}

/// A change of the MIDI ports the audio thread reads.
enum PortCommand {
    Add(NodeId, Port<MidiIn>),
    Remove(NodeId),
}

/// The process callback's state.
struct Process {
    driver: AudioDriver,
    outs: Vec<Port<AudioOut>>,
    ins: Vec<Port<AudioIn>>,
    midi: Vec<(NodeId, Port<MidiIn>)>,
    commands: rtrb::Consumer<PortCommand>,
    returns: rtrb::Producer<Port<MidiIn>>,
    lists: ChannelLists,
}

impl Process {
    /// Applies queued port changes. Ports leaving go back to the control thread to be
    /// unregistered there (a full return queue keeps the command queued until next cycle).
    fn take_port_changes(&mut self) {
        while let Ok(command) = self.commands.peek() {
            let needs_return = match command {
                PortCommand::Add(..) => self.midi.len() == self.midi.capacity(),
                PortCommand::Remove(node) => self.midi.iter().any(|(n, _)| n == node),
            };
            if needs_return && self.returns.slots() == 0 {
                return;
            }
            let Ok(command) = self.commands.pop() else { return };
            let leaving = match command {
                PortCommand::Add(node, port) if self.midi.len() < self.midi.capacity() => {
                    self.midi.push((node, port));
                    None
                }
                PortCommand::Add(_, port) => Some(port),
                PortCommand::Remove(node) => {
                    self.midi.iter().position(|(n, _)| *n == node).map(|i| self.midi.swap_remove(i).1)
                }
            };
            if let Some(port) = leaving {
                let _ = self.returns.push(port); // room was checked above
            }
        }
    }
}

impl jack::ProcessHandler for Process {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        guarded(self.driver.guard(), || self.cycle(ps));
        Control::Continue
    }

    fn buffer_size(&mut self, _: &Client, frames: jack::Frames) -> Control {
        // The engine takes blocks of any size: only the display changes.
        self.driver.health().set_block_frames(frames as usize);
        Control::Continue
    }
}

impl Process {
    /// One JACK cycle: port changes, then the engine over this cycle's buffers and MIDI.
    fn cycle(&mut self, ps: &ProcessScope) {
        self.take_port_changes();
        let frames = ps.n_frames() as usize;
        let Process { driver, outs, ins, midi, lists, .. } = self;
        let outputs = outs.iter_mut().map(|p| p.as_mut_slice(ps));
        let inputs = ins.iter().map(|p| p.as_slice(ps));
        lists.with(outputs, inputs, |outputs, inputs| {
            driver.process(frames, outputs, inputs, |native| {
                for (node, port) in midi.iter() {
                    for event in port.iter(ps) {
                        native.push(MidiTarget::Node(*node), event.time, event.bytes);
                    }
                }
            })
        });
    }
}

/// JACK's notifications (on its non-real-time thread).
struct Notifications {
    health: Arc<Health>,
    sample_rate: u32,
}

impl jack::NotificationHandler for Notifications {
    unsafe fn shutdown(&mut self, _status: ClientStatus, reason: &str) {
        self.health.stop(&["the JACK server shut down: ", reason]);
    }

    fn xrun(&mut self, _: &Client) -> Control {
        self.health.backend_xrun();
        Control::Continue
    }

    fn sample_rate(&mut self, _: &Client, rate: jack::Frames) -> Control {
        if rate != self.sample_rate {
            self.health.request_sample_rate(rate);
        }
        Control::Continue
    }
}

/// The JACK client while it runs.
struct RunningJack {
    active: Option<jack::AsyncClient<Notifications, Process>>,
    commands: rtrb::Producer<PortCommand>,
    returns: rtrb::Consumer<Port<MidiIn>>,
    /// The MIDI ports the audio thread has (or will have), by node, with their port names.
    midi_names: Vec<(NodeId, String)>,
    /// MIDI sources (`--midi-in` patterns) connected to every MIDI port.
    sources: Vec<String>,
    description: String,
}

impl RunningJack {
    fn client(&self) -> Option<&Client> {
        self.active.as_ref().map(|a| a.as_client())
    }

    /// Connects the first output bus to the system's playback ports and the input buses to its
    /// capture ports, in order, where they exist.
    fn connect_system(&self, outputs: &[String], inputs: &[String], layout: &Layout) {
        let Some(client) = self.client() else { return };
        let playback = client.ports(None, Some(AUDIO_TYPE), PortFlags::IS_INPUT | PortFlags::IS_PHYSICAL);
        let main = layout.outputs.first().map_or(0, |b| b.channels as usize);
        if playback.is_empty() {
            tracing::warn!("--connect: the JACK server has no playback ports");
        }
        for (ours, theirs) in outputs.iter().take(main).zip(&playback) {
            if let Err(e) = client.connect_ports_by_name(ours, theirs) {
                tracing::warn!("cannot connect {ours} to {theirs}: {e}");
            }
        }
        let capture = client.ports(None, Some(AUDIO_TYPE), PortFlags::IS_OUTPUT | PortFlags::IS_PHYSICAL);
        for (theirs, ours) in capture.iter().zip(inputs) {
            if let Err(e) = client.connect_ports_by_name(theirs, ours) {
                tracing::warn!("cannot connect {theirs} to {ours}: {e}");
            }
        }
    }

    /// Connects every JACK MIDI output port matching a source pattern to every MIDI port of
    /// ours not yet connected to it. Returns how many sources matched.
    fn connect_sources(&self) -> usize {
        let Some(client) = self.client() else { return 0 };
        let sources = client.ports(None, Some(MIDI_TYPE), PortFlags::IS_OUTPUT);
        let own = format!("{}:", client.name());
        let mut found = 0;
        for pattern in &self.sources {
            for source in matching(&sources, pattern).filter(|s| !s.starts_with(&own)) {
                found += 1;
                for (_, name) in &self.midi_names {
                    let ours = format!("{own}{}", port_name(name));
                    match client.connect_ports_by_name(source, &ours) {
                        Ok(()) => tracing::info!("connected {source} to {ours}"),
                        Err(jack::Error::PortAlreadyConnected(..)) => {}
                        Err(e) => tracing::warn!("cannot connect {source} to {ours}: {e}"),
                    }
                }
            }
        }
        found
    }
}

impl RunningBackend for RunningJack {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn set_midi_nodes(&mut self, nodes: &[MidiNode]) -> Result<(), LiveError> {
        // Ports the audio thread gave back are unregistered here, off the audio thread.
        while let Ok(port) = self.returns.pop() {
            if let Some(client) = self.client() {
                if let Err(e) = client.unregister_port(port) {
                    tracing::warn!("cannot unregister a MIDI port: {e}");
                }
            }
        }
        let gone: Vec<NodeId> =
            self.midi_names.iter().map(|(id, _)| *id).filter(|id| !nodes.iter().any(|n| n.id == *id)).collect();
        for id in gone {
            self.commands.push(PortCommand::Remove(id)).map_err(|_| LiveError::Backend("port queue full".into()))?;
            self.midi_names.retain(|(n, _)| *n != id);
        }
        let new: Vec<&MidiNode> = nodes.iter().filter(|n| !self.midi_names.iter().any(|(id, _)| *id == n.id)).collect();
        if new.is_empty() {
            return Ok(()); // most edits touch no midi-in node: no port, no JACK round trip
        }
        for node in new {
            if self.midi_names.len() >= MAX_MIDI_PORTS {
                return Err(LiveError::Backend(format!("at most {MAX_MIDI_PORTS} MIDI ports")));
            }
            let Some(client) = self.client() else { return Ok(()) };
            let name = port_name(&node.name);
            let port = client
                .register_port(&name, MidiIn::default())
                .map_err(|e| LiveError::Backend(format!("cannot register MIDI port {name}: {e}")))?;
            self.commands
                .push(PortCommand::Add(node.id, port))
                .map_err(|_| LiveError::Backend("port queue full".into()))?;
            self.midi_names.push((node.id, node.name.clone()));
        }
        // New ports join the sources already connected to the others.
        self.connect_sources();
        Ok(())
    }

    fn connect_midi_source(&mut self, pattern: &str) -> bool {
        self.sources.push(pattern.to_string());
        let found = self.connect_sources() > 0;
        if !found {
            self.sources.pop();
        }
        found
    }

    fn maintain(&mut self) {
        // Sources that went away and came back (a keyboard replugged) are connected again.
        if !self.sources.is_empty() {
            self.connect_sources();
        }
    }

    fn stop(mut self: Box<Self>) -> Option<AudioDriver> {
        let active = self.active.take()?;
        match active.deactivate() {
            Ok((_client, _notifications, process)) => Some(process.driver),
            Err(e) => {
                tracing::debug!("JACK client did not deactivate cleanly: {e}");
                None
            }
        }
    }
}
