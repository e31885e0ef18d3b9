//! `sw-fuzz`: fuzzes the `.sw` compiler for as long as asked (see `noderack_tests::sw_fuzz`).
//! Findings are printed and saved to `--out` (one file each); exit status 1 if any.
//!
//! `cargo run --release -p noderack-tests --bin sw-fuzz -- --seconds 600 --seed 7`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use noderack_tests::sw_fuzz::{run, seeds, Rng, SLOW};

/// Fuzz the .sw compiler.
#[derive(Parser)]
struct Args {
    /// How long to run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The random seed (runs are reproducible from it).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folders of `.sw` files to start from (default: the shared songs and the golden sources).
    #[arg(long)]
    corpus: Vec<PathBuf>,
    /// Where findings are saved.
    #[arg(long, default_value = "target/sw-fuzz")]
    out: PathBuf,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut dirs = args.corpus.clone();
    if dirs.is_empty() {
        dirs.extend(noderack_tests::testdata_dir().map(|d| d.join("songwalker-songs")));
        dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/sw"));
    }
    let mut rng = Rng::new(args.seed);
    let corpus = seeds(&dirs.iter().map(PathBuf::as_path).collect::<Vec<_>>(), &mut rng);
    let started = Instant::now();
    let report = run(corpus, &mut rng, u64::MAX, Some(started + Duration::from_secs(args.seconds)), Some(SLOW));
    println!(
        "{} inputs in {:.0} s ({:.0}/s), {} distinct outcomes, {} kept, {} findings",
        report.inputs,
        started.elapsed().as_secs_f64(),
        report.inputs as f64 / started.elapsed().as_secs_f64(),
        report.outcomes,
        report.kept,
        report.findings.len()
    );
    if report.findings.is_empty() {
        return std::process::ExitCode::SUCCESS;
    }
    let _ = std::fs::create_dir_all(&args.out);
    for (n, finding) in report.findings.iter().enumerate() {
        let path = args.out.join(format!("finding-{}-{n}.sw", args.seed));
        let _ = std::fs::write(&path, &finding.source);
        println!("{}: {}", path.display(), finding.problem);
    }
    std::process::ExitCode::FAILURE
}
