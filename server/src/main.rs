//! `noderack`: a modular node-graph audio engine that hosts instruments as nodes.
//! This binary plays patches live, renders them offline and inspects them; the control server
//! comes later.

mod inspect;
mod library;
mod live;
mod patch_cmd;
mod play;
mod plugins_cmd;
mod render;
mod serve;
mod sw_cmd;

use noderack_server::{factory, remote};

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// noderack — a modular node-graph audio engine that hosts instruments as nodes.
///
/// A patch (JSON, see docs/PATCH_FORMAT.md) describes nodes — synths, mixers, MIDI utilities —
/// and the connections between them. noderack compiles it into a render plan and runs it with
/// the same real-time executor offline or live.
#[derive(Parser)]
#[command(name = "noderack", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a patch playing a MIDI file to a WAV file, faster than real time.
    ///
    /// MIDI from the file reaches every `midi-in` node of the patch. The WAV holds every channel
    /// of every output bus, bus after bus. Rendering goes on for --tail seconds after the last
    /// MIDI event so releases and reverb tails are kept.
    ///
    /// Instead of a patch, --preset plays one SongWalker library preset on every MIDI channel
    /// (samplers, oscillators, layered and split composites; effect presets are refused),
    /// fetched through the library cache (see `noderack library --help`); --sfz plays one SFZ
    /// instrument (see docs/SFZ.md), and --soundfont a General MIDI file through an SF2 bank
    /// (program changes per channel, drums on channel 10), as `fluidsynth -F` does (see
    /// docs/SF2.md).
    #[command(group(clap::ArgGroup::new("source").required(true)))]
    Render {
        /// The patch file.
        #[arg(group = "source")]
        patch: Option<PathBuf>,
        /// An SFZ instrument to play on every MIDI channel instead of a patch.
        #[arg(long, group = "source")]
        sfz: Option<PathBuf>,
        /// A SoundFont 2 bank (`.sf2`) to play the MIDI file with, instead of a patch.
        #[arg(long, group = "source")]
        soundfont: Option<PathBuf>,
        /// Which sample data of the --soundfont is read: only the zones the MIDI file's notes
        /// reach (`notes`: the least memory, the same sound), or every zone of the programs it
        /// plays (`programs`: what FluidSynth's dynamic sample loading reads).
        #[arg(long, value_enum, default_value_t = render::SoundFontLoad::Notes, requires = "soundfont")]
        soundfont_load: render::SoundFontLoad,
        /// A SongWalker library preset ("Library/Name", e.g. "FluidR3_GM/Acoustic Grand Piano")
        /// to play instead of a patch.
        #[arg(long, group = "source")]
        preset: Option<String>,
        #[command(flatten)]
        library: library::LibraryOptions,
        /// Standard MIDI File to play.
        #[arg(long)]
        midi: PathBuf,
        /// Output WAV file.
        #[arg(short, long)]
        output: PathBuf,
        /// Sample rate in Hz.
        #[arg(long, default_value_t = 48_000)]
        sample_rate: u32,
        /// Host block size in frames (any size; the engine splits large blocks). The result is
        /// identical for every block size.
        #[arg(long, default_value_t = 256)]
        block_size: usize,
        /// Seconds rendered after the MIDI file's last event.
        #[arg(long, default_value_t = 2.0)]
        tail: f64,
        /// Sample format of the WAV file.
        #[arg(long, value_enum, default_value_t = Format::F32)]
        format: Format,
    },
    /// Play a patch live until Ctrl-C, with a one-line status (load, xruns, voices, bus peaks).
    ///
    /// The backend is JACK (a client with one port per bus channel, `main_L`, `main_R`, … and
    /// one MIDI port per midi-in node), a sound card through cpal, or `null` (no device, paced
    /// by the wall clock). Without --backend, JACK is tried, then cpal; if neither opens, the
    /// error lists why each failed. MIDI comes from JACK MIDI ports and devices named by
    /// --midi-in (ALSA sequencer, else JACK MIDI; reconnected when replugged), and from
    /// --midi-file. With --watch, saving the patch file applies only what changed, as one
    /// edit, while the rest keeps sounding.
    Play(play::PlayArgs),
    /// Serve a patch: it plays live while clients edit it over HTTP and a WebSocket.
    ///
    /// The JSON API lives under /api/v1 (status, the graph, atomic edit batches with node ids
    /// chosen by clients, undo and redo, transport, MIDI); /api/v1/ws streams every change with
    /// its revision, and meters. It listens on loopback unless --bind names another address,
    /// which requires a --token. See docs/API.md.
    Serve(serve::ServeArgs),
    /// List audio and MIDI devices per backend (JACK, cpal hosts, MIDI sources).
    Devices,
    /// Print a patch's nodes, ports, parameters and connections (or Graphviz with --dot).
    Graph {
        /// The patch file.
        patch: PathBuf,
        /// Print a Graphviz `dot` graph instead (render with `dot -Tsvg`).
        #[arg(long)]
        dot: bool,
    },
    /// List a patch's slots: each instrument, the MIDI channel its notes come on and the bus
    /// its sound reaches (what a DAW user routes when noderack runs as a plugin).
    ///
    /// Slots are read off the graph: an instrument node, the `channel-filter` between it and
    /// the host's MIDI (none: omni) and the `output` its audio reaches through gains, mixers and
    /// effects. Edit them by editing those nodes and connections.
    Slots {
        /// The patch file.
        patch: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the node kinds a patch can use, with their ports, parameters and settings.
    Nodes,
    /// Browse, download, pin and verify the SongWalker preset library.
    ///
    /// The library is the public SongWalker library unless --library names another base URL
    /// (http://localhost:…, file:///…) or a local folder. Files from URLs are kept in a disk
    /// cache (--cache-dir, $NODERACK_CACHE_DIR, else the platform cache directory): indexes are
    /// refreshed once per run, presets and samples fetched once and checked against their
    /// hashes; without a network the cache is used. See docs/LIBRARY.md.
    Library(library::LibraryCommand),
    /// Share patches: export one with every file it needs as a self-contained, verified bundle,
    /// import one (file or URL), and publish, search, fetch and fork bundles on any noderack
    /// server's registry. See docs/BUNDLES.md.
    #[command(subcommand)]
    Patch(patch_cmd::PatchCommand),
    /// SongWalker `.sw` songs: check them and list their events. See docs/SW_LANGUAGE.md.
    #[command(subcommand)]
    Sw(sw_cmd::SwCommand),
    /// CLAP plugins installed on this system: list them, inspect one.
    #[command(subcommand)]
    Plugins(plugins_cmd::PluginsCommand),
}

/// WAV sample formats.
#[derive(Copy, Clone, ValueEnum)]
pub(crate) enum Format {
    /// 32-bit float (exact, never clips).
    F32,
    /// 24-bit integer.
    S24,
    /// 16-bit integer.
    S16,
}

impl Format {
    /// The WAV writer's format.
    pub(crate) fn wav(self) -> noderack_host::WavFormat {
        match self {
            Format::F32 => noderack_host::WavFormat::F32,
            Format::S24 => noderack_host::WavFormat::S24,
            Format::S16 => noderack_host::WavFormat::S16,
        }
    }
}

fn main() -> std::process::ExitCode {
    // Our warnings (a cached copy used because the network failed, a sample whose hash does
    // not match) are for the user: shown unless NODERACK_LOG says otherwise. Dependencies' are
    // not (symphonia warns about every MP3 with a tag in front).
    let filter = tracing_subscriber::EnvFilter::try_from_env("NODERACK_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "error,jack=off,noderack=warn,noderack_presets=warn,noderack_host=warn,noderack_nodes=warn,noderack_graph=warn",
        )
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its causes in one line, each cause once: many of our errors already say their
/// cause ("file: No such file or directory"), which the chain would otherwise repeat.
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Render {
            patch,
            sfz,
            soundfont,
            soundfont_load,
            preset,
            library,
            midi,
            output,
            sample_rate,
            block_size,
            tail,
            format,
        } => {
            let format = format.wav();
            let source = match (patch, sfz, soundfont, preset) {
                (Some(patch), ..) => render::Source::Patch(patch),
                (None, Some(sfz), ..) => render::Source::Sfz(sfz),
                (None, None, Some(sf2), _) => render::Source::SoundFont(sf2, soundfont_load),
                (None, None, None, Some(name)) => render::Source::Preset { name, library },
                _ => anyhow::bail!("give a patch file, --sfz, --soundfont or --preset"),
            };
            render::run(&render::RenderArgs { source, midi, output, sample_rate, block_size, tail, format })
        }
        Command::Play(args) => play::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Devices => {
            for section in noderack_host::live::devices::list_devices("noderack") {
                println!("{}", section.heading);
                match section.items {
                    Ok(items) if items.is_empty() => println!("  none"),
                    Ok(items) => items.iter().for_each(|i| println!("  {i}")),
                    Err(why) => println!("  {why}"),
                }
            }
            Ok(())
        }
        Command::Graph { patch, dot } => inspect::graph(&patch, dot),
        Command::Slots { patch, json } => inspect::slots(&patch, json),
        Command::Nodes => inspect::nodes(),
        Command::Library(command) => library::run(command),
        Command::Patch(command) => patch_cmd::run(command),
        Command::Sw(command) => sw_cmd::run(command),
        Command::Plugins(command) => plugins_cmd::run(command),
    }
}
