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
