//! `noderack render`: patch + MIDI file → WAV, through the real-time executor run offline.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use noderack_graph::new_engine;
use noderack_host::{read_midi_file, write_wav, OfflineRenderer, WavFormat};
use noderack_presets::Patch;

/// Arguments of one render.
pub struct RenderArgs {
    pub patch: PathBuf,
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
    let patch = Patch::load(&args.patch, &noderack_nodes::registry::Registry)?;
    let sample_rate = args.sample_rate as f32;
    let sequence = read_midi_file(&args.midi, args.sample_rate as f64)?;
    let (mut engine, executor) =
        new_engine(patch.engine_config(sample_rate, noderack_graph::limits::DEFAULT_MAX_BLOCK_FRAMES));
    engine.apply(patch.edits()).with_context(|| format!("building {}", args.patch.display()))?;
    let status = engine.status().clone();
    let mut renderer = OfflineRenderer::new(engine, executor, args.block_size);

    let frames = sequence.end_frame + (args.tail * args.sample_rate as f64).round() as u64;
    let started = Instant::now();
    let channels = renderer.render_to_vec(frames, &sequence.events);
    let elapsed = started.elapsed().as_secs_f64();

    let report = write_wav(&args.output, &channels, args.sample_rate, args.format)?;
    let seconds = frames as f64 / args.sample_rate as f64;
    let peak_db = 20.0 * (report.peak.max(1e-10) as f64).log10();
    println!(
        "rendered {} ({:.1} s, {} channels, {} MIDI events) to {} in {:.2} s ({:.0}x real time)",
        args.patch.display(),
        seconds,
        channels.len(),
        sequence.events.len(),
        args.output.display(),
        elapsed,
        seconds / elapsed.max(1e-9),
    );
    println!("peak {peak_db:.1} dBFS, {} samples over full scale", report.over_full_scale);
    if status.dropped_events() > 0 {
        eprintln!("warning: {} events were dropped (event buffers full)", status.dropped_events());
    }
    if report.over_full_scale > 0 && args.format != WavFormat::F32 {
        eprintln!("warning: {} samples clipped; lower the patch's gain or use --format f32", report.over_full_scale);
    }
    Ok(())
}
