//! What noderack answers a hosted plugin: its requests (a callback on the main thread, a
//! restart, processing) are flags the plugin's main thread reads; its log goes to `tracing`;
//! parameter, latency and port changes it announces are flags too. Every callback a plugin may
//! make from any thread is a store to an atomic: wait-free.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ThreadId;

use clack_extensions::audio_ports::{AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl};
use clack_extensions::latency::{HostLatency, HostLatencyImpl};
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::note_ports::{HostNotePorts, HostNotePortsImpl, NoteDialects, NotePortRescanFlags};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamRescanFlags,
};
use clack_extensions::tail::{HostTail, HostTailImpl};
use clack_extensions::thread_check::{HostThreadCheck, HostThreadCheckImpl};
use clack_host::prelude::*;

/// noderack as a CLAP host.
pub struct NoderackHost;

impl HostHandlers for NoderackHost {
    type Shared<'a> = Requests;
    type MainThread<'a> = MainThreadState<'a>;
    type AudioProcessor<'a> = AudioState<'a>;

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLog>()
            .register::<HostThreadCheck>()
            .register::<HostParams>()
            .register::<HostLatency>()
            .register::<HostAudioPorts>()
            .register::<HostNotePorts>()
            .register::<HostTail>();
    }
}

/// The host's identity as plugins see it.
pub fn host_info() -> HostInfo {
    HostInfo::new("noderack", "noderack", "https://example.invalid/noderack", env!("CARGO_PKG_VERSION"))
        .expect("no NUL in the host's names")
}

/// What a plugin asked for, from any thread.
pub struct Requests {
    /// The thread the plugin was created on (its main thread).
    pub main_thread: ThreadId,
    /// `request_callback`: call `on_main_thread` soon.
    pub callback: AtomicBool,
    /// `request_restart`: deactivate and activate again.
    pub restart: AtomicBool,
    /// `request_process`: start processing.
    pub process: AtomicBool,
    /// `request_flush`: flush parameters.
    pub flush: AtomicBool,
    /// Parameter values or infos changed (`rescan`).
    pub params_changed: AtomicBool,
    /// The latency changed.
    pub latency_changed: AtomicBool,
    /// The ports changed.
    pub ports_changed: AtomicBool,
    /// The tail length changed (said on the audio thread).
    pub tail_changed: AtomicBool,
}

impl Requests {
    /// No requests yet, for a plugin created on this thread.
    pub fn new() -> Self {
        Self {
            main_thread: std::thread::current().id(),
            callback: AtomicBool::new(false),
            restart: AtomicBool::new(false),
            process: AtomicBool::new(false),
            flush: AtomicBool::new(false),
            params_changed: AtomicBool::new(false),
            latency_changed: AtomicBool::new(false),
            ports_changed: AtomicBool::new(false),
            tail_changed: AtomicBool::new(false),
        }
    }

    /// Whether `flag` was set, clearing it. A flag that is not set is only read (the audio
    /// thread asks every block; a read is cheaper than a swap).
    pub fn take(flag: &AtomicBool) -> bool {
        flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::AcqRel)
    }
}

impl Default for Requests {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedHandler<'_> for Requests {
    fn request_restart(&self) {
        self.restart.store(true, Ordering::Release);
    }

    fn request_process(&self) {
        self.process.store(true, Ordering::Release);
    }

    fn request_callback(&self) {
        self.callback.store(true, Ordering::Release);
    }
}

impl HostLogImpl for Requests {
    fn log(&self, severity: LogSeverity, message: &str) {
        match severity {
            LogSeverity::Debug => tracing::debug!("plugin: {message}"),
            LogSeverity::Info => tracing::info!("plugin: {message}"),
            LogSeverity::Warning => tracing::warn!("plugin: {message}"),
            _ => tracing::error!("plugin ({severity}): {message}"),
        }
    }
}

impl HostThreadCheckImpl for Requests {
    fn is_main_thread(&self) -> bool {
        std::thread::current().id() == self.main_thread
    }

    fn is_audio_thread(&self) -> bool {
        std::thread::current().id() != self.main_thread
    }
}

impl HostParamsImplShared for Requests {
    fn request_flush(&self) {
        self.flush.store(true, Ordering::Release);
    }
}

/// The host's audio-thread side for one plugin: what it says there goes to its [`Requests`].
pub struct AudioState<'a> {
    /// The plugin's requests.
    pub requests: &'a Requests,
}

/// The audio-thread side of an activation (what `PluginInstance::activate` is given).
pub fn audio_state<'a>(requests: &'a Requests, _main_thread: &MainThreadState<'a>) -> AudioState<'a> {
    AudioState { requests }
}

impl<'a> AudioProcessorHandler<'a> for AudioState<'a> {}

impl HostTailImpl for AudioState<'_> {
    fn changed(&mut self) {
        self.requests.tail_changed.store(true, Ordering::Release);
    }
}

/// The host's main-thread side for one plugin.
pub struct MainThreadState<'a> {
    /// The plugin's requests.
    pub requests: &'a Requests,
}

impl<'a> MainThreadHandler<'a> for MainThreadState<'a> {}

impl HostParamsImplMainThread for MainThreadState<'_> {
    fn rescan(&self, _flags: ParamRescanFlags) {
        self.requests.params_changed.store(true, Ordering::Release);
    }

    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostLatencyImpl for MainThreadState<'_> {
    fn changed(&self) {
        self.requests.latency_changed.store(true, Ordering::Release);
    }
}

impl HostAudioPortsImpl for MainThreadState<'_> {
    fn is_rescan_flag_supported(&self, _flag: AudioPortRescanFlags) -> bool {
        false
    }

    fn rescan(&self, _flags: AudioPortRescanFlags) {
        self.requests.ports_changed.store(true, Ordering::Release);
    }
}

impl HostNotePortsImpl for MainThreadState<'_> {
    fn supported_dialects(&self) -> NoteDialects {
        NoteDialects::CLAP | NoteDialects::MIDI
    }

    fn rescan(&self, _flags: NotePortRescanFlags) {
        self.requests.ports_changed.store(true, Ordering::Release);
    }
}
