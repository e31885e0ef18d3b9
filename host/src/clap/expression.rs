//! Per-note expression between the engine's [`ExpressionKind`] and CLAP note expressions:
//! the `clap` node sends a plugin the expressions of the notes it plays and passes on the ones
//! a plugin sends out; the CLAP plugin receives a DAW's the same way.
//!
//! Units: tuning in semitones on both sides; volume a linear gain on both (CLAP's 0..4);
//! pan −1..1 here, 0..1 in CLAP (0.5 centre); brightness and pressure 0..1 on both. CLAP's
//! vibrato and "expression" dimensions have no engine counterpart and are not passed on.

use clack_host::events::event_types::NoteExpressionType;
use noderack_graph::ExpressionKind;

/// The CLAP form of an engine expression: its type and value.
pub fn to_clap(kind: ExpressionKind, value: f32) -> (NoteExpressionType, f64) {
    let value = value as f64;
    match kind {
        ExpressionKind::TuningSemitones => (NoteExpressionType::Tuning, value.clamp(-120.0, 120.0)),
        ExpressionKind::Volume => (NoteExpressionType::Volume, value.clamp(0.0, 4.0)),
        ExpressionKind::Pan => (NoteExpressionType::Pan, ((value + 1.0) * 0.5).clamp(0.0, 1.0)),
        ExpressionKind::Brightness => (NoteExpressionType::Brightness, value.clamp(0.0, 1.0)),
        ExpressionKind::Pressure => (NoteExpressionType::Pressure, value.clamp(0.0, 1.0)),
    }
}

/// The engine form of a CLAP note expression, if the engine has that dimension (not vibrato
/// or "expression"); non-finite values are refused.
pub fn from_clap(kind: NoteExpressionType, value: f64) -> Option<(ExpressionKind, f32)> {
    if !value.is_finite() {
        return None;
    }
    let value = value as f32;
    Some(match kind {
        NoteExpressionType::Tuning => (ExpressionKind::TuningSemitones, value.clamp(-120.0, 120.0)),
        NoteExpressionType::Volume => (ExpressionKind::Volume, value.clamp(0.0, 4.0)),
        NoteExpressionType::Pan => (ExpressionKind::Pan, (value * 2.0 - 1.0).clamp(-1.0, 1.0)),
        NoteExpressionType::Brightness => (ExpressionKind::Brightness, value.clamp(0.0, 1.0)),
        NoteExpressionType::Pressure => (ExpressionKind::Pressure, value.clamp(0.0, 1.0)),
        _ => return None, // vibrato, "expression" (and dimensions added later)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_goes_to_clap_and_back_in_its_units() {
        for (kind, value, clap) in [
            (ExpressionKind::TuningSemitones, -3.5, -3.5),
            (ExpressionKind::Volume, 0.5, 0.5),
            (ExpressionKind::Pan, -1.0, 0.0),
            (ExpressionKind::Pan, 0.0, 0.5),
            (ExpressionKind::Brightness, 0.25, 0.25),
            (ExpressionKind::Pressure, 1.0, 1.0),
        ] {
            let (t, v) = to_clap(kind, value);
            assert_eq!(v, clap, "{kind:?}");
            assert_eq!(from_clap(t, v), Some((kind, value)));
        }
        assert_eq!(from_clap(NoteExpressionType::Vibrato, 0.5), None);
        assert_eq!(from_clap(NoteExpressionType::Tuning, f64::NAN), None);
    }
}
