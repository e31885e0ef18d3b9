//! SongWalker preset files (`preset.json`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::json_file::{key, read, FileError, Locator};
use crate::json_location::PathStep;

use super::unknown_keys;

/// The `format` every preset carries.
pub const FORMAT: &str = "songwalker-preset";
/// Most children a composite may have: a layer's children are summed by one mixer, which has
/// at most 64 inputs.
pub const MAX_CHILDREN: usize = 64;

/// How a zone's sample is encoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// MPEG-1 layer III.
    Mp3,
    /// Headerless 16-bit signed little-endian mono PCM at the zone's `sampleRate`.
    Raw,
    /// RIFF WAVE.
    Wav,
    /// FLAC.
    Flac,
    /// Ogg Vorbis.
    Ogg,
}

/// A key range, inclusive.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct KeyRange {
    /// Lowest key.
    pub low: u8,
    /// Highest key.
    pub high: u8,
}

/// Which key the sample was recorded at, and its fine tuning.
#[derive(Copy, Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pitch {
    /// The key at which the sample plays at its own pitch.
    pub root_note: u8,
    /// Tuning correction in cents.
    #[serde(default)]
    pub fine_tune_cents: f32,
}

/// Where a zone's audio comes from.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Audio {
    /// Always `external` in the library (the sample is a file beside the preset).
    #[serde(rename = "type")]
    pub kind: String,
    /// Path of the sample relative to the preset's folder.
    pub url: String,
    /// How it is encoded.
    pub codec: Codec,
    /// First 16 hex digits of the sample's SHA-256.
    pub sha256: String,
}

/// Loop points in frames at the zone's declared `sampleRate`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LoopFrames {
    /// First frame of the loop.
    pub start: u64,
    /// Frame after the loop's last.
    pub end: u64,
}

/// One zone of a sampler preset: a sample mapped over a key range.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplerZone {
    /// Keys the zone plays.
    pub key_range: KeyRange,
    /// Root key and tuning.
    pub pitch: Pitch,
    /// Rate of the original recording; loop points count frames at this rate. About 20% of the
    /// library's MP3s decode at a different real rate: take pitch from the decoded rate and
    /// convert loop points through seconds.
    pub sample_rate: u32,
    /// The sample.
    pub audio: Audio,
    /// Sustain loop, if any.
    #[serde(default, rename = "loop")]
    pub loop_frames: Option<LoopFrames>,
    /// Velocities the zone plays (all when absent).
    #[serde(default)]
    pub velocity_range: Option<KeyRange>,
}

/// A sampler: zones, and whether notes play to the end regardless of note-off.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    /// Notes ignore note-off and play their sample to the end (percussion).
    pub one_shot: bool,
    /// An envelope for every zone, replacing the default (instant attack, full sustain).
    pub envelope: Option<Envelope>,
    /// The zones.
    pub zones: Vec<SamplerZone>,
}

/// An ADSR envelope in seconds (sustain is a level 0..1).
#[derive(Copy, Clone, Debug, PartialEq, Deserialize)]
pub struct Envelope {
    /// Attack time in seconds.
    pub attack: f32,
    /// Decay time in seconds.
    pub decay: f32,
    /// Sustain level 0..1.
    pub sustain: f32,
    /// Release time in seconds.
    pub release: f32,
}

/// An oscillator's waveform.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OscillatorWaveform {
    /// Sine.
    Sine,
    /// Square.
    Square,
    /// Sawtooth.
    Sawtooth,
    /// Triangle.
    Triangle,
    /// A user-drawn wave (the format has no field for its shape yet).
    Custom,
}

impl OscillatorWaveform {
    /// The name as preset files spell it.
    pub fn name(self) -> &'static str {
        match self {
            OscillatorWaveform::Sine => "sine",
            OscillatorWaveform::Square => "square",
            OscillatorWaveform::Sawtooth => "sawtooth",
            OscillatorWaveform::Triangle => "triangle",
            OscillatorWaveform::Custom => "custom",
        }
    }
}

/// A basic oscillator synth.
#[derive(Clone, Debug, PartialEq)]
pub struct OscillatorConfig {
    /// The waveform.
    pub waveform: OscillatorWaveform,
    /// Its envelope.
    pub envelope: Option<Envelope>,
    /// Detune of every note in cents (`detune`, default 0).
    pub detune_cents: f32,
    /// Output level, linear 0..=1 (`mixer`, default 1).
    pub level: f32,
}

/// How a composite combines its children.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompositeMode {
    /// Every child plays every note; their outputs are summed (each at its mix level).
    Layer,
    /// Each note plays on one child, chosen by key.
    Split,
    /// The first child is the sound source; its audio passes through the others (effects) in
    /// order.
    Chain,
}

impl CompositeMode {
    /// The name as preset files spell it.
    pub fn name(self) -> &'static str {
        match self {
            CompositeMode::Layer => "layer",
            CompositeMode::Split => "split",
            CompositeMode::Chain => "chain",
        }
    }
}

/// Several preset nodes combined.
#[derive(Clone, Debug, PartialEq)]
pub struct CompositeConfig {
    /// Layer, split or chain.
    pub mode: CompositeMode,
    /// The children, in order (written inline, each a node of its own).
    pub children: Vec<PresetNode>,
    /// Split mode: the first key of each child after the first (`config.splitPoints`,
    /// ascending, one fewer than the children). Without them each note plays on the first
    /// child that has a zone for it.
    pub split_points: Option<Vec<u8>>,
    /// Layer mode: each child's linear level (`config.mixLevels`, one per child; default 1).
    pub mix_levels: Option<Vec<f32>>,
}

/// What a preset is.
#[derive(Clone, Debug, PartialEq)]
pub enum PresetNode {
    /// A multi-sample instrument.
    Sampler {
        /// Zones and playback mode.
        config: SamplerConfig,
    },
    /// An oscillator synth.
    Oscillator {
        /// Waveform and envelope.
        config: OscillatorConfig,
    },
    /// Several nodes layered, split across the keyboard or chained.
    Composite {
        /// Mode and children.
        config: CompositeConfig,
    },
    /// An effect with named numeric parameters.
    Effect {
        /// `delay`, `reverb`, `chorus`, …
        effect_type: String,
        /// Its parameters.
        params: BTreeMap<String, f64>,
    },
}

impl PresetNode {
    /// What kind of node this is, with its article (`"a sampler"`, `"an effect"`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            PresetNode::Sampler { .. } => "a sampler",
            PresetNode::Oscillator { .. } => "an oscillator",
            PresetNode::Composite { .. } => "a composite",
            PresetNode::Effect { .. } => "an effect",
        }
    }

    /// Whether every sound source below this node is a sampler and nothing is an effect, so
    /// the whole node can become one sampled instrument.
    pub fn is_all_sampler(&self) -> bool {
        match self {
            PresetNode::Sampler { .. } => true,
            PresetNode::Oscillator { .. } | PresetNode::Effect { .. } => false,
            PresetNode::Composite { config } => config.children.iter().all(PresetNode::is_all_sampler),
        }
    }
}

/// The node's `type`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum NodeType {
    Sampler,
    Oscillator,
    Composite,
    Effect,
}

/// The node as written: every kind's fields in one struct (not a tagged enum, which would make
/// serde buffer the node and lose the position of errors inside it).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    #[serde(rename = "type")]
    kind: NodeType,
    #[serde(default)]
    config: RawConfig,
    #[serde(default)]
    effect_type: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, f64>,
    #[serde(default)]
    mode: Option<CompositeMode>,
    #[serde(default)]
    children: Option<Vec<RawNode>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    one_shot: bool,
    #[serde(default)]
    zones: Option<Vec<SamplerZone>>,
    #[serde(default)]
    waveform: Option<OscillatorWaveform>,
    #[serde(default)]
    envelope: Option<Envelope>,
    #[serde(default)]
    detune: Option<f32>,
    #[serde(default)]
    mixer: Option<f32>,
    #[serde(default)]
    split_points: Option<Vec<u8>>,
    #[serde(default)]
    mix_levels: Option<Vec<f32>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPreset {
    format: String,
    version: u32,
    name: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    max_voices: Option<u32>,
    #[serde(alias = "graph")]
    node: RawNode,
}

/// A preset file. Unknown keys do not stop it (the library grows) but are listed in
/// [`PresetFile::ignored`]; known ones are checked.
#[derive(Clone, Debug, PartialEq)]
pub struct PresetFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Display name (what `"Lib/Name"` lookups match).
    pub name: String,
    /// `sampler`, `synth`, `effect`, …
    pub category: Option<String>,
    /// Free tags such as `gm:0`, `looped`.
    pub tags: Vec<String>,
    /// Polyphony the preset asks for.
    pub max_voices: Option<u32>,
    /// The instrument (written `node`, sometimes `graph`).
    pub node: PresetNode,
    /// The key the file wrote the instrument under (`node` or `graph`), for JSON paths in
    /// messages.
    pub node_key: &'static str,
    /// Keys this reader does not understand and ignored, each as
    /// `file:line:column: json.path: …`, for importers to pass on as warnings.
    pub ignored: Vec<String>,
}

impl PresetFile {
    /// Reads and checks the preset at `path`.
    pub fn load(path: &Path) -> Result<PresetFile, FileError> {
        Self::parse(&read(path)?, &path.display().to_string())
    }

    /// Checks preset `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<PresetFile, FileError> {
        let at = Locator { file, text };
        let raw: RawPreset = at.parse()?;
        if raw.format != FORMAT {
            return Err(at.error(&[key("format")], format!("expected \"{FORMAT}\", found \"{}\"", raw.format)));
        }
        // Errors inside the instrument name the key the file used.
        let value = serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
        let node_key = if value.get("node").is_some() { "node" } else { "graph" };
        let node = convert(&at, raw.node, vec![key(node_key)])?;
        let mut ignored = Vec::new();
        unknown_keys::preset(&at, &value, node_key, &mut ignored);
        Ok(PresetFile {
            format: raw.format,
            version: raw.version,
            name: raw.name,
            category: raw.category,
            tags: raw.tags,
            max_voices: raw.max_voices,
            node,
            node_key,
            ignored,
        })
    }

    /// Every sampler zone of the preset (of nested samplers too, for composites), depth first.
    pub fn zones(&self) -> Vec<&SamplerZone> {
        self.zones_with_paths().into_iter().map(|(_, zone)| zone).collect()
    }

    /// Every sampler zone with where it is in the file (`node.config.zones[2]`,
    /// `node.children[1].config.zones[0]`), depth first: what errors about a zone name.
    pub fn zones_with_paths(&self) -> Vec<(String, &SamplerZone)> {
        fn walk<'a>(node: &'a PresetNode, path: String, out: &mut Vec<(String, &'a SamplerZone)>) {
            match node {
                PresetNode::Sampler { config } => {
                    out.extend(config.zones.iter().enumerate().map(|(i, z)| (format!("{path}.config.zones[{i}]"), z)))
                }
                PresetNode::Composite { config } => {
                    for (i, child) in config.children.iter().enumerate() {
                        walk(child, format!("{path}.children[{i}]"), out);
                    }
                }
                PresetNode::Oscillator { .. } | PresetNode::Effect { .. } => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.node, self.node_key.to_string(), &mut out);
        out
    }
}

/// Checks one node as written (at `path`) and turns it into a [`PresetNode`], children first.
fn convert(at: &Locator<'_>, raw: RawNode, path: Vec<PathStep>) -> Result<PresetNode, FileError> {
    let below = |rest: &[&str]| {
        let mut p = path.clone();
        p.extend(rest.iter().map(|k| key(k)));
        p
    };
    let missing = |field: &str, what: &str| at.error(&below(&["config"]), format!("{what} needs `{field}`"));
    let RawNode { kind, config, effect_type, params, mode, children } = raw;
    if let Some(envelope) = &config.envelope {
        check_envelope(envelope).map_err(|(field, m)| at.error(&below(&["config", "envelope", field]), m))?;
    }
    Ok(match kind {
        NodeType::Sampler => {
            let zones = config.zones.ok_or_else(|| missing("zones", "a sampler"))?;
            if zones.is_empty() {
                return Err(at.error(&below(&["config", "zones"]), "a sampler needs at least one zone"));
            }
            for (i, zone) in zones.iter().enumerate() {
                check_zone(zone).map_err(|(field, message)| {
                    let mut p = below(&["config", "zones"]);
                    p.push(PathStep::Index(i));
                    p.extend(field.iter().map(|k| key(k)));
                    at.error(&p, message)
                })?;
            }
            PresetNode::Sampler {
                config: SamplerConfig { one_shot: config.one_shot, envelope: config.envelope, zones },
            }
        }
        NodeType::Oscillator => {
            let level = config.mixer.unwrap_or(1.0);
            if !(level.is_finite() && level >= 0.0) {
                return Err(at.error(&below(&["config", "mixer"]), format!("level {level} is not a number ≥ 0")));
            }
            let detune_cents = config.detune.unwrap_or(0.0);
            if !detune_cents.is_finite() {
                return Err(at.error(&below(&["config", "detune"]), "detune must be a number of cents"));
            }
            PresetNode::Oscillator {
                config: OscillatorConfig {
                    waveform: config.waveform.ok_or_else(|| missing("waveform", "an oscillator"))?,
                    envelope: config.envelope,
                    detune_cents,
                    level,
                },
            }
        }
        NodeType::Composite => {
            let mode = mode.ok_or_else(|| at.error(&path, "a composite needs `mode` (layer, split or chain)"))?;
            let raw_children = children.ok_or_else(|| at.error(&path, "a composite needs `children`"))?;
            if raw_children.is_empty() {
                return Err(at.error(&below(&["children"]), "a composite needs at least one child"));
            }
            let count = raw_children.len();
            if count > MAX_CHILDREN {
                return Err(at.error(&below(&["children"]), format!("{count} children (at most {MAX_CHILDREN})")));
            }
            let mut converted = Vec::with_capacity(count);
            for (i, child) in raw_children.into_iter().enumerate() {
                let mut p = below(&["children"]);
                p.push(PathStep::Index(i));
                converted.push(convert(at, child, p)?);
            }
            if let Some(points) = &config.split_points {
                let here = below(&["config", "splitPoints"]);
                if points.len() + 1 != count {
                    return Err(at.error(
                        &here,
                        format!("{} split points for {count} children (one fewer than the children)", points.len()),
                    ));
                }
                if points.iter().any(|&p| p > 127) || points.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(at.error(&here, "split points must be keys 0 to 127 in ascending order"));
                }
            }
            if let Some(levels) = &config.mix_levels {
                let here = below(&["config", "mixLevels"]);
                if levels.len() != count {
                    return Err(at.error(&here, format!("{} mix levels for {count} children", levels.len())));
                }
                if levels.iter().any(|l| !(l.is_finite() && *l >= 0.0)) {
                    return Err(at.error(&here, "mix levels must be numbers ≥ 0"));
                }
            }
            PresetNode::Composite {
                config: CompositeConfig {
                    mode,
                    children: converted,
                    split_points: config.split_points,
                    mix_levels: config.mix_levels,
                },
            }
        }
        NodeType::Effect => PresetNode::Effect {
            effect_type: effect_type.ok_or_else(|| at.error(&path, "an effect needs `effectType`"))?,
            params,
        },
    })
}

/// What is wrong with an envelope: the field and why.
fn check_envelope(e: &Envelope) -> Result<(), (&'static str, String)> {
    for (field, seconds) in [("attack", e.attack), ("decay", e.decay), ("release", e.release)] {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err((field, format!("{seconds} is not a time in seconds ≥ 0")));
        }
    }
    if !(0.0..=1.0).contains(&e.sustain) {
        return Err(("sustain", format!("sustain level {} is outside 0 to 1", e.sustain)));
    }
    Ok(())
}

/// What is wrong with a zone: the field (path below the zone) and why.
fn check_zone(zone: &SamplerZone) -> Result<(), (&'static [&'static str], String)> {
    let KeyRange { low, high } = zone.key_range;
    if low > high || high > 127 {
        return Err((&["keyRange"], format!("invalid key range {low}..{high} (keys are 0 to 127, low ≤ high)")));
    }
    if let Some(KeyRange { low, high }) = zone.velocity_range {
        if low > high || high > 127 {
            return Err((&["velocityRange"], format!("invalid velocity range {low}..{high} (0 to 127, low ≤ high)")));
        }
    }
    if zone.pitch.root_note > 127 {
        return Err((&["pitch", "rootNote"], format!("root note {} is not a MIDI key", zone.pitch.root_note)));
    }
    if !(1_000..=384_000).contains(&zone.sample_rate) {
        return Err((&["sampleRate"], format!("sample rate {} Hz is not plausible", zone.sample_rate)));
    }
    if let Some(l) = zone.loop_frames {
        if l.start >= l.end {
            return Err((&["loop"], format!("loop start {} is not before its end {}", l.start, l.end)));
        }
    }
    check_relative_url(&zone.audio.url).map_err(|m| (&["audio", "url"][..], m))?;
    let hex = &zone.audio.sha256;
    if hex.len() != 16 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err((&["audio", "sha256"], format!("expected 16 hex digits, found \"{hex}\"")));
    }
    Ok(())
}

/// A sample URL (or index entry path) must stay inside the preset's folder (or the library):
/// relative, no `..`, no backslashes, no scheme, no percent-encoded tricks (see
/// [`crate::library::paths`]). Remote data can never name a file outside the library (or the cache).
pub(crate) fn check_relative_url(url: &str) -> Result<(), String> {
    crate::library::paths::RemotePath::parse(url).map(|_| ()).map_err(|e| e.to_string())
}
