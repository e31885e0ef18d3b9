//! `noderack sw`: SongWalker `.sw` songs — check them (diagnostics with line, column and a
//! caret; exit status 1 on errors) and list the events they compile to (JSON).

use std::path::PathBuf;

use anyhow::Context;
use noderack_presets::sw::library_presets::LibraryPresets;
use noderack_presets::sw::{self, CompileOptions, PresetCheck, Song};

use crate::library::LibraryOptions;

/// `noderack sw` subcommands.
#[derive(clap::Subcommand)]
pub enum SwCommand {
    /// Compile a song and report every problem (unknown presets are checked against the
    /// library, with the closest names); exit status 1 when there is one.
    Check {
        /// The song.
        file: PathBuf,
        /// Do not look presets up in the library.
        #[arg(long)]
        no_presets: bool,
        #[command(flatten)]
        library: LibraryOptions,
    },
    /// Print the song's notes, tempo map and instruments as JSON (times in beats and seconds).
    Events {
        /// The song.
        file: PathBuf,
        #[command(flatten)]
        library: LibraryOptions,
    },
}

pub fn run(command: SwCommand) -> anyhow::Result<()> {
    match command {
        SwCommand::Check { file, no_presets, library } => {
            let song = compile(&file, (!no_presets).then_some(&library))?;
            eprintln!(
                "{}: {} notes, {:.2} beats ({:.2} s), {} instruments",
                file.display(),
                song.notes.len(),
                song.length_beats,
                song.seconds_at(song.length_beats),
                song.instruments.len()
            );
        }
        SwCommand::Events { file, library } => {
            let song = compile(&file, Some(&library))?;
            let notes: Vec<serde_json::Value> = song
                .notes
                .iter()
                .map(|n| {
                    let mut v = serde_json::to_value(n).expect("a note serializes");
                    v["time_seconds"] = serde_json::json!(song.seconds_at(n.time_beats));
                    v
                })
                .collect();
            let out = serde_json::json!({
                "length_beats": song.length_beats,
                "length_seconds": song.seconds_at(song.length_beats),
                "end_mode": song.end_mode,
                "tempo": song.tempo,
                "instruments": song.instruments,
                "notes": notes,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}

/// Compiles `file`, checking presets in `library` when given (and reachable).
fn compile(file: &PathBuf, library: Option<&LibraryOptions>) -> anyhow::Result<Song> {
    let source = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let client = library.map(LibraryOptions::client).transpose()?;
    let presets = match &client {
        Some(client) => match LibraryPresets::new(client) {
            Ok(presets) => Some(presets),
            Err(e) => {
                tracing::warn!("presets are not checked: {e}");
                None
            }
        },
        None => None,
    };
    let options = CompileOptions { presets: presets.as_ref().map(|p| p as &dyn PresetCheck), ..Default::default() };
    match sw::compile(&source, &file.display().to_string(), &options) {
        Ok(song) => Ok(song),
        Err(errors) => {
            eprintln!("{errors}");
            anyhow::bail!("{} error(s) in {}", errors.errors.len(), file.display())
        }
    }
}
