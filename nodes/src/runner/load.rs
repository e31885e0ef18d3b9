//! From a `.sw` source to what a runner needs: the song compiled (once as written and once
//! per step of its controllers) and, when it plays its own instruments, every `loadPreset`
//! loaded through the library client. Runs on the control side, where patches load.

use noderack_presets::library::LibraryClient;
use noderack_presets::sample::SampleStore;
use noderack_presets::songwalker::PresetGraph;
use noderack_presets::sw::library_presets::LibraryPresets;
use noderack_presets::sw::{self, CompileOptions, InstrumentDef, OscillatorDef};

use super::rack::{instrument_graph, oscillator, RackInstruments};
use super::song::{check_parameters, ControlMap, RunnerSong};

/// What to do with a `loadPreset` the library does not have.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MissingPresets {
    /// Refuse the song, naming the closest presets there are.
    Refuse,
    /// Play its notes with the default instrument (a triangle oscillator), with a warning.
    UseDefault,
}

/// Where a song's instruments come from.
pub struct InstrumentSource<'a> {
    /// The library `loadPreset` names are looked up in; made only when the song loads one.
    pub library: &'a dyn Fn() -> Result<LibraryClient, String>,
    /// Decoded samples (shared with the rest of the patch).
    pub store: &'a mut SampleStore,
    /// What was ignored or repaired while loading.
    pub warnings: &'a mut Vec<String>,
    /// Names the library lacks.
    pub missing: MissingPresets,
}

/// A song ready for a runner: compiled with the parameter values `set`, prepared, and with its
/// instruments when `instruments` says where they come from. Errors are whole messages
/// (diagnostics with line, column and caret).
pub fn load_song(
    source: &str,
    file: &str,
    set: &[(&str, f64)],
    controls: Vec<ControlMap>,
    instruments: Option<InstrumentSource<'_>>,
) -> Result<(RunnerSong, Option<RackInstruments>), String> {
    let compile = |options: &CompileOptions<'_>| sw::compile(source, file, options).map_err(|e| e.to_string());
    let song = compile(&CompileOptions { set, ..Default::default() })?;
    if let Some((name, _)) = set.iter().find(|(name, _)| !song.parameters.iter().any(|p| p.name == *name)) {
        return Err(format!("{file}: the song has no top-level `const {name} = <number>` to set"));
    }
    check_parameters(&controls, &song).map_err(|e| e.to_string())?;
    let with_presets = song.instruments.iter().any(|i| matches!(i, InstrumentDef::Preset { .. }));
    let client = match &instruments {
        Some(source) if with_presets => Some((source.library)()?),
        _ => None,
    };
    if let (Some(client), Some(InstrumentSource { missing: MissingPresets::Refuse, .. })) = (&client, &instruments) {
        // Compiled again with the names checked, for errors at their span with suggestions.
        // A library whose every index cannot be read (a bundle holds only the libraries its
        // presets come from) is checked by loading, below.
        match LibraryPresets::new(client) {
            Ok(presets) => {
                compile(&CompileOptions { presets: Some(&presets), set, ..Default::default() })?;
            }
            Err(e) => tracing::debug!("{file}: preset names not checked against the whole library: {e}"),
        }
    }
    let prepared = RunnerSong::with_controls(song, controls, |controlled| {
        let mut all: Vec<(&str, f64)> = set.to_vec();
        all.extend_from_slice(controlled);
        // Later entries win: a controller overrides a fixed value of the same parameter.
        all.reverse();
        compile(&CompileOptions { set: &all, ..Default::default() })
    })?;
    let Some(source) = instruments else { return Ok((prepared, None)) };
    let mut graphs: Vec<Option<PresetGraph>> = vec![None; prepared.song().instruments.len()];
    for group in prepared.groups() {
        if graphs.get(group.instrument).is_some_and(Option::is_none) {
            let graph = instrument_graph(prepared.song(), group.instrument, &mut |name, _span| {
                load_preset(client.as_ref(), name, file, source.store, source.warnings, source.missing)
            })?;
            graphs[group.instrument] = Some(graph);
        }
    }
    let rack = RackInstruments::new(&prepared, |i| graphs.get(i).cloned().flatten().unwrap_or_else(default_instrument));
    Ok((prepared, Some(rack)))
}

fn load_preset(
    client: Option<&LibraryClient>,
    name: &str,
    file: &str,
    store: &mut SampleStore,
    warnings: &mut Vec<String>,
    missing: MissingPresets,
) -> Result<PresetGraph, String> {
    let loaded = match client {
        Some(client) => client.load_graph(name, store).map_err(|e| e.to_string()),
        None => Err("no library".to_string()),
    };
    match (loaded, missing) {
        (Ok(built), _) => {
            warnings.extend(built.warnings);
            Ok(built.graph)
        }
        (Err(e), MissingPresets::Refuse) => Err(format!("{file}: loadPreset(\"{name}\"): {e}")),
        (Err(e), MissingPresets::UseDefault) => {
            warnings.push(format!("{file}: loadPreset(\"{name}\"): {e}; its notes play on the default instrument"));
            Ok(default_instrument())
        }
    }
}

/// The default instrument (a triangle oscillator).
fn default_instrument() -> PresetGraph {
    oscillator(&OscillatorDef::default())
}
