//! Shared test kit for noderack's integration tests and benchmarks: building engines, rendering
//! offline through the real executor, test signal nodes, and measurements on the audio itself
//! (RMS, peak frequency, onsets), a loopback HTTP server with injectable faults and a tiny
//! SongWalker library for library-client tests. Built once here, used by every test and bench.

pub mod analysis;
pub mod event_probe;
pub mod fixtures;
pub mod http_server;
pub mod latent;
pub mod library;
pub mod midi;
pub mod rig;
pub mod sf2_builder;
pub mod tiny_library;
pub mod tone;

pub use analysis::{first_onset, peak_frequency_hz, rms};
pub use rig::Rig;
pub use tone::TestTone;

/// Where the shared third-party test data lives (`NODERACK_TESTDATA`, else `../shared/testdata`
/// beside the checkout), or `None` with a note on stderr that tests using it are skipped.
/// Under CI (`CI` set) its absence is an error: CI must run those tests.
pub fn testdata_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("NODERACK_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("shared test data not found at {} (set NODERACK_TESTDATA)", dir.display());
    }
    eprintln!("SKIPPED: shared test data not found at {}; set NODERACK_TESTDATA to run this test", dir.display());
    None
}

/// Where the system's General MIDI SoundFonts are (`NODERACK_SF2_DIR`, else
/// `/usr/share/sounds/sf2`, as Debian's `timgm6mb-soundfont` and `fluid-soundfont-gm` install
/// them) when `name` is there, or `None` with a note on stderr that the test is skipped.
/// Under CI (`CI` set) its absence is an error: CI installs them (`scripts/setup-debian.sh`).
pub fn soundfont(name: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("NODERACK_SF2_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/usr/share/sounds/sf2"));
    let path = dir.join(name);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "SoundFont {} not found (install timgm6mb-soundfont fluid-soundfont-gm, or set NODERACK_SF2_DIR)",
            path.display()
        );
    }
    eprintln!("SKIPPED: SoundFont {} not found; set NODERACK_SF2_DIR to run this test", path.display());
    None
}
