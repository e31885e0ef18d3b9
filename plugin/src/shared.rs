//! What every thread of one plugin instance reads: its flavor, the macro values (atomics, so
//! the host can read them anywhere and the audio thread can write them), the reported latency
//! and tail, and the host's log and thread-check extensions.

use std::ffi::CString;
use std::sync::atomic::{AtomicU32, Ordering};

use clack_extensions::log::{HostLog, LogSeverity};
use clack_extensions::thread_check::HostThreadCheck;
use clack_plugin::prelude::*;
use noderack_presets::macros::MACRO_COUNT;

use crate::session::MacroValues;
use crate::Flavor;

/// State shared by the instance's threads.
pub struct Shared<'a> {
    host: HostSharedHandle<'a>,
    log: Option<HostLog>,
    thread_check: Option<HostThreadCheck>,
    /// Which plugin this is.
    pub flavor: Flavor,
    macros: [AtomicU32; MACRO_COUNT],
    latency_frames: AtomicU32,
    tail_frames: AtomicU32,
}

impl<'a> PluginShared<'a> for Shared<'a> {}

impl<'a> Shared<'a> {
    /// The shared state of a new instance of `flavor`.
    pub fn new(host: HostSharedHandle<'a>, flavor: Flavor) -> Self {
        Self {
            log: host.get_extension(),
            thread_check: host.get_extension(),
            host,
            flavor,
            macros: std::array::from_fn(|_| AtomicU32::new(0)),
            latency_frames: AtomicU32::new(0),
            tail_frames: AtomicU32::new(0),
        }
    }

    /// The host, for requests any thread may make.
    pub fn host(&self) -> &HostSharedHandle<'a> {
        &self.host
    }

    /// Macro `index`'s value (0 for an index out of range).
    pub fn macro_value(&self, index: usize) -> f32 {
        self.macros.get(index).map_or(0.0, |v| f32::from_bits(v.load(Ordering::Relaxed)))
    }

    /// Sets macro `index` (clamped to 0–1; a non-finite value is ignored). Real-time safe.
    pub fn set_macro_value(&self, index: usize, value: f64) -> Option<f32> {
        if !value.is_finite() {
            return None;
        }
        let value = value.clamp(0.0, 1.0) as f32;
        self.macros.get(index)?.store(value.to_bits(), Ordering::Relaxed);
        Some(value)
    }

    /// Every macro value.
    pub fn macro_values(&self) -> MacroValues {
        std::array::from_fn(|i| self.macro_value(i))
    }

    /// Sets every macro value.
    pub fn set_macro_values(&self, values: &MacroValues) {
        for (i, v) in values.iter().enumerate() {
            self.set_macro_value(i, *v as f64);
        }
    }

    /// The latency reported to the host, in frames.
    pub fn latency_frames(&self) -> u32 {
        self.latency_frames.load(Ordering::Relaxed)
    }

    /// Records the latency to report; whether it changed.
    pub fn set_latency_frames(&self, frames: u32) -> bool {
        self.latency_frames.swap(frames, Ordering::Relaxed) != frames
    }

    /// The tail reported to the host, in frames.
    pub fn tail_frames(&self) -> u32 {
        self.tail_frames.load(Ordering::Relaxed)
    }

    /// Records the tail to report.
    pub fn set_tail_frames(&self, frames: u32) {
        self.tail_frames.store(frames, Ordering::Relaxed);
    }

    /// Tells the host (its log, else `tracing`) — never from the audio thread.
    pub fn log(&self, severity: LogSeverity, message: &str) {
        match severity {
            LogSeverity::Error | LogSeverity::Fatal => tracing::error!("{message}"),
            LogSeverity::Warning => tracing::warn!("{message}"),
            _ => tracing::info!("{message}"),
        }
        if let (Some(log), Ok(text)) = (self.log.as_ref(), CString::new(format!("noderack: {message}"))) {
            log.log(&self.host, severity, &text);
        }
    }

    /// Checks, where the host can say (thread-check), that `what` runs on the main thread,
    /// and logs an error if not: a host that calls main-thread functions elsewhere is told.
    pub fn expect_main_thread(&self, what: &str) {
        if let Some(check) = self.thread_check.as_ref() {
            if check.is_main_thread(&self.host) == Some(false) {
                self.log(LogSeverity::HostMisbehaving, &format!("{what} was called off the main thread"));
            }
        }
    }
}
