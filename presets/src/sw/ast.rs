//! The syntax tree of a `.sw` source (`docs/SW_LANGUAGE.md`). Every node keeps its span for
//! diagnostics and for the events it becomes.

use std::ops::Range;

/// A length in beats as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Duration {
    /// `2`, `0.5`: that many beats.
    Beats(f64),
    /// `/4`: one over that many beats.
    Inverse(f64),
    /// `3/8`: a fraction of a beat.
    Fraction(f64, f64),
    /// `.`, `..`: that many times the track's default length.
    Dots(usize),
}

/// A value expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number.
    Number(f64),
    /// A fraction `a/b` (a length, or a number).
    Fraction(f64, f64),
    /// A string.
    Text(String),
    /// A name.
    Name(String),
    /// `a.b`.
    Property(String, String),
    /// `[a, b]`.
    Array(Vec<(Expr, Range<usize>)>),
    /// `{key: value, …}`.
    Object(Vec<(String, Expr, Range<usize>)>),
    /// `f(args)`.
    Call(String, Vec<(Expr, Range<usize>)>),
}

/// `*velocity @gate` after a note, chord or track call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Modifiers {
    /// `*0.8` or `*100`.
    pub velocity: Option<(f64, Range<usize>)>,
    /// `@/8`, `@2`, `@1/8`.
    pub gate: Option<Duration>,
}

/// One note of a chord.
#[derive(Clone, Debug, PartialEq)]
pub struct ChordNote {
    /// Its name (`C3`).
    pub pitch: String,
    /// Its own modifiers.
    pub modifiers: Modifiers,
    /// Where it is.
    pub span: Range<usize>,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `track name(params) { body }`.
    TrackDef {
        /// Its name.
        name: String,
        /// Its parameter names.
        params: Vec<String>,
        /// Its statements.
        body: Vec<Stmt>,
        /// The name's span.
        span: Range<usize>,
    },
    /// `C4*vel@gate step`.
    Note {
        /// The note name.
        pitch: String,
        /// Velocity and gate.
        modifiers: Modifiers,
        /// The step to the next event.
        step: Option<Duration>,
        /// Where it is.
        span: Range<usize>,
    },
    /// `[C3@2, E3, G3]*vel@gate step`.
    Chord {
        /// Its notes.
        notes: Vec<ChordNote>,
        /// Modifiers for every note.
        modifiers: Modifiers,
        /// The step.
        step: Option<Duration>,
        /// Where it is.
        span: Range<usize>,
    },
    /// A rest: a bare length, or `.`/`..` optionally followed by its length.
    Rest(Duration, Range<usize>),
    /// `name*vel@len(args) step`: plays track `name` from here, beside what follows.
    Call {
        /// The track.
        name: String,
        /// Velocity scale and how long it plays.
        modifiers: Modifiers,
        /// Arguments.
        args: Vec<(Expr, Range<usize>)>,
        /// How far the caller moves on.
        step: Option<Duration>,
        /// Where it is.
        span: Range<usize>,
    },
    /// `const name = value`.
    Const {
        /// The name.
        name: String,
        /// The value.
        value: Expr,
        /// The value's span.
        span: Range<usize>,
    },
    /// `target = value` (`track.instrument = p`).
    Assign {
        /// `track.instrument`, `song.endMode`, or a name.
        target: String,
        /// The value.
        value: Expr,
        /// The target's span.
        target_span: Range<usize>,
        /// The value's span.
        span: Range<usize>,
    },
    /// `for (let i = a; i < b; i++) { body }`.
    For {
        /// How many times the body runs.
        count: usize,
        /// The body.
        body: Vec<Stmt>,
    },
}
