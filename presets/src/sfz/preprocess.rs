//! The SFZ preprocessor: follows `#include`s and expands `$` variables, giving one flat list
//! of headers and opcodes, each with the file and line it came from.
//!
//! - `#include "path"` is resolved against the folder of the top file (not of the including
//!   file), as sfizz and ARIA do; backslashes count as `/`; `$` variables are expanded in it.
//!   A missing include is an error. An include of a file that is still being read (a cycle) is
//!   skipped with a warning, so the rest of the instrument loads.
//! - `#define $NAME value` applies from that point on, across files. A `$` in an opcode name,
//!   value or include path reads name characters until they spell a defined variable (the
//!   shortest match, as ARIA does: with `$Key` and `$KeyEdge` defined, `$KeyEdge` reads as
//!   `$Key` then `Edge`). Values are expanded again while they still hold variables, up to
//!   [`MAX_EXPANSION_ROUNDS`]. An undefined variable is left as written, with a warning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::lexer::{lex, Token};
use super::paths::{normalize_separators, resolve_case_insensitive};
use super::{SfzError, SfzWarning};

/// Deepest chain of nested `#include`s (a guard against runaway input).
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// Times a value is re-expanded while it still contains `$` variables (guards `$a` → `$a`).
pub const MAX_EXPANSION_ROUNDS: usize = 16;

/// Where a statement came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Index into [`Preprocessed::files`].
    pub file: usize,
    /// 1-based line.
    pub line: u32,
}

/// A header or an opcode after includes and variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// `<name>`, name as written.
    Header(String),
    /// `name=value`, expanded.
    Opcode {
        /// Opcode name as written (after expansion).
        name: String,
        /// Value, expanded and trimmed.
        value: String,
    },
}

/// The whole instrument as one statement list.
#[derive(Debug, Default)]
pub struct Preprocessed {
    /// Every file read, top file first.
    pub files: Vec<PathBuf>,
    /// Statements in reading order.
    pub statements: Vec<(Origin, Statement)>,
    /// Problems that did not stop reading.
    pub warnings: Vec<SfzWarning>,
}

struct State<'a> {
    root_dir: &'a Path,
    out: Preprocessed,
    defines: HashMap<String, String>,
    /// Files being read (the include chain), canonical paths.
    stack: Vec<PathBuf>,
}

/// Reads `path` and everything it includes.
pub fn preprocess(path: &Path) -> Result<Preprocessed, SfzError> {
    let root_dir = path.parent().unwrap_or(Path::new(""));
    let mut state = State { root_dir, out: Preprocessed::default(), defines: HashMap::new(), stack: Vec::new() };
    let text = std::fs::read(path).map_err(|source| SfzError::Io { file: path.to_path_buf(), source })?;
    state.read_file(path.to_path_buf(), &text)?;
    Ok(state.out)
}

impl State<'_> {
    fn read_file(&mut self, path: PathBuf, bytes: &[u8]) -> Result<(), SfzError> {
        let file = self.out.files.len();
        self.out.files.push(path.clone());
        self.stack.push(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()));
        let text = String::from_utf8_lossy(bytes);
        let tokens =
            lex(&text).map_err(|e| SfzError::Syntax { file: path.clone(), line: e.line, message: e.message })?;
        for lexed in tokens {
            let origin = Origin { file, line: lexed.line };
            match lexed.token {
                Token::Header(name) => self.out.statements.push((origin, Statement::Header(name))),
                Token::Opcode { name, value } => {
                    let name = self.expand(&name, &origin);
                    let value = self.expand(&value, &origin);
                    self.out.statements.push((origin, Statement::Opcode { name, value }));
                }
                Token::Define { name, value } => {
                    self.defines.insert(name, value);
                }
                Token::Include(raw) => {
                    let written = normalize_separators(&self.expand(&raw, &origin));
                    self.include(&written, &origin, &path)?;
                }
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn include(&mut self, written: &str, origin: &Origin, from: &Path) -> Result<(), SfzError> {
        let joined = self.root_dir.join(written);
        let target = resolve_case_insensitive(&joined).unwrap_or(joined);
        let canonical = std::fs::canonicalize(&target).unwrap_or_else(|_| target.clone());
        if self.stack.contains(&canonical) {
            self.out.warnings.push(SfzWarning {
                file: from.to_path_buf(),
                line: origin.line,
                message: format!("#include \"{written}\" is already being read (an include cycle); skipped"),
            });
            return Ok(());
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(SfzError::Syntax {
                file: from.to_path_buf(),
                line: origin.line,
                message: format!("#include \"{written}\" nests deeper than {MAX_INCLUDE_DEPTH} files"),
            });
        }
        let bytes = std::fs::read(&target).map_err(|source| SfzError::Include {
            file: from.to_path_buf(),
            line: origin.line,
            included: target.clone(),
            source,
        })?;
        self.read_file(target, &bytes)
    }

    /// Expands `$` variables in `text` (see the module notes).
    fn expand(&mut self, text: &str, origin: &Origin) -> String {
        if !text.contains('$') {
            return text.to_string();
        }
        let mut current = text.to_string();
        for _ in 0..MAX_EXPANSION_ROUNDS {
            let mut out = String::with_capacity(current.len());
            let mut expanded = false;
            let mut rest = current.as_str();
            while let Some(at) = rest.find('$') {
                out.push_str(&rest[..at]);
                let after = &rest[at + 1..];
                let name_len = after.bytes().take_while(|&c| super::lexer::is_name_char(c)).count();
                let found = (1..=name_len).find_map(|n| self.defines.get(&after[..n]).map(|v| (n, v)));
                match found {
                    Some((n, value)) => {
                        out.push_str(value);
                        rest = &after[n..];
                        expanded = true;
                    }
                    None => {
                        let name = &after[..name_len];
                        self.out.warnings.push(SfzWarning {
                            file: self.out.files[origin.file].clone(),
                            line: origin.line,
                            message: format!("variable `${name}` is not defined; left as written"),
                        });
                        out.push('$');
                        out.push_str(name);
                        rest = &after[name_len..];
                    }
                }
            }
            out.push_str(rest);
            current = out;
            if !expanded || !current.contains('$') {
                break;
            }
        }
        current
    }
}
