//! `noderack plugins`: the CLAP plugins installed on this system (`CLAP_PATH`, `~/.clap`,
//! `/usr/lib/clap`, `/usr/local/lib/clap`) and what each offers.

use noderack_host::clap::{inspect, scan, search_paths, PluginInfo};

/// `noderack plugins` subcommands.
#[derive(clap::Subcommand)]
pub enum PluginsCommand {
    /// Every plugin found: id, name, vendor, version, features. Files that do not load are
    /// reported and skipped.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One plugin's audio and note ports, parameters (ranges, defaults) and latency.
    Info {
        /// The plugin's id (as `plugins list` shows it).
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: PluginsCommand) -> anyhow::Result<()> {
    let paths = search_paths();
    let report = scan(&paths);
    for (path, reason) in &report.failures {
        eprintln!("skipped {}: {reason}", path.display());
    }
    match command {
        PluginsCommand::List { json } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report.plugins)?);
                return Ok(());
            }
            if report.plugins.is_empty() {
                let searched: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                eprintln!("no CLAP plugins found (searched: {})", searched.join(", "));
            }
            for p in &report.plugins {
                println!(
                    "{}  {} ({}, {})  [{}]  {}",
                    p.id,
                    p.name,
                    p.vendor,
                    p.version,
                    p.features.join(", "),
                    p.path.display()
                );
            }
        }
        PluginsCommand::Info { id, json } => {
            let summary = report.find(&id)?;
            let info = inspect(&summary.path, &id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{}", describe(&summary.name, &info));
            }
        }
    }
    Ok(())
}

/// `info` as text.
fn describe(name: &str, info: &PluginInfo) -> String {
    let mut out = format!("{} — {name}\n", info.id);
    let ports = |label: &str, ports: Vec<String>| {
        if ports.is_empty() {
            format!("  {label}: none\n")
        } else {
            format!("  {label}: {}\n", ports.join(", "))
        }
    };
    let audio = |ports: &[noderack_host::clap::AudioPortInfo]| {
        ports
            .iter()
            .map(|p| format!("{} ({} ch{})", p.name, p.channels, if p.main { ", main" } else { "" }))
            .collect::<Vec<_>>()
    };
    let notes = |ports: &[noderack_host::clap::NotePortInfo]| {
        ports
            .iter()
            .map(|p| {
                let dialects: Vec<&str> =
                    [("CLAP", p.clap), ("MIDI", p.midi)].iter().filter(|d| d.1).map(|d| d.0).collect();
                format!("{} ({})", p.name, dialects.join("+"))
            })
            .collect::<Vec<_>>()
    };
    out += &ports("audio in", audio(&info.audio_inputs));
    out += &ports("audio out", audio(&info.audio_outputs));
    out += &ports("notes in", notes(&info.note_inputs));
    out += &ports("notes out", notes(&info.note_outputs));
    out += &format!("  latency: {} frames at 48 kHz\n", info.latency_frames);
    out += &match info.tail_frames {
        0 => "  tail: none\n".to_string(),
        u32::MAX => "  tail: infinite\n".to_string(),
        frames => format!("  tail: {frames} frames at 48 kHz\n"),
    };
    out += &format!("  state: {}\n", if info.state { "saved and restored" } else { "none" });
    out += &format!("  parameters: {}\n", info.params.len());
    for p in &info.params {
        let flags: Vec<&str> =
            [("stepped", p.stepped), ("automatable", p.automatable), ("read-only", p.read_only), ("hidden", p.hidden)]
                .iter()
                .filter(|f| f.1)
                .map(|f| f.0)
                .collect();
        out += &format!(
            "    {:>5} {}: {} to {} (default {}) {}\n",
            p.id,
            p.name,
            p.min,
            p.max,
            p.default,
            flags.join(" ")
        );
    }
    out
}
