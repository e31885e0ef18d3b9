//! What a `.sw` source compiles to: notes on a timeline in beats, a tempo map, the instruments
//! the song defines, its length and how it ends.

use std::ops::Range;

use serde::Serialize;

/// A compiled song.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Song {
    /// Every note, by start time (source order among equal times).
    pub notes: Vec<SongNote>,
    /// Instruments by index; 0 is the default (a triangle oscillator).
    pub instruments: Vec<InstrumentDef>,
    /// Tempo changes by time (120 BPM before the first).
    pub tempo: Vec<TempoChange>,
    /// Where the last step of any track ends, in beats.
    pub length_beats: f64,
    /// How a renderer decides the song's end.
    pub end_mode: EndMode,
    /// Top-level `const`s holding numbers, in source order: what a runner's controllers and
    /// `--set` may change ([`CompileOptions::set`]).
    pub parameters: Vec<SongParameter>,
}

/// A top-level `const NAME = number`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SongParameter {
    /// Its name.
    pub name: String,
    /// The value the song gives it.
    pub default: f64,
}

impl Song {
    /// A song with no notes and the default instrument.
    pub fn empty() -> Self {
        Self {
            notes: Vec::new(),
            instruments: vec![InstrumentDef::Oscillator(OscillatorDef::default())],
            tempo: Vec::new(),
            length_beats: 0.0,
            end_mode: EndMode::Tail,
            parameters: Vec::new(),
        }
    }

    /// The tempo at `beats` (BPM).
    pub fn bpm_at(&self, beats: f64) -> f64 {
        self.change_at(beats).map_or(DEFAULT_BPM, |t| t.bpm)
    }

    /// Seconds from the start to `beats`, through the tempo map.
    pub fn seconds_at(&self, beats: f64) -> f64 {
        match self.change_at(beats) {
            Some(t) => t.seconds + (beats - t.time_beats) * 60.0 / t.bpm,
            None => beats * 60.0 / DEFAULT_BPM,
        }
    }

    /// The last tempo change at or before `beats`.
    fn change_at(&self, beats: f64) -> Option<&TempoChange> {
        let after = self.tempo.partition_point(|t| t.time_beats <= beats);
        after.checked_sub(1).map(|i| &self.tempo[i])
    }

    /// Sets the tempo map from `(beats, bpm)` changes in time order.
    pub fn set_tempo(&mut self, changes: impl IntoIterator<Item = (f64, f64)>) {
        self.tempo.clear();
        let (mut seconds, mut at, mut bpm) = (0.0, 0.0, DEFAULT_BPM);
        for (time_beats, new_bpm) in changes {
            seconds += (time_beats - at) * 60.0 / bpm;
            (at, bpm) = (time_beats, new_bpm);
            self.tempo.push(TempoChange { time_beats, bpm, seconds });
        }
    }
}

/// The tempo of a song that sets none.
pub const DEFAULT_BPM: f64 = 120.0;

/// One note.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SongNote {
    /// When it starts, in beats.
    pub time_beats: f64,
    /// MIDI key (C4 = 60).
    pub key: u8,
    /// 0–1 (a note without `*` has 100/127).
    pub velocity: f32,
    /// How long it sounds, in beats.
    pub gate_beats: f64,
    /// Index into [`Song::instruments`].
    pub instrument: usize,
    /// The frequency of A4 for this note (`track.tuningPitch`, default 440).
    pub tuning_hz: f32,
    /// Its bytes in the source.
    pub span: Range<usize>,
}

/// A tempo change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TempoChange {
    /// From this beat on.
    pub time_beats: f64,
    /// Beats per minute.
    pub bpm: f64,
    /// Seconds from the start of the song to this change.
    pub seconds: f64,
}

/// An instrument a song defines.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InstrumentDef {
    /// `loadPreset("Lib/Name")`.
    Preset {
        /// The query.
        name: String,
        /// Where it is named.
        span: Range<usize>,
    },
    /// `Oscillator({…})`.
    Oscillator(OscillatorDef),
    /// `Composite({mode: 'layer', children: […]})`.
    Composite {
        /// How children combine.
        mode: CompositeMode,
        /// Indexes into [`Song::instruments`].
        children: Vec<usize>,
    },
}

/// An oscillator instrument; unset fields take the synth's defaults.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OscillatorDef {
    /// `sine`, `square`, `sawtooth` or `triangle`.
    pub waveform: String,
    /// Attack in seconds.
    pub attack: Option<f64>,
    /// Decay in seconds.
    pub decay: Option<f64>,
    /// Sustain level 0–1.
    pub sustain: Option<f64>,
    /// Release in seconds.
    pub release: Option<f64>,
    /// Detune in cents.
    pub detune: Option<f64>,
    /// Level 0–1.
    pub mixer: Option<f64>,
}

impl Default for OscillatorDef {
    fn default() -> Self {
        Self {
            waveform: "triangle".into(),
            attack: None,
            decay: None,
            sustain: None,
            release: None,
            detune: None,
            mixer: None,
        }
    }
}

/// How a composite's children combine.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompositeMode {
    /// All play every note.
    Layer,
}

/// How a song ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndMode {
    /// At the last gate.
    Gate,
    /// When the last release has finished.
    Release,
    /// When everything, effects included, has died away (the default).
    Tail,
}

/// Whether a track call without a step lets its caller go on at once (ours) or after the
/// track (the reference compiler's reading, for comparing event lists).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum CallTiming {
    /// The caller goes on at once: calls play beside each other.
    #[default]
    Parallel,
    /// The caller goes on where the track ended.
    Sequential,
}

/// Checks `loadPreset` names as the song is compiled.
pub trait PresetCheck {
    /// `Ok` if `name` names a preset; else the closest names there are.
    fn check(&self, name: &str) -> Result<(), Vec<String>>;
}

/// How to compile.
#[derive(Clone, Copy, Default)]
pub struct CompileOptions<'a> {
    /// Call timing.
    pub calls: CallTiming,
    /// Where preset names are checked (not checked without one).
    pub presets: Option<&'a dyn PresetCheck>,
    /// Values for song parameters (top-level `const`s holding numbers), replacing the song's.
    pub set: &'a [(&'a str, f64)],
}
