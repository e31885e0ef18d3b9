//! `.sw` compile time (figures in docs/PERFORMANCE.md): the largest shared song (skipped when
//! the shared data is absent) and a generated 10 000-line song (goal: ≤ 10 ms).
//!
//! Run: `cargo bench -p noderack-tests --bench sw_compile`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use noderack_presets::sw::{self, CompileOptions};

/// A song of `lines` lines: three tracks called side by side, with notes, chords, rests,
/// modifiers and loops, as real songs mix them.
pub fn generated_song(lines: usize) -> String {
    let mut body = String::new();
    let patterns = [
        "C4 /4  E4*0.8 /4  G4@/8 /4  C5 /4",
        "[C3, E3, G3]@1 /2  [F3@2, A3, C4] /2",
        "F#4*90@1/8 /8  . /8  Bb3 3/8",
        "for (let i = 0; i < 2; i++) { D4 /8  A4 /8 }",
        "2",
    ];
    for i in 0..lines {
        body.push_str("    ");
        body.push_str(patterns[i % patterns.len()]);
        body.push('\n');
    }
    format!(
        "const lead = Oscillator({{type: 'sawtooth', attack: 0.01}})\ntrack.beatsPerMinute = 128\n\
         main(lead)\nmain(lead) 1/2\n\ntrack main(inst) {{\n    track.instrument = inst\n    track.noteLength = 1/4\n{body}}}\n"
    )
}

fn compile_time(c: &mut Criterion) {
    let options = CompileOptions::default();
    if let Some(dir) = noderack_tests::testdata_dir() {
        let mut songs: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(dir.join("songwalker-songs"))
            .expect("the shared songs")
            .map(|e| e.expect("an entry").path())
            .map(|p| (std::fs::metadata(&p).map_or(0, |m| m.len()), p))
            .collect();
        songs.sort();
        let (_, largest) = songs.last().expect("a song").clone();
        let source = std::fs::read_to_string(&largest).expect("the song reads");
        let name = format!("shared song {}", largest.file_name().unwrap().to_string_lossy());
        c.bench_function(&name, |b| b.iter(|| sw::compile(black_box(&source), "song.sw", &options).expect("compiles")));
    }
    let source = generated_song(10_000);
    let notes = sw::compile(&source, "generated.sw", &options).expect("compiles").notes.len();
    eprintln!("generated song: 10 000 lines, {} bytes, {notes} notes", source.len());
    c.bench_function("generated 10 000-line song", |b| {
        b.iter(|| sw::compile(black_box(&source), "generated.sw", &options).expect("compiles"))
    });
}

criterion_group!(benches, compile_time);
criterion_main!(benches);
