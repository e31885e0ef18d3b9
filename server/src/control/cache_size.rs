//! The size of the library's disk cache, for `status`: measured on a thread of its own every
//! few seconds (a walk of the folder), so that status requests and meters never touch the disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use noderack_presets::library::{LibraryConfig, DEFAULT_LIBRARY_URL};

/// How often the folder is measured.
const PERIOD: Duration = Duration::from_secs(10);
/// What `bytes` holds before the first measure.
const UNKNOWN: u64 = u64::MAX;

/// The library cache folder and its last measured size.
#[derive(Clone)]
pub struct CacheSize {
    /// The folder (the library client's default: `$NODERACK_CACHE_DIR` or the platform cache).
    pub dir: Option<PathBuf>,
    bytes: Arc<AtomicU64>,
}

impl CacheSize {
    /// Starts measuring the default library cache.
    pub fn watch() -> Self {
        let dir = LibraryConfig::new(DEFAULT_LIBRARY_URL).resolve_cache_dir().ok();
        let bytes = Arc::new(AtomicU64::new(UNKNOWN));
        if let Some(dir) = dir.clone() {
            let out = bytes.clone();
            let spawned = std::thread::Builder::new().name("noderack-cache-size".into()).spawn(move || loop {
                out.store(folder_bytes(&dir), Ordering::Relaxed);
                std::thread::sleep(PERIOD);
            });
            if let Err(e) = spawned {
                tracing::warn!("the library cache size will not be reported: {e}");
            }
        }
        Self { dir, bytes }
    }

    /// The last measured size, if measured yet.
    pub fn bytes(&self) -> Option<u64> {
        Some(self.bytes.load(Ordering::Relaxed)).filter(|b| *b != UNKNOWN)
    }
}

/// Bytes of every file under `dir` (0 when it does not exist).
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
