//! Self-contained patch bundles: one file holding a patch and every file its instruments read
//! (an SFZ file with its includes and samples, an SF2 bank, a library preset with the indexes
//! that find it and its samples) and every song its runners play (with the library presets the
//! song loads), each stored once under its SHA-256.
//!
//! The bundle's id is the SHA-256 of its manifest, and the manifest names every file by its
//! hash, so the id covers every byte: a bundle fetched by id is verified by reading it. A bundle
//! only refers to its own files (checked on reading), so installing one can neither read nor
//! write outside the folder it is installed in. Specification: `docs/BUNDLES.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::instrument_ref::InstrumentRef;
use crate::library::location::file_of;
use crate::library::{LibraryClient, LibraryConfig, RemotePath};
use crate::load_context::LoadContext;
use crate::node_config::ConfigValue;
use crate::{sf2, sfz};

/// The manifest's `format`.
pub const FORMAT: &str = "noderack-bundle";
/// The manifest version this code writes and reads.
pub const VERSION: u32 = 1;
/// The usual file extension of a bundle.
pub const EXTENSION: &str = "nrbundle";
/// Largest bundle read (a full General MIDI library with its samples is a few hundred MB).
pub const MAX_BUNDLE_BYTES: u64 = 1 << 30;
/// The file an installed bundle's patch is written to, beside its instrument files.
pub const PATCH_FILE: &str = "patch.json";

/// Name of the manifest inside the archive (its first entry).
const MANIFEST_ENTRY: &str = "manifest.json";
/// Folder of the archive holding file contents, each named by its hash.
const BLOBS: &str = "blobs/";
/// Largest manifest read.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// Most files a bundle may hold.
const MAX_FILES: usize = 100_000;
/// Characters encoded in a file-name segment of a bundle path (so that a name reads back as
/// itself, whatever it contains).
const SEGMENT: &AsciiSet = &CONTROLS.add(b'%').add(b'/').add(b'\\').add(b'?').add(b'#');

/// Why a bundle could not be made, read or installed.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bundle's bytes are not a valid bundle.
    #[error("{source_name}: {message}")]
    Invalid {
        /// The file or URL read.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A runner's song could not be gathered (the file missing or broken, a preset not found).
    #[error("node \"{node}\": song: {message}")]
    Song {
        /// The node's id.
        node: String,
        /// What went wrong.
        message: String,
    },
    /// A node's instrument could not be gathered (a file missing, a preset not found).
    #[error("node \"{node}\": instrument: {message}")]
    Instrument {
        /// The node's id in the patch.
        node: String,
        /// What went wrong.
        message: String,
    },
    /// The patch given to export is not a patch object.
    #[error("the patch: {0}")]
    Patch(String),
    /// A bundle's content does not hash to the id it was asked for.
    #[error("the bundle's id is {found}, not {expected}: its content is not what was asked for")]
    WrongId {
        /// The id asked for.
        expected: ContentHash,
        /// The id of what arrived.
        found: ContentHash,
    },
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// A SHA-256 as 64 lowercase hex digits: the id of a bundle, the name of a file's content.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash(String);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use std::fmt::Write;
        let digest = Sha256::digest(bytes);
        let mut hex = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        ContentHash(hex)
    }

    /// `text` if it is a hash as this type writes them.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(ContentHash(text.to_string()))
        } else {
            Err(format!("{text:?} is not a content hash (64 lowercase hex digits)"))
        }
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ContentHash {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        ContentHash::parse(&text)
    }
}

impl From<ContentHash> for String {
    fn from(hash: ContentHash) -> String {
        hash.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a bundle holds, besides the file contents: hashed to give the bundle's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Display name (the patch's name unless the publisher chose another).
    pub name: String,
    /// Free text, searched by registries.
    #[serde(default)]
    pub description: String,
    /// The bundle this one was forked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ContentHash>,
    /// The patch, in its file format, its instruments pointing at the bundle's files.
    pub patch: Value,
    /// Every file by its path in the bundle (`/`-separated, percent-encoded segments), with the
    /// hash of its content.
    pub files: BTreeMap<String, ContentHash>,
}

/// A patch with every file it needs, verified.
#[derive(Clone, Debug)]
pub struct Bundle {
    manifest: Manifest,
    blobs: BTreeMap<ContentHash, Vec<u8>>,
    id: ContentHash,
}

impl Bundle {
    /// Gathers the patch `patch` (its file format; relative paths are read from `folder`) and
    /// every file its nodes' instruments read, rewriting each `instrument` to point at the
    /// bundle's copy. Library presets are read through the library client (and its cache).
    pub fn export(patch: &Value, folder: &Path) -> Result<Bundle, BundleError> {
        let mut patch = patch.clone();
        let mut files = BTreeMap::new();
        let mut blobs = BTreeMap::new();
        let nodes = patch
            .get_mut("nodes")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| BundleError::Patch("it has no `nodes` list".into()))?;
        for (index, node) in nodes.iter_mut().enumerate() {
            let id = node.get("id").and_then(Value::as_str).unwrap_or("?").to_string();
            if let Some(config) = node.get_mut("config").filter(|c| c.get("song").is_some()) {
                let prefix = format!("songs/{index}");
                let failed = |message: String| BundleError::Song { node: id.clone(), message };
                for (path, bytes) in gather_song(config, folder, &prefix).map_err(failed)? {
                    let hash = ContentHash::of(&bytes);
                    files.insert(format!("{prefix}/{path}"), hash.clone());
                    blobs.insert(hash, bytes);
                }
            }
            let Some(instrument) = node.pointer_mut("/config/instrument") else { continue };
            let failed = |message: String| BundleError::Instrument { node: id.clone(), message };
            let prefix = format!("instruments/{index}");
            let (gathered, rewritten) = gather(instrument, folder, &prefix).map_err(failed)?;
            for (path, bytes) in gathered {
                let hash = ContentHash::of(&bytes);
                files.insert(format!("{prefix}/{path}"), hash.clone());
                blobs.insert(hash, bytes);
            }
            *instrument = rewritten;
        }
        let text = |key: &str| patch.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            name: text("name"),
            description: text("description"),
            parent: None,
            patch,
            files,
        };
        Ok(Bundle::new(manifest, blobs))
    }

    fn new(manifest: Manifest, blobs: BTreeMap<ContentHash, Vec<u8>>) -> Bundle {
        let id = ContentHash::of(&canonical(&manifest));
        Bundle { manifest, blobs, id }
    }

    /// Its id: the hash of its manifest, which names every file by its hash.
    pub fn id(&self) -> &ContentHash {
        &self.id
    }

    /// Its manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Bytes of file content it holds (each distinct content once).
    pub fn content_bytes(&self) -> u64 {
        self.blobs.values().map(|b| b.len() as u64).sum()
    }

    /// A new bundle recording this one as its parent, with the same files, another name and,
    /// if given, another patch (which may only use this bundle's files).
    pub fn fork(&self, name: Option<String>, patch: Option<Value>) -> Result<Bundle, BundleError> {
        let mut manifest = self.manifest.clone();
        manifest.parent = Some(self.id.clone());
        if let Some(name) = name {
            manifest.name = name;
        }
        if let Some(patch) = patch {
            manifest.patch = patch;
        }
        let invalid = |message| BundleError::Invalid { source_name: "fork".into(), message };
        check_references(&manifest).map_err(invalid)?;
        check_songs(&manifest, &self.blobs).map_err(invalid)?;
        Ok(Bundle::new(manifest, self.blobs.clone()))
    }

    /// The bundle as one file: a tar archive of `manifest.json` then `blobs/HASH` for each
    /// distinct content, in hash order, with fixed metadata (the same bundle, the same bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut archive = tar::Builder::new(Vec::new());
        let mut append = |path: &str, bytes: &[u8]| {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            archive.append_data(&mut header, path, bytes).expect("writing to memory cannot fail");
        };
        append(MANIFEST_ENTRY, &canonical(&self.manifest));
        for (hash, bytes) in &self.blobs {
            append(&format!("{BLOBS}{hash}"), bytes);
        }
        archive.into_inner().expect("writing to memory cannot fail")
    }

    /// Reads and verifies a bundle (from `source_name`, for messages): every content matches its
    /// hash, every file of the manifest is present and nothing else is, every path stays inside
    /// the bundle, and every instrument of the patch uses only the bundle's files.
    pub fn from_bytes(bytes: &[u8], source_name: &str) -> Result<Bundle, BundleError> {
        let bad = |message: String| BundleError::Invalid { source_name: source_name.to_string(), message };
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(bad(format!("larger than the limit of {MAX_BUNDLE_BYTES} bytes")));
        }
        let mut archive = tar::Archive::new(bytes);
        let entries = archive.entries().map_err(|e| bad(format!("not a bundle archive: {e}")))?;
        let mut manifest: Option<Manifest> = None;
        let mut blobs = BTreeMap::new();
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(format!("not a bundle archive: {e}")))?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if entry.header().entry_type() != tar::EntryType::Regular {
                return Err(bad(format!("entry {name:?} is not a plain file")));
            }
            let Some(manifest_read) = &manifest else {
                manifest = Some(manifest_entry(&mut entry).map_err(bad)?);
                continue;
            };
            let hash = name
                .strip_prefix(BLOBS)
                .and_then(|h| ContentHash::parse(h).ok())
                .ok_or_else(|| bad(format!("unexpected entry {name:?}")))?;
            if !manifest_read.files.values().any(|h| *h == hash) {
                return Err(bad(format!("entry {name:?} is no file of the manifest")));
            }
            if blobs.contains_key(&hash) {
                return Err(bad(format!("entry {name:?} appears twice")));
            }
            let content = read_entry(&mut entry, MAX_BUNDLE_BYTES).map_err(|e| bad(format!("{name}: {e}")))?;
            let found = ContentHash::of(&content);
            if found != hash {
                return Err(bad(format!("entry {name:?} holds content whose hash is {found}")));
            }
            blobs.insert(hash, content);
        }
        let manifest = manifest.ok_or_else(|| bad("empty: it has no manifest".into()))?;
        if let Some((path, hash)) = manifest.files.iter().find(|(_, h)| !blobs.contains_key(*h)) {
            return Err(bad(format!("file {path:?}: its content ({hash}) is missing")));
        }
        check_songs(&manifest, &blobs).map_err(bad)?;
        Ok(Bundle::new(manifest, blobs))
    }

    /// The manifest of the bundle `reader` holds, checked, without reading its file contents
    /// (for listings: [`Bundle::from_bytes`] verifies them).
    pub fn manifest_of(reader: impl Read, source_name: &str) -> Result<Manifest, BundleError> {
        let bad = |message: String| BundleError::Invalid { source_name: source_name.to_string(), message };
        let mut archive = tar::Archive::new(reader);
        let mut entries = archive.entries().map_err(|e| bad(format!("not a bundle archive: {e}")))?;
        let mut first = entries
            .next()
            .ok_or_else(|| bad("empty: it has no manifest".into()))?
            .map_err(|e| bad(format!("not a bundle archive: {e}")))?;
        manifest_entry(&mut first).map_err(bad)
    }

    /// [`Bundle::from_bytes`], then checks that the id is `expected`.
    pub fn from_bytes_expecting(
        bytes: &[u8],
        source_name: &str,
        expected: &ContentHash,
    ) -> Result<Bundle, BundleError> {
        let bundle = Bundle::from_bytes(bytes, source_name)?;
        if bundle.id != *expected {
            return Err(BundleError::WrongId { expected: expected.clone(), found: bundle.id });
        }
        Ok(bundle)
    }

    /// Writes the bundle's files and its patch into `root/ID/` (complete or not at all: built in
    /// a temporary folder beside it, then renamed) and returns the patch file's path. Installing
    /// a bundle already there reuses it: the id names the content.
    pub fn install(&self, root: &Path) -> Result<PathBuf, BundleError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BundleError::Io { path, source }
        };
        let dir = root.join(self.id.as_str());
        let patch_file = dir.join(PATCH_FILE);
        if patch_file.is_file() {
            return Ok(patch_file);
        }
        std::fs::create_dir_all(root).map_err(io(root))?;
        let staging = tempfile::Builder::new().prefix(".installing-").tempdir_in(root).map_err(io(root))?;
        for (path, hash) in &self.manifest.files {
            let remote = RemotePath::parse(path).expect("paths are checked when the bundle is made or read");
            let file = file_of(staging.path(), &remote);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::write(&file, &self.blobs[hash]).map_err(io(&file))?;
        }
        let text = serde_json::to_string_pretty(&self.manifest.patch).expect("a JSON value serializes");
        let staged_patch = staging.path().join(PATCH_FILE);
        std::fs::write(&staged_patch, text).map_err(io(&staged_patch))?;
        let staged = staging.keep();
        if let Err(source) = std::fs::rename(&staged, &dir) {
            let _ = std::fs::remove_dir_all(&staged);
            if !patch_file.is_file() {
                return Err(BundleError::Io { path: dir, source });
            }
        }
        Ok(patch_file)
    }
}

/// The manifest's bytes as hashed and written: compact JSON, object keys sorted.
fn canonical(manifest: &Manifest) -> Vec<u8> {
    let value = serde_json::to_value(manifest).expect("a manifest serializes");
    serde_json::to_vec(&sorted(value)).expect("a JSON value serializes")
}

/// `value` with every object's keys in order, whatever map type serde_json was built with.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Reads the first entry of an archive as its manifest, checked.
fn manifest_entry<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Manifest, String> {
    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    if name != MANIFEST_ENTRY || entry.header().entry_type() != tar::EntryType::Regular {
        return Err(format!("the first entry is {name:?}, not the file {MANIFEST_ENTRY}"));
    }
    let text = read_entry(entry, MAX_MANIFEST_BYTES).map_err(|e| format!("{name}: {e}"))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| format!("{name}: {e}"))?;
    check_manifest(&manifest).map_err(|e| format!("{name}: {e}"))?;
    Ok(manifest)
}

fn read_entry(entry: &mut impl Read, limit: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    entry.take(limit + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than the limit of {limit} bytes"));
    }
    Ok(bytes)
}

/// The manifest's own rules: its format, its paths, its references.
fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    if manifest.format != FORMAT {
        return Err(format!("format is {:?}, not {FORMAT:?}", manifest.format));
    }
    if manifest.version != VERSION {
        return Err(format!("version {} is not supported (this noderack reads version {VERSION})", manifest.version));
    }
    if manifest.files.len() > MAX_FILES {
        return Err(format!("{} files, more than the limit of {MAX_FILES}", manifest.files.len()));
    }
    for path in manifest.files.keys() {
        let remote = RemotePath::parse(path).map_err(|e| format!("files: {e}"))?;
        if remote.segments().len() == 1 && remote.segments()[0] == PATCH_FILE {
            return Err(format!("files: {path:?} is reserved for the patch"));
        }
    }
    check_references(manifest)
}

/// Every node's `instrument` names files of the bundle (never a path outside it or a URL).
fn check_references(manifest: &Manifest) -> Result<(), String> {
    let nodes = manifest.patch.get("nodes").and_then(Value::as_array).ok_or("patch: it has no `nodes` list")?;
    for (index, node) in nodes.iter().enumerate() {
        let Some(instrument) = node.pointer("/config/instrument") else { continue };
        let at = |field: &str| format!("patch: nodes[{index}].config.instrument.{field}");
        let has = |path: &str| manifest.files.contains_key(path);
        let inside = |field: &str| -> Result<Option<String>, String> {
            match instrument.get(field) {
                None => Ok(None),
                Some(Value::String(path)) if RemotePath::parse(path).is_ok() => Ok(Some(path.clone())),
                Some(other) => Err(format!("{}: {other} is not a path inside the bundle", at(field))),
            }
        };
        for field in ["sfz", "sf2"] {
            if let Some(path) = inside(field)? {
                if !has(&path) {
                    return Err(format!("{}: {path:?} is not a file of the bundle", at(field)));
                }
            }
        }
        if instrument.get("preset").is_some() {
            let Some(library) = inside("library")? else {
                return Err(format!("{}: a bundled preset names its library folder in the bundle", at("library")));
            };
            if !has(&format!("{library}/index.json")) {
                return Err(format!("{}: {library:?} is not a library folder of the bundle", at("library")));
            }
        }
    }
    Ok(())
}

/// Every runner's `song` is a file of the bundle, and a runner that plays its song's own
/// instruments finds the presets the song loads in a library folder of the bundle (its
/// `library`), never in a library outside it.
fn check_songs(manifest: &Manifest, blobs: &BTreeMap<ContentHash, Vec<u8>>) -> Result<(), String> {
    let nodes = manifest.patch.get("nodes").and_then(Value::as_array).ok_or("patch: it has no `nodes` list")?;
    for (index, node) in nodes.iter().enumerate() {
        let Some(config) = node.get("config").filter(|c| c.get("song").is_some()) else { continue };
        let at = |field: &str| format!("patch: nodes[{index}].config.{field}");
        let Some(Value::String(song)) = config.get("song") else {
            return Err(format!("{}: not a path inside the bundle", at("song")));
        };
        let Some(bytes) = manifest.files.get(song).and_then(|hash| blobs.get(hash)) else {
            return Err(format!("{}: {song:?} is not a file of the bundle", at("song")));
        };
        if config.get("instruments") == Some(&Value::Bool(false)) {
            continue;
        }
        match config.get("library") {
            Some(Value::String(library)) if RemotePath::parse(library).is_ok() => {
                if !manifest.files.contains_key(&format!("{library}/index.json")) {
                    return Err(format!("{}: {library:?} is not a library folder of the bundle", at("library")));
                }
            }
            Some(other) => return Err(format!("{}: {other} is not a path inside the bundle", at("library"))),
            None => {
                let source = String::from_utf8_lossy(bytes);
                if !song_presets(&source, song).map_err(|e| format!("{}: {e}", at("song")))?.is_empty() {
                    return Err(format!(
                        "{}: the song loads presets, and no library folder of the bundle holds them",
                        at("library")
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The presets the song `source` loads.
fn song_presets(source: &str, file: &str) -> Result<Vec<String>, String> {
    let song = crate::sw::compile(source, file, &Default::default()).map_err(|e| e.to_string())?;
    Ok(song
        .instruments
        .iter()
        .filter_map(|i| match i {
            crate::sw::InstrumentDef::Preset { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect())
}

/// The files a runner's song needs (the song, and the library files of the presets it loads
/// when the runner plays its own instruments), by path relative to the folder `prefix` will
/// hold; `config` is rewritten to point there.
fn gather_song(config: &mut Value, folder: &Path, prefix: &str) -> Result<Vec<BundleFile>, String> {
    let Some(Value::String(song)) = config.get("song") else { return Err("expected the path of a .sw file".into()) };
    let path = LoadContext::new(folder).resolve(song);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.file_name().ok_or_else(|| format!("{} names no file", path.display()))?;
    let name = bundle_path(Path::new(name))?;
    let presets = song_presets(&String::from_utf8_lossy(&bytes), &path.display().to_string())?;
    let mut files = vec![(name.clone(), bytes)];
    config["song"] = json!(format!("{prefix}/{name}"));
    let plays = config.get("instruments") != Some(&Value::Bool(false));
    if plays && !presets.is_empty() {
        let library = match config.get("library") {
            None => crate::library::DEFAULT_LIBRARY_URL.to_string(),
            Some(Value::String(given)) if given.contains("://") => given.clone(),
            Some(Value::String(given)) => folder.join(given).display().to_string(),
            Some(other) => return Err(format!("library: {other} is not a folder or a URL")),
        };
        let client = LibraryClient::new(&LibraryConfig::new(library)).map_err(|e| e.to_string())?;
        for preset in &presets {
            for (path, bytes) in client.files_of(preset).map_err(|e| format!("{preset}: {e}"))? {
                let path = format!("library/{path}");
                if !files.iter().any(|(p, _)| *p == path) {
                    files.push((path, bytes));
                }
            }
        }
        config["library"] = json!(format!("{prefix}/library"));
    }
    Ok(files)
}

/// A file of a bundle: its path in the bundle and its content.
type BundleFile = (String, Vec<u8>);

/// The files `instrument` (a node's setting) reads, by path relative to the folder `prefix`
/// will hold, and the setting rewritten to point there.
fn gather(instrument: &Value, folder: &Path, prefix: &str) -> Result<(Vec<BundleFile>, Value), String> {
    let config: ConfigValue = serde_json::from_value(instrument.clone()).map_err(|e| e.to_string())?;
    let mut context = LoadContext::new(folder);
    let reference = InstrumentRef::from_config(&config, &context)
        .map_err(|(field, message)| field.map_or(message.clone(), |f| format!("{f}: {message}")))?;
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    match reference {
        InstrumentRef::Sfz(path) => {
            let built = sfz::load_sfz(&path, &mut context.store).map_err(|e| e.to_string())?;
            let all: Vec<PathBuf> = built.files.iter().chain(&built.sample_files).cloned().collect();
            let canonical: Vec<PathBuf> = all
                .iter()
                .map(|p| std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display())))
                .collect::<Result<_, _>>()?;
            let base = common_folder(&canonical);
            let mut files = Vec::new();
            for file in &canonical {
                let relative = bundle_path(file.strip_prefix(&base).expect("base is a prefix of every file"))?;
                if !files.iter().any(|(p, _): &BundleFile| *p == relative) {
                    files.push((relative, read(file)?));
                }
            }
            let top = bundle_path(canonical[0].strip_prefix(&base).expect("base is a prefix"))?;
            Ok((files, json!({ "sfz": format!("{prefix}/{top}") })))
        }
        InstrumentRef::Sf2 { path, .. } => {
            // Check it is a bank now, rather than at import.
            sf2::load_bank(&path, &mut context.store).map_err(|e| e.to_string())?;
            let name = path.file_name().ok_or_else(|| format!("{} names no file", path.display()))?;
            let name = bundle_path(Path::new(name))?;
            let mut rewritten = instrument.clone();
            rewritten["sf2"] = json!(format!("{prefix}/{name}"));
            Ok((vec![(name, read(&path)?)], rewritten))
        }
        InstrumentRef::Preset { name, library } => {
            let client = LibraryClient::new(&LibraryConfig::new(library)).map_err(|e| e.to_string())?;
            let files = client.files_of(&name).map_err(|e| e.to_string())?;
            let files = files.into_iter().map(|(path, bytes)| (path.to_string(), bytes)).collect();
            Ok((files, json!({ "preset": name, "library": prefix })))
        }
    }
}

/// The deepest folder holding every one of `files` (absolute, canonical paths).
fn common_folder(files: &[PathBuf]) -> PathBuf {
    let mut base = files[0].parent().unwrap_or(Path::new("/")).to_path_buf();
    for file in &files[1..] {
        while !file.starts_with(&base) {
            if !base.pop() {
                break;
            }
        }
    }
    base
}

/// A relative file path as a bundle path: `/`-separated, each segment percent-encoded.
fn bundle_path(relative: &Path) -> Result<String, String> {
    let mut segments = Vec::new();
    for component in relative.components() {
        let Component::Normal(name) = component else {
            return Err(format!("{} is not a plain relative path", relative.display()));
        };
        let name = name.to_str().ok_or_else(|| format!("{} is not UTF-8", relative.display()))?;
        segments.push(utf8_percent_encode(name, SEGMENT).to_string());
    }
    let path = segments.join("/");
    RemotePath::parse(&path).map_err(|e| format!("{}: {e}", relative.display()))?;
    Ok(path)
}
