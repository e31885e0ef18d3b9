//! The plugin's control side: the patch it holds and, while the plugin is active, the engine
//! that plays it. Everything here runs on the plugin's main thread, except [`Engine::maintain`],
//! which a worker thread the session owns calls every few milliseconds (freeing what the audio
//! thread hands back, retiring fades) so that no host has to give the plugin main-thread time
//! for the engine to stay healthy. The audio thread only ever runs the executor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use noderack_graph::{new_engine, Engine, Executor};
use noderack_presets::macros::MACRO_COUNT;
use noderack_presets::patch_diff::DiffError;
use noderack_presets::{Patch, RunningPatch};

use crate::macro_table::{link, MacroTable, TableLink, TableSender};
use crate::patches::{parse_in, PlacedPatch};
use crate::ports::{layout, Port, PortMode, MAX_CHANNELS};
use crate::state::{decode, encode, SavedState, StateError};
use crate::Flavor;

/// How often the worker runs the engine's maintenance.
const MAINTAIN_EVERY: Duration = Duration::from_millis(5);

/// Macro values, by index.
pub type MacroValues = [f32; MACRO_COUNT];

/// The patch the plugin holds and the engine playing it (while active).
pub struct Session {
    flavor: Flavor,
    placed: PlacedPatch,
    port_mode: PortMode,
    running: Option<Running>,
}

/// An engine playing the patch.
struct Running {
    engine: Arc<Mutex<Engine>>,
    patch: RunningPatch,
    tables: TableSender,
    _maintainer: Maintainer,
}

/// What the audio thread is given at activation.
pub struct AudioSetup {
    /// The engine's audio half.
    pub executor: Executor,
    /// The macro mapping of the patch.
    pub table: Box<MacroTable>,
    /// Where new mappings arrive.
    pub link: TableLink,
    /// Output ports and the engine channels they carry.
    pub outputs: Vec<Port>,
    /// Channels the engine renders (every bus).
    pub engine_channels: usize,
    /// Input channels the engine reads (every input bus), filled from the input ports in order.
    pub input_channels: usize,
    /// The most frames in one process call.
    pub max_frames: usize,
}

/// What replacing the patch did.
#[derive(Debug, PartialEq, Eq)]
pub enum Replaced {
    /// Applied to the playing engine as one edit (untouched nodes keep sounding), or stored
    /// for the next activation when none plays.
    Applied,
    /// Stored; its buses differ, so it plays after the host restarts the plugin.
    NeedsRestart,
}

impl Session {
    /// A session holding the patch a new instance of `flavor` starts with, and any problem
    /// met finding it.
    pub fn new(flavor: Flavor) -> (Session, Vec<String>) {
        let (placed, problems) = crate::patches::initial(flavor);
        (Session { flavor, placed, port_mode: PortMode::Patch, running: None }, problems)
    }

    /// The patch held.
    pub fn patch(&self) -> &Patch {
        &self.placed.patch
    }

    /// The output layout.
    pub fn port_mode(&self) -> PortMode {
        self.port_mode
    }

    /// Chooses the output layout (takes effect at the next activation).
    pub fn set_port_mode(&mut self, mode: PortMode) {
        self.port_mode = mode;
    }

    /// The output ports.
    pub fn output_ports(&self) -> Vec<Port> {
        layout(&self.placed.patch.buses, self.port_mode)
    }

    /// The input ports: the patch's input buses for the effect, none for the instrument.
    pub fn input_ports(&self) -> Vec<Port> {
        match self.flavor {
            Flavor::Effect => layout(&self.placed.patch.inputs, PortMode::Patch),
            Flavor::Instrument => Vec::new(),
        }
    }

    /// Whether an engine plays.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The patch with each mapped parameter where its macro puts it.
    fn with_macros(patch: &Patch, values: &MacroValues) -> Patch {
        let mut baked = patch.clone();
        for m in &patch.macros {
            for target in &m.targets {
                if let Some(node) = baked.nodes.iter_mut().find(|n| n.name == target.node_name) {
                    node.set_param(target.param, target.value_at(values[m.index]));
                }
            }
        }
        baked
    }

    /// Builds an engine for the patch at `sample_rate` with host blocks of up to `max_frames`,
    /// with parameters where `values` put them.
    pub fn start(&mut self, sample_rate: f64, max_frames: usize, values: &MacroValues) -> Result<AudioSetup, String> {
        self.running = None;
        let patch = Self::with_macros(&self.placed.patch, values);
        let engine_channels: usize = patch.buses.iter().map(|b| b.channels as usize).sum();
        let input_channels: usize = patch.inputs.iter().map(|b| b.channels as usize).sum();
        if engine_channels > MAX_CHANNELS || input_channels > MAX_CHANNELS {
            return Err(format!("the patch's buses have more than {MAX_CHANNELS} channels"));
        }
        let max_frames = max_frames.max(1);
        let (mut engine, executor) = new_engine(patch.engine_config(sample_rate as f32, max_frames));
        engine.apply(patch.edits()).map_err(|e| format!("building the patch: {e}"))?;
        let running_patch = RunningPatch::new(patch);
        let table = Box::new(macro_table(&engine, &running_patch));
        let (tables, link) = link();
        let engine = Arc::new(Mutex::new(engine));
        let maintainer = Maintainer::start(engine.clone());
        self.running = Some(Running { engine, patch: running_patch, tables, _maintainer: maintainer });
        Ok(AudioSetup {
            executor,
            table,
            link,
            outputs: self.output_ports(),
            engine_channels,
            input_channels,
            max_frames,
        })
    }

    /// Stops the engine (after the audio thread let go of the executor).
    pub fn stop(&mut self) {
        self.running = None;
    }

    /// Holds `placed` from now on. While an engine plays, the difference is applied as one
    /// edit; if the engine refuses it, nothing changes and the error says why.
    pub fn replace(&mut self, placed: PlacedPatch, values: &MacroValues) -> Result<Replaced, String> {
        let Some(running) = self.running.as_mut() else {
            self.placed = placed;
            return Ok(Replaced::Applied);
        };
        let new = Self::with_macros(&placed.patch, values);
        match running.patch.diff(&new) {
            Err(DiffError::BusesChanged(_)) => {
                self.placed = placed;
                Ok(Replaced::NeedsRestart)
            }
            Ok(change) => {
                let mut engine = lock(&running.engine);
                engine.apply(change.edits.clone()).map_err(|e| format!("applying the new patch: {e}"))?;
                running.patch.commit(new, change);
                let table = macro_table(&engine, &running.patch);
                drop(engine);
                if !running.tables.send(Box::new(table)) {
                    tracing::warn!("the audio thread took no macro mapping; the new one waits for a restart");
                }
                self.placed = placed;
                Ok(Replaced::Applied)
            }
        }
    }

    /// Moves the parameters macro `index` maps to where `value` puts them, through the
    /// engine (for a host that sets a macro while the plugin is active but not processing).
    pub fn set_macro(&mut self, index: usize, value: f32) {
        let Some(running) = self.running.as_mut() else { return };
        let Some(m) = running.patch.patch().macros.iter().find(|m| m.index == index) else { return };
        let mut engine = lock(&running.engine);
        for target in &m.targets {
            if let Some(node) = running.patch.id_of(&target.node_name) {
                if let Err(e) = engine.set_param(node, target.param, target.value_at(value), None) {
                    tracing::warn!("macro {}: {e}", index + 1);
                }
            }
        }
    }

    /// The engine's latency in frames (0 when none plays).
    pub fn latency_frames(&self) -> u32 {
        self.running.as_ref().map_or(0, |r| lock(&r.engine).plan().latency_frames())
    }

    /// How long the patch sounds on after its input stops: its longest node tail plus its
    /// latency, in frames.
    pub fn tail_frames(&self) -> u32 {
        let Some(running) = self.running.as_ref() else { return 0 };
        let engine = lock(&running.engine);
        let tail = engine.graph().nodes().iter().map(|n| n.description().tail_frames()).max().unwrap_or(0);
        tail.saturating_add(engine.plan().latency_frames())
    }

    /// The plugin state: the patch as it should be saved now, the macro values, the layout.
    pub fn save(&self, values: &MacroValues) -> Vec<u8> {
        encode(&SavedState {
            patch: self.placed.patch.with_current_settings().to_json(),
            folder: self.placed.folder.clone(),
            macros: *values,
            port_mode: self.port_mode,
        })
    }

    /// Reads a plugin state: its patch (loaded), macro values and layout. Nothing changes here.
    pub fn read_state(bytes: &[u8]) -> Result<(PlacedPatch, MacroValues, PortMode), StateError> {
        let state = decode(bytes)?;
        let text = serde_json::to_string(&state.patch).expect("JSON values serialise");
        let placed = parse_in(&text, state.folder.as_deref(), "plugin state").map_err(StateError::Patch)?;
        Ok((placed, state.macros, state.port_mode))
    }
}

/// The engine, whoever panicked while holding it (a panic cannot leave it half-edited: edits
/// are validated before anything changes).
fn lock(engine: &Mutex<Engine>) -> MutexGuard<'_, Engine> {
    engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The macro mapping of `running` in `engine`.
fn macro_table(engine: &Engine, running: &RunningPatch) -> MacroTable {
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

/// The worker thread that runs the engine's maintenance while it plays.
struct Maintainer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Maintainer {
    fn start(engine: Arc<Mutex<Engine>>) -> Maintainer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("noderack maintenance".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    lock(&engine).maintain();
                    std::thread::sleep(MAINTAIN_EVERY);
                }
            })
            .map_err(|e| tracing::error!("no maintenance thread ({e}): the engine frees nothing until deactivated"))
            .ok();
        Maintainer { stop, thread }
    }
}

impl Drop for Maintainer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
