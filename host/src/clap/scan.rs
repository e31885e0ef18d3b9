//! Finding CLAP plugins: every `.clap` file under the search paths (`CLAP_PATH`, then
//! `~/.clap`, `/usr/lib/clap`, `/usr/local/lib/clap`, as the CLAP specification lists them for
//! Linux), each loaded and asked for its plugins. A file that does not load, or whose factory is
//! missing, is reported and skipped; scanning goes on.

use std::path::{Path, PathBuf};

use clack_host::prelude::*;
use serde::Serialize;

use super::ClapError;

/// How deep folders under a search path are followed.
const MAX_DEPTH: usize = 8;

/// One plugin a file offers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PluginSummary {
    /// Its id (`org.example.plugin`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its vendor.
    pub vendor: String,
    /// Its version.
    pub version: String,
    /// Its features (`instrument`, `audio-effect`, `stereo`…).
    pub features: Vec<String>,
    /// The file it is in.
    pub path: PathBuf,
}

/// What a scan found.
#[derive(Debug, Default, Serialize)]
pub struct ScanReport {
    /// Every plugin of every file that loaded, by id (the first file wins for a repeated id).
    pub plugins: Vec<PluginSummary>,
    /// Files that did not load, with why.
    pub failures: Vec<(PathBuf, String)>,
}

impl ScanReport {
    /// The plugin with `id`, or an error suggesting the closest id.
    pub fn find(&self, id: &str) -> Result<&PluginSummary, ClapError> {
        self.plugins.iter().find(|p| p.id == id).ok_or_else(|| {
            let lower = id.to_ascii_lowercase();
            let close = self.plugins.iter().find(|p| {
                let other = p.id.to_ascii_lowercase();
                other.contains(&lower) || lower.contains(&other) || p.name.to_ascii_lowercase() == lower
            });
            ClapError::UnknownId {
                id: id.to_string(),
                suggestion: close.map_or(String::new(), |p| format!("; did you mean \"{}\"?", p.id)),
            }
        })
    }
}

/// The folders searched, in order: each entry of `CLAP_PATH`, then the standard ones.
pub fn search_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> =
        std::env::var_os("CLAP_PATH").map(|v| std::env::split_paths(&v).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        paths.push(Path::new(&home).join(".clap"));
    }
    paths.extend([PathBuf::from("/usr/lib/clap"), PathBuf::from("/usr/local/lib/clap")]);
    paths.retain(|p| !p.as_os_str().is_empty());
    paths
}

/// Scans `paths` (see [`search_paths`]).
pub fn scan(paths: &[PathBuf]) -> ScanReport {
    let mut files = Vec::new();
    for path in paths {
        collect(path, 0, &mut files);
    }
    let mut report = ScanReport::default();
    for file in files {
        match plugins_in(&file) {
            Ok(plugins) => {
                for plugin in plugins {
                    if report.plugins.iter().any(|p| p.id == plugin.id) {
                        tracing::debug!("{}: {} is also in an earlier file; skipped", file.display(), plugin.id);
                    } else {
                        report.plugins.push(plugin);
                    }
                }
            }
            Err(e) => {
                tracing::debug!("{e}");
                report.failures.push((file, e.to_string()));
            }
        }
    }
    report
}

/// `.clap` files under `path` (itself, if it is one).
fn collect(path: &Path, depth: usize, files: &mut Vec<PathBuf>) {
    if path.extension().is_some_and(|e| e == "clap") && path.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() && depth < MAX_DEPTH {
            collect(&entry, depth + 1, files);
        } else if entry.extension().is_some_and(|e| e == "clap") && entry.is_file() {
            files.push(entry);
        }
    }
}

/// Loads the entry of the `.clap` file `path`.
pub fn load_entry(path: &Path) -> Result<PluginEntry, ClapError> {
    let failed = |reason: String| ClapError::Load { path: path.to_path_buf(), reason };
    // SAFETY: loading a plugin library runs its initialisers and its `clap_entry.init`; the file
    // is one the user installed as a CLAP plugin (a broken one fails to load or to initialise,
    // which is reported). Nothing else in the process is touched.
    let entry = std::panic::catch_unwind(|| unsafe { PluginEntry::load(path) })
        .map_err(|_| failed("loading it panicked".into()))?
        .map_err(|e| failed(e.to_string()))?;
    Ok(entry)
}

/// The plugins the file `path` offers.
fn plugins_in(path: &Path) -> Result<Vec<PluginSummary>, ClapError> {
    let entry = load_entry(path)?;
    let factory = entry
        .get_plugin_factory()
        .ok_or_else(|| ClapError::Load { path: path.to_path_buf(), reason: "it has no plugin factory".into() })?;
    let text = |s: Option<&std::ffi::CStr>| s.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(factory
        .plugin_descriptors()
        .filter(|d| d.id().is_some())
        .map(|d| PluginSummary {
            id: text(d.id()),
            name: text(d.name()),
            vendor: text(d.vendor()),
            version: text(d.version()),
            features: d.features().map(|f| f.to_string_lossy().into_owned()).collect(),
            path: path.to_path_buf(),
        })
        .collect())
}
