//! Standard MIDI Files (format 0, 1 and 2) to a list of channel messages at engine frames,
//! following the file's tempo map.

use std::path::{Path, PathBuf};

use midly::{MetaMessage, Smf, Timing, TrackEventKind};
use noderack_graph::MidiMessage;

/// A channel message at an absolute engine frame.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TimedMidi {
    /// Frame from the start of the render.
    pub frame: u64,
    /// The message.
    pub message: MidiMessage,
}

/// The channel messages of a MIDI file, sorted by frame (ties keep file order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MidiSequence {
    /// The messages.
    pub events: Vec<TimedMidi>,
    /// Frame of the file's last event of any kind (end of track included).
    pub end_frame: u64,
}

/// Why a MIDI file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MidiFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid Standard MIDI File.
    #[error("{path}: not a valid MIDI file: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
}

/// Reads a MIDI file and times its events at `sample_rate`.
pub fn read_midi_file(path: &Path, sample_rate: f64) -> Result<MidiSequence, MidiFileError> {
    let bytes = std::fs::read(path).map_err(|source| MidiFileError::Io { path: path.to_path_buf(), source })?;
    parse_midi(&bytes, sample_rate).map_err(|reason| MidiFileError::Parse { path: path.to_path_buf(), reason })
}

/// Parses MIDI file bytes; the error says what is wrong.
pub fn parse_midi(bytes: &[u8], sample_rate: f64) -> Result<MidiSequence, String> {
    let smf = Smf::parse(bytes).map_err(|e| e.to_string())?;
    // (tick, track, index-in-track, event) for every event, then one stable order by tick.
    enum Item {
        Tempo(u32),
        Message(MidiMessage),
        Other,
    }
    let mut items: Vec<(u64, usize, usize, Item)> = Vec::new();
    for (t, track) in smf.tracks.iter().enumerate() {
        let mut tick = 0u64;
        for (i, ev) in track.iter().enumerate() {
            tick += u64::from(u32::from(ev.delta));
            let item = match ev.kind {
                TrackEventKind::Meta(MetaMessage::Tempo(us)) => Item::Tempo(u32::from(us)),
                TrackEventKind::Midi { channel, message } => {
                    let mut raw = Vec::with_capacity(3);
                    midly::live::LiveEvent::Midi { channel, message }.write_std(&mut raw).map_err(|e| e.to_string())?;
                    match MidiMessage::from_bytes(&raw) {
                        Some(m) => Item::Message(m),
                        None => Item::Other,
                    }
                }
                _ => Item::Other,
            };
            // Format 2 tracks are nominally independent sequences; like other players, we play
            // all tracks in parallel.
            items.push((tick, t, i, item));
        }
    }
    items.sort_by_key(|(tick, t, i, _)| (*tick, *t, *i));

    // Metrical: ticks per beat (seconds follow the tempo map); timecode: ticks per second.
    let (is_timecode, divisor) = match smf.header.timing {
        Timing::Metrical(tpb) if u16::from(tpb) == 0 => return Err("the header says 0 ticks per beat".into()),
        Timing::Metrical(tpb) => (false, u16::from(tpb) as f64),
        Timing::Timecode(fps, sub) => (true, fps.as_f32() as f64 * sub as f64),
    };
    let mut us_per_beat = 500_000.0f64;
    let mut last_tick = 0u64;
    let mut seconds = 0.0f64;
    let mut out = MidiSequence::default();
    for (tick, _, _, item) in items {
        let dt = (tick - last_tick) as f64;
        seconds += if is_timecode { dt / divisor } else { dt * us_per_beat / 1e6 / divisor };
        last_tick = tick;
        let frame = (seconds * sample_rate).round() as u64;
        out.end_frame = out.end_frame.max(frame);
        match item {
            Item::Tempo(us) if us > 0 => us_per_beat = us as f64,
            Item::Message(message) => out.events.push(TimedMidi { frame, message }),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format-0 file: 480 ticks/beat, tempo 100 bpm at tick 0, note on at beat 1, off at 2.
    fn file() -> Vec<u8> {
        let mut track = vec![
            0x00, 0xff, 0x51, 0x03, 0x09, 0x27, 0xc0, // tempo 600000 us/beat
            0x83, 0x60, 0x90, 60, 100, // delta 480: note on
            0x83, 0x60, 0x80, 60, 0, // delta 480: note off
            0x00, 0xff, 0x2f, 0x00,
        ];
        let mut f = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk".to_vec();
        f.extend_from_slice(&(track.len() as u32).to_be_bytes());
        f.append(&mut track);
        f
    }

    #[test]
    fn events_follow_the_tempo_map() {
        let seq = parse_midi(&file(), 48_000.0).unwrap();
        assert_eq!(seq.events.len(), 2);
        assert_eq!(seq.events[0].frame, 28_800); // 0.6 s
        assert_eq!(seq.events[1].frame, 57_600);
        assert!(matches!(seq.events[1].message, MidiMessage::NoteOff { key: 60, .. }));
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let f = file();
        for cut in [0, 5, 14, 20, f.len() - 3] {
            let _ = parse_midi(&f[..cut], 48_000.0);
        }
        assert!(parse_midi(&f[..10], 48_000.0).is_err());
    }
}
