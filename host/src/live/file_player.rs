//! `--midi-file`: a Standard MIDI File played live through the same queue and the same audio
//! callback as a keyboard, for demos without a keyboard and for tests. Events are stamped with
//! the engine frame they are due at (exact, like JACK MIDI), and sent a little ahead so that
//! a busy control thread never makes one late.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::midi_in::{LiveMidi, MidiSender, MidiTarget, MidiTime};
use crate::MidiSequence;

/// How far ahead of the engine events are queued, in seconds.
const LOOKAHEAD_SECONDS: f64 = 0.5;
/// Delay between starting the player and the file's first frame, in seconds: long enough for
/// the first events to be queued before they are due.
const START_DELAY_SECONDS: f64 = 0.05;
/// How often the player looks at the engine's position (far less than the lookahead, so events
/// are always queued in time).
const POLL: Duration = Duration::from_millis(25);

/// A MIDI file being played live.
pub struct MidiFilePlayer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Engine frame at which the file's frame 0 plays.
    start_frame: u64,
    /// Engine frame of the file's end.
    end_frame: u64,
}

impl MidiFilePlayer {
    /// Starts playing `sequence` (timed at the engine's sample rate) to `target` through
    /// `sender`, from shortly after the engine's current frame.
    pub fn start(sequence: MidiSequence, sample_rate: u32, sender: MidiSender, target: MidiTarget) -> Self {
        let frames_now = sender.health().executor().frames();
        let start_frame = frames_now + (START_DELAY_SECONDS * sample_rate as f64) as u64;
        let end_frame = start_frame + sequence.end_frame;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let lookahead = (LOOKAHEAD_SECONDS * sample_rate as f64) as u64;
        let thread = std::thread::Builder::new()
            .name("noderack-midi-file".into())
            .spawn(move || feed(&sequence, sender, target, start_frame, lookahead, &stopping))
            .ok();
        Self { stop, thread, start_frame, end_frame }
    }

    /// Engine frame at which the file's first frame plays.
    pub fn start_frame(&self) -> u64 {
        self.start_frame
    }

    /// Engine frame at which the file ends.
    pub fn end_frame(&self) -> u64 {
        self.end_frame
    }

    /// Stops sending (events already queued still play).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn feed(
    sequence: &MidiSequence,
    mut sender: MidiSender,
    target: MidiTarget,
    start_frame: u64,
    lookahead: u64,
    stop: &AtomicBool,
) {
    for event in &sequence.events {
        let due = start_frame + event.frame;
        loop {
            if stop.load(Ordering::Acquire) {
                return;
            }
            let now = sender.health().executor().frames();
            if due <= now + lookahead && sender.free_slots() > 0 {
                break;
            }
            std::thread::sleep(POLL);
        }
        sender.send(LiveMidi { time: MidiTime::Frame(due), target, message: event.message });
    }
}
