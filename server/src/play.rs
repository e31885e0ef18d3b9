//! `noderack play`: a patch played live until Ctrl-C, through JACK, a sound card or the null
//! backend, with MIDI from devices, JACK ports or a file, a one-line live status, optional
//! recording, and `--watch`: the patch file reloaded on change and applied as one edit batch
//! of its differences, so untouched nodes keep sounding.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use noderack_graph::Engine;
use noderack_host::live::device_midi::DeviceMidiInput;
use noderack_host::live::file_player::MidiFilePlayer;
use noderack_host::live::health::level_db;
use noderack_host::live::{Health, HealthReport, MidiTarget, RunningBackend};
use noderack_host::read_midi_file;
use noderack_presets::{Patch, RunningPatch};

use crate::live::{self, BackendArgs, Live};

/// How often the control thread frees what the audio thread returned (and retires fades): the
/// queues hold hundreds of entries, so 20 ms is plenty, and every wake-up on a busy machine is
/// a chance to delay the audio thread.
const MAINTAIN_PERIOD: Duration = Duration::from_millis(20);
/// How often the status line, the patch file and MIDI sources are looked at.
const LOOK_PERIOD: Duration = Duration::from_millis(250);

/// Arguments of `noderack play`.
#[derive(clap::Args)]
pub struct PlayArgs {
    /// The patch file.
    pub patch: PathBuf,
    #[command(flatten)]
    pub live: BackendArgs,
    /// MIDI input: a JACK MIDI port or a MIDI device whose name contains NAME (repeatable).
    #[arg(long = "midi-in", value_name = "NAME")]
    pub midi_in: Vec<String>,
    /// Play this Standard MIDI File live to every midi-in node.
    #[arg(long, value_name = "FILE")]
    pub midi_file: Option<PathBuf>,
    /// Reload the patch when the file changes, applying only the difference.
    #[arg(long)]
    pub watch: bool,
    /// Also record everything played to this WAV file (32-bit float, every bus channel).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Stop after this many seconds of audio.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// At exit, write load, xruns, voices and levels as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Why a session ended.
enum Ended {
    /// Ctrl-C, or `--duration` reached.
    Done,
    /// The backend now runs at another sample rate: build the engine again.
    SampleRate(u32),
}

pub fn run(args: &PlayArgs) -> anyhow::Result<()> {
    if let Some(d) = args.duration {
        if !(d > 0.0 && d <= 86_400.0) {
            bail!("--duration must be more than 0 and at most 86400 seconds");
        }
    }
    args.live.check()?;
    // The file as loaded is the baseline: a change made from here on is picked up.
    let mut watcher = args.watch.then(|| FileWatch::new(&args.patch));
    let patch = load_patch(&args.patch)?;
    let mut running = RunningPatch::new(patch);
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    ctrlc::set_handler(move || on_signal.store(true, Ordering::Release))
        .context("cannot install the Ctrl-C handler")?;
    loop {
        match session(args, &mut running, watcher.as_mut(), &stop)? {
            Ended::Done => return Ok(()),
            Ended::SampleRate(rate) => eprintln!("the backend switched to {rate} Hz: building the engine again"),
        }
    }
}

fn load_patch(path: &Path) -> anyhow::Result<Patch> {
    let patch = Patch::load(path, crate::factory::factory())?;
    for warning in &patch.warnings {
        tracing::warn!("{warning}");
    }
    Ok(patch)
}

/// One engine on one backend, from start to stop.
fn session(
    args: &PlayArgs,
    running: &mut RunningPatch,
    mut watcher: Option<&mut FileWatch>,
    stop: &AtomicBool,
) -> anyhow::Result<Ended> {
    let sources = args.midi_in.len() + usize::from(args.midi_file.is_some());
    let what = args.patch.display().to_string();
    let Live { mut engine, health, mut backend, description, sample_rate, midi, recorder, .. } =
        live::start(&args.live, running, sources, args.record.as_deref(), false, &what)?;
    let recording = recorder.zip(args.record.as_ref());
    eprintln!("playing {what} on {description}");

    let mut devices = Vec::new();
    let mut senders = midi.into_iter();
    for pattern in &args.midi_in {
        let sender = senders.next().expect("one queue per --midi-in");
        if backend.connect_midi_source(pattern) {
            eprintln!("MIDI in: JACK port matching \"{pattern}\", to every midi-in node");
            continue;
        }
        let device = DeviceMidiInput::open(pattern, MidiTarget::All, sender, &args.live.client_name)?;
        if !device.is_connected() {
            eprintln!("MIDI in: waiting for a device matching \"{pattern}\" ({:?})", device.system());
        }
        devices.push(device);
    }
    let player = match &args.midi_file {
        Some(path) => {
            let sequence = read_midi_file(path, sample_rate as f64)?;
            let sender = senders.next().expect("one queue for --midi-file");
            Some(MidiFilePlayer::start(sequence, sample_rate, sender, MidiTarget::All))
        }
        None => None,
    };

    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let started = Instant::now();
    let end_frame = args.duration.map(|d| (d * sample_rate as f64).round() as u64);
    let mut next_look = Instant::now();
    let ended: anyhow::Result<Ended> = loop {
        std::thread::sleep(MAINTAIN_PERIOD);
        engine.maintain();
        for node in engine.take_refused_parcels() {
            eprintln!("\nwarning: {} did not take the instrument sent to it", node);
        }
        if stop.load(Ordering::Acquire) {
            break Ok(Ended::Done);
        }
        if let Some(reason) = health.stopped() {
            break Err(anyhow::anyhow!("{reason}"));
        }
        if let Some(rate) = health.take_sample_rate_change() {
            break Ok(Ended::SampleRate(rate));
        }
        if end_frame.is_some_and(|end| health.executor().frames() >= end) {
            break Ok(Ended::Done);
        }
        if Instant::now() >= next_look {
            next_look += LOOK_PERIOD;
            backend.maintain();
            if let Some(watch) = watcher.as_mut() {
                if watch.changed() {
                    reload(&args.patch, running, &mut engine, backend.as_mut(), &health);
                }
            }
            if tty {
                eprint!("\r{}\x1b[K", health.report().status_line());
            }
        }
    };
    if tty {
        eprintln!();
    }
    if let Some(player) = player {
        player.stop();
    }
    drop(devices);
    let _driver = backend.stop();
    engine.maintain();
    let report = health.report();
    if let Some((recorder, path)) = recording {
        let wav = recorder.finish(path)?;
        eprintln!("recorded {} frames to {}", wav.frames, path.display());
    }
    summarize(&report, &description, started.elapsed(), args.report.as_deref())?;
    ended
}

/// Applies the patch file's new version, if it loads and differs; on any error says why and
/// keeps playing what plays.
fn reload(
    path: &Path,
    running: &mut RunningPatch,
    engine: &mut Engine,
    backend: &mut dyn RunningBackend,
    health: &Health,
) {
    let report = |line: String| eprintln!("\r{line}\x1b[K");
    let patch = match load_patch(path) {
        Ok(patch) => patch,
        Err(e) => return report(format!("reload failed, still playing the previous version: {e:#}")),
    };
    let change = match running.diff(&patch) {
        Ok(change) => change,
        Err(e) => return report(format!("reload refused: {e}")),
    };
    if change.summary.is_empty() {
        return;
    }
    let summary = change.summary.to_string();
    if let Err(e) = engine.apply(change.edits.clone()) {
        return report(format!("reload failed, still playing the previous version: {e}"));
    }
    running.commit(patch, change);
    health.set_latency_frames(engine.plan().latency_frames());
    if let Err(e) = backend.set_midi_nodes(&live::midi_nodes(running)) {
        report(format!("MIDI ports not updated: {e}"));
    }
    report(format!("reloaded {}: {summary}", path.display()));
}

/// Notices when a file has changed and settled (editors write in several steps).
struct FileWatch {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
    pending: Option<(SystemTime, u64)>,
}

impl FileWatch {
    fn new(path: &Path) -> Self {
        let mut watch = Self { path: path.to_path_buf(), seen: None, pending: None };
        watch.seen = watch.stamp();
        watch
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let meta = std::fs::metadata(&self.path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    /// True once the file has changed and then stayed the same for one look.
    fn changed(&mut self) -> bool {
        let now = self.stamp();
        if now.is_none() || now == self.seen {
            self.pending = None;
            return false;
        }
        if self.pending == now {
            self.seen = now;
            self.pending = None;
            return true;
        }
        self.pending = now;
        false
    }
}

/// Seconds of CPU time this process has used (user + system).
fn cpu_seconds() -> Option<f64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the buffer it is given and nothing else.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    // SAFETY: zero-initialised and, on success, filled in by getrusage.
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    ok.then(|| seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// Prints what the session did, and writes it as JSON to `report` if given.
fn summarize(r: &HealthReport, backend: &str, wall: Duration, report: Option<&Path>) -> anyhow::Result<()> {
    let seconds = r.frames as f64 / r.sample_rate.max(1) as f64;
    let levels: Vec<String> = r.bus_max.iter().map(|(bus, peak)| format!("{bus} {}", level_db(*peak).trim())).collect();
    println!(
        "played {seconds:.2} s: load {:.1}% average, {:.1}% peak · xruns {} (backend {}, overruns {}) · voices {} at most · {}",
        r.load_run_average * 100.0,
        r.load_run_peak * 100.0,
        r.xruns(),
        r.backend_xruns,
        r.overruns,
        r.peak_voices,
        levels.join(" · ")
    );
    if r.late_midi + r.dropped_midi + r.dropped_events > 0 {
        eprintln!(
            "warning: MIDI events late {}, dropped in queues {}, dropped in the engine {}",
            r.late_midi, r.dropped_midi, r.dropped_events
        );
    }
    let Some(path) = report else { return Ok(()) };
    let db = |x: f32| if x > 0.0 { serde_json::json!(20.0 * x.log10()) } else { serde_json::Value::Null };
    let json = serde_json::json!({
        "backend": backend,
        "sample_rate": r.sample_rate,
        "block_frames": r.block_frames,
        "latency_frames": r.latency_frames,
        "frames": r.frames,
        "seconds": seconds,
        "wall_seconds": wall.as_secs_f64(),
        "callbacks": r.callbacks,
        "load_average": r.load_run_average,
        "load_peak": r.load_run_peak,
        "backend_xruns": r.backend_xruns,
        "overruns": r.overruns,
        "peak_voices": r.peak_voices,
        "late_midi": r.late_midi,
        "dropped_midi": r.dropped_midi,
        "dropped_events": r.dropped_events,
        "dropped_recording_frames": r.dropped_recording_frames,
        "input_underruns": r.input_underruns,
        "cpu_seconds": cpu_seconds(),
        "bus_max_db": r.bus_max.iter().map(|(bus, peak)| (bus.clone(), db(*peak))).collect::<serde_json::Map<_, _>>(),
    });
    std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("cannot write the report {}", path.display()))?;
    Ok(())
}
