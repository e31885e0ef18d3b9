//! `noderack render`: patch + MIDI file → WAV, through the real-time executor run offline.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use noderack_graph::new_engine;
use noderack_graph::{BusSpec, Connection, Edit, EngineConfig, NodeDescription, NodeId, PortRef};
use noderack_host::{read_midi_file, OfflineRenderer, TimedMidi, WavFormat, WavStream};
use noderack_nodes::preset_graph::{preset_subgraph, sampler_subgraph, Subgraph};
use noderack_nodes::sampler::voices_for;
use noderack_nodes::{MidiIn, Output};
use noderack_presets::instrument::Bank;
use noderack_presets::sample::SampleStore;
use noderack_presets::sf2;
use noderack_presets::sfz::load_sfz;
use noderack_presets::Patch;
use std::sync::Arc;

/// SFZ warnings printed before the rest are only counted (libraries full of CC-modulation
/// opcodes give hundreds).
const SHOWN_SFZ_WARNINGS: usize = 10;

/// What plays.
pub enum Source {
    /// A patch file.
    Patch(PathBuf),
    /// One SongWalker library preset on every channel.
    Preset { name: String, library: crate::library::LibraryOptions },
    /// One SFZ instrument on every channel.
    Sfz(PathBuf),
    /// A SoundFont 2 bank played as General MIDI (program changes, drums on channel 10), its
    /// sample data read as the second field says.
    SoundFont(PathBuf, SoundFontLoad),
}

/// Which sample data of a SoundFont a render reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SoundFontLoad {
    /// The zones the MIDI file's notes reach (by key and velocity, on their programs).
    Notes,
    /// Every zone of the programs the MIDI file plays.
    Programs,
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Patch(path) => path.display().to_string(),
            Source::Preset { name, .. } => format!("preset \"{name}\""),
            Source::Sfz(path) => path.display().to_string(),
            Source::SoundFont(path, _) => path.display().to_string(),
        }
    }

    /// The engine configuration and the edits that build the graph that plays `midi`.
    fn build(&self, sample_rate: f32, midi: &[TimedMidi]) -> anyhow::Result<(EngineConfig, Vec<Edit>)> {
        let max_block = noderack_graph::limits::DEFAULT_MAX_BLOCK_FRAMES;
        match self {
            Source::Patch(path) => {
                let patch = Patch::load(path, crate::factory::factory())?;
                for warning in &patch.warnings {
                    tracing::warn!("{warning}");
                }
                Ok((patch.engine_config(sample_rate, max_block), patch.edits()))
            }
            Source::Preset { name, library } => {
                let mut store = SampleStore::new();
                let built = library.client()?.load_graph(name, &mut store)?;
                for warning in &built.warnings {
                    tracing::warn!("{warning}");
                }
                // Library samples are normalised near full scale: -12 dB leaves room for
                // chords, as the synth's voice level does.
                Ok(keys_to_main(sample_rate, |id| preset_subgraph(built.graph, id, "instrument", -12.0)))
            }
            Source::Sfz(path) => {
                let mut store = SampleStore::new();
                let built = load_sfz(path, &mut store)?;
                for warning in built.warnings.iter().take(SHOWN_SFZ_WARNINGS) {
                    eprintln!("warning: {warning}");
                }
                if built.warnings.len() > SHOWN_SFZ_WARNINGS {
                    let more = built.warnings.len() - SHOWN_SFZ_WARNINGS;
                    eprintln!("warning: … and {more} more (NODERACK_LOG=debug lists every one)");
                }
                // An SFZ sets its own levels (`volume`), so it plays at unity, as sfizz does.
                let voices = voices_for(&built.instrument);
                let bank = Bank::single(built.instrument);
                Ok(keys_to_main(sample_rate, |id| sampler_subgraph(bank, voices, 0.0, id, "instrument")))
            }
            Source::SoundFont(path, load) => {
                let started = Instant::now();
                // Only the programs the file plays are loaded; by default, of their sample data
                // only the zones its notes reach: the file is known in advance.
                let notes = sf2::PlayedNote::all_in(midi.iter().map(|e| e.message));
                let sf2 = match load {
                    SoundFontLoad::Notes => sf2::load_bank_for_notes(path, &mut SampleStore::new(), &notes)?,
                    SoundFontLoad::Programs => {
                        let mut programs: Vec<_> = notes.iter().map(|n| n.program).collect();
                        programs.dedup();
                        sf2::load_bank_for(path, &mut SampleStore::new(), &programs)?
                    }
                };
                for warning in &sf2.warnings {
                    tracing::warn!("{warning}");
                }
                tracing::info!("loaded {} in {:.2} s", path.display(), started.elapsed().as_secs_f64());
                Ok(keys_to_main(sample_rate, |id| {
                    sampler_subgraph(sf2.bank, SOUNDFONT_VOICES, SOUNDFONT_GAIN_DB, id, "instrument")
                }))
            }
        }
    }
}

/// Voices of a General MIDI render: FluidSynth's default polyphony.
const SOUNDFONT_VOICES: usize = 256;
/// Master gain of a General MIDI render: the dense 16-channel `dense60.mid` (peaks of ~200
/// voices) peaks at -8.6 dBFS with TimGM6mb and -9.7 dBFS with FluidR3 at this level.
const SOUNDFONT_GAIN_DB: f32 = -12.0;

/// `midi-in` → the instrument `build` makes (from node id 2 on) → the `main` bus.
fn keys_to_main(sample_rate: f32, build: impl FnOnce(NodeId) -> Subgraph) -> (EngineConfig, Vec<Edit>) {
    let max_block = noderack_graph::limits::DEFAULT_MAX_BLOCK_FRAMES;
    let config =
        EngineConfig { sample_rate, max_block_frames: max_block, buses: vec![BusSpec::stereo("main")], inputs: vec![] };
    let keys = NodeId(1);
    let instrument = build(NodeId(2));
    let out = instrument.next_id;
    let node = |id: NodeId, label: &str, description: Arc<dyn NodeDescription>| Edit::AddNode {
        id,
        label: label.to_string(),
        description,
        params: vec![],
    };
    let mut edits =
        vec![node(keys, "keys", Arc::new(MidiIn::new())), node(out, "out", Arc::new(Output::new("main", 2)))];
    edits.extend(instrument.edits);
    let connect = |from, to| Edit::Connect(Connection { from, to });
    edits.extend(instrument.events_in.iter().map(|&to| connect(PortRef::new(keys, 0), to)));
    edits.push(connect(instrument.audio_out, PortRef::new(out, 0)));
    (config, edits)
}

/// Arguments of one render.
pub struct RenderArgs {
    pub source: Source,
    pub midi: PathBuf,
    pub output: PathBuf,
    pub sample_rate: u32,
    pub block_size: usize,
    pub tail: f64,
    pub format: WavFormat,
}

pub fn run(args: &RenderArgs) -> anyhow::Result<()> {
    if !(8_000..=384_000).contains(&args.sample_rate) {
        bail!("--sample-rate must be 8000 to 384000 Hz");
    }
    if args.block_size == 0 || args.block_size > 65_536 {
        bail!("--block-size must be 1 to 65536 frames");
    }
    if !(0.0..=3600.0).contains(&args.tail) {
        bail!("--tail must be 0 to 3600 seconds");
    }
    let sample_rate = args.sample_rate as f32;
    let sequence = read_midi_file(&args.midi, args.sample_rate as f64)?;
    let (config, edits) = args.source.build(sample_rate, &sequence.events)?;
    let channels = config.output_channels();
    let (mut engine, executor) = new_engine(config);
    // Kept to ask each node, after the render, what it has to report (notes without a zone).
    let nodes: Vec<(String, Arc<dyn NodeDescription>)> = edits
        .iter()
        .filter_map(|e| match e {
            Edit::AddNode { label, description, .. } => Some((label.clone(), description.clone())),
            _ => None,
        })
        .collect();
    engine.apply(edits).with_context(|| format!("building {}", args.source.describe()))?;
    let status = engine.status().clone();
    let mut renderer = OfflineRenderer::new(engine, executor, args.block_size);

    let frames = sequence.end_frame + (args.tail * args.sample_rate as f64).round() as u64;
    // Written block by block as rendered: a long render never holds its output in memory.
    let mut wav = WavStream::create(&args.output, channels, args.sample_rate, args.format)?;
    let mut failed = None;
    let started = Instant::now();
    renderer.render(frames, &sequence.events, |block| {
        if failed.is_none() {
            failed = wav.write(block).err();
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(e) = failed {
        return Err(e.into());
    }
    let report = wav.finish()?;
    let seconds = frames as f64 / args.sample_rate as f64;
    let peak_db = 20.0 * (report.peak.max(1e-10) as f64).log10();
    println!(
        "rendered {} ({:.1} s, {} channels, {} MIDI events) to {} in {:.2} s ({:.0}x real time)",
        args.source.describe(),
        seconds,
        channels,
        sequence.events.len(),
        args.output.display(),
        elapsed,
        seconds / elapsed.max(1e-9),
    );
    println!("peak {peak_db:.1} dBFS, {} samples over full scale", report.over_full_scale);
    for (label, description) in &nodes {
        for line in description.report() {
            eprintln!("warning: {label}: {line}");
        }
    }
    if status.dropped_events() > 0 {
        eprintln!("warning: {} events were dropped (event buffers full)", status.dropped_events());
    }
    if report.over_full_scale > 0 && args.format != WavFormat::F32 {
        eprintln!("warning: {} samples clipped; lower the patch's gain or use --format f32", report.over_full_scale);
    }
    Ok(())
}
