//! The `instrument` setting of a patch's `sampler` node: where its instrument comes from (an
//! SFZ file, an SF2 bank or one of its programs, or a SongWalker library preset), and loading
//! it. Specification: `docs/PATCH_FORMAT.md`.
//!
//! ```json
//! { "sfz": "piano/piano.sfz" }
//! { "sf2": "gm.sf2" }
//! { "sf2": "gm.sf2", "bank": 0, "program": 24 }
//! { "preset": "FluidR3_GM/Acoustic Grand Piano", "library": "../songwalker-library" }
//! { "preset": "FluidR3_GM/Acoustic Grand Piano" }
//! ```
//!
//! Paths are relative to the patch's folder. A preset's `library` is a folder, or a URL
//! (`https://`, `http://localhost:…`, `file://`) read through the library client and its disk
//! cache; without one, the public SongWalker library. Errors name the field at fault
//! ([`ConfigError::Nested`]), so the patch loader can give its line and column.

use std::path::PathBuf;
use std::sync::Arc;

use crate::instrument::{Bank, ProgramNumber};
use crate::library::{LibraryClient, LibraryConfig, DEFAULT_LIBRARY_URL};
use crate::load_context::LoadContext;
use crate::node_config::{show, ConfigError, ConfigValue, NodeConfig};
use crate::{sf2, sfz};

/// Fields an `instrument` object may have.
pub const FIELDS: &[&str] = &["sfz", "sf2", "bank", "program", "preset", "library"];
/// Highest SF2 bank number (MSB·128 + LSB).
pub const MAX_BANK: u32 = 16_383;

/// The setting that loads library preset `name` (`"Lib/Name"`) from `library` (a URL or an
/// absolute folder), in the form [`InstrumentRef::from_config`] reads back: without `library`
/// when it is the public library.
pub fn preset_setting(name: &str, library: &str) -> serde_json::Value {
    if library == DEFAULT_LIBRARY_URL {
        serde_json::json!({ "preset": name })
    } else {
        serde_json::json!({ "preset": name, "library": library })
    }
}

/// Where an instrument comes from, with paths resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstrumentRef {
    /// An SFZ file.
    Sfz(PathBuf),
    /// An SF2 file: one program of it, or (`None`) the whole bank, played as General MIDI.
    Sf2 {
        /// The file.
        path: PathBuf,
        /// The program, if one.
        program: Option<ProgramNumber>,
    },
    /// A SongWalker library preset by `"Lib/Name"`.
    Preset {
        /// The query.
        name: String,
        /// The library: a URL, or the path of its root folder (with its `index.json`).
        library: String,
    },
}

/// A failure about one field of the setting: the field (`None`: the object as a whole) and why.
type FieldError = (Option<&'static str>, String);

impl InstrumentRef {
    /// Reads the setting `value`, resolving paths with `context`.
    pub fn from_config(value: &ConfigValue, context: &LoadContext) -> Result<Self, FieldError> {
        let ConfigValue::Object(fields) = value else {
            return Err((None, format!("expected an object such as {{\"sfz\": \"file.sfz\"}}, found {}", show(value))));
        };
        if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err((None, format!("unknown field \"{unknown}\" (fields: {})", FIELDS.join(", "))));
        }
        let sources: Vec<&str> = ["sfz", "sf2", "preset"].into_iter().filter(|k| fields.contains_key(*k)).collect();
        let [source] = sources[..] else {
            return Err((None, "give exactly one of `sfz`, `sf2` or `preset`".to_string()));
        };
        let allowed: &[&str] = match source {
            "sfz" => &["sfz"],
            "sf2" => &["sf2", "bank", "program"],
            _ => &["preset", "library"],
        };
        if let Some(&extra) = FIELDS.iter().find(|f| fields.contains_key(**f) && !allowed.contains(f)) {
            return Err((Some(extra), format!("`{extra}` does not go with `{source}`")));
        }
        Ok(match source {
            "sfz" => InstrumentRef::Sfz(context.resolve(&text(fields, "sfz")?)),
            "sf2" => {
                let path = context.resolve(&text(fields, "sf2")?);
                let bank = number(fields, "bank", MAX_BANK)?;
                let program = match (number(fields, "program", 127)?, bank) {
                    (Some(program), bank) => {
                        Some(ProgramNumber { bank: bank.unwrap_or(0) as u16, program: program as u8 })
                    }
                    (None, Some(_)) => return Err((Some("bank"), "give `program` with `bank`".to_string())),
                    (None, None) => None,
                };
                InstrumentRef::Sf2 { path, program }
            }
            _ => {
                let name = text(fields, "preset")?;
                let library = match fields.contains_key("library") {
                    false => DEFAULT_LIBRARY_URL.to_string(),
                    true => {
                        let given = text(fields, "library")?;
                        if given.contains("://") || given.to_ascii_lowercase().starts_with("file:") {
                            given
                        } else {
                            context.resolve(&given).display().to_string()
                        }
                    }
                };
                InstrumentRef::Preset { name, library }
            }
        })
    }

    /// The field naming the source (`sfz`, `sf2` or `preset`), where load errors belong.
    pub fn field(&self) -> &'static str {
        match self {
            InstrumentRef::Sfz(_) => "sfz",
            InstrumentRef::Sf2 { .. } => "sf2",
            InstrumentRef::Preset { .. } => "preset",
        }
    }

    /// Loads the instrument, decoding samples into `context.store` and adding what was
    /// ignored or repaired to `context.warnings`.
    pub fn load(&self, context: &mut LoadContext) -> Result<Bank, FieldError> {
        let at = |message: String| (Some(self.field()), message);
        match self {
            InstrumentRef::Sfz(path) => {
                let built = sfz::load_sfz(path, &mut context.store).map_err(|e| at(e.to_string()))?;
                if built.instrument.region_count() == 0 {
                    let first = built.warnings.first().map_or(String::new(), |w| format!(" (first problem: {w})"));
                    return Err(at(format!("{} has no region that can play{first}", path.display())));
                }
                context.warn(built.warnings.iter().map(ToString::to_string));
                Ok(Bank::single(built.instrument))
            }
            InstrumentRef::Sf2 { path, program } => {
                let loaded = sf2::load_bank(path, &mut context.store).map_err(|e| at(e.to_string()))?;
                context.warn(loaded.warnings);
                let Some(number) = program else { return Ok(loaded.bank) };
                let Some(instrument) = loaded.bank.programs.get(number) else {
                    let have: Vec<String> = loaded
                        .bank
                        .programs
                        .iter()
                        .map(|(n, i)| format!("{}:{} {}", n.bank, n.program, i.name))
                        .collect();
                    return Err((
                        Some("program"),
                        format!(
                            "{} has no program {} in bank {} (it has: {})",
                            path.display(),
                            number.program,
                            number.bank,
                            have.join(", ")
                        ),
                    ));
                };
                let mut bank = Bank::default();
                bank.programs.insert(ProgramNumber { bank: 0, program: 0 }, Arc::clone(instrument));
                Ok(bank)
            }
            InstrumentRef::Preset { name, library } => {
                let client = LibraryClient::new(&LibraryConfig::new(library.clone()))
                    .map_err(|e| (Some("library"), e.to_string()))?;
                let built = client.load_instrument(name, &mut context.store).map_err(|e| at(e.to_string()))?;
                context.warn(built.warnings);
                Ok(Bank::single(built.instrument))
            }
        }
    }

    /// Reads and loads the setting `key` of a node of `kind`, as a [`ConfigError`] naming the
    /// field at fault.
    pub fn load_setting(
        kind: &'static str,
        key: &str,
        value: &ConfigValue,
        context: &mut LoadContext,
    ) -> Result<Bank, ConfigError> {
        let nested = |(field, reason): FieldError| ConfigError::Nested {
            kind,
            key: key.to_string(),
            field: field.map(str::to_string),
            reason,
        };
        let reference = InstrumentRef::from_config(value, context).map_err(nested)?;
        reference.load(context).map_err(nested)
    }
}

fn text(fields: &NodeConfig, field: &'static str) -> Result<String, FieldError> {
    match fields.get(field) {
        Some(ConfigValue::Text(s)) if !s.is_empty() => Ok(s.clone()),
        Some(other) => Err((Some(field), format!("expected a non-empty text, found {}", show(other)))),
        None => Err((Some(field), "missing".to_string())),
    }
}

fn number(fields: &NodeConfig, field: &'static str, max: u32) -> Result<Option<u32>, FieldError> {
    match fields.get(field) {
        None => Ok(None),
        Some(ConfigValue::Number(n)) if n.fract() == 0.0 && *n >= 0.0 && *n <= max as f64 => Ok(Some(*n as u32)),
        Some(other) => Err((Some(field), format!("expected a whole number from 0 to {max}, found {}", show(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preset_setting_reads_back_as_the_preset_and_its_library() {
        let context = LoadContext::new(std::path::Path::new("/patches"));
        for library in [DEFAULT_LIBRARY_URL, "https://example.org/lib", "/srv/library"] {
            let setting: ConfigValue = serde_json::from_value(preset_setting("GM/Piano", library)).unwrap();
            let read = InstrumentRef::from_config(&setting, &context).unwrap();
            assert!(
                matches!(&read, InstrumentRef::Preset { name, library: l } if name == "GM/Piano" && l == library),
                "{library}: {read:?}"
            );
        }
        assert!(preset_setting("GM/Piano", DEFAULT_LIBRARY_URL).get("library").is_none());
    }
}
