//! The control session: it alone owns the engine (through its [`Stage`]) and the patch that
//! plays. HTTP, WebSocket and OSC handlers send it requests and await its replies; every change
//! gets a revision number and is announced to WebSocket clients, with meters at about 30 Hz.
//! `noderack serve` runs one on its control thread; the CLAP plugin runs one per instance, for
//! its editor.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use noderack_graph::Edit;
use noderack_graph::Parcel;
use noderack_graph::{EngineError, EventData, TransportChange};
use noderack_nodes::sampler::SamplerProgram;
use noderack_nodes::{MidiIn, Sampler};
use noderack_presets::instrument::Bank;
use noderack_presets::patch_diff::DiffError;
use noderack_presets::patch_history::{revert, RevertError};
use noderack_presets::ConfigValue;
use noderack_presets::{LoadContext, ParamValue, Patch, PatchEdit, RunningPatch};
use serde_json::{json, Value};
use tokio::sync::{broadcast, oneshot};

use super::api::ApiError;
use super::cache_size::CacheSize;
use super::stage::Stage;
use crate::factory::Factory;

/// How often the thread wakes up with no request: maintenance, meters.
const TICK: Duration = Duration::from_millis(10);
/// Meters go to WebSocket clients this often (about 30 Hz).
const METER_PERIOD: Duration = Duration::from_millis(33);
/// Undo steps kept per session.
const HISTORY: usize = 1000;
/// Sessions whose history is kept (the least recently active one is forgotten first).
const SESSIONS: usize = 256;
/// The session of requests that name none.
pub const DEFAULT_SESSION: &str = "default";
/// The session that parameter changes made by nodes themselves (hosted plugins) belong to.
pub const PLUGIN_SESSION: &str = "plugin";
/// How long an edit waits for the engine's queues to drain before it is refused as busy.
const BUSY_WAIT: Duration = Duration::from_secs(2);

/// What a reply carries: a JSON body, or an error.
pub type Reply = oneshot::Sender<Result<Value, ApiError>>;

/// A request to the control thread.
pub enum Request {
    /// The engine's status.
    Status(Reply),
    /// The graph as a patch, with its revision.
    Graph(Reply),
    /// Apply a batch of edits, all or nothing.
    Edit(Vec<PatchEdit>, Reply),
    /// Apply a batch that goes on with the caller's last change (a gesture: a knob turned, a
    /// node dragged), so that one undo step covers both. When the caller has undone since, or
    /// has no change yet, it is a step of its own.
    Continue(Vec<PatchEdit>, Reply),
    /// Replace the graph by a patch (its text), as one batch; relative paths in it are read
    /// from the folder given (which becomes the session's), else from the session's folder.
    Load(String, Option<PathBuf>, Reply),
    /// The graph as a patch with the folder its relative paths are read from (for bundling).
    Snapshot(Reply),
    /// Undo the last change.
    Undo(Reply),
    /// Redo the last undone change.
    Redo(Reply),
    /// Change the transport.
    Transport(TransportChange, Reply),
    /// Send events to a `midi-in` node.
    Midi(String, Vec<(EventData, Option<u64>)>, Reply),
    /// Set parameters of a node at an engine frame (sample-accurate), or at once.
    SetAt(String, Vec<(String, ParamValue)>, Option<u64>, Reply),
    /// Give a sampler node another instrument (its setting, and the bank loaded from it) while
    /// it plays: notes already sounding finish on the old one.
    /// Given `true`, the change goes on with the caller's last one, as [`Request::Continue`].
    Instrument(String, ConfigValue, Arc<Bank>, bool, Reply),
    /// The request, made by a session (a client): its changes go to that session's undo
    /// history, and undo and redo act on that history.
    As(String, Box<Request>),
}

impl Request {
    /// Answers the request with `error` without handling it (a plugin whose host stopped its
    /// audio has no engine to handle it with).
    pub fn refuse(self, error: ApiError) {
        let reply = match self {
            Request::As(_, request) => return request.refuse(error),
            Request::Status(reply)
            | Request::Graph(reply)
            | Request::Edit(_, reply)
            | Request::Continue(_, reply)
            | Request::Load(_, _, reply)
            | Request::Snapshot(reply)
            | Request::Undo(reply)
            | Request::Redo(reply)
            | Request::Transport(_, reply)
            | Request::Midi(_, _, reply)
            | Request::SetAt(_, _, _, reply)
            | Request::Instrument(_, _, _, _, reply) => reply,
        };
        let _ = reply.send(Err(error));
    }
}

/// One change: the graph before and after it.
struct Step {
    before: Patch,
    after: Patch,
    /// The graph's revision just after the step was made (or last continued).
    revision: u64,
}

/// A session's own undo and redo steps.
#[derive(Default)]
struct History {
    undo: VecDeque<Step>,
    redo: Vec<Step>,
    /// When it was last used (a request counter), to forget idle sessions first.
    used: u64,
}

/// The control thread's state.
pub struct Session<S> {
    stage: S,
    running: RunningPatch,
    /// The node kinds patches may use.
    factory: &'static Factory,
    /// Folder that relative paths in node settings are read from.
    folder: PathBuf,
    histories: HashMap<String, History>,
    /// The session of the request being handled.
    caller: String,
    /// Requests handled (the clock of [`History::used`]).
    requests: u64,
    revision: u64,
    events: broadcast::Sender<String>,
    /// The library cache's size, for `status`.
    cache: Option<CacheSize>,
    /// When meters are next sent.
    next_meters: Instant,
    /// The count of the last control change announced.
    cc_seen: Option<u32>,
}

impl<S: Stage> Session<S> {
    /// A session playing `running` on `stage` (whose engine already plays it), reading node
    /// kinds from `factory` and relative paths from `folder`, announcing on `events`.
    pub fn new(
        stage: S,
        running: RunningPatch,
        factory: &'static Factory,
        folder: PathBuf,
        events: broadcast::Sender<String>,
    ) -> Self {
        let cc_seen = stage.engine_ref().status().last_cc().map(|cc| cc.count);
        Self {
            stage,
            running,
            factory,
            folder,
            histories: HashMap::new(),
            caller: DEFAULT_SESSION.to_string(),
            requests: 0,
            revision: 0,
            events,
            cache: None,
            next_meters: Instant::now(),
            cc_seen,
        }
    }

    /// The same session reporting the library cache's size in `status`.
    pub fn with_cache_size(mut self, cache: CacheSize) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Serves `requests` until every sender is gone or the audio stops, then stops the stage.
    pub fn run(mut self, requests: Receiver<Request>) {
        loop {
            match requests.recv_timeout(TICK) {
                Ok(request) => self.handle(request),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.tick().is_err() {
                break;
            }
        }
        self.stage.stop();
    }

    /// What runs between requests, at least every 10 ms: the engine's maintenance (freeing
    /// what the audio thread let go of), parameter changes nodes made themselves, the latest
    /// control change and meters for clients. An error says why the audio stopped.
    pub fn tick(&mut self) -> Result<(), String> {
        self.stage.engine().maintain();
        // Maintenance may have compiled again for a node's new latency.
        let latency = self.stage.engine_ref().plan().latency_frames();
        self.stage.health().set_latency_frames(latency);
        self.follow_own_changes();
        if let Some(scope) = self.stage.scope() {
            scope.drain();
        }
        // The latest control change, for clients doing MIDI learn (one a tick at most).
        let last_cc = self.stage.engine_ref().status().last_cc();
        if let Some(cc) = last_cc.filter(|cc| Some(cc.count) != self.cc_seen) {
            self.cc_seen = Some(cc.count);
            let event = json!({
                "type": "midi_cc", "channel": cc.channel + 1, "controller": cc.controller, "value": cc.value,
            });
            let _ = self.events.send(event.to_string());
        }
        if Instant::now() >= self.next_meters {
            self.next_meters = Instant::now() + METER_PERIOD;
            if self.events.receiver_count() > 0 {
                let _ = self.events.send(json!({ "type": "meters", "status": self.status() }).to_string());
                if let Some(scope) = self.scope_json() {
                    let _ = self.events.send(scope);
                }
            }
        }
        if let Some(reason) = self.stage.health().stopped() {
            tracing::error!("{reason}");
            let _ = self.events.send(json!({ "type": "error", "message": reason }).to_string());
            return Err(reason);
        }
        Ok(())
    }

    /// The patch that plays.
    pub fn running(&self) -> &RunningPatch {
        &self.running
    }

    /// The stage.
    pub fn stage(&self) -> &S {
        &self.stage
    }

    /// The stage, to change (for what is not a graph change: a plugin's macro moving
    /// parameters).
    pub fn stage_mut(&mut self) -> &mut S {
        &mut self.stage
    }

    /// The folder relative paths in node settings are read from.
    pub fn folder(&self) -> &std::path::Path {
        &self.folder
    }

    /// Makes `new` the graph as a change of session `caller`'s (one undo step of its, announced
    /// to clients with `cause`), reading relative paths from `folder` from now on. The plugin's
    /// host loading a state is such a change.
    pub fn replace_as(&mut self, caller: &str, new: Patch, folder: PathBuf, cause: &str) -> Result<Value, ApiError> {
        let previous = std::mem::replace(&mut self.caller, caller.to_string());
        let result = self.change(new, cause, None);
        self.caller = previous;
        if result.is_ok() {
            self.folder = folder;
        }
        result
    }

    /// Handles one request and sends its reply.
    pub fn handle(&mut self, request: Request) {
        self.requests += 1;
        match request {
            Request::As(session, request) => {
                self.caller = session;
                self.handle(*request);
                self.caller = DEFAULT_SESSION.to_string();
            }
            Request::Status(reply) => {
                let _ = reply.send(Ok(self.status()));
            }
            Request::Graph(reply) => {
                let graph = self.running.patch().with_current_settings().to_json();
                let ports = super::api::patch_ports(self.running.patch());
                let slots = super::api::slots_json(self.running.patch());
                let reply_json = json!({ "revision": self.revision, "graph": graph, "ports": ports, "slots": slots });
                let _ = reply.send(Ok(reply_json));
            }
            Request::Edit(edits, reply) => {
                let result = self.edit(&edits, false);
                let _ = reply.send(result);
            }
            Request::Continue(edits, reply) => {
                let result = self.edit(&edits, true);
                let _ = reply.send(result);
            }
            Request::Load(text, folder, reply) => {
                let result = self.load(&text, folder);
                let _ = reply.send(result);
            }
            Request::Instrument(node, setting, bank, continues, reply) => {
                let result = self.instrument(&node, setting, bank, continues);
                let _ = reply.send(result);
            }
            Request::Snapshot(reply) => {
                let folder = self.folder.display().to_string();
                let graph = self.running.patch().with_current_settings().to_json();
                let _ = reply.send(Ok(json!({ "graph": graph, "folder": folder })));
            }
            Request::Undo(reply) => {
                let result = self.step_back();
                let _ = reply.send(result);
            }
            Request::Redo(reply) => {
                let result = self.step_forward();
                let _ = reply.send(result);
            }
            Request::Transport(change, reply) => {
                let result = self.stage.engine().set_transport(change).map(|()| json!({})).map_err(busy);
                let _ = reply.send(result);
            }
            Request::Midi(node, events, reply) => {
                let result = self.midi(&node, events);
                let _ = reply.send(result);
            }
            Request::SetAt(node, params, frame, reply) => {
                let result = self.set_at(&node, params, frame);
                let _ = reply.send(result);
            }
        }
    }

    /// The scope's latest view as a `scope` notification (samples rounded to 1/10000, to keep
    /// the message small).
    fn scope_json(&mut self) -> Option<String> {
        let bus = self.running.patch().buses.first().map(|b| b.name.clone())?;
        let sample_rate = self.stage.sample_rate();
        let view = self.stage.scope()?.snapshot();
        let samples: Vec<f32> = view.iter().map(|x| (x * 10_000.0).round() / 10_000.0).collect();
        Some(json!({ "type": "scope", "bus": bus, "sample_rate": sample_rate, "samples": samples }).to_string())
    }

    fn status(&self) -> Value {
        let r = self.stage.health().report();
        let db = |x: f32| if x > 1e-6 { json!(20.0 * x.log10()) } else { Value::Null };
        let status = self.stage.engine_ref().status();
        json!({
            "revision": self.revision,
            "backend": self.stage.description(),
            "sample_rate": r.sample_rate,
            "block_frames": r.block_frames,
            "latency_frames": self.stage.engine_ref().plan().latency_frames(),
            "frames": r.frames,
            "load": { "average": r.load_average, "peak": r.load_peak },
            "xruns": { "backend": r.backend_xruns, "overruns": r.overruns },
            "voices": r.voices,
            "nodes": self.running.patch().nodes.len(),
            "bus_peaks_db": r.bus_peaks.iter().map(|(bus, peak)| (bus.clone(), db(*peak))).collect::<serde_json::Map<_, _>>(),
            "bus_rms_db": r.bus_rms.iter().map(|(bus, rms)| (bus.clone(), db(*rms))).collect::<serde_json::Map<_, _>>(),
            "dropped": { "events": status.dropped_events(), "messages": status.dropped_messages(), "midi": r.dropped_midi },
            "session": self.caller,
            "undo": self.histories.get(&self.caller).map_or(0, |h| h.undo.len()),
            "redo": self.histories.get(&self.caller).map_or(0, |h| h.redo.len()),
            "sessions": self.histories.len(),
            "library_cache": self.cache.as_ref().map(|c| json!({ "dir": c.dir, "bytes": c.bytes() })),
        })
    }

    /// Applies `edits`; `continues`: as part of the caller's last change.
    fn edit(&mut self, edits: &[PatchEdit], continues: bool) -> Result<Value, ApiError> {
        let mut context = LoadContext::new(&self.folder);
        let new = self.running.patch().edited(edits, self.factory, &mut context).map_err(|e| ApiError {
            status: 422,
            message: e.to_string(),
            edit: Some(e.index),
        })?;
        self.change_with(new, "edit", Some(json!(edits_json(edits))), continues)
    }

    fn load(&mut self, text: &str, folder: Option<PathBuf>) -> Result<Value, ApiError> {
        let folder = folder.unwrap_or_else(|| self.folder.clone());
        let file = folder.join("(request)").display().to_string();
        let new = Patch::parse(text, &file, self.factory).map_err(|e| ApiError::new(422, e.to_string()))?;
        let reply = self.change(new, "load", None)?;
        self.folder = folder;
        Ok(reply)
    }

    fn step_back(&mut self) -> Result<Value, ApiError> {
        self.step(false)
    }

    fn step_forward(&mut self) -> Result<Value, ApiError> {
        self.step(true)
    }

    /// The caller's history (made when first needed; the least recently used is forgotten
    /// when too many sessions have one).
    fn history(&mut self) -> &mut History {
        if !self.histories.contains_key(&self.caller) && self.histories.len() >= SESSIONS {
            let idle = self.histories.iter().min_by_key(|(_, h)| h.used).map(|(name, _)| name.clone());
            if let Some(idle) = idle {
                self.histories.remove(&idle);
            }
        }
        let now = self.requests;
        let history = self.histories.entry(self.caller.clone()).or_default();
        history.used = now;
        history
    }

    /// Undoes (or, `forward`, redoes) the caller's last change (see
    /// [`noderack_presets::patch_history`]: exact when nothing changed since, selective when
    /// others edited meanwhile, refused on a conflict).
    fn step(&mut self, forward: bool) -> Result<Value, ApiError> {
        let cause = if forward { "redo" } else { "undo" };
        let caller = self.caller.clone();
        let history = self.history();
        let step = if forward { history.redo.pop() } else { history.undo.pop_back() };
        let step = step.ok_or_else(|| ApiError::new(409, format!("nothing to {cause} in session \"{caller}\"")))?;
        let (before, after) = if forward { (&step.after, &step.before) } else { (&step.before, &step.after) };
        let mut context = LoadContext::new(&self.folder);
        let reverted = revert(self.running.patch(), before, after, self.factory, &mut context).map_err(|e| match e {
            RevertError::Conflict(_) => ApiError::new(409, format!("{cause}: {e}")),
            RevertError::Refused(_) => ApiError::new(422, format!("{cause}: {e}")),
        });
        let result = reverted.and_then(|new| self.apply(new));
        let history = self.history();
        match result {
            Ok(summary) => {
                if forward {
                    history.undo.push_back(step);
                } else {
                    history.redo.push(step);
                }
                Ok(self.announce(cause, summary, None))
            }
            Err(e) => {
                if forward {
                    history.redo.push(step);
                } else {
                    history.undo.push_back(step);
                }
                Err(e)
            }
        }
    }

    /// Records a change of the caller's in its history (called before it is announced);
    /// `continues`: as the end of the caller's last step, when nothing changed the graph since
    /// that step (nobody else's edit is folded into it) and nothing was undone.
    fn record(&mut self, before: Patch, continues: bool) {
        let after = self.running.patch().clone();
        let (now, revision) = (self.revision, self.revision + 1);
        let history = self.history();
        if continues && history.redo.is_empty() {
            if let Some(last) = history.undo.back_mut().filter(|last| last.revision == now) {
                last.after = after;
                last.revision = revision;
                return;
            }
        }
        history.undo.push_back(Step { before, after, revision });
        if history.undo.len() > HISTORY {
            history.undo.pop_front();
        }
        history.redo.clear();
    }

    /// Makes `new` the graph (one engine batch), records the undo step and announces it.
    fn change(&mut self, new: Patch, cause: &str, edits: Option<Value>) -> Result<Value, ApiError> {
        self.change_with(new, cause, edits, false)
    }

    /// [`Session::change`], as part of the caller's last change when `continues`.
    fn change_with(
        &mut self,
        new: Patch,
        cause: &str,
        edits: Option<Value>,
        continues: bool,
    ) -> Result<Value, ApiError> {
        let previous = self.running.patch().clone();
        let summary = self.apply(new)?;
        self.record(previous, continues);
        Ok(self.announce(cause, summary, edits))
    }

    /// Turns the engine's graph into `new`, waiting out full queues.
    fn apply(&mut self, new: Patch) -> Result<String, ApiError> {
        let change = self.running.diff(&new).map_err(|e: DiffError| ApiError::new(422, e.to_string()))?;
        let summary = change.summary.to_string();
        let deadline = Instant::now() + BUSY_WAIT;
        loop {
            match self.stage.engine().apply(change.edits.clone()) {
                Ok(_) => break,
                Err(EngineError::QueueFull(_) | EngineError::TooManyPlansInFlight) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(busy(e)),
            }
        }
        self.running.commit(new, change);
        let latency = self.stage.engine_ref().plan().latency_frames();
        self.stage.health().set_latency_frames(latency);
        self.stage.follow(&self.running);
        Ok(summary)
    }

    /// Moves to the next revision and tells WebSocket clients; the reply to the caller.
    fn announce(&mut self, cause: &str, summary: String, edits: Option<Value>) -> Value {
        self.revision += 1;
        let mut note = json!({
            "type": "changed",
            "revision": self.revision,
            "cause": cause,
            "summary": summary,
            "session": self.caller,
        });
        if let Some(edits) = edits {
            note["edits"] = edits;
        }
        let _ = self.events.send(note.to_string());
        json!({ "revision": self.revision, "summary": summary })
    }

    /// Parameter changes at `frame`: the graph records the new values now (and an undo step);
    /// the engine ramps to them from that frame on.
    fn set_at(&mut self, node: &str, params: Vec<(String, ParamValue)>, frame: Option<u64>) -> Result<Value, ApiError> {
        let edits: Vec<PatchEdit> =
            params.into_iter().map(|(param, value)| PatchEdit::Set { id: node.to_string(), param, value }).collect();
        let Some(frame) = frame else { return self.edit(&edits, false) };
        let mut context = LoadContext::new(&self.folder);
        let new = self.running.patch().edited(&edits, self.factory, &mut context).map_err(|e| ApiError {
            status: 422,
            message: e.to_string(),
            edit: Some(e.index),
        })?;
        let change = self.running.diff(&new).map_err(|e| ApiError::new(422, e.to_string()))?;
        for edit in &change.edits {
            if let Edit::SetParam { node, param, value } = *edit {
                self.stage.engine().set_param(node, param, value, Some(frame)).map_err(busy)?;
            }
        }
        let summary = change.summary.to_string();
        let previous = self.running.patch().clone();
        self.running.commit(new, change);
        self.record(previous, false);
        Ok(self.announce("edit", summary, Some(json!(edits_json(&edits)))))
    }

    /// Records the parameter values nodes changed themselves (a hosted plugin's own controls) in
    /// the graph, as one undo step of the `plugin` session, and announces them with the cause
    /// `plugin`. The engine records them without telling the audio thread: the node has them.
    fn follow_own_changes(&mut self) {
        let mut edits = Vec::new();
        for node in &self.running.patch().nodes {
            for (param, value) in node.description.take_own_param_changes() {
                if let Some(spec) = node.description.params().get(param.0 as usize) {
                    let (id, param) = (node.name.clone(), spec.name.to_string());
                    edits.push(PatchEdit::Set { id, param, value: ParamValue::Number(value) });
                }
            }
        }
        if edits.is_empty() {
            return;
        }
        let mut context = LoadContext::new(&self.folder);
        let recorded = self
            .running
            .patch()
            .edited(&edits, self.factory, &mut context)
            .map_err(|e| e.to_string())
            .and_then(|new| self.running.diff(&new).map(|change| (new, change)).map_err(|e| e.to_string()));
        let (new, change) = match recorded {
            Ok(recorded) => recorded,
            Err(e) => {
                tracing::warn!("a plugin's own parameter change could not be recorded: {e}");
                return;
            }
        };
        for edit in &change.edits {
            if let Edit::SetParam { node, param, value } = *edit {
                if let Err(e) = self.stage.engine().record_param(node, param, value) {
                    tracing::warn!("a plugin's own parameter change could not be recorded: {e}");
                }
            }
        }
        let summary = change.summary.to_string();
        let previous = self.running.patch().clone();
        self.running.commit(new, change);
        let caller = std::mem::replace(&mut self.caller, PLUGIN_SESSION.to_string());
        self.record(previous, false);
        self.announce("plugin", summary, Some(json!(edits_json(&edits))));
        self.caller = caller;
    }

    /// Sends `bank` to the running sampler `node` as a parcel (its voices keep playing the old
    /// instrument to their end) and records the new setting in the graph, as one undo step.
    fn instrument(
        &mut self,
        node: &str,
        setting: ConfigValue,
        bank: Arc<Bank>,
        continues: bool,
    ) -> Result<Value, ApiError> {
        let Some(id) = self.running.id_of(node) else {
            return Err(ApiError::new(404, format!("no node has id \"{node}\"")));
        };
        let mut new = self.running.patch().clone();
        let patch_node = new.nodes.iter_mut().find(|n| n.name == node).expect("id_of found it");
        if patch_node.description.kind() != Sampler::KIND {
            return Err(ApiError::new(
                422,
                format!("\"{node}\" is a {}, not a sampler", patch_node.description.kind()),
            ));
        }
        patch_node.config.insert("instrument".into(), setting);
        let description = Sampler::from_config(&patch_node.config, Some(bank.clone()))
            .map_err(|e| ApiError::new(422, e.to_string()))?;
        patch_node.description = Arc::new(description);
        let program = SamplerProgram::new(bank, self.stage.sample_rate() as f32);
        self.stage.engine().send_parcel(id, Parcel::new(program)).map_err(busy)?;
        let previous = self.running.patch().clone();
        if !self.running.adopt(new) {
            // Cannot happen: only the node's settings changed. The engine has the instrument;
            // the graph keeps the old setting.
            tracing::error!("{node}: the new instrument plays but the graph could not record it");
            return Err(ApiError::new(500, "the graph could not record the new instrument"));
        }
        self.record(previous, continues);
        Ok(self.announce("instrument", format!("{node}: new instrument"), None))
    }

    fn midi(&mut self, node: &str, events: Vec<(EventData, Option<u64>)>) -> Result<Value, ApiError> {
        let Some(id) = self.running.id_of(node) else {
            return Err(ApiError::new(404, format!("no node has id \"{node}\"")));
        };
        if !self.running.nodes_of_kind(MidiIn::KIND).iter().any(|(n, _)| *n == id) {
            return Err(ApiError::new(422, format!("\"{node}\" is not a midi-in node")));
        }
        for (data, at) in events {
            self.stage.engine().send_event(id, data, at).map_err(busy)?;
        }
        Ok(json!({ "frame": self.stage.health().executor().frames() }))
    }
}

/// An engine error as an API error: full queues are 503 (try again), anything else 422.
fn busy(e: EngineError) -> ApiError {
    match e {
        EngineError::QueueFull(_) | EngineError::TooManyPlansInFlight => {
            ApiError::new(503, format!("the engine is busy: {e}"))
        }
        other => ApiError::new(422, other.to_string()),
    }
}

/// The edits as clients sent them, for WebSocket notifications.
fn edits_json(edits: &[PatchEdit]) -> Vec<Value> {
    edits
        .iter()
        .map(|e| match e {
            PatchEdit::Add { id, kind, config, params, position } => {
                let mut add = json!({ "op": "add", "id": id, "kind": kind, "config": config, "params": params });
                if let Some(position) = position {
                    add["position"] = json!(position);
                }
                add
            }
            PatchEdit::Move { id, position } => json!({ "op": "move", "id": id, "position": position }),
            PatchEdit::Remove { id } => json!({ "op": "remove", "id": id }),
            PatchEdit::Connect { from, to } => json!({ "op": "connect", "from": from, "to": to }),
            PatchEdit::Disconnect { from, to } => json!({ "op": "disconnect", "from": from, "to": to }),
            PatchEdit::Set { id, param, value } => json!({ "op": "set", "id": id, "param": param, "value": value }),
            PatchEdit::Reset { id, param } => json!({ "op": "reset", "id": id, "param": param }),
            PatchEdit::MapCc { cc, channel, param, min, max } => {
                json!({ "op": "map_cc", "cc": cc, "channel": channel, "param": param, "min": min, "max": max })
            }
            PatchEdit::UnmapCc { param } => json!({ "op": "unmap_cc", "param": param }),
        })
        .collect()
}
