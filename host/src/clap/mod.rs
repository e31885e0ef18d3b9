//! Hosting CLAP plugins (clack-host): finding them on the system ([`scan`]), the callbacks a
//! host serves them ([`handlers`]), and what a plugin offers — ports, parameters, latency —
//! read by instantiating it ([`inspect`]).

pub mod events;
pub mod expression;
pub mod factory;
pub mod handlers;
pub mod inspect;
pub mod node;
pub mod plugin_thread;
pub mod restart;
pub mod scan;

pub use factory::WithClap;
pub use inspect::{inspect, read_info, AudioPortInfo, NotePortInfo, ParamInfo, PluginInfo};
pub use node::{ClapHealth, ClapNode};
pub use scan::{scan, search_paths, PluginSummary, ScanReport};

/// Why a plugin could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClapError {
    /// The `.clap` file could not be loaded as a CLAP entry.
    #[error("{path}: not a loadable CLAP plugin: {reason}")]
    Load {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No scanned file holds a plugin with this id.
    #[error("no plugin has the id \"{id}\" (run `noderack plugins list`){suggestion}")]
    UnknownId {
        /// The id asked for.
        id: String,
        /// A close id, formatted as a sentence end, or empty.
        suggestion: String,
    },
    /// The plugin refused to be created or activated.
    #[error("{id}: {stage} failed: {reason}")]
    Instance {
        /// The plugin's id.
        id: String,
        /// What was being done (`instantiation`, `activation`).
        stage: &'static str,
        /// What the host was told.
        reason: String,
    },
}
