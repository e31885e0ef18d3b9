//! SongWalker sampler presets as [`Instrument`]s: one region per zone, samples decoded
//! through a [`SampleStore`], loop points and pitch corrected for samples that decode at a
//! different rate than the preset declares. Composites whose every source is a sampler become
//! one instrument too (see [`super::graph`]).

use std::path::Path;
use std::sync::Arc;

use crate::instrument::{Envelope, Group, Instrument, LoopDirection, LoopMode, NoteRange, Region, SampleLoop};
use crate::json_file::FileError;
use crate::sample::{Encoding, Sample, SampleError, SampleStore};
use crate::songwalker::graph::{build_graph_with, PresetGraph};
use crate::songwalker::{find_preset, Codec, LookupError, PresetFile, PresetNode, SamplerConfig, SamplerZone};

/// Why a preset could not become an instrument or a graph.
#[derive(Debug, thiserror::Error)]
pub enum InstrumentError {
    /// The preset is not a sampler (oscillator and effect presets, and composites holding
    /// them, are not instruments of the sampler).
    #[error("{file}: preset \"{name}\" is {kind}, not a sampler")]
    NotASampler {
        /// The preset file.
        file: String,
        /// Its name.
        name: String,
        /// What it is instead (`an oscillator preset`, …).
        kind: &'static str,
    },
    /// The preset is an effect, asked for as an instrument.
    #[error("{file}: {json_path}: this is an effect preset (\"{effect_type}\"), not an instrument: give it to an effect node, `{{\"kind\": \"{effect_type}\", \"config\": {{\"preset\": …}}}}`")]
    EffectPreset {
        /// The preset file.
        file: String,
        /// Where the effect is (`node`, `node.children[1]`).
        json_path: String,
        /// Its `effectType`.
        effect_type: String,
    },
    /// The preset holds an effect type noderack has no node for.
    #[error("{file}: {json_path}: effect \"{effect_type}\" is not supported (noderack plays reverb, delay and chorus effects)")]
    UnsupportedEffect {
        /// The preset file.
        file: String,
        /// Where the effect is (`node`, `node.children[1]`).
        json_path: String,
        /// Its `effectType`.
        effect_type: String,
    },
    /// An effect node was given a preset that is not an effect.
    #[error("{file}: is {kind}, not an effect preset")]
    NotAnEffect {
        /// The preset file.
        file: String,
        /// What it is instead (`an oscillator`, …).
        kind: &'static str,
    },
    /// A part of the preset asks for something noderack cannot play.
    #[error("{file}: {json_path}: {message}")]
    Unsupported {
        /// The preset file.
        file: String,
        /// Where (`node.config.waveform`).
        json_path: String,
        /// What, and why.
        message: String,
    },
    /// The `"Lib/Name"` lookup failed.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The preset file is unreadable or malformed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A zone's sample could not be read or decoded.
    #[error("{file}: {json_path}: {source}")]
    Sample {
        /// The preset file.
        file: String,
        /// The zone (`node.config.zones[3]`).
        json_path: String,
        /// What went wrong.
        source: SampleError,
    },
}

/// A built instrument and what was wrong but did not stop it from playing.
#[derive(Debug)]
pub struct Built {
    /// The instrument.
    pub instrument: Instrument,
    /// Problems worth showing (a sample whose content does not match its recorded hash, keys
    /// of the preset that were not understood).
    pub warnings: Vec<String>,
}

/// Builds the instrument of the sampler preset `preset`, read from `preset_path` (zone URLs are
/// relative to its folder; [`PresetFile`] has checked they stay inside it). A composite whose
/// every source is a sampler becomes one instrument (layers as overlapping regions, splits as
/// regions limited to their keys).
///
/// A sample whose bytes do not match the recorded hash still plays (the library has such
/// inconsistencies) and is reported in [`Built::warnings`]; a sample that cannot be read or
/// decoded fails the whole instrument.
pub fn build_instrument(
    preset: &PresetFile,
    preset_path: &Path,
    store: &mut SampleStore,
) -> Result<Built, InstrumentError> {
    let mut samples = FolderSamples::beside(preset_path, store);
    let file = samples.file.clone();
    build_instrument_with(preset, &file, &mut samples)
}

/// Like [`build_instrument`], taking each zone's decoded sample from `samples` (a folder, a
/// library cache, …); `file` names the preset in errors.
pub fn build_instrument_with<S: ZoneSamples>(
    preset: &PresetFile,
    file: &str,
    samples: &mut S,
) -> Result<Built, S::Error> {
    let not_a_sampler = |kind| InstrumentError::NotASampler { file: file.to_string(), name: preset.name.clone(), kind };
    if !preset.node.is_all_sampler() {
        return Err(not_a_sampler(match preset.node {
            PresetNode::Oscillator { .. } => "an oscillator preset",
            PresetNode::Effect { .. } => "an effect preset",
            _ => "a composite preset with oscillators or effects",
        })
        .into());
    }
    let built = build_graph_with(preset, file, samples)?;
    match built.graph {
        PresetGraph::Sampler(instrument) => Ok(Built { instrument, warnings: built.warnings }),
        _ => Err(not_a_sampler("a composite preset that is not one instrument").into()),
    }
}

/// Where a preset's zones get their decoded samples: [`FolderSamples`] reads them beside the
/// preset file; the library client reads them through its cache.
pub trait ZoneSamples {
    /// What a failure to get a sample is (and what any other build failure becomes).
    type Error: From<InstrumentError>;

    /// The decoded sample of `zone`, at `zone_path` in the preset (`node.config.zones[3]`);
    /// problems that do not stop it playing go to `warnings`.
    fn sample(
        &mut self,
        zone_path: &str,
        zone: &SamplerZone,
        warnings: &mut Vec<String>,
    ) -> Result<Arc<Sample>, Self::Error>;
}

/// Samples read from the preset's own folder (a local library or a mirror on disk): a sample
/// whose bytes do not match the recorded hash still plays, with a warning (the public library
/// has such a file).
pub struct FolderSamples<'a> {
    /// The preset file's folder (zone URLs are relative to it; [`PresetFile`] checked they stay
    /// inside it).
    pub folder: &'a Path,
    /// The preset file, as errors name it.
    pub file: String,
    /// Where decoded samples are shared.
    pub store: &'a mut SampleStore,
}

impl<'a> FolderSamples<'a> {
    /// The samples beside the preset file at `preset_path`.
    pub fn beside(preset_path: &'a Path, store: &'a mut SampleStore) -> Self {
        Self { folder: preset_path.parent().unwrap_or(Path::new(".")), file: preset_path.display().to_string(), store }
    }
}

impl ZoneSamples for FolderSamples<'_> {
    type Error = InstrumentError;

    fn sample(
        &mut self,
        zone_path: &str,
        zone: &SamplerZone,
        warnings: &mut Vec<String>,
    ) -> Result<Arc<Sample>, InstrumentError> {
        let path = self.folder.join(&zone.audio.url);
        let encoding = zone_encoding(zone, path.extension().and_then(|e| e.to_str()));
        let sample_error =
            |source| InstrumentError::Sample { file: self.file.clone(), json_path: zone_path.to_string(), source };
        match self.store.load(&path, encoding, Some(&zone.audio.sha256)) {
            Ok(sample) => Ok(sample),
            Err(mismatch @ SampleError::HashMismatch { .. }) => {
                warnings.push(format!("{}: {zone_path}: {mismatch}", self.file));
                self.store.load(&path, encoding, None).map_err(sample_error)
            }
            Err(e) => Err(sample_error(e)),
        }
    }
}

/// How zone `zone`'s sample is encoded; `extension` is its file's, a hint for containers.
pub fn zone_encoding<'a>(zone: &SamplerZone, extension: Option<&'a str>) -> Encoding<'a> {
    match zone.audio.codec {
        Codec::Raw => Encoding::Raw16 { sample_rate_hz: zone.sample_rate },
        _ => Encoding::Detect { extension },
    }
}

/// Finds `"Lib/Name"` in the library rooted at `root` (a local folder or mirror) and builds its
/// instrument.
pub fn load_instrument(root: &Path, query: &str, store: &mut SampleStore) -> Result<Built, InstrumentError> {
    let found = find_preset(root, query)?;
    let path = root.join(&found.path);
    let preset = PresetFile::load(&path)?;
    build_instrument(&preset, &path, store)
}

/// The instrument of one sampler node of a preset (at `json_path`), its samples taken from
/// `samples`. Problems that do not stop it playing are appended to `warnings`.
pub(crate) fn sampler_instrument<S: ZoneSamples>(
    name: &str,
    config: &SamplerConfig,
    max_voices: Option<u32>,
    json_path: &str,
    samples: &mut S,
    warnings: &mut Vec<String>,
) -> Result<Instrument, S::Error> {
    let mut regions = Vec::with_capacity(config.zones.len());
    for (index, zone) in config.zones.iter().enumerate() {
        let zone_path = format!("{json_path}.config.zones[{index}]");
        let sample = samples.sample(&zone_path, zone, warnings)?;
        // Loop points count frames at the declared rate; the audio may have decoded at
        // another, so convert through seconds.
        let to_decoded = sample.sample_rate_hz as f64 / zone.sample_rate.max(1) as f64;
        let frames = sample.frames() as f64;
        let mut region = Region::new(sample.clone(), zone.pitch.root_note.min(127));
        region.keys = NoteRange { low: zone.key_range.low.min(127), high: zone.key_range.high.min(127) };
        if let Some(v) = zone.velocity_range {
            region.velocities = NoteRange { low: v.low, high: v.high };
        }
        // playback rate = 2^((note − rootNote − fineTuneCents/100)/12): the fine tune lowers.
        region.tune_cents = -zone.pitch.fine_tune_cents;
        let sample_loop = zone.loop_frames.and_then(|l| {
            let start = (l.start as f64 * to_decoded).clamp(0.0, frames);
            let end = (l.end as f64 * to_decoded).clamp(0.0, frames);
            (end - start >= 2.0).then_some(SampleLoop {
                start_frames: start,
                end_frames: end,
                direction: LoopDirection::Forward,
            })
        });
        region.loop_mode = match (config.one_shot, sample_loop) {
            (true, _) => LoopMode::OneShot,
            (false, Some(_)) => LoopMode::Continuous,
            (false, None) => LoopMode::NoLoop,
        };
        region.sample_loop = sample_loop;
        region.amp_envelope = match config.envelope {
            Some(e) => Envelope {
                attack_seconds: e.attack,
                decay_seconds: e.decay,
                sustain_level: e.sustain,
                release_seconds: e.release,
                ..Envelope::SAMPLE
            },
            None => Envelope { release_seconds: 0.25, ..Envelope::SAMPLE },
        };
        regions.push(region);
    }
    Ok(Instrument {
        name: name.to_string(),
        groups: vec![Group { name: None, regions }],
        key_switch_range: None,
        default_key_switch: None,
        max_voices,
    })
}
