//! `noderack sw`: SongWalker `.sw` songs — check them (diagnostics with line, column and a
//! caret; exit status 1 on errors), list the events they compile to (JSON), and render them
//! to a WAV file through their own instruments (a runner started once at its root key).

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
        /// Set a song parameter (a top-level `const` holding a number): `--set accent=0.5`.
        #[arg(long, value_name = "NAME=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        library: LibraryOptions,
    },
    /// Render the whole song to a WAV file through its own instruments (library presets,
    /// oscillators, composites), with its tempo map and tuning; it ends as `song.endMode`
    /// says (default: when everything has died away).
    Render(RenderSong),
}

/// `noderack sw render`.
#[derive(clap::Args)]
pub struct RenderSong {
    /// The song.
    file: PathBuf,
    /// The WAV file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 48_000)]
    sample_rate: u32,
    /// Host block size in frames (the result is the same at any size).
    #[arg(long, default_value_t = 256)]
    block_size: usize,
    /// Sample format of the WAV file.
    #[arg(long, value_enum, default_value_t = crate::Format::F32)]
    format: crate::Format,
    /// Play presets the library does not have on the default instrument (with a warning)
    /// instead of refusing the song.
    #[arg(long)]
    allow_missing: bool,
    /// Longest a release or effects tail may ring after the last note, in seconds.
    #[arg(long, default_value_t = 30.0)]
    max_tail: f64,
    /// Set a song parameter (a top-level `const` holding a number): `--set accent=0.5`.
    #[arg(long, value_name = "NAME=VALUE")]
    set: Vec<String>,
    #[command(flatten)]
    library: LibraryOptions,
}

pub fn run(command: SwCommand) -> anyhow::Result<()> {
    match command {
        SwCommand::Check { file, no_presets, library } => {
            let song = compile(&file, (!no_presets).then_some(&library), &[])?;
            eprintln!(
                "{}: {} notes, {:.2} beats ({:.2} s), {} instruments",
                file.display(),
                song.notes.len(),
                song.length_beats,
                song.seconds_at(song.length_beats),
                song.instruments.len()
            );
        }
        SwCommand::Render(args) => render(&args)?,
        SwCommand::Events { file, set, library } => {
            let set = parse_set(&set)?;
            let set: Vec<(&str, f64)> = set.iter().map(|(n, v)| (n.as_str(), *v)).collect();
            let song = compile(&file, Some(&library), &set)?;
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

/// Compiles `file` with the parameter values `set`, checking presets in `library` when given
/// (and reachable).
fn compile(file: &PathBuf, library: Option<&LibraryOptions>, set: &[(&str, f64)]) -> anyhow::Result<Song> {
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
    let options =
        CompileOptions { presets: presets.as_ref().map(|p| p as &dyn PresetCheck), set, ..Default::default() };
    match sw::compile(&source, &file.display().to_string(), &options) {
        Ok(song) => {
            if let Some((name, _)) = set.iter().find(|(name, _)| !song.parameters.iter().any(|p| p.name == *name)) {
                anyhow::bail!("{}: the song has no top-level `const {name} = <number>` to set", file.display());
            }
            Ok(song)
        }
        Err(errors) => {
            eprintln!("{errors}");
            anyhow::bail!("{} error(s) in {}", errors.errors.len(), file.display())
        }
    }
}

/// `NAME=VALUE` pairs.
fn parse_set(pairs: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = pair.split_once('=').with_context(|| format!("--set {pair}: expected NAME=VALUE"))?;
            let value: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .with_context(|| format!("--set {pair}: `{value}` is not a number"))?;
            Ok((name.trim().to_string(), value))
        })
        .collect()
}

/// Frames rendered at a time after the song's last note, while waiting for silence.
const TAIL_STEP_SECONDS: f64 = 0.05;
/// A tail is over when no voice sounds and no sample of a step reaches this (−100 dBFS).
const SILENCE: f32 = 1e-5;

fn render(args: &RenderSong) -> anyhow::Result<()> {
    use std::sync::Arc;

    use noderack_graph::{new_engine, Connection, Edit, EngineConfig, MidiMessage, NodeId, PortRef};
    use noderack_host::{OfflineRenderer, TimedMidi, WavStream};
    use noderack_nodes::runner::{load_song, InstrumentSource, MissingPresets, Runner, RunnerSettings};
    use noderack_nodes::{MidiIn, Output};
    use noderack_presets::sample::SampleStore;
    use noderack_presets::sw::EndMode;

    if !(8_000..=384_000).contains(&args.sample_rate) {
        anyhow::bail!("--sample-rate must be 8000 to 384000 Hz");
    }
    if args.block_size == 0 || args.block_size > 65_536 {
        anyhow::bail!("--block-size must be 1 to 65536 frames");
    }
    if !(0.0..=3600.0).contains(&args.max_tail) {
        anyhow::bail!("--max-tail must be 0 to 3600 seconds");
    }
    let file = &args.file;
    let source = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let set = parse_set(&args.set)?;
    let set: Vec<(&str, f64)> = set.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let mut store = SampleStore::new();
    let mut warnings = Vec::new();
    let library = || args.library.client().map_err(|e| e.to_string());
    let instruments = InstrumentSource {
        library: &library,
        store: &mut store,
        warnings: &mut warnings,
        missing: if args.allow_missing { MissingPresets::UseDefault } else { MissingPresets::Refuse },
    };
    let (song, rack) = match load_song(&source, &file.display().to_string(), &set, Vec::new(), Some(instruments)) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{e}");
            anyhow::bail!("cannot render {}", file.display());
        }
    };
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let sample_rate = args.sample_rate as f64;
    let written = song.song();
    let last_gate_beats = written.notes.iter().map(|n| n.time_beats + n.gate_beats).fold(0.0, f64::max);
    let gate_end = (written.seconds_at(last_gate_beats) * sample_rate).round() as u64;
    let song_end = (written.seconds_at(written.length_beats.max(last_gate_beats)) * sample_rate).round() as u64;
    let end_mode = written.end_mode;
    let (notes, instruments) = (written.notes.len(), written.instruments.len());

    let config = EngineConfig::stereo(args.sample_rate as f32);
    let (keys, runner, out) = (NodeId(1), NodeId(2), NodeId(3));
    let settings = RunnerSettings { instances: 1, ..RunnerSettings::default() };
    let edits = vec![
        Edit::AddNode { id: keys, label: "keys".into(), description: Arc::new(MidiIn::new()), params: vec![] },
        Edit::AddNode {
            id: runner,
            label: "song".into(),
            description: Arc::new(Runner::new(song, settings, rack)),
            params: vec![],
        },
        Edit::AddNode { id: out, label: "out".into(), description: Arc::new(Output::new("main", 2)), params: vec![] },
        Edit::Connect(Connection { from: PortRef::new(keys, 0), to: PortRef::new(runner, 0) }),
        Edit::Connect(Connection {
            from: PortRef::new(runner, noderack_nodes::runner::AUDIO as u16),
            to: PortRef::new(out, 0),
        }),
    ];
    let (mut engine, executor) = new_engine(config);
    engine.apply(edits).context("building the song's graph")?;
    let status = engine.status().clone();
    let mut renderer = OfflineRenderer::new(engine, executor, args.block_size);
    let mut wav = WavStream::create(&args.output, 2, args.sample_rate, args.format.wav())?;
    let mut failed = None;
    let loud = std::cell::Cell::new(false);
    let mut write = |block: &[&[f32]]| {
        loud.set(block.iter().any(|channel| channel.iter().any(|s| s.abs() >= SILENCE)));
        if failed.is_none() {
            failed = wav.write(block).err();
        }
    };
    let start = [TimedMidi { frame: 0, message: MidiMessage::NoteOn { channel: 0, key: 60, velocity: 127 } }];
    let started = std::time::Instant::now();
    let main_frames = if end_mode == EndMode::Gate { gate_end } else { song_end };
    renderer.render(main_frames, &start, &mut write);
    if end_mode != EndMode::Gate {
        let step = (TAIL_STEP_SECONDS * sample_rate).round() as u64;
        let limit = main_frames + (args.max_tail * sample_rate).round() as u64;
        loop {
            let quiet = status.active_voices() == 0 && (end_mode == EndMode::Release || !loud.get());
            if quiet || renderer.position_frames() >= limit {
                break;
            }
            renderer.render(step.min(limit - renderer.position_frames()), &[], &mut write);
        }
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    let frames = renderer.position_frames();
    let report = wav.finish()?;
    let seconds = frames as f64 / sample_rate;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "rendered {} ({notes} notes, {instruments} instruments, {seconds:.2} s) to {} in {elapsed:.2} s ({:.0}x real time)",
        file.display(),
        args.output.display(),
        seconds / elapsed.max(1e-9)
    );
    println!(
        "peak {:.1} dBFS, {} samples over full scale",
        20.0 * (report.peak.max(1e-10) as f64).log10(),
        report.over_full_scale
    );
    Ok(())
}
