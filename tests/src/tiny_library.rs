//! A tiny SongWalker library written to a folder, for tests that must not depend on the shared
//! data: two libraries ("Tiny Lib" with three sampler presets, "Other" with one), headerless `raw`
//! samples (16-bit signed little-endian mono sines) with their recorded hashes, laid out as the
//! public library is served.

use std::path::{Path, PathBuf};

use noderack_presets::sample::sha256;

/// Sample rate of the synthesized samples.
pub const RATE_HZ: u32 = 22_050;

/// One preset of the tiny library.
pub struct TinyPreset {
    /// Display name.
    pub name: &'static str,
    /// Path of its `preset.json` below the library's folder.
    pub path: &'static str,
    /// Sample file names (in the preset's folder), one zone each.
    pub samples: &'static [&'static str],
}

/// The presets of "Tiny Lib" (folder `Tiny`).
pub const TINY_PRESETS: &[TinyPreset] = &[
    TinyPreset { name: "Sine Bass", path: "bass/Sine_Bass/preset.json", samples: &["zone_C2.raw", "zone_C3.raw"] },
    TinyPreset { name: "Sine Lead", path: "lead/Sine_Lead/preset.json", samples: &["zone_C5.raw"] },
    TinyPreset { name: "Soft Pad", path: "pad/Soft_Pad/preset.json", samples: &["zone_C4.raw"] },
];

/// The tiny library on disk.
pub struct TinyLibrary {
    /// Its root (with the root `index.json`).
    pub root: PathBuf,
}

/// `frames` of a sine at `hz`, as the library's `raw` codec stores it.
pub fn raw_sine(frames: usize, hz: f32) -> Vec<u8> {
    (0..frames)
        .flat_map(|i| {
            let s = (std::f32::consts::TAU * hz * i as f32 / RATE_HZ as f32).sin() * 0.5;
            ((s * 32_767.0) as i16).to_le_bytes()
        })
        .collect()
}

/// The first 16 hex digits of the SHA-256 of `bytes` (what presets record).
pub fn hash16(bytes: &[u8]) -> String {
    sha256(bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A sampler preset named `name` with one zone per `(url, sample bytes)`, as JSON.
pub fn sampler_preset_json(name: &str, zones: &[(&str, &[u8])]) -> String {
    let zones: Vec<String> = zones
        .iter()
        .enumerate()
        .map(|(i, (url, bytes))| {
            let root = 36 + 12 * i as u8;
            format!(
                r#"{{"keyRange":{{"low":{},"high":{}}},"pitch":{{"rootNote":{root},"fineTuneCents":0}},"sampleRate":{RATE_HZ},"audio":{{"type":"external","url":"{url}","codec":"raw","sha256":"{}"}},"loop":{{"start":100,"end":900}}}}"#,
                root.saturating_sub(6),
                root + 5,
                hash16(bytes)
            )
        })
        .collect();
    format!(
        r#"{{"format":"songwalker-preset","version":1,"name":"{name}","category":"sampler","tags":["melodic"],"node":{{"type":"sampler","config":{{"zones":[{}]}}}}}}"#,
        zones.join(",")
    )
}

/// An index named `name` listing `entries` (`(type, name, path)`), as JSON.
pub fn index_json(name: &str, entries: &[(&str, &str, &str)]) -> String {
    let entries: Vec<String> = entries
        .iter()
        .map(|(kind, name, path)| format!(r#"{{"type":"{kind}","name":"{name}","path":"{path}"}}"#))
        .collect();
    format!(r#"{{"format":"songwalker-index","version":1,"name":"{name}","entries":[{}]}}"#, entries.join(","))
}

/// Writes `text` to `root/relative`, creating folders.
pub fn write_file(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

impl TinyLibrary {
    /// Writes the library below `root`; every sample is `frames` frames long (2 bytes a frame),
    /// with a different pitch so no two are identical.
    pub fn write(root: &Path, frames: usize) -> TinyLibrary {
        write_file(
            root,
            "index.json",
            index_json(
                "Tiny root",
                &[("index", "Tiny Lib", "Tiny/index.json"), ("index", "Other", "Other/index.json")],
            )
            .as_bytes(),
        );
        let entries: Vec<(&str, &str, &str)> = TINY_PRESETS.iter().map(|p| ("preset", p.name, p.path)).collect();
        write_file(root, "Tiny/index.json", index_json("Tiny Lib", &entries).as_bytes());
        let mut hz = 110.0;
        for preset in TINY_PRESETS {
            let folder = preset.path.trim_end_matches("preset.json");
            let samples: Vec<(String, Vec<u8>)> = preset
                .samples
                .iter()
                .map(|name| {
                    hz *= 1.25;
                    (name.to_string(), raw_sine(frames, hz))
                })
                .collect();
            for (name, bytes) in &samples {
                write_file(root, &format!("Tiny/{folder}{name}"), bytes);
            }
            let zones: Vec<(&str, &[u8])> = samples.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
            write_file(root, &format!("Tiny/{}", preset.path), sampler_preset_json(preset.name, &zones).as_bytes());
        }
        let other = raw_sine(frames, 1000.0);
        write_file(root, "Other/index.json", index_json("Other", &[("preset", "Beep", "Beep/preset.json")]).as_bytes());
        write_file(root, "Other/Beep/zone_A4.raw", &other);
        write_file(root, "Other/Beep/preset.json", sampler_preset_json("Beep", &[("zone_A4.raw", &other)]).as_bytes());
        TinyLibrary { root: root.to_path_buf() }
    }

    /// The file of sample `sample` of `preset` (relative paths as in [`TINY_PRESETS`]).
    pub fn sample_file(&self, preset: &TinyPreset, sample: &str) -> PathBuf {
        self.root.join("Tiny").join(preset.path.trim_end_matches("preset.json")).join(sample)
    }
}
