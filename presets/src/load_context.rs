//! What node creation may use while a patch loads: the patch's folder (relative paths in
//! settings are relative to it), one sample store shared by every instrument of the patch,
//! and the warnings loading produced. Loading happens here, on the control thread, before
//! anything reaches an engine.

use std::path::{Path, PathBuf};

use crate::sample::SampleStore;

/// Shared state of one patch load, handed to every [`crate::NodeFactory::create`] call.
#[derive(Default)]
pub struct LoadContext {
    /// Folder that relative paths in settings are resolved against.
    pub folder: PathBuf,
    /// Decoded samples, shared by every instrument the patch loads (the same file is decoded
    /// once).
    pub store: SampleStore,
    /// What was ignored or repaired while loading (unsupported opcodes, hash mismatches), for
    /// the host to show.
    pub warnings: Vec<String>,
}

impl LoadContext {
    /// A context resolving relative paths against `folder` (an empty path means the current
    /// directory).
    pub fn new(folder: &Path) -> Self {
        let folder = if folder.as_os_str().is_empty() { PathBuf::from(".") } else { folder.to_path_buf() };
        Self { folder, store: SampleStore::new(), warnings: Vec::new() }
    }

    /// Records what loading ignored or repaired; a warning already recorded (the same SoundFont
    /// loaded by sixteen samplers) is kept once.
    pub fn warn(&mut self, warnings: impl IntoIterator<Item = String>) {
        for warning in warnings {
            if !self.warnings.contains(&warning) {
                self.warnings.push(warning);
            }
        }
    }

    /// `path` as written in a setting, resolved against [`LoadContext::folder`] unless absolute.
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.folder.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_repeated_by_another_node_is_kept_once() {
        let mut context = LoadContext::new(Path::new(""));
        context.warn(["gm.sf2: modulators are not mapped".to_string(), "a".to_string()]);
        context.warn(["gm.sf2: modulators are not mapped".to_string(), "b".to_string()]);
        assert_eq!(context.warnings, ["gm.sf2: modulators are not mapped", "a", "b"]);
    }
}
