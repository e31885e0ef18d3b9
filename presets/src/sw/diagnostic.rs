//! Errors in `.sw` sources: where (a byte span), what, and a hint where one helps; shown with the
//! file name, line, column and a caret under the spot (codespan-reporting).

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};

/// One error at one place of the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwError {
    /// The bytes at fault.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, if there is something to say.
    pub hint: Option<String>,
}

impl SwError {
    /// An error at `span`.
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Self { span, message: message.into(), hint: None }
    }

    /// The same error with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The errors of one source, with the source to show them in.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct SwErrors {
    /// The file name shown.
    pub file: String,
    /// The source text.
    pub source_text: String,
    /// The errors, in source order.
    pub errors: Vec<SwError>,
}

impl SwErrors {
    /// `errors` in `source_text` of `file`.
    pub fn new(file: &str, source_text: &str, mut errors: Vec<SwError>) -> Self {
        errors.sort_by_key(|e| e.span.start);
        Self { file: file.to_string(), source_text: source_text.to_string(), errors }
    }

    /// `file:line:column` of an error.
    pub fn location(&self, error: &SwError) -> String {
        let (line, column) = line_column(&self.source_text, error.span.start);
        format!("{}:{line}:{column}", self.file)
    }

    /// Every error as text: `error: …`, the file, line and column, the line with a caret
    /// under the spot, and the hint.
    pub fn render(&self) -> String {
        let file = SimpleFile::new(self.file.as_str(), self.source_text.as_str());
        let mut out = term::termcolor::NoColor::new(Vec::new());
        let config = Config::default();
        for error in &self.errors {
            let end = error.span.end.clamp(error.span.start, self.source_text.len());
            let start = error.span.start.min(end);
            let mut diagnostic =
                Diagnostic::error().with_message(&error.message).with_labels(vec![Label::primary((), start..end)]);
            if let Some(hint) = &error.hint {
                diagnostic = diagnostic.with_notes(vec![format!("hint: {hint}")]);
            }
            if term::emit(&mut out, &config, &file, &diagnostic).is_err() {
                return format!("{}: {}", self.location(error), error.message);
            }
        }
        String::from_utf8_lossy(&out.into_inner()).trim_end().to_string()
    }
}

/// 1-based line and column (in characters) of byte `offset`.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
