//! The preset library as the server sees it (`--library`): searched by clients that browse it
//! (the editor's preset browser), and fetched with progress announced on the WebSocket when a
//! sampler loads one of its presets.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use noderack_presets::instrument_ref::preset_setting;
use noderack_presets::library::{LibraryClient, LibraryConfig, RemotePreset};
use noderack_presets::songwalker::IndexEntry;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::ApiError;
use super::http::AppState;

/// Most presets one search answers with (the rest are counted in `more`).
const MOST_RESULTS: usize = 500;

/// The library routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/library/presets", get(search))
}

/// The library clients browse, with one client kept for the server's life: its indexes are
/// fetched once, so a search typed letter by letter does not fetch them again each time.
pub struct Browsed {
    /// Where it is: a URL, or an absolute folder.
    pub location: String,
    client: Mutex<Option<Arc<LibraryClient>>>,
}

impl Browsed {
    /// The library at `location` (as [`location`] made it); its client is made when first used.
    pub fn new(location: String) -> Self {
        Self { location, client: Mutex::new(None) }
    }

    /// The client (made now if this is the first use; a failure is tried again next time).
    fn client(&self) -> Result<Arc<LibraryClient>, ApiError> {
        let mut kept = self.client.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = kept.as_ref() {
            return Ok(client.clone());
        }
        let client = LibraryClient::new(&LibraryConfig::new(self.location.clone()))
            .map_err(|e| ApiError::new(502, format!("library {}: {e}", self.location)))?;
        Ok(kept.insert(Arc::new(client)).clone())
    }

    /// Forgets the kept client: the next use fetches the library's indexes again.
    fn refresh(&self) {
        *self.client.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    /// The kept client if `library` is this one, else a client of its own.
    fn client_for(&self, library: &str) -> Result<Arc<LibraryClient>, ApiError> {
        if library == self.location {
            return self.client();
        }
        LibraryClient::new(&LibraryConfig::new(library))
            .map(Arc::new)
            .map_err(|e| ApiError::new(502, format!("library {library}: {e}")))
    }
}

/// A `--library` folder that is not there.
#[derive(Debug, thiserror::Error)]
#[error("--library {given}: {source} (give a URL or a folder with the library's index.json)")]
pub struct LocationError {
    /// What was given.
    pub given: String,
    /// Why it cannot be read.
    pub source: std::io::Error,
}

/// Where `--library` points, as an instrument setting can name it: URLs as given, folders made
/// absolute (so that a patch saved elsewhere still finds them).
pub fn location(given: &str) -> Result<String, LocationError> {
    if given.contains("://") {
        return Ok(given.to_string());
    }
    let folder = std::fs::canonicalize(given).map_err(|source| LocationError { given: given.to_string(), source })?;
    Ok(folder.display().to_string())
}

#[derive(Deserialize)]
struct SearchQuery {
    /// Part of a preset name (case-insensitive); empty: every preset.
    #[serde(default)]
    q: String,
    /// Fetch the library's indexes again first (presets published since the server started).
    #[serde(default)]
    refresh: bool,
}

/// `GET /library/presets?q=TEXT[&refresh=true]`: the presets whose name contains TEXT, each
/// with the instrument setting that loads it.
async fn search(State(s): State<AppState>, Query(query): Query<SearchQuery>) -> Result<Json<Value>, ApiError> {
    let browsed = s.library.clone();
    let found = tokio::task::spawn_blocking(move || {
        if query.refresh {
            browsed.refresh();
        }
        let client = browsed.client()?;
        let presets = client.search(&query.q).map_err(|e| ApiError::new(502, e.to_string()))?;
        Ok::<_, ApiError>(presets_json(&presets, &browsed.location))
    })
    .await
    .map_err(|_| ApiError::new(500, "the search task failed"))??;
    Ok(Json(found))
}

/// The answer to a search: at most [`MOST_RESULTS`] presets.
fn presets_json(presets: &[RemotePreset], library: &str) -> Value {
    let listed: Vec<Value> = presets
        .iter()
        .take(MOST_RESULTS)
        .map(|p| {
            let name = format!("{}/{}", p.library, p.name);
            let mut entry = json!({
                "preset": name, "library": p.library, "name": p.name, "instrument": preset_setting(&name, library),
            });
            if let IndexEntry::Preset { category, tags, zone_count, key_range, .. } = &p.entry {
                entry["category"] = json!(category);
                entry["tags"] = json!(tags);
                entry["zones"] = json!(zone_count);
                entry["keys"] = json!(key_range.as_ref().map(|k| [k.low, k.high]));
            }
            entry
        })
        .collect();
    json!({ "library": library, "presets": listed, "more": presets.len().saturating_sub(MOST_RESULTS) })
}

/// Fetches `preset` of `library` into the cache, announcing each step to WebSocket clients as a
/// `download` event (for `node`, the sampler it is for), so that a slow first load shows its
/// progress. A fetch that fails says nothing here: the load that follows reports the error with
/// the field it belongs to.
pub fn fetch_announced(
    browsed: &Browsed,
    preset: &str,
    library: &str,
    node: &str,
    events: &tokio::sync::broadcast::Sender<String>,
) {
    let client = match browsed.client_for(library) {
        Ok(client) => client,
        Err(e) => return tracing::debug!("{}", e.message),
    };
    let mut announce = |p: &noderack_presets::library::FetchProgress| {
        let event = json!({
            "type": "download", "node": node, "preset": preset,
            "samples_done": p.samples_done, "samples": p.samples, "bytes": p.bytes,
        });
        // No WebSocket client listening is no error.
        let _ = events.send(event.to_string());
    };
    if let Err(e) = client.fetch_observed(preset, &mut announce) {
        tracing::debug!("{preset}: {e}");
    }
}
