//! Why a SoundFont could not be read. Every message names the file and the part of it at
//! fault (chunk, preset, instrument, zone or sample).

/// A SoundFont 2 file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Sf2Error {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a RIFF `sfbk` form, or its chunk structure is broken (truncated,
    /// a size running past the end, a required chunk missing).
    #[error("{file}: {reason}")]
    Structure {
        /// The file.
        file: String,
        /// What is wrong, naming the chunk.
        reason: String,
    },
    /// A record of a `pdta` sub-chunk refers outside the data it indexes.
    #[error("{file}: {what}: {reason}")]
    Record {
        /// The file.
        file: String,
        /// The record, e.g. `preset 3 "Piano" zone 2` or `sample 17 "Kick"`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Sf2Error {
    pub(crate) fn structure(file: &str, reason: impl Into<String>) -> Self {
        Self::Structure { file: file.to_string(), reason: reason.into() }
    }

    pub(crate) fn record(file: &str, what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Record { file: file.to_string(), what: what.into(), reason: reason.into() }
    }
}
