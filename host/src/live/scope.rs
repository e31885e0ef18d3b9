//! A live oscilloscope of the first output bus (its channels averaged), for clients: the audio
//! thread copies each block into a lock-free ring (what does not fit is dropped: a scope shows
//! the latest audio, never holds up the callback); the control side drains it and takes a
//! window that starts on a rising zero crossing, so a steady tone stands still on screen.

/// The audio thread's end.
pub struct ScopeTap {
    producer: rtrb::Producer<f32>,
    channels: usize,
}

impl ScopeTap {
    /// Copies `frames` frames of the first `channels` of `outputs`, averaged, if they fit.
    pub(crate) fn push(&mut self, outputs: &[&mut [f32]], frames: usize) {
        let channels = self.channels.min(outputs.len());
        if channels == 0 {
            return;
        }
        let frames = outputs[..channels].iter().map(|c| c.len()).fold(frames, usize::min).min(self.producer.slots());
        let Ok(chunk) = self.producer.write_chunk_uninit(frames) else { return };
        let scale = 1.0 / channels as f32;
        chunk.fill_from_iter((0..frames).map(|i| outputs[..channels].iter().map(|c| c[i]).sum::<f32>() * scale));
    }
}

/// The control side: the latest audio of the bus.
pub struct Scope {
    consumer: rtrb::Consumer<f32>,
    /// The most recent samples, oldest first (at most `2 · window` of them).
    recent: Vec<f32>,
    window: usize,
}

impl Scope {
    /// A scope of `channels` channels (the first bus's), showing `window` frames, with a ring
    /// of `ring_frames`.
    pub fn new(channels: usize, window: usize, ring_frames: usize) -> (Scope, ScopeTap) {
        let (producer, consumer) = rtrb::RingBuffer::new(ring_frames.max(window));
        let scope = Scope { consumer, recent: Vec::with_capacity(4 * window), window };
        (scope, ScopeTap { producer, channels })
    }

    /// Moves what the audio thread wrote into the recent samples (call it often: every few
    /// milliseconds, so that the ring never fills).
    pub fn drain(&mut self) {
        let available = self.consumer.slots();
        if let Ok(chunk) = self.consumer.read_chunk(available) {
            self.recent.extend(chunk);
        }
        let keep = 2 * self.window;
        if self.recent.len() > keep {
            self.recent.drain(..self.recent.len() - keep);
        }
    }

    /// The latest `window` frames (fewer before that much has played), starting on the last
    /// rising zero crossing that leaves a whole window after it, if any.
    pub fn snapshot(&mut self) -> &[f32] {
        self.drain();
        let recent = &self.recent;
        if recent.len() <= self.window {
            return recent;
        }
        let latest = recent.len() - self.window;
        let start = (1..=latest).rev().find(|&i| recent[i - 1] < 0.0 && recent[i] >= 0.0).unwrap_or(latest);
        &recent[start..start + self.window]
    }
}
