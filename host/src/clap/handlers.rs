//! What noderack answers a hosted plugin: its requests (a callback on the main thread, a
//! restart, processing) are flags the plugin's main thread reads; its log goes to `tracing`;
//! parameter, latency and port changes it announces are flags too. Every callback a plugin may
//! make from any thread is a store to an atomic: wait-free. Timers a plugin registers
//! (timer-support) are fired by its main thread ([`fire_timers`]); noderack shows no plugin
//! windows, but a plugin that opens one of its own and reports it closed is heard.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use clack_extensions::audio_ports::{AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl};
use clack_extensions::gui::{GuiSize, HostGui, HostGuiImpl};
use clack_extensions::latency::{HostLatency, HostLatencyImpl};
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::note_ports::{HostNotePorts, HostNotePortsImpl, NoteDialects, NotePortRescanFlags};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamRescanFlags,
};
use clack_extensions::tail::{HostTail, HostTailImpl};
use clack_extensions::thread_check::{HostThreadCheck, HostThreadCheckImpl};
use clack_extensions::timer::{HostTimer, HostTimerImpl, PluginTimer, TimerId};
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
            .register::<HostTail>()
            .register::<HostTimer>()
            .register::<HostGui>();
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
    /// A window the plugin opened on its own was closed (gui `closed`).
    pub gui_closed: AtomicBool,
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
            gui_closed: AtomicBool::new(false),
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

impl HostGuiImpl for Requests {
    fn resize_hints_changed(&self) {}

    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Err(HostError::Message("noderack shows no plugin windows"))
    }

    fn request_show(&self) -> Result<(), HostError> {
        Err(HostError::Message("noderack shows no plugin windows"))
    }

    fn request_hide(&self) -> Result<(), HostError> {
        Err(HostError::Message("noderack shows no plugin windows"))
    }

    fn closed(&self, _was_destroyed: bool) {
        self.gui_closed.store(true, Ordering::Release);
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

/// The shortest timer period granted (CLAP lets a host raise a period that is too short).
const SHORTEST_TIMER: Duration = Duration::from_millis(10);

/// A timer a plugin registered.
struct Timer {
    id: u32,
    period: Duration,
    due: Instant,
}

/// The host's main-thread side for one plugin.
pub struct MainThreadState<'a> {
    /// The plugin's requests.
    pub requests: &'a Requests,
    /// The timers it registered (main thread only).
    timers: RefCell<Vec<Timer>>,
    next_timer: Cell<u32>,
}

impl<'a> MainThreadState<'a> {
    /// The main-thread side of a plugin whose requests go to `requests`.
    pub fn new(requests: &'a Requests) -> Self {
        Self { requests, timers: RefCell::new(Vec::new()), next_timer: Cell::new(0) }
    }

    /// The timers due at `now` (every timer, given `all`), each then due a period later.
    fn take_due(&self, now: Instant, all: bool) -> Vec<TimerId> {
        let mut timers = self.timers.borrow_mut();
        let due: Vec<TimerId> = timers.iter().filter(|t| all || t.due <= now).map(|t| TimerId(t.id)).collect();
        for timer in timers.iter_mut().filter(|t| all || t.due <= now) {
            timer.due = now + timer.period;
        }
        due
    }
}

impl<'a> MainThreadHandler<'a> for MainThreadState<'a> {}

impl HostTimerImpl for MainThreadState<'_> {
    fn register_timer(&self, period_ms: u32) -> Result<TimerId, HostError> {
        let id = self.next_timer.get();
        self.next_timer.set(id.wrapping_add(1));
        let period = Duration::from_millis(period_ms.into()).max(SHORTEST_TIMER);
        self.timers.borrow_mut().push(Timer { id, period, due: Instant::now() + period });
        Ok(TimerId(id))
    }

    fn unregister_timer(&self, timer_id: TimerId) -> Result<(), HostError> {
        let mut timers = self.timers.borrow_mut();
        let before = timers.len();
        timers.retain(|t| t.id != timer_id.0);
        if timers.len() == before {
            return Err(HostError::Message("no such timer"));
        }
        Ok(())
    }
}

/// Calls the plugin's `on_timer` for each of its timers that is due (`all`: for every one of
/// them, due or not). On the plugin's main thread.
pub fn fire_timers(instance: &mut PluginInstance<NoderackHost>, all: bool) {
    let due = instance.access_handler(|main| main.take_due(Instant::now(), all));
    if due.is_empty() {
        return;
    }
    let handle = instance.plugin_handle();
    if let Some(timer) = handle.get_extension::<PluginTimer>() {
        for id in due {
            timer.on_timer(&handle, id);
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_when_due_then_a_period_later_and_stop_when_unregistered() {
        let requests = Requests::new();
        let main = MainThreadState::new(&requests);
        let start = Instant::now();
        let fast = main.register_timer(20).unwrap();
        let slow = main.register_timer(100).unwrap();
        let too_fast = main.register_timer(1).unwrap();
        assert!(fast != slow && slow != too_fast);
        let ids = |due: Vec<TimerId>| due.into_iter().map(|t| t.0).collect::<Vec<_>>();
        assert!(main.take_due(start, false).is_empty(), "nothing is due at once");
        // 1 ms is raised to the shortest period granted.
        assert_eq!(ids(main.take_due(start + Duration::from_millis(15), false)), [too_fast.0]);
        assert_eq!(ids(main.take_due(start + Duration::from_millis(30), false)), [fast.0, too_fast.0]);
        // Each fired timer is next due a period after it fired.
        assert!(main.take_due(start + Duration::from_millis(35), false).is_empty());
        assert_eq!(ids(main.take_due(start + Duration::from_millis(120), false)), [fast.0, slow.0, too_fast.0]);
        main.unregister_timer(fast).unwrap();
        assert!(main.unregister_timer(fast).is_err(), "already gone");
        assert_eq!(ids(main.take_due(start, true)), [slow.0, too_fast.0], "every timer left, due or not");
    }
}
