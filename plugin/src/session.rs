//! The plugin's control side: the patch it holds and, while the plugin is active, the engine
//! that plays it, owned by the instance's control session ([`crate::control`]), which the
//! editor edits too. Everything here runs on the plugin's main thread; the audio thread only
//! ever runs the executor.

use std::sync::Arc;

use noderack_graph::{new_engine, Executor};
use noderack_host::live::health::HealthWriter;
use noderack_host::live::Health;
use noderack_presets::macros::MACRO_COUNT;
use noderack_presets::patch_diff::DiffError;
use noderack_presets::{Patch, RunningPatch};
use noderack_server::control::stage::Stage;

use crate::control::{macro_table, Control, ControlSession, PluginStage, HOST_SESSION};
use crate::macro_table::{link, MacroTable, TableLink};
use crate::patches::{parse_in, PlacedPatch};
use crate::ports::{layout, Port, PortMode, MAX_CHANNELS};
use crate::state::{decode, encode, SavedState, StateError};
use crate::Flavor;

/// Macro values, by index.
pub type MacroValues = [f32; MACRO_COUNT];

/// The patch the plugin holds and the engine playing it (while active).
pub struct Session {
    flavor: Flavor,
    /// The patch. While an engine plays, the control session's graph is the truth (the editor
    /// edits it); this copy follows it at [`Session::sync`] and when the engine stops.
    placed: PlacedPatch,
    port_mode: PortMode,
    control: Control,
    /// A patch with other buses was stored while the engine played: `placed` is the truth
    /// and plays at the next activation; the engine's graph is not copied back.
    awaiting_restart: bool,
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
    /// Where the audio thread reports its load and levels (the editor's meters).
    pub health: HealthWriter,
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
        let session =
            Session { flavor, placed, port_mode: PortMode::Patch, control: Control::start(), awaiting_restart: false };
        (session, problems)
    }

    /// The instance's control session and its thread (for the editor's server).
    pub fn control(&self) -> &Control {
        &self.control
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

    /// Brings the held patch up to the graph that plays, if the editor changed it; whether it
    /// changed.
    pub fn sync(&mut self) -> bool {
        if !self.control.take_changed() || self.awaiting_restart {
            return false;
        }
        let guard = self.control.lock();
        let Some(session) = guard.as_ref() else { return false };
        let played = self.played(session);
        drop(guard);
        self.placed = played;
        true
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
    /// with parameters where `values` put them, and gives it to the control session.
    pub fn start(&mut self, sample_rate: f64, max_frames: usize, values: &MacroValues) -> Result<AudioSetup, String> {
        self.stop();
        let patch = Self::with_macros(&self.placed.patch, values);
        let engine_channels: usize = patch.buses.iter().map(|b| b.channels as usize).sum();
        let input_channels: usize = patch.inputs.iter().map(|b| b.channels as usize).sum();
        if engine_channels > MAX_CHANNELS || input_channels > MAX_CHANNELS {
            return Err(format!("the patch's buses have more than {MAX_CHANNELS} channels"));
        }
        let max_frames = max_frames.max(1);
        let (mut engine, executor) = new_engine(patch.engine_config(sample_rate as f32, max_frames));
        engine.apply(patch.edits()).map_err(|e| format!("building the patch: {e}"))?;
        let rate_hz = sample_rate.round() as u32;
        let health = Arc::new(Health::new(&patch.buses, rate_hz, engine.status().clone()));
        health.set_latency_frames(engine.plan().latency_frames());
        let running_patch = RunningPatch::new(patch);
        let table = Box::new(macro_table(&engine, &running_patch));
        let (tables, link) = link();
        let stage = PluginStage::new(engine, health.clone(), tables, rate_hz, self.control.changed_flag());
        let folder = self.placed.folder.clone().unwrap_or_default();
        let session = ControlSession::new(stage, running_patch, crate::factory(), folder, self.control.events());
        *self.control.lock() = Some(session);
        self.awaiting_restart = false;
        Ok(AudioSetup {
            executor,
            table,
            link,
            outputs: self.output_ports(),
            engine_channels,
            input_channels,
            max_frames,
            health: HealthWriter::new(health),
        })
    }

    /// Stops the engine (after the audio thread let go of the executor); the patch held is
    /// the one that played, with the editor's changes.
    pub fn stop(&mut self) {
        self.sync();
        let stopped = self.control.lock().take();
        if let Some(session) = stopped {
            if !self.awaiting_restart {
                self.placed = self.played(&session);
            }
        }
    }

    /// Holds `placed` from now on. While an engine plays, the difference is applied as one
    /// change of the `host` session (the editor sees it, and can undo it); if the engine
    /// refuses it, nothing changes and the error says why.
    pub fn replace(&mut self, placed: PlacedPatch, values: &MacroValues) -> Result<Replaced, String> {
        let mut session = self.control.lock();
        let Some(running) = session.as_mut() else {
            drop(session);
            self.placed = placed;
            return Ok(Replaced::Applied);
        };
        let new = Self::with_macros(&placed.patch, values);
        if let Err(DiffError::BusesChanged(_)) = running.running().diff(&new) {
            drop(session);
            self.placed = placed;
            self.awaiting_restart = true;
            return Ok(Replaced::NeedsRestart);
        }
        let folder = placed.folder.clone().unwrap_or_default();
        running
            .replace_as(HOST_SESSION, new, folder, "host")
            .map_err(|e| format!("applying the new patch: {}", e.message))?;
        drop(session);
        self.control.take_changed();
        self.placed = placed;
        Ok(Replaced::Applied)
    }

    /// Moves the parameters macro `index` maps to where `value` puts them, through the
    /// engine (for a host that sets a macro while the plugin is active but not processing).
    pub fn set_macro(&mut self, index: usize, value: f32) {
        let mut session = self.control.lock();
        let Some(running) = session.as_mut() else { return };
        let Some(m) = running.running().patch().macros.iter().find(|m| m.index == index) else { return };
        let moves: Vec<_> = m
            .targets
            .iter()
            .filter_map(|t| Some((running.running().id_of(&t.node_name)?, t.param, t.value_at(value))))
            .collect();
        for (node, param, value) in moves {
            if let Err(e) = running.stage_mut().engine().set_param(node, param, value, None) {
                tracing::warn!("macro {}: {e}", index + 1);
            }
        }
    }

    /// The engine's latency in frames (0 when none plays).
    pub fn latency_frames(&self) -> u32 {
        self.control.lock().as_ref().map_or(0, |s| s.stage().engine_ref().plan().latency_frames())
    }

    /// How long the patch sounds on after its input stops: its longest node tail plus its
    /// latency, in frames.
    pub fn tail_frames(&self) -> u32 {
        let session = self.control.lock();
        let Some(running) = session.as_ref() else { return 0 };
        let engine = running.stage().engine_ref();
        let tail = engine.graph().nodes().iter().map(|n| n.description().tail_frames()).max().unwrap_or(0);
        tail.saturating_add(engine.plan().latency_frames())
    }

    /// The graph `session` plays, as the patch to hold: each parameter a macro maps is as the
    /// held patch has it (what plays there is the macro's value, saved with the macros).
    fn played(&self, session: &ControlSession) -> PlacedPatch {
        let mut patch = session.running().patch().clone();
        let held = &self.placed.patch;
        for m in &session.running().patch().macros {
            for target in &m.targets {
                let Some(node) = patch.nodes.iter_mut().find(|n| n.name == target.node_name) else { continue };
                let kept = held
                    .nodes
                    .iter()
                    .find(|n| n.name == target.node_name)
                    .and_then(|n| n.params.iter().find(|(p, _)| *p == target.param))
                    .map(|&(_, value)| value);
                match kept {
                    Some(value) => node.set_param(target.param, value),
                    None => node.params.retain(|(p, _)| *p != target.param),
                }
            }
        }
        let folder = Some(session.folder().to_path_buf()).filter(|f| !f.as_os_str().is_empty());
        PlacedPatch { patch, folder }
    }

    /// The patch as the host should save it: the graph that plays (with the editor's changes)
    /// or, while none plays, the one held.
    fn current(&self) -> PlacedPatch {
        if !self.awaiting_restart {
            if let Some(running) = self.control.lock().as_ref() {
                return self.played(running);
            }
        }
        self.placed.clone()
    }

    /// The plugin state: the patch as it should be saved now, the macro values, the layout.
    pub fn save(&self, values: &MacroValues) -> Vec<u8> {
        let current = self.current();
        encode(&SavedState {
            patch: current.patch.with_current_settings().to_json(),
            folder: current.folder,
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
