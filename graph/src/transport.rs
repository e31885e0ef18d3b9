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

/// A change of the transport asked for by the control side (a client pressing play, setting the
/// tempo); fields left `None` keep their value. Applied at the next block boundary.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct TransportChange {
    /// New tempo in beats per minute.
    pub tempo_bpm: Option<f64>,
    /// New time signature (numerator, denominator).
    pub signature: Option<(u8, u8)>,
    /// Start or stop.
    pub playing: Option<bool>,
    /// Jump to this position, in beats.
    pub position_beats: Option<f64>,
}

impl Transport {
    /// Applies `change` (values out of range are clamped: tempo 1–999 bpm, signature parts
    /// at least 1, position at least 0).
    pub fn apply(&mut self, change: &TransportChange) {
        if let Some(tempo) = change.tempo_bpm.filter(|t| t.is_finite()) {
            self.tempo_bpm = tempo.clamp(1.0, 999.0);
        }
        if let Some((beats, unit)) = change.signature {
            self.beats_per_bar = beats.max(1);
            self.beat_unit = unit.max(1);
        }
        if let Some(playing) = change.playing {
            self.playing = playing;
        }
        if let Some(position) = change.position_beats.filter(|p| p.is_finite()) {
            self.position_beats = position.max(0.0);
        }
    }
}
