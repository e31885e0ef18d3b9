//! Shared test kit for noderack's integration tests and benchmarks: building engines, rendering
//! offline through the real executor, test signal nodes, and measurements on the audio itself
//! (RMS, peak frequency, onsets), a loopback HTTP server with injectable faults and a tiny
//! SongWalker library for library-client tests. Built once here, used by every test and bench.

pub mod analysis;
pub mod clap_plugins;
pub mod editor_standin;
pub mod effect_rig;
pub mod event_probe;
pub mod fixtures;
pub mod held;
pub mod holder;
pub mod http_server;
pub mod impulse;
pub mod jack;
pub mod latent;
pub mod library;
pub mod midi;
pub mod plugin_rig;
pub mod rig;
pub mod sf2_builder;
pub mod sw_fuzz;
pub mod tiny_library;
pub mod tone;
pub mod wait;

pub use analysis::{first_onset, peak_frequency_hz, rms};
pub use rig::Rig;
pub use tone::TestTone;
pub use wait::wait_until;

/// Whether the tests run under CI: `CI` is set to something other than empty, `false` or `0`
/// (CI services set `CI=true`; a user's `CI=false` means not CI).
pub fn under_ci() -> bool {
    means_ci(std::env::var("CI").ok().as_deref())
}

/// Whether a value of `CI` (or its absence) means CI.
fn means_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false") && v != "0")
}

/// `found` if it is there; else `None` with a note on stderr that the test is skipped, or,
/// under CI ([`under_ci`]), a panic: CI installs everything tests need, so a skip there would hide
/// a test that did not run. `missing` says what is absent and how to get it.
fn required(found: Option<std::path::PathBuf>, missing: &str) -> Option<std::path::PathBuf> {
    if found.is_some() {
        return found;
    }
    if under_ci() {
        panic!("{missing}");
    }
    eprintln!("SKIPPED: {missing}");
    None
}

/// Where the shared third-party test data lives (`NODERACK_TESTDATA`, else `../shared/testdata`
/// beside the checkout), or `None` (the test is skipped, see [`required`]).
pub fn testdata_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("NODERACK_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata"));
    let missing = format!("shared test data not found at {}; set NODERACK_TESTDATA to run this test", dir.display());
    required(dir.is_dir().then_some(dir), &missing)
}

/// Where the system's General MIDI SoundFonts are (`NODERACK_SF2_DIR`, else
/// `/usr/share/sounds/sf2`, as Debian's `timgm6mb-soundfont` and `fluid-soundfont-gm` install
/// them) when `name` is there, or `None` (the test is skipped, see [`required`]).
pub fn soundfont(name: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("NODERACK_SF2_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/usr/share/sounds/sf2"));
    let path = dir.join(name);
    let missing = format!(
        "SoundFont {} not found (install timgm6mb-soundfont fluid-soundfont-gm, or set NODERACK_SF2_DIR)",
        path.display()
    );
    required(path.is_file().then_some(path), &missing)
}

/// A command-line tool on `PATH` (an encoder that makes a test's fixture), or `None` (the test
/// is skipped, see [`required`]); `package` is the Debian package that provides it.
pub fn system_tool(name: &str, package: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|p| p.is_file()));
    required(found, &format!("`{name}` not found (install the Debian package {package})"))
}

/// The median of `values` (the upper one of an even count): what paired benchmark rounds
/// report, unmoved by a few disturbed rounds.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_true_ci_value_makes_missing_data_fatal() {
        for (value, ci) in [
            (None, false),
            (Some(""), false),
            (Some("false"), false),
            (Some("FALSE"), false),
            (Some("0"), false),
            (Some("true"), true),
            (Some("1"), true),
            (Some("yes"), true),
        ] {
            assert_eq!(super::means_ci(value), ci, "CI={value:?}");
        }
    }
}
