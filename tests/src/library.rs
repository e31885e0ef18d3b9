//! Walking a SongWalker library on disk (the shared test subset).

use std::path::{Path, PathBuf};

use noderack_presets::songwalker::{IndexEntry, LibraryIndex, PresetFile};

/// Every preset of the library rooted at `root`, with the path of its file, in index order.
/// Panics (the test fails) on an unreadable index or preset.
pub fn library_presets(root: &Path) -> Vec<(PathBuf, PresetFile)> {
    let mut out = Vec::new();
    for lib in LibraryIndex::load(&root.join("index.json")).unwrap_or_else(|e| panic!("{e}")).entries {
        let index_path = root.join(lib.path());
        let folder = index_path.parent().unwrap_or(root).to_path_buf();
        for entry in LibraryIndex::load(&index_path).unwrap_or_else(|e| panic!("{e}")).entries {
            let IndexEntry::Preset { path, .. } = entry else { continue };
            let preset_path = folder.join(&path);
            let preset = PresetFile::load(&preset_path).unwrap_or_else(|e| panic!("{e}"));
            out.push((preset_path, preset));
        }
    }
    out
}

/// Writes a one-preset SongWalker library under `root`: the root index, library `library`'s
/// index and `library/<preset>/preset.json` with `node` as its instrument. Returns the preset's
/// folder (where its samples go).
pub fn write_library(root: &Path, library: &str, preset: &str, node: &str) -> PathBuf {
    let folder = root.join(library).join(preset);
    std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
    let write =
        |path: PathBuf, text: String| std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    write(
        folder.join("preset.json"),
        format!(r#"{{ "format": "songwalker-preset", "version": 1, "name": "{preset}", "node": {node} }}"#),
    );
    write(
        root.join(library).join("index.json"),
        format!(
            r#"{{ "format": "songwalker-index", "version": 1, "name": "{library}",
                  "entries": [ {{ "type": "preset", "name": "{preset}", "path": "{preset}/preset.json" }} ] }}"#
        ),
    );
    write(
        root.join("index.json"),
        format!(
            r#"{{ "format": "songwalker-index", "version": 1, "name": "root",
                  "entries": [ {{ "type": "index", "name": "{library}", "path": "{library}/index.json" }} ] }}"#
        ),
    );
    folder
}
