//! Where a library is: a URL (`http(s)://`, `file://`) or a local folder, and the URL or file
//! of a [`RemotePath`] inside it.

use std::path::{Path, PathBuf};

use url::Url;

use crate::library::error::LibraryError;
use crate::library::paths::{PathError, RemotePath};

/// A library's base location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An HTTP(S) server; the URL ends with `/`.
    Http(Url),
    /// A `file://` mirror, cached like a server (it may be a slow network mount).
    FileUrl {
        /// The URL as given, ending with `/`.
        url: Url,
        /// The folder it names.
        folder: PathBuf,
    },
    /// A local folder, read in place (nothing is copied to the cache).
    Folder(PathBuf),
}

impl Location {
    /// Reads a `--library` value: a URL with a scheme, else a folder path.
    pub fn parse(location: &str) -> Result<Location, LibraryError> {
        let bad = |reason: String| LibraryError::BadLocation { location: location.to_string(), reason };
        let lower = location.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("file:") {
            let mut url = Url::parse(location).map_err(|e| bad(e.to_string()))?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(bad("a library URL takes no query or fragment".into()));
            }
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            if url.scheme() == "file" {
                let folder = url.to_file_path().map_err(|_| bad("not a local file URL".into()))?;
                return Ok(Location::FileUrl { url, folder });
            }
            return Ok(Location::Http(url));
        }
        if location.contains("://") {
            return Err(bad("only http, https and file URLs are supported".into()));
        }
        if location.is_empty() {
            return Err(bad("it is empty".into()));
        }
        Ok(Location::Folder(PathBuf::from(location)))
    }

    /// How errors and cache keys name `path`: its URL, or its file for a folder.
    pub fn name_of(&self, path: &RemotePath) -> String {
        match self {
            Location::Http(url) | Location::FileUrl { url, .. } => {
                url_of(url, path).map_or_else(|_| format!("{url}{path}"), |u| u.to_string())
            }
            Location::Folder(folder) => file_of(folder, path).display().to_string(),
        }
    }

    /// True when files are cached (everything but a local folder).
    pub fn is_cached(&self) -> bool {
        !matches!(self, Location::Folder(_))
    }
}

/// `path` below `base`, resolved as a browser resolves a relative URL (existing `%XX` escapes
/// are kept, other characters encoded). [`RemotePath`] has excluded everything that could
/// resolve outside `base`; the check here is a second line of defence.
pub(crate) fn url_of(base: &Url, path: &RemotePath) -> Result<Url, PathError> {
    match base.join(&path.to_string()) {
        Ok(url) if url.as_str().starts_with(base.as_str()) => Ok(url),
        _ => Err(PathError { path: path.to_string(), reason: "it resolves outside the library's URL" }),
    }
}

/// `path` below `folder`, each segment percent-decoded as a web server serving that folder would.
pub(crate) fn file_of(folder: &Path, path: &RemotePath) -> PathBuf {
    path.segments()
        .iter()
        .fold(folder.to_path_buf(), |p, s| p.join(percent_encoding::percent_decode_str(s).decode_utf8_lossy().as_ref()))
}
