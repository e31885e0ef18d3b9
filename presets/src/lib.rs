//! noderack's file formats. For now the patch file (`"format": "noderack-patch"`), see
//! `docs/PATCH_FORMAT.md`.

pub mod json_file;
pub mod json_location;
pub mod patch;

pub use json_file::FileError;
pub use patch::{Patch, PatchError, PatchNode};
