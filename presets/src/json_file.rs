//! Reading JSON files with errors that say where: the file, line and column, and the JSON path
//! of the offending value, for syntax and type errors (from serde) and for errors found after
//! parsing (located with [`crate::json_location`]).

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::json_location::{display_path, locate, PathStep};

/// Why a JSON file (a patch, a preset, a library index) could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file's content is wrong; `json_path` and the position say where.
    #[error("{file}:{line}:{column}: {json_path}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Path to the offending value, like `nodes[2].kind`.
        json_path: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads a whole file as text.
pub(crate) fn read(path: &Path) -> Result<String, FileError> {
    std::fs::read_to_string(path).map_err(|source| FileError::Io { file: path.display().to_string(), source })
}

/// One file's text and name, for located errors.
pub(crate) struct Locator<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Locator<'_> {
    /// Deserializes the whole text; syntax and type errors carry line, column and path.
    pub(crate) fn parse<T: DeserializeOwned>(&self) -> Result<T, FileError> {
        let mut de = serde_json::Deserializer::from_str(self.text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let inner = e.inner();
            FileError::Invalid {
                file: self.file.to_string(),
                line: inner.line(),
                column: inner.column(),
                json_path: complete_path(&e.path().to_string(), inner.is_eof()),
                message: strip_position(&inner.to_string()),
            }
        })
    }

    /// An error about the value at `path`.
    pub(crate) fn error(&self, path: &[PathStep], message: impl Into<String>) -> FileError {
        let (line, column) = locate(self.text, path).unwrap_or((1, 1));
        FileError::Invalid {
            file: self.file.to_string(),
            line,
            column,
            json_path: display_path(path),
            message: message.into(),
        }
    }
}

/// The path serde reports, cut before the first step it could not name (`?`: the parser
/// stopped before knowing the key or index, as in a truncated file), so that the error names
/// the last complete value; `(document)` or `(end of file)` when nothing is left.
fn complete_path(path: &str, eof: bool) -> String {
    let known = match path.find('?') {
        Some(at) => path[..at].trim_end_matches('.'),
        None => path,
    };
    match known {
        "" | "." if eof => "(end of file)".into(),
        "" | "." => "(document)".into(),
        known => known.to_string(),
    }
}

/// A path step naming an object key.
pub(crate) fn key(k: &str) -> PathStep {
    PathStep::Key(k.to_string())
}

/// serde_json appends " at line L column C"; the error already carries them as fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
