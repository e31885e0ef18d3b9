//! The patch a new plugin instance starts with: the file named by `NODERACK_PLUGIN_PATCH`
//! (instrument) or `NODERACK_PLUGIN_FX_PATCH` (effect) when set and loadable, else a built-in
//! one — the General MIDI demo rack for the instrument, a stereo pass-through for the effect.
//! A DAW project then keeps whatever patch the instance holds in its state.

use std::path::{Path, PathBuf};

use noderack_presets::{MissingNodes, Patch};

use crate::Flavor;

/// The instrument's built-in patch: the demo rack (drums on channel 10, bass and pad split on
/// the others).
pub const INSTRUMENT_PATCH: &str = include_str!("../../presets/demo.json");

/// The effect's built-in patch: its stereo input straight to its main output, for a user to
/// build effects on.
pub const EFFECT_PATCH: &str = r#"{
  "format": "noderack-patch",
  "version": 1,
  "name": "noderack effect",
  "description": "Stereo in to stereo out; add effects between them.",
  "inputs": [{ "name": "in", "channels": 2 }],
  "buses": [{ "name": "main", "channels": 2 }],
  "nodes": [
    { "id": "in", "kind": "audio-in", "config": { "bus": "in" } },
    { "id": "out", "kind": "output", "config": { "bus": "main" } }
  ],
  "connections": [{ "from": "in.out", "to": "out.in" }]
}"#;

/// A patch and the folder its relative paths (samples, SFZ files) are resolved against.
#[derive(Clone)]
pub struct PlacedPatch {
    /// The patch.
    pub patch: Patch,
    /// Where it came from (`None` for a built-in patch).
    pub folder: Option<PathBuf>,
}

/// Parses patch `text` as if it were a file in `folder` (so its relative paths resolve there).
pub fn parse_in(text: &str, folder: Option<&Path>, name: &str) -> Result<PlacedPatch, String> {
    let file = folder.map_or_else(|| PathBuf::from(name), |f| f.join(name));
    let patch = Patch::parse_with(text, &file.display().to_string(), crate::factory(), MissingNodes::Silence)
        .map_err(|e| e.to_string())?;
    Ok(PlacedPatch { patch, folder: folder.map(Path::to_path_buf) })
}

/// The patch a new instance of `flavor` starts with, and what went wrong on the way (a patch
/// file named by the environment that could not be loaded).
pub fn initial(flavor: Flavor) -> (PlacedPatch, Vec<String>) {
    let (variable, built_in) = match flavor {
        Flavor::Instrument => ("NODERACK_PLUGIN_PATCH", INSTRUMENT_PATCH),
        Flavor::Effect => ("NODERACK_PLUGIN_FX_PATCH", EFFECT_PATCH),
    };
    let mut problems = Vec::new();
    if let Some(path) = std::env::var_os(variable).map(PathBuf::from) {
        let loaded = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display())).and_then(|text| {
            let name = path.file_name().map_or("patch.json".into(), |n| n.to_string_lossy().into_owned());
            parse_in(&text, path.parent(), &name)
        });
        match loaded {
            Ok(placed) => return (placed, problems),
            Err(e) => problems.push(format!("{variable}: {e}; using the built-in patch")),
        }
    }
    let placed = parse_in(built_in, None, "built-in patch").expect("the built-in patches load");
    (placed, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_patches_load() {
        let instrument = parse_in(INSTRUMENT_PATCH, None, "i").unwrap();
        assert_eq!(instrument.patch.buses.len(), 1);
        assert!(instrument.patch.inputs.is_empty());
        let effect = parse_in(EFFECT_PATCH, None, "e").unwrap();
        assert_eq!(effect.patch.inputs.len(), 1);
        assert_eq!(effect.patch.inputs[0].channels, 2);
    }
}
