//! The SongWalker library as a client sees it: a base location (the public library by default,
//! an `http(s)://` or `file://` mirror, or a local folder), files fetched on a background runtime
//! and kept in a content-addressed disk cache ([`cache`]), every remote path checked before use
//! ([`paths`]). See `docs/LIBRARY.md`.
//!
//! [`LibraryClient`] is the entry point; its API blocks the calling thread (never call it from
//! an audio thread — nothing on one needs it).

pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod fetch;
pub mod location;
pub mod paths;

pub use cache::{DiskCache, Entry, DEFAULT_CAP_BYTES};
pub use client::{
    FetchProgress, FetchReport, Library, LibraryClient, OfflineReport, RemotePreset, SampleStatus, VerifyFailure,
    VerifyReport,
};
pub use config::{LibraryConfig, CACHE_DIR_ENV, DEFAULT_LIBRARY_URL, DEFAULT_TIMEOUT};
pub use error::LibraryError;
pub use location::Location;
pub use paths::{PathError, RemotePath};
