//! Hosts that drive noderack's executor. For now: the offline renderer (used by
//! `noderack render` and by the tests, so both run the very same real-time code path),
//! Standard MIDI File input and WAV output.

pub mod midi_file;
pub mod offline;
pub mod wav;

pub use midi_file::{read_midi_file, MidiFileError, MidiSequence, TimedMidi};
pub use offline::OfflineRenderer;
pub use wav::{write_wav, WavError, WavFormat, WavReport, WavStream};
