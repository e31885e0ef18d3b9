//! The plugin's editor window: the same `noderack-editor` people run beside `noderack serve`,
//! inside the host's plugin window (X11: the editor moves its window into the one the host
//! gives) or in a window of its own (CLAP's floating GUI), connected to a control server the
//! instance starts on a loopback port with a random token. The editor is a client of the control API,
//! never of engine internals, so it edits the graph that plays in the DAW the way it edits a
//! server's. It runs as a process of its own: a window toolkit inside the host's process
//! would share the host's main thread and event loop, and a crash of either would take the
//! other down.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};

use noderack_presets::library::DEFAULT_LIBRARY_URL;
use noderack_presets::{BundleRegistry, PatchStore};
use noderack_server::control::bundles::BundleStore;
use noderack_server::control::http::{AppState, HttpServer};
use noderack_server::control::library::{self, Browsed};

use crate::control::Control;

/// The editor program's name.
const EDITOR: &str = "noderack-editor";
/// The environment variable that names the editor program, before any other place.
pub const EDITOR_VARIABLE: &str = "NODERACK_EDITOR";

/// Where the plugin's library file is (given by the host when it loads it), to find the editor
/// beside it.
static LIBRARY_PATH: OnceLock<PathBuf> = OnceLock::new();

/// Records where the plugin's library file is.
pub fn set_library_path(path: PathBuf) {
    let _ = LIBRARY_PATH.set(path);
}

/// The places the editor program is looked for, in order: `$NODERACK_EDITOR`, beside the
/// plugin's library file, then the `PATH`.
pub fn editor_candidates() -> Vec<PathBuf> {
    let name = format!("{EDITOR}{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Some(given) = std::env::var_os(EDITOR_VARIABLE).filter(|v| !v.is_empty()) {
        candidates.push(PathBuf::from(given));
    }
    if let Some(folder) = LIBRARY_PATH.get().and_then(|p| p.parent()) {
        candidates.push(folder.join(&name));
    }
    candidates.push(PathBuf::from(name));
    candidates
}

/// Why the editor could not open.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    /// The control server did not start.
    #[error("the editor's control server did not start: {0}")]
    Server(std::io::Error),
    /// No editor program ran.
    #[error("no editor program could be started (tried {0}); install noderack-editor beside noderack.clap or on the PATH, or name it in NODERACK_EDITOR")]
    NoProgram(String),
}

/// An open editor: its control server and, while shown, its window's process.
pub struct Editor {
    server: HttpServer,
    token: String,
    title: String,
    /// The host's X11 window to open inside, when embedded.
    parent: Option<u32>,
    window: Option<Child>,
}

impl Editor {
    /// Starts a control server for `control`'s session on a free loopback port.
    pub fn open(control: &Control) -> Result<Editor, EditorError> {
        let token = random_token()?;
        let store_folder = noderack_server::control::default_store();
        let state = AppState {
            requests: control.requests(),
            events: control.events(),
            token: Some(Arc::from(token.as_str())),
            store: Arc::new(PatchStore::new(&store_folder)),
            bundles: Arc::new(BundleStore {
                registry: BundleRegistry::new(&store_folder.join("registry")),
                installed: store_folder.join("bundles"),
            }),
            library: Arc::new(Browsed::new(
                library::location(DEFAULT_LIBRARY_URL).unwrap_or_else(|_| DEFAULT_LIBRARY_URL.to_string()),
            )),
            factory: crate::factory(),
        };
        let server =
            HttpServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), state).map_err(EditorError::Server)?;
        tracing::info!("the editor's control server listens on http://{}", server.address());
        Ok(Editor { server, token, title: "noderack".into(), parent: None, window: None })
    }

    /// The control server's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.address())
    }

    /// The window title the host suggested.
    pub fn set_title(&mut self, title: &str) {
        self.title = title.to_string();
    }

    /// Opens inside X11 window `parent` (the host's) from the next show on.
    pub fn set_parent(&mut self, parent: u32) {
        self.parent = Some(parent);
    }

    /// Shows the window: starts the editor program unless it runs.
    pub fn show(&mut self) -> Result<(), EditorError> {
        if self.is_shown() {
            return Ok(());
        }
        let mut tried = Vec::new();
        for program in editor_candidates() {
            let mut command = Command::new(&program);
            command.arg("--connect").arg(self.url()).arg("--title").arg(&self.title);
            if let Some(parent) = self.parent {
                command.arg("--parent-window").arg(parent.to_string());
            }
            let started = command.env("NODERACK_TOKEN", &self.token).stdin(Stdio::null()).spawn();
            match started {
                Ok(child) => {
                    self.window = Some(child);
                    return Ok(());
                }
                Err(e) => tried.push(format!("{}: {e}", program.display())),
            }
        }
        Err(EditorError::NoProgram(tried.join("; ")))
    }

    /// Hides the window: the editor program ends (the server stays, for the next show).
    pub fn hide(&mut self) {
        if let Some(mut child) = self.window.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the window is shown (its program runs).
    pub fn is_shown(&mut self) -> bool {
        match self.window.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.window = None;
                false
            }
            None => false,
        }
    }

    /// Whether the person closed the window since the last look (its program ended on its
    /// own): the host is then told.
    pub fn closed_by_user(&mut self) -> bool {
        self.window.is_some() && !self.is_shown()
    }
}

impl Drop for Editor {
    fn drop(&mut self) {
        self.hide();
    }
}

/// 32 random hex digits from the operating system.
fn random_token() -> Result<String, EditorError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| EditorError::Server(std::io::Error::other(format!("no random token: {e}"))))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
