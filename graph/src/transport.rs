//! Musical time handed to every process call, so runners and tempo-synced effects can follow
//! the host (a DAW through the plugin, or the server's own clock).

/// Where the music is at the first frame of the current chunk.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Transport {
    /// Tempo in beats (quarter notes) per minute.
    pub tempo_bpm: f64,
    /// Time signature numerator.
    pub beats_per_bar: u8,
    /// Time signature denominator.
    pub beat_unit: u8,
    /// Whether the transport is running (position advances only when it is).
    pub playing: bool,
    /// Musical position in beats at the first frame of the chunk.
    pub position_beats: f64,
    /// Frames processed by the engine before this chunk (monotonic, never rewinds).
    pub engine_frame: u64,
}

impl Default for Transport {
    fn default() -> Self {
        Self { tempo_bpm: 120.0, beats_per_bar: 4, beat_unit: 4, playing: true, position_beats: 0.0, engine_frame: 0 }
    }
}

impl Transport {
    /// Moves the position on by `frames` at `sample_rate`.
    pub fn advance(&mut self, frames: usize, sample_rate: f32) {
        self.engine_frame += frames as u64;
        if self.playing {
            self.position_beats += frames as f64 * self.tempo_bpm / (60.0 * sample_rate as f64);
        }
    }
}
