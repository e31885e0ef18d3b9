//! Restarting an active plugin that asks for it (`request_restart`, most often because its
//! latency changed, which CLAP only allows while it is inactive).
//!
//! The audio thread stops the processor and hands it, through a lock-free queue, to the
//! plugin's main thread, and plays silence meanwhile; the main thread deactivates the plugin,
//! activates it again with the same configuration, reads its latency and tail anew, and hands
//! the new processor back the same way. The node's latency is then the new one, and the engine
//! recompiles for it at its next maintenance ([`noderack_graph::Engine::maintain`]).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use clack_extensions::latency::PluginLatency;
use clack_host::prelude::*;

use super::handlers::{audio_state, NoderackHost};
use super::inspect::tail_frames;
use super::plugin_thread::Instance;

/// A processor between activations, as it travels between the two threads.
pub type Stopped = StoppedPluginAudioProcessor<NoderackHost>;

/// What a restart changes, readable from any thread.
#[derive(Debug)]
pub struct Reported {
    /// The latency the plugin reports, in frames.
    pub latency_frames: AtomicU32,
    /// The tail the plugin reports, in frames (`u32::MAX`: infinite).
    pub tail_frames: AtomicU32,
}

impl Reported {
    /// What a plugin reported when it was inspected.
    pub fn new(latency_frames: u32, tail_frames: u32) -> Self {
        Self { latency_frames: AtomicU32::new(latency_frames), tail_frames: AtomicU32::new(tail_frames) }
    }
}

/// The audio thread's end of a restart link.
pub struct AudioEnd {
    to_main: rtrb::Producer<Stopped>,
    from_main: rtrb::Consumer<Stopped>,
}

/// The plugin main thread's end of a restart link.
pub struct MainEnd {
    from_audio: rtrb::Consumer<Stopped>,
    to_audio: rtrb::Producer<Stopped>,
    config: PluginAudioConfiguration,
    reported: Arc<Reported>,
}

/// A link for one processor activated with `config`, reporting into `reported`.
pub fn link(config: PluginAudioConfiguration, reported: Arc<Reported>) -> (AudioEnd, MainEnd) {
    // One restart is in flight at a time: one slot each way is enough.
    let (to_main, from_audio) = rtrb::RingBuffer::new(1);
    let (to_audio, from_main) = rtrb::RingBuffer::new(1);
    (AudioEnd { to_main, from_main }, MainEnd { from_audio, to_audio, config, reported })
}

impl AudioEnd {
    /// Hands `stopped` to the main thread; gives it back if the way is full.
    pub fn send(&mut self, stopped: Stopped) -> Result<(), Stopped> {
        self.to_main.push(stopped).map_err(|rtrb::PushError::Full(back)| back)
    }

    /// The restarted processor, once the main thread has it ready.
    pub fn receive(&mut self) -> Option<Stopped> {
        self.from_main.pop().ok()
    }

    /// What is left in the link (a processor the main thread sent back too late), for the
    /// main thread to deactivate.
    pub fn into_leftover(mut self) -> Option<Stopped> {
        self.from_main.pop().ok()
    }
}

impl MainEnd {
    /// Restarts the processor the audio thread sent, if it sent one. A plugin that will not
    /// activate again stays silent, with an error in the log.
    pub fn serve(&mut self, instance: &mut Instance) {
        while let Ok(stopped) = self.from_audio.pop() {
            instance.deactivate(stopped);
            match instance.activate(audio_state, self.config) {
                Ok(mut processor) => {
                    self.reported.tail_frames.store(tail_frames(&mut processor), Ordering::Relaxed);
                    let handle = instance.plugin_handle();
                    let latency = handle.get_extension::<PluginLatency>().map_or(0, |l| l.get(&handle));
                    self.reported.latency_frames.store(latency, Ordering::Relaxed);
                    if let Err(rtrb::PushError::Full(processor)) = self.to_audio.push(processor) {
                        instance.deactivate(processor); // cannot happen: one restart at a time
                    }
                }
                Err(e) => tracing::error!("a plugin asked to restart and could not be activated again: {e}"),
            }
        }
    }

    /// Deactivates whatever is still in the link (the node is gone).
    pub fn close(mut self, instance: &mut Instance) {
        while let Ok(stopped) = self.from_audio.pop() {
            instance.deactivate(stopped);
        }
    }
}
