//! noderack's file formats: patches (`"format": "noderack-patch"`, see `docs/PATCH_FORMAT.md`),
//! the SongWalker preset library's indexes and presets, the library client with its disk cache
//! ([`library`]), SFZ instruments and SoundFont 2 banks.

pub mod bundle;
pub mod bundle_registry;
pub mod instrument;
pub mod instrument_ref;
pub mod json_file;
pub mod json_location;
pub mod library;
pub mod load_context;
pub mod macros;
pub mod midi_map;
pub mod missing_node;
pub mod modulation;
pub mod node_config;
pub mod patch;
pub mod patch_diff;
pub mod patch_edit;
pub mod patch_history;
pub mod patch_store;
pub mod sample;
pub mod sf2;
pub mod sfz;
pub mod slots;
pub mod songwalker;
pub mod sw;

pub use bundle::{Bundle, BundleError, ContentHash};
pub use bundle_registry::{BundleRegistry, RegistryEntry, RegistryError};
pub use json_file::FileError;
pub use load_context::LoadContext;
pub use node_config::{ConfigError, ConfigReader, ConfigValue, NodeConfig};
pub use patch::{MissingNodes, NodeFactory, ParamValue, Patch, PatchError, PatchNode};
pub use patch_diff::{PatchChange, RunningPatch};
pub use patch_edit::{EditError, PatchEdit};
pub use patch_store::{PatchStore, StoreError};
