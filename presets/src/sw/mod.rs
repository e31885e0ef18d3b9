//! The SongWalker `.sw` language (`docs/SW_LANGUAGE.md`): a lexer, a parser and a compiler from
//! source to a [`Song`] (notes in beats with velocity, gate, instrument and tuning; the tempo
//! map; the instruments). Errors come with the file, line, column and a caret. No input makes
//! it panic: sizes, nesting and loop counts are bounded.

pub mod ast;
pub mod compiler;
pub mod diagnostic;
pub mod lexer;
pub mod library_presets;
pub mod parser;
pub mod song;

pub use diagnostic::{SwError, SwErrors};
pub use song::{
    CallTiming, CompileOptions, CompositeMode, EndMode, InstrumentDef, OscillatorDef, PresetCheck, Song, SongNote,
    SongParameter, TempoChange,
};

/// Compiles `source` (named `file` in errors).
pub fn compile(source: &str, file: &str, options: &CompileOptions<'_>) -> Result<Song, SwErrors> {
    let fail = |errors: Vec<SwError>| SwErrors::new(file, source, errors);
    let tokens = lexer::lex(source).map_err(|e| fail(vec![e]))?;
    let program = parser::parse(&tokens).map_err(|e| fail(vec![e]))?;
    compiler::compile(&program, options).map_err(fail)
}
