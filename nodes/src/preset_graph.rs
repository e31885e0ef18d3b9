//! The nodes a SongWalker preset becomes: a [`PresetGraph`] (built by
//! `noderack_presets::songwalker::graph`) turned into engine edits.
//!
//! | graph | nodes |
//! |---|---|
//! | sampler | one `sampler` playing the instrument |
//! | synth | one `synth`: the preset's waveform and envelope, the filter open (cutoff 20 kHz, no resonance, no envelope sweep), linear velocity (`velocity_sensitivity` 0.5), the preset's detune and level |
//! | layer of N parts | every part gets the same notes; their outputs feed a `mixer` of N inputs, each at its part's level |
//! | split of N parts | a chain of N − 1 `key-split` nodes, each splitting at the next part's first key (its `high` side feeds the next split, the last one's the last part); the parts' outputs feed a `mixer` at 0 dB |
//! | chain | its source, then one effect node per effect in order (`crate::effect_preset`) |
//!
//! The caller connects its note source to every port of [`Subgraph::events_in`] and takes the
//! sound from [`Subgraph::audio_out`].

use std::sync::Arc;

use noderack_graph::{Connection, Edit, NodeDescription, NodeId, ParamId, PortRef};
use noderack_presets::instrument::Bank;
use noderack_presets::songwalker::{PresetGraph, SynthSettings, SynthWaveform};

use crate::dsp::Waveform;
use crate::effect_preset::effect_node;
use crate::key_split::{self, KeySplit};
use crate::mixer::{self, Mixer};
use crate::sampler::{self, Sampler};
use crate::synth::{self, Synth};

/// Cutoff that leaves an oscillator preset's tone unfiltered (the synth's maximum).
const OPEN_CUTOFF_HZ: f32 = 20_000.0;
/// Velocity sensitivity that makes the synth's level follow velocity linearly, as SongWalker's
/// oscillators do: `(v/127)^(2·0.5)`.
const LINEAR_VELOCITY: f32 = 0.5;

/// Nodes and connections with where notes go in and sound comes out.
pub struct Subgraph {
    /// `AddNode` edits, then `Connect` edits, for an engine that does not yet hold these ids.
    pub edits: Vec<Edit>,
    /// Event inputs that must receive the notes.
    pub events_in: Vec<PortRef>,
    /// The stereo output.
    pub audio_out: PortRef,
    /// The first id after the ones used.
    pub next_id: NodeId,
}

/// Builds the nodes of `graph` with ids from `first_id` on, labels starting with `label`.
/// Samplers play at `sampler_gain_db` (library samples are normalised near full scale; the
/// synth's voices already peak at -12 dBFS).
pub fn preset_subgraph(graph: PresetGraph, first_id: NodeId, label: &str, sampler_gain_db: f32) -> Subgraph {
    preset_subgraph_tuned(graph, first_id, label, sampler_gain_db, 0.0)
}

/// As [`preset_subgraph`], every sampler and synth tuned by `tune_cents` (within the nodes'
/// ±100 cents; a song at A4 = 432 Hz plays its presets 31.8 cents flat).
pub fn preset_subgraph_tuned(
    graph: PresetGraph,
    first_id: NodeId,
    label: &str,
    sampler_gain_db: f32,
    tune_cents: f32,
) -> Subgraph {
    let mut b = Builder { next: first_id.0, edits: Vec::new(), connections: Vec::new(), sampler_gain_db, tune_cents };
    let (events_in, audio_out) = b.graph(graph, label);
    let mut edits = b.edits;
    edits.extend(b.connections.into_iter().map(Edit::Connect));
    Subgraph { edits, events_in, audio_out, next_id: NodeId(b.next) }
}

/// One `sampler` playing `bank` with `voices` voices at `gain_db`, with id `id`.
pub fn sampler_subgraph(bank: Bank, voices: usize, gain_db: f32, id: NodeId, label: &str) -> Subgraph {
    let description = Sampler::new(Some(Arc::new(bank)), voices);
    Subgraph {
        edits: vec![add(id, label, Arc::new(description), vec![(sampler::GAIN_DB, gain_db)])],
        events_in: vec![PortRef::new(id, sampler::EVENTS_IN as u16)],
        audio_out: PortRef::new(id, sampler::OUT as u16),
        next_id: NodeId(id.0 + 1),
    }
}

/// The `synth` description and parameters playing `settings`.
pub fn synth_node(settings: &SynthSettings) -> (Synth, Vec<(ParamId, f32)>) {
    let description = Synth::new(settings.voices.map_or(synth::DEFAULT_VOICES, |v| v as usize));
    let name = match settings.waveform {
        SynthWaveform::Saw => "saw",
        SynthWaveform::Square => "square",
        SynthWaveform::Triangle => "triangle",
        SynthWaveform::Sine => "sine",
    };
    let waveform = Waveform::NAMES.iter().position(|n| *n == name).expect("the synth has every preset waveform");
    let mut params = vec![
        (synth::WAVEFORM, waveform as f32),
        (synth::CUTOFF_HZ, OPEN_CUTOFF_HZ),
        (synth::RESONANCE, 0.0),
        (synth::FILTER_ENV_OCTAVES, 0.0),
        (synth::VELOCITY_SENSITIVITY, LINEAR_VELOCITY),
        (synth::TUNE_CENTS, settings.tune_cents),
        (synth::GAIN_DB, settings.gain_db),
    ];
    if let Some(e) = settings.envelope {
        params.extend([
            (synth::ATTACK_SECONDS, e.attack),
            (synth::DECAY_SECONDS, e.decay),
            (synth::SUSTAIN_LEVEL, e.sustain),
            (synth::RELEASE_SECONDS, e.release),
        ]);
    }
    let params = clamped(&description, params);
    (description, params)
}

/// `params` limited to each parameter's range (preset values such as a zero attack are below
/// the synth's minimum).
fn clamped(description: &dyn NodeDescription, params: Vec<(ParamId, f32)>) -> Vec<(ParamId, f32)> {
    let specs = description.params();
    params.into_iter().map(|(id, v)| (id, specs.get(id.0 as usize).map_or(v, |s| v.clamp(s.min, s.max)))).collect()
}

fn add(id: NodeId, label: &str, description: Arc<dyn NodeDescription>, params: Vec<(ParamId, f32)>) -> Edit {
    Edit::AddNode { id, label: label.to_string(), description, params }
}

struct Builder {
    next: u64,
    edits: Vec<Edit>,
    connections: Vec<Connection>,
    sampler_gain_db: f32,
    tune_cents: f32,
}

impl Builder {
    fn node(&mut self, label: &str, description: Arc<dyn NodeDescription>, params: Vec<(ParamId, f32)>) -> NodeId {
        let id = NodeId(self.next);
        self.next += 1;
        self.edits.push(add(id, label, description, params));
        id
    }

    fn connect(&mut self, from: PortRef, to: PortRef) {
        self.connections.push(Connection { from, to });
    }

    /// Adds `graph`; returns its event inputs and its output.
    fn graph(&mut self, graph: PresetGraph, label: &str) -> (Vec<PortRef>, PortRef) {
        match graph {
            PresetGraph::Sampler(instrument) => {
                let voices = sampler::voices_for(&instrument);
                let sampler = Sampler::new(Some(Arc::new(Bank::single(instrument))), voices);
                let mut params = vec![(sampler::GAIN_DB, self.sampler_gain_db)];
                if self.tune_cents != 0.0 {
                    params.push((sampler::TUNE_CENTS, self.tune_cents));
                }
                let params = clamped(&sampler, params);
                let id = self.node(label, Arc::new(sampler), params);
                (vec![PortRef::new(id, sampler::EVENTS_IN as u16)], PortRef::new(id, sampler::OUT as u16))
            }
            PresetGraph::Synth(mut settings) => {
                settings.tune_cents += self.tune_cents;
                let (synth, params) = synth_node(&settings);
                let id = self.node(label, Arc::new(synth), params);
                (vec![PortRef::new(id, synth::EVENTS_IN as u16)], PortRef::new(id, synth::OUT as u16))
            }
            PresetGraph::Layer(parts) => {
                let mixer = Mixer::new(parts.len().clamp(mixer::MIN_INPUTS, mixer::MAX_INPUTS));
                let levels = parts.iter().enumerate().map(|(i, p)| (mixer::gain_db_param(i), p.gain_db)).collect();
                let levels = clamped(&mixer, levels);
                let mix = self.node(&format!("{label}.mix"), Arc::new(mixer), levels);
                let mut events = Vec::new();
                for (i, part) in parts.into_iter().enumerate().take(mixer::MAX_INPUTS) {
                    let (inputs, out) = self.graph(part.graph, &format!("{label}.{}", i + 1));
                    events.extend(inputs);
                    self.connect(out, PortRef::new(mix, mixer::input_port(i) as u16));
                }
                (events, PortRef::new(mix, mixer::OUT as u16))
            }
            PresetGraph::Split(parts) => {
                let count = parts.len().clamp(mixer::MIN_INPUTS, mixer::MAX_INPUTS);
                let mix = self.node(&format!("{label}.mix"), Arc::new(Mixer::new(count)), vec![]);
                let mut parts = parts.into_iter().take(count).enumerate().peekable();
                let mut events_in: Option<Vec<PortRef>> = None;
                // Where the notes for the remaining parts arrive: the previous split's `high`.
                let mut feed: Option<PortRef> = None;
                while let Some((i, part)) = parts.next() {
                    let (inputs, out) = self.graph(part.graph, &format!("{label}.{}", i + 1));
                    self.connect(out, PortRef::new(mix, mixer::input_port(i) as u16));
                    let notes_for_this_part = match parts.peek() {
                        Some((_, next)) => {
                            let split = self.node(
                                &format!("{label}.split{}", i + 1),
                                Arc::new(KeySplit::new()),
                                vec![(key_split::SPLIT_KEY, next.keys.low as f32)],
                            );
                            let split_in = PortRef::new(split, key_split::IN as u16);
                            match feed {
                                Some(from) => self.connect(from, split_in),
                                None => events_in = Some(vec![split_in]),
                            }
                            feed = Some(PortRef::new(split, key_split::HIGH as u16));
                            Some(PortRef::new(split, key_split::LOW as u16))
                        }
                        None => feed,
                    };
                    match notes_for_this_part {
                        Some(from) => inputs.into_iter().for_each(|to| self.connect(from, to)),
                        // A split of one part: the part takes the notes directly.
                        None => events_in = Some(inputs),
                    }
                }
                (events_in.unwrap_or_default(), PortRef::new(mix, mixer::OUT as u16))
            }
            PresetGraph::Chain { source, effects } => {
                let (events, mut out) = self.graph(*source, label);
                for (i, effect) in effects.iter().enumerate() {
                    let Some(node) = effect_node(effect) else {
                        tracing::warn!("{}: effect \"{}\" has no node; left out", effect.origin, effect.effect_type);
                        continue;
                    };
                    for warning in &node.warnings {
                        tracing::warn!("{warning}");
                    }
                    let id = self.node(&format!("{label}.fx{}", i + 1), node.description, node.params);
                    self.connect(out, PortRef::new(id, 0));
                    out = PortRef::new(id, 0);
                }
                (events, out)
            }
        }
    }
}
