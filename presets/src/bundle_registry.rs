//! A shared patch registry: a folder of verified bundles, each stored as `ID.nrbundle` under
//! its content hash, so publishing the same bundle twice keeps one copy and a fetch by id
//! can be checked by the client. Any noderack server hosts one (`docs/BUNDLES.md`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Serialize;
use serde_json::Value;

use crate::bundle::{Bundle, BundleError, ContentHash, Manifest, EXTENSION};

/// A published bundle, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegistryEntry {
    /// Its id (content hash).
    pub id: ContentHash,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The bundle it was forked from.
    pub parent: Option<ContentHash>,
    /// Number of files it holds (besides its patch).
    pub files: usize,
    /// Size of the bundle file.
    pub bytes: u64,
    /// When it was published (seconds since 1970), if the file system says.
    pub published_unix: Option<u64>,
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The bundle is not valid, or not what was asked for.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// No bundle has this id here.
    #[error("no bundle with id {0} is published here")]
    NotFound(ContentHash),
    /// The folder or a file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// A registry kept in one folder.
#[derive(Clone, Debug)]
pub struct BundleRegistry {
    folder: PathBuf,
}

impl BundleRegistry {
    /// The registry in `folder` (created on first publish).
    pub fn new(folder: &Path) -> Self {
        Self { folder: folder.to_path_buf() }
    }

    fn path_of(&self, id: &ContentHash) -> PathBuf {
        self.folder.join(format!("{id}.{EXTENSION}"))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
        move |source| RegistryError::Io { path: path.to_path_buf(), source }
    }

    /// Verifies `bytes` as a bundle and stores it (atomically) unless it is already here.
    /// The entry, and whether it is new.
    pub fn publish(&self, bytes: &[u8], source_name: &str) -> Result<(RegistryEntry, bool), RegistryError> {
        let bundle = Bundle::from_bytes(bytes, source_name)?;
        self.store(&bundle, bytes)
    }

    fn store(&self, bundle: &Bundle, bytes: &[u8]) -> Result<(RegistryEntry, bool), RegistryError> {
        let path = self.path_of(bundle.id());
        let new = !path.is_file();
        if new {
            std::fs::create_dir_all(&self.folder).map_err(Self::io(&self.folder))?;
            let mut file = tempfile::NamedTempFile::new_in(&self.folder).map_err(Self::io(&self.folder))?;
            file.write_all(bytes).map_err(Self::io(&path))?;
            file.as_file().sync_all().map_err(Self::io(&path))?;
            file.persist(&path).map_err(|e| RegistryError::Io { path: path.clone(), source: e.error })?;
        }
        Ok((self.info(bundle.id())?, new))
    }

    /// The bundle file `id` names.
    pub fn get(&self, id: &ContentHash) -> Result<Vec<u8>, RegistryError> {
        let path = self.path_of(id);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(RegistryError::NotFound(id.clone())),
            Err(source) => Err(RegistryError::Io { path, source }),
        }
    }

    /// What is known of bundle `id`.
    pub fn info(&self, id: &ContentHash) -> Result<RegistryEntry, RegistryError> {
        let path = self.path_of(id);
        let metadata = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RegistryError::NotFound(id.clone())),
            Err(source) => return Err(RegistryError::Io { path, source }),
        };
        let manifest = read_manifest(&path)?;
        Ok(RegistryEntry {
            id: id.clone(),
            name: manifest.name,
            description: manifest.description,
            parent: manifest.parent,
            files: manifest.files.len(),
            bytes: metadata.len(),
            published_unix: metadata
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
        })
    }

    /// Every bundle whose name or description contains every word of `query` (any case; all
    /// of them without one), newest first.
    pub fn list(&self, query: Option<&str>) -> Result<Vec<RegistryEntry>, RegistryError> {
        let words: Vec<String> = query.unwrap_or_default().split_whitespace().map(str::to_lowercase).collect();
        let dir = match std::fs::read_dir(&self.folder) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(RegistryError::Io { path: self.folder.clone(), source }),
        };
        let mut entries = Vec::new();
        for file in dir.filter_map(Result::ok) {
            let name = file.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(&format!(".{EXTENSION}")).and_then(|h| ContentHash::parse(h).ok()) else {
                continue;
            };
            let entry = match self.info(&id) {
                Ok(entry) => entry,
                Err(e) => {
                    tracing::warn!("registry: skipping {name}: {e}");
                    continue;
                }
            };
            let text = format!("{} {}", entry.name, entry.description).to_lowercase();
            if words.iter().all(|w| text.contains(w)) {
                entries.push(entry);
            }
        }
        entries.sort_by(|a, b| b.published_unix.cmp(&a.published_unix).then_with(|| a.id.cmp(&b.id)));
        Ok(entries)
    }

    /// Publishes a fork of bundle `id`: a new bundle recording it as its parent, with another
    /// name and, if given, another patch using the same files, once `check` accepts it.
    pub fn fork(
        &self,
        id: &ContentHash,
        name: Option<String>,
        patch: Option<Value>,
        check: impl FnOnce(&Bundle) -> Result<(), String>,
    ) -> Result<(RegistryEntry, bool), RegistryError> {
        let bytes = self.get(id)?;
        let source_name = format!("registry bundle {id}");
        let parent = Bundle::from_bytes_expecting(&bytes, &source_name, id)?;
        let child = parent.fork(name, patch)?;
        check(&child).map_err(|message| BundleError::Invalid { source_name: "the fork's patch".into(), message })?;
        self.store(&child, &child.to_bytes())
    }
}

/// The manifest of the bundle file at `path`, without reading its contents.
fn read_manifest(path: &Path) -> Result<Manifest, RegistryError> {
    let file = std::fs::File::open(path).map_err(BundleRegistry::io(path))?;
    Bundle::manifest_of(std::io::BufReader::new(file), &path.display().to_string()).map_err(Into::into)
}
