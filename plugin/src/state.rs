//! The plugin's CLAP state: JSON holding the patch (with hosted plugins' current state, as a
//! saved patch file would), the folder its relative paths resolve against, the macro values
//! and the port layout. Sample data is never embedded: the patch names files and library
//! presets, so a project stays small and finds its samples where the patch said.

use std::path::PathBuf;

use noderack_presets::macros::MACRO_COUNT;
use serde_json::{json, Value};

use crate::ports::PortMode;

/// The `format` of every state.
pub const FORMAT: &str = "noderack-plugin-state";
/// The newest state version this build reads and writes.
pub const VERSION: u64 = 1;

/// Why a state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Not JSON, or not ours.
    #[error("the plugin state is not a noderack state: {0}")]
    Foreign(String),
    /// Ours, but a field is wrong.
    #[error("the plugin state's \"{field}\" is wrong: {message}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Ours, but its patch does not load.
    #[error("the patch in the plugin state does not load: {0}")]
    Patch(String),
}

/// What a state holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedState {
    /// The patch, in its file format.
    pub patch: Value,
    /// Where the patch's relative paths resolve.
    pub folder: Option<PathBuf>,
    /// The macro values.
    pub macros: [f32; MACRO_COUNT],
    /// The output layout.
    pub port_mode: PortMode,
}

/// The bytes of `state`.
pub fn encode(state: &SavedState) -> Vec<u8> {
    let value = json!({
        "format": FORMAT,
        "version": VERSION,
        "folder": state.folder.as_ref().map(|f| f.display().to_string()),
        "ports": match state.port_mode { PortMode::Patch => "patch", PortMode::Fixed => "fixed" },
        "macros": state.macros.to_vec(),
        "patch": state.patch,
    });
    serde_json::to_vec_pretty(&value).expect("JSON values serialise")
}

/// The state in `bytes`.
pub fn decode(bytes: &[u8]) -> Result<SavedState, StateError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| StateError::Foreign(e.to_string()))?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(StateError::Foreign(format!("its \"format\" is not \"{FORMAT}\"")));
    }
    let field = |field: &'static str, message: String| StateError::Field { field, message };
    match value.get("version").and_then(Value::as_u64) {
        Some(v) if (1..=VERSION).contains(&v) => {}
        other => return Err(field("version", format!("{other:?} is not supported (this build reads 1 to {VERSION})"))),
    }
    let folder = match value.get("folder") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(PathBuf::from(s)),
        Some(other) => return Err(field("folder", format!("expected a path or null, found {other}"))),
    };
    let port_mode = match value.get("ports").and_then(Value::as_str) {
        None | Some("patch") => PortMode::Patch,
        Some("fixed") => PortMode::Fixed,
        Some(other) => return Err(field("ports", format!("expected \"patch\" or \"fixed\", found \"{other}\""))),
    };
    let mut macros = [0.0f32; MACRO_COUNT];
    if let Some(list) = value.get("macros") {
        let list = list.as_array().ok_or_else(|| field("macros", "expected a list of numbers".into()))?;
        if list.len() > MACRO_COUNT {
            return Err(field("macros", format!("{} values for {MACRO_COUNT} macros", list.len())));
        }
        for (slot, v) in macros.iter_mut().zip(list) {
            let v = v.as_f64().filter(|v| (0.0..=1.0).contains(v));
            *slot = v.ok_or_else(|| field("macros", "every value is a number from 0 to 1".into()))? as f32;
        }
    }
    let patch = value.get("patch").cloned().ok_or_else(|| field("patch", "missing".into()))?;
    if !patch.is_object() {
        return Err(field("patch", "expected a patch object".into()));
    }
    Ok(SavedState { patch, folder, macros, port_mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_reads_back_as_written() {
        let mut macros = [0.0; MACRO_COUNT];
        macros[3] = 0.25;
        let state = SavedState {
            patch: json!({ "format": "noderack-patch", "version": 1, "nodes": [] }),
            folder: Some(PathBuf::from("/music/patches")),
            macros,
            port_mode: PortMode::Fixed,
        };
        assert_eq!(decode(&encode(&state)).unwrap(), state);
    }

    #[test]
    fn foreign_and_broken_states_are_refused_with_the_field() {
        assert!(matches!(decode(b"NRTI...."), Err(StateError::Foreign(_))));
        assert!(matches!(decode(br#"{"format":"other"}"#), Err(StateError::Foreign(_))));
        let broken = br#"{"format":"noderack-plugin-state","version":1,"macros":[2.0],"patch":{}}"#;
        let error = decode(broken).unwrap_err().to_string();
        assert!(error.contains("\"macros\""), "{error}");
        let future = br#"{"format":"noderack-plugin-state","version":9,"patch":{}}"#;
        assert!(decode(future).unwrap_err().to_string().contains("\"version\""));
    }
}
