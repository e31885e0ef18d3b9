//! The content-addressed disk cache of library files.
//!
//! Layout under the cache root (see `docs/LIBRARY.md`):
//!
//! ```text
//! objects/ab/<sha256>      file contents, named by the SHA-256 of their bytes
//! refs/cd/<sha256(key)>    one small JSON per key: {key, object, pinned} — the durable mapping
//! entries.json             snapshot of every entry (object, size, last use, pinned) for LRU
//! tmp/                     files being written; renamed into place once complete
//! ```
//!
//! A file is either fully written and verified or absent: everything is written to `tmp/`,
//! flushed to disk and renamed into place, objects before the refs that name them. Objects are
//! re-hashed whenever they are read, so a file damaged after the fact is dropped and fetched
//! again instead of being used. `entries.json` is a snapshot: on open it is reconciled with
//! `refs/` and `objects/` (and rebuilt from them when missing or unreadable), so a crash between
//! two snapshots loses nothing but the order of recent uses.
//!
//! Keys come from remote data but never become file names: a file's name is a hash, so no key can
//! reach outside the cache root.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::sample::sha256;

/// Default size cap of the cache: 2 GB (the whole public library is about that size; pinned
/// libraries may exceed it).
pub const DEFAULT_CAP_BYTES: u64 = 2_000_000_000;

/// Temp files older than this are leftovers of a crashed writer and are deleted on open (a younger
/// one may belong to another process writing right now).
pub const STALE_TMP_AGE: Duration = Duration::from_secs(600);

/// Version of `entries.json`; another version is rebuilt from the files.
const SNAPSHOT_VERSION: u32 = 1;

/// Why the cache could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cache {path}: {source}")]
pub struct CacheError {
    /// The file or folder concerned.
    pub path: String,
    /// The I/O error.
    pub source: std::io::Error,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError { path: path.display().to_string(), source }
}

/// One cached key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// SHA-256 (hex) of the content: the name of its object file.
    pub object: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// Use counter at the last use (higher is more recent): the LRU order.
    pub last_use: u64,
    /// Kept for offline use: never evicted.
    pub pinned: bool,
}

/// The durable record of one key, in `refs/`.
#[derive(Serialize, Deserialize)]
struct Ref {
    key: String,
    object: String,
    pinned: bool,
}

/// `entries.json`.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    clock: u64,
    entries: BTreeMap<String, Entry>,
}

/// What opening the cache found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// `entries.json` was missing or unreadable and was rebuilt from the files.
    pub rebuilt: bool,
    /// Stale temp files deleted.
    pub stale_temp_files: usize,
    /// Objects no ref named (a writer crashed between the two), deleted.
    pub orphan_objects: usize,
}

/// The cache: an index of entries over content-addressed files. Not shared between threads;
/// several processes may use one cache root (writes are atomic; the last snapshot wins).
pub struct DiskCache {
    root: PathBuf,
    cap_bytes: u64,
    entries: BTreeMap<String, Entry>,
    clock: u64,
    dirty: bool,
    opened: OpenReport,
}

impl DiskCache {
    /// Opens (creating if needed) the cache at `root`, evicting down to `cap_bytes` when full.
    /// Deletes stale temp files and reconciles the snapshot with the files on disk.
    pub fn open(root: &Path, cap_bytes: u64) -> Result<DiskCache, CacheError> {
        for dir in ["objects", "refs", "tmp"] {
            fs::create_dir_all(root.join(dir)).map_err(io_error(&root.join(dir)))?;
        }
        let mut cache = DiskCache {
            root: root.to_path_buf(),
            cap_bytes,
            entries: BTreeMap::new(),
            clock: 0,
            dirty: false,
            opened: OpenReport::default(),
        };
        cache.opened.stale_temp_files = cache.clean_temp_files();
        cache.load_snapshot();
        cache.reconcile()?;
        if cache.dirty {
            cache.save()?;
        }
        Ok(cache)
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What opening found and repaired.
    pub fn open_report(&self) -> &OpenReport {
        &self.opened
    }

    /// The entry for `key`, if cached.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Every entry, by key.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, e)| (k.as_str(), e))
    }

    /// Bytes on disk (each object counted once, however many keys share it).
    pub fn total_bytes(&self) -> u64 {
        let mut seen = HashSet::new();
        self.entries.values().filter(|e| seen.insert(&e.object)).map(|e| e.size).sum()
    }

    /// The size cap.
    pub fn cap_bytes(&self) -> u64 {
        self.cap_bytes
    }

    /// The content of `key`, verified against its hash, and marks it used. A damaged object is
    /// deleted (with a warning) and reported as absent, so it is fetched again.
    pub fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let object = self.entries.get(key)?.object.clone();
        let path = self.object_path(&object);
        let verified = fs::read(&path).ok().filter(|bytes| hex(&sha256(bytes)) == object);
        match verified {
            Some(bytes) => {
                self.clock += 1;
                let clock = self.clock;
                if let Some(e) = self.entries.get_mut(key) {
                    e.last_use = clock;
                }
                self.dirty = true;
                Some(bytes)
            }
            None => {
                tracing::warn!("cached copy of {key} is missing or damaged ({}); fetching it again", path.display());
                self.remove_object(&object);
                None
            }
        }
    }

    /// Stores `bytes` as the content of `key` (atomically: object, then ref), then evicts
    /// least-recently used unpinned entries until the cache fits its cap. `pinned` entries (and
    /// entries already pinned) are never evicted.
    pub fn put(&mut self, key: &str, bytes: &[u8], pinned: bool) -> Result<(), CacheError> {
        let object = hex(&sha256(bytes));
        let path = self.object_path(&object);
        // Another key may hold the same content already; rewrite it unless it is intact.
        let intact = fs::read(&path).is_ok_and(|existing| existing == bytes);
        if !intact {
            self.write_atomically(&path, bytes)?;
        }
        let pinned = pinned || self.entries.get(key).is_some_and(|e| e.pinned);
        let old = self.entries.get(key).map(|e| e.object.clone());
        self.write_ref(key, &object, pinned)?;
        self.clock += 1;
        self.entries.insert(
            key.to_string(),
            Entry { object: object.clone(), size: bytes.len() as u64, last_use: self.clock, pinned },
        );
        self.dirty = true;
        if let Some(old) = old.filter(|o| *o != object) {
            self.delete_object_if_unused(&old);
        }
        self.evict(&object);
        Ok(())
    }

    /// Pins `key` (it will never be evicted). False when it is not cached.
    pub fn pin(&mut self, key: &str) -> Result<bool, CacheError> {
        let Some(entry) = self.entries.get(key) else { return Ok(false) };
        if !entry.pinned {
            let object = entry.object.clone();
            self.write_ref(key, &object, true)?;
            if let Some(e) = self.entries.get_mut(key) {
                e.pinned = true;
            }
            self.dirty = true;
        }
        Ok(true)
    }

    /// Writes the snapshot (`entries.json`) if anything changed since the last one.
    pub fn save(&mut self) -> Result<(), CacheError> {
        if !self.dirty {
            return Ok(());
        }
        let snapshot = Snapshot { version: SNAPSHOT_VERSION, clock: self.clock, entries: self.entries.clone() };
        let text = serde_json::to_vec_pretty(&snapshot).expect("entries serialize");
        self.write_atomically(&self.root.join("entries.json"), &text)?;
        self.dirty = false;
        Ok(())
    }

    /// Evicts least-recently used unpinned objects until the cache fits its cap; `keep` (the
    /// object just stored) stays so the caller's fetch succeeds even when it alone exceeds the cap.
    fn evict(&mut self, keep: &str) {
        let mut total = self.total_bytes();
        if total <= self.cap_bytes {
            return;
        }
        // Per object: its size, its most recent use, and whether any key pins it.
        let mut objects: HashMap<&str, (u64, u64, bool)> = HashMap::new();
        for e in self.entries.values() {
            let o = objects.entry(&e.object).or_insert((e.size, 0, false));
            o.1 = o.1.max(e.last_use);
            o.2 |= e.pinned;
        }
        let mut candidates: Vec<(u64, u64, String)> = objects
            .into_iter()
            .filter(|(object, (_, _, pinned))| !pinned && *object != keep)
            .map(|(object, (size, last_use, _))| (last_use, size, object.to_string()))
            .collect();
        candidates.sort();
        for (_, size, object) in candidates {
            if total <= self.cap_bytes {
                break;
            }
            tracing::debug!("evicting object {object} ({size} bytes)");
            self.remove_object(&object);
            total -= size;
        }
    }

    /// Deletes an object and every key naming it.
    fn remove_object(&mut self, object: &str) {
        let keys: Vec<String> =
            self.entries.iter().filter(|(_, e)| e.object == object).map(|(k, _)| k.clone()).collect();
        for key in keys {
            let _ = fs::remove_file(self.ref_path(&key));
            self.entries.remove(&key);
        }
        let _ = fs::remove_file(self.object_path(object));
        self.dirty = true;
    }

    fn delete_object_if_unused(&mut self, object: &str) {
        if !self.entries.values().any(|e| e.object == object) {
            let _ = fs::remove_file(self.object_path(object));
        }
    }

    fn object_path(&self, object: &str) -> PathBuf {
        self.root.join("objects").join(&object[..2.min(object.len())]).join(object)
    }

    fn ref_path(&self, key: &str) -> PathBuf {
        let id = hex(&sha256(key.as_bytes()));
        self.root.join("refs").join(&id[..2]).join(id)
    }

    fn write_ref(&self, key: &str, object: &str, pinned: bool) -> Result<(), CacheError> {
        let r = Ref { key: key.to_string(), object: object.to_string(), pinned };
        self.write_atomically(&self.ref_path(key), &serde_json::to_vec(&r).expect("ref serializes"))
    }

    /// Writes `bytes` to a temp file in `tmp/`, flushes it to disk and renames it to `path`: a
    /// reader sees the whole file or none of it.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tmp = self.root.join("tmp").join(format!(
            "{}-{}-{}.part",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
        ));
        let result = (|| {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(io_error(dir))?;
            }
            let mut file = fs::File::create(&tmp).map_err(io_error(&tmp))?;
            file.write_all(bytes).map_err(io_error(&tmp))?;
            file.sync_all().map_err(io_error(&tmp))?;
            fs::rename(&tmp, path).map_err(io_error(path))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Deletes temp files older than [`STALE_TMP_AGE`]; returns how many.
    fn clean_temp_files(&self) -> usize {
        let Ok(dir) = fs::read_dir(self.root.join("tmp")) else { return 0 };
        let now = SystemTime::now();
        dir.flatten()
            .filter(|f| {
                let age = f.metadata().and_then(|m| m.modified()).ok().and_then(|t| now.duration_since(t).ok());
                age.is_some_and(|a| a >= STALE_TMP_AGE)
            })
            .filter(|f| fs::remove_file(f.path()).is_ok())
            .count()
    }

    fn load_snapshot(&mut self) {
        let path = self.root.join("entries.json");
        let snapshot = fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Snapshot>(&b).ok());
        match snapshot {
            Some(s) if s.version == SNAPSHOT_VERSION => {
                self.entries = s.entries;
                self.clock = s.clock;
            }
            _ => {
                if path.exists() {
                    tracing::warn!("{} is unreadable; rebuilding it from the cached files", path.display());
                }
                self.opened.rebuilt = true;
                self.dirty = true;
            }
        }
    }

    /// Makes the entries agree with `refs/` and `objects/`: entries without a ref or object are
    /// dropped, refs the snapshot missed are added (as least recently used), objects no ref names
    /// are deleted.
    fn reconcile(&mut self) -> Result<(), CacheError> {
        let refs = list_files(&self.root.join("refs"));
        let objects: HashMap<String, u64> = list_files(&self.root.join("objects"))
            .into_iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_str()?.to_string();
                Some((name, fs::metadata(&p).ok()?.len()))
            })
            .collect();
        let mut seen_refs = HashSet::new();
        let mut found = BTreeMap::new();
        for path in refs {
            let r = fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Ref>(&b).ok());
            let Some(r) = r.filter(|r| objects.contains_key(&r.object) && self.ref_path(&r.key) == path) else {
                let _ = fs::remove_file(&path);
                self.dirty = true;
                continue;
            };
            seen_refs.insert(r.key.clone());
            let size = objects[&r.object];
            let entry = match self.entries.get(&r.key) {
                Some(e) if e.object == r.object && e.size == size => Entry { pinned: r.pinned, ..e.clone() },
                _ => {
                    self.dirty = true;
                    Entry { object: r.object, size, last_use: 0, pinned: r.pinned }
                }
            };
            found.insert(r.key, entry);
        }
        if self.entries.keys().any(|k| !seen_refs.contains(k)) {
            self.dirty = true;
        }
        self.entries = found;
        let named: HashSet<&String> = self.entries.values().map(|e| &e.object).collect();
        for object in objects.keys().filter(|o| !named.contains(o)) {
            let _ = fs::remove_file(self.object_path(object));
            self.opened.orphan_objects += 1;
        }
        Ok(())
    }
}

impl Drop for DiskCache {
    fn drop(&mut self) {
        if let Err(e) = self.save() {
            tracing::warn!("{e}");
        }
    }
}

/// Files two levels below `dir` (`dir/ab/<name>`).
fn list_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(shards) = fs::read_dir(dir) else { return Vec::new() };
    shards
        .flatten()
        .filter_map(|shard| fs::read_dir(shard.path()).ok())
        .flat_map(|files| files.flatten().map(|f| f.path()))
        .collect()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
