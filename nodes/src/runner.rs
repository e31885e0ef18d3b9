//! `runner`: plays a `.sw` song when MIDI asks it to. A note-on starts an instance of the song
//! transposed by (note − root) with its velocities scaled by the trigger's; a note-off either
//! stops scheduling and lets sounding notes end at their gates, or ends them at once; instances
//! overlap, up to a preallocated number (the oldest is cut when all are busy); a transport stop
//! ends everything. The song's notes leave on the event output, each on the MIDI channel of its
//! instrument (instrument N on channel N mod 16 + 1: the default instrument on channel 1, the
//! first the song defines on channel 2…), to drive any instrument node.
//!
//! Times are exact frames from the instance's start, computed from the song's tempo map (or, for
//! a song that sets no tempo, the transport's tempo at the trigger), so a runner plays the same
//! at any block size. Starting an instance allocates nothing.

use std::sync::Arc;

use noderack_graph::{
    Event, EventData, MidiMessage, NodeDescription, NodePorts, NodeSignature, PortKind, PortSpec, ProcessConfig,
    ProcessContext, Processor,
};
use noderack_presets::sw::Song;
use noderack_presets::{ConfigError, ConfigReader, NodeConfig};

/// Event input port index.
pub const IN: usize = 0;
/// Event output port index.
pub const OUT: usize = 0;
/// Most instances at once.
pub const MAX_INSTANCES: u32 = 64;

/// What a note-off does to the instance it ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// No new notes; the sounding ones end at their gates.
    Finish,
    /// Every sounding note ends at once.
    Cut,
}

/// One note of the song, prepared: times in seconds (through the song's tempo map) or in beats
/// (a song without a tempo, timed by the transport at the trigger).
#[derive(Copy, Clone, Debug)]
struct PlannedNote {
    start: f64,
    end: f64,
    key: u8,
    velocity: f32,
    channel: u8,
}

/// The song as the processor plays it.
#[derive(Debug)]
pub struct RunnerSong {
    notes: Vec<PlannedNote>,
    /// Whether `start`/`end` are seconds (the song sets its tempo) or beats.
    in_seconds: bool,
    /// The song's length, in the same unit.
    length: f64,
    /// Most notes sounding at once within one instance.
    polyphony: usize,
}

impl RunnerSong {
    /// Prepares `song` for playing.
    pub fn new(song: &Song) -> Self {
        let in_seconds = !song.tempo.is_empty();
        let time = |beats: f64| if in_seconds { song.seconds_at(beats) } else { beats };
        let notes: Vec<PlannedNote> = song
            .notes
            .iter()
            .map(|n| PlannedNote {
                start: time(n.time_beats),
                end: time(n.time_beats + n.gate_beats),
                key: n.key,
                velocity: n.velocity,
                channel: (n.instrument % 16) as u8,
            })
            .collect();
        let mut polyphony = 0;
        let mut ends: Vec<f64> = Vec::new();
        for n in &notes {
            ends.retain(|e| *e > n.start);
            ends.push(n.end);
            polyphony = polyphony.max(ends.len());
        }
        Self { notes, in_seconds, length: time(song.length_beats), polyphony }
    }
}

/// Description of a `runner` node.
pub struct Runner {
    signature: NodeSignature,
    song: Arc<RunnerSong>,
    root: u8,
    instances: usize,
    release: Release,
    looping: bool,
}

impl Runner {
    /// Kind name in patch files.
    pub const KIND: &'static str = "runner";
    /// Settings besides `song` (read by the registry, which compiles the song).
    pub const CONFIG_KEYS: &'static [&'static str] = &["song", "root", "instances", "release", "loop"];

    /// A runner of `song` with the settings in `config` (`root`, default 60; `instances`,
    /// default 8; `release`, `finish` or `cut`; `loop`, default false).
    pub fn from_config(config: &NodeConfig, song: &Song) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(Self::KIND, config, Self::CONFIG_KEYS)?;
        let root = reader.integer("root", 0, 127, 60)? as u8;
        let instances = reader.integer("instances", 1, MAX_INSTANCES, 8)? as usize;
        let release = match reader.text("release", "finish")?.as_str() {
            "finish" => Release::Finish,
            "cut" => Release::Cut,
            other => {
                return Err(ConfigError::BadValue {
                    kind: Self::KIND,
                    key: "release".into(),
                    reason: format!("\"{other}\" is not \"finish\" or \"cut\""),
                })
            }
        };
        let looping = matches!(config.get("loop"), Some(noderack_presets::ConfigValue::Bool(true)));
        Ok(Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::Events)],
                    outputs: vec![PortSpec::new("out", PortKind::Events)],
                },
                params: vec![],
            },
            song: Arc::new(RunnerSong::new(song)),
            root,
            instances,
            release,
            looping,
        })
    }
}

impl NodeDescription for Runner {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        let sounding = (self.song.polyphony.max(1) * self.instances).max(16);
        Box::new(RunnerProcessor {
            song: self.song.clone(),
            root: self.root,
            release: self.release,
            looping: self.looping,
            sample_rate: config.sample_rate as f64,
            instances: vec![Instance::IDLE; self.instances],
            sounding: Vec::with_capacity(sounding),
            was_playing: false,
            started: 0,
        })
    }
}

/// One playing of the song.
#[derive(Copy, Clone, Debug)]
struct Instance {
    active: bool,
    /// No more notes start (a `finish` note-off).
    releasing: bool,
    trigger: (u8, u8),
    /// Engine frame of the song's start (of this pass, when looping).
    start_frame: u64,
    /// Frames per unit of the song's time (seconds or beats).
    frames_per_unit: f64,
    transpose: i32,
    velocity: f32,
    next: usize,
    /// Order of starting, to cut the oldest when all are busy.
    serial: u64,
}

impl Instance {
    const IDLE: Instance = Instance {
        active: false,
        releasing: false,
        trigger: (0, 0),
        start_frame: 0,
        frames_per_unit: 0.0,
        transpose: 0,
        velocity: 0.0,
        next: 0,
        serial: 0,
    };
}

/// A note the runner started and has not ended.
#[derive(Copy, Clone, Debug)]
struct Sounding {
    instance: usize,
    key: u8,
    channel: u8,
    off_frame: u64,
}

struct RunnerProcessor {
    song: Arc<RunnerSong>,
    root: u8,
    release: Release,
    looping: bool,
    sample_rate: f64,
    instances: Vec<Instance>,
    sounding: Vec<Sounding>,
    was_playing: bool,
    started: u64,
}

impl RunnerProcessor {
    /// Emits every note start and end of every instance in `[from, to)` (engine frames),
    /// relative to `chunk_start`.
    fn schedule(&mut self, from: u64, to: u64, chunk_start: u64, out: &mut noderack_graph::EventBuffer) {
        let Self { song, instances, sounding, looping, .. } = self;
        let (song, looping) = (&**song, *looping);
        let at = |frame: u64| (frame - chunk_start) as u32;
        // Ends first: a note ending where another begins is released before it starts again.
        let mut i = 0;
        while i < sounding.len() {
            let s = sounding[i];
            if s.off_frame < to {
                let _ = out.push(Event::midi(
                    at(s.off_frame.max(from)),
                    MidiMessage::NoteOff { channel: s.channel, key: s.key, velocity: 64 },
                ));
                sounding.swap_remove(i);
            } else {
                i += 1;
            }
        }
        for (index, slot) in instances.iter_mut().enumerate() {
            let mut instance = *slot;
            if !instance.active {
                continue;
            }
            loop {
                if instance.releasing || instance.next >= song.notes.len() {
                    let length_frames = (song.length * instance.frames_per_unit).round() as u64;
                    if looping && !instance.releasing && length_frames > 0 {
                        let next_start = instance.start_frame + length_frames;
                        if next_start < to {
                            instance.start_frame = next_start;
                            instance.next = 0;
                            continue;
                        }
                    }
                    break;
                }
                let note = song.notes[instance.next];
                let start = instance.start_frame + (note.start * instance.frames_per_unit).round() as u64;
                if start >= to {
                    break;
                }
                instance.next += 1;
                let key = note.key as i32 + instance.transpose;
                if !(0..=127).contains(&key) || start < from {
                    continue;
                }
                let end = instance.start_frame + (note.end * instance.frames_per_unit).round() as u64;
                let velocity = ((note.velocity * instance.velocity * 127.0).round() as u8).clamp(1, 127);
                let (key, channel) = (key as u8, note.channel);
                let _ = out.push(Event::midi(at(start), MidiMessage::NoteOn { channel, key, velocity }));
                let off_frame = end.max(start + 1);
                if off_frame < to {
                    let _ = out.push(Event::midi(at(off_frame), MidiMessage::NoteOff { channel, key, velocity: 64 }));
                } else if sounding.len() < sounding.capacity() {
                    sounding.push(Sounding { instance: index, key, channel, off_frame });
                } else {
                    // No room to remember it: end it now rather than leave it hanging.
                    let _ = out.push(Event::midi(at(start), MidiMessage::NoteOff { channel, key, velocity: 64 }));
                }
            }
            let done = (instance.releasing || (!looping && instance.next >= song.notes.len()))
                && !sounding.iter().any(|s| s.instance == index);
            if done {
                instance.active = false;
            }
            *slot = instance;
        }
    }

    /// Ends every sounding note of instance `index` (all instances: `None`) at `frame`.
    fn cut(&mut self, index: Option<usize>, frame: u32, out: &mut noderack_graph::EventBuffer) {
        let mut i = 0;
        while i < self.sounding.len() {
            let s = self.sounding[i];
            if index.is_none_or(|x| x == s.instance) {
                let _ =
                    out.push(Event::midi(frame, MidiMessage::NoteOff { channel: s.channel, key: s.key, velocity: 64 }));
                self.sounding.swap_remove(i);
            } else {
                i += 1;
            }
        }
        for (n, instance) in self.instances.iter_mut().enumerate() {
            if index.is_none_or(|x| x == n) {
                instance.active = false;
            }
        }
    }

    /// Starts an instance for the note-on `(channel, key, velocity)` at engine frame `frame`
    /// (`at` in the chunk), cutting the oldest when all are busy.
    fn trigger(
        &mut self,
        (channel, key, velocity): (u8, u8, u8),
        frame: u64,
        tempo_bpm: f64,
        out: &mut noderack_graph::EventBuffer,
        at: u32,
    ) {
        let index = match self.instances.iter().position(|i| !i.active) {
            Some(free) => free,
            None => {
                let oldest = (0..self.instances.len()).min_by_key(|&i| self.instances[i].serial).unwrap_or(0);
                self.cut(Some(oldest), at, out);
                oldest
            }
        };
        let frames_per_unit = if self.song.in_seconds {
            self.sample_rate
        } else {
            self.sample_rate * 60.0 / tempo_bpm.clamp(1.0, 10_000.0)
        };
        self.started += 1;
        self.instances[index] = Instance {
            active: true,
            releasing: false,
            trigger: (channel, key),
            start_frame: frame,
            frames_per_unit,
            transpose: key as i32 - self.root as i32,
            velocity: velocity as f32 / 127.0,
            next: 0,
            serial: self.started,
        };
    }

    fn release_key(&mut self, channel: u8, key: u8, at: u32, out: &mut noderack_graph::EventBuffer) {
        for index in 0..self.instances.len() {
            let instance = self.instances[index];
            if instance.active && !instance.releasing && instance.trigger == (channel, key) {
                match self.release {
                    Release::Finish => self.instances[index].releasing = true,
                    Release::Cut => self.cut(Some(index), at, out),
                }
            }
        }
    }
}

impl Processor for RunnerProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames() as u64;
        let transport = ctx.transport();
        let chunk_start = transport.engine_frame;
        let (playing, tempo) = (transport.playing, transport.tempo_bpm);
        let events = ctx.inputs().events(IN);
        let mut outputs = ctx.outputs();
        let Some(out) = outputs.events_mut(OUT) else { return };
        if self.was_playing && !playing {
            self.cut(None, 0, out);
        }
        self.was_playing = playing;
        let mut from = chunk_start;
        for event in events {
            let frame = chunk_start + (event.time_frames as u64).min(frames.saturating_sub(1));
            self.schedule(from, frame, chunk_start, out);
            from = frame;
            let at = (frame - chunk_start) as u32;
            match event.data {
                EventData::Midi(MidiMessage::NoteOn { channel, key, velocity }) if velocity > 0 => {
                    self.trigger((channel, key, velocity), frame, tempo, out, at);
                }
                EventData::Midi(
                    MidiMessage::NoteOn { channel, key, .. } | MidiMessage::NoteOff { channel, key, .. },
                ) => {
                    self.release_key(channel, key, at, out);
                }
                _ => {}
            }
        }
        self.schedule(from, chunk_start + frames, chunk_start, out);
    }
}
