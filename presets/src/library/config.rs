//! How a [`crate::library::LibraryClient`] is set up: where the library is, where its cache is,
//! how big the cache may grow, how long to wait for a server.

use std::path::PathBuf;
use std::time::Duration;

use crate::library::cache::DEFAULT_CAP_BYTES;
use crate::library::error::LibraryError;

/// The public SongWalker preset library.
pub const DEFAULT_LIBRARY_URL: &str = "https://clevertree.github.io/songwalker-library";

/// Environment variable naming the cache folder (overrides the platform cache directory).
pub const CACHE_DIR_ENV: &str = "NODERACK_CACHE_DIR";

/// How long to wait for a connection, or for the next bytes of a response: long enough for a slow
/// link, short enough that an unreachable server falls back to the cache promptly.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// A library client's settings.
#[derive(Clone, Debug)]
pub struct LibraryConfig {
    /// Base URL (`https://…`, `http://localhost:…`, `file:///…`) or a local folder path.
    pub location: String,
    /// Cache folder; `None` means [`CACHE_DIR_ENV`], else the platform cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Size cap of the cache; least-recently used unpinned files go first when it is exceeded.
    pub cache_cap_bytes: u64,
    /// Connect timeout, and the longest wait for the next bytes of a response.
    pub timeout: Duration,
    /// Draw progress bars on stderr for downloads (only when stderr is a terminal).
    pub progress: bool,
}

impl Default for LibraryConfig {
    fn default() -> Self {
        LibraryConfig {
            location: DEFAULT_LIBRARY_URL.to_string(),
            cache_dir: None,
            cache_cap_bytes: DEFAULT_CAP_BYTES,
            timeout: DEFAULT_TIMEOUT,
            progress: false,
        }
    }
}

impl LibraryConfig {
    /// The default settings for the library at `location`.
    pub fn new(location: impl Into<String>) -> Self {
        LibraryConfig { location: location.into(), ..Self::default() }
    }

    /// The cache folder these settings select.
    pub fn resolve_cache_dir(&self) -> Result<PathBuf, LibraryError> {
        if let Some(dir) = &self.cache_dir {
            return Ok(dir.clone());
        }
        if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        directories::ProjectDirs::from("", "", "noderack")
            .map(|dirs| dirs.cache_dir().join("library"))
            .ok_or(LibraryError::NoCacheDir)
    }
}
