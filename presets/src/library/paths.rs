//! Remote paths: the relative paths a library index or preset names (`FluidR3_GM/index.json`,
//! `zone_C4.mp3`), checked segment by segment so that remote data can name nothing outside its
//! library — on a server, in a folder mirror, or in the cache.
//!
//! Rejected: empty paths and segments, `.` and `..`, absolute paths, backslashes, colons (schemes,
//! drive letters), `?` and `#` (they would change what a URL means), control characters, and all of
//! those again after percent-decoding (`%2e%2e`, `%2f`, `%5c`).

use std::fmt;

use percent_encoding::percent_decode_str;

/// Why a remote path was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"{path}\" must be a relative path inside the library (no '..', leading '/', '\\', scheme or percent-encoded tricks): {reason}")]
pub struct PathError {
    /// The path as written.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A checked relative path inside a library, as `/`-separated segments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RemotePath {
    segments: Vec<String>,
}

impl RemotePath {
    /// The library root (no segments).
    pub fn root() -> RemotePath {
        RemotePath::default()
    }

    /// Checks `path` (relative, `/`-separated) segment by segment.
    pub fn parse(path: &str) -> Result<RemotePath, PathError> {
        let error = |reason| PathError { path: path.to_string(), reason };
        if path.is_empty() {
            return Err(error("it is empty"));
        }
        if path.starts_with('/') {
            return Err(error("it is absolute"));
        }
        let segments: Result<Vec<String>, PathError> =
            path.split('/').map(|s| check_segment(s).map(str::to_string).map_err(error)).collect();
        Ok(RemotePath { segments: segments? })
    }

    /// `path` read relative to this folder.
    pub fn join(&self, path: &str) -> Result<RemotePath, PathError> {
        let rest = RemotePath::parse(path)?;
        let mut segments = self.segments.clone();
        segments.extend(rest.segments);
        Ok(RemotePath { segments })
    }

    /// The folder holding this path (the root for a top-level name).
    pub fn parent(&self) -> RemotePath {
        let mut segments = self.segments.clone();
        segments.pop();
        RemotePath { segments }
    }

    /// The segments, each checked.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The last segment's extension (`mp3`), if any.
    pub fn extension(&self) -> Option<&str> {
        self.segments.last().and_then(|s| s.rsplit_once('.')).map(|(_, ext)| ext).filter(|e| !e.is_empty())
    }

    /// True for the library root.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }
}

impl fmt::Display for RemotePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("/"))
    }
}

/// Checks one segment as written and once percent-decoded.
fn check_segment(segment: &str) -> Result<&str, &'static str> {
    check_plain(segment)?;
    let decoded = percent_decode_str(segment).decode_utf8().map_err(|_| "a segment decodes to invalid UTF-8")?;
    if decoded != segment {
        if decoded.contains('/') {
            return Err("a segment hides a '/' in percent-encoding");
        }
        check_plain(&decoded).map_err(|_| "a segment is only acceptable before percent-decoding")?;
    }
    Ok(segment)
}

fn check_plain(segment: &str) -> Result<(), &'static str> {
    match segment {
        "" => Err("it has an empty segment ('//' or a trailing '/')"),
        "." | ".." => Err("it has a '.' or '..' segment"),
        s if s.contains('\\') => Err("it contains a backslash"),
        s if s.contains(':') => Err("it contains ':' (a scheme or drive letter)"),
        s if s.contains(['?', '#']) => Err("it contains '?' or '#'"),
        s if s.chars().any(char::is_control) => Err("it contains a control character"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_library_paths() {
        let p = RemotePath::parse("instruments/piano/Acoustic_Grand_Piano/preset.json").unwrap();
        assert_eq!(p.segments().len(), 4);
        assert_eq!(
            p.parent().join("zone_C4.mp3").unwrap().to_string(),
            "instruments/piano/Acoustic_Grand_Piano/zone_C4.mp3"
        );
        assert_eq!(p.extension(), Some("json"));
        assert!(RemotePath::parse("Pad%20warm/zone.mp3").is_ok());
    }

    #[test]
    fn rejects_every_way_out() {
        for bad in [
            "",
            "/etc/passwd",
            "../../etc/passwd",
            "a/../../b",
            "./a",
            "a//b",
            "a/",
            "..\\..\\win.ini",
            "C:/Windows",
            "https://evil.example/x",
            "%2e%2e/%2e%2e/etc/passwd",
            "%2E%2E/x",
            "a%2f..%2f..%2fb",
            "a%5c..",
            "a%00b",
            "a?x=1",
            "a#b",
            "a\nb",
            "%ff",
        ] {
            assert!(RemotePath::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
