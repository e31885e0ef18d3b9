//! The `clap` node: a CLAP plugin hosted as a node of the graph.
//!
//! - **Ports** come from the plugin's audio-ports extension, with its channel counts (a mono
//!   plugin gets mono ports; a side-chain is one more input). The main ports are `in` and
//!   `out`, the others are named after the plugin's names for them. A note input port becomes an
//!   event input, `notes`.
//! - **Parameters** the plugin lets a host write become node parameters (names in snake case,
//!   its ranges and defaults). They are never smoothed by the engine: a change reaches the
//!   plugin as a CLAP parameter event at its exact frame, and the plugin smooths as it likes.
//! - **Notes**: note-on and note-off become CLAP note events for a plugin that takes them, MIDI
//!   for one that takes only MIDI; every other channel message goes as MIDI.
//! - **Notes out**: a plugin with a note output gets an event output, `notes`, carrying its
//!   notes (CLAP or MIDI) as MIDI.
//! - **Its own changes**: parameter values the plugin changes itself (its GUI, a MIDI-learned
//!   control) come back as output events; the node hands them to the control side
//!   ([`NodeDescription::take_own_param_changes`]), which records them in the graph only
//!   ([`noderack_graph::Engine::record_param`]): the plugin is never told its own value back.
//!   The node sends the plugin a parameter only in a chunk where the control side set it.
//! - **Latency** from the latency extension is the node's latency, which the compiler
//!   compensates on the other branches. The **tail** it reports is the node's tail: removed,
//!   it is let ring out that long (its inputs cut, its held notes released) before it fades.
//! - **Parameters start** at the plugin's values once its state (if any) is loaded.
//! - **Threads**: the plugin lives on a main thread of its own ([`PluginThread`]). Activation
//!   happens there, off the audio thread, when the processor is built; the processor moves to
//!   the executor and starts processing on the audio thread; when the node is removed, the
//!   processor comes back to be stopped and deactivated on the main thread.
//! - **Protection**: a block with a non-finite sample is muted and counted ([`ClapHealth`]); a
//!   process call that fails or panics is silent and counted; a plugin that cannot be created or
//!   activated is an error when the node is created, so the graph is never changed by it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use clack_extensions::latency::PluginLatency;
use clack_extensions::state::PluginState;
use clack_extensions::tail::{PluginTail, TailLength};
use clack_host::events::event_types::{
    MidiEvent, NoteExpressionEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::spaces::CoreEventSpace;
use clack_host::events::{EventFlags, EventHeader, Match};
use clack_host::prelude::*;
use clack_host::process::PluginAudioProcessor;
use clack_host::utils::{BeatTime, SecondsTime};
use noderack_graph::{
    Event, EventData, ExpressionKind, MidiMessage, NodeDescription, NodePorts, NodeSignature, NoteExpression, ParamId,
    ParamSpec, PortKind, PortSpec, ProcessConfig, ProcessContext, Processor, Unit,
};

use super::handlers::{audio_state, NoderackHost, Requests};
use super::inspect::{read_info, tail_frames, PluginInfo};
use super::plugin_thread::PluginThread;
use super::restart::{self, AudioEnd, Reported};
use super::ClapError;

/// An `f32`'s exponent field, its lowest bit, and its sign bit.
const EXPONENT_BITS: u32 = 0x7f80_0000;
const EXPONENT_ONE: u32 = 0x0080_0000;
const SIGN_BIT: u32 = 0x8000_0000;

/// Most events handed to a plugin in one block (more are dropped).
const EVENT_CAPACITY: usize = 1024;
/// Parameter changes a plugin makes itself that wait for the control side (more are dropped,
/// and counted).
const REPORT_CAPACITY: usize = 1024;

/// Counters of what went wrong while a hosted plugin played, readable from any thread.
#[derive(Debug, Default)]
pub struct ClapHealth {
    /// Blocks muted because the plugin's output held NaN or infinity.
    pub nonfinite_blocks: AtomicU64,
    /// Process calls that failed, panicked, or found the plugin unable to start.
    pub failed_calls: AtomicU64,
    /// Parameter changes the plugin made that the control side never saw (its queue was full).
    pub lost_param_changes: AtomicU64,
}

/// Description of a `clap` node.
pub struct ClapNode {
    signature: NodeSignature,
    thread: Arc<PluginThread>,
    info: PluginInfo,
    /// The CLAP id of each node parameter, by [`ParamId`].
    param_ids: Vec<ClapId>,
    health: Arc<ClapHealth>,
    /// The latency and tail the plugin reports, kept current by the processor and by restarts.
    reported: Arc<Reported>,
    /// Where the processor last built reports the parameter changes the plugin made itself.
    own_changes: Mutex<Option<rtrb::Consumer<(u32, f32)>>>,
}

impl ClapNode {
    /// Kind name in patch files.
    pub const KIND: &'static str = "clap";

    /// Hosts plugin `id` from the file `path`, restoring `state` (what [`ClapNode::save_state`]
    /// gave) if given. The plugin is created and activated once here (to read its latency), so
    /// a plugin that cannot be is an error now rather than a silent node later.
    pub fn new(path: &Path, id: &str, state: Option<Vec<u8>>) -> Result<ClapNode, ClapError> {
        let thread = PluginThread::start(path, id)?;
        if let Some(state) = state {
            let owned = id.to_string();
            thread
                .run("state loading", move |instance| {
                    let handle = instance.plugin_handle();
                    let Some(ext) = handle.get_extension::<PluginState>() else {
                        return Err(format!("{owned} saves no state, but the patch holds some"));
                    };
                    ext.load(&handle, &mut state.as_slice()).map_err(|e| e.to_string())
                })?
                .map_err(|reason| ClapError::Instance { id: id.to_string(), stage: "state loading", reason })?;
        }
        let owned = id.to_string();
        let info = thread.run("inspection", move |instance| read_info(instance, &owned))??;
        let mut inputs = Vec::new();
        for (index, port) in info.audio_inputs.iter().enumerate() {
            let name = if index == 0 || port.main { "in".to_string() } else { snake(&port.name, "input", index) };
            inputs.push(PortSpec::named(unique(&inputs, name), PortKind::Audio { channels: port.channels as u16 }));
        }
        if !info.note_inputs.is_empty() {
            inputs.push(PortSpec::named(unique(&inputs, "notes".into()), PortKind::Events));
        }
        let mut outputs = Vec::new();
        for (index, port) in info.audio_outputs.iter().enumerate() {
            let name = if index == 0 || port.main { "out".to_string() } else { snake(&port.name, "output", index) };
            outputs.push(PortSpec::named(unique(&outputs, name), PortKind::Audio { channels: port.channels as u16 }));
        }
        if !info.note_outputs.is_empty() {
            outputs.push(PortSpec::named(unique(&outputs, "notes".into()), PortKind::Events));
        }
        let mut params: Vec<ParamSpec> = Vec::new();
        let mut param_ids = Vec::new();
        for p in info.params.iter().filter(|p| !p.read_only && !p.hidden) {
            let mut name = snake(&p.name, "param", p.id as usize);
            if params.iter().any(|q| q.name == name) {
                name = format!("{name}_{}", p.id);
            }
            let unit = if p.stepped && p.min == 0.0 && p.max == 1.0 { Unit::Toggle } else { Unit::None };
            // The value it has now (its state's, if one was loaded) is where the node starts.
            let start = p.value.clamp(p.min, p.max) as f32;
            let spec = ParamSpec::continuous("", p.min as f32, p.max as f32, start, unit)
                .renamed(name)
                .with_smoothing_seconds(0.0);
            params.push(spec);
            param_ids.push(ClapId::new(p.id));
        }
        let reported = Arc::new(Reported::new(info.latency_frames, info.tail_frames));
        Ok(ClapNode {
            signature: NodeSignature { kind: Self::KIND, ports: NodePorts { inputs, outputs }, params },
            thread: Arc::new(thread),
            info,
            param_ids,
            health: Arc::new(ClapHealth::default()),
            reported,
            own_changes: Mutex::new(None),
        })
    }

    /// What the plugin offers.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// What went wrong while it played.
    pub fn health(&self) -> Arc<ClapHealth> {
        self.health.clone()
    }

    /// The plugin's state now (its state extension), to save in a patch.
    pub fn save_state(&self) -> Result<Vec<u8>, ClapError> {
        let id = self.info.id.clone();
        self.thread
            .run("state saving", move |instance| {
                let handle = instance.plugin_handle();
                let ext = handle.get_extension::<PluginState>().ok_or_else(|| format!("{id} saves no state"))?;
                let mut bytes = Vec::new();
                ext.save(&handle, &mut bytes).map_err(|e| e.to_string())?;
                Ok(bytes)
            })?
            .map_err(|reason| ClapError::Instance { id: self.info.id.clone(), stage: "state saving", reason })
    }
}

/// `name` in snake case (`Gain Reduction` → `gain_reduction`), or `fallback_N` if nothing is left.
fn snake(name: &str, fallback: &str, index: usize) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{fallback}_{index}")
    } else {
        out
    }
}

/// `name`, or `name_N` if a port of `ports` has it.
fn unique(ports: &[PortSpec], name: String) -> String {
    let taken = |n: &str| ports.iter().any(|p| p.name == n);
    if !taken(&name) {
        return name;
    }
    (2..).map(|k| format!("{name}_{k}")).find(|n| !taken(n)).unwrap_or(name)
}

impl NodeDescription for ClapNode {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    fn latency_frames(&self) -> u32 {
        self.reported.latency_frames.load(Ordering::Relaxed)
    }

    fn tail_frames(&self) -> u32 {
        self.reported.tail_frames.load(Ordering::Relaxed)
    }

    fn current_settings(&self) -> Vec<(String, String)> {
        if !self.info.state {
            return Vec::new();
        }
        match self.save_state() {
            Ok(bytes) => vec![("state".to_string(), base64::engine::general_purpose::STANDARD.encode(bytes))],
            Err(e) => {
                tracing::error!("{e}; the patch keeps the state the node was made with");
                Vec::new()
            }
        }
    }

    fn take_own_param_changes(&self) -> Vec<(ParamId, f32)> {
        let mut changes: Vec<(ParamId, f32)> = Vec::new();
        let mut guard = self.own_changes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(consumer) = guard.as_mut() {
            while let Ok((index, value)) = consumer.pop() {
                // Only the latest value of each parameter matters.
                match changes.iter_mut().find(|(p, _)| p.0 == index) {
                    Some(change) => change.1 = value,
                    None => changes.push((ParamId(index), value)),
                }
            }
        }
        changes
    }

    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        let audio = PluginAudioConfiguration {
            sample_rate: config.sample_rate as f64,
            min_frames_count: 1,
            max_frames_count: config.max_block_frames.max(1) as u32,
        };
        let reported = self.reported.clone();
        let activated = self.thread.run_with_restarts("activation", move |instance, restarts| {
            let mut stopped = instance.activate(audio_state, audio)?;
            // What it reports at this sample rate and block size.
            reported.tail_frames.store(tail_frames(&mut stopped), Ordering::Relaxed);
            let handle = instance.plugin_handle();
            let latency = handle.get_extension::<PluginLatency>().map_or(0, |l| l.get(&handle));
            reported.latency_frames.store(latency, Ordering::Relaxed);
            let (audio_end, main_end) = restart::link(audio, reported);
            if let Some(old) = restarts.replace(main_end) {
                old.close(instance);
            }
            Ok::<_, PluginInstanceError>((stopped, audio_end))
        });
        let (processor, restart) = match activated {
            Ok(Ok((stopped, audio_end))) => (Some(PluginAudioProcessor::from(stopped)), Some(audio_end)),
            Ok(Err(e)) => {
                tracing::error!("{}: activation failed: {e}; the node is silent", self.info.id);
                (None, None)
            }
            Err(e) => {
                tracing::error!("{e}; the node is silent");
                (None, None)
            }
        };
        let frames = config.max_block_frames.max(1);
        let channels = |ports: &[super::AudioPortInfo]| ports.iter().map(|p| p.channels as usize).collect::<Vec<_>>();
        let (inputs, outputs) = (channels(&self.info.audio_inputs), channels(&self.info.audio_outputs));
        let scratch = |layout: &[usize]| layout.iter().map(|&n| vec![vec![0.0f32; frames]; n]).collect::<Vec<_>>();
        let note_port = (!self.info.note_inputs.is_empty()).then_some(inputs.len());
        let note_output = (!self.info.note_outputs.is_empty()).then_some(outputs.len());
        let clap_notes = self.info.note_inputs.first().is_some_and(|p| p.clap);
        let (reports, consumer) = rtrb::RingBuffer::new(REPORT_CAPACITY);
        *self.own_changes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(consumer);
        Box::new(ClapProcessor {
            processor,
            restart,
            restarting: false,
            resend_params: false,
            tail_extension: None,
            reported: self.reported.clone(),
            reports,
            note_output,
            thread: self.thread.clone(),
            in_ports: AudioPorts::with_capacity(inputs.iter().sum::<usize>().max(1), inputs.len().max(1)),
            out_ports: AudioPorts::with_capacity(outputs.iter().sum::<usize>().max(1), outputs.len().max(1)),
            input_scratch: scratch(&inputs),
            output_channels: outputs.clone(),
            note_port,
            clap_notes,
            pending: Vec::with_capacity(EVENT_CAPACITY),
            events: EventBuffer::with_capacity(EVENT_CAPACITY),
            plugin_events: EventBuffer::with_capacity(EVENT_CAPACITY),
            param_ids: self.param_ids.clone(),
            seen: self.signature.params.iter().map(|p| p.default).collect(),
            params_primed: false,
            plugin_values: self.signature.params.iter().map(|p| p.default).collect(),
            steady_frames: 0,
            health: self.health.clone(),
        })
    }
}

/// An event for the plugin, before it is written in CLAP form.
#[derive(Copy, Clone)]
enum Pending {
    NoteOn { channel: u8, key: u8, velocity: u8 },
    NoteOff { channel: u8, key: u8, velocity: u8 },
    Midi([u8; 3]),
    Param { id: ClapId, value: f32 },
    Expression { channel: u8, key: u8, kind: ExpressionKind, value: f32 },
}

/// The audio-thread half of a `clap` node.
struct ClapProcessor {
    processor: Option<PluginAudioProcessor<NoderackHost>>,
    /// The way to the plugin's main thread when it asks to be restarted.
    restart: Option<AudioEnd>,
    /// The processor is on the main thread being restarted: silence meanwhile.
    restarting: bool,
    /// Every parameter's value goes to the plugin at the next block (after a restart).
    resend_params: bool,
    /// The plugin's tail extension, looked up when it first says its tail changed.
    tail_extension: Option<PluginTail>,
    reported: Arc<Reported>,
    /// Parameter changes the plugin made itself, for the control side: (index, value).
    reports: rtrb::Producer<(u32, f32)>,
    /// Our event output carrying the plugin's notes, if it has a note output.
    note_output: Option<usize>,
    thread: Arc<PluginThread>,
    in_ports: AudioPorts,
    out_ports: AudioPorts,
    /// One buffer per channel of every input port: `[port][channel]`. (The plugin reads
    /// these copies: CLAP input buffers are mutable in clack, the engine's inputs are not.)
    input_scratch: Vec<Vec<Vec<f32>>>,
    /// Channels of each audio output port (the plugin writes into the node's outputs).
    output_channels: Vec<usize>,
    /// Our event input carrying notes, if the plugin takes notes.
    note_port: Option<usize>,
    /// Whether notes go as CLAP note events (else as MIDI).
    clap_notes: bool,
    /// This block's events: (frame, order, event), sorted before they are written.
    pending: Vec<(u32, u32, Pending)>,
    events: EventBuffer,
    plugin_events: EventBuffer,
    param_ids: Vec<ClapId>,
    /// Each parameter's value as the engine last gave it.
    seen: Vec<f32>,
    /// The engine's first values (the patch's) have been looked at.
    params_primed: bool,
    /// Each parameter's value as the plugin has it (what we sent, or what it said it set).
    plugin_values: Vec<f32>,
    steady_frames: u64,
    health: Arc<ClapHealth>,
}

impl ClapProcessor {
    fn push(&mut self, frame: u32, event: Pending) {
        if self.pending.len() < self.pending.capacity() {
            let order = self.pending.len() as u32;
            self.pending.push((frame, order, event));
        }
    }

    /// The control side set parameter `index` (CLAP id `id`) to `value` from `frame` on: sent
    /// to the plugin unless it has that value already.
    fn engine_value(&mut self, index: usize, frame: u32, value: f32, id: ClapId) {
        if value != self.plugin_values[index] {
            self.plugin_values[index] = value;
            self.push(frame, Pending::Param { id, value });
        }
    }

    /// Collects this block's notes and parameter changes, in time order, as CLAP events.
    fn gather(&mut self, ctx: &ProcessContext<'_>, frames: usize) {
        self.pending.clear();
        if let Some(port) = self.note_port {
            for event in ctx.inputs().events(port) {
                let at = event.time_frames.min(frames.saturating_sub(1) as u32);
                let message = match event.data {
                    EventData::Midi(message) => message,
                    EventData::Expression(NoteExpression { channel, key, kind, value }) => {
                        // Only a plugin that takes CLAP notes can take note expressions.
                        if self.clap_notes {
                            self.push(at, Pending::Expression { channel, key, kind, value });
                        }
                        continue;
                    }
                };
                let pending = match message {
                    MidiMessage::NoteOn { channel, key, velocity } => Pending::NoteOn { channel, key, velocity },
                    MidiMessage::NoteOff { channel, key, velocity } => Pending::NoteOff { channel, key, velocity },
                    other => match midi_bytes(other) {
                        Some(bytes) => Pending::Midi(bytes),
                        None => continue,
                    },
                };
                self.push(at, pending);
            }
        }
        if self.resend_params && self.processor.is_some() {
            self.resend_params = false;
            for index in 0..self.param_ids.len() {
                let (id, value) = (self.param_ids[index], self.plugin_values[index]);
                self.push(0, Pending::Param { id, value });
            }
        }
        if !ctx.params_unchanged() || !self.params_primed {
            self.params_primed = true;
            let params = ctx.params();
            for index in 0..self.param_ids.len() {
                let signal = params.get(ParamId(index as u32));
                let id = self.param_ids[index];
                // A parameter the control side did not set in this chunk reads as constant
                // (plugin parameters are never smoothed): the plugin keeps what it has, which
                // may be a value it set itself that the engine only recorded. Only the first
                // chunk's values (the patch's, given at creation) go to the plugin unasked.
                if let Some(value) = signal.constant() {
                    if value != self.seen[index] {
                        self.seen[index] = value;
                        self.engine_value(index, 0, value, id);
                    }
                    continue;
                }
                let mut previous = self.seen[index];
                let mut moved = false;
                for frame in 0..frames {
                    let value = signal.at(frame);
                    if value != previous {
                        previous = value;
                        moved = true;
                        self.engine_value(index, frame as u32, value, id);
                    }
                }
                if !moved {
                    // Set again to the value the engine had (an undo of a change the plugin
                    // made itself, which the engine only recorded): the plugin follows.
                    self.engine_value(index, 0, previous, id);
                }
                self.seen[index] = previous;
            }
        }
        // Unstable sort by (frame, order) keeps arrival order and allocates nothing.
        self.pending.sort_unstable_by_key(|&(frame, order, _)| (frame, order));
        self.events.clear();
        for &(at, _, event) in &self.pending {
            let pckn = |channel: u8, key: u8| Pckn::new(0u16, channel as u16, key as u16, Match::All);
            match event {
                Pending::NoteOn { channel, key, velocity } if self.clap_notes => {
                    self.events.push(&NoteOnEvent::new(at, pckn(channel, key), velocity as f64 / 127.0));
                }
                Pending::NoteOff { channel, key, velocity } if self.clap_notes => {
                    self.events.push(&NoteOffEvent::new(at, pckn(channel, key), velocity as f64 / 127.0));
                }
                Pending::NoteOn { channel, key, velocity } => {
                    self.events.push(&MidiEvent::new(at, 0, [0x90 | (channel & 15), key & 127, velocity & 127]));
                }
                Pending::NoteOff { channel, key, velocity } => {
                    self.events.push(&MidiEvent::new(at, 0, [0x80 | (channel & 15), key & 127, velocity & 127]));
                }
                Pending::Midi(bytes) => self.events.push(&MidiEvent::new(at, 0, bytes)),
                Pending::Param { id, value } => {
                    self.events.push(&ParamValueEvent::new(at, id, Pckn::match_all(), value as f64));
                }
                Pending::Expression { channel, key, kind, value } => {
                    let (kind, value) = super::expression::to_clap(kind, value);
                    self.events.push(&NoteExpressionEvent::new(at, pckn(channel, key), kind, value));
                }
            }
        }
    }
}

/// The three bytes of a channel message that is not a note (notes go as CLAP note events).
fn midi_bytes(message: MidiMessage) -> Option<[u8; 3]> {
    match message {
        MidiMessage::NoteOn { .. } | MidiMessage::NoteOff { .. } => None,
        other => Some(other.to_bytes()),
    }
}

impl Processor for ClapProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames();
        self.follow_restart();
        self.gather(ctx, frames);
        let transport = ctx.transport();
        let sample_rate = ctx.sample_rate() as f64;
        {
            let inputs = ctx.inputs();
            for (port, buffers) in self.input_scratch.iter_mut().enumerate() {
                for (channel, buffer) in buffers.iter_mut().enumerate() {
                    let source = inputs.signal(port, channel);
                    let end = frames.min(buffer.len());
                    let n = end.min(source.len());
                    buffer[..n].copy_from_slice(&source[..n]);
                    buffer[n..end].fill(0.0);
                }
            }
        }
        let seconds = transport.engine_frame as f64 / sample_rate;
        let mut flags =
            TransportFlags::HAS_TEMPO | TransportFlags::HAS_BEATS_TIMELINE | TransportFlags::HAS_SECONDS_TIMELINE;
        flags |= TransportFlags::HAS_TIME_SIGNATURE;
        if transport.playing {
            flags |= TransportFlags::IS_PLAYING;
        }
        let clap_transport = TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: BeatTime::from_float(transport.position_beats),
            song_pos_seconds: SecondsTime::from_float(seconds),
            tempo: transport.tempo_bpm,
            tempo_inc: 0.0,
            loop_start_beats: BeatTime::from_int(0),
            loop_end_beats: BeatTime::from_int(0),
            loop_start_seconds: SecondsTime::from_int(0),
            loop_end_seconds: SecondsTime::from_int(0),
            bar_start: BeatTime::from_int(0),
            bar_number: 0,
            time_signature_numerator: transport.beats_per_bar as u16,
            time_signature_denominator: transport.beat_unit as u16,
        };
        let audio_outputs = self.output_channels.len();
        let Self { processor, in_ports, out_ports, input_scratch, events, plugin_events, .. } = self;
        let rendered = match processor.as_mut() {
            Some(processor) => {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    let started = processor.ensure_processing_started().ok()?;
                    let ins = in_ports.with_input_buffers(input_scratch.iter_mut().map(|port| AudioPortBuffer {
                        latency: 0,
                        channels: AudioPortBufferType::f32_input_only(
                            port.iter_mut().map(|b| InputChannel::variable(&mut b[..frames])),
                        ),
                    }));
                    // The plugin writes straight into the node's output buffers.
                    let mut outs =
                        out_ports.with_output_buffers(ctx.outputs().split().take(audio_outputs).map(|port| {
                            AudioPortBuffer {
                                latency: 0,
                                channels: AudioPortBufferType::f32_output_only(port.into_channels(0)),
                            }
                        }));
                    plugin_events.clear();
                    started
                        .process(
                            &ins,
                            &mut outs,
                            &events.as_input(),
                            &mut plugin_events.as_output(),
                            Some(self.steady_frames),
                            Some(&clap_transport),
                        )
                        .ok()
                }));
                matches!(outcome, Ok(Some(_)))
            }
            None => false,
        };
        if !rendered && !self.restarting {
            self.health.failed_calls.fetch_add(1, Ordering::Relaxed);
        }
        // See whether any sample is NaN or infinite. Such a sample's exponent bits are all
        // ones, and only then does adding one to the exponent carry into the sign bit; OR-ing
        // that over the block has no dependency chain to wait on (a float sum would), so it
        // vectorizes.
        let mut outputs = ctx.outputs();
        let mut carries = 0u32;
        if rendered {
            for (port, &channels) in self.output_channels.iter().enumerate() {
                for channel in 0..channels {
                    for s in outputs.signal_mut(port, channel).iter() {
                        carries |= (s.to_bits() & EXPONENT_BITS).wrapping_add(EXPONENT_ONE);
                    }
                }
            }
        }
        if !rendered || carries & SIGN_BIT != 0 {
            if rendered {
                self.health.nonfinite_blocks.fetch_add(1, Ordering::Relaxed);
            }
            for (port, &channels) in self.output_channels.iter().enumerate() {
                for channel in 0..channels {
                    outputs.signal_mut(port, channel).fill(0.0);
                }
            }
        }
        if rendered {
            self.take_plugin_events(&mut outputs, frames);
            self.follow_tail();
        }
        self.steady_frames += frames as u64;
    }
}

impl ClapProcessor {
    /// What the plugin said in its output events: its notes go to our note output, its own
    /// parameter changes to the control side (which records them in the graph without telling
    /// the engine, so nothing comes back to the plugin).
    fn take_plugin_events(&mut self, outputs: &mut noderack_graph::Outputs<'_>, frames: usize) {
        let last = frames.saturating_sub(1) as u32;
        for event in self.plugin_events.iter() {
            let at = event.header().time().min(last);
            let message = match event.as_core_event() {
                Some(CoreEventSpace::ParamValue(e)) => {
                    let Some(id) = e.param_id() else { continue };
                    if let Some(index) = self.param_ids.iter().position(|p| *p == id) {
                        let value = e.value() as f32;
                        self.plugin_values[index] = value;
                        if self.reports.push((index as u32, value)).is_err() {
                            self.health.lost_param_changes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    continue;
                }
                _ => match super::events::engine_event(event) {
                    Some(data) => data,
                    None => continue,
                },
            };
            if let Some(buffer) = self.note_output.and_then(|port| outputs.events_mut(port)) {
                // A full buffer counts the event as dropped itself.
                let _ = buffer.push(Event { time_frames: at, data: message });
            }
        }
    }

    /// Hands the processor to the plugin's main thread when the plugin asks to be restarted,
    /// and takes it back once it has been.
    fn follow_restart(&mut self) {
        let Some(link) = self.restart.as_mut() else { return };
        if self.restarting {
            if let Some(stopped) = link.receive() {
                self.processor = Some(PluginAudioProcessor::from(stopped));
                self.restarting = false;
                // Changes made meanwhile were not delivered: give it every value again.
                self.resend_params = true;
            }
            return;
        }
        let Some(processor) = self.processor.take() else { return };
        if !processor.access_shared_handler(|requests: &Requests| Requests::take(&requests.restart)) {
            self.processor = Some(processor);
            return;
        }
        match link.send(processor.into_stopped()) {
            Ok(()) => self.restarting = true,
            Err(back) => {
                // The way is full (it cannot be: one restart at a time): try again next block.
                back.access_shared_handler(|requests: &Requests| requests.restart.store(true, Ordering::Release));
                self.processor = Some(PluginAudioProcessor::from(back));
            }
        }
    }

    /// Reads the plugin's tail again when it said it changed.
    fn follow_tail(&mut self) {
        let Some(processor) = self.processor.as_mut() else { return };
        if !processor.access_shared_handler(|requests: &Requests| Requests::take(&requests.tail_changed)) {
            return;
        }
        let handle = processor.plugin_handle();
        if self.tail_extension.is_none() {
            self.tail_extension = handle.get_extension::<PluginTail>();
        }
        let tail = match self.tail_extension.map(|t| t.get(&handle)) {
            Some(TailLength::Finite(frames)) => frames,
            Some(TailLength::Infinite) => u32::MAX,
            None => 0,
        };
        self.reported.tail_frames.store(tail, Ordering::Relaxed);
    }
}

impl Drop for ClapProcessor {
    fn drop(&mut self) {
        // Back on the control side: stop, then deactivate on the plugin's main thread, with
        // whatever a restart in flight left in the link.
        let stopped = self.processor.take().map(|processor| processor.into_stopped());
        let link = self.restart.take();
        let deactivate = move |instance: &mut super::plugin_thread::Instance,
                               restarts: &mut Option<restart::MainEnd>| {
            if let Some(main_end) = restarts.take() {
                main_end.close(instance);
            }
            for stopped in stopped.into_iter().chain(link.and_then(AudioEnd::into_leftover)) {
                instance.deactivate(stopped);
            }
        };
        if let Err(e) = self.thread.run_with_restarts("deactivation", deactivate) {
            tracing::error!("{e}");
        }
    }
}
