//! noderack's DSP nodes. Each node is one module holding its description (ports, parameters,
//! how to build it) and its processor (the audio-thread half).

pub mod channel_filter;
pub mod chorus;
pub mod compressor;
pub mod delay;
pub mod dsp;
pub mod effect_preset;
pub mod eq;
pub mod gain;
pub mod io;
pub mod key_split;
pub mod limiter;
pub mod lossy;
pub mod mixer;
pub mod mpe;
pub mod preset_graph;
pub mod registry;
pub mod reverb;
pub mod runner;
pub mod sampler;
pub mod synth;
pub mod transpose;

pub use gain::Gain;
pub use io::{AudioIn, MidiIn, Output};
pub use mixer::Mixer;
pub use sampler::Sampler;
pub use synth::Synth;
