//! The editor's only way to the engine: the control API of a `noderack serve` — one it
//! started itself (the embedded engine, [`EmbeddedServer`]) or one running elsewhere
//! (`--connect`). Requests run on a small runtime of the client's own, so any executor (the
//! UI's, a test's) can await them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use serde_json::Value;

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ClientError {
    /// The server could not be reached.
    #[error("the server at {url} cannot be reached: {reason}")]
    Unreachable {
        /// Its API address.
        url: String,
        /// Why.
        reason: String,
    },
    /// A file on this side could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The server refused the request, saying why.
    #[error("the server refused it ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's reason.
        message: String,
    },
}

/// A request's body.
enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>),
}

/// `name` as one segment of a request path (`set one` → `set%20one`).
pub fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the server's WebSocket says, as the editor needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// Connected (again): the graph is at `revision`.
    Connected {
        /// The graph's revision.
        revision: u64,
    },
    /// The graph changed.
    Changed {
        /// Its revision now.
        revision: u64,
        /// The session that changed it.
        session: String,
    },
    /// The engine's status (`GET /status`'s body), about 30 times a second.
    Meters(Value),
    /// A library preset's download moved on (the server's `download` event).
    Download(Value),
    /// A MIDI control change arrived in the graph (the server's `midi_cc` event).
    MidiCc(Value),
    /// The connection is lost (or could not be made); the client tries again every second.
    Lost(String),
}

/// How a WebSocket connection ended.
enum Ended {
    /// Nobody reads the events any more.
    ReceiverGone,
    /// The connection was lost (`connected`: after it was made) or could not be made.
    Lost { connected: bool, reason: String },
}

/// How long the event stream waits before connecting again.
const RECONNECT: std::time::Duration = std::time::Duration::from_secs(1);

/// A control-API client. Its requests carry a session name of its own, so undo and redo act
/// on this editor's changes only.
pub struct Client {
    api: String,
    token: Option<String>,
    session: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// A client of the server at `url` (`http://host:port`, with or without `/api/v1`).
    pub fn new(url: &str, token: Option<String>) -> Arc<Client> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = url.trim_end_matches('/');
        let api = if url.ends_with("/api/v1") { url.to_string() } else { format!("{url}/api/v1") };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("noderack-editor client")
            .build()
            .expect("a one-thread runtime starts");
        static CLIENTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("editor-{}-{n}", std::process::id());
        Arc::new(Client { api, token, session, http: reqwest::Client::new(), runtime })
    }

    /// The session its changes are recorded in (`X-Noderack-Session`).
    pub fn session(&self) -> &str {
        &self.session
    }

    /// The API's address.
    pub fn api(&self) -> &str {
        &self.api
    }

    /// `method path` with `body`, its JSON reply.
    pub async fn call(
        self: Arc<Self>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let body = body.map_or(Body::None, Body::Json);
        let bytes = self.exchange(method, path, body).await?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned())))
    }

    /// `method path` with `body` as bytes (a bundle file), the reply's bytes.
    pub async fn bytes(
        self: Arc<Self>,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ClientError> {
        self.exchange(method, path, body.map_or(Body::None, Body::Bytes)).await
    }

    /// One request on the client's runtime: the reply's body when the server took it, else
    /// its reason.
    async fn exchange(
        self: Arc<Self>,
        method: reqwest::Method,
        path: &str,
        body: Body,
    ) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}{path}", self.api);
        let this = self.clone();
        let task = self.runtime.spawn(async move {
            let mut request = this.http.request(method, &url).header("x-noderack-session", &this.session);
            if let Some(token) = &this.token {
                request = request.bearer_auth(token);
            }
            request = match body {
                Body::None => request,
                Body::Json(value) => request.header("content-type", "application/json").body(value.to_string()),
                Body::Bytes(bytes) => request.header("content-type", "application/octet-stream").body(bytes),
            };
            let unreachable =
                |e: reqwest::Error| ClientError::Unreachable { url: this.api.clone(), reason: e.to_string() };
            let response = request.send().await.map_err(unreachable)?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await.map_err(unreachable)?.to_vec();
            if (200..300).contains(&status) {
                Ok(bytes)
            } else {
                let text = String::from_utf8_lossy(&bytes);
                let value: Value = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.to_string()));
                let message = value["error"]["message"]
                    .as_str()
                    .or(value["error"].as_str())
                    .map_or_else(|| value.to_string(), str::to_string);
                Err(ClientError::Refused { status, message })
            }
        });
        task.await.unwrap_or_else(|e| Err(ClientError::Unreachable { url: String::new(), reason: e.to_string() }))
    }

    /// The graph, with each node's ports (`GET /graph`).
    pub async fn graph(self: Arc<Self>) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, "/graph", None).await
    }

    /// Applies `edits` as one batch (`POST /edits`); `continues`: as part of this client's last
    /// change (one undo step for a gesture).
    pub async fn edits(self: Arc<Self>, edits: Vec<Value>, continues: bool) -> Result<Value, ClientError> {
        let body = serde_json::json!({ "edits": edits, "continues": continues });
        self.call(reqwest::Method::POST, "/edits", Some(body)).await
    }

    /// Every node kind with its parameters (`GET /node-kinds`).
    pub async fn node_kinds(self: Arc<Self>) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, "/node-kinds", None).await
    }

    /// Undoes this client's last change (`POST /undo`).
    pub async fn undo(self: Arc<Self>) -> Result<Value, ClientError> {
        self.call(reqwest::Method::POST, "/undo", None).await
    }

    /// Redoes this client's last undone change (`POST /redo`).
    pub async fn redo(self: Arc<Self>) -> Result<Value, ClientError> {
        self.call(reqwest::Method::POST, "/redo", None).await
    }

    /// The engine's status (`GET /status`): load, xruns, voices, bus peaks.
    pub async fn status(self: Arc<Self>) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, "/status", None).await
    }

    /// The server's events (`/api/v1/ws` in this client's session), for as long as the stream
    /// is held: a `Connected` on each connection, then changes and meters; a lost connection is
    /// reported once and made again every second until the server is back. Runs on the
    /// client's own runtime, so any executor can read it.
    pub fn events(self: Arc<Self>) -> tokio::sync::mpsc::Receiver<ServerEvent> {
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        let this = self.clone();
        self.runtime.spawn(async move {
            // A loss is reported once, not on every failed attempt to connect again.
            let mut reported = false;
            loop {
                match this.listen(&sender).await {
                    Ended::ReceiverGone => return,
                    Ended::Lost { connected, reason } => {
                        reported &= !connected;
                        if !std::mem::replace(&mut reported, true)
                            && sender.send(ServerEvent::Lost(reason)).await.is_err()
                        {
                            return;
                        }
                    }
                }
                if sender.is_closed() {
                    return;
                }
                tokio::time::sleep(RECONNECT).await;
            }
        });
        receiver
    }

    /// One WebSocket connection, forwarded to `sender` until it ends.
    async fn listen(&self, sender: &tokio::sync::mpsc::Sender<ServerEvent>) -> Ended {
        use futures_util::StreamExt as _;
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest as _, Message as WsMessage};

        let lost = |connected: bool, reason: String| Ended::Lost { connected, reason };
        let ws = format!("{}/ws?session={}", self.api.replacen("http", "ws", 1), self.session);
        let mut request = match ws.into_client_request() {
            Ok(request) => request,
            Err(e) => return lost(false, e.to_string()),
        };
        if let Some(token) = &self.token {
            match format!("Bearer {token}").parse() {
                Ok(value) => request.headers_mut().insert("authorization", value),
                Err(_) => return lost(false, "the token is not a valid header".into()),
            };
        }
        let mut socket = match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => socket,
            Err(e) => return lost(false, format!("the server at {} cannot be reached: {e}", self.api)),
        };
        while let Some(message) = socket.next().await {
            let text = match message {
                Ok(WsMessage::Text(text)) => text,
                Ok(WsMessage::Close(_)) => break,
                Ok(_) => continue,
                Err(e) => return lost(true, format!("the connection to {} ended: {e}", self.api)),
            };
            let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
            let revision = value["revision"].as_u64().unwrap_or(0);
            let event = match value["type"].as_str() {
                Some("hello") => ServerEvent::Connected { revision },
                Some("changed") => ServerEvent::Changed {
                    revision,
                    session: value["session"].as_str().unwrap_or_default().to_string(),
                },
                Some("meters") => ServerEvent::Meters(value["status"].clone()),
                Some("download") => ServerEvent::Download(value),
                Some("midi_cc") => ServerEvent::MidiCc(value),
                // After dropped messages the graph may have changed unseen.
                Some("gap") => ServerEvent::Changed { revision: u64::MAX, session: String::new() },
                _ => continue,
            };
            if sender.send(event).await.is_err() {
                return Ended::ReceiverGone;
            }
        }
        lost(true, format!("the server at {} closed the connection", self.api))
    }

    /// Runs `future` to its end on the client's runtime (for a command-line use without a UI).
    pub fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }
}

/// A `noderack serve` the editor started for itself, stopped when dropped.
pub struct EmbeddedServer {
    child: Child,
    url: String,
}

/// Why the embedded engine did not start.
#[derive(Debug, thiserror::Error)]
#[error("the embedded engine did not start ({program}): {reason}")]
pub struct StartError {
    /// The program run.
    pub program: String,
    /// Why.
    pub reason: String,
}

impl EmbeddedServer {
    /// Starts `noderack serve PATCH` on a free loopback port with audio `backend` (`None`: the
    /// server's choice; `null` touches no device), and waits for it to listen.
    pub fn start(program: &Path, patch: &Path, backend: Option<&str>) -> Result<EmbeddedServer, StartError> {
        let backend: Vec<&str> = backend.map(|b| vec!["--backend", b]).unwrap_or_default();
        Self::start_with(program, patch, &backend)
    }

    /// [`EmbeddedServer::start`] with `options` for `serve` (`--backend null`,
    /// `--library DIR`…).
    pub fn start_with(program: &Path, patch: &Path, options: &[&str]) -> Result<EmbeddedServer, StartError> {
        let fail = |reason: String| StartError { program: program.display().to_string(), reason };
        let mut command = Command::new(program);
        command.arg("serve").arg(patch).args(["--bind", "127.0.0.1:0"]).args(options);
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().map_err(|e| fail(e.to_string()))?;
        let stdout = child.stdout.take().ok_or_else(|| fail("no output".into()))?;
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        let read = lines.read_line(&mut first);
        let url = first.trim().strip_prefix("listening on ").map(str::to_string);
        match (read, url) {
            (Ok(_), Some(url)) => {
                // Whatever else it prints is read and dropped, so it never blocks on a full pipe.
                let _ = std::thread::Builder::new()
                    .name("noderack serve output".into())
                    .spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
                Ok(EmbeddedServer { child, url })
            }
            (read, _) => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                let said = if first.trim().is_empty() {
                    "nothing on its output".to_string()
                } else {
                    format!("{:?}", first.trim())
                };
                let read = read.err().map(|e| format!(", {e}")).unwrap_or_default();
                Err(fail(format!("it said {said} and ended ({status}{read}); its errors are above")))
            }
        }
    }

    /// The API address it listens on.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `noderack` program: beside this one (a build or an install puts them together), else
/// on the `PATH`.
pub fn noderack_program() -> PathBuf {
    let name = format!("noderack{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}
