//! Why a library operation failed. Every variant names the URL or file concerned.

use std::time::Duration;

use crate::json_file::FileError;
use crate::library::cache::CacheError;
use crate::library::paths::PathError;
use crate::sample::SampleError;
use crate::songwalker::{InstrumentError, LookupError};

/// Why a library operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The `--library` value is not a usable URL or folder.
    #[error("library location \"{location}\": {reason}")]
    BadLocation {
        /// The value given.
        location: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// No cache folder was given and the platform has none.
    #[error("no cache directory: set {} or pass a cache directory", crate::library::CACHE_DIR_ENV)]
    NoCacheDir,
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The status code and reason.
        status: String,
    },
    /// The server did not answer (or stopped sending) within the timeout.
    #[error("{url}: timed out (no data for {} ms)", after.as_millis())]
    Timeout {
        /// The URL requested.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// The connection failed or broke off.
    #[error("{url}: {reason}")]
    Network {
        /// The URL requested.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A `file://` mirror or folder could not be read.
    #[error("{file}: {error}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error (in the message, so not also a `source`).
        error: std::io::Error,
    },
    /// A response is larger than any library file may be.
    #[error("{url}: larger than {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A sample's bytes did not match its recorded hash, on every attempt.
    #[error("{mismatch} (fetched {attempts} times; nothing was cached)")]
    Corrupt {
        /// The mismatch, naming the sample's URL.
        mismatch: SampleError,
        /// How many times it was fetched.
        attempts: u32,
    },
    /// A remote path from an index or preset would leave the library.
    #[error("{file}: {field}: {error}")]
    Path {
        /// The index or preset that names it.
        file: String,
        /// The field holding it.
        field: String,
        /// What is wrong.
        error: PathError,
    },
    /// An index or preset is malformed (file, line, JSON path).
    #[error(transparent)]
    File(#[from] FileError),
    /// A `"Lib/Name"` lookup failed.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// A zone's sample could not be decoded.
    #[error("{file}: {zone}: {error}")]
    Sample {
        /// The preset.
        file: String,
        /// Where the zone is in the preset (`node.config.zones[3]`).
        zone: String,
        /// What went wrong.
        error: Box<SampleError>,
    },
    /// The preset is not an instrument, or its samples could not be used (boxed: it is large,
    /// and rare).
    #[error(transparent)]
    Instrument(Box<InstrumentError>),
    /// The cache could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The HTTP client or its runtime could not start.
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
}

impl From<InstrumentError> for LibraryError {
    fn from(error: InstrumentError) -> Self {
        LibraryError::Instrument(Box::new(error))
    }
}

impl LibraryError {
    /// True for failures to reach the library rather than of its data (a timeout, a broken
    /// connection, a server error, an unreadable `file://` mirror): a client falls back to its
    /// cache on these.
    pub fn is_network(&self) -> bool {
        match self {
            LibraryError::Timeout { .. } | LibraryError::Network { .. } | LibraryError::Io { .. } => true,
            LibraryError::Status { status, .. } => status.starts_with('5'),
            _ => false,
        }
    }
}
