//! The library client against a loopback HTTP server and `file://` mirrors: what it fetches
//! equals the folder it mirrors, its cache serves a stopped server, indexes are fetched once per
//! session, faults (dropped connections, corrupted bytes, 404, a stalled server, hostile paths)
//! give clear errors and never leave anything corrupt or outside the cache, the LRU cap evicts
//! the least recently used unpinned files, and a crash mid-write never yields a partial entry.
//!
//! Most tests use a tiny library written to a temp dir; those marked "shared" use the shared
//! SongWalker subset and skip (saying so) when it is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use noderack_presets::library::{DiskCache, FetchProgress, LibraryClient, LibraryConfig, LibraryError};
use noderack_presets::sample::{sha256, SampleStore};
use noderack_presets::songwalker::load_instrument;
use noderack_tests::http_server::{Fault, TestServer};
use noderack_tests::testdata_dir;
use noderack_tests::tiny_library::{index_json, raw_sine, sampler_preset_json, write_file, TinyLibrary, TINY_PRESETS};

/// A temp dir with the tiny library in `lib/` and room for a cache in `cache/`.
struct Setup {
    dir: tempfile::TempDir,
    library: TinyLibrary,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let library = TinyLibrary::write(&dir.path().join("lib"), 1_000);
        Setup { dir, library }
    }

    fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn client(&self, location: &str) -> LibraryClient {
        self.client_with(location, |_| {})
    }

    fn client_with(&self, location: &str, tweak: impl FnOnce(&mut LibraryConfig)) -> LibraryClient {
        let mut config = LibraryConfig::new(location);
        config.cache_dir = Some(self.cache_dir());
        config.timeout = Duration::from_secs(5);
        tweak(&mut config);
        LibraryClient::new(&config).unwrap()
    }
}

/// Every file below `dir` with its content hash.
fn tree(dir: &Path) -> BTreeMap<PathBuf, [u8; 32]> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), sha256(&std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// Every object in the cache is named by the hash of its bytes (nothing corrupt or partial),
/// and nothing is left in `tmp/`.
fn assert_cache_intact(cache: &Path) {
    for (path, hash) in tree(&cache.join("objects")) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(name, hex, "{} does not hold what its name says", path.display());
    }
    assert!(tree(&cache.join("tmp")).is_empty(), "temp files left behind");
}

fn load(client: &LibraryClient, query: &str) -> Result<noderack_presets::songwalker::Built, LibraryError> {
    client.load_instrument(query, &mut SampleStore::new())
}

const BASS: &str = "Tiny_Lib/Sine Bass";
const BASS_SAMPLE: &str = "Tiny/bass/Sine_Bass/zone_C2.raw";

#[test]
fn instrument_over_http_equals_the_folder_and_survives_the_server_stopping() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    let url = server.url();
    let from_folder = load_instrument(&setup.library.root, BASS, &mut SampleStore::new()).unwrap().instrument;
    let first = setup.client(&url);
    let built = load(&first, BASS).unwrap();
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    assert_eq!(built.instrument, from_folder);
    assert_eq!(built.instrument.regions().count(), 2);
    drop(first);
    server.stop();

    // A new session with the same cache: the server is gone, the cache serves everything.
    let second = setup.client(&url);
    assert_eq!(load(&second, BASS).unwrap().instrument, from_folder);
    // What was never fetched is an error naming the URL that could not be reached.
    let err = load(&second, "Tiny_Lib/Soft Pad").unwrap_err().to_string();
    assert!(err.contains(&format!("{url}Tiny/pad/Soft_Pad/preset.json")), "{err}");
    assert_cache_intact(&setup.cache_dir());
}

#[test]
fn indexes_are_fetched_once_per_session_and_files_once_ever() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    let client = setup.client(&server.url());
    load(&client, BASS).unwrap();
    load(&client, "Tiny_Lib/Sine Lead").unwrap();
    assert_eq!(client.search("sine").unwrap().len(), 2);
    assert_eq!(client.libraries().unwrap().len(), 2);
    load(&client, BASS).unwrap();
    assert_eq!(server.requests("index.json"), 1);
    assert_eq!(server.requests("Tiny/index.json"), 1);
    assert_eq!(server.requests("Tiny/bass/Sine_Bass/preset.json"), 1);
    assert_eq!(server.requests(BASS_SAMPLE), 1);
    drop(client);

    // The next session refreshes indexes, and nothing else.
    let client = setup.client(&server.url());
    load(&client, BASS).unwrap();
    assert_eq!(server.requests("index.json"), 2);
    assert_eq!(server.requests("Tiny/index.json"), 2);
    assert_eq!(server.requests("Tiny/bass/Sine_Bass/preset.json"), 1);
    assert_eq!(server.requests(BASS_SAMPLE), 1);
}

#[test]
fn a_fetch_reports_its_progress_sample_by_sample() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    let client = setup.client(&server.url());
    let mut seen = Vec::new();
    let report = client.fetch_observed(BASS, &mut |p| seen.push(*p)).unwrap();
    let sample_bytes: Vec<u64> = TINY_PRESETS[0]
        .samples
        .iter()
        .map(|s| std::fs::metadata(setup.library.sample_file(&TINY_PRESETS[0], s)).unwrap().len())
        .collect();
    let at = |done, bytes| FetchProgress { samples_done: done, samples: 2, bytes };
    assert_eq!(seen, [at(0, 0), at(1, sample_bytes[0]), at(2, sample_bytes[0] + sample_bytes[1])]);
    assert_eq!(report.sample_bytes, sample_bytes.iter().sum::<u64>());
}

#[test]
fn a_connection_dropped_mid_file_is_fetched_again_and_never_cached_partially() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    server.inject(BASS_SAMPLE, Fault::DropMidFile, Some(1));
    let client = setup.client(&server.url());
    load(&client, BASS).unwrap();
    assert_eq!(server.requests(BASS_SAMPLE), 2);
    assert_cache_intact(&setup.cache_dir());

    // Dropped every time: a clear error naming the URL, and no entry for it.
    let lead = "Tiny/lead/Sine_Lead/zone_C5.raw";
    server.inject(lead, Fault::DropMidFile, None);
    let err = load(&client, "Tiny_Lib/Sine Lead").unwrap_err().to_string();
    assert!(err.contains(&format!("{}{lead}", server.url())), "{err}");
    assert_eq!(server.requests(lead), 2);
    client.save().unwrap();
    drop(client);
    let cache = DiskCache::open(&setup.cache_dir(), u64::MAX).unwrap();
    assert!(cache.entry(&format!("{}{lead}", server.url())).is_none());
    assert!(cache.entry(&format!("{}{BASS_SAMPLE}", server.url())).is_some());
    assert_cache_intact(&setup.cache_dir());
}

#[test]
fn corrupted_bytes_are_fetched_again_once_then_reported_and_never_cached() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    server.inject(BASS_SAMPLE, Fault::Corrupt, Some(1));
    let client = setup.client(&server.url());
    let from_folder = load_instrument(&setup.library.root, BASS, &mut SampleStore::new()).unwrap().instrument;
    assert_eq!(load(&client, BASS).unwrap().instrument, from_folder);
    assert_eq!(server.requests(BASS_SAMPLE), 2);

    let lead = "Tiny/lead/Sine_Lead/zone_C5.raw";
    server.inject(lead, Fault::Corrupt, None);
    let err = load(&client, "Tiny_Lib/Sine Lead").unwrap_err();
    assert!(matches!(err, LibraryError::Corrupt { attempts: 2, .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("{}{lead}", server.url())) && text.contains("does not match the recorded"),
        "{text}"
    );
    assert_eq!(server.requests(lead), 2);
    drop(client);
    let cache = DiskCache::open(&setup.cache_dir(), u64::MAX).unwrap();
    assert!(cache.entry(&format!("{}{lead}", server.url())).is_none());
    assert_cache_intact(&setup.cache_dir());
}

#[test]
fn a_missing_file_is_an_error_naming_its_url() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    server.inject(BASS_SAMPLE, Fault::NotFound, None);
    let client = setup.client(&server.url());
    let err = load(&client, BASS).unwrap_err().to_string();
    assert!(err.contains(&format!("{}{BASS_SAMPLE}: HTTP 404", server.url())), "{err}");
    // 404 is an answer, not a network failure: asked once.
    assert_eq!(server.requests(BASS_SAMPLE), 1);
}

#[test]
fn a_stalled_server_gives_a_timeout_error() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    let stall = Duration::from_secs(60);
    server.inject(BASS_SAMPLE, Fault::Stall(stall), None);
    let client = setup.client_with(&server.url(), |c| c.timeout = Duration::from_millis(300));
    let started = Instant::now();
    let err = load(&client, BASS).unwrap_err();
    assert!(started.elapsed() < stall / 2, "the timeout did not fire");
    assert!(matches!(err, LibraryError::Timeout { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("{}{BASS_SAMPLE}: timed out", server.url())), "{text}");
    server.stop();
}

/// Hostile paths in an index or a preset are refused with an error naming the file and field;
/// nothing is requested for them and nothing is written outside the cache.
#[test]
fn paths_leaving_the_library_are_rejected() {
    let setup = Setup::new();
    let library_before = tree(&setup.library.root);
    let server = TestServer::serve(&setup.library.root);
    let bad_paths = [
        "../../etc/passwd",
        "/etc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
        "%2E%2E%2f%2E%2E%2fetc/passwd",
        "..\\..\\etc\\passwd",
        "Tiny/../../../etc/passwd",
        "file:///etc/passwd",
    ];
    for bad in bad_paths {
        let json_bad = bad.replace('\\', "\\\\");
        // In the root index.
        server.clear_faults();
        server.inject(
            "index.json",
            Fault::Replace(index_json("Evil", &[("index", "Tiny Lib", &json_bad)]).into_bytes()),
            None,
        );
        let client = setup.client(&server.url());
        let err = load(&client, BASS).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{}index.json", server.url())) && err.contains("entries[0].path"),
            "{bad}: {err}"
        );
        drop(client);

        // In a preset's sample URL.
        server.clear_faults();
        let sample = raw_sine(100, 440.0);
        server.inject(
            "Tiny/bass/Sine_Bass/preset.json",
            Fault::Replace(sampler_preset_json("Sine Bass", &[(&json_bad, &sample)]).into_bytes()),
            None,
        );
        let client = setup.client(&server.url());
        let err = load(&client, BASS).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{}Tiny/bass/Sine_Bass/preset.json", server.url()))
                && err.contains("zones[0].audio.url"),
            "{bad}: {err}"
        );
    }
    server.clear_faults();
    let everything = tree(setup.dir.path());
    let cache = setup.cache_dir();
    for path in everything.keys() {
        assert!(path.starts_with(&cache) || path.starts_with(&setup.library.root), "{} was written", path.display());
        assert!(!path.to_string_lossy().contains("passwd"), "{}", path.display());
    }
    assert_eq!(tree(&setup.library.root), library_before, "the served folder changed");
    assert_cache_intact(&cache);
    // The hostile paths were never requested.
    assert_eq!(server.requests("etc/passwd"), 0);
}

#[test]
fn lru_evicts_least_recently_used_first_and_never_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let blob = |n: u8| vec![n; 1_000];
    let mut cache = DiskCache::open(dir.path(), 3_500).unwrap();
    cache.put("pinned", &blob(0), true).unwrap();
    cache.put("a", &blob(1), false).unwrap();
    cache.put("b", &blob(2), false).unwrap();
    assert_eq!(cache.total_bytes(), 3_000);
    cache.get("a").unwrap(); // a is now more recent than b
    cache.put("c", &blob(3), false).unwrap();
    let keys = |cache: &DiskCache| cache.entries().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
    assert_eq!(keys(&cache), ["a", "c", "pinned"]);
    cache.put("d", &blob(4), false).unwrap();
    assert_eq!(keys(&cache), ["c", "d", "pinned"]);
    // Over the cap with pinned files only: they stay.
    let mut cache = DiskCache::open(dir.path(), 500).unwrap();
    cache.put("e", &blob(5), true).unwrap();
    assert_eq!(keys(&cache), ["e", "pinned"]);
    assert_cache_intact(dir.path());
    // The eviction survives reopening, and evicted files are gone from disk.
    drop(cache);
    let cache = DiskCache::open(dir.path(), 500).unwrap();
    assert_eq!(keys(&cache), ["e", "pinned"]);
    assert_eq!(tree(&dir.path().join("objects")).len(), 2);
}

#[test]
fn an_offline_library_is_pinned_and_outlives_eviction_and_the_server() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    let url = server.url();
    let client = setup.client(&url);
    let report = client.offline("Other").unwrap();
    assert_eq!((report.presets, report.files, report.bytes), (1, 4, 2_000));
    drop(client);
    // A cap smaller than one sample: every unpinned file goes as soon as another arrives.
    let small = setup.client_with(&url, |c| c.cache_cap_bytes = 1_000);
    for preset in TINY_PRESETS {
        load(&small, &format!("Tiny_Lib/{}", preset.name)).unwrap();
    }
    drop(small);
    server.stop();
    let offline = setup.client(&url);
    load(&offline, "Other/Beep").unwrap();
    assert!(load(&offline, BASS).is_err(), "evicted files cannot come back without the server");
    assert_cache_intact(&setup.cache_dir());
}

#[test]
fn offline_pins_everything_it_can_and_reports_the_rest() {
    let setup = Setup::new();
    let server = TestServer::serve(&setup.library.root);
    let url = server.url();
    server.inject(BASS_SAMPLE, Fault::Corrupt, None);
    let report = setup.client(&url).offline("Tiny_Lib").unwrap();
    assert_eq!((report.presets, report.files, report.bytes), (3, 2 + 3 + 3, 6_000));
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].file, format!("{url}{BASS_SAMPLE}"));
    assert!(report.failures[0].reason.contains("does not match the recorded"), "{:?}", report.failures);
    let cache = DiskCache::open(&setup.cache_dir(), u64::MAX).unwrap();
    let pinned: Vec<&str> = cache.entries().filter(|(_, e)| e.pinned).map(|(k, _)| k).collect();
    assert_eq!(pinned.len(), 8, "{pinned:?}");
    assert!(cache.entry(&format!("{url}{BASS_SAMPLE}")).is_none());
}

#[test]
fn a_crash_mid_write_never_leaves_a_partial_entry() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = raw_sine(2_000, 440.0);
    {
        let mut cache = DiskCache::open(dir.path(), u64::MAX).unwrap();
        cache.put("whole", &bytes, false).unwrap();
    }
    // A writer crashed: a partial temp file (old, and one written just now by a live writer),
    // an object written without its ref, and a snapshot cut short.
    let stale = dir.path().join("tmp/123-0-0.part");
    std::fs::write(&stale, &bytes[..100]).unwrap();
    let old = SystemTime::now() - Duration::from_secs(3_600);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(old).unwrap();
    let live = dir.path().join("tmp/456-0-0.part");
    std::fs::write(&live, &bytes[..100]).unwrap();
    let orphan = raw_sine(50, 880.0);
    let hex: String = sha256(&orphan).iter().map(|b| format!("{b:02x}")).collect();
    write_file(dir.path(), &format!("objects/{}/{hex}", &hex[..2]), &orphan);
    let snapshot = std::fs::read(dir.path().join("entries.json")).unwrap();
    std::fs::write(dir.path().join("entries.json"), &snapshot[..snapshot.len() / 2]).unwrap();

    let mut cache = DiskCache::open(dir.path(), u64::MAX).unwrap();
    let report = cache.open_report().clone();
    assert!(report.rebuilt);
    assert_eq!((report.stale_temp_files, report.orphan_objects), (1, 1));
    assert!(!stale.exists() && live.exists(), "only the stale temp file goes");
    assert_eq!(cache.get("whole").unwrap(), bytes);
    assert_eq!(cache.entries().count(), 1);

    // An object damaged after it was written is never served: dropped, so it is fetched again.
    let object = dir.path().join("objects").join(&cache.entry("whole").unwrap().object[..2]);
    let object = std::fs::read_dir(object).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&object, &bytes[..bytes.len() / 2]).unwrap();
    assert!(cache.get("whole").is_none());
    assert!(cache.entry("whole").is_none() && !object.exists());
}

#[test]
fn a_file_url_mirror_is_cached_like_a_server() {
    let setup = Setup::new();
    let mirror = setup.dir.path().join("mirror");
    TinyLibrary::write(&mirror, 1_000);
    let url = format!("file://{}", mirror.display());
    let from_folder = load_instrument(&setup.library.root, BASS, &mut SampleStore::new()).unwrap().instrument;
    let client = setup.client(&url);
    assert_eq!(load(&client, BASS).unwrap().instrument, from_folder);
    drop(client);
    // The mirror goes away (an unmounted share): the cache still serves it.
    std::fs::remove_dir_all(&mirror).unwrap();
    let client = setup.client(&url);
    assert_eq!(load(&client, BASS).unwrap().instrument, from_folder);
    // A plain folder path is read in place, with no cache at all.
    let folder = setup.client(setup.library.root.to_str().unwrap());
    assert!(folder.cache_dir().is_none());
    assert_eq!(load(&folder, BASS).unwrap().instrument, from_folder);
}

#[test]
fn verify_reports_each_corrupt_sample() {
    let setup = Setup::new();
    let preset = &TINY_PRESETS[0];
    let damaged = setup.library.sample_file(preset, preset.samples[1]);
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&damaged, bytes).unwrap();
    let url = format!("file://{}", setup.library.root.display());
    let report = setup.client(&url).verify("Tiny_Lib").unwrap();
    assert_eq!((report.presets, report.samples), (3, 4));
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let failure = &report.failures[0];
    assert_eq!(failure.preset, "Tiny Lib/Sine Bass");
    assert!(failure.file.ends_with("Tiny/bass/Sine_Bass/zone_C3.raw"), "{failure:?}");
    assert!(failure.reason.contains("does not match the recorded"), "{failure:?}");
    // The folder itself is checked the same way.
    let report = setup.client(setup.library.root.to_str().unwrap()).verify("Tiny_Lib").unwrap();
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
}

/// Shared: a FluidR3 piano (MP3) and the SBLive bass (`raw`) over loopback HTTP equal their
/// folder builds, load again from the cache with the server stopped, and the indexes were asked
/// for once.
#[test]
fn shared_presets_over_http_equal_the_folder_and_work_offline() {
    let Some(data) = testdata_dir() else { return };
    let root = data.join("songwalker-library");
    let cache = tempfile::tempdir().unwrap();
    let config = |url: &str| {
        let mut c = LibraryConfig::new(url);
        c.cache_dir = Some(cache.path().to_path_buf());
        c
    };
    let queries = ["FluidR3_GM/Acoustic Grand Piano", "SBLive/Acoustic Bass"];
    let from_folder: Vec<_> =
        queries.iter().map(|q| load_instrument(&root, q, &mut SampleStore::new()).unwrap().instrument).collect();
    let server = TestServer::serve(&root);
    let url = server.url();
    let client = LibraryClient::new(&config(&url)).unwrap();
    for (query, expected) in queries.iter().zip(&from_folder) {
        let built = load(&client, query).unwrap();
        assert_eq!(&built.instrument, expected, "{query}");
    }
    assert_eq!(server.requests("index.json"), 1);
    assert_eq!(server.requests("FluidR3_GM/index.json"), 1);
    assert_eq!(server.requests("SBLive/index.json"), 1);
    drop(client);
    server.stop();
    let offline = LibraryClient::new(&config(&url)).unwrap();
    for (query, expected) in queries.iter().zip(&from_folder) {
        assert_eq!(&load(&offline, query).unwrap().instrument, expected, "{query} offline");
    }
    assert_cache_intact(cache.path());
}

/// Shared: verifying FluidR3 over HTTP decodes every sample and finds the one sample of the real
/// library whose bytes do not match its recorded hash (Pad 2 warm, zone C6).
#[test]
fn shared_verify_finds_the_librarys_one_hash_mismatch() {
    let Some(data) = testdata_dir() else { return };
    let server = TestServer::serve(&data.join("songwalker-library"));
    let cache = tempfile::tempdir().unwrap();
    let mut config = LibraryConfig::new(server.url());
    config.cache_dir = Some(cache.path().to_path_buf());
    let report = LibraryClient::new(&config).unwrap().verify("FluidR3_GM").unwrap();
    assert_eq!(report.presets, 11);
    assert!(report.samples > 40, "{}", report.samples);
    let files: Vec<&str> = report.failures.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(
        files,
        [format!("{}FluidR3_GM/instruments/synth-pad/Pad_2_warm/zone_C6.mp3", server.url())],
        "{:?}",
        report.failures
    );
}
