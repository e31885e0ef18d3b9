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
    /// `*0.8`, `*100` or `*accent` (a name holding a number).
    pub velocity: Option<(Amount, Range<usize>)>,
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
        count: LoopCount,
        /// The body.
        body: Vec<Stmt>,
        /// The header.
        span: Range<usize>,
    },
}

/// A number as written: a literal, or a name that holds one (a song parameter a runner's
/// controller can set).
#[derive(Clone, Debug, PartialEq)]
pub enum Amount {
    /// `0.8`.
    Number(f64),
    /// `accent`.
    Name(String),
}

/// How many times a `for` loop runs: counted when parsed, or when compiled if its bound is a
/// name (`i < bars`).
#[derive(Clone, Debug, PartialEq)]
pub enum LoopCount {
    /// Known from the header alone.
    Fixed(usize),
    /// The header with a named bound.
    Named {
        /// The loop variable's start.
        from: f64,
        /// `<`, `<=`, `>`, `>=` or `!=`.
        comparison: &'static str,
        /// The bound's name.
        bound: String,
        /// Where the bound is written.
        bound_span: Range<usize>,
        /// Added to the variable after each pass.
        increment: f64,
        /// The header, for errors.
        span: Range<usize>,
    },
}

/// Most passes of one loop.
pub const MAX_LOOP: usize = 10_000;

/// How many passes `for (i = from; i COMPARISON bound; i += increment)` makes; `None` above
/// [`MAX_LOOP`].
pub fn loop_passes(from: f64, comparison: &str, bound: f64, increment: f64) -> Option<usize> {
    let holds = |i: f64| match comparison {
        "<" => i < bound,
        "<=" => i <= bound,
        ">" => i > bound,
        ">=" => i >= bound,
        _ => i != bound,
    };
    let (mut count, mut i) = (0usize, from);
    while holds(i) {
        count += 1;
        if count > MAX_LOOP {
            return None;
        }
        i += increment;
    }
    Some(count)
}
