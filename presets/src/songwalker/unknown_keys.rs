//! Keys of a preset file this reader does not understand. The library grows, so they do not
//! stop a preset from loading, but each is reported (with its line and column) instead of being
//! dropped silently.

use serde_json::Value;

use crate::json_file::{key, Locator};
use crate::json_location::{display_path, locate, PathStep};

/// Top-level keys: what plays, and descriptive ones (`id`, `metadata`, `tuning`) that have no
/// effect on the sound.
const TOP: &[&str] =
    &["format", "version", "id", "name", "category", "tags", "metadata", "tuning", "maxVoices", "node", "graph"];
/// Keys of a node of any type.
const NODE: &[&str] = &["type", "config", "effectType", "params", "mode", "children"];
/// A sampler's `config`. `isDrumKit` only steers SongWalker's tuning tools; it changes nothing
/// in playback.
const SAMPLER: &[&str] = &["zones", "oneShot", "envelope", "isDrumKit"];
/// An oscillator's `config`.
const OSCILLATOR: &[&str] = &["waveform", "envelope", "detune", "mixer"];
/// A composite's `config`.
const COMPOSITE: &[&str] = &["splitPoints", "mixLevels"];
/// A sampler zone.
const ZONE: &[&str] = &["keyRange", "velocityRange", "pitch", "sampleRate", "audio", "loop"];
/// Key and velocity ranges.
const RANGE: &[&str] = &["low", "high"];
/// A zone's `pitch`.
const PITCH: &[&str] = &["rootNote", "fineTuneCents"];
/// A zone's `audio`.
const AUDIO: &[&str] = &["type", "url", "codec", "sha256"];
/// A zone's `loop`.
const LOOP: &[&str] = &["start", "end"];
/// An envelope.
const ENVELOPE: &[&str] = &["attack", "decay", "sustain", "release"];

/// Appends a message for every key of the preset `value` (its node under `node_key`) that is
/// not understood. Runs on a preset that already parsed, so shapes are as expected; anything
/// else is skipped.
pub(crate) fn preset(at: &Locator<'_>, value: &Value, node_key: &str, out: &mut Vec<String>) {
    let mut walk = Walk { at, out };
    walk.keys(value, &[], TOP);
    if let Some(node) = value.get(node_key) {
        walk.node(node, vec![key(node_key)]);
    }
}

struct Walk<'a, 'b> {
    at: &'a Locator<'b>,
    out: &'a mut Vec<String>,
}

impl Walk<'_, '_> {
    fn node(&mut self, node: &Value, path: Vec<PathStep>) {
        self.keys(node, &path, NODE);
        let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
        let config_path = extend(&path, &["config"]);
        let config = node.get("config");
        match (kind, config) {
            ("sampler", Some(config)) => {
                self.keys(config, &config_path, SAMPLER);
                self.envelope(config, &config_path);
                for (i, zone) in config.get("zones").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    let mut zone_path = extend(&config_path, &["zones"]);
                    zone_path.push(PathStep::Index(i));
                    self.keys(zone, &zone_path, ZONE);
                    for (field, known) in [
                        ("keyRange", RANGE),
                        ("velocityRange", RANGE),
                        ("pitch", PITCH),
                        ("audio", AUDIO),
                        ("loop", LOOP),
                    ] {
                        if let Some(part) = zone.get(field) {
                            self.keys(part, &extend(&zone_path, &[field]), known);
                        }
                    }
                }
            }
            ("oscillator", Some(config)) => {
                self.keys(config, &config_path, OSCILLATOR);
                self.envelope(config, &config_path);
            }
            ("composite", Some(config)) => self.keys(config, &config_path, COMPOSITE),
            _ => {}
        }
        for (i, child) in node.get("children").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let mut child_path = extend(&path, &["children"]);
            child_path.push(PathStep::Index(i));
            self.node(child, child_path);
        }
    }

    fn envelope(&mut self, config: &Value, config_path: &[PathStep]) {
        if let Some(envelope) = config.get("envelope") {
            self.keys(envelope, &extend(config_path, &["envelope"]), ENVELOPE);
        }
    }

    fn keys(&mut self, object: &Value, path: &[PathStep], known: &[&str]) {
        let Some(object) = object.as_object() else { return };
        for name in object.keys().filter(|k| !known.contains(&k.as_str())) {
            let mut here = path.to_vec();
            here.push(key(name));
            let (line, column) = locate(self.at.text, &here).unwrap_or((1, 1));
            self.out.push(format!(
                "{}:{line}:{column}: {}: not understood, ignored",
                self.at.file,
                display_path(&here)
            ));
        }
    }
}

fn extend(path: &[PathStep], keys: &[&str]) -> Vec<PathStep> {
    let mut p = path.to_vec();
    p.extend(keys.iter().map(|k| key(k)));
    p
}
