//! Where the CLAP plugins the hosting tests use are: our test instrument (built with the
//! workspace, `tests/clap-instrument`) and the system's (`zam-plugins`, which CI installs).

use std::path::{Path, PathBuf};

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

/// A folder holding only the test instrument, as `noderack-test-instrument.clap`, for
/// `CLAP_PATH`; see [`bundle_folder`].
pub fn test_instrument_folder() -> PathBuf {
    bundle_folder(&test_instrument_library(), "noderack-test-instrument.clap")
}

/// Puts the test instrument into `dir` (a test's own folder, which it also writes patches to)
/// as `noderack-test-instrument.clap`.
pub fn link_test_instrument(dir: &Path) {
    link_bundle(&test_instrument_library(), dir, "noderack-test-instrument.clap");
}

/// A folder holding only `library` under the bundle name `file_name` (a host looks for
/// `*.clap`): `clap-NAME/` beside the library, holding a symbolic link to it. It is made once
/// and shared by every test and run (nothing is copied, nothing is left in the temporary
/// folder); several test processes may ask for it at once.
pub fn bundle_folder(library: &Path, file_name: &str) -> PathBuf {
    let stem = file_name.trim_end_matches(".clap");
    let dir = library.parent().expect("a library in a folder").join(format!("clap-{stem}"));
    if std::fs::read_link(dir.join(file_name)).is_ok_and(|target| target == library) {
        return dir;
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    link_bundle(library, &dir, file_name);
    dir
}

/// Links `library` into `dir` as `file_name`: a link under a name of this process's, renamed
/// over the bundle name, so a concurrent test never sees a half-made bundle.
fn link_bundle(library: &Path, dir: &Path, file_name: &str) {
    let staged = dir.join(format!(".{file_name}.{}", std::process::id()));
    let _ = std::fs::remove_file(&staged);
    std::os::unix::fs::symlink(library, &staged).unwrap_or_else(|e| panic!("cannot link {}: {e}", staged.display()));
    let link = dir.join(file_name);
    std::fs::rename(&staged, &link).unwrap_or_else(|e| panic!("cannot rename to {}: {e}", link.display()));
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
