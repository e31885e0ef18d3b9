//! The cost of each effect node, one stereo instance per 64-frame block at 48 kHz (figures in
//! docs/PERFORMANCE.md, "Effects"). A processor only runs inside the engine, so this times
//! `Executor::process` on host input → effect → host output, next to the same graph without
//! the effect (the engine's own share, to subtract). The input is a steady noise-like signal;
//! every effect is set so that all of its work is done (the EQ's seven bands all active, the
//! delay feeding back through its tone filter, the reverb at its defaults).
//!
//! After those, FluidSynth's own reverb is measured on the same machine in the same run (see
//! `fluidsynth_reverb`), for the side-by-side comparison the reverb's goal names.
//!
//! Run: `cargo bench -p noderack-tests --bench effects`

use criterion::{criterion_group, criterion_main, Criterion};
use noderack_graph::{new_engine, BusSpec, EngineConfig, Executor, HostBlock, NodeDescription, ParamId};
use noderack_nodes::chorus::Chorus;
use noderack_nodes::compressor::{self, Compressor};
use noderack_nodes::delay::{self, Delay};
use noderack_nodes::eq::{self, Eq};
use noderack_nodes::limiter::{self, Limiter};
use noderack_nodes::lossy::Lossy;
use noderack_nodes::reverb::Reverb;
use noderack_nodes::{AudioIn, Output};
use noderack_tests::rig::{add, add_with, connect};

const BLOCK: usize = 64;

/// Host input → `effect` (with `params`) → host output; `None`: input straight to output.
fn executor(effect: Option<(impl NodeDescription, Vec<(ParamId, f32)>)>) -> Executor {
    let config = EngineConfig { inputs: vec![BusSpec::stereo("in")], ..EngineConfig::stereo(48_000.0) };
    let (mut engine, executor) = new_engine(config);
    let mut edits = vec![add(1, "in", AudioIn::new("in", 2)), add(3, "out", Output::new("main", 2))];
    match effect {
        Some((description, params)) => {
            edits.extend([add_with(2, "effect", description, params), connect(1, 0, 2, 0), connect(2, 0, 3, 0)])
        }
        None => edits.push(connect(1, 0, 3, 0)),
    }
    engine.apply(edits).expect("graph");
    // The executor keeps running the plan it was given; the control half is not needed here.
    std::mem::forget(engine);
    executor
}

fn run(c: &mut Criterion, name: &str, mut executor: Executor) {
    let input: Vec<f32> = (0..BLOCK).map(|i| ((i * 7919) % 101) as f32 / 101.0 - 0.5).collect();
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    c.bench_function(&format!("{name}, one 64-frame stereo block"), |b| {
        b.iter(|| {
            let ins: [&[f32]; 2] = [&input, &input];
            let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
            executor.process(HostBlock::new(BLOCK, &mut outs).with_inputs(&ins));
        })
    });
}

fn effects(c: &mut Criterion) {
    run(c, "engine only (input to output)", executor(None::<(Eq, Vec<(ParamId, f32)>)>));
    let bands = vec![
        (eq::LOW_CUT_HZ, 30.0),
        (eq::LOW_SHELF_DB, 3.0),
        (eq::PEAK1_DB, -4.0),
        (eq::PEAK2_DB, 2.0),
        (eq::PEAK3_DB, 5.0),
        (eq::HIGH_SHELF_DB, -3.0),
        (eq::HIGH_CUT_HZ, 16_000.0),
    ];
    run(c, "eq, seven bands", executor(Some((Eq::new(), bands))));
    let echoes = vec![(delay::TIME_MS, 300.0), (delay::FEEDBACK, 0.5), (delay::PING_PONG, 1.0)];
    run(c, "delay, 300 ms ping-pong with feedback", executor(Some((Delay::new(), echoes))));
    run(
        c,
        "compressor, a loud input (always reducing)",
        executor(Some((Compressor::new(), vec![(compressor::THRESHOLD_DB, -40.0)]))),
    );
    run(
        c,
        "limiter, a loud input (always limiting)",
        executor(Some((Limiter::new(), vec![(limiter::INPUT_GAIN_DB, 12.0)]))),
    );
    run(c, "chorus, defaults", executor(Some((Chorus::new(), vec![]))));
    run(c, "lossy, defaults (loss 0.5)", executor(Some((Lossy::new(), vec![]))));
    run(c, "reverb, defaults", executor(Some((Reverb::new(), vec![]))));
    fluidsynth_reverb();
}

/// FluidSynth's own reverb, measured the only way its CLI allows: the same file rendered with
/// its reverb off and on (chorus off both times), 7 times each in turns, median wall times;
/// the difference per 64-frame block of audio (FluidSynth also runs its effects per 64 frames).
/// That is one stereo reverb over the whole mix, like one `reverb` node on a bus.
fn fluidsynth_reverb() {
    let font = std::path::Path::new("/usr/share/sounds/sf2/TimGM6mb.sf2");
    let song = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets/demo.mid");
    let out = std::env::temp_dir().join("noderack-fluidsynth-reverb.wav");
    let render = |reverb: bool| -> Option<f64> {
        let start = std::time::Instant::now();
        let status = std::process::Command::new("fluidsynth")
            .args(["-ni", "-q", "-C", "0", "-r", "48000", "-R", if reverb { "1" } else { "0" }, "-F"])
            .arg(&out)
            .arg(font)
            .arg(&song)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| start.elapsed().as_secs_f64())
    };
    if !font.is_file() || render(false).is_none() {
        println!("fluidsynth or {} is missing: FluidSynth's reverb not measured", font.display());
        return;
    }
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        off.extend(render(false));
        on.extend(render(true));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let frames = hound::WavReader::open(&out).map(|r| r.duration() as f64).unwrap_or(f64::NAN);
    let (off, on) = (median(off), median(on));
    let per_block_ns = (on - off) / (frames / BLOCK as f64) * 1e9;
    println!(
        "fluidsynth reverb (TimGM6mb, demo.mid, {:.1} s of audio): off {off:.3} s, on {on:.3} s: {per_block_ns:.0} ns per 64-frame block",
        frames / 48_000.0
    );
}

criterion_group!(benches, effects);
criterion_main!(benches);
