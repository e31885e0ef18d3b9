//! What a control [`Session`](super::session::Session) plays its graph on. `noderack serve`
//! plays it on a live backend (JACK, cpal, null); the CLAP plugin plays it on the DAW's audio
//! thread. The session does the same with either: it edits the engine, and asks the stage only
//! for what differs between them.

use noderack_graph::Engine;
use noderack_host::live::scope::Scope;
use noderack_host::live::Health;
use noderack_presets::RunningPatch;

/// An engine, and what reports on the audio thread that runs its executor.
pub trait Stage {
    /// The engine's control side.
    fn engine(&mut self) -> &mut Engine;
    /// The engine's control side, to read.
    fn engine_ref(&self) -> &Engine;
    /// What the audio thread reports (load, xruns, voices, levels).
    fn health(&self) -> &Health;
    /// What plays, for people (`JACK "noderack" at 48000 Hz`, `CLAP plugin in Bitwig`).
    fn description(&self) -> &str;
    /// The engine's sample rate in Hz.
    fn sample_rate(&self) -> u32;
    /// The graph just became `running`'s: whatever follows the graph outside the engine
    /// (a backend's MIDI ports, a plugin's macro mapping) follows it now.
    fn follow(&mut self, running: &RunningPatch);
    /// The oscilloscope of the first bus, if this stage has one.
    fn scope(&mut self) -> Option<&mut Scope> {
        None
    }
    /// The session ends: stop the audio and finish what was recorded.
    fn stop(self)
    where
        Self: Sized,
    {
    }
}
