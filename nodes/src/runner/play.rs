//! The runner's processor: instances of the song scheduled on exact frames, the notes sent to
//! the event output and to the hosted instruments.

use std::sync::Arc;

use noderack_graph::{Event, EventBuffer, EventData, MidiMessage, ProcessConfig, ProcessContext, Processor, Transport};

use super::rack::Rack;
use super::song::{PlannedNote, RunnerSong};
use super::{Quantize, Release, RunnerSettings, AUDIO, IN, OUT};

/// Most notes a runner keeps sounding at once, over all its instances (more end at once).
const MAX_SOUNDING: usize = 4096;

/// One playing of the song. Its position maps to frames through an anchor: song time
/// `anchor_units` (counted from the first pass's start) falls on engine frame `anchor_frame`,
/// and `frames_per_unit` frames follow per unit; the anchor moves when the tempo does.
#[derive(Copy, Clone, Debug)]
struct Instance {
    active: bool,
    /// No more notes start (a `finish` note-off).
    releasing: bool,
    trigger: (u8, u8),
    anchor_frame: u64,
    anchor_units: f64,
    frames_per_unit: f64,
    /// Where the current pass starts, in song time.
    pass_units: f64,
    transpose: i32,
    velocity: f32,
    /// The next note of the current pass.
    next: usize,
    /// Order of starting, to cut the oldest when all are busy.
    serial: u64,
}

impl Instance {
    const IDLE: Instance = Instance {
        active: false,
        releasing: false,
        trigger: (0, 0),
        anchor_frame: 0,
        anchor_units: 0.0,
        frames_per_unit: 0.0,
        pass_units: 0.0,
        transpose: 0,
        velocity: 0.0,
        next: 0,
        serial: 0,
    };

    /// The engine frame at song time `units`.
    fn frame_at(&self, units: f64) -> u64 {
        let offset = ((units - self.anchor_units) * self.frames_per_unit).round();
        (self.anchor_frame as f64 + offset).max(0.0) as u64
    }

    /// The song time at engine frame `frame`.
    fn units_at(&self, frame: u64) -> f64 {
        self.anchor_units + (frame as f64 - self.anchor_frame as f64) / self.frames_per_unit
    }
}

/// A note the runner started and has not ended.
#[derive(Copy, Clone, Debug)]
struct Sounding {
    instance: usize,
    key: u8,
    channel: u8,
    group: u16,
    /// Where it ends, in its instance's song time.
    off_units: f64,
    /// Where it ends, in engine frames (kept in step with `off_units` when the tempo moves).
    off_frame: u64,
}

/// Where the notes go: the event output (if connected) and the hosted instruments (if any).
struct Sink<'a> {
    out: Option<&'a mut EventBuffer>,
    rack: Option<&'a mut Box<Rack>>,
}

impl Sink<'_> {
    fn note(&mut self, at: u32, group: u16, message: MidiMessage) {
        if let Some(out) = self.out.as_deref_mut() {
            let _ = out.push(Event::midi(at, message));
        }
        if let Some(rack) = self.rack.as_deref_mut() {
            rack.note(at, group, message);
        }
    }

    fn channel_message(&mut self, at: u32, channel: u8, message: MidiMessage) {
        if let Some(out) = self.out.as_deref_mut() {
            let _ = out.push(Event::midi(at, message));
        }
        if let Some(rack) = self.rack.as_deref_mut() {
            rack.channel_message(at, channel, message);
        }
    }
}

fn note_off(channel: u8, key: u8) -> MidiMessage {
    MidiMessage::NoteOff { channel, key, velocity: 64 }
}

pub(crate) struct RunnerProcessor {
    song: Arc<RunnerSong>,
    settings: RunnerSettings,
    sample_rate: f64,
    instances: Vec<Instance>,
    sounding: Vec<Sounding>,
    /// The version of the song playing (see [`RunnerSong`]).
    variant: usize,
    /// Each controller's step, once it has moved.
    steps: Vec<Option<u32>>,
    was_playing: bool,
    started: u64,
    rack: Option<Box<Rack>>,
}

impl RunnerProcessor {
    pub fn new(
        song: Arc<RunnerSong>,
        settings: RunnerSettings,
        config: &ProcessConfig,
        rack: Option<Box<Rack>>,
    ) -> Self {
        let sounding = (song.polyphony.max(1) * settings.instances).clamp(16, MAX_SOUNDING);
        Self {
            steps: vec![None; song.controls.len()],
            song,
            settings,
            sample_rate: config.sample_rate as f64,
            instances: vec![Instance::IDLE; settings.instances],
            sounding: Vec::with_capacity(sounding),
            variant: 0,
            was_playing: false,
            started: 0,
            rack,
        }
    }

    /// Frames per unit of song time at `tempo_bpm`.
    fn frames_per_unit(&self, tempo_bpm: f64) -> f64 {
        if self.song.in_seconds {
            self.sample_rate
        } else {
            self.sample_rate * 60.0 / tempo_bpm.clamp(1.0, 10_000.0)
        }
    }

    /// Keeps every instance of a song without its own tempo in step with the transport's
    /// tempo from `frame` on.
    fn follow_tempo(&mut self, frame: u64, tempo_bpm: f64) {
        let frames_per_unit = self.frames_per_unit(tempo_bpm);
        for (index, instance) in self.instances.iter_mut().enumerate().filter(|(_, i)| i.active) {
            if instance.frames_per_unit != frames_per_unit {
                if instance.anchor_frame < frame {
                    instance.anchor_units = instance.units_at(frame);
                    instance.anchor_frame = frame;
                }
                instance.frames_per_unit = frames_per_unit;
                for note in self.sounding.iter_mut().filter(|s| s.instance == index) {
                    note.off_frame = instance.frame_at(note.off_units).max(frame);
                }
            }
        }
    }

    /// Emits every note start and end of every instance in `[from, to)` (engine frames),
    /// relative to `chunk_start`.
    fn schedule(&mut self, from: u64, to: u64, chunk_start: u64, sink: &mut Sink<'_>) {
        let Self { song, instances, sounding, settings, variant, .. } = self;
        let notes: &[PlannedNote] = &song.variants[*variant].notes;
        let length = song.variants[*variant].length;
        let looping = settings.looping;
        let at = |frame: u64| (frame - chunk_start) as u32;
        // Ends first: a note ending where another begins is released before it starts again.
        let mut i = 0;
        while i < sounding.len() {
            let s = sounding[i];
            if s.off_frame < to {
                sink.note(at(s.off_frame.max(from)), s.group, note_off(s.channel, s.key));
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
                if instance.releasing || instance.next >= notes.len() {
                    if looping && !instance.releasing && length > 0.0 {
                        let next_pass = instance.pass_units + length;
                        if instance.frame_at(next_pass) < to {
                            instance.pass_units = next_pass;
                            instance.next = 0;
                            continue;
                        }
                    }
                    break;
                }
                let note = notes[instance.next];
                let start = instance.frame_at(instance.pass_units + note.start);
                if start >= to {
                    break;
                }
                instance.next += 1;
                let key = note.key as i32 + instance.transpose;
                if !(0..=127).contains(&key) {
                    continue;
                }
                let start = start.max(from);
                let off_units = instance.pass_units + note.end;
                let velocity = ((note.velocity * instance.velocity * 127.0).round() as u8).clamp(1, 127);
                let (key, channel) = (key as u8, note.channel);
                sink.note(at(start), note.group, MidiMessage::NoteOn { channel, key, velocity });
                let off_frame = instance.frame_at(off_units).max(start + 1);
                if off_frame < to {
                    sink.note(at(off_frame), note.group, note_off(channel, key));
                } else if sounding.len() < sounding.capacity() {
                    sounding.push(Sounding { instance: index, key, channel, group: note.group, off_units, off_frame });
                } else {
                    // No room to remember it: end it now rather than leave it hanging.
                    sink.note(at(start), note.group, note_off(channel, key));
                }
            }
            let done = (instance.releasing || (!looping && instance.next >= notes.len()))
                && !sounding.iter().any(|s| s.instance == index);
            if done {
                instance.active = false;
            }
            *slot = instance;
        }
    }

    /// Ends every sounding note of instance `index` (all instances: `None`) at `at`.
    fn cut(&mut self, index: Option<usize>, at: u32, sink: &mut Sink<'_>) {
        let mut i = 0;
        while i < self.sounding.len() {
            let s = self.sounding[i];
            if index.is_none_or(|x| x == s.instance) {
                sink.note(at, s.group, note_off(s.channel, s.key));
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
        transport: &Transport,
        at: u32,
        sink: &mut Sink<'_>,
    ) {
        let index = match self.instances.iter().position(|i| !i.active) {
            Some(free) => free,
            None => {
                let oldest = (0..self.instances.len()).min_by_key(|&i| self.instances[i].serial).unwrap_or(0);
                self.cut(Some(oldest), at, sink);
                oldest
            }
        };
        let start = frame + self.quantize_delay(frame, transport);
        self.started += 1;
        self.instances[index] = Instance {
            active: true,
            releasing: false,
            trigger: (channel, key),
            anchor_frame: start,
            anchor_units: 0.0,
            frames_per_unit: self.frames_per_unit(transport.tempo_bpm),
            pass_units: 0.0,
            transpose: key as i32 - self.settings.root as i32,
            velocity: velocity as f32 / 127.0,
            next: 0,
            serial: self.started,
        };
    }

    /// Frames from `frame` to the next beat or bar of the transport (0 when not quantizing,
    /// when on one already, or when the transport is stopped).
    fn quantize_delay(&self, frame: u64, transport: &Transport) -> u64 {
        let grid_beats = match self.settings.quantize {
            Quantize::Off => return 0,
            Quantize::Beat => 4.0 / transport.beat_unit.max(1) as f64,
            Quantize::Bar => transport.beats_per_bar.max(1) as f64 * 4.0 / transport.beat_unit.max(1) as f64,
        };
        if !transport.playing {
            return 0;
        }
        let frames_per_beat = self.sample_rate * 60.0 / transport.tempo_bpm.clamp(1.0, 10_000.0);
        let beat = transport.position_beats + (frame - transport.engine_frame) as f64 / frames_per_beat;
        // Within a thousandth of a beat of a line counts as on it.
        let next = ((beat / grid_beats) - 1e-3).ceil().max(0.0) * grid_beats;
        ((next - beat).max(0.0) * frames_per_beat).round() as u64
    }

    fn release_key(&mut self, channel: u8, key: u8, at: u32, sink: &mut Sink<'_>) {
        for index in 0..self.instances.len() {
            let instance = self.instances[index];
            if instance.active && !instance.releasing && instance.trigger == (channel, key) {
                match self.settings.release {
                    Release::Finish => self.instances[index].releasing = true,
                    Release::Cut => self.cut(Some(index), at, sink),
                }
            }
        }
    }

    /// A controller moved: if it sets a song parameter, play the version for its step from
    /// `frame` on (sounding notes end as planned). Returns whether it was mapped.
    fn control(&mut self, controller: u8, value: u8, frame: u64) -> bool {
        let mut mapped = false;
        for (n, control) in self.song.controls.iter().enumerate() {
            if control.cc == controller {
                self.steps[n] = Some(control.step_of(value));
                mapped = true;
            }
        }
        if !mapped {
            return false;
        }
        // Controllers that have not moved stay at the step nearest the song's own value.
        let mut index = 0;
        let mut scale = 1;
        for (n, control) in self.song.controls.iter().enumerate() {
            let step = self.steps[n].unwrap_or(0);
            index += step as usize * scale;
            scale *= control.steps as usize;
        }
        let variant = (1 + index).min(self.song.variants.len() - 1);
        if variant != self.variant {
            self.variant = variant;
            let notes = &self.song.variants[variant].notes;
            for instance in self.instances.iter_mut().filter(|i| i.active && !i.releasing) {
                instance.next =
                    notes.partition_point(|note| instance.frame_at(instance.pass_units + note.start) < frame);
            }
        }
        true
    }
}

impl Processor for RunnerProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames() as u64;
        let transport = *ctx.transport();
        let chunk_start = transport.engine_frame;
        let events = ctx.inputs().events(IN);
        let mut outputs = ctx.outputs();
        let mut rack = self.rack.take();
        if let Some(rack) = rack.as_mut() {
            rack.clear();
        }
        {
            let mut sink = Sink { out: outputs.events_mut(OUT), rack: rack.as_mut() };
            if self.was_playing && !transport.playing {
                self.cut(None, 0, &mut sink);
            }
            self.was_playing = transport.playing;
            self.follow_tempo(chunk_start, transport.tempo_bpm);
            let mut from = chunk_start;
            for event in events {
                let frame = chunk_start + (event.time_frames as u64).min(frames.saturating_sub(1));
                self.schedule(from, frame, chunk_start, &mut sink);
                from = frame;
                let at = (frame - chunk_start) as u32;
                let EventData::Midi(message) = event.data else { continue };
                match message {
                    MidiMessage::NoteOn { channel, key, velocity } if velocity > 0 => {
                        self.trigger((channel, key, velocity), frame, &transport, at, &mut sink);
                    }
                    MidiMessage::NoteOn { channel, key, .. } | MidiMessage::NoteOff { channel, key, .. } => {
                        self.release_key(channel, key, at, &mut sink);
                    }
                    MidiMessage::ControlChange { controller, value, .. } if self.control(controller, value, frame) => {}
                    MidiMessage::PitchBend { value, .. } => {
                        for &channel in &self.song.channels {
                            sink.channel_message(at, channel, MidiMessage::PitchBend { channel, value });
                        }
                    }
                    MidiMessage::ControlChange { controller, value, .. } => {
                        for &channel in &self.song.channels {
                            sink.channel_message(
                                at,
                                channel,
                                MidiMessage::ControlChange { channel, controller, value },
                            );
                        }
                    }
                    _ => {}
                }
            }
            self.schedule(from, chunk_start + frames, chunk_start, &mut sink);
        }
        let (left, right) = outputs.stereo_mut(AUDIO);
        let voices = match rack.as_mut() {
            Some(rack) => rack.render(left, right),
            None => {
                left.fill(0.0);
                right.fill(0.0);
                0
            }
        };
        // Moving the box back and forth moves a pointer.
        self.rack = rack;
        ctx.report_voices(voices);
    }
}
