//! What a SongWalker preset of any kind becomes: a [`PresetGraph`], the description of the
//! nodes that play it, which a caller that knows the node kinds (`noderack_nodes`) turns into
//! engine edits.
//!
//! # Mapping
//!
//! | preset | graph |
//! |---|---|
//! | sampler | [`PresetGraph::Sampler`]: one instrument, one region per zone |
//! | oscillator | [`PresetGraph::Synth`]: the `synth` node with its filter open, the preset's waveform, envelope, detune and level |
//! | composite `layer` | [`PresetGraph::Layer`]: every child gets every note, outputs summed at each child's `mixLevels` level |
//! | composite `split` | [`PresetGraph::Split`]: each child gets the keys of its range (from `splitPoints`, or else the keys it has zones for that no earlier child has) |
//! | composite `chain` | [`PresetGraph::Chain`]: its first child, then every further child, which must be an effect ([`EffectPreset`]), in order |
//! | effect | refused as an instrument ([`InstrumentError::EffectPreset`]): an effect preset goes to an effect node (`"config": {"preset": "Lib/Name"}`); which effect types play is the nodes crate's to say |
//!
//! A composite whose children are all samplers becomes one [`PresetGraph::Sampler`]: a layer
//! as overlapping regions (each child's level added to its regions' gain), a split as regions
//! limited to their child's keys. One sampler shares one voice pool and costs one node.

use std::path::Path;

use crate::instrument::{Instrument, NoteRange};
use crate::sample::SampleStore;
use crate::songwalker::instrument::{sampler_instrument, FolderSamples, ZoneSamples};
use crate::songwalker::{find_preset, CompositeConfig, CompositeMode, InstrumentError, OscillatorWaveform};
use crate::songwalker::{Envelope, PresetFile, PresetNode};

/// The synth's fine-tuning range in cents (`tune_cents` is ±100): larger detunes are clamped.
pub const MAX_DETUNE_CENTS: f32 = 100.0;
/// Lowest level a layer or an oscillator is given, in dB (the mixer's and synth's minimum).
pub const MIN_LEVEL_DB: f32 = -96.0;

/// The synth waveforms an oscillator preset can ask for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SynthWaveform {
    /// Sawtooth.
    Saw,
    /// Square.
    Square,
    /// Triangle.
    Triangle,
    /// Sine.
    Sine,
}

/// An oscillator preset as settings of the `synth` node.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SynthSettings {
    /// The waveform.
    pub waveform: SynthWaveform,
    /// The amplitude envelope (the synth's defaults when absent).
    pub envelope: Option<Envelope>,
    /// Fine tuning of every note, within ±[`MAX_DETUNE_CENTS`].
    pub tune_cents: f32,
    /// Output level in dB (from the preset's linear `mixer` level).
    pub gain_db: f32,
    /// Polyphony the preset asks for.
    pub voices: Option<u32>,
}

/// One child of a layer and its level.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerPart {
    /// Level of this child in the sum, in dB.
    pub gain_db: f32,
    /// What plays.
    pub graph: PresetGraph,
}

/// One child of a split and the keys sent to it.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitPart {
    /// Keys routed to this child. Parts are in ascending, non-overlapping key order; keys no
    /// part lists are keys no child can play.
    pub keys: NoteRange,
    /// What plays.
    pub graph: PresetGraph,
}

/// The `effectType`s noderack plays (each becomes the node of that kind: see the nodes
/// crate's `effect_preset`); any other is refused, named.
pub const EFFECT_TYPES: &[&str] = &["reverb", "delay", "chorus"];

/// An effect of a preset: its type and parameters as the preset writes them, and where it is
/// (for messages). The nodes crate maps it onto one of its effect nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectPreset {
    /// `reverb`, `delay`, `chorus`, …
    pub effect_type: String,
    /// Its parameters (`roomSize`, `wetDry`, `time`, …).
    pub params: std::collections::BTreeMap<String, f64>,
    /// The file and JSON path it comes from (`Reverb/preset.json: node`).
    pub origin: String,
}

/// What plays a preset.
#[derive(Clone, Debug, PartialEq)]
pub enum PresetGraph {
    /// One `sampler` node.
    Sampler(Instrument),
    /// One `synth` node.
    Synth(SynthSettings),
    /// The same notes to every part, outputs summed.
    Layer(Vec<LayerPart>),
    /// Notes to one part by key.
    Split(Vec<SplitPart>),
    /// A source through effects, in order.
    Chain {
        /// What plays the notes.
        source: Box<PresetGraph>,
        /// The effects its output goes through.
        effects: Vec<EffectPreset>,
    },
}

impl PresetGraph {
    /// Which keys can sound, as a 128-bit mask (bit `k` for key `k`).
    pub fn keys_played(&self) -> u128 {
        match self {
            PresetGraph::Sampler(instrument) => instrument.regions().fold(0, |m, r| m | mask(r.keys)),
            PresetGraph::Synth(_) => u128::MAX,
            PresetGraph::Layer(parts) => parts.iter().fold(0, |m, p| m | p.graph.keys_played()),
            PresetGraph::Split(parts) => parts.iter().fold(0, |m, p| m | (mask(p.keys) & p.graph.keys_played())),
            PresetGraph::Chain { source, .. } => source.keys_played(),
        }
    }
}

/// A graph and what was wrong but did not stop it from playing.
#[derive(Debug)]
pub struct BuiltGraph {
    /// What plays.
    pub graph: PresetGraph,
    /// Sample hash mismatches, keys that were not understood, values clamped.
    pub warnings: Vec<String>,
}

/// Builds the graph of `preset`, read from `preset_path` (sample URLs are relative to its
/// folder). See the [module documentation](self) for the mapping.
pub fn build_graph(
    preset: &PresetFile,
    preset_path: &Path,
    store: &mut SampleStore,
) -> Result<BuiltGraph, InstrumentError> {
    let mut samples = FolderSamples::beside(preset_path, store);
    let file = samples.file.clone();
    build_graph_with(preset, &file, &mut samples)
}

/// Like [`build_graph`], taking each zone's decoded sample from `samples` (a folder, a library
/// cache, …); `file` names the preset in errors.
pub fn build_graph_with<S: ZoneSamples>(
    preset: &PresetFile,
    file: &str,
    samples: &mut S,
) -> Result<BuiltGraph, S::Error> {
    let mut builder = Builder { preset, file, samples, warnings: preset.ignored.clone() };
    let graph = builder.node(&preset.node, preset.node_key.to_string())?;
    Ok(BuiltGraph { graph, warnings: builder.warnings })
}

/// Finds `"Lib/Name"` in the library rooted at `root` and builds its graph.
pub fn load_graph(root: &Path, query: &str, store: &mut SampleStore) -> Result<BuiltGraph, InstrumentError> {
    let found = find_preset(root, query)?;
    let path = root.join(&found.path);
    let preset = PresetFile::load(&path)?;
    build_graph(&preset, &path, store)
}

struct Builder<'a, S> {
    preset: &'a PresetFile,
    file: &'a str,
    samples: &'a mut S,
    warnings: Vec<String>,
}

impl<S: ZoneSamples> Builder<'_, S> {
    fn file(&self) -> String {
        self.file.to_string()
    }

    fn unsupported(&self, json_path: String, message: impl Into<String>) -> InstrumentError {
        InstrumentError::Unsupported { file: self.file(), json_path, message: message.into() }
    }

    fn node(&mut self, node: &PresetNode, path: String) -> Result<PresetGraph, S::Error> {
        match node {
            PresetNode::Sampler { config } => Ok(PresetGraph::Sampler(sampler_instrument(
                &self.preset.name,
                config,
                self.preset.max_voices,
                &path,
                self.samples,
                &mut self.warnings,
            )?)),
            PresetNode::Oscillator { config } => {
                let waveform = match config.waveform {
                    OscillatorWaveform::Sine => SynthWaveform::Sine,
                    OscillatorWaveform::Square => SynthWaveform::Square,
                    OscillatorWaveform::Sawtooth => SynthWaveform::Saw,
                    OscillatorWaveform::Triangle => SynthWaveform::Triangle,
                    OscillatorWaveform::Custom => {
                        return Err(self
                            .unsupported(
                                format!("{path}.config.waveform"),
                                "custom waveforms are not supported (the format does not say their shape)",
                            )
                            .into())
                    }
                };
                let tune_cents = config.detune_cents.clamp(-MAX_DETUNE_CENTS, MAX_DETUNE_CENTS);
                if tune_cents != config.detune_cents {
                    self.warnings.push(format!(
                        "{}: {path}.config.detune: {} cents is outside the synth's ±{MAX_DETUNE_CENTS}; clamped",
                        self.file(),
                        config.detune_cents
                    ));
                }
                Ok(PresetGraph::Synth(SynthSettings {
                    waveform,
                    envelope: config.envelope,
                    tune_cents,
                    gain_db: level_db(config.level),
                    voices: self.preset.max_voices,
                }))
            }
            PresetNode::Effect { effect_type, .. } => Err(InstrumentError::EffectPreset {
                file: self.file(),
                json_path: path,
                effect_type: effect_type.clone(),
            }
            .into()),
            PresetNode::Composite { config } => self.composite(config, path),
        }
    }

    fn composite(&mut self, config: &CompositeConfig, path: String) -> Result<PresetGraph, S::Error> {
        let child_path = |i: usize| format!("{path}.children[{i}]");
        if config.mode != CompositeMode::Layer && config.mix_levels.is_some() {
            self.warnings
                .push(format!("{}: {path}.config.mixLevels: only layers have mix levels; ignored", self.file()));
        }
        if config.mode != CompositeMode::Split && config.split_points.is_some() {
            self.warnings
                .push(format!("{}: {path}.config.splitPoints: only splits have split points; ignored", self.file()));
        }
        match config.mode {
            CompositeMode::Chain => {
                let mut effects = Vec::with_capacity(config.children.len().saturating_sub(1));
                for (i, child) in config.children.iter().enumerate().skip(1) {
                    let PresetNode::Effect { effect_type, params } = child else {
                        return Err(self
                            .unsupported(
                                child_path(i),
                                format!(
                                    "a chain passes its source through effects, but this child is {}",
                                    child.kind_name()
                                ),
                            )
                            .into());
                    };
                    if !EFFECT_TYPES.contains(&effect_type.as_str()) {
                        return Err(InstrumentError::UnsupportedEffect {
                            file: self.file(),
                            json_path: child_path(i),
                            effect_type: effect_type.clone(),
                        }
                        .into());
                    }
                    effects.push(EffectPreset {
                        effect_type: effect_type.clone(),
                        params: params.clone(),
                        origin: format!("{}: {}", self.file(), child_path(i)),
                    });
                }
                let source = self.node(&config.children[0], child_path(0))?;
                Ok(if effects.is_empty() { source } else { PresetGraph::Chain { source: Box::new(source), effects } })
            }
            CompositeMode::Layer => {
                let mut parts = Vec::with_capacity(config.children.len());
                for (i, child) in config.children.iter().enumerate() {
                    let level = config.mix_levels.as_ref().map_or(1.0, |l| l[i]);
                    parts.push(LayerPart { gain_db: level_db(level), graph: self.node(child, child_path(i))? });
                }
                Ok(merge_layer(parts))
            }
            CompositeMode::Split => {
                let mut graphs = Vec::with_capacity(config.children.len());
                for (i, child) in config.children.iter().enumerate() {
                    graphs.push(self.node(child, child_path(i))?);
                }
                let ranges: Vec<Option<NoteRange>> = match &config.split_points {
                    Some(points) => (0..graphs.len())
                        .map(|i| {
                            let low = if i == 0 { 0 } else { points[i - 1] as i32 };
                            let high = points.get(i).map_or(127, |&p| p as i32 - 1);
                            (low <= high).then_some(NoteRange { low: low as u8, high: high as u8 })
                        })
                        .collect(),
                    None => {
                        // Each note plays on the first child that has a zone for it.
                        let mut taken = 0u128;
                        let mut ranges = Vec::with_capacity(graphs.len());
                        for (i, graph) in graphs.iter().enumerate() {
                            let mine = graph.keys_played() & !taken;
                            taken |= mine;
                            ranges.push(match contiguous(mine) {
                                Ok(range) => range,
                                Err(()) => {
                                    return Err(self
                                        .unsupported(
                                            child_path(i),
                                            "the keys this child plays (those no earlier child plays) are not \
                                             one range; give the split `splitPoints`",
                                        )
                                        .into())
                                }
                            });
                        }
                        ranges
                    }
                };
                let mut parts = Vec::with_capacity(graphs.len());
                for (i, (graph, keys)) in graphs.into_iter().zip(ranges).enumerate() {
                    match keys {
                        Some(keys) => parts.push(SplitPart { keys, graph }),
                        None => self.warnings.push(format!(
                            "{}: {}: no key reaches this child of the split; it never sounds",
                            self.file(),
                            child_path(i)
                        )),
                    }
                }
                if parts.is_empty() {
                    return Err(self.unsupported(path, "no key reaches any child of this split").into());
                }
                parts.sort_by_key(|p| p.keys.low);
                Ok(merge_split(parts))
            }
        }
    }
}

/// A linear level in dB, at least [`MIN_LEVEL_DB`].
fn level_db(level: f32) -> f32 {
    if level <= 0.0 {
        MIN_LEVEL_DB
    } else {
        (20.0 * level.log10()).max(MIN_LEVEL_DB)
    }
}

/// The mask of the keys in `range`.
fn mask(range: NoteRange) -> u128 {
    let (low, high) = (range.low.min(127) as u32, range.high.min(127) as u32);
    if low > high {
        return 0;
    }
    let upto_high = if high == 127 { u128::MAX } else { (1u128 << (high + 1)) - 1 };
    upto_high & !((1u128 << low) - 1)
}

/// The single range a key mask holds, `None` if empty, `Err` if it is not one range.
fn contiguous(keys: u128) -> Result<Option<NoteRange>, ()> {
    if keys == 0 {
        return Ok(None);
    }
    let low = keys.trailing_zeros() as u8;
    let high = 127 - keys.leading_zeros() as u8;
    let range = NoteRange { low, high };
    if mask(range) == keys {
        Ok(Some(range))
    } else {
        Err(())
    }
}

/// A layer whose parts are all samplers as one sampler: every region kept, each part's level
/// added to its regions' gain.
fn merge_layer(parts: Vec<LayerPart>) -> PresetGraph {
    if !parts.iter().all(|p| matches!(p.graph, PresetGraph::Sampler(_))) {
        return PresetGraph::Layer(parts);
    }
    let mut merged: Option<Instrument> = None;
    for part in parts {
        let PresetGraph::Sampler(mut instrument) = part.graph else { unreachable!("checked above") };
        for region in instrument.groups.iter_mut().flat_map(|g| g.regions.iter_mut()) {
            region.gain_db += part.gain_db;
        }
        match &mut merged {
            None => merged = Some(instrument),
            Some(m) => m.groups.append(&mut instrument.groups),
        }
    }
    PresetGraph::Sampler(merged.expect("a composite has at least one child"))
}

/// A split whose parts are all samplers as one sampler: each part's regions limited to the
/// part's keys (regions left with no key are dropped).
fn merge_split(parts: Vec<SplitPart>) -> PresetGraph {
    if parts.is_empty() || !parts.iter().all(|p| matches!(p.graph, PresetGraph::Sampler(_))) {
        return PresetGraph::Split(parts);
    }
    let mut merged: Option<Instrument> = None;
    for part in parts {
        let PresetGraph::Sampler(mut instrument) = part.graph else { unreachable!("checked above") };
        for group in &mut instrument.groups {
            group.regions.retain_mut(|r| {
                r.keys = NoteRange { low: r.keys.low.max(part.keys.low), high: r.keys.high.min(part.keys.high) };
                r.keys.low <= r.keys.high
            });
        }
        match &mut merged {
            None => merged = Some(instrument),
            Some(m) => m.groups.append(&mut instrument.groups),
        }
    }
    PresetGraph::Sampler(merged.expect("checked non-empty"))
}

/// The effect a preset file is (its node must be an effect), for an effect node to load.
pub fn effect_preset(preset: &PresetFile, file: &str) -> Result<EffectPreset, InstrumentError> {
    match &preset.node {
        PresetNode::Effect { effect_type, .. } if !EFFECT_TYPES.contains(&effect_type.as_str()) => {
            Err(InstrumentError::UnsupportedEffect {
                file: file.to_string(),
                json_path: preset.node_key.to_string(),
                effect_type: effect_type.clone(),
            })
        }
        PresetNode::Effect { effect_type, params } => Ok(EffectPreset {
            effect_type: effect_type.clone(),
            params: params.clone(),
            origin: format!("{file}: {}", preset.node_key),
        }),
        other => Err(InstrumentError::NotAnEffect { file: file.to_string(), kind: other.kind_name() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_masks_and_ranges_round_trip() {
        assert_eq!(mask(NoteRange::ALL), u128::MAX);
        assert_eq!(mask(NoteRange { low: 0, high: 0 }), 1);
        assert_eq!(mask(NoteRange { low: 127, high: 127 }), 1 << 127);
        assert_eq!(contiguous(mask(NoteRange { low: 40, high: 59 })), Ok(Some(NoteRange { low: 40, high: 59 })));
        assert_eq!(contiguous(0), Ok(None));
        assert_eq!(contiguous(0b101), Err(()));
    }

    #[test]
    fn levels_become_decibels_with_a_floor() {
        assert_eq!(level_db(1.0), 0.0);
        assert!((level_db(0.5) + 6.0206).abs() < 1e-3);
        assert_eq!(level_db(0.0), MIN_LEVEL_DB);
    }
}
