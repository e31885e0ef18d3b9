//! Structural settings of a node, fixed at creation (the number of mixer inputs, a synth's
//! voice count, the bus an output node feeds), as opposed to parameters, which change live.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One setting value, as written in a patch file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConfigValue {
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    Text(String),
    /// Settings of their own (a sampler's `instrument`).
    Object(NodeConfig),
}

/// The settings of one node by name.
pub type NodeConfig = BTreeMap<String, ConfigValue>;

/// Why a node could not be created from its kind and settings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// No node kind has this name.
    #[error("unknown node kind \"{kind}\" (known kinds: {known})")]
    UnknownKind {
        /// The name asked for.
        kind: String,
        /// All kinds, comma-separated.
        known: String,
    },
    /// The kind has no such setting.
    #[error("{kind} has no setting \"{key}\" (its settings: {known})")]
    UnknownKey {
        /// The node kind.
        kind: &'static str,
        /// The setting asked for.
        key: String,
        /// Its settings, comma-separated.
        known: String,
    },
    /// A field of an object setting is wrong, or what the setting refers to (an instrument
    /// file, a library preset) could not be loaded.
    #[error("setting \"{key}\" of {kind}: {reason}")]
    Nested {
        /// The node kind.
        kind: &'static str,
        /// The setting (`instrument`).
        key: String,
        /// The field at fault (`sfz`, `program`), or `None` for the object as a whole.
        field: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The setting has a wrong type or is out of range.
    #[error("setting \"{key}\" of {kind}: {reason}")]
    BadValue {
        /// The node kind.
        kind: &'static str,
        /// The setting.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// Reads the settings of one node kind, rejecting unknown keys.
pub struct ConfigReader<'a> {
    kind: &'static str,
    config: &'a NodeConfig,
    known: &'static [&'static str],
}

impl<'a> ConfigReader<'a> {
    /// Checks that `config` has only keys from `known`.
    pub fn new(
        kind: &'static str,
        config: &'a NodeConfig,
        known: &'static [&'static str],
    ) -> Result<Self, ConfigError> {
        if let Some(key) = config.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ConfigError::UnknownKey {
                kind,
                key: key.clone(),
                known: if known.is_empty() { "none".into() } else { known.join(", ") },
            });
        }
        Ok(Self { kind, config, known })
    }

    /// An integer setting in `min..=max`, or `default` when absent.
    pub fn integer(&self, key: &'static str, min: u32, max: u32, default: u32) -> Result<u32, ConfigError> {
        debug_assert!(self.known.contains(&key));
        match self.config.get(key) {
            None => Ok(default),
            Some(ConfigValue::Number(n)) if n.fract() == 0.0 && *n >= min as f64 && *n <= max as f64 => Ok(*n as u32),
            Some(other) => {
                Err(self.bad(key, format!("expected a whole number from {min} to {max}, found {}", show(other))))
            }
        }
    }

    /// A text setting, or `default` when absent.
    pub fn text(&self, key: &'static str, default: &str) -> Result<String, ConfigError> {
        debug_assert!(self.known.contains(&key));
        match self.config.get(key) {
            None => Ok(default.to_string()),
            Some(ConfigValue::Text(s)) => Ok(s.clone()),
            Some(other) => Err(self.bad(key, format!("expected text, found {}", show(other)))),
        }
    }

    /// A text setting that must be one of `options`, or `default` when absent.
    pub fn choice(&self, key: &'static str, options: &[&str], default: &str) -> Result<String, ConfigError> {
        let value = self.text(key, default)?;
        if options.contains(&value.as_str()) {
            Ok(value)
        } else {
            Err(self.bad(key, format!("expected one of {}, found \"{value}\"", options.join(", "))))
        }
    }

    fn bad(&self, key: &str, reason: String) -> ConfigError {
        ConfigError::BadValue { kind: self.kind, key: key.to_string(), reason }
    }
}

/// A setting value as shown in messages.
pub(crate) fn show(v: &ConfigValue) -> String {
    match v {
        ConfigValue::Object(_) => "an object".to_string(),
        ConfigValue::Bool(b) => format!("{b}"),
        ConfigValue::Number(n) => format!("{n}"),
        ConfigValue::Text(s) => format!("\"{s}\""),
    }
}
