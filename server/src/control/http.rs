//! The HTTP and WebSocket front end of `noderack serve` (axum, on tokio threads; never on the
//! audio thread). Every handler turns its request into a [`Request`] for the control thread and
//! answers with its reply.

use std::net::SocketAddr;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path, Query, Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use noderack_presets::{Patch, PatchEdit, PatchStore, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, oneshot};

use super::api::{self, ApiError, ConnectionBody, EditBatch, MidiBody, NodeBody, TransportBody};
use super::bundles::{self, BundleStore};
use super::session::{Reply, Request};
use crate::factory::Factory;

/// Largest request body: a patch with thousands of nodes fits in a few hundred kilobytes.
pub const MAX_BODY_BYTES: usize = 4 << 20;
/// Largest WebSocket message.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The control thread.
    pub requests: SyncSender<Request>,
    /// Change notifications and meters, as JSON text.
    pub events: broadcast::Sender<String>,
    /// The token clients must present, if any.
    pub token: Option<Arc<str>>,
    /// Named patches saved on the server.
    pub store: Arc<PatchStore>,
    /// Published and installed bundles.
    pub bundles: Arc<BundleStore>,
    /// The preset library clients browse (`--library`).
    pub library: Arc<super::library::Browsed>,
    /// The node kinds patches may use (to check a patch before storing it).
    pub factory: &'static Factory,
}

/// The API served over HTTP on a tokio runtime of its own (two worker threads, never the audio
/// thread), until [`HttpServer::stop`] or drop.
pub struct HttpServer {
    runtime: Option<tokio::runtime::Runtime>,
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl HttpServer {
    /// Listens on `bind` (port 0: any free port) and serves the API of `state`.
    pub fn start(bind: SocketAddr, state: AppState) -> std::io::Result<HttpServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("noderack-http")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(bind))?;
        let address = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let served = runtime.spawn(async move {
            axum::serve(listener, router(state))
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(HttpServer { runtime: Some(runtime), address, shutdown: Some(shutdown), served: Some(served) })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Runs `future` on the server's runtime until it ends (the server serves meanwhile).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.as_ref().expect("the runtime lives until drop").block_on(future)
    }

    /// Stops listening, lets requests under way finish, and says how serving ended.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.shutdown_now()
    }

    fn shutdown_now(&mut self) -> std::io::Result<()> {
        let Some(runtime) = self.runtime.take() else { return Ok(()) };
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let result = match self.served.take() {
            Some(served) => match runtime
                .block_on(async { tokio::time::timeout(std::time::Duration::from_secs(5), served).await })
            {
                Ok(Ok(result)) => result,
                Ok(Err(e)) => Err(std::io::Error::other(e)),
                // A WebSocket client still connected: it is dropped with the runtime.
                Err(_) => Ok(()),
            },
            None => Ok(()),
        };
        runtime.shutdown_background();
        result
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown_now() {
            tracing::warn!("the control server stopped: {e}");
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.to_json())).into_response()
    }
}

/// The router of the v1 API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/graph", get(graph).put(load))
        .route("/api/v1/edits", post(edits))
        .route("/api/v1/nodes", post(add_node))
        .route("/api/v1/nodes/{id}", axum::routing::delete(remove_node))
        .route("/api/v1/nodes/{id}/params", axum::routing::patch(set_params))
        .route("/api/v1/nodes/{id}/instrument", axum::routing::put(load_instrument))
        .route("/api/v1/connections", post(connect).delete(disconnect))
        .route("/api/v1/undo", post(undo))
        .route("/api/v1/redo", post(redo))
        .route("/api/v1/transport", post(transport))
        .route("/api/v1/midi", post(midi))
        .route("/api/v1/node-kinds", get(node_kinds))
        .route("/api/v1/patches", get(list_patches))
        .route("/api/v1/patches/{name}", get(read_patch).put(save_patch).delete(delete_patch))
        .route("/api/v1/patches/{name}/load", post(load_patch))
        .route("/api/v1/ws", get(websocket))
        .layer(middleware::from_fn_with_state(MAX_BODY_BYTES, refuse_larger_than))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(bundles::router(state.clone()))
        .merge(super::library::router())
        .fallback(|| async { ApiError::new(404, "no such endpoint (the API lives under /api/v1)") })
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Refuses requests without the token, when one is set: `Authorization: Bearer TOKEN`, or
/// `?token=TOKEN` (browsers cannot set headers on a WebSocket).
async fn authorize(State(state): State<AppState>, request: HttpRequest, next: Next) -> Response {
    if let Some(token) = &state.token {
        let header = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let query = Query::<TokenQuery>::try_from_uri(request.uri()).ok().and_then(|q| q.0.token);
        let given = header.map(str::to_string).or(query);
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            return ApiError::new(401, "a valid token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)")
                .into_response();
        }
    }
    next.run(request).await
}

/// Refuses a body announced larger than the limit before reading any of it (a client that
/// asked `Expect: 100-continue` never sends it); bodies of unannounced length are cut at the
/// limit as they are read.
pub async fn refuse_larger_than(State(limit): State<usize>, request: HttpRequest, next: Next) -> Response {
    let length =
        request.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > limit as u64) {
        return ApiError::new(413, format!("the body is larger than {} MiB", limit >> 20)).into_response();
    }
    next.run(request).await
}

/// Compares without stopping at the first difference (no timing hint about the token).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The session a request comes from (`X-Noderack-Session: NAME` or `?session=NAME`), if it
/// names one: its changes go to that session's undo history. Names have 1–64 letters, digits,
/// `_`, `-`, `.` or `:`.
pub struct Caller(pub Option<String>);

#[derive(Deserialize)]
struct SessionQuery {
    session: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get("x-noderack-session")
            .map(|v| v.to_str().map(str::to_string).map_err(|_| ApiError::new(400, "X-Noderack-Session: not text")));
        let query = Query::<SessionQuery>::try_from_uri(&parts.uri).ok().and_then(|q| q.0.session);
        let name = match header {
            Some(name) => Some(name?),
            None => query,
        };
        if let Some(name) = &name {
            let valid = (1..=64).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
            if !valid {
                return Err(ApiError::new(
                    400,
                    "session: a session name has 1 to 64 letters, digits, '_', '-', '.' or ':'",
                ));
            }
        }
        Ok(Caller(name))
    }
}

impl Caller {
    /// `request` as made by this session (or by the default session).
    pub fn wrap(&self, request: Request) -> Request {
        match &self.0 {
            Some(name) => Request::As(name.clone(), Box::new(request)),
            None => request,
        }
    }
}

/// [`ask`] on behalf of `caller`.
pub async fn ask_as(
    state: &AppState,
    caller: &Caller,
    make: impl FnOnce(Reply) -> Request,
) -> Result<Json<Value>, ApiError> {
    ask(state, |r| caller.wrap(make(r))).await
}

/// Sends `make(reply)` to the control thread and waits for its answer.
pub async fn ask(state: &AppState, make: impl FnOnce(Reply) -> Request) -> Result<Json<Value>, ApiError> {
    let (reply, answer) = oneshot::channel();
    state.requests.try_send(make(reply)).map_err(|_| ApiError::new(503, "the server is busy or stopping"))?;
    answer.await.map_err(|_| ApiError::new(503, "the server is stopping"))?.map(Json)
}

async fn status(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    ask_as(&s, &caller, Request::Status).await
}

async fn graph(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    ask(&s, Request::Graph).await
}

async fn load(State(s): State<AppState>, caller: Caller, body: Bytes) -> Result<Json<Value>, ApiError> {
    let text = String::from_utf8(body.to_vec()).map_err(|_| ApiError::new(400, "the patch is not UTF-8 text"))?;
    ask_as(&s, &caller, |r| Request::Load(text, None, r)).await
}

async fn edits(State(s): State<AppState>, caller: Caller, body: Bytes) -> Result<Json<Value>, ApiError> {
    let batch: EditBatch = api::parse(&body)?;
    ask_as(&s, &caller, |r| batch_request(batch, r)).await
}

/// The control-thread request for an edit batch: its own undo step, or one continuing the
/// caller's last.
fn batch_request(batch: EditBatch, reply: Reply) -> Request {
    if batch.continues {
        Request::Continue(batch.edits, reply)
    } else {
        Request::Edit(batch.edits, reply)
    }
}

async fn add_node(State(s): State<AppState>, caller: Caller, body: Bytes) -> Result<Json<Value>, ApiError> {
    let NodeBody { id, kind, config, params, position } = api::parse(&body)?;
    ask_as(&s, &caller, |r| Request::Edit(vec![PatchEdit::Add { id, kind, config, params, position }], r)).await
}

async fn remove_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ask_as(&s, &caller, |r| Request::Edit(vec![PatchEdit::Remove { id }], r)).await
}

async fn set_params(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params: std::collections::BTreeMap<String, noderack_presets::ParamValue> = api::parse(&body)?;
    let edits = params.into_iter().map(|(param, value)| PatchEdit::Set { id: id.clone(), param, value }).collect();
    ask_as(&s, &caller, |r| Request::Edit(edits, r)).await
}

#[derive(Deserialize)]
struct InstrumentQuery {
    /// The load goes on with the caller's last change (a browser trying presets in place: one
    /// undo step brings the instrument back that was there before).
    #[serde(default)]
    continues: bool,
}

/// `PUT /nodes/{id}/instrument`: loads the instrument the body names (an `instrument` setting:
/// SFZ, SF2 or library preset; relative paths from the patch's folder) off the control thread,
/// then gives it to the running sampler: notes already sounding finish on the old one. A library
/// preset's download is announced on the WebSocket as it goes (`download` events).
async fn load_instrument(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<InstrumentQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let setting: noderack_presets::ConfigValue = api::parse(&body)?;
    let Json(snapshot) = ask(&s, Request::Snapshot).await?;
    let folder = std::path::PathBuf::from(snapshot["folder"].as_str().unwrap_or_default());
    let value = setting.clone();
    let (events, node, browsed) = (s.events.clone(), id.clone(), s.library.clone());
    let (bank, warnings) = tokio::task::spawn_blocking(move || {
        use noderack_presets::instrument_ref::InstrumentRef;
        let mut context = noderack_presets::LoadContext::new(&folder);
        if let Ok(InstrumentRef::Preset { name, library }) = InstrumentRef::from_config(&value, &context) {
            super::library::fetch_announced(&browsed, &name, &library, &node, &events);
        }
        let kind = noderack_nodes::Sampler::KIND;
        let bank = InstrumentRef::load_setting(kind, "instrument", &value, &mut context)
            .map_err(|e| ApiError::new(422, e.to_string()))?;
        Ok::<_, ApiError>((Arc::new(bank), context.warnings))
    })
    .await
    .map_err(|_| ApiError::new(500, "the loading task failed"))??;
    let Json(mut reply) = ask_as(&s, &caller, |r| Request::Instrument(id, setting, bank, query.continues, r)).await?;
    reply["warnings"] = json!(warnings);
    Ok(Json(reply))
}

async fn connect(State(s): State<AppState>, caller: Caller, body: Bytes) -> Result<Json<Value>, ApiError> {
    let ConnectionBody { from, to } = api::parse(&body)?;
    ask_as(&s, &caller, |r| Request::Edit(vec![PatchEdit::Connect { from, to }], r)).await
}

async fn disconnect(
    State(s): State<AppState>,
    caller: Caller,
    Query(c): Query<ConnectionBody>,
) -> Result<Json<Value>, ApiError> {
    ask_as(&s, &caller, |r| Request::Edit(vec![PatchEdit::Disconnect { from: c.from, to: c.to }], r)).await
}

async fn undo(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    ask_as(&s, &caller, Request::Undo).await
}

async fn redo(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    ask_as(&s, &caller, Request::Redo).await
}

async fn transport(State(s): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let change = api::parse::<TransportBody>(&body)?.change()?;
    ask(&s, |r| Request::Transport(change, r)).await
}

async fn midi(State(s): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let MidiBody { node, events } = api::parse(&body)?;
    let events = events
        .iter()
        .enumerate()
        .map(|(i, e)| e.to_event().map_err(|m| ApiError::new(422, format!("events[{i}]: {m}"))))
        .collect::<Result<Vec<_>, _>>()?;
    ask(&s, |r| Request::Midi(node, events, r)).await
}

/// A store error as an API error.
fn stored(e: StoreError) -> ApiError {
    match e {
        StoreError::BadName { .. } => ApiError::new(422, e.to_string()),
        StoreError::NotFound(_) => ApiError::new(404, e.to_string()),
        StoreError::Io { .. } => {
            tracing::error!("{e}");
            ApiError::new(500, format!("the patch store failed: {e}"))
        }
    }
}

/// Runs a store operation off the async threads (it touches the disk).
async fn in_store<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&PatchStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || op(&store))
        .await
        .map_err(|_| ApiError::new(500, "the store task failed"))?
        .map_err(stored)
}

async fn list_patches(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let patches = in_store(&s, |store| store.list()).await?;
    let since = |t: Option<std::time::SystemTime>| {
        t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs())
    };
    let list: Vec<Value> = patches
        .iter()
        .map(|p| json!({ "name": p.name, "bytes": p.bytes, "modified_unix": since(p.modified) }))
        .collect();
    Ok(Json(json!({ "patches": list })))
}

async fn read_patch(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let text = in_store(&s, move |store| store.read(&name)).await?;
    serde_json::from_str(&text).map(Json).map_err(|e| ApiError::new(500, format!("the stored patch is not JSON: {e}")))
}

/// Saves the body (a patch, checked first), or the graph that plays when the body is empty.
async fn save_patch(State(s): State<AppState>, Path(name): Path<String>, body: Bytes) -> Result<Json<Value>, ApiError> {
    noderack_presets::patch_store::check_name(&name).map_err(stored)?;
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        let Json(graph) = ask(&s, Request::Graph).await?;
        serde_json::to_string_pretty(&graph["graph"]).expect("JSON values serialize") + "\n"
    } else {
        let text = String::from_utf8(body.to_vec()).map_err(|_| ApiError::new(400, "the patch is not UTF-8 text"))?;
        let check = text.clone();
        let factory = s.factory;
        tokio::task::spawn_blocking(move || Patch::parse(&check, "(request)", factory).map(|_| ()))
            .await
            .map_err(|_| ApiError::new(500, "the check failed"))?
            .map_err(|e| ApiError::new(422, e.to_string()))?;
        text
    };
    let bytes = text.len();
    let saved = name.clone();
    in_store(&s, move |store| store.save(&saved, &text)).await?;
    Ok(Json(json!({ "saved": name, "bytes": bytes })))
}

async fn delete_patch(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let deleted = name.clone();
    in_store(&s, move |store| store.delete(&deleted)).await?;
    Ok(Json(json!({ "deleted": name })))
}

/// Loads a stored patch into the engine, as one batch.
async fn load_patch(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let text = in_store(&s, move |store| store.read(&name)).await?;
    ask_as(&s, &caller, |r| Request::Load(text, None, r)).await
}

async fn node_kinds() -> Json<Value> {
    Json(api::node_kinds())
}

/// Numbers WebSocket connections, each its own session unless it names one.
static CONNECTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn websocket(State(s): State<AppState>, caller: Caller, upgrade: WebSocketUpgrade) -> Response {
    let caller = match caller.0 {
        Some(name) => Caller(Some(name)),
        None => {
            let n = CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Caller(Some(format!("ws-{n}")))
        }
    };
    upgrade.max_message_size(MAX_MESSAGE_BYTES).on_upgrade(move |socket| serve_socket(socket, s, caller))
}

/// A command sent over the WebSocket; `id` comes back in the reply.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum SocketCommand {
    Edits {
        id: Option<Value>,
        edits: Vec<PatchEdit>,
        #[serde(default)]
        continues: bool,
    },
    Undo {
        id: Option<Value>,
    },
    Redo {
        id: Option<Value>,
    },
    Status {
        id: Option<Value>,
    },
    Graph {
        id: Option<Value>,
    },
}

/// One WebSocket client: a `hello` with the revision and the graph, then every notification
/// (changes, meters) and the replies to its commands.
async fn serve_socket(mut socket: WebSocket, state: AppState, caller: Caller) {
    let mut events = state.events.subscribe();
    let hello = match ask(&state, Request::Graph).await {
        Ok(Json(graph)) => json!({
            "type": "hello",
            "revision": graph["revision"],
            "graph": graph["graph"],
            "ports": graph["ports"],
            "session": caller.0,
        }),
        Err(e) => json!({ "type": "error", "message": e.message }),
    };
    if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let gap = json!({ "type": "gap", "missed": missed }).to_string();
                    if socket.send(Message::Text(gap.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    let reply = command(&state, &caller, text.as_bytes()).await;
                    if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let e = ApiError::new(400, "commands are JSON text messages");
                    let _ = socket.send(Message::Text(json!({ "type": "error", "error": e.to_json()["error"] }).to_string().into())).await;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
        }
    }
}

/// Runs one WebSocket command; the reply (`ack` with the result, or `error`), with its `id`.
async fn command(state: &AppState, caller: &Caller, text: &[u8]) -> Value {
    let command: SocketCommand = match api::parse(text) {
        Ok(command) => command,
        Err(e) => return json!({ "type": "error", "error": e.to_json()["error"] }),
    };
    let (id, result) = match command {
        SocketCommand::Edits { id, edits, continues } => {
            (id, ask_as(state, caller, |r| batch_request(EditBatch { edits, continues }, r)).await)
        }
        SocketCommand::Undo { id } => (id, ask_as(state, caller, Request::Undo).await),
        SocketCommand::Redo { id } => (id, ask_as(state, caller, Request::Redo).await),
        SocketCommand::Status { id } => (id, ask_as(state, caller, Request::Status).await),
        SocketCommand::Graph { id } => (id, ask(state, Request::Graph).await),
    };
    match result {
        Ok(Json(result)) => json!({ "type": "ack", "id": id, "result": result }),
        Err(e) => json!({ "type": "error", "id": id, "error": e.to_json()["error"] }),
    }
}
