//! Getting a file's bytes from a [`Location`]: HTTP on a tokio runtime owned by the fetcher
//! (the caller blocks; the runtime's worker drives the connection), plain reads for `file://`
//! mirrors and folders.

use std::time::Duration;

use indicatif::ProgressBar;
use url::Url;

use crate::library::error::LibraryError;
use crate::library::location::{file_of, url_of, Location};
use crate::library::paths::RemotePath;

/// No library file is larger (the biggest samples are a few MB): a hostile or broken server
/// cannot make us buffer more.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Fetches files of one library.
pub struct Fetcher {
    location: Location,
    http: Option<Http>,
    timeout: Duration,
}

struct Http {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Fetcher {
    /// A fetcher for `location`; HTTP connections time out after `timeout` without data.
    pub fn new(location: Location, timeout: Duration) -> Result<Fetcher, LibraryError> {
        let http = match location {
            Location::Http(_) => Some(Http::new(timeout)?),
            _ => None,
        };
        Ok(Fetcher { location, http, timeout })
    }

    /// The location.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The bytes of `path`, counting downloaded bytes on `progress`.
    pub fn fetch(&self, path: &RemotePath, progress: &ProgressBar) -> Result<Vec<u8>, LibraryError> {
        let path_error = |error| LibraryError::Path {
            file: self.location.name_of(&RemotePath::root()),
            field: "path".into(),
            error,
        };
        match (&self.location, &self.http) {
            (Location::Http(base), Some(http)) => {
                let url = url_of(base, path).map_err(path_error)?;
                http.runtime.block_on(get(&http.client, url, self.timeout, progress))
            }
            (Location::FileUrl { folder, .. } | Location::Folder(folder), _) => {
                let file = file_of(folder, path);
                let name = self.location.name_of(path);
                let len =
                    std::fs::metadata(&file).map_err(|error| LibraryError::Io { file: name.clone(), error })?.len();
                if len > MAX_FILE_BYTES {
                    return Err(LibraryError::TooLarge { url: name, limit: MAX_FILE_BYTES });
                }
                let bytes = std::fs::read(&file).map_err(|error| LibraryError::Io { file: name, error })?;
                progress.inc(bytes.len() as u64);
                Ok(bytes)
            }
            (Location::Http(_), None) => Err(LibraryError::Client("no HTTP client".into())),
        }
    }
}

impl Http {
    fn new(timeout: Duration) -> Result<Http, LibraryError> {
        // rustls is built without a bundled provider; ring is ours (another one installed by the
        // embedding program wins, which is as good).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("noderack-library")
            .enable_all()
            .build()
            .map_err(|e| LibraryError::Client(e.to_string()))?;
        let client = {
            // reqwest's client must be built inside the runtime that drives it.
            let _guard = runtime.enter();
            reqwest::Client::builder()
                .user_agent(concat!("noderack/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(timeout)
                .read_timeout(timeout)
                .build()
                .map_err(|e| LibraryError::Client(error_chain(&e)))?
        };
        Ok(Http { client, runtime })
    }
}

/// GET `url`, whole body, failing on an error status, a timeout or a body cut short.
async fn get(
    client: &reqwest::Client,
    url: Url,
    timeout: Duration,
    progress: &ProgressBar,
) -> Result<Vec<u8>, LibraryError> {
    let name = url.to_string();
    let failed = |e: reqwest::Error| {
        // The URL leads the message already.
        let e = e.without_url();
        if e.is_timeout() {
            LibraryError::Timeout { url: name.clone(), after: timeout }
        } else {
            LibraryError::Network { url: name.clone(), reason: error_chain(&e) }
        }
    };
    let mut response = client.get(url.clone()).send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(LibraryError::Status { url: name, status: status.to_string() });
    }
    let expected = response.content_length();
    if expected.is_some_and(|n| n > MAX_FILE_BYTES) {
        return Err(LibraryError::TooLarge { url: name, limit: MAX_FILE_BYTES });
    }
    let mut body = Vec::with_capacity(expected.unwrap_or(0) as usize);
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() as u64 + chunk.len() as u64 > MAX_FILE_BYTES {
            return Err(LibraryError::TooLarge { url: name, limit: MAX_FILE_BYTES });
        }
        body.extend_from_slice(&chunk);
        progress.inc(chunk.len() as u64);
    }
    if let Some(expected) = expected.filter(|&n| n != body.len() as u64) {
        return Err(LibraryError::Network {
            url: name,
            reason: format!("connection closed after {} of {expected} bytes", body.len()),
        });
    }
    Ok(body)
}

/// An error and its causes, `: `-separated (reqwest's own message omits the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
