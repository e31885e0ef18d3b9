//! Hosts that drive noderack's executor: the offline renderer (used by `noderack render` and by
//! the tests), the live backends (JACK, cpal, a wall-clock `null`) with live MIDI from devices,
//! JACK ports and files, Standard MIDI File input and WAV output. Offline and live run the very
//! same real-time code path. CLAP plugins are found, inspected and hosted here too ([`clap`]).

pub mod clap;
pub mod denormals;
pub mod live;
pub mod midi_file;
pub mod offline;
pub mod wav;

pub use midi_file::{read_midi_file, MidiFileError, MidiSequence, TimedMidi};
pub use offline::OfflineRenderer;
pub use wav::{write_wav, WavError, WavFormat, WavReport, WavStream};
