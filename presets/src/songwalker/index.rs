//! SongWalker library indexes (`index.json`) and `"Lib/Name"` preset lookup.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::preset::{check_relative_url, KeyRange};
use crate::json_file::{key, read, FileError, Locator};
use crate::json_location::PathStep;

/// The `format` every index carries.
pub const FORMAT: &str = "songwalker-index";

/// One entry of an index: another index (a library) or a preset.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum IndexEntry {
    /// A library with an index of its own.
    Index {
        /// Display name (`FluidR3 GM`).
        name: String,
        /// Path of its index relative to this one (`FluidR3_GM/index.json`).
        path: String,
        /// Free text.
        #[serde(default)]
        description: String,
        /// How many presets it holds.
        #[serde(default, rename = "presetCount")]
        preset_count: Option<u32>,
    },
    /// A preset.
    Preset {
        /// Display name (`Acoustic Grand Piano`).
        name: String,
        /// Path of its `preset.json` relative to this index.
        path: String,
        /// `sampler`, `synth`, `effect`, …
        #[serde(default)]
        category: Option<String>,
        /// Free tags.
        #[serde(default)]
        tags: Vec<String>,
        /// General MIDI program, for GM sets.
        #[serde(default, rename = "gmProgram")]
        gm_program: Option<u8>,
        /// Number of sampler zones.
        #[serde(default, rename = "zoneCount")]
        zone_count: Option<u32>,
        /// Keys the preset covers.
        #[serde(default, rename = "keyRange")]
        key_range: Option<KeyRange>,
    },
}

impl IndexEntry {
    /// The entry's display name.
    pub fn name(&self) -> &str {
        match self {
            IndexEntry::Index { name, .. } | IndexEntry::Preset { name, .. } => name,
        }
    }

    /// The entry's path relative to its index.
    pub fn path(&self) -> &str {
        match self {
            IndexEntry::Index { path, .. } | IndexEntry::Preset { path, .. } => path,
        }
    }
}

/// An index file: the root index lists libraries, a library's index lists its presets.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct LibraryIndex {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The entries.
    pub entries: Vec<IndexEntry>,
}

impl LibraryIndex {
    /// Reads and checks the index at `path`.
    pub fn load(path: &Path) -> Result<LibraryIndex, FileError> {
        Self::parse(&read(path)?, &path.display().to_string())
    }

    /// Checks index `text`; `file` names it in errors. Every entry path must stay inside the
    /// library (no `..`, absolute paths or schemes).
    pub fn parse(text: &str, file: &str) -> Result<LibraryIndex, FileError> {
        let at = Locator { file, text };
        let index: LibraryIndex = at.parse()?;
        if index.format != FORMAT {
            return Err(at.error(&[key("format")], format!("expected \"{FORMAT}\", found \"{}\"", index.format)));
        }
        for (i, entry) in index.entries.iter().enumerate() {
            check_relative_url(entry.path())
                .map_err(|m| at.error(&[key("entries"), PathStep::Index(i), key("path")], m))?;
        }
        Ok(index)
    }
}

/// A preset found by [`find_preset`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetRef {
    /// Display name of its library.
    pub library: String,
    /// Display name of the preset.
    pub name: String,
    /// Path of its `preset.json` relative to the library root.
    pub path: PathBuf,
}

/// Why a `"Lib/Name"` lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The query is not of the form `Lib/Name`.
    #[error("\"{0}\" is not a preset name of the form \"Library/Name\"")]
    BadQuery(String),
    /// No library matches.
    #[error("no library matches \"{query}\" (libraries: {available})")]
    NoLibrary {
        /// The library part of the query.
        query: String,
        /// The libraries that exist.
        available: String,
    },
    /// The library has no preset whose name contains the query.
    #[error("library \"{library}\" has no preset whose name contains \"{query}\" ({count} presets)")]
    NoPreset {
        /// The library searched.
        library: String,
        /// The name part of the query.
        query: String,
        /// How many presets it has.
        count: usize,
    },
    /// An index could not be read.
    #[error(transparent)]
    File(#[from] FileError),
}

/// Splits `"Lib/Name"` into its two non-empty parts.
pub fn split_query(query: &str) -> Result<(&str, &str), LookupError> {
    query
        .split_once('/')
        .filter(|(l, n)| !l.is_empty() && !n.is_empty())
        .ok_or_else(|| LookupError::BadQuery(query.to_string()))
}

/// The library entry of `root_index` that `lib` names: the first whose name matches
/// (case-insensitive, `_` read as a space) or whose folder is `lib`. Returns its name and the
/// path of its index.
pub fn match_library<'a>(root_index: &'a LibraryIndex, lib: &str) -> Result<(&'a str, &'a str), LookupError> {
    let wanted = lib.replace('_', " ").to_lowercase();
    let library = root_index.entries.iter().find_map(|e| match e {
        IndexEntry::Index { name, path, .. } => {
            let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
            let matches = name.replace('_', " ").to_lowercase() == wanted || folder.eq_ignore_ascii_case(lib);
            matches.then_some((name.as_str(), path.as_str()))
        }
        IndexEntry::Preset { .. } => None,
    });
    library.ok_or_else(|| {
        let names: Vec<&str> = root_index.entries.iter().map(IndexEntry::name).collect();
        LookupError::NoLibrary { query: lib.to_string(), available: names.join(", ") }
    })
}

/// The first preset entry of `index` (the library `library`) whose name contains `name`,
/// case-insensitive: its display name and path relative to the index.
pub fn match_preset<'a>(index: &'a LibraryIndex, library: &str, name: &str) -> Result<(&'a str, &'a str), LookupError> {
    let needle = name.to_lowercase();
    index
        .entries
        .iter()
        .find_map(|e| match e {
            IndexEntry::Preset { name: preset, path, .. } if preset.to_lowercase().contains(&needle) => {
                Some((preset.as_str(), path.as_str()))
            }
            _ => None,
        })
        .ok_or(LookupError::NoPreset {
            library: library.to_string(),
            query: name.to_string(),
            count: index.entries.len(),
        })
}

/// Finds a preset by `"Lib/Name"` in the library rooted at `root` (its root `index.json`):
/// the library is the first whose name matches `Lib` (case-insensitive, `_` read as a space)
/// or whose folder is `Lib`; the preset is the first in that library's index whose name
/// contains `Name`, case-insensitive.
pub fn find_preset(root: &Path, query: &str) -> Result<PresetRef, LookupError> {
    let (lib, name) = split_query(query)?;
    let root_index = LibraryIndex::load(&root.join("index.json"))?;
    let (library_name, index_path) = match_library(&root_index, lib)?;
    let index = LibraryIndex::load(&root.join(index_path))?;
    let folder = Path::new(index_path).parent().unwrap_or(Path::new(""));
    let (preset, path) = match_preset(&index, library_name, name)?;
    Ok(PresetRef { library: library_name.to_string(), name: preset.to_string(), path: folder.join(path) })
}
