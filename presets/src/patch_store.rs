//! Named patches kept in one folder (the control server's store): a name is checked before it
//! becomes a file name, so no name can reach outside the folder, and every save is atomic (a
//! temporary file in the same folder, flushed to disk, then renamed over the old one), so a
//! crash mid-save leaves the previous version, never half of a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Longest patch name.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The name cannot name a patch.
    #[error("patch name {name:?}: {reason}")]
    BadName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No patch has this name.
    #[error("no patch is named {0:?}")]
    NotFound(String),
    /// The folder or a file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// A stored patch, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPatch {
    /// Its name.
    pub name: String,
    /// Size of its file.
    pub bytes: u64,
    /// When it was last saved.
    pub modified: Option<SystemTime>,
}

/// A folder of named patches.
#[derive(Clone, Debug)]
pub struct PatchStore {
    folder: PathBuf,
}

/// `name` if it can name a patch: 1–64 letters, digits, spaces, `_`, `-` or `.`, not starting
/// with a dot or a space (no hidden files, no `..`), not ending with a space.
pub fn check_name(name: &str) -> Result<&str, StoreError> {
    let bad = |reason| Err(StoreError::BadName { name: name.to_string(), reason });
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return bad("a name has 1 to 64 characters");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.')) {
        return bad("a name has only letters, digits, spaces, '_', '-' and '.'");
    }
    if name.starts_with(['.', ' ']) || name.ends_with(' ') {
        return bad("a name does not start with a dot or a space, nor end with a space");
    }
    Ok(name)
}

impl PatchStore {
    /// The store in `folder` (created when first saved to).
    pub fn new(folder: &Path) -> Self {
        Self { folder: folder.to_path_buf() }
    }

    /// Its folder.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, StoreError> {
        Ok(self.folder.join(format!("{}.json", check_name(name)?)))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io { path: path.to_path_buf(), source }
    }

    /// Every stored patch, by name.
    pub fn list(&self) -> Result<Vec<StoredPatch>, StoreError> {
        let entries = match std::fs::read_dir(&self.folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::io(&self.folder)(e)),
        };
        let mut patches = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json")) else { continue };
            if check_name(name).is_err() {
                continue; // temporary files and strangers
            }
            let meta = entry.metadata().ok();
            patches.push(StoredPatch {
                name: name.to_string(),
                bytes: meta.as_ref().map_or(0, |m| m.len()),
                modified: meta.and_then(|m| m.modified().ok()),
            });
        }
        patches.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(patches)
    }

    /// The text of patch `name`.
    pub fn read(&self, name: &str) -> Result<String, StoreError> {
        let path = self.path_of(name)?;
        std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound(name.to_string()),
            _ => Self::io(&path)(e),
        })
    }

    /// Saves `text` as patch `name`, atomically.
    pub fn save(&self, name: &str, text: &str) -> Result<(), StoreError> {
        let path = self.path_of(name)?;
        std::fs::create_dir_all(&self.folder).map_err(Self::io(&self.folder))?;
        let temp = self.folder.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written.map_err(Self::io(&path))
    }

    /// Deletes patch `name`.
    pub fn delete(&self, name: &str) -> Result<(), StoreError> {
        let path = self.path_of(name)?;
        std::fs::remove_file(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound(name.to_string()),
            _ => Self::io(&path)(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_the_folder_or_hide_are_refused() {
        for bad in ["", "../x", "a/b", "a\\b", ".hidden", "..", " lead", "lead ", "ü", &"x".repeat(65), "a\0b"] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["lead", "Set 2 - live", "v1.2", "x".repeat(64).as_str()] {
            assert!(check_name(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn saves_replace_whole_files_and_leave_no_temporary_behind() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("patches");
        let store = PatchStore::new(&dir);
        assert_eq!(store.list().unwrap(), vec![], "a missing folder is an empty store");
        store.save("set one", r#"{"a": 1}"#).unwrap();
        store.save("set one", r#"{"a": 2}"#).unwrap();
        assert_eq!(store.read("set one").unwrap(), r#"{"a": 2}"#);
        let names: Vec<String> = store.list().unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["set one"]);
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(files.len(), 1, "no temporary file left: {files:?}");
        assert!(matches!(store.read("other"), Err(StoreError::NotFound(_))));
        store.delete("set one").unwrap();
        assert!(matches!(store.delete("set one"), Err(StoreError::NotFound(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
