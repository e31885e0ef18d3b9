//! Talking to another noderack server's patch registry (and downloading bundles by URL): the
//! client side of `docs/BUNDLES.md`, shared by `noderack patch` and the server's import.

use std::time::Duration;

use anyhow::{bail, Context};
use noderack_presets::bundle::MAX_BUNDLE_BYTES;
use noderack_presets::{Bundle, ContentHash};
use serde::Deserialize;
use serde_json::Value;

/// How long a registry request may go without progress.
const TIMEOUT: Duration = Duration::from_secs(60);

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
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().read_timeout(TIMEOUT).build().context("cannot make an HTTP client")
}

impl Registry {
    /// A client of the server at `url` (`http://host:port`, with or without `/api/v1`).
    pub fn new(url: &str, token: Option<String>) -> anyhow::Result<Self> {
        let trimmed = url.trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/registry").unwrap_or(trimmed);
        let trimmed = trimmed.strip_suffix("/api/v1").unwrap_or(trimmed);
        if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
            bail!("registry {url}: give the server's http:// or https:// address");
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
    pub async fn publish(&self, bytes: Vec<u8>) -> anyhow::Result<Entry> {
        let reply = self.request(reqwest::Method::POST, "").body(bytes).send().await;
        Ok(serde_json::from_value(answer(reply, &self.base).await?["entry"].take())?)
    }

    /// Bundles whose name or description contain every word of `query`.
    pub async fn search(&self, query: &str) -> anyhow::Result<Vec<Entry>> {
        let mut url = url::Url::parse(&self.base).context("the registry URL")?;
        url.query_pairs_mut().append_pair("q", query);
        let request = self.http.get(url);
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let reply = request.send().await;
        Ok(serde_json::from_value(answer(reply, &self.base).await?["bundles"].take())?)
    }

    /// The bundle `id`, verified to be that bundle.
    pub async fn fetch(&self, id: &ContentHash) -> anyhow::Result<(Bundle, Vec<u8>)> {
        let url = format!("{}/{id}", self.base);
        let reply = self.request(reqwest::Method::GET, &format!("/{id}")).send().await;
        let bytes = body(reply, &url).await?;
        let bundle = Bundle::from_bytes_expecting(&bytes, &url, id)?;
        Ok((bundle, bytes))
    }

    /// Forks bundle `id` under a new name; the new entry.
    pub async fn fork(&self, id: &ContentHash, name: Option<&str>) -> anyhow::Result<Entry> {
        let body = serde_json::to_vec(&serde_json::json!({ "name": name })).expect("JSON serializes");
        let reply = self
            .request(reqwest::Method::POST, &format!("/{id}/fork"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        Ok(serde_json::from_value(answer(reply, &self.base).await?["entry"].take())?)
    }
}

/// Downloads the bundle at `url` and verifies it; when the URL ends with a content hash (a
/// registry address), the bundle must have that id.
pub async fn download(http: &reqwest::Client, url: &str) -> anyhow::Result<(Bundle, Vec<u8>)> {
    let parsed = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("{url}: only http and https URLs are fetched");
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
async fn body(reply: reqwest::Result<reqwest::Response>, url: &str) -> anyhow::Result<Vec<u8>> {
    let mut reply = checked(reply, url).await?;
    if reply.content_length().is_some_and(|n| n > MAX_BUNDLE_BYTES) {
        bail!("{url}: larger than the limit of {MAX_BUNDLE_BYTES} bytes");
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = reply.chunk().await.with_context(|| format!("{url}: the download failed"))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            bail!("{url}: larger than the limit of {MAX_BUNDLE_BYTES} bytes");
        }
    }
    Ok(bytes)
}

/// The JSON body of a successful reply.
async fn answer(reply: reqwest::Result<reqwest::Response>, url: &str) -> anyhow::Result<Value> {
    let bytes = checked(reply, url).await?.bytes().await.with_context(|| format!("{url}: the reply broke off"))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{url}: the reply is not JSON"))
}

/// The reply if its status is a success; else its error message.
async fn checked(reply: reqwest::Result<reqwest::Response>, url: &str) -> anyhow::Result<reqwest::Response> {
    let reply = reply.with_context(|| format!("{url}: no answer"))?;
    let status = reply.status();
    if status.is_success() {
        return Ok(reply);
    }
    let text = reply.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or(text);
    bail!("{url}: {status}: {message}")
}
