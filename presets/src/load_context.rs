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

    /// `path` as written in a setting, resolved against [`LoadContext::folder`] unless absolute.
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.folder.join(path)
    }
}
