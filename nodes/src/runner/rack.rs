//! The instruments a song loads, hosted inside its runner: an engine of its own (a `midi-in`
//! per voice group feeding that group's instrument, every instrument summed into one stereo
//! bus), built when the runner's processor is built, off the audio thread, and run by the
//! runner's processor as one more executor. Groups are the song's instruments at each tuning
//! its notes use: a group plays its notes shifted by the whole semitones of its tuning and
//! tuned by the rest, in cents.

use std::ops::Range;
use std::sync::Arc;

use noderack_graph::{
    new_engine, BusSpec, Connection, Edit, Engine, EngineConfig, Event, Executor, ExecutorStatus, HostBlock,
    MidiMessage, NodeDescription, NodeEvent, NodeId, PortRef, ProcessConfig,
};
use noderack_presets::songwalker::graph::MAX_DETUNE_CENTS;
use noderack_presets::songwalker::{Envelope, PresetGraph, SynthSettings, SynthWaveform};
use noderack_presets::sw::{InstrumentDef, OscillatorDef, Song};

use super::song::RunnerSong;
use crate::io::{MidiIn, Output};
use crate::preset_graph::preset_subgraph_tuned;
use crate::synth::{self, Synth};

/// Level of library samplers in the rack, as `noderack render` plays a preset: library samples
/// are normalised near full scale, and the synth's voices already peak at -12 dBFS.
pub const SAMPLER_GAIN_DB: f32 = -12.0;
/// Events the rack can take in one block.
const EVENT_CAPACITY: usize = 4096;
/// Deepest nesting of composites.
const MAX_NESTING: usize = 16;

/// What plays each voice group of a song.
pub struct RackInstruments {
    /// By group: the instrument, the semitones its keys move and the cents it is tuned by.
    parts: Vec<(PresetGraph, i32, f32)>,
}

impl RackInstruments {
    /// The instruments for `song`'s groups; `graph_of(i)` is what plays the song's instrument
    /// `i` (see [`instrument_graph`]).
    pub fn new(song: &RunnerSong, mut graph_of: impl FnMut(usize) -> PresetGraph) -> Self {
        let parts = song
            .groups()
            .iter()
            .map(|group| {
                let cents = 1200.0 * (group.tuning_hz as f64 / 440.0).log2();
                let semitones = (cents / 100.0).round();
                (graph_of(group.instrument), semitones as i32, (cents - semitones * 100.0) as f32)
            })
            .collect();
        Self { parts }
    }

    /// A rack playing these instruments at `config`'s rate; `None` (logged) if its engine
    /// refuses the graph.
    pub(crate) fn build(&self, song: &RunnerSong, config: &ProcessConfig) -> Option<Box<Rack>> {
        let (mut engine, mut executor) = new_engine(EngineConfig {
            sample_rate: config.sample_rate,
            max_block_frames: config.max_block_frames,
            buses: vec![BusSpec::stereo("main")],
            inputs: vec![],
        });
        let output = NodeId(1);
        let mut edits = vec![add(output, "out", Arc::new(Output::new("main", 2)))];
        let mut connections = Vec::new();
        let mut next = NodeId(2);
        let mut inputs = Vec::with_capacity(self.parts.len());
        for (index, (graph, _, cents)) in self.parts.iter().enumerate() {
            let keys = next;
            edits.push(add(keys, &format!("group{index}.keys"), Arc::new(MidiIn::new())));
            let sub = preset_subgraph_tuned(
                graph.clone(),
                NodeId(keys.0 + 1),
                &format!("group{index}"),
                SAMPLER_GAIN_DB,
                *cents,
            );
            let (sub_edits, links): (Vec<Edit>, Vec<Edit>) =
                sub.edits.into_iter().partition(|e| matches!(e, Edit::AddNode { .. }));
            edits.extend(sub_edits);
            connections.extend(links);
            connections
                .extend(sub.events_in.iter().map(|&to| Edit::Connect(Connection { from: PortRef::new(keys, 0), to })));
            connections.push(Edit::Connect(Connection { from: sub.audio_out, to: PortRef::new(output, 0) }));
            inputs.push(keys);
            next = sub.next_id;
        }
        edits.extend(connections);
        if let Err(e) = engine.apply(edits) {
            tracing::error!("the runner's instruments could not be built: {e}");
            return None;
        }
        // Adopt the plan here, off the audio thread, and take back what the executor let go.
        executor.process(HostBlock::new(0, &mut []));
        engine.maintain();
        let channels = song.groups().iter().map(|g| (g.instrument % 16) as u8).collect();
        let semitones = self.parts.iter().map(|p| p.1).collect();
        Some(Box::new(Rack {
            status: executor.status().clone(),
            _engine: engine,
            executor,
            inputs,
            channels,
            semitones,
            events: Vec::with_capacity(EVENT_CAPACITY),
        }))
    }
}

fn add(id: NodeId, label: &str, description: Arc<dyn NodeDescription>) -> Edit {
    Edit::AddNode { id, label: label.to_string(), description, params: vec![] }
}

/// A running rack, owned by a runner's processor.
pub(crate) struct Rack {
    /// Kept so the rack's queues stay open; never used on the audio thread.
    _engine: Engine,
    executor: Executor,
    status: Arc<ExecutorStatus>,
    /// The `midi-in` node of each group.
    inputs: Vec<NodeId>,
    /// The MIDI channel of each group's notes.
    channels: Vec<u8>,
    /// How far each group's keys move.
    semitones: Vec<i32>,
    /// This block's events, by time (stable).
    events: Vec<NodeEvent>,
}

impl Rack {
    /// Forgets the last block's events.
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// A note message of group `group` at `at` (frames into the block).
    pub fn note(&mut self, at: u32, group: u16, message: MidiMessage) {
        let group = group as usize;
        let (Some(&node), Some(&shift)) = (self.inputs.get(group), self.semitones.get(group)) else { return };
        let shifted = |key: u8| (key as i32 + shift).clamp(0, 127) as u8;
        let message = match message {
            MidiMessage::NoteOn { channel, key, velocity } => {
                MidiMessage::NoteOn { channel, key: shifted(key), velocity }
            }
            MidiMessage::NoteOff { channel, key, velocity } => {
                MidiMessage::NoteOff { channel, key: shifted(key), velocity }
            }
            other => other,
        };
        self.push(NodeEvent { node, event: Event::midi(at, message) });
    }

    /// A channel message (pitch bend, a controller) for every group on its channel.
    pub fn channel_message(&mut self, at: u32, channel: u8, message: MidiMessage) {
        for group in 0..self.inputs.len() {
            if self.channels[group] == channel {
                let node = self.inputs[group];
                self.push(NodeEvent { node, event: Event::midi(at, message) });
            }
        }
    }

    fn push(&mut self, event: NodeEvent) {
        if self.events.len() == self.events.capacity() {
            return;
        }
        let at = self.events.partition_point(|e| e.event.time_frames <= event.event.time_frames);
        self.events.insert(at, event);
    }

    /// Renders `left.len()` frames with this block's events; returns the voices sounding.
    pub fn render(&mut self, left: &mut [f32], right: &mut [f32]) -> u32 {
        let frames = left.len().min(right.len());
        let mut outputs: [&mut [f32]; 2] = [left, right];
        self.executor.process(HostBlock::new(frames, &mut outputs).with_node_midi(&self.events));
        self.status.active_voices()
    }
}

/// What plays the song's instrument `index`: an oscillator as the `synth`, a composite as a
/// layer of its children at 0 dB, a preset as `preset(name, span)` finds it.
pub fn instrument_graph<E>(
    song: &Song,
    index: usize,
    preset: &mut impl FnMut(&str, &Range<usize>) -> Result<PresetGraph, E>,
) -> Result<PresetGraph, E> {
    nested_graph(song, index, preset, 0)
}

fn nested_graph<E>(
    song: &Song,
    index: usize,
    preset: &mut impl FnMut(&str, &Range<usize>) -> Result<PresetGraph, E>,
    depth: usize,
) -> Result<PresetGraph, E> {
    let Some(definition) = song.instruments.get(index).filter(|_| depth < MAX_NESTING) else {
        return Ok(oscillator(&OscillatorDef::default()));
    };
    match definition {
        InstrumentDef::Preset { name, span } => preset(name, span),
        InstrumentDef::Oscillator(def) => Ok(oscillator(def)),
        InstrumentDef::Composite { children, .. } => {
            let parts = children
                .iter()
                .map(|&child| {
                    Ok(noderack_presets::songwalker::LayerPart {
                        gain_db: 0.0,
                        graph: nested_graph(song, child, preset, depth + 1)?,
                    })
                })
                .collect::<Result<Vec<_>, E>>()?;
            Ok(PresetGraph::Layer(parts))
        }
    }
}

/// An `Oscillator({…})` as the synth: unset envelope stages take the synth's defaults.
pub(crate) fn oscillator(def: &OscillatorDef) -> PresetGraph {
    let waveform = match def.waveform.as_str() {
        "sine" => SynthWaveform::Sine,
        "square" => SynthWaveform::Square,
        "sawtooth" | "saw" => SynthWaveform::Saw,
        _ => SynthWaveform::Triangle,
    };
    let defaults = Synth::new(1);
    let default = |param: noderack_graph::ParamId| defaults.params()[param.0 as usize].default as f64;
    let envelope = [def.attack, def.decay, def.sustain, def.release].iter().any(Option::is_some).then(|| Envelope {
        attack: def.attack.unwrap_or_else(|| default(synth::ATTACK_SECONDS)) as f32,
        decay: def.decay.unwrap_or_else(|| default(synth::DECAY_SECONDS)) as f32,
        sustain: def.sustain.unwrap_or_else(|| default(synth::SUSTAIN_LEVEL)) as f32,
        release: def.release.unwrap_or_else(|| default(synth::RELEASE_SECONDS)) as f32,
    });
    let level = def.mixer.unwrap_or(1.0).max(1e-5);
    PresetGraph::Synth(SynthSettings {
        waveform,
        envelope,
        tune_cents: (def.detune.unwrap_or(0.0) as f32).clamp(-MAX_DETUNE_CENTS, MAX_DETUNE_CENTS),
        gain_db: (20.0 * level.log10()).max(-96.0) as f32,
        voices: None,
    })
}
