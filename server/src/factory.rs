//! The node kinds a patch may use here: the built-in ones (`noderack_nodes::registry`) and
//! `clap`, hosting the CLAP plugins found on this system (scanned once, on first use).

use std::sync::OnceLock;

use noderack_host::clap::{search_paths, WithClap};
use noderack_nodes::registry::Registry;

/// The node kinds a patch may use: the built-in ones and hosted CLAP plugins.
pub type Factory = WithClap<Registry>;

/// Every node kind, for loading patches.
pub fn factory() -> &'static Factory {
    static FACTORY: OnceLock<Factory> = OnceLock::new();
    FACTORY.get_or_init(|| WithClap::new(Registry, search_paths()))
}
