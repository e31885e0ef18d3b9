//! Builds MIDI input for tests: timed messages and Standard MIDI File bytes.

use noderack_graph::MidiMessage;
use noderack_host::TimedMidi;

/// Note-on at `frame`.
pub fn note_on(frame: u64, channel: u8, key: u8, velocity: u8) -> TimedMidi {
    TimedMidi { frame, message: MidiMessage::NoteOn { channel, key, velocity } }
}

/// Note-off at `frame`.
pub fn note_off(frame: u64, channel: u8, key: u8) -> TimedMidi {
    TimedMidi { frame, message: MidiMessage::NoteOff { channel, key, velocity: 64 } }
}

/// Control change at `frame`.
pub fn cc(frame: u64, channel: u8, controller: u8, value: u8) -> TimedMidi {
    TimedMidi { frame, message: MidiMessage::ControlChange { channel, controller, value } }
}

/// Program change at `frame`.
pub fn program_change(frame: u64, channel: u8, program: u8) -> TimedMidi {
    TimedMidi { frame, message: MidiMessage::ProgramChange { channel, program } }
}

/// Sorts by frame, keeping the given order for equal frames.
pub fn sorted(mut events: Vec<TimedMidi>) -> Vec<TimedMidi> {
    events.sort_by_key(|e| e.frame);
    events
}

/// A dense, deterministic stream: `notes` notes over `frames` frames on `channels` channels,
/// overlapping, with sustain pedal, pitch bend and channel volume/pan/expression moves (a linear congruential generator keeps
/// it reproducible without a dependency).
pub fn dense_stream(frames: u64, notes: usize, channels: u8, seed: u64) -> Vec<TimedMidi> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n.max(1)
    };
    let mut out = Vec::new();
    for _ in 0..notes {
        let start = next(frames);
        let len = 200 + next(frames / 4 + 1);
        let ch = next(channels as u64) as u8;
        let key = 36 + next(60) as u8;
        out.push(note_on(start, ch, key, 20 + next(100) as u8));
        out.push(note_off((start + len).min(frames - 1), ch, key));
        if next(8) == 0 {
            out.push(cc(start, ch, 64, if next(2) == 0 { 127 } else { 0 }));
        }
        if next(8) == 0 {
            out.push(TimedMidi {
                frame: start,
                message: MidiMessage::PitchBend { channel: ch, value: next(16_000) as i16 - 8000 },
            });
        }
        if next(8) == 0 {
            let controller = [7, 10, 11][next(3) as usize];
            out.push(cc(start, ch, controller, next(128) as u8));
        }
    }
    sorted(out)
}

/// A format-0 Standard MIDI File with `events` (at 120 bpm, 480 ticks per beat, so one tick is
/// 1/960 s) — for tests of the file reader and the CLI.
pub fn smf_bytes(events: &[(u32, [u8; 3])]) -> Vec<u8> {
    let mut sorted: Vec<(u32, [u8; 3])> = events.to_vec();
    sorted.sort_by_key(|e| e.0);
    let mut track = Vec::new();
    let mut last = 0u32;
    for (tick, msg) in sorted {
        write_vlq(&mut track, tick - last);
        last = tick;
        let len = if matches!(msg[0] & 0xf0, 0xc0 | 0xd0) { 2 } else { 3 };
        track.extend_from_slice(&msg[..len]);
    }
    track.extend_from_slice(&[0x00, 0xff, 0x2f, 0x00]);
    let mut f = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk".to_vec();
    f.extend_from_slice(&(track.len() as u32).to_be_bytes());
    f.extend_from_slice(&track);
    f
}

fn write_vlq(out: &mut Vec<u8>, mut v: u32) {
    let mut bytes = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        bytes.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    bytes.reverse();
    out.extend_from_slice(&bytes);
}

/// Hands out a sorted MIDI stream block by block, as engine events timed within each block:
/// how tests drive an executor directly (around `assert_no_alloc`).
pub struct MidiBlocks<'a> {
    midi: &'a [TimedMidi],
    cursor: usize,
}

impl<'a> MidiBlocks<'a> {
    /// Blocks of `midi` (sorted by frame).
    pub fn new(midi: &'a [TimedMidi]) -> Self {
        Self { midi, cursor: 0 }
    }

    /// The events of the block of `frames` frames starting at `start` (blocks asked for in
    /// order).
    pub fn events(&mut self, start: u64, frames: u64) -> Vec<noderack_graph::Event> {
        let first = self.cursor;
        while self.cursor < self.midi.len() && self.midi[self.cursor].frame < start + frames {
            self.cursor += 1;
        }
        self.midi[first..self.cursor]
            .iter()
            .map(|m| noderack_graph::Event::midi(m.frame.saturating_sub(start) as u32, m.message))
            .collect()
    }
}
