//! A fuzzer for the `.sw` compiler that runs on stable Rust: inputs grow from a corpus (the
//! shared songs when present, the golden diagnostics' sources, and programs a small grammar
//! generates) by byte-level and token-level mutations and splices, and an input is kept when
//! it reaches an outcome not seen before (a new error message shape, or a successful compile
//! of a new size), a cheap stand-in for coverage feedback. Each input must compile or fail
//! cleanly: no panic, within a time bound, errors inside the source and on character
//! boundaries, diagnostics that render, and songs whose numbers are sane.
//!
//! Run by `tests/tests/sw_compiler.rs` for a fixed number of inputs on every CI run, and by
//! `cargo run --release -p noderack-tests --bin sw-fuzz -- --seconds 600` for long runs.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use noderack_presets::sw::{self, CompileOptions, Song};

/// Longest one input may take to compile in a long run (far more than any real song takes).
pub const SLOW: Duration = Duration::from_secs(2);

/// Tokens and fragments the mutator inserts: the grammar's keywords, punctuation and the
/// numbers that find edge cases.
const DICTIONARY: &[&str] = &[
    "track ",
    "t()",
    "track t(a, b) {\n",
    "}\n",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    "\n",
    " ",
    "for (let i = 0; i < 4; i++) {",
    "for (let i = 10000; i > -10000; i -= 0.001) {",
    "i < bars",
    "const ",
    "let ",
    "var ",
    "= ",
    "C4",
    "F#4",
    "Bb-1",
    "G9",
    "B#9",
    "Cb0",
    "*",
    "*0.9",
    "*127",
    "*1e308",
    "@",
    "@/8",
    "@1/8",
    "@0",
    "/",
    "/4",
    "/0",
    "3/8",
    ".",
    "..",
    ". /2",
    "2",
    "0",
    "-1",
    "1e308",
    "1e-320",
    "NaN",
    "Infinity",
    "0.000000001",
    "99999999999999999999",
    "track.instrument = ",
    "track.noteLength = ",
    "track.duration = 1/4",
    "track.beatsPerMinute = ",
    "track.beatsPerMinute = 0.0001",
    "track.tuningPitch = ",
    "song.endMode = 'gate'",
    "loadPreset(\"",
    "\")",
    "Oscillator({type: 'sine', attack: ",
    "})",
    "Composite({mode: 'layer', children: [",
    "])",
    "'",
    "\"",
    "//",
    "/*",
    "*/",
    "\\",
    "é",
    "🎵",
    "\u{0}",
    "\r\n",
    "\t",
];

/// The fuzzer's random numbers: a seeded generator, so a run is reproducible from its seed.
pub struct Rng(fastrand::Rng);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n.max(1))
    }

    fn byte(&mut self) -> u8 {
        self.0.u8(..)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A program from a small grammar of `.sw`: notes, chords, rests, constants, loops, tracks and
/// calls, nested up to `depth`.
pub fn generate(rng: &mut Rng, depth: usize) -> String {
    let mut out = String::new();
    let statements = 1 + rng.below(8);
    for _ in 0..statements {
        match rng.below(if depth == 0 { 5 } else { 8 }) {
            0 => out.push_str(&format!("{}{} {}\n", note(rng), modifiers(rng), length(rng))),
            1 => out.push_str(&format!("[{}, {}]{} {}\n", note(rng), note(rng), modifiers(rng), length(rng))),
            2 => out.push_str(&format!("{}\n", length(rng))),
            3 => out.push_str(&format!(
                "const {} = {}\n",
                rng.pick(&["a", "bars", "v"]),
                rng.pick(&["2", "0.5", "Oscillator({type: 'square'})", "'x'"])
            )),
            4 => out.push_str(rng.pick(&[
                "track.noteLength = 1/4\n",
                "track.beatsPerMinute = 97\n",
                "track.tuningPitch = 432\n",
                "track.instrument = v\n",
                "song.endMode = 'release'\n",
            ])),
            5 => out.push_str(&format!(
                "for (let i = 0; i < {}; i++) {{\n{}}}\n",
                rng.pick(&["3", "bars", "0", "1"]),
                generate(rng, depth - 1)
            )),
            6 => out.push_str(&format!("track {}(v) {{\n{}}}\n", rng.pick(&["t", "u"]), generate(rng, depth - 1))),
            _ => out.push_str(&format!("{}{}(v) {}\n", rng.pick(&["t", "u"]), modifiers(rng), length(rng))),
        }
    }
    out
}

fn note(rng: &mut Rng) -> String {
    format!("{}{}{}", rng.pick(&["C", "D", "E", "F", "G", "A", "B"]), rng.pick(&["", "#", "b"]), rng.below(10))
}

fn modifiers(rng: &mut Rng) -> &'static str {
    rng.pick(&["", "*0.8", "*100", "@2", "@/8", "@1/8", "*a", "*0.5@/2"])
}

fn length(rng: &mut Rng) -> &'static str {
    rng.pick(&["", "/4", "2", "3/8", ".", "..", ". /2", "/16"])
}

/// One change to `input`: a byte flipped, inserted or removed, a range removed or repeated, a
/// dictionary token inserted, or a piece of `other` spliced in.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let at = |rng: &mut Rng, len: usize| rng.below(len + 1);
    match rng.below(7) {
        0 if !out.is_empty() => {
            let i = rng.below(out.len());
            out[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = at(rng, out.len());
            out.insert(i, rng.byte());
        }
        2 if !out.is_empty() => {
            let i = rng.below(out.len());
            let n = 1 + rng.below(16.min(out.len() - i));
            out.drain(i..i + n);
        }
        3 if !out.is_empty() => {
            let i = rng.below(out.len());
            let n = 1 + rng.below(64.min(out.len() - i));
            let piece = out[i..i + n].to_vec();
            let j = at(rng, out.len());
            out.splice(j..j, piece);
        }
        4 | 5 => {
            let token = rng.pick(DICTIONARY).as_bytes();
            let i = at(rng, out.len());
            out.splice(i..i, token.iter().copied());
        }
        _ if !other.is_empty() => {
            let i = rng.below(other.len());
            let n = 1 + rng.below(256.min(other.len() - i));
            let j = at(rng, out.len());
            out.splice(j..j, other[i..i + n].iter().copied());
        }
        _ => out.push(b'\n'),
    }
    out.truncate(64 * 1024);
    out
}

/// What checking one input found wrong.
#[derive(Debug)]
pub struct Finding {
    /// The input.
    pub source: String,
    /// What went wrong.
    pub problem: String,
}

/// Compiles `source` and checks everything the compiler promises (taking at most `slow`, when
/// given); `Ok` with a short shape of the outcome (for novelty), or what went wrong.
pub fn check(source: &str, slow: Option<Duration>) -> Result<String, Finding> {
    let fail = |problem: String| Finding { source: source.to_string(), problem };
    let started = Instant::now();
    let compiled = catch_unwind(AssertUnwindSafe(|| {
        let result = sw::compile(source, "fuzz.sw", &CompileOptions::default());
        let rendered = result.as_ref().err().map(|e| e.render());
        (result, rendered)
    }))
    .map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        fail(format!("panicked: {message}"))
    })?;
    if slow.is_some_and(|slow| started.elapsed() > slow) {
        return Err(fail(format!("took {:.1} s", started.elapsed().as_secs_f64())));
    }
    match compiled {
        (Ok(song), _) => sane(&song).map_err(fail).map(|()| format!("ok:{}", song.notes.len().ilog2_or_zero())),
        (Err(errors), rendered) => {
            if errors.errors.is_empty() {
                return Err(fail("an error without a diagnostic".into()));
            }
            for e in &errors.errors {
                let span = &e.span;
                if span.start > span.end || span.end > source.len() {
                    return Err(fail(format!("span {span:?} outside the source ({} bytes)", source.len())));
                }
                if !source.is_char_boundary(span.start) || !source.is_char_boundary(span.end) {
                    return Err(fail(format!("span {span:?} splits a character")));
                }
            }
            if rendered.as_deref().is_none_or(str::is_empty) {
                return Err(fail("a diagnostic that renders empty".into()));
            }
            // The message's first plain words (no names, numbers or quoted text): its shape.
            let message = &errors.errors[0].message;
            let words = message.split_whitespace().filter(|w| w.chars().all(|c| c.is_ascii_lowercase()));
            Ok(words.take(3).collect::<Vec<_>>().join(" "))
        }
    }
}

trait Ilog2OrZero {
    fn ilog2_or_zero(self) -> u32;
}

impl Ilog2OrZero for usize {
    fn ilog2_or_zero(self) -> u32 {
        self.checked_ilog2().unwrap_or(0)
    }
}

/// Whether the song's numbers are what its types promise: times finite, in order and not
/// negative, velocities 0–1, keys at most 127, instruments that exist, tempos above zero.
pub fn sane(song: &Song) -> Result<(), String> {
    if !song.length_beats.is_finite() || song.length_beats < 0.0 {
        return Err(format!("length {}", song.length_beats));
    }
    let mut last = 0.0;
    for n in &song.notes {
        if !(n.time_beats.is_finite() && n.time_beats >= last) {
            return Err(format!("note time {} after {last}", n.time_beats));
        }
        last = n.time_beats;
        if !(n.gate_beats.is_finite() && n.gate_beats >= 0.0) {
            return Err(format!("gate {}", n.gate_beats));
        }
        if !(0.0..=1.0).contains(&n.velocity) || n.key > 127 || n.instrument >= song.instruments.len() {
            return Err(format!("note {n:?}"));
        }
        if !(n.tuning_hz.is_finite() && n.tuning_hz > 0.0) {
            return Err(format!("tuning {}", n.tuning_hz));
        }
    }
    if song.tempo.iter().any(|t| !(t.bpm.is_finite() && t.bpm > 0.0 && t.time_beats.is_finite())) {
        return Err(format!("tempo {:?}", song.tempo));
    }
    if !song.seconds_at(song.length_beats).is_finite() {
        return Err("the song's length in seconds is not finite".into());
    }
    Ok(())
}

/// The seeds: `.sw` files in `dirs` (those that exist), and generated programs.
pub fn seeds(dirs: &[&Path], rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut corpus = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut files: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "sw")).collect();
        files.sort();
        corpus.extend(files.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    corpus.extend((0..16).map(|_| generate(rng, 3).into_bytes()));
    corpus
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Inputs checked.
    pub inputs: u64,
    /// Inputs kept for reaching a new outcome.
    pub kept: usize,
    /// Distinct outcomes reached.
    pub outcomes: usize,
    /// Failures (the first few).
    pub findings: Vec<Finding>,
}

/// Fuzzes from `corpus` until `inputs` inputs have been checked or `until` passes; with
/// `slow`, an input that takes longer is a finding (long runs of a release build; a loaded CI
/// machine running a debug build leaves hangs to the compiler's own step limit).
pub fn run(
    mut corpus: Vec<Vec<u8>>,
    rng: &mut Rng,
    inputs: u64,
    until: Option<Instant>,
    slow: Option<Duration>,
) -> Report {
    let mut report = Report::default();
    let mut seen: HashSet<String> = HashSet::new();
    if corpus.is_empty() {
        corpus.push(b"C4 /4\n".to_vec());
    }
    // Panics are caught and reported; their default message would flood the output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    while report.inputs < inputs && until.is_none_or(|t| Instant::now() < t) {
        let input = if rng.below(10) == 0 {
            generate(rng, 3).into_bytes()
        } else {
            let (a, b) = (rng.below(corpus.len()), rng.below(corpus.len()));
            let mut input = corpus[a].clone();
            for _ in 0..1 + rng.below(4) {
                input = mutate(rng, &input, &corpus[b]);
            }
            input
        };
        let source = String::from_utf8_lossy(&input).into_owned();
        report.inputs += 1;
        match check(&source, slow) {
            Ok(outcome) => {
                if seen.insert(outcome) && corpus.len() < 10_000 {
                    corpus.push(input);
                    report.kept += 1;
                }
            }
            Err(finding) => {
                if report.findings.len() < 10 {
                    report.findings.push(finding);
                }
            }
        }
    }
    std::panic::set_hook(hook);
    report.outcomes = seen.len();
    report
}
