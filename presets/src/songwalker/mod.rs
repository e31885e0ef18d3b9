//! The public SongWalker preset library's formats, read exactly as the library writes them:
//! library indexes ([`index`]), preset files ([`preset`]) and `"Lib/Name"` lookup.
//!
//! Facts this follows (checked against the full library): indexes are
//! `format: "songwalker-index"` with `index` and `preset` entries; presets are
//! `format: "songwalker-preset"` whose instrument sits under `node` (sometimes spelled
//! `graph`), of type `sampler`, `oscillator`, `composite` or `effect`; metadata keys are
//! camelCase; sample references are relative URLs with a `codec` (`mp3`, `raw`) and the first 16
//! hex digits of their SHA-256. [`instrument`] turns sampler presets into playable instruments, [`graph`] presets of every
//! kind into descriptions of the nodes that play them.

pub mod graph;
pub mod index;
pub mod instrument;
pub mod preset;
mod unknown_keys;

pub use graph::{
    build_graph, build_graph_with, effect_preset, load_graph, BuiltGraph, EffectPreset, LayerPart, PresetGraph,
    SplitPart, SynthSettings, SynthWaveform, EFFECT_TYPES,
};
pub use index::{
    find_preset, match_library, match_preset, split_query, IndexEntry, LibraryIndex, LookupError, PresetRef,
};
pub use instrument::{
    build_instrument, build_instrument_with, load_instrument, zone_encoding, Built, FolderSamples, InstrumentError,
    ZoneSamples,
};
pub use preset::{
    Codec, CompositeConfig, CompositeMode, Envelope, OscillatorConfig, OscillatorWaveform, PresetFile, PresetNode,
    SamplerConfig, SamplerZone,
};
