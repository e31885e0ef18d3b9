//! [`LibraryClient`]: indexes, presets and samples of one library, through the disk cache.
//!
//! - Indexes are fetched at most once per client (per session); later reads use the cache.
//! - Presets and samples are fetched on first use and then read from the cache.
//! - Whatever comes from the network is checked before it is cached or used: a sample against
//!   its recorded hash, an index or preset by parsing it (which also checks every path it names).
//!   A mismatch or a broken transfer is fetched once more, then reported.
//! - When the network fails (timeout, no connection, server error) and a cached copy exists, the
//!   copy is used with a warning.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::json_file::FileError;
use crate::library::cache::DiskCache;
use crate::library::config::LibraryConfig;
use crate::library::error::LibraryError;
use crate::library::fetch::Fetcher;
use crate::library::location::Location;
use crate::library::paths::RemotePath;
use crate::sample::{decode, verify_hash, Sample, SampleError, SampleStore};
use crate::songwalker::{
    build_graph_with, build_instrument_with, match_library, match_preset, split_query, zone_encoding, Built,
    BuiltGraph, IndexEntry, LibraryIndex, PresetFile, SamplerZone, ZoneSamples,
};

/// How many times a file is fetched before a broken transfer or a hash mismatch is reported.
pub const FETCH_ATTEMPTS: u32 = 2;

/// A library listed in the root index, with its own index.
#[derive(Clone, Debug)]
pub struct Library {
    /// Display name (`FluidR3 GM`).
    pub name: String,
    /// Free text from the root index.
    pub description: String,
    /// Path of its index (`FluidR3_GM/index.json`).
    pub index_path: RemotePath,
    /// Its index.
    pub index: LibraryIndex,
}

/// A preset entry of a library index.
#[derive(Clone, Debug, PartialEq)]
pub struct RemotePreset {
    /// Display name of its library.
    pub library: String,
    /// Display name of the preset.
    pub name: String,
    /// Path of its `preset.json` from the library root.
    pub path: RemotePath,
    /// The index entry (category, tags, zone count, key range).
    pub entry: IndexEntry,
}

/// What [`LibraryClient::fetch`] got.
#[derive(Debug)]
pub struct FetchReport {
    /// The preset found.
    pub preset: RemotePreset,
    /// Its file.
    pub file: PresetFile,
    /// Samples it uses (each fetched or found in the cache, verified).
    pub samples: usize,
    /// Their total size in bytes.
    pub sample_bytes: u64,
}

/// How far a [`LibraryClient::fetch_observed`] has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchProgress {
    /// Samples read so far (fetched, or found in the cache), each verified.
    pub samples_done: usize,
    /// Samples the preset uses.
    pub samples: usize,
    /// Bytes of those samples read so far.
    pub bytes: u64,
}

/// What [`LibraryClient::offline`] got.
#[derive(Debug, Default)]
pub struct OfflineReport {
    /// The library's display name.
    pub library: String,
    /// Presets it holds.
    pub presets: usize,
    /// Files now cached and pinned (indexes, presets, samples).
    pub files: usize,
    /// Total size of the samples in bytes.
    pub bytes: u64,
    /// What could not be had (the rest is pinned all the same).
    pub failures: Vec<VerifyFailure>,
}

/// One failure found by [`LibraryClient::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    /// `Lib/Name` of the preset.
    pub preset: String,
    /// The URL or file that failed (the preset or one of its samples).
    pub file: String,
    /// Why.
    pub reason: String,
}

/// What [`LibraryClient::verify`] found.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// The library's display name.
    pub library: String,
    /// Presets checked.
    pub presets: usize,
    /// Samples fetched, checked and decoded.
    pub samples: usize,
    /// Everything that failed, in index order.
    pub failures: Vec<VerifyFailure>,
}

/// Whether a zone's sample is in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleStatus {
    /// Its URL or file.
    pub url: String,
    /// Its size when cached (or, for a local folder, on disk).
    pub bytes: Option<u64>,
}

/// How fetched bytes are checked.
#[derive(Copy, Clone)]
enum Check<'a> {
    Index,
    Preset,
    Sample { sha256: &'a str },
}

/// A client of one library. Methods block the calling thread (they drive the client's own tokio
/// runtime), so call them from a plain thread — inside an async task, use `spawn_blocking` — and
/// never from an audio thread. The client may be shared between threads.
pub struct LibraryClient {
    fetcher: Fetcher,
    cache: Option<Mutex<DiskCache>>,
    /// Indexes fetched (or found unreachable) during this session.
    fresh: Mutex<HashSet<RemotePath>>,
    progress: bool,
}

impl LibraryClient {
    /// A client for `config.location`, with its cache opened (a local folder needs none).
    pub fn new(config: &LibraryConfig) -> Result<LibraryClient, LibraryError> {
        let location = Location::parse(&config.location)?;
        let cache = if location.is_cached() {
            let dir = config.resolve_cache_dir()?;
            let cache = DiskCache::open(&dir, config.cache_cap_bytes)?;
            let report = cache.open_report();
            if report.rebuilt || report.stale_temp_files > 0 || report.orphan_objects > 0 {
                tracing::info!("cache {}: {report:?}", dir.display());
            }
            Some(Mutex::new(cache))
        } else {
            None
        };
        Ok(LibraryClient {
            fetcher: Fetcher::new(location, config.timeout)?,
            cache,
            fresh: Mutex::new(HashSet::new()),
            progress: config.progress,
        })
    }

    /// Where the library is.
    pub fn location(&self) -> &Location {
        self.fetcher.location()
    }

    /// The cache folder, unless the library is a local folder.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.cache.as_ref().map(|c| lock(c).root().to_path_buf())
    }

    /// Writes the cache's entry snapshot now (it is also written when the client is dropped).
    pub fn save(&self) -> Result<(), LibraryError> {
        if let Some(cache) = &self.cache {
            lock(cache).save()?;
        }
        Ok(())
    }

    /// The root index (the list of libraries).
    pub fn root_index(&self) -> Result<LibraryIndex, LibraryError> {
        self.index(&RemotePath::parse("index.json").expect("a valid path"), false)
    }

    /// Every library of the root index, each with its index.
    pub fn libraries(&self) -> Result<Vec<Library>, LibraryError> {
        let root = self.root_index()?;
        let mut libraries = Vec::new();
        for (i, entry) in root.entries.iter().enumerate() {
            if let IndexEntry::Index { name, path, description, .. } = entry {
                let index_path =
                    self.checked(&RemotePath::root(), path, "index.json", &format!("entries[{i}].path"))?;
                let index = self.index(&index_path, false)?;
                libraries.push(Library { name: name.clone(), description: description.clone(), index_path, index });
            }
        }
        Ok(libraries)
    }

    /// The library `lib` names (display name, `_` read as a space, or folder).
    pub fn library(&self, lib: &str) -> Result<Library, LibraryError> {
        self.library_pinned(lib, false)
    }

    fn library_pinned(&self, lib: &str, pin: bool) -> Result<Library, LibraryError> {
        let root = self.index(&RemotePath::parse("index.json").expect("a valid path"), pin)?;
        let (name, path) = match_library(&root, lib)?;
        let field = root
            .entries
            .iter()
            .position(|e| e.path() == path)
            .map_or("entries".into(), |i| format!("entries[{i}].path"));
        let index_path = self.checked(&RemotePath::root(), path, "index.json", &field)?;
        let index = self.index(&index_path, pin)?;
        let description = match root.entries.iter().find(|e| e.path() == path) {
            Some(IndexEntry::Index { description, .. }) => description.clone(),
            _ => String::new(),
        };
        Ok(Library { name: name.to_string(), description, index_path, index })
    }

    /// The presets of `library`, in index order.
    pub fn presets(&self, library: &Library) -> Result<Vec<RemotePreset>, LibraryError> {
        let folder = library.index_path.parent();
        let mut presets = Vec::new();
        for (i, entry) in library.index.entries.iter().enumerate() {
            if let IndexEntry::Preset { name, path, .. } = entry {
                let path =
                    self.checked(&folder, path, &library.index_path.to_string(), &format!("entries[{i}].path"))?;
                presets.push(RemotePreset {
                    library: library.name.clone(),
                    name: name.clone(),
                    path,
                    entry: entry.clone(),
                });
            }
        }
        Ok(presets)
    }

    /// Presets of every library whose name contains `query` (case-insensitive).
    pub fn search(&self, query: &str) -> Result<Vec<RemotePreset>, LibraryError> {
        let needle = query.to_lowercase();
        let mut found = Vec::new();
        for library in self.libraries()? {
            found.extend(self.presets(&library)?.into_iter().filter(|p| p.name.to_lowercase().contains(&needle)));
        }
        Ok(found)
    }

    /// The preset `"Lib/Name"` names: the library as in [`LibraryClient::library`], then the first
    /// preset whose name contains `Name`, case-insensitive.
    pub fn find(&self, query: &str) -> Result<RemotePreset, LibraryError> {
        let (lib, name) = split_query(query)?;
        let library = self.library(lib)?;
        let (preset, _) = match_preset(&library.index, &library.name, name)?;
        let preset = preset.to_string();
        self.presets(&library)?
            .into_iter()
            .find(|p| p.name == preset)
            .ok_or_else(|| LibraryError::Client(format!("preset {preset} vanished from its index")))
    }

    /// The preset file at `path`.
    pub fn preset(&self, path: &RemotePath) -> Result<PresetFile, LibraryError> {
        self.preset_pinned(path, false)
    }

    fn preset_pinned(&self, path: &RemotePath, pin: bool) -> Result<PresetFile, LibraryError> {
        let bytes = self.read(path, Check::Preset, pin, &ProgressBar::hidden())?;
        PresetFile::parse(&json_text(&bytes, &self.name_of(path))?, &self.name_of(path)).map_err(Into::into)
    }

    /// Where zone `index` of the preset at `preset_path` keeps its sample.
    pub fn sample_path(
        &self,
        preset_path: &RemotePath,
        zone_path: &str,
        zone: &SamplerZone,
    ) -> Result<RemotePath, LibraryError> {
        self.checked(
            &preset_path.parent(),
            &zone.audio.url,
            &preset_path.to_string(),
            &format!("{zone_path}.audio.url"),
        )
    }

    /// Whether each sample of `preset` (at `preset_path`) is cached, and its size.
    pub fn sample_status(
        &self,
        preset_path: &RemotePath,
        preset: &PresetFile,
    ) -> Result<Vec<SampleStatus>, LibraryError> {
        let mut out = Vec::new();
        for (zone_path, zone) in preset.zones_with_paths() {
            let path = self.sample_path(preset_path, &zone_path, zone)?;
            let url = self.name_of(&path);
            let bytes = match (&self.cache, self.location()) {
                (Some(cache), _) => lock(cache).entry(&url).map(|e| e.size),
                (None, Location::Folder(folder)) => {
                    std::fs::metadata(crate::library::location::file_of(folder, &path)).ok().map(|m| m.len())
                }
                (None, _) => None,
            };
            out.push(SampleStatus { url, bytes });
        }
        Ok(out)
    }

    /// Finds `"Lib/Name"` and builds its instrument, fetching what is not cached.
    pub fn load_instrument(&self, query: &str, store: &mut SampleStore) -> Result<Built, LibraryError> {
        self.load_with(query, store, |client, path, file, store, bar| client.build(path, file, store, bar))
    }

    /// Finds `"Lib/Name"` and builds what plays it (a sampler, an oscillator, a layered or
    /// split composite: see [`PresetGraph`](crate::songwalker::PresetGraph)), fetching what is
    /// not cached.
    pub fn load_graph(&self, query: &str, store: &mut SampleStore) -> Result<BuiltGraph, LibraryError> {
        self.load_with(query, store, |client, path, file, store, bar| {
            let name = client.name_of(path);
            build_graph_with(file, &name, &mut client.samples(path, store, bar))
        })
    }

    /// Finds `"Lib/Name"`, an effect preset, for an effect node to load.
    pub fn load_effect(&self, query: &str) -> Result<crate::songwalker::EffectPreset, LibraryError> {
        let preset = self.find(query)?;
        let file = self.preset(&preset.path)?;
        let effect = crate::songwalker::effect_preset(&file, &self.name_of(&preset.path))?;
        self.save()?;
        Ok(effect)
    }

    /// Finds `query`, reads its preset file and builds it with `build`, with a progress bar.
    fn load_with<T>(
        &self,
        query: &str,
        store: &mut SampleStore,
        build: impl FnOnce(&Self, &RemotePath, &PresetFile, &mut SampleStore, &ProgressBar) -> Result<T, LibraryError>,
    ) -> Result<T, LibraryError> {
        let preset = self.find(query)?;
        let file = self.preset(&preset.path)?;
        let bar = self.bar(&format!("{}/{}", preset.library, preset.name));
        let built = build(self, &preset.path, &file, store, &bar);
        bar.finish_and_clear();
        self.save()?;
        built
    }

    /// Builds the instrument of `preset` (the file at `preset_path`).
    pub fn build(
        &self,
        preset_path: &RemotePath,
        preset: &PresetFile,
        store: &mut SampleStore,
        progress: &ProgressBar,
    ) -> Result<Built, LibraryError> {
        let file = self.name_of(preset_path);
        build_instrument_with(preset, &file, &mut self.samples(preset_path, store, progress))
    }

    /// Zone samples of the preset at `preset_path`, read through this client.
    fn samples<'c>(
        &'c self,
        preset_path: &'c RemotePath,
        store: &'c mut SampleStore,
        progress: &'c ProgressBar,
    ) -> ClientSamples<'c> {
        ClientSamples { client: self, preset_path, file: self.name_of(preset_path), store, progress }
    }

    /// Every file that loading `"Lib/Name"` reads, with its bytes, in reading order: the root
    /// index, the library's index, the preset file and its samples (each once, checked as a load
    /// checks them). Laid out by path in a folder, they make a library in which the same query
    /// finds and builds the same instrument: what a patch bundle carries.
    pub fn files_of(&self, query: &str) -> Result<Vec<(RemotePath, Vec<u8>)>, LibraryError> {
        let hidden = ProgressBar::hidden();
        let (lib, _) = split_query(query)?;
        let library = self.library(lib)?;
        let preset = self.find(query)?;
        let file = self.preset(&preset.path)?;
        let root = RemotePath::parse("index.json").expect("a valid path");
        let mut files: Vec<(RemotePath, Vec<u8>)> = Vec::new();
        for (path, check) in
            [(root, Check::Index), (library.index_path, Check::Index), (preset.path.clone(), Check::Preset)]
        {
            let bytes = self.read(&path, check, false, &hidden)?;
            files.push((path, bytes));
        }
        for (zone_path, zone) in file.zones_with_paths() {
            let path = self.sample_path(&preset.path, &zone_path, zone)?;
            if files.iter().any(|(p, _)| *p == path) {
                continue;
            }
            let bytes = self.read(&path, Check::Sample { sha256: &zone.audio.sha256 }, false, &hidden)?;
            files.push((path, bytes));
        }
        self.save()?;
        Ok(files)
    }

    /// Fetches the preset `"Lib/Name"` and its samples into the cache.
    pub fn fetch(&self, query: &str) -> Result<FetchReport, LibraryError> {
        self.fetch_observed(query, &mut |_| {})
    }

    /// [`LibraryClient::fetch`], telling `observe` how far it has come after the preset file
    /// and after each sample (for a caller that shows the download elsewhere than on a
    /// terminal: the server's download events).
    pub fn fetch_observed(
        &self,
        query: &str,
        observe: &mut dyn FnMut(&FetchProgress),
    ) -> Result<FetchReport, LibraryError> {
        let preset = self.find(query)?;
        let file = self.preset(&preset.path)?;
        let bar = self.bar(&format!("{}/{}", preset.library, preset.name));
        let mut sample_bytes = 0;
        let zones = file.zones_with_paths();
        let mut progress = FetchProgress { samples_done: 0, samples: zones.len(), bytes: 0 };
        observe(&progress);
        for (zone_path, zone) in &zones {
            let path = self.sample_path(&preset.path, zone_path, zone)?;
            sample_bytes += self.read(&path, Check::Sample { sha256: &zone.audio.sha256 }, false, &bar)?.len() as u64;
            progress.samples_done += 1;
            progress.bytes = sample_bytes;
            observe(&progress);
        }
        bar.finish_and_clear();
        self.save()?;
        Ok(FetchReport { preset, samples: zones.len(), sample_bytes, file })
    }

    /// Downloads the whole library `lib` (indexes, presets, samples) and pins it in the cache so
    /// it is never evicted and works without a network. A preset or sample that cannot be had
    /// (a sample failing its hash, say) is reported in [`OfflineReport::failures`] and the rest
    /// is still pinned; only a library that cannot be listed is an error.
    pub fn offline(&self, lib: &str) -> Result<OfflineReport, LibraryError> {
        let library = self.library_pinned(lib, true)?;
        let presets = self.presets(&library)?;
        let bar = self.bar(&library.name);
        let mut report =
            OfflineReport { library: library.name.clone(), presets: presets.len(), files: 2, ..Default::default() };
        for (n, preset) in presets.iter().enumerate() {
            bar.set_message(format!("{} ({}/{}): {}", library.name, n + 1, presets.len(), preset.name));
            let label = format!("{}/{}", preset.library, preset.name);
            let mut fail = |file: String, e: LibraryError| {
                report.failures.push(VerifyFailure { preset: label.clone(), file, reason: e.to_string() });
            };
            let file = match self.preset_pinned(&preset.path, true) {
                Ok(file) => file,
                Err(e) => {
                    fail(self.name_of(&preset.path), e);
                    continue;
                }
            };
            report.files += 1;
            for (zone_path, zone) in file.zones_with_paths() {
                let path = match self.sample_path(&preset.path, &zone_path, zone) {
                    Ok(path) => path,
                    Err(e) => {
                        fail(self.name_of(&preset.path), e);
                        continue;
                    }
                };
                match self.read(&path, Check::Sample { sha256: &zone.audio.sha256 }, true, &bar) {
                    Ok(bytes) => {
                        report.bytes += bytes.len() as u64;
                        report.files += 1;
                    }
                    Err(e) => fail(self.name_of(&path), e),
                }
            }
        }
        bar.finish_and_clear();
        self.save()?;
        Ok(report)
    }

    /// Loads every preset of `lib`, fetches and decodes every sample, and reports each failure.
    /// Only a library that cannot be listed at all is an error.
    pub fn verify(&self, lib: &str) -> Result<VerifyReport, LibraryError> {
        let library = self.library(lib)?;
        let presets = self.presets(&library)?;
        let bar = self.bar(&library.name);
        let mut report = VerifyReport { library: library.name.clone(), presets: presets.len(), ..Default::default() };
        for preset in &presets {
            let label = format!("{}/{}", preset.library, preset.name);
            bar.set_message(label.clone());
            let mut fail = |file: String, e: &dyn std::fmt::Display| {
                report.failures.push(VerifyFailure { preset: label.clone(), file, reason: e.to_string() });
            };
            let file = match self.preset(&preset.path) {
                Ok(file) => file,
                Err(e) => {
                    fail(self.name_of(&preset.path), &e);
                    continue;
                }
            };
            for (zone_path, zone) in file.zones_with_paths() {
                let path = match self.sample_path(&preset.path, &zone_path, zone) {
                    Ok(path) => path,
                    Err(e) => {
                        fail(self.name_of(&preset.path), &e);
                        continue;
                    }
                };
                let url = self.name_of(&path);
                report.samples += 1;
                let checked =
                    self.read(&path, Check::Sample { sha256: &zone.audio.sha256 }, false, &bar).and_then(|bytes| {
                        // A local folder is not checked on read: check it here.
                        verify_hash(&bytes, &zone.audio.sha256, &url)
                            .map_err(|mismatch| LibraryError::Corrupt { mismatch, attempts: 1 })?;
                        decode(&bytes, zone_encoding(zone, path.extension()), &url).map_err(|error| {
                            LibraryError::Sample {
                                file: self.name_of(&preset.path),
                                zone: zone_path.clone(),
                                error: Box::new(error),
                            }
                        })
                    });
                if let Err(e) = checked {
                    fail(url, &e);
                }
            }
        }
        bar.finish_and_clear();
        self.save()?;
        Ok(report)
    }

    /// How errors and cache keys name `path`.
    fn name_of(&self, path: &RemotePath) -> String {
        self.location().name_of(path)
    }

    /// `path` (from the `field` of the index or preset at `from`) resolved in `folder`, checked.
    fn checked(&self, folder: &RemotePath, path: &str, from: &str, field: &str) -> Result<RemotePath, LibraryError> {
        folder.join(path).map_err(|error| LibraryError::Path {
            file: self.name_of(&RemotePath::parse(from).unwrap_or_default()),
            field: field.to_string(),
            error,
        })
    }

    fn index(&self, path: &RemotePath, pin: bool) -> Result<LibraryIndex, LibraryError> {
        let bytes = self.read(path, Check::Index, pin, &ProgressBar::hidden())?;
        let name = self.name_of(path);
        LibraryIndex::parse(&json_text(&bytes, &name)?, &name).map_err(Into::into)
    }

    /// The bytes of `path`, from the cache or fetched (see the module docs); `pin` pins them.
    fn read(
        &self,
        path: &RemotePath,
        check: Check<'_>,
        pin: bool,
        progress: &ProgressBar,
    ) -> Result<Vec<u8>, LibraryError> {
        let Some(cache) = &self.cache else {
            // A local folder: read in place, checked by the caller.
            return self.fetcher.fetch(path, progress);
        };
        let key = self.name_of(path);
        let cached = |cache: &mut MutexGuard<'_, DiskCache>| -> Result<Option<Vec<u8>>, LibraryError> {
            let Some(bytes) = cache.get(&key) else { return Ok(None) };
            if self.validate(&bytes, &key, check).is_err() {
                return Ok(None);
            }
            if pin {
                cache.pin(&key)?;
            }
            Ok(Some(bytes))
        };
        let use_cache = match check {
            Check::Index => lock(&self.fresh).contains(path),
            Check::Preset | Check::Sample { .. } => true,
        };
        if use_cache {
            if let Some(bytes) = cached(&mut lock(cache))? {
                return Ok(bytes);
            }
        }
        match self.fetch_valid(path, &key, check, progress) {
            Ok(bytes) => {
                lock(cache).put(&key, &bytes, pin)?;
                lock(&self.fresh).insert(path.clone());
                Ok(bytes)
            }
            Err(e) if e.is_network() => match cached(&mut lock(cache))? {
                Some(bytes) => {
                    tracing::warn!("{e}; using the cached copy");
                    lock(&self.fresh).insert(path.clone());
                    Ok(bytes)
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Fetches `path` until its bytes pass `check`, at most [`FETCH_ATTEMPTS`] times.
    fn fetch_valid(
        &self,
        path: &RemotePath,
        name: &str,
        check: Check<'_>,
        progress: &ProgressBar,
    ) -> Result<Vec<u8>, LibraryError> {
        let mut attempt = 1;
        loop {
            let failure = match self.fetcher.fetch(path, progress) {
                Ok(bytes) => match self.validate(&bytes, name, check) {
                    Ok(()) => return Ok(bytes),
                    Err(e) => e,
                },
                Err(e @ (LibraryError::Network { .. } | LibraryError::Timeout { .. })) => e,
                Err(e) => return Err(e),
            };
            if attempt == FETCH_ATTEMPTS {
                return Err(match failure {
                    LibraryError::Corrupt { mismatch, .. } => LibraryError::Corrupt { mismatch, attempts: attempt },
                    other => other,
                });
            }
            match &failure {
                LibraryError::Corrupt { mismatch, .. } => tracing::warn!("{mismatch}; fetching it again"),
                other => tracing::warn!("{other}; fetching it again"),
            }
            attempt += 1;
        }
    }

    /// Checks fetched bytes: samples against their recorded hash, JSON by parsing it.
    fn validate(&self, bytes: &[u8], name: &str, check: Check<'_>) -> Result<(), LibraryError> {
        match check {
            Check::Index => LibraryIndex::parse(&json_text(bytes, name)?, name).map(|_| ())?,
            Check::Preset => PresetFile::parse(&json_text(bytes, name)?, name).map(|_| ())?,
            Check::Sample { sha256 } => verify_hash(bytes, sha256, name)
                .map_err(|mismatch: SampleError| LibraryError::Corrupt { mismatch, attempts: 1 })?,
        }
        Ok(())
    }

    /// A progress bar for downloads of `what`: drawn only when asked for and stderr is a terminal.
    fn bar(&self, what: &str) -> ProgressBar {
        if !self.progress || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}: {binary_bytes} ({binary_bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }
}

impl Drop for LibraryClient {
    fn drop(&mut self) {
        if let Err(e) = self.save() {
            tracing::warn!("{e}");
        }
    }
}

/// The text of a JSON file.
fn json_text(bytes: &[u8], name: &str) -> Result<String, LibraryError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        LibraryError::File(FileError::Io {
            file: name.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}")),
        })
    })
}

/// Locks `mutex`, recovering the data from a thread that panicked while holding it (the cache
/// is consistent on disk whatever happened in memory).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A preset's zone samples read through the client: from its cache (fetched when missing), or
/// from the folder it serves.
struct ClientSamples<'c> {
    client: &'c LibraryClient,
    preset_path: &'c RemotePath,
    file: String,
    store: &'c mut SampleStore,
    progress: &'c ProgressBar,
}

impl ZoneSamples for ClientSamples<'_> {
    type Error = LibraryError;

    fn sample(
        &mut self,
        zone_path: &str,
        zone: &SamplerZone,
        warnings: &mut Vec<String>,
    ) -> Result<Arc<Sample>, LibraryError> {
        let client = self.client;
        let path = client.sample_path(self.preset_path, zone_path, zone)?;
        let url = client.name_of(&path);
        let bytes = client.read(&path, Check::Sample { sha256: &zone.audio.sha256 }, false, self.progress)?;
        let encoding = zone_encoding(zone, path.extension());
        let file = &self.file;
        let sample_error =
            |error| LibraryError::Sample { file: file.clone(), zone: zone_path.to_string(), error: Box::new(error) };
        if !client.location().is_cached() {
            // A local folder is used as it is, as `build_instrument` does: a sample that does
            // not match its recorded hash plays, with a warning.
            if let Err(mismatch) = verify_hash(&bytes, &zone.audio.sha256, &url) {
                warnings.push(format!("{file}: {zone_path}: {mismatch}"));
            }
        }
        self.store.load_bytes(&bytes, &url, encoding, None).map_err(sample_error)
    }
}
