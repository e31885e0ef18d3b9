//! SFZ instruments as [`Instrument`]s: the text format ([`lexer`], [`preprocess`] for
//! `#include`/`#define`, [`parse`] for headers and inheritance), opcodes mapped onto the model
//! ([`opcodes`], with envelopes, LFOs and controller modulation in [`modulation`] and curves in
//! [`curves`]), samples read from disk, embedded in the file, or built in ([`generated`]),
//! with the `smpl` chunk's root key and loop ([`riff`]). See `docs/SFZ.md` for the opcode
//! table.
//!
//! # Errors and warnings
//!
//! Text that cannot be read as SFZ stops the load with an [`SfzError`] naming the file and
//! line: an unclosed or invalid header, a line that is not `name=value`, a malformed or
//! unknown directive, an unterminated block comment, an `#include` that cannot be read or
//! nests too deep. Everything else loads and is reported in [`Built::warnings`], each with
//! its file and line, as sfizz does: unsupported opcodes and headers, values that do not
//! parse (the opcode is ignored), undefined `$` variables, include cycles (skipped), and
//! regions whose sample is missing or does not decode (the region is skipped).

pub mod curves;
pub mod generated;
pub mod lexer;
pub mod modulation;
pub mod opcodes;
pub mod parse;
pub mod paths;
pub mod preprocess;
pub mod riff;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::instrument::{Group, Instrument, NoteRange};
use crate::sample::{Encoding, Sample, SampleStore};

use curves::CurveSet;
use generated::Generated;
use modulation::Context;
use opcodes::{build_region, Outcome, RegionSettings, SampleInfo};
use parse::Document;

/// Why an SFZ file could not be loaded. Every variant names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum SfzError {
    /// The top file could not be read.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not valid SFZ.
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// An `#include`d file could not be read.
    #[error("{}:{line}: cannot read included file {}: {source}", file.display(), included.display())]
    Include {
        /// The including file.
        file: PathBuf,
        /// Line of the `#include`.
        line: u32,
        /// The path it resolved to.
        included: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Something in an SFZ file that was ignored, approximated or skipped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SfzWarning {
    /// The file it is in.
    pub file: PathBuf,
    /// 1-based line (0 = the file as a whole).
    pub line: u32,
    /// What happened.
    pub message: String,
}

impl fmt::Display for SfzWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            line => write!(f, "{}:{line}: {}", self.file.display(), self.message),
        }
    }
}

/// A loaded SFZ instrument and what was wrong with it.
#[derive(Debug)]
pub struct Built {
    /// The instrument.
    pub instrument: Instrument,
    /// What was ignored, approximated or skipped, in file order, each once.
    pub warnings: Vec<SfzWarning>,
    /// Every file read (the top file, then its includes).
    pub files: Vec<PathBuf>,
    /// Every sample file read, once each (embedded and generated samples are not files).
    pub sample_files: Vec<PathBuf>,
}

/// Loads the SFZ instrument at `path`, decoding its samples through `store`.
pub fn load_sfz(path: &Path, store: &mut SampleStore) -> Result<Built, SfzError> {
    let document = parse::parse(preprocess::preprocess(path)?);
    Ok(Builder::new(path, store).build(document))
}

/// A sample as loaded for regions: the audio and what its file says about itself.
type Loaded = Result<(Arc<Sample>, SampleInfo), String>;

struct Builder<'a> {
    path: &'a Path,
    root_dir: PathBuf,
    store: &'a mut SampleStore,
    loaded: HashMap<String, Loaded>,
    generated: HashMap<Generated, Arc<Sample>>,
    warnings: Vec<SfzWarning>,
    sample_files: Vec<PathBuf>,
}

impl<'a> Builder<'a> {
    fn new(path: &'a Path, store: &'a mut SampleStore) -> Self {
        let root_dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        Self {
            path,
            root_dir,
            store,
            loaded: HashMap::new(),
            generated: HashMap::new(),
            warnings: Vec::new(),
            sample_files: Vec::new(),
        }
    }

    fn build(mut self, doc: Document) -> Built {
        let Document { files, regions: specs, groups: group_names, embedded, curves, controller_defaults, warnings } =
            doc;
        self.warnings = warnings;
        let warn_at = |warnings: &mut Vec<SfzWarning>, origin: &preprocess::Origin, message: String| {
            warnings.push(SfzWarning { file: files[origin.file].clone(), line: origin.line, message });
        };
        let curves = CurveSet::from_headers(&curves, |origin, message| warn_at(&mut self.warnings, origin, message));
        let ctx = Context { curves, controller_defaults };
        let mut groups: Vec<Group> = group_names.into_iter().map(|name| Group { name, regions: Vec::new() }).collect();
        let mut switch_range: Option<NoteRange> = None;
        let mut default_switch = None;
        let widen = |range: &mut Option<NoteRange>, low: u8, high: u8| {
            let r = range.get_or_insert(NoteRange { low, high });
            r.low = r.low.min(low);
            r.high = r.high.max(high);
        };

        for spec in specs {
            let mut settings = RegionSettings { key_offset: spec.key_offset, ..RegionSettings::default() };
            let sample_op = spec.opcodes.iter().rev().find(|o| o.name == "sample").cloned();
            let generated = sample_op.as_ref().and_then(|o| Generated::from_name(o.value.trim()));
            if generated.is_some_and(|g| !g.is_pitched()) {
                settings.keytrack_cents = 0.0;
            }
            for op in &spec.opcodes {
                match settings.apply(&op.name, &op.value) {
                    Outcome::Applied => {}
                    Outcome::Approximated(m) | Outcome::Ignored(m) => warn_at(&mut self.warnings, &op.origin, m),
                }
            }
            if settings.end_frame == Some(-1) {
                warn_at(&mut self.warnings, &spec.origin, "region disabled by end=-1; skipped".into());
                continue;
            }
            if let Some(reason) = settings.never_plays(&ctx) {
                warn_at(&mut self.warnings, &spec.origin, reason);
                continue;
            }
            let Some(sample_op) = sample_op else {
                warn_at(&mut self.warnings, &spec.origin, "region has no sample=; skipped".into());
                continue;
            };
            let written = paths::normalize_separators(sample_op.value.trim());
            let (sample, info) = match (generated, written.starts_with('*')) {
                (Some(g), _) => (self.generated.entry(g).or_insert_with(|| g.sample()).clone(), SampleInfo::default()),
                (None, true) => {
                    let message = format!("unknown generated sample `{written}`; region skipped");
                    warn_at(&mut self.warnings, &sample_op.origin, message);
                    continue;
                }
                (None, false) => match self.file_sample(&spec.default_path, &written, &embedded) {
                    Ok(loaded) => loaded,
                    Err(message) => {
                        warn_at(&mut self.warnings, &sample_op.origin, format!("{message}; region skipped"));
                        continue;
                    }
                },
            };
            let mut remarks = Vec::new();
            let region = build_region(&settings, &ctx, sample, info, generated.is_some(), &mut remarks);
            for remark in remarks {
                warn_at(&mut self.warnings, &spec.origin, remark);
            }
            if let (Some(low), Some(high)) = settings.sw_range {
                widen(&mut switch_range, low.min(high), low.max(high));
            }
            // Keys that switch (rather than play): `sw_last`'s, and the keys `sw_down`/`sw_up`
            // watch.
            for k in [settings.sw_last, settings.sw_down, settings.sw_up].into_iter().flatten() {
                widen(&mut switch_range, k, k);
            }
            default_switch = default_switch.or(settings.sw_default);
            groups[spec.group].regions.push(region);
        }
        groups.retain(|g| !g.regions.is_empty());
        let instrument = Instrument {
            name: self.path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
            groups,
            key_switch_range: switch_range,
            default_key_switch: default_switch,
            max_voices: None,
        };
        if instrument.region_count() == 0 {
            self.warnings.push(SfzWarning {
                file: self.path.to_path_buf(),
                line: 0,
                message: "no playable regions".into(),
            });
        }
        let mut seen = HashSet::new();
        let warnings = self.warnings.into_iter().filter(|w| seen.insert(w.clone())).collect();
        for w in &warnings {
            tracing::debug!("{w}");
        }
        Built { instrument, warnings, files, sample_files: self.sample_files }
    }

    /// The sample `default_path` + `written`: embedded under that name, else a file relative
    /// to the top file's folder (letter case forgiven).
    fn file_sample(&mut self, default_path: &str, written: &str, embedded: &HashMap<String, Vec<u8>>) -> Loaded {
        let name = format!("{default_path}{written}");
        if let Some(cached) = self.loaded.get(&name) {
            return cached.clone();
        }
        let extension = Path::new(&name).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let encoding = Encoding::Detect { extension: extension.as_deref() };
        let loaded = if let Some(bytes) = embedded.get(&name).or_else(|| embedded.get(written)) {
            self.store
                .load_bytes(bytes, &format!("embedded sample {name}"), encoding, None)
                .map(|s| (s, riff::sample_info(bytes)))
                .map_err(|e| e.to_string())
        } else {
            let joined = self.root_dir.join(&name);
            match paths::resolve_case_insensitive(&joined) {
                None => Err(format!("sample {} not found", joined.display())),
                Some(found) => match std::fs::read(&found) {
                    Err(e) => Err(format!("sample {}: {e}", found.display())),
                    Ok(bytes) => {
                        self.sample_files.push(found.clone());
                        self.store
                            .load_bytes(&bytes, &found.display().to_string(), encoding, None)
                            .map(|s| (s, riff::sample_info(&bytes)))
                            .map_err(|e| e.to_string())
                    }
                },
            }
        };
        self.loaded.insert(name, loaded.clone());
        loaded
    }
}
