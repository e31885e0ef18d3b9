//! Talking to another noderack server's patch registry (and downloading bundles by URL): the
//! client side of `docs/BUNDLES.md`, shared by `noderack patch` and the server's import.

use std::time::Duration;

use noderack_presets::bundle::{BundleError, MAX_BUNDLE_BYTES};
use noderack_presets::{Bundle, ContentHash};
use serde::Deserialize;
use serde_json::Value;

/// How long a registry request may go without progress.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a registry request or a bundle download failed; every message names the address.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No HTTP client could be made (the TLS set-up failed).
    #[error("cannot make an HTTP client: {0}")]
    Client(reqwest::Error),
    /// The address is not one that is fetched.
    #[error("{0}")]
    Address(String),
    /// Nothing answered.
    #[error("{url}: no answer: {source}")]
    NoAnswer {
        /// Where.
        url: String,
        /// What the client said.
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{url}: {status}: {message}")]
    Refused {
        /// Where.
        url: String,
        /// Its HTTP status.
        status: reqwest::StatusCode,
        /// Its error message (the API's `error.message`, else the body).
        message: String,
    },
    /// The reply broke off.
    #[error("{url}: the reply broke off: {source}")]
    BrokeOff {
        /// Where.
        url: String,
        /// What the client said.
        source: reqwest::Error,
    },
    /// The download is larger than a bundle may be.
    #[error("{url}: larger than the limit of {MAX_BUNDLE_BYTES} bytes")]
    TooLarge {
        /// Where.
        url: String,
    },
    /// The reply is not the JSON expected.
    #[error("{url}: the reply is not what the registry sends: {source}")]
    NotJson {
        /// Where.
        url: String,
        /// What is wrong with it.
        source: serde_json::Error,
    },
    /// The bundle downloaded is not a valid bundle (or not the one asked for).
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

/// A client of one server's registry.
pub struct Registry {
    http: reqwest::Client,
    /// `http(s)://host:port/api/v1/registry`.
    base: String,
    token: Option<String>,
}

/// A registry entry as the server sends it.
#[derive(Debug, Deserialize)]
pub struct Entry {
    /// Its id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Its parent, if forked.
    pub parent: Option<String>,
    /// Bundle file size.
    pub bytes: u64,
}

/// An HTTP client (rustls with ring, as the library client uses).
pub fn http_client() -> Result<reqwest::Client, RemoteError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().read_timeout(TIMEOUT).build().map_err(RemoteError::Client)
}

impl Registry {
    /// A client of the server at `url` (`http://host:port`, with or without `/api/v1`).
    pub fn new(url: &str, token: Option<String>) -> Result<Self, RemoteError> {
        let trimmed = url.trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/registry").unwrap_or(trimmed);
        let trimmed = trimmed.strip_suffix("/api/v1").unwrap_or(trimmed);
        if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
            return Err(RemoteError::Address(format!("registry {url}: give the server's http:// or https:// address")));
        }
        Ok(Self { http: http_client()?, base: format!("{trimmed}/api/v1/registry"), token })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Publishes a bundle; its entry.
    pub async fn publish(&self, bytes: Vec<u8>) -> Result<Entry, RemoteError> {
        let reply = self.request(reqwest::Method::POST, "").body(bytes).send().await;
        read(answer(reply, &self.base).await?["entry"].take(), &self.base)
    }

    /// Bundles whose name or description contain every word of `query`.
    pub async fn search(&self, query: &str) -> Result<Vec<Entry>, RemoteError> {
        let mut url =
            url::Url::parse(&self.base).map_err(|e| RemoteError::Address(format!("registry {}: {e}", self.base)))?;
        url.query_pairs_mut().append_pair("q", query);
        let request = self.http.get(url);
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let reply = request.send().await;
        read(answer(reply, &self.base).await?["bundles"].take(), &self.base)
    }

    /// The bundle `id`, verified to be that bundle.
    pub async fn fetch(&self, id: &ContentHash) -> Result<(Bundle, Vec<u8>), RemoteError> {
        let url = format!("{}/{id}", self.base);
        let reply = self.request(reqwest::Method::GET, &format!("/{id}")).send().await;
        let bytes = body(reply, &url).await?;
        let bundle = Bundle::from_bytes_expecting(&bytes, &url, id)?;
        Ok((bundle, bytes))
    }

    /// Forks bundle `id` under a new name; the new entry.
    pub async fn fork(&self, id: &ContentHash, name: Option<&str>) -> Result<Entry, RemoteError> {
        let body = serde_json::to_vec(&serde_json::json!({ "name": name })).expect("JSON serializes");
        let reply = self
            .request(reqwest::Method::POST, &format!("/{id}/fork"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        read(answer(reply, &self.base).await?["entry"].take(), &self.base)
    }
}

/// `value` as a `T`, or what is wrong with the reply from `url`.
fn read<T: serde::de::DeserializeOwned>(value: Value, url: &str) -> Result<T, RemoteError> {
    serde_json::from_value(value).map_err(|source| RemoteError::NotJson { url: url.to_string(), source })
}

/// Downloads the bundle at `url` and verifies it; when the URL ends with a content hash (a
/// registry address), the bundle must have that id.
pub async fn download(http: &reqwest::Client, url: &str) -> Result<(Bundle, Vec<u8>), RemoteError> {
    let parsed = url::Url::parse(url).map_err(|e| RemoteError::Address(format!("{url} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(RemoteError::Address(format!("{url}: only http and https URLs are fetched")));
    }
    let bytes = body(http.get(url).send().await, url).await?;
    let last = parsed.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default();
    let last = last.strip_suffix(".nrbundle").unwrap_or(last);
    let bundle = match ContentHash::parse(last) {
        Ok(expected) => Bundle::from_bytes_expecting(&bytes, url, &expected)?,
        Err(_) => Bundle::from_bytes(&bytes, url)?,
    };
    Ok((bundle, bytes))
}

/// The body of a successful reply, at most [`MAX_BUNDLE_BYTES`].
async fn body(reply: reqwest::Result<reqwest::Response>, url: &str) -> Result<Vec<u8>, RemoteError> {
    let mut reply = checked(reply, url).await?;
    let too_large = || RemoteError::TooLarge { url: url.to_string() };
    if reply.content_length().is_some_and(|n| n > MAX_BUNDLE_BYTES) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    let broke_off = |source| RemoteError::BrokeOff { url: url.to_string(), source };
    while let Some(chunk) = reply.chunk().await.map_err(broke_off)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(too_large());
        }
    }
    Ok(bytes)
}

/// The JSON body of a successful reply.
async fn answer(reply: reqwest::Result<reqwest::Response>, url: &str) -> Result<Value, RemoteError> {
    let reply = checked(reply, url).await?;
    let bytes = reply.bytes().await.map_err(|source| RemoteError::BrokeOff { url: url.to_string(), source })?;
    serde_json::from_slice(&bytes).map_err(|source| RemoteError::NotJson { url: url.to_string(), source })
}

/// The reply if its status is a success; else its error message.
async fn checked(reply: reqwest::Result<reqwest::Response>, url: &str) -> Result<reqwest::Response, RemoteError> {
    let reply = reply.map_err(|source| RemoteError::NoAnswer { url: url.to_string(), source })?;
    let status = reply.status();
    if status.is_success() {
        return Ok(reply);
    }
    let text = reply.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or(text);
    Err(RemoteError::Refused { url: url.to_string(), status, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_are_not_fetched_are_refused_by_name() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let http = http_client().unwrap();
        let refused = |url: &str| runtime.block_on(download(&http, url)).err().map(|e| e.to_string());
        assert_eq!(
            refused("ftp://host/a.nrbundle").as_deref(),
            Some("ftp://host/a.nrbundle: only http and https URLs are fetched")
        );
        assert!(refused("no address").is_some_and(|e| e.starts_with("no address is not a URL")));
        let registry = Registry::new("file:///tmp", None).err().map(|e| e.to_string());
        assert_eq!(registry.as_deref(), Some("registry file:///tmp: give the server's http:// or https:// address"));
        assert!(Registry::new("http://127.0.0.1:9/api/v1/", None).is_ok());
    }
}
