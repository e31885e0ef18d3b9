//! A CLAP plugin hosted in a test, block by block, on the test's own thread (which is then its
//! main thread and its audio thread): what a DAW does to a plugin, reduced to what tests need —
//! activation, timed notes and parameter automation, every output port read back, state saved
//! and loaded, and the requests the plugin made (restart, port and parameter rescans).

use std::path::Path;

use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::gui::{GuiApiType, GuiConfiguration, PluginGui};
use clack_extensions::state::PluginState;
pub use clack_host::events::event_types::NoteExpressionType;
use clack_host::events::event_types::{MidiEvent, NoteExpressionEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent};
use clack_host::events::{Match, Pckn};
use clack_host::prelude::*;
use clack_host::process::StartedPluginAudioProcessor;
use noderack_host::clap::handlers::{audio_state, NoderackHost, Requests};
use noderack_host::clap::plugin_thread::{instantiate, Instance};
use noderack_host::clap::{read_info, PluginInfo};

/// Something the host sends the plugin at an absolute frame.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum HostEvent {
    /// A MIDI 1.0 message.
    Midi {
        /// When.
        frame: u64,
        /// The message.
        bytes: [u8; 3],
    },
    /// A CLAP note-on (velocity 0–1).
    NoteOn {
        /// When.
        frame: u64,
        /// Channel 0–15.
        channel: u16,
        /// Key 0–127.
        key: u16,
        /// Velocity 0–1.
        velocity: f64,
    },
    /// A CLAP note-off.
    NoteOff {
        /// When.
        frame: u64,
        /// Channel 0–15.
        channel: u16,
        /// Key 0–127.
        key: u16,
    },
    /// A CLAP note expression on one note.
    Expression {
        /// When.
        frame: u64,
        /// Channel 0–15.
        channel: u16,
        /// Key 0–127.
        key: u16,
        /// Which dimension.
        kind: NoteExpressionType,
        /// Its value, in CLAP's unit.
        value: f64,
    },
    /// A parameter change.
    Param {
        /// When.
        frame: u64,
        /// The parameter's id.
        id: u32,
        /// Its new value.
        value: f64,
    },
}

impl HostEvent {
    fn frame(&self) -> u64 {
        match *self {
            HostEvent::Midi { frame, .. }
            | HostEvent::NoteOn { frame, .. }
            | HostEvent::NoteOff { frame, .. }
            | HostEvent::Expression { frame, .. }
            | HostEvent::Param { frame, .. } => frame,
        }
    }
}

/// Rendered audio: per output port, per channel, every frame.
pub type PortAudio = Vec<Vec<Vec<f32>>>;

/// One plugin instance, on the thread that created it (its main thread).
pub struct PluginRig {
    instance: Instance,
    id: String,
    audio: Option<AudioSide>,
}

/// An active instance's audio side: its started processor and the buffers it plays into.
/// `Send`: a test may run it on a thread of its own, as a DAW's audio thread would.
pub struct AudioSide {
    processor: StartedPluginAudioProcessor<NoderackHost>,
    max_frames: usize,
    /// Output buffers per port and channel.
    outputs: Vec<Vec<Vec<f32>>>,
    inputs: Vec<Vec<Vec<f32>>>,
    in_ports: AudioPorts,
    out_ports: AudioPorts,
    events: EventBuffer,
    out_events: EventBuffer,
    steady_frames: u64,
    /// Whether each process call runs inside `assert_no_alloc`.
    forbid_allocation: bool,
    /// The tail the plugin reported at activation.
    tail_frames: u32,
}

impl PluginRig {
    /// Creates plugin `id` from the library at `path` (not yet active).
    pub fn new(path: &Path, id: &str) -> PluginRig {
        let instance = instantiate(path, id).unwrap_or_else(|e| panic!("{id}: {e}"));
        PluginRig { instance, id: id.to_string(), audio: None }
    }

    /// Creates plugin `id` from `entry`, an entry point linked into the test binary
    /// (`PluginEntry::load_from_clack`): its code then runs with the test's allocator, so
    /// `assert_no_alloc` sees what it allocates.
    pub fn in_process(entry: &PluginEntry, id: &str) -> PluginRig {
        let c_id = std::ffi::CString::new(id).expect("no NUL in the id");
        let instance = PluginInstance::<NoderackHost>::new(
            |_| Requests::new(),
            |requests| noderack_host::clap::handlers::MainThreadState::new(requests),
            entry,
            &c_id,
            &noderack_host::clap::handlers::host_info(),
        )
        .unwrap_or_else(|e| panic!("{id}: {e}"));
        PluginRig { instance, id: id.to_string(), audio: None }
    }

    /// What the plugin says about itself now (ports, parameters, latency); reading it
    /// activates the plugin for a moment, so only while inactive.
    pub fn info(&mut self) -> PluginInfo {
        assert!(self.audio.is_none(), "read the plugin's info while it is inactive");
        read_info(&mut self.instance, &self.id).expect("the plugin describes itself")
    }

    /// Activates and starts processing at `sample_rate` with blocks of up to `max_frames`.
    pub fn activate(&mut self, sample_rate: f64, max_frames: usize) {
        let info = self.info();
        let config = PluginAudioConfiguration { sample_rate, min_frames_count: 1, max_frames_count: max_frames as u32 };
        let mut stopped = self.instance.activate(audio_state, config).unwrap_or_else(|e| panic!("activation: {e}"));
        let tail_frames = noderack_host::clap::inspect::tail_frames(&mut stopped);
        let processor = stopped.start_processing().unwrap_or_else(|e| panic!("start: {e}"));
        let buffers = |ports: &[noderack_host::clap::AudioPortInfo]| -> Vec<Vec<Vec<f32>>> {
            ports.iter().map(|p| vec![vec![0.0; max_frames]; p.channels as usize]).collect()
        };
        let (outputs, inputs) = (buffers(&info.audio_outputs), buffers(&info.audio_inputs));
        let ports = |b: &Vec<Vec<Vec<f32>>>| {
            AudioPorts::with_capacity(b.iter().map(Vec::len).sum::<usize>().max(1), b.len().max(1))
        };
        self.audio = Some(AudioSide {
            processor,
            max_frames,
            out_ports: ports(&outputs),
            in_ports: ports(&inputs),
            outputs,
            inputs,
            events: EventBuffer::with_capacity(1024),
            out_events: EventBuffer::with_capacity(1024),
            steady_frames: 0,
            forbid_allocation: false,
            tail_frames,
        });
    }

    /// Asks the active plugin to reset (see [`AudioSide::reset`]).
    pub fn reset(&mut self) {
        self.audio.as_mut().expect("activate first").reset();
    }

    /// The tail the plugin reported when activated, in frames.
    pub fn tail_frames(&self) -> u32 {
        self.audio.as_ref().expect("activate first").tail_frames
    }

    /// Stops processing and deactivates.
    pub fn deactivate(&mut self) {
        if let Some(audio) = self.audio.take() {
            self.instance.deactivate(audio.processor.stop_processing());
        }
    }

    /// The audio side, taken out to run elsewhere (give it back with
    /// [`PluginRig::return_audio`] before deactivating).
    pub fn take_audio(&mut self) -> AudioSide {
        self.audio.take().expect("activate first")
    }

    /// Gives the audio side back.
    pub fn return_audio(&mut self, audio: AudioSide) {
        self.audio = Some(audio);
    }

    /// Renders through the audio side (see [`AudioSide::render`]).
    pub fn render(
        &mut self,
        frames: usize,
        block_frames: usize,
        events: &[HostEvent],
        input: &[Vec<Vec<f32>>],
    ) -> PortAudio {
        self.audio.as_mut().expect("activate first").render(frames, block_frames, events, input)
    }

    /// Whether the plugin asked for `what` since the last look (clearing it).
    pub fn asked(&self, what: impl Fn(&Requests) -> &std::sync::atomic::AtomicBool) -> bool {
        self.instance.access_shared_handler(|requests| Requests::take(what(requests)))
    }

    /// Serves a main-thread callback the plugin asked for, if it did.
    pub fn serve_callback(&mut self) {
        if self.asked(|r| &r.callback) {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Fires every timer the plugin registered (timer-support), as a host's timers tick.
    pub fn fire_timers(&mut self) {
        noderack_host::clap::handlers::fire_timers(&mut self.instance, true);
    }

    /// The port layouts the plugin offers (audio-ports-config): id, name, output port count.
    pub fn port_configs(&mut self) -> Vec<(u32, String, u32)> {
        let handle = self.instance.plugin_handle();
        let Some(ext) = handle.get_extension::<PluginAudioPortsConfig>() else { return Vec::new() };
        let mut buffer = AudioPortsConfigBuffer::new();
        (0..ext.count(&handle))
            .filter_map(|i| {
                let c = ext.get(&handle, i, &mut buffer)?;
                Some((c.id.get(), String::from_utf8_lossy(c.name).into_owned(), c.output_port_count))
            })
            .collect()
    }

    /// Selects port layout `id` (audio-ports-config); whether the plugin took it.
    pub fn select_port_config(&mut self, id: u32) -> bool {
        let handle = self.instance.plugin_handle();
        let ext = handle.get_extension::<PluginAudioPortsConfig>().expect("the plugin offers port layouts");
        ext.select(&handle, ClapId::new(id)).is_ok()
    }

    /// The plugin's state.
    pub fn save_state(&mut self) -> Vec<u8> {
        let handle = self.instance.plugin_handle();
        let ext = handle.get_extension::<PluginState>().expect("the plugin has state");
        let mut bytes = Vec::new();
        ext.save(&handle, &mut bytes).expect("the state saves");
        bytes
    }

    /// Asks the plugin for its GUI as a window of its own, titled `title` (gui `create`,
    /// `suggest_title`, `show`), as a host opening a floating plugin window does; `false` if
    /// any step is refused.
    pub fn show_floating_gui(&mut self, title: &str) -> bool {
        let handle = self.instance.plugin_handle();
        let Some(gui) = handle.get_extension::<PluginGui>() else { return false };
        let Some(api_type) = GuiApiType::default_for_current_platform() else { return false };
        let config = GuiConfiguration { api_type, is_floating: true };
        if !gui.is_api_supported(&handle, config) || gui.create(&handle, config).is_err() {
            return false;
        }
        let title = std::ffi::CString::new(title).expect("no NUL in the title");
        gui.suggest_title(&handle, &title);
        gui.show(&handle).is_ok()
    }

    /// Asks the plugin for its GUI inside X11 window `parent` (gui `create` embedded,
    /// `set_parent`, `show`), as a host showing a plugin in its own frame does; `false` if any
    /// step is refused. The caller keeps `parent` alive until [`PluginRig::destroy_gui`].
    pub fn show_embedded_gui(&mut self, parent: u32) -> bool {
        let handle = self.instance.plugin_handle();
        let Some(gui) = handle.get_extension::<PluginGui>() else { return false };
        let config = GuiConfiguration { api_type: GuiApiType::X11, is_floating: false };
        if !gui.is_api_supported(&handle, config) || gui.create(&handle, config).is_err() {
            return false;
        }
        let window = clack_extensions::gui::Window::from_x11_handle(parent.into());
        // SAFETY: an X11 window is an id, not memory: a window gone before `destroy` makes the
        // X server refuse the editor's requests, which the editor reports; the caller keeps it.
        let parented = unsafe { gui.set_parent(&handle, window) };
        parented.is_ok() && gui.show(&handle).is_ok()
    }

    /// Hides the plugin's GUI (gui `hide`); whether the plugin did.
    pub fn hide_gui(&mut self) -> bool {
        let handle = self.instance.plugin_handle();
        handle.get_extension::<PluginGui>().is_some_and(|gui| gui.hide(&handle).is_ok())
    }

    /// Destroys the plugin's GUI (gui `destroy`).
    pub fn destroy_gui(&mut self) {
        let handle = self.instance.plugin_handle();
        if let Some(gui) = handle.get_extension::<PluginGui>() {
            gui.destroy(&handle);
        }
    }

    /// Loads `bytes` as the plugin's state; the plugin's error if it refuses.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let handle = self.instance.plugin_handle();
        let ext = handle.get_extension::<PluginState>().expect("the plugin has state");
        ext.load(&handle, &mut &bytes[..]).map_err(|e| e.to_string())
    }
}

impl AudioSide {
    /// Asks the plugin to reset (what a DAW does on a transport jump).
    pub fn reset(&mut self) {
        self.processor.reset();
    }

    /// Runs every later process call inside `assert_no_alloc` (the test binary installs
    /// `assert_no_alloc::AllocDisabler` as its allocator and asserts on `violation_count`).
    pub fn forbid_allocation(&mut self) {
        self.forbid_allocation = true;
    }

    /// Renders `frames` frames in blocks of `block_frames`, sending `events` (sorted by frame,
    /// absolute from the first frame this rig rendered) and `input` (per input port and
    /// channel, absolute frames too; silence where absent). Returns every output port's audio.
    pub fn render(
        &mut self,
        frames: usize,
        block_frames: usize,
        events: &[HostEvent],
        input: &[Vec<Vec<f32>>],
    ) -> PortAudio {
        assert!(block_frames >= 1 && block_frames <= self.max_frames, "blocks of 1 to {} frames", self.max_frames);
        let mut rendered: PortAudio = self.outputs.iter().map(|p| vec![Vec::with_capacity(frames); p.len()]).collect();
        let start_frame = self.steady_frames;
        let mut done = 0usize;
        let mut cursor = events.partition_point(|e| e.frame() < start_frame);
        while done < frames {
            let n = block_frames.min(frames - done);
            let block_start = start_frame + done as u64;
            self.events.clear();
            while cursor < events.len() && events[cursor].frame() < block_start + n as u64 {
                let at = (events[cursor].frame() - block_start) as u32;
                match events[cursor] {
                    HostEvent::Midi { bytes, .. } => self.events.push(&MidiEvent::new(at, 0, bytes)),
                    HostEvent::NoteOn { channel, key, velocity, .. } => {
                        self.events.push(&NoteOnEvent::new(at, Pckn::new(0u16, channel, key, Match::All), velocity))
                    }
                    HostEvent::NoteOff { channel, key, .. } => {
                        self.events.push(&NoteOffEvent::new(at, Pckn::new(0u16, channel, key, Match::All), 0.0))
                    }
                    HostEvent::Expression { channel, key, kind, value, .. } => self
                        .events
                        .push(&NoteExpressionEvent::new(at, Pckn::new(0u16, channel, key, Match::All), kind, value)),
                    HostEvent::Param { id, value, .. } => {
                        self.events.push(&ParamValueEvent::new(at, ClapId::new(id), Pckn::match_all(), value))
                    }
                }
                cursor += 1;
            }
            for (p, port) in self.inputs.iter_mut().enumerate() {
                for (c, channel) in port.iter_mut().enumerate() {
                    for (i, sample) in channel[..n].iter_mut().enumerate() {
                        let at = done + i + (start_frame as usize);
                        *sample = input.get(p).and_then(|p| p.get(c)).and_then(|c| c.get(at)).copied().unwrap_or(0.0);
                    }
                }
            }
            let ins = self.in_ports.with_input_buffers(self.inputs.iter_mut().map(|port| AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    port.iter_mut().map(|b| InputChannel::variable(&mut b[..n])),
                ),
            }));
            let mut outs = self.out_ports.with_output_buffers(self.outputs.iter_mut().map(|port| AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(port.iter_mut().map(|b| &mut b[..n])),
            }));
            self.out_events.clear();
            let (events, out_events) = (self.events.as_input(), &mut self.out_events.as_output());
            let processor = &mut self.processor;
            let outcome = if self.forbid_allocation {
                assert_no_alloc::assert_no_alloc(|| {
                    processor.process(&ins, &mut outs, &events, out_events, Some(block_start), None)
                })
            } else {
                processor.process(&ins, &mut outs, &events, out_events, Some(block_start), None)
            };
            outcome.unwrap_or_else(|e| panic!("process: {e}"));
            for (port, out) in rendered.iter_mut().zip(&self.outputs) {
                for (channel, buffer) in port.iter_mut().zip(out) {
                    channel.extend_from_slice(&buffer[..n]);
                }
            }
            done += n;
        }
        self.steady_frames += frames as u64;
        rendered
    }
}

impl Drop for PluginRig {
    fn drop(&mut self) {
        self.deactivate();
    }
}
