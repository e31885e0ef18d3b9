//! Bundles and the shared registry over HTTP (`docs/BUNDLES.md`): export the graph that plays
//! as a self-contained bundle, import one (uploaded or by URL) and play it, and host a registry
//! other servers and `noderack patch` publish to, search, fetch from and fork in.
//!
//! Bundle work (hashing, reading samples, writing files) runs on blocking threads, never on
//! the control thread, so editing and metering go on meanwhile.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use noderack_presets::{Bundle, BundleError, BundleRegistry, ContentHash, RegistryError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{self, ApiError};
use super::http::{ask, ask_as, refuse_larger_than, AppState, Caller};
use super::session::Request;
use crate::remote;

/// Largest bundle uploaded (a bundle holds samples).
pub const MAX_BUNDLE_BODY: usize = 512 << 20;
/// Media type of a bundle file.
const BUNDLE_TYPE: &str = "application/x-noderack-bundle";

/// Where the server keeps bundles: its registry and the bundles it installed to play.
pub struct BundleStore {
    /// Published bundles.
    pub registry: BundleRegistry,
    /// Installed bundles, each in a folder named by its id.
    pub installed: PathBuf,
}

/// The bundle routes, with their own body limit.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/bundle", get(export).post(import))
        .route("/api/v1/registry", get(search).post(publish))
        .route("/api/v1/registry/{id}", get(fetch))
        .route("/api/v1/registry/{id}/info", get(info))
        .route("/api/v1/registry/{id}/fork", post(fork))
        .layer(middleware::from_fn_with_state(MAX_BUNDLE_BODY, refuse_larger_than))
        .layer(DefaultBodyLimit::max(MAX_BUNDLE_BODY))
        .with_state(state)
}

fn bundle_error(e: BundleError) -> ApiError {
    match e {
        BundleError::Io { .. } => {
            tracing::error!("{e}");
            ApiError::new(500, format!("the bundle store failed: {e}"))
        }
        other => ApiError::new(422, other.to_string()),
    }
}

fn registry_error(e: RegistryError) -> ApiError {
    match e {
        RegistryError::Bundle(e) => bundle_error(e),
        RegistryError::NotFound(_) => ApiError::new(404, e.to_string()),
        RegistryError::Io { .. } => {
            tracing::error!("{e}");
            ApiError::new(500, format!("the registry failed: {e}"))
        }
    }
}

/// Runs `op` on a blocking thread.
async fn blocking<T: Send + 'static>(op: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(op).await.map_err(|_| ApiError::new(500, "the bundle task failed"))?
}

fn parse_id(id: &str) -> Result<ContentHash, ApiError> {
    ContentHash::parse(id).map_err(|m| ApiError::new(400, format!("id: {m}")))
}

fn bundle_response(id: &ContentHash, bytes: Vec<u8>) -> Response {
    let headers = [
        (header::CONTENT_TYPE, BUNDLE_TYPE.to_string()),
        (header::HeaderName::from_static("x-bundle-id"), id.to_string()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{id}.nrbundle\"")),
    ];
    (headers, Body::from(bytes)).into_response()
}

/// `GET /bundle`: the graph that plays, with every file it reads, as one bundle.
async fn export(State(s): State<AppState>) -> Result<Response, ApiError> {
    let Json(snapshot) = ask(&s, Request::Snapshot).await?;
    let folder = PathBuf::from(snapshot["folder"].as_str().unwrap_or_default());
    let bundle = blocking(move || Bundle::export(&snapshot["graph"], &folder).map_err(bundle_error)).await?;
    let id = bundle.id().clone();
    let bytes = blocking(move || Ok(bundle.to_bytes())).await?;
    Ok(bundle_response(&id, bytes))
}

/// `POST /bundle`'s JSON form: a bundle to download.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportUrl {
    url: String,
}

/// `POST /bundle`: a bundle (the body, or `{"url": …}`) verified, installed and played.
async fn import(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("json"));
    let bundle = if json {
        let ImportUrl { url } = api::parse(&body)?;
        let http = remote::http_client().map_err(|e| ApiError::new(500, e.to_string()))?;
        remote::download(&http, &url).await.map_err(|e| ApiError::new(422, e.to_string()))?.0
    } else {
        blocking(move || Bundle::from_bytes(&body, "the request body").map_err(bundle_error)).await?
    };
    let store = s.bundles.clone();
    let id = bundle.id().clone();
    let (text, folder) = blocking(move || {
        let patch = bundle.install(&store.installed).map_err(bundle_error)?;
        let text =
            std::fs::read_to_string(&patch).map_err(|e| ApiError::new(500, format!("{}: {e}", patch.display())))?;
        Ok((text, patch.parent().map(PathBuf::from).unwrap_or_default()))
    })
    .await?;
    let Json(mut reply) = ask_as(&s, &caller, |r| Request::Load(text, Some(folder), r)).await?;
    reply["id"] = json!(id);
    Ok(Json(reply))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// `GET /registry?q=words`: published bundles, newest first.
async fn search(State(s): State<AppState>, Query(query): Query<SearchQuery>) -> Result<Json<Value>, ApiError> {
    let store = s.bundles.clone();
    let entries = blocking(move || store.registry.list(query.q.as_deref()).map_err(registry_error)).await?;
    Ok(Json(json!({ "bundles": entries })))
}

/// `POST /registry`: publish the bundle in the body (verified first).
async fn publish(State(s): State<AppState>, body: Bytes) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = s.bundles.clone();
    let (entry, new) =
        blocking(move || store.registry.publish(&body, "the request body").map_err(registry_error)).await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "entry": entry, "new": new }))))
}

/// `GET /registry/{id}`: the bundle file.
async fn fetch(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = s.bundles.clone();
    let wanted = id.clone();
    let bytes = blocking(move || store.registry.get(&wanted).map_err(registry_error)).await?;
    Ok(bundle_response(&id, bytes))
}

/// `GET /registry/{id}/info`: what the registry knows of a bundle.
async fn info(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let store = s.bundles.clone();
    let entry = blocking(move || store.registry.info(&id).map_err(registry_error)).await?;
    Ok(Json(json!({ "entry": entry })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ForkBody {
    name: Option<String>,
    patch: Option<Value>,
}

/// `POST /registry/{id}/fork`: publish a fork (new name, optionally a new patch on the same files).
async fn fork(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = parse_id(&id)?;
    let ForkBody { name, patch } =
        if body.iter().all(u8::is_ascii_whitespace) { ForkBody::default() } else { api::parse(&body)? };
    let check_patch = patch.is_some();
    let store: Arc<BundleStore> = s.bundles.clone();
    let factory = s.factory;
    let (entry, new) = blocking(move || {
        store
            .registry
            .fork(&id, name, patch, |child| if check_patch { loads(child, factory) } else { Ok(()) })
            .map_err(registry_error)
    })
    .await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "entry": entry, "new": new }))))
}

/// Whether `bundle`'s patch loads (installed in a scratch folder, as an import would).
fn loads(bundle: &Bundle, factory: &'static crate::factory::Factory) -> Result<(), String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("no scratch folder: {e}"))?;
    let patch = bundle.install(scratch.path()).map_err(|e| e.to_string())?;
    // Errors name the patch, not the scratch folder.
    let scratch_name = patch.display().to_string();
    noderack_presets::Patch::load(&patch, factory)
        .map(|_| ())
        .map_err(|e| e.to_string().replace(&scratch_name, "patch"))
}
