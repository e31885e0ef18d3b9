//! SongWalker sampler presets as [`Instrument`]s: one region per zone, samples decoded
//! through a [`SampleStore`], loop points and pitch corrected for samples that decode at a
//! different rate than the preset declares.

use std::path::Path;
use std::sync::Arc;

use crate::instrument::{Envelope, Group, Instrument, LoopDirection, LoopMode, NoteRange, Region, SampleLoop};
use crate::json_file::FileError;
use crate::sample::{Encoding, Sample, SampleError, SampleStore};
use crate::songwalker::{find_preset, Codec, LookupError, PresetFile, PresetNode, SamplerZone};

/// Why a preset could not become an instrument.
#[derive(Debug, thiserror::Error)]
pub enum InstrumentError {
    /// The preset is not a sampler (oscillator, composite and effect presets are not
    /// instruments of the sampler).
    #[error("{file}: preset \"{name}\" is a{kind} preset, not a sampler")]
    NotASampler {
        /// The preset file.
        file: String,
        /// Its name.
        name: String,
        /// What it is instead (with its article's `n` where needed).
        kind: &'static str,
    },
    /// The `"Lib/Name"` lookup failed.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The preset file is unreadable or malformed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A zone's sample could not be read or decoded.
    #[error("zone {zone} of {file}: {source}")]
    Sample {
        /// The preset file.
        file: String,
        /// Index of the zone in `node.config.zones`.
        zone: usize,
        /// What went wrong.
        source: SampleError,
    },
}

/// A built instrument and what was wrong but did not stop it from playing.
#[derive(Debug)]
pub struct Built {
    /// The instrument.
    pub instrument: Instrument,
    /// Problems worth showing (a sample whose content does not match its recorded hash).
    pub warnings: Vec<String>,
}

/// Builds the instrument of the sampler preset `preset`, read from `preset_path` (zone URLs are
/// relative to its folder; [`PresetFile`] has checked they stay inside it).
///
/// A sample whose bytes do not match the recorded hash still plays (the library has such
/// inconsistencies) and is reported in [`Built::warnings`]; a sample that cannot be read or
/// decoded fails the whole instrument.
pub fn build_instrument(
    preset: &PresetFile,
    preset_path: &Path,
    store: &mut SampleStore,
) -> Result<Built, InstrumentError> {
    let file = preset_path.display().to_string();
    let folder = preset_path.parent().unwrap_or(Path::new("."));
    build_instrument_with(preset, &file, |index, zone, warnings| {
        let path = folder.join(&zone.audio.url);
        let encoding = zone_encoding(zone, path.extension().and_then(|e| e.to_str()));
        let sample_error = |source| InstrumentError::Sample { file: file.clone(), zone: index, source };
        match store.load(&path, encoding, Some(&zone.audio.sha256)) {
            Ok(sample) => Ok(sample),
            Err(mismatch @ SampleError::HashMismatch { .. }) => {
                warnings.push(format!("zone {index} of {file}: {mismatch}"));
                store.load(&path, encoding, None).map_err(sample_error)
            }
            Err(e) => Err(sample_error(e)),
        }
    })
}

/// How zone `zone`'s sample is encoded; `extension` is its file's, a hint for containers.
pub fn zone_encoding<'a>(zone: &SamplerZone, extension: Option<&'a str>) -> Encoding<'a> {
    match zone.audio.codec {
        Codec::Raw => Encoding::Raw16 { sample_rate_hz: zone.sample_rate },
        _ => Encoding::Detect { extension },
    }
}

/// Builds the instrument of the sampler preset `preset` (`file` names it in errors), taking each
/// zone's decoded sample from `sample(zone index, zone, warnings)`: a folder, a library cache, ….
/// Fails with `E` when the preset is not a sampler or a sample cannot be had.
pub fn build_instrument_with<E: From<InstrumentError>>(
    preset: &PresetFile,
    file: &str,
    mut sample: impl FnMut(usize, &SamplerZone, &mut Vec<String>) -> Result<Arc<Sample>, E>,
) -> Result<Built, E> {
    let config = match &preset.node {
        PresetNode::Sampler { config } => config,
        other => {
            let kind = match other {
                PresetNode::Oscillator { .. } => "n oscillator",
                PresetNode::Composite { .. } => " composite",
                _ => "n effect",
            };
            return Err(InstrumentError::NotASampler { file: file.to_string(), name: preset.name.clone(), kind }.into());
        }
    };
    let mut warnings = Vec::new();
    let mut regions = Vec::with_capacity(config.zones.len());
    for (index, zone) in config.zones.iter().enumerate() {
        let sample = sample(index, zone, &mut warnings)?;
        // Loop points count frames at the declared rate; the audio may have decoded at
        // another, so convert through seconds.
        let to_decoded = sample.sample_rate_hz as f64 / zone.sample_rate.max(1) as f64;
        let frames = sample.frames() as f64;
        let mut region = Region::new(sample.clone(), zone.pitch.root_note.min(127));
        region.keys = NoteRange { low: zone.key_range.low.min(127), high: zone.key_range.high.min(127) };
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
        region.amp_envelope = Envelope { release_seconds: 0.25, ..Envelope::SAMPLE };
        regions.push(region);
    }
    let instrument = Instrument {
        name: preset.name.clone(),
        groups: vec![Group { name: None, regions }],
        key_switch_range: None,
        default_key_switch: None,
        max_voices: preset.max_voices,
    };
    Ok(Built { instrument, warnings })
}

/// Finds `"Lib/Name"` in the library rooted at `root` (a local folder or mirror) and builds its
/// instrument.
pub fn load_instrument(root: &Path, query: &str, store: &mut SampleStore) -> Result<Built, InstrumentError> {
    let found = find_preset(root, query)?;
    let path = root.join(&found.path);
    let preset = PresetFile::load(&path)?;
    build_instrument(&preset, &path, store)
}
