//! File names as SFZ instruments write them: made on Windows or macOS, where `\` separates
//! folders and case does not matter, and played here, where neither holds.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// `path` if it exists, else the existing file whose path differs from it only in letter
/// case (looked up folder by folder), else `None`.
pub fn resolve_case_insensitive(path: &Path) -> Option<PathBuf> {
    if path.exists() {
        return Some(path.to_path_buf());
    }
    let mut resolved = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => {
                let direct = resolved.join(name);
                if direct.exists() {
                    resolved = direct;
                    continue;
                }
                let wanted = name.to_string_lossy().to_lowercase();
                let folder = if resolved.as_os_str().is_empty() { Path::new(".") } else { resolved.as_path() };
                let found: OsString = std::fs::read_dir(folder)
                    .ok()?
                    .filter_map(Result::ok)
                    .map(|e| e.file_name())
                    .find(|n| n.to_string_lossy().to_lowercase() == wanted)?;
                resolved.push(found);
            }
            other => resolved.push(other.as_os_str()),
        }
    }
    resolved.exists().then_some(resolved)
}

/// A sample or include name as written, with `\` read as a folder separator.
pub fn normalize_separators(written: &str) -> String {
    written.replace('\\', "/")
}
