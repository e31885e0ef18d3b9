//! Where the CLAP plugins the hosting tests use are: our test instrument (built with the
//! workspace, `tests/clap-instrument`) and the system's (`zam-plugins`, which CI installs).

use std::path::PathBuf;

/// The test instrument's id.
pub const TEST_INSTRUMENT_ID: &str = "org.noderack.test-instrument";

/// The test instrument's built library (a `.clap` is a renamed shared library).
pub fn test_instrument_library() -> PathBuf {
    built_library("noderack_test_instrument", "noderack-test-instrument")
}

/// noderack's own plugin library (`noderack.clap` once bundled), as the workspace builds it.
pub fn noderack_plugin_library() -> PathBuf {
    built_library("noderack_plugin", "noderack-plugin")
}

/// The shared library `lib_name` that the workspace's package `package` builds, beside the
/// running test binary's folder (`target/debug/deps/..`). Panics with how to build it if absent.
fn built_library(lib_name: &str, package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let name = format!("{}{lib_name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let candidates: Vec<PathBuf> = exe.ancestors().skip(1).take(3).map(|dir| dir.join(&name)).collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not built: run `cargo build -p {package}` (looked in {candidates:?})"))
}

/// A folder holding the test instrument as `noderack-test-instrument.clap` (a copy), for
/// `CLAP_PATH`.
pub fn test_instrument_folder(name: &str) -> PathBuf {
    let dir = crate::fixtures::scratch_dir(name);
    std::fs::copy(test_instrument_library(), dir.join("noderack-test-instrument.clap")).expect("copies the plugin");
    dir
}

/// The folder of the system's CLAP plugins holding `file` (`ZamComp.clap`), if installed. Under
/// CI it must be (`scripts/setup-debian.sh` installs `zam-plugins`).
pub fn system_plugin(file: &str) -> Option<PathBuf> {
    let path = PathBuf::from("/usr/lib/clap").join(file);
    if path.is_file() {
        return Some(path);
    }
    assert!(!crate::under_ci(), "{} is missing: CI installs zam-plugins", path.display());
    eprintln!("skipping: {} is not installed (Debian package zam-plugins)", path.display());
    None
}
