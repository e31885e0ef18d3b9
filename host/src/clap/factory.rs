//! The `clap` node kind in patches: `{"kind": "clap", "config": {"plugin": "org.example.id",
//! "state": "BASE64"}}`, added to any other [`NodeFactory`]. Plugins are found by a scan of the
//! search paths, made once, when the first `clap` node is created.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use noderack_graph::NodeDescription;
use noderack_presets::{ConfigError, ConfigReader, ConfigValue, LoadContext, NodeConfig, NodeFactory};

use super::node::ClapNode;
use super::scan::{scan, ScanReport};

/// The settings of a `clap` node.
pub const CONFIG_KEYS: &[&str] = &["plugin", "state"];

/// `inner`'s node kinds plus `clap`.
pub struct WithClap<F> {
    inner: F,
    paths: Vec<PathBuf>,
    report: Mutex<Option<Arc<ScanReport>>>,
}

impl<F: NodeFactory> WithClap<F> {
    /// `inner`'s kinds, and `clap` nodes hosting the plugins found under `paths`
    /// ([`super::search_paths`] for the system's).
    pub fn new(inner: F, paths: Vec<PathBuf>) -> Self {
        Self { inner, paths, report: Mutex::new(None) }
    }

    /// The scan, made on first use.
    pub fn report(&self) -> Arc<ScanReport> {
        let mut report = self.report.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        report.get_or_insert_with(|| Arc::new(scan(&self.paths))).clone()
    }
}

impl<F: NodeFactory> NodeFactory for WithClap<F> {
    fn create(
        &self,
        kind: &str,
        config: &NodeConfig,
        context: &mut LoadContext,
    ) -> Result<Arc<dyn NodeDescription>, ConfigError> {
        if kind != ClapNode::KIND {
            return self.inner.create(kind, config, context);
        }
        let bad = |key: &str, reason: String| ConfigError::BadValue { kind: ClapNode::KIND, key: key.into(), reason };
        let reader = ConfigReader::new(ClapNode::KIND, config, CONFIG_KEYS)?;
        let id = reader.text("plugin", "")?;
        if id.is_empty() {
            return Err(bad("plugin", "give the plugin's id (`noderack plugins list` shows them)".into()));
        }
        let state = match config.get("state") {
            None => None,
            Some(ConfigValue::Text(text)) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| bad("state", format!("not base64: {e}")))?,
            ),
            Some(_) => return Err(bad("state", "expected the plugin's state as base64 text".into())),
        };
        let report = self.report();
        let found = report.find(&id).map_err(|e| bad("plugin", e.to_string()))?;
        let node = ClapNode::new(&found.path, &id, state).map_err(|e| bad("plugin", e.to_string()))?;
        Ok(Arc::new(node))
    }
}
