//! The plugin's control session. While the plugin is active, the engine and the patch it plays
//! belong to a control [`Session`] — the one `noderack serve` runs — so that the editor edits
//! the graph that plays in the DAW through the same API as a server's. A thread each instance
//! owns hands the editor's requests to it and runs its tick every few milliseconds (the
//! engine's maintenance: freeing what the audio thread let go of, retiring fades), so that no
//! host has to give the plugin main-thread time for the engine to stay healthy. The main thread
//! reaches the same session, through the same lock, for what the host asks (state, macros,
//! latency).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use noderack_graph::Engine;
use noderack_host::live::Health;
use noderack_presets::RunningPatch;
use noderack_server::control::api::ApiError;
use noderack_server::control::session::{Request, Session};
use noderack_server::control::stage::Stage;
use tokio::sync::broadcast;

use crate::macro_table::{MacroTable, TableSender};

/// How often the control thread ticks with no request.
const TICK: Duration = Duration::from_millis(5);
/// Requests the editor can have waiting.
const REQUEST_QUEUE: usize = 256;
/// The session the host's own changes (a state loaded) are recorded in.
pub const HOST_SESSION: &str = "host";

/// The control session of an active plugin.
pub type ControlSession = Session<PluginStage>;

/// What the control session plays on inside the plugin: the engine whose executor the host's
/// audio thread runs.
pub struct PluginStage {
    engine: Engine,
    health: Arc<Health>,
    tables: TableSender,
    sample_rate: u32,
    description: String,
    changed: Arc<AtomicBool>,
}

impl PluginStage {
    /// The stage of `engine`, whose audio thread reports to `health` and takes new macro
    /// mappings from `tables`; `changed` is raised whenever the graph changes.
    pub fn new(
        engine: Engine,
        health: Arc<Health>,
        tables: TableSender,
        sample_rate: u32,
        changed: Arc<AtomicBool>,
    ) -> Self {
        let description = format!("CLAP plugin at {sample_rate} Hz");
        Self { engine, health, tables, sample_rate, description, changed }
    }
}

impl Stage for PluginStage {
    fn engine(&mut self) -> &mut Engine {
        &mut self.engine
    }

    fn engine_ref(&self) -> &Engine {
        &self.engine
    }

    fn health(&self) -> &Health {
        &self.health
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// A new graph maps the macros to new engine slots: the audio thread gets the new mapping.
    fn follow(&mut self, running: &RunningPatch) {
        let table = macro_table(&self.engine, running);
        if !self.tables.send(Box::new(table)) {
            tracing::warn!("the audio thread took no macro mapping; the new one waits for a restart");
        }
        self.changed.store(true, Ordering::Release);
    }
}

/// The macro mapping of `running` in `engine`.
pub fn macro_table(engine: &Engine, running: &RunningPatch) -> MacroTable {
    let mut table = MacroTable::default();
    for m in &running.patch().macros {
        for target in &m.targets {
            let found = running.id_of(&target.node_name).and_then(|node| engine.param_target(node, target.param).ok());
            match found {
                Some(at) => table.add(m.index, at, target.clone()),
                None => tracing::warn!(
                    "macro {}: {}.{} is not in the engine",
                    m.index + 1,
                    target.node_name,
                    target.param_name
                ),
            }
        }
    }
    table
}

/// What the control thread and the main thread share.
struct Shared {
    /// The session, while the plugin is active.
    session: Mutex<Option<ControlSession>>,
    stop: AtomicBool,
}

impl Shared {
    /// The session, locked, whoever panicked while holding it (a panic cannot leave it
    /// half-edited: edits are validated before anything changes).
    fn lock(&self) -> MutexGuard<'_, Option<ControlSession>> {
        self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The control thread of one instance (for its whole life), and the way to its session.
pub struct Control {
    shared: Arc<Shared>,
    requests: SyncSender<Request>,
    events: broadcast::Sender<String>,
    changed: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Control {
    /// Starts the control thread (with no session: the plugin is not active yet).
    pub fn start() -> Control {
        let shared = Arc::new(Shared { session: Mutex::new(None), stop: AtomicBool::new(false) });
        let (requests, queue) = std::sync::mpsc::sync_channel(REQUEST_QUEUE);
        let (events, _) = broadcast::channel(1024);
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("noderack control".into())
            .spawn(move || serve(&worker, &queue))
            .map_err(|e| tracing::error!("no control thread ({e}): the engine frees nothing until deactivated"))
            .ok();
        Control { shared, requests, events, changed: Arc::new(AtomicBool::new(false)), thread }
    }

    /// The session, locked (`None` while the plugin is inactive).
    pub fn lock(&self) -> MutexGuard<'_, Option<ControlSession>> {
        self.shared.lock()
    }

    /// Where requests for the session go (the editor's HTTP server sends them).
    pub fn requests(&self) -> SyncSender<Request> {
        self.requests.clone()
    }

    /// Where the session announces changes and meters.
    pub fn events(&self) -> broadcast::Sender<String> {
        self.events.clone()
    }

    /// Raised by the stage whenever the graph changes.
    pub fn changed_flag(&self) -> Arc<AtomicBool> {
        self.changed.clone()
    }

    /// Whether the graph changed since the last look (clearing it).
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::AcqRel)
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The control thread: requests to the session (refused while there is none), and its tick.
fn serve(shared: &Shared, queue: &Receiver<Request>) {
    while !shared.stop.load(Ordering::Acquire) {
        let request = match queue.recv_timeout(TICK) {
            Ok(request) => Some(request),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut session = shared.lock();
        match (request, session.as_mut()) {
            (Some(request), Some(session)) => session.handle(request),
            (Some(request), None) => request.refuse(ApiError::new(
                503,
                "the plugin is not active: its host has stopped its audio (edits wait until it plays again)",
            )),
            (None, _) => {}
        }
        if let Some(session) = session.as_mut() {
            // A plugin's audio never stops on its own: the host deactivates it instead.
            let _ = session.tick();
        }
    }
}
