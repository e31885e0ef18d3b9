//! The plugin's main-thread side: ports, macros as parameters, state, latency, the editor
//! window. It owns the [`Session`] (the patch and, while active, the engine's control side).

use std::cell::{Cell, RefCell};
use std::ffi::CStr;
use std::fmt::Write as _;
use std::io::{Read, Write as _};

use clack_extensions::audio_ports::{
    AudioPortFlags, AudioPortInfo, AudioPortInfoWriter, AudioPortRescanFlags, AudioPortType, HostAudioPorts,
    PluginAudioPortsImpl,
};
use clack_extensions::audio_ports_config::{
    AudioPortConfigWriter, AudioPortsConfiguration, MainPortInfo, PluginAudioPortsConfigImpl,
    PluginAudioPortsConfigInfoImpl,
};
use clack_extensions::gui::{GuiApiType, GuiConfiguration, GuiSize, HostGui, PluginGuiImpl, Window};
use clack_extensions::latency::PluginLatencyImpl;
use clack_extensions::log::LogSeverity;
use clack_extensions::note_ports::{NoteDialect, NoteDialects, NotePortInfo, NotePortInfoWriter, PluginNotePortsImpl};
use clack_extensions::params::{
    HostParams, ParamDisplayWriter, ParamInfo, ParamInfoFlags, ParamInfoWriter, ParamRescanFlags,
    PluginMainThreadParams,
};
use clack_extensions::state::PluginStateImpl;
use clack_extensions::timer::{HostTimer, PluginTimerImpl, TimerId};
use clack_plugin::events::spaces::CoreEventSpace;
use clack_plugin::prelude::*;
use clack_plugin::stream::{InputStream, OutputStream};
use noderack_presets::macros::MACRO_COUNT;

use crate::editor::Editor;
use crate::ports::{layout, Port, PortMode, MAX_PORTS};
use crate::session::{Replaced, Session};
use crate::shared::Shared;

/// The main-thread side of one instance.
pub struct MainThread<'a> {
    pub(crate) shared: &'a Shared<'a>,
    host: HostMainThreadHandle<'a>,
    pub(crate) session: RefCell<Session>,
    pub(crate) active: Cell<bool>,
    /// The ports changed while active: rescan once deactivated.
    ports_dirty: Cell<bool>,
    /// The editor, between the gui extension's create and destroy.
    editor: RefCell<Option<Editor>>,
    /// The timer that follows the editor's changes while it is open.
    timer: Cell<Option<TimerId>>,
}

impl<'a> MainThread<'a> {
    /// The main thread of a new instance, holding the patch it starts with.
    pub fn new(host: HostMainThreadHandle<'a>, shared: &'a Shared<'a>) -> Self {
        let (session, problems) = Session::new(shared.flavor);
        for problem in &problems {
            shared.log(LogSeverity::Warning, problem);
        }
        for warning in &session.patch().warnings {
            shared.log(LogSeverity::Warning, warning);
        }
        let defaults: crate::session::MacroValues =
            std::array::from_fn(|i| session.patch().macros.iter().find(|m| m.index == i).map_or(0.0, |m| m.default));
        shared.set_macro_values(&defaults);
        Self {
            shared,
            host,
            session: RefCell::new(session),
            active: Cell::new(false),
            ports_dirty: Cell::new(false),
            editor: RefCell::new(None),
            timer: Cell::new(None),
        }
    }

    /// Tells the host the ports changed: now if inactive, else after the restart it is asked
    /// for.
    fn ports_changed(&self) {
        if self.active.get() {
            self.ports_dirty.set(true);
            self.shared.host().request_restart();
        } else {
            self.rescan_ports();
        }
    }

    fn rescan_ports(&self) {
        self.ports_dirty.set(false);
        if let Some(ports) = self.host.get_extension::<HostAudioPorts>() {
            ports.rescan(&self.host, AudioPortRescanFlags::LIST);
        }
    }

    /// Called after deactivation: a port change that waited for it is announced.
    pub(crate) fn deactivated(&self) {
        self.active.set(false);
        self.session.borrow_mut().stop();
        if self.ports_dirty.get() {
            // Rescanning inside deactivate is not allowed; ask for a main-thread callback.
            self.shared.host().request_callback();
        }
    }

    fn rescan_params(&self) {
        if let Some(params) = self.host.get_extension::<HostParams>() {
            params.rescan(&self.host, ParamRescanFlags::VALUES | ParamRescanFlags::TEXT | ParamRescanFlags::INFO);
        }
    }

    /// Announces a latency different from the one reported (only allowed while activating).
    pub(crate) fn latency_changed(&self) {
        if let Some(latency) = self.host.get_extension::<clack_extensions::latency::HostLatency>() {
            latency.changed(&self.host);
        }
    }

    fn port_info(port: &Port, index: usize, is_input: bool, writer: &mut AudioPortInfoWriter) {
        let port_type = match port.channels {
            1 => Some(AudioPortType::MONO),
            2 => Some(AudioPortType::STEREO),
            _ => None,
        };
        let flags = if index == 0 { AudioPortFlags::IS_MAIN } else { AudioPortFlags::empty() };
        // Input ids follow the outputs' so no two ports share one.
        let id = if is_input { MAX_PORTS + index } else { index };
        writer.set(&AudioPortInfo {
            id: ClapId::new(id as u32),
            name: port.name.as_bytes(),
            channel_count: port.channels,
            flags,
            port_type,
            in_place_pair: None,
        });
    }

    fn ports(&self, is_input: bool, mode: PortMode) -> Vec<Port> {
        let session = self.session.borrow();
        if is_input {
            session.input_ports()
        } else {
            layout(&session.patch().buses, mode)
        }
    }
}

impl<'a> PluginMainThread<'a, Shared<'a>> for MainThread<'a> {
    fn on_main_thread(&self) {
        if self.ports_dirty.get() && !self.active.get() {
            self.rescan_ports();
        }
        self.follow_editor();
    }
}

impl MainThread<'_> {
    /// Catches up with what the editor did: the held patch follows the graph that plays, the
    /// host rescans the parameters when the macros changed and restarts the plugin when the
    /// latency did; a window the person closed is reported to the host.
    pub(crate) fn follow_editor(&self) {
        let closed = self.editor.borrow_mut().as_mut().is_some_and(Editor::closed_by_user);
        if closed {
            if let Some(gui) = self.shared.host().get_extension::<HostGui>() {
                gui.closed(self.shared.host(), false);
            }
        }
        let macros_before = self.session.borrow().patch().macros.clone();
        if !self.session.borrow_mut().sync() {
            return;
        }
        if self.session.borrow().patch().macros != macros_before {
            self.rescan_params();
        }
        if self.active.get() {
            let latency = self.session.borrow().latency_frames();
            if latency != self.shared.latency_frames() {
                // The new latency is reported at the next activation.
                self.shared.host().request_restart();
            }
        }
    }
}

/// How often the editor's changes are followed while it is open.
const FOLLOW_EVERY_MS: u32 = 50;

/// The editor's size inside a host's window, in pixels (the editor's own window size).
const EMBEDDED_SIZE: GuiSize = GuiSize { width: 1280, height: 800 };

impl PluginGuiImpl for MainThread<'_> {
    fn is_api_supported(&self, configuration: GuiConfiguration) -> bool {
        // A window of its own on any windowing system; inside the host's window on X11.
        configuration.is_floating || configuration.api_type == GuiApiType::X11
    }

    fn get_preferred_api(&self) -> Option<GuiConfiguration<'_>> {
        Some(GuiConfiguration { api_type: GuiApiType::X11, is_floating: false })
    }

    fn create(&self, configuration: GuiConfiguration) -> Result<(), PluginError> {
        self.shared.expect_main_thread("gui.create");
        if !self.is_api_supported(configuration) {
            return Err(PluginError::Message("noderack's editor embeds in X11 windows only (or floats)"));
        }
        if self.editor.borrow().is_some() {
            return Ok(());
        }
        let editor = Editor::open(self.session.borrow().control()).map_err(|e| {
            self.shared.log(LogSeverity::Error, &e.to_string());
            PluginError::Message("the editor's control server did not start (see the host's log)")
        })?;
        *self.editor.borrow_mut() = Some(editor);
        if let Some(timer) = self.host.get_extension::<HostTimer>() {
            self.timer.set(timer.register_timer(&self.host, FOLLOW_EVERY_MS).ok());
        }
        Ok(())
    }

    fn destroy(&self) {
        self.shared.expect_main_thread("gui.destroy");
        if let (Some(id), Some(timer)) = (self.timer.take(), self.host.get_extension::<HostTimer>()) {
            let _ = timer.unregister_timer(&self.host, id);
        }
        self.editor.borrow_mut().take();
        self.follow_editor();
    }

    fn set_scale(&self, _scale: f64) -> Result<(), PluginError> {
        // The editor's window follows the desktop's scale itself.
        Ok(())
    }

    fn get_size(&self) -> Option<GuiSize> {
        Some(EMBEDDED_SIZE)
    }

    fn set_size(&self, size: GuiSize) -> Result<(), PluginError> {
        if size == EMBEDDED_SIZE {
            Ok(())
        } else {
            Err(PluginError::Message("the editor has one size inside a host's window"))
        }
    }

    fn set_parent(&self, window: Window) -> Result<(), PluginError> {
        let parent = window.as_x11_handle().and_then(|id| u32::try_from(id).ok());
        let parent = parent.ok_or(PluginError::Message("noderack's editor embeds in X11 windows only"))?;
        let mut editor = self.editor.borrow_mut();
        editor.as_mut().ok_or(PluginError::Message("set_parent before create"))?.set_parent(parent);
        Ok(())
    }

    fn set_transient(&self, _window: Window) -> Result<(), PluginError> {
        // A window of another process: the desktop keeps it where the person puts it.
        Ok(())
    }

    fn suggest_title(&self, title: &str) {
        if let Some(editor) = self.editor.borrow_mut().as_mut() {
            editor.set_title(title);
        }
    }

    fn show(&self) -> Result<(), PluginError> {
        let mut editor = self.editor.borrow_mut();
        let editor = editor.as_mut().ok_or(PluginError::Message("show before create"))?;
        editor.show().map_err(|e| {
            self.shared.log(LogSeverity::Error, &e.to_string());
            PluginError::Message("the editor did not start (see the host's log)")
        })
    }

    fn hide(&self) -> Result<(), PluginError> {
        if let Some(editor) = self.editor.borrow_mut().as_mut() {
            editor.hide();
        }
        Ok(())
    }
}

impl PluginTimerImpl for MainThread<'_> {
    fn on_timer(&self, timer_id: TimerId) {
        if self.timer.get() == Some(timer_id) {
            self.follow_editor();
        }
    }
}

impl PluginAudioPortsImpl for MainThread<'_> {
    fn count(&self, is_input: bool) -> u32 {
        let mode = self.session.borrow().port_mode();
        self.ports(is_input, mode).len() as u32
    }

    fn get(&self, index: u32, is_input: bool, writer: &mut AudioPortInfoWriter) {
        let mode = self.session.borrow().port_mode();
        if let Some(port) = self.ports(is_input, mode).get(index as usize) {
            Self::port_info(port, index as usize, is_input, writer);
        }
    }
}

/// The layouts offered through audio-ports-config, in id order.
const MODES: [(PortMode, &str); 2] = [(PortMode::Patch, "Patch buses"), (PortMode::Fixed, "16 stereo outputs")];

impl PluginAudioPortsConfigImpl for MainThread<'_> {
    fn count(&self) -> u32 {
        MODES.len() as u32
    }

    fn get(&self, index: u32, writer: &mut AudioPortConfigWriter) {
        let Some(&(mode, name)) = MODES.get(index as usize) else { return };
        let (outputs, inputs) = (self.ports(false, mode), self.ports(true, mode));
        let main = |ports: &[Port]| {
            ports.first().map(|p| MainPortInfo {
                channel_count: p.channels,
                port_type: match p.channels {
                    1 => Some(AudioPortType::MONO),
                    2 => Some(AudioPortType::STEREO),
                    _ => None,
                },
            })
        };
        writer.write(&AudioPortsConfiguration {
            id: ClapId::new(mode.config_id()),
            name: name.as_bytes(),
            input_port_count: inputs.len() as u32,
            output_port_count: outputs.len() as u32,
            main_input: main(&inputs),
            main_output: main(&outputs),
        });
    }

    fn select(&self, config_id: ClapId) -> Result<(), PluginError> {
        self.shared.expect_main_thread("audio-ports-config.select");
        if self.active.get() {
            return Err(PluginError::Message("the port layout can only change while the plugin is inactive"));
        }
        let mode = PortMode::from_config_id(config_id.get()).ok_or(PluginError::Message("no such port layout"))?;
        self.session.borrow_mut().set_port_mode(mode);
        Ok(())
    }
}

impl PluginAudioPortsConfigInfoImpl for MainThread<'_> {
    fn current_config(&self) -> Option<ClapId> {
        Some(ClapId::new(self.session.borrow().port_mode().config_id()))
    }

    fn get(&self, config_id: ClapId, index: u32, is_input: bool, writer: &mut AudioPortInfoWriter) {
        let Some(mode) = PortMode::from_config_id(config_id.get()) else { return };
        if let Some(port) = self.ports(is_input, mode).get(index as usize) {
            Self::port_info(port, index as usize, is_input, writer);
        }
    }
}

impl PluginNotePortsImpl for MainThread<'_> {
    fn count(&self, is_input: bool) -> u32 {
        u32::from(is_input)
    }

    fn get(&self, index: u32, is_input: bool, writer: &mut NotePortInfoWriter) {
        if is_input && index == 0 {
            writer.set(&NotePortInfo {
                id: ClapId::new(0),
                name: b"notes",
                preferred_dialect: Some(NoteDialect::Clap),
                supported_dialects: NoteDialects::CLAP | NoteDialects::MIDI,
            });
        }
    }
}

/// Macro `value` as the host shows it.
fn macro_text(value: f64) -> String {
    format!("{:.1} %", value * 100.0)
}

/// A macro value typed by the user ("42", "42 %", "0.42" is read as percent too).
fn macro_from_text(text: &str) -> Option<f64> {
    let number: f64 = text.trim().trim_end_matches('%').trim().parse().ok()?;
    Some((number / 100.0).clamp(0.0, 1.0)).filter(|v| v.is_finite())
}

impl PluginMainThreadParams for MainThread<'_> {
    fn count(&self) -> u32 {
        MACRO_COUNT as u32
    }

    fn get_info(&self, index: u32, info: &mut ParamInfoWriter) {
        let index = index as usize;
        if index >= MACRO_COUNT {
            return;
        }
        let session = self.session.borrow();
        let mapped = session.patch().macros.iter().find(|m| m.index == index);
        let name = mapped.map_or_else(|| format!("Macro {}", index + 1), |m| m.display_name());
        info.set(&ParamInfo {
            id: ClapId::new(index as u32),
            flags: ParamInfoFlags::IS_AUTOMATABLE,
            cookie: Default::default(),
            name: name.as_bytes(),
            module: b"Macros",
            min_value: 0.0,
            max_value: 1.0,
            default_value: mapped.map_or(0.0, |m| m.default as f64),
        });
    }

    fn get_value(&self, id: ClapId) -> Option<f64> {
        let index = id.get() as usize;
        (index < MACRO_COUNT).then(|| self.shared.macro_value(index) as f64)
    }

    fn value_to_text(&self, id: ClapId, value: f64, writer: &mut ParamDisplayWriter) -> std::fmt::Result {
        if id.get() as usize >= MACRO_COUNT {
            return Err(std::fmt::Error);
        }
        write!(writer, "{}", macro_text(value))
    }

    fn text_to_value(&self, id: ClapId, text: &CStr) -> Option<f64> {
        if id.get() as usize >= MACRO_COUNT {
            return None;
        }
        macro_from_text(text.to_str().ok()?)
    }

    fn flush(&self, input: &InputEvents, _output: &mut OutputEvents) {
        for event in input {
            if let Some(CoreEventSpace::ParamValue(e)) = event.as_core_event() {
                let Some(index) = e.param_id().map(|id| id.get() as usize) else { continue };
                if let Some(value) = self.shared.set_macro_value(index, e.value()) {
                    self.session.borrow_mut().set_macro(index, value);
                }
            }
        }
    }
}

impl PluginLatencyImpl for MainThread<'_> {
    fn get(&self) -> u32 {
        self.shared.latency_frames()
    }
}

impl PluginStateImpl for MainThread<'_> {
    fn save(&self, output: &mut OutputStream) -> Result<(), PluginError> {
        self.shared.expect_main_thread("state.save");
        let bytes = self.session.borrow().save(&self.shared.macro_values());
        output.write_all(&bytes)?;
        Ok(())
    }

    fn load(&self, input: &mut InputStream) -> Result<(), PluginError> {
        self.shared.expect_main_thread("state.load");
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes)?;
        let (placed, values, mode) = match Session::read_state(&bytes) {
            Ok(read) => read,
            Err(e) => {
                // The patch that plays keeps playing.
                self.shared.log(LogSeverity::Error, &e.to_string());
                return Err(PluginError::Message("the state is not a loadable noderack state (see the host's log)"));
            }
        };
        for warning in &placed.patch.warnings {
            self.shared.log(LogSeverity::Warning, warning);
        }
        let mut session = self.session.borrow_mut();
        let ports_before = (session.output_ports(), session.input_ports(), session.port_mode());
        if !self.active.get() {
            session.set_port_mode(mode);
        }
        match session.replace(placed, &values) {
            Ok(replaced) => {
                self.shared.set_macro_values(&values);
                let ports_after = (session.output_ports(), session.input_ports(), session.port_mode());
                drop(session);
                self.rescan_params();
                if replaced == Replaced::NeedsRestart || ports_after != ports_before {
                    self.ports_changed();
                } else if self.active.get() {
                    let latency = self.session.borrow().latency_frames();
                    if latency != self.shared.latency_frames() {
                        // The new latency is reported at the next activation.
                        self.shared.host().request_restart();
                    }
                }
                Ok(())
            }
            Err(e) => {
                self.shared.log(LogSeverity::Error, &e);
                Err(PluginError::Message("the state's patch could not be applied (see the host's log)"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_text_reads_back() {
        for value in [0.0, 0.25, 0.4321, 1.0] {
            let text = macro_text(value);
            let back = macro_from_text(&text).unwrap();
            assert_eq!(macro_text(back), text);
        }
        assert_eq!(macro_from_text("50"), Some(0.5));
        assert_eq!(macro_from_text("150 %"), Some(1.0));
        assert_eq!(macro_from_text("loud"), None);
    }
}
