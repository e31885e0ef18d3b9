//! `noderack library …`: browse, fetch, pin and verify a SongWalker library through the client
//! and its disk cache.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use noderack_presets::library::{LibraryClient, LibraryConfig, RemotePreset, DEFAULT_LIBRARY_URL};
use noderack_presets::songwalker::{IndexEntry, PresetFile, PresetNode};

/// Where the library and its cache are (shared by `library` and `render --preset`).
#[derive(Args, Clone)]
pub struct LibraryOptions {
    /// The library: a base URL (https://…, http://localhost:…, file:///…) or a local folder with
    /// the library's root index.json. URLs are cached; a folder is read in place.
    #[arg(long, global = true, value_name = "URL|DIR", default_value = DEFAULT_LIBRARY_URL)]
    pub library: String,
    /// Cache folder [default: $NODERACK_CACHE_DIR, else the platform cache directory,
    /// e.g. ~/.cache/noderack/library].
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Cache size cap in megabytes; least-recently used files beyond it are deleted, libraries
    /// kept with `library offline` never are.
    #[arg(long, global = true, value_name = "MB", default_value_t = 2_000)]
    pub cache_size_mb: u64,
    /// Seconds to wait for a server to connect or send more data before using the cache.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 20.0)]
    pub timeout: f64,
}

impl LibraryOptions {
    /// A client for these options.
    pub fn client(&self) -> anyhow::Result<LibraryClient> {
        if !(self.timeout > 0.0 && self.timeout <= 3_600.0) {
            bail!("--timeout must be more than 0 and at most 3600 seconds");
        }
        let config = LibraryConfig {
            location: self.library.clone(),
            cache_dir: self.cache_dir.clone(),
            cache_cap_bytes: self.cache_size_mb.saturating_mul(1_000_000),
            timeout: Duration::from_secs_f64(self.timeout),
            progress: true,
        };
        Ok(LibraryClient::new(&config)?)
    }
}

/// `noderack library` and its options.
#[derive(Args)]
pub struct LibraryCommand {
    #[command(subcommand)]
    command: Action,
    #[command(flatten)]
    options: LibraryOptions,
}

#[derive(Subcommand)]
enum Action {
    /// List the libraries with their preset counts and the name to use in "Library/Preset".
    List,
    /// Find presets whose name contains QUERY (case-insensitive), across every library.
    Search {
        /// Part of a preset name, e.g. "piano".
        query: String,
    },
    /// Print a preset's details: type, zones with key ranges and root keys, samples and their
    /// size in the cache. Downloads the preset file only.
    Show {
        /// "Library/Name", e.g. "FluidR3_GM/Acoustic Grand Piano" (the first preset whose name
        /// contains Name).
        preset: String,
    },
    /// Download a preset and its samples into the cache, checking each against its hash.
    Fetch {
        /// "Library/Name".
        preset: String,
    },
    /// Download a whole library and pin it: it is never evicted and works without a network.
    Offline {
        /// The library's name or folder, e.g. "FluidR3_GM".
        #[arg(value_name = "LIBRARY")]
        name: String,
    },
    /// Load every preset of a library, fetch and decode every sample, and report each failure
    /// with its reason; exits with status 1 if anything failed.
    Verify {
        /// The library's name or folder.
        #[arg(value_name = "LIBRARY")]
        name: String,
    },
}

/// Runs a `library` command.
pub fn run(command: LibraryCommand) -> anyhow::Result<()> {
    let client = command.options.client()?;
    match command.command {
        Action::List => list(&client),
        Action::Search { query } => search(&client, &query),
        Action::Show { preset } => show(&client, &preset),
        Action::Fetch { preset } => {
            let report = client.fetch(&preset)?;
            println!(
                "fetched {}/{}: {} samples, {} (cache: {})",
                report.preset.library,
                report.preset.name,
                report.samples,
                megabytes(report.sample_bytes),
                cache_name(&client)
            );
            Ok(())
        }
        Action::Offline { name } => {
            let report = client.offline(&name)?;
            for failure in &report.failures {
                println!("FAIL {}: {}", failure.preset, failure.reason);
            }
            println!(
                "{} is available offline: {} presets, {} files, {} of samples pinned in {}",
                report.library,
                report.presets,
                report.files,
                megabytes(report.bytes),
                cache_name(&client)
            );
            if !report.failures.is_empty() {
                bail!("{} of {}'s files could not be made available offline", report.failures.len(), report.library);
            }
            Ok(())
        }
        Action::Verify { name } => {
            let report = client.verify(&name)?;
            for failure in &report.failures {
                println!("FAIL {}: {}", failure.preset, failure.reason);
            }
            println!(
                "verified {}: {} presets, {} samples, {} failed",
                report.library,
                report.presets,
                report.samples,
                report.failures.len()
            );
            if !report.failures.is_empty() {
                bail!("{} of {}'s files failed verification", report.failures.len(), report.library);
            }
            Ok(())
        }
    }
}

fn list(client: &LibraryClient) -> anyhow::Result<()> {
    let libraries = client.libraries()?;
    println!("{}: {} libraries", client.location().name_of(&Default::default()), libraries.len());
    for library in &libraries {
        let presets = library.index.entries.iter().filter(|e| matches!(e, IndexEntry::Preset { .. })).count();
        let folder = library.index_path.parent().to_string();
        println!("  {:<24} {:>5} presets  (\"{}/…\")  {}", library.name, presets, folder, library.description);
    }
    Ok(())
}

fn search(client: &LibraryClient, query: &str) -> anyhow::Result<()> {
    let found = client.search(query)?;
    for preset in &found {
        println!("{}/{}  {}", preset.library, preset.name, summary(preset));
    }
    println!("{} presets match \"{query}\"", found.len());
    Ok(())
}

/// Category, zone count and key range from an index entry.
fn summary(preset: &RemotePreset) -> String {
    let IndexEntry::Preset { category, zone_count, key_range, .. } = &preset.entry else { return String::new() };
    let mut parts = vec![category.clone().unwrap_or_else(|| "preset".into())];
    if let Some(zones) = zone_count {
        parts.push(format!("{zones} zones"));
    }
    if let Some(keys) = key_range {
        parts.push(format!("keys {}–{}", note_name(keys.low), note_name(keys.high)));
    }
    parts.join(", ")
}

fn show(client: &LibraryClient, query: &str) -> anyhow::Result<()> {
    let preset = client.find(query)?;
    let file = client.preset(&preset.path)?;
    println!("{}/{}", preset.library, preset.name);
    println!("  file:      {}", client.location().name_of(&preset.path));
    println!("  type:      {}", kind(&file));
    if let Some(category) = &file.category {
        println!("  category:  {category}");
    }
    if !file.tags.is_empty() {
        println!("  tags:      {}", file.tags.join(", "));
    }
    if let Some(voices) = file.max_voices {
        println!("  voices:    {voices}");
    }
    match &file.node {
        PresetNode::Effect { params, .. } => {
            for (name, value) in params {
                println!("  param {name} = {value}");
            }
        }
        PresetNode::Oscillator { config } => {
            if let Some(e) = config.envelope {
                println!(
                    "  envelope:  attack {} s, decay {} s, sustain {}, release {} s",
                    e.attack, e.decay, e.sustain, e.release
                );
            }
        }
        _ => {}
    }
    let zones = file.zones();
    if zones.is_empty() {
        return Ok(());
    }
    let status = client.sample_status(&preset.path, &file)?;
    println!("  zones:     {}", zones.len());
    for (zone, sample) in zones.iter().zip(&status) {
        let looped = zone.loop_frames.map_or(String::new(), |l| format!(", loop {}–{}", l.start, l.end));
        println!(
            "    keys {:>4}–{:<4} root {:<4} {:+} cents  {:?} {} Hz{looped}  {}  {}",
            note_name(zone.key_range.low),
            note_name(zone.key_range.high),
            note_name(zone.pitch.root_note),
            zone.pitch.fine_tune_cents,
            zone.audio.codec,
            zone.sample_rate,
            zone.audio.url,
            sample.bytes.map_or("not cached".to_string(), megabytes),
        );
    }
    let cached: Vec<u64> = status.iter().filter_map(|s| s.bytes).collect();
    println!(
        "  samples:   {} ({} cached, {}){}",
        status.len(),
        cached.len(),
        megabytes(cached.iter().sum()),
        if cached.len() < status.len() { "; `noderack library fetch` downloads the rest" } else { "" }
    );
    Ok(())
}

fn kind(file: &PresetFile) -> String {
    match &file.node {
        PresetNode::Sampler { config } => {
            format!("sampler{}", if config.one_shot { " (one-shot: notes play to the end)" } else { "" })
        }
        PresetNode::Oscillator { config } => format!("oscillator ({})", config.waveform.name()),
        PresetNode::Composite { config } => {
            format!("composite ({} of {} parts)", config.mode.name(), config.children.len())
        }
        PresetNode::Effect { effect_type, .. } => format!("effect ({effect_type})"),
    }
}

fn cache_name(client: &LibraryClient) -> String {
    client.cache_dir().map_or_else(|| "none: a local folder is read in place".into(), |d| d.display().to_string())
}

/// `C4` for key 60.
fn note_name(key: u8) -> String {
    const NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
    format!("{}{}", NAMES[key as usize % 12], key as i32 / 12 - 1)
}

/// `1.2 MB`.
fn megabytes(bytes: u64) -> String {
    if bytes < 10_000 {
        format!("{bytes} B")
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}
