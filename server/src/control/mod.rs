//! The control API: the session that owns the engine, the stage it plays on, and the HTTP,
//! WebSocket and OSC front ends that send it requests.

pub mod api;
pub mod bundles;
pub mod cache_size;
pub mod http;
pub mod library;
pub mod osc;
pub mod session;
pub mod stage;

use std::path::PathBuf;

/// Where named patches (and published and installed bundles) go unless told otherwise: the
/// platform's data folder, e.g. `~/.local/share/noderack/patches`.
pub fn default_store() -> PathBuf {
    directories::ProjectDirs::from("", "", "noderack")
        .map(|dirs| dirs.data_dir().join("patches"))
        .unwrap_or_else(|| PathBuf::from("noderack-patches"))
}
