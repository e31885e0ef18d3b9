//! SongWalker preset files (`preset.json`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::json_file::{key, read, FileError, Locator};
use crate::json_location::PathStep;

/// The `format` every preset carries.
pub const FORMAT: &str = "songwalker-preset";

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
}

/// A sampler: zones, and whether notes play to the end regardless of note-off.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    /// Notes ignore note-off and play their sample to the end (percussion).
    pub one_shot: bool,
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

/// A basic oscillator synth.
#[derive(Clone, Debug, PartialEq)]
pub struct OscillatorConfig {
    /// `sine`, `square`, `sawtooth` or `triangle`.
    pub waveform: String,
    /// Its envelope.
    pub envelope: Option<Envelope>,
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
    /// Several presets layered or split. Kept as written until instruments are built from
    /// presets (none occurs in the shared test subset).
    Composite {
        /// The whole node object, unparsed.
        node: serde_json::Value,
    },
    /// An effect with named numeric parameters.
    Effect {
        /// `delay`, `reverb`, `chorus`, …
        effect_type: String,
        /// Its parameters.
        params: BTreeMap<String, f64>,
    },
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
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    one_shot: bool,
    #[serde(default)]
    zones: Option<Vec<SamplerZone>>,
    #[serde(default)]
    waveform: Option<String>,
    #[serde(default)]
    envelope: Option<Envelope>,
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

/// A preset file. Unknown keys are ignored (the library grows); known ones are checked.
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
        let object = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).unwrap_or_default();
        let node_key = if object.contains_key("node") { "node" } else { "graph" };
        let missing =
            |field: &str, what: &str| at.error(&[key(node_key), key("config")], format!("{what} needs `{field}`"));
        let RawNode { kind, config, effect_type, params } = raw.node;
        let node = match kind {
            NodeType::Sampler => {
                let zones = config.zones.ok_or_else(|| missing("zones", "a sampler"))?;
                if zones.is_empty() {
                    return Err(
                        at.error(&[key(node_key), key("config"), key("zones")], "a sampler needs at least one zone")
                    );
                }
                for (i, zone) in zones.iter().enumerate() {
                    let here = |rest: &[&str]| {
                        let mut p = vec![key(node_key), key("config"), key("zones"), PathStep::Index(i)];
                        p.extend(rest.iter().map(|k| key(k)));
                        p
                    };
                    check_zone(zone).map_err(|(field, message)| at.error(&here(field), message))?;
                }
                PresetNode::Sampler { config: SamplerConfig { one_shot: config.one_shot, zones } }
            }
            NodeType::Oscillator => PresetNode::Oscillator {
                config: OscillatorConfig {
                    waveform: config.waveform.ok_or_else(|| missing("waveform", "an oscillator"))?,
                    envelope: config.envelope,
                },
            },
            NodeType::Composite => {
                PresetNode::Composite { node: object.get(node_key).cloned().unwrap_or(serde_json::Value::Null) }
            }
            NodeType::Effect => PresetNode::Effect {
                effect_type: effect_type.ok_or_else(|| at.error(&[key(node_key)], "an effect needs `effectType`"))?,
                params,
            },
        };
        Ok(PresetFile {
            format: raw.format,
            version: raw.version,
            name: raw.name,
            category: raw.category,
            tags: raw.tags,
            max_voices: raw.max_voices,
            node,
        })
    }

    /// The sampler zones, if this is a sampler.
    pub fn zones(&self) -> &[SamplerZone] {
        match &self.node {
            PresetNode::Sampler { config } => &config.zones,
            _ => &[],
        }
    }
}

/// What is wrong with a zone: the field (path below the zone) and why.
fn check_zone(zone: &SamplerZone) -> Result<(), (&'static [&'static str], String)> {
    let KeyRange { low, high } = zone.key_range;
    if low > high || high > 127 {
        return Err((&["keyRange"], format!("invalid key range {low}..{high} (keys are 0 to 127, low ≤ high)")));
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
