//! From statements to a song: notes on a beat timeline with their velocity, gate, instrument
//! and tuning, the tempo map, the instruments the song defines, its length and end mode.
//! Track calls run beside their caller; `for` loops repeat; every size is bounded.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use super::ast::{loop_passes, Amount, Duration, Expr, LoopCount, Modifiers, Stmt, MAX_LOOP};
use super::diagnostic::SwError;
use super::song::{
    CallTiming, CompileOptions, CompositeMode, EndMode, InstrumentDef, OscillatorDef, Song, SongNote, SongParameter,
};

/// Most notes a song may produce.
pub const MAX_NOTES: usize = 1_000_000;
/// Most statements (and loop passes) compiling one song may execute: bounds the work of loops
/// inside loops, which the per-loop limit alone does not.
pub const MAX_STEPS: usize = 5_000_000;
/// Deepest chain of track calls.
const MAX_CALL_DEPTH: usize = 64;
/// The velocity of a note that gives none (of 127).
const DEFAULT_VELOCITY: f64 = 100.0;
/// Oscillator fields.
const OSCILLATOR_FIELDS: [&str; 7] = ["type", "attack", "decay", "sustain", "release", "detune", "mixer"];

/// A value a name can hold.
#[derive(Clone, Debug)]
enum Value {
    Number(f64),
    Text(String),
    Instrument(usize),
    List(Vec<(Value, Range<usize>)>),
    Object(Vec<(String, Value, Range<usize>)>),
}

impl Value {
    fn describe(&self) -> &'static str {
        match self {
            Value::Number(_) => "a number",
            Value::Text(_) => "a text",
            Value::Instrument(_) => "an instrument",
            Value::List(_) => "a list",
            Value::Object(_) => "an object",
        }
    }
}

/// Where a block of statements plays.
#[derive(Clone)]
struct Scope {
    cursor: f64,
    default_beats: f64,
    instrument: usize,
    tuning_hz: f64,
    velocity_scale: f64,
    /// Nothing starts at or after this beat (a call's `@length`).
    end: f64,
    names: HashMap<String, Value>,
    depth: usize,
}

/// A track definition: its parameters, its body and its name's span.
type TrackDef<'a> = (&'a [String], &'a [Stmt], Range<usize>);

struct Compiler<'a> {
    options: &'a CompileOptions<'a>,
    tracks: HashMap<String, TrackDef<'a>>,
    song: Song,
    /// Preset names already defined, by name.
    presets: HashMap<String, usize>,
    /// Loop passes and statements run so far (see [`MAX_STEPS`]).
    steps: usize,
    /// Tempo changes by the bits of their time in beats.
    tempo: BTreeMap<u64, f64>,
    errors: Vec<SwError>,
}

/// Compiles `program` with `options`.
pub fn compile(program: &[Stmt], options: &CompileOptions<'_>) -> Result<Song, Vec<SwError>> {
    let mut compiler = Compiler {
        options,
        tracks: HashMap::new(),
        song: Song::empty(),
        presets: HashMap::new(),
        steps: 0,
        tempo: BTreeMap::new(),
        errors: Vec::new(),
    };
    for stmt in program {
        if let Stmt::TrackDef { name, params, body, span } = stmt {
            if compiler.tracks.contains_key(name) {
                compiler.errors.push(SwError::new(span.clone(), format!("track `{name}` is defined twice")));
            }
            compiler.tracks.insert(name.clone(), (params.as_slice(), body.as_slice(), span.clone()));
        }
    }
    let mut scope = Scope {
        cursor: 0.0,
        default_beats: 1.0,
        instrument: 0,
        tuning_hz: 440.0,
        velocity_scale: 1.0,
        end: f64::INFINITY,
        names: HashMap::new(),
        depth: 0,
    };
    if let Err(e) = compiler.block(program, &mut scope) {
        compiler.errors.push(e);
    }
    if !compiler.errors.is_empty() {
        return Err(compiler.errors);
    }
    let mut song = std::mem::replace(&mut compiler.song, Song::empty());
    song.notes.sort_by(|a, b| a.time_beats.total_cmp(&b.time_beats));
    song.set_tempo(compiler.tempo.into_iter().map(|(time, bpm)| (f64::from_bits(time), bpm)));
    Ok(song)
}

/// The MIDI key of a note name (C4 = 60), if in range.
pub fn key_of(pitch: &str) -> Option<u8> {
    let bytes = pitch.as_bytes();
    let semitone: i32 = match bytes.first()? {
        b'C' => 0,
        b'D' => 2,
        b'E' => 4,
        b'F' => 5,
        b'G' => 7,
        b'A' => 9,
        b'B' => 11,
        _ => return None,
    };
    let (shift, octave) = match bytes.get(1)? {
        b'#' => (1, &pitch[2..]),
        b'b' => (-1, &pitch[2..]),
        _ => (0, &pitch[1..]),
    };
    let octave: i32 = octave.parse().ok()?;
    u8::try_from((octave + 1) * 12 + semitone + shift).ok().filter(|k| *k <= 127)
}

impl<'a> Compiler<'a> {
    fn beats(&self, duration: &Duration, scope: &Scope) -> f64 {
        match *duration {
            Duration::Beats(n) => n,
            Duration::Inverse(n) => 1.0 / n,
            Duration::Fraction(a, b) => a / b,
            Duration::Dots(n) => scope.default_beats * n as f64,
        }
    }

    /// A velocity as written (`*0.8`: a fraction of full scale; `*100`: out of 127) as 0–1.
    fn velocity(value: f64, span: &Range<usize>) -> Result<f64, SwError> {
        if !(0.0..=127.0).contains(&value) {
            return Err(SwError::new(span.clone(), format!("velocity {value} is outside 0 to 127"))
                .hint("write a fraction of full scale (`*0.8`) or a MIDI velocity (`*100`)"));
        }
        Ok(if value <= 1.0 { value } else { value / 127.0 })
    }

    /// The number `amount` stands for.
    fn amount(&self, amount: &Amount, span: &Range<usize>, scope: &Scope) -> Result<f64, SwError> {
        match amount {
            Amount::Number(n) => Ok(*n),
            Amount::Name(name) => self.number_named(name, span, scope),
        }
    }

    /// The number the name `name` holds.
    fn number_named(&self, name: &str, span: &Range<usize>, scope: &Scope) -> Result<f64, SwError> {
        match scope.names.get(name) {
            Some(Value::Number(n)) => Ok(*n),
            Some(other) => Err(SwError::new(span.clone(), format!("`{name}` is {}, not a number", other.describe()))),
            None => {
                let mut error = SwError::new(span.clone(), format!("nothing is called `{name}` here"));
                if let Some(close) = closest(name, scope.names.keys().map(String::as_str)) {
                    error = error.hint(format!("did you mean `{close}`?"));
                }
                Err(error)
            }
        }
    }

    fn advance(&mut self, scope: &mut Scope, beats: f64) {
        scope.cursor += beats;
        if scope.cursor.is_finite() && scope.cursor > self.song.length_beats {
            self.song.length_beats = scope.cursor.min(scope.end);
        }
    }

    fn note(&mut self, scope: &Scope, key: u8, velocity: f64, gate: f64, span: &Range<usize>) -> Result<(), SwError> {
        if scope.cursor >= scope.end {
            return Ok(());
        }
        if self.song.notes.len() >= MAX_NOTES {
            return Err(SwError::new(span.clone(), format!("the song has more than {MAX_NOTES} notes")));
        }
        let gate = gate.min(scope.end - scope.cursor);
        self.song.notes.push(SongNote {
            time_beats: scope.cursor,
            key,
            velocity: (velocity * scope.velocity_scale).clamp(0.0, 1.0) as f32,
            gate_beats: gate,
            instrument: scope.instrument,
            tuning_hz: scope.tuning_hz as f32,
            span: span.clone(),
        });
        Ok(())
    }

    /// The key of `pitch`, written at the start of `span`.
    fn key(pitch: &str, span: &Range<usize>) -> Result<u8, SwError> {
        key_of(pitch).ok_or_else(|| {
            let at = span.start..span.start + pitch.len();
            SwError::new(at, format!("{pitch} is outside the MIDI range (C-1 to G9)"))
        })
    }

    fn block(&mut self, stmts: &'a [Stmt], scope: &mut Scope) -> Result<(), SwError> {
        for stmt in stmts {
            self.statement(stmt, scope)?;
        }
        Ok(())
    }

    fn statement(&mut self, stmt: &'a Stmt, scope: &mut Scope) -> Result<(), SwError> {
        match stmt {
            Stmt::TrackDef { .. } => Ok(()),
            Stmt::Note { pitch, modifiers, step, span } => {
                let key = Self::key(pitch, span)?;
                let (velocity, gate) = self.modifiers(modifiers, None, scope)?;
                self.note(scope, key, velocity, gate, span)?;
                let step = step.as_ref().map_or(scope.default_beats, |s| self.beats(s, scope));
                self.advance(scope, step);
                Ok(())
            }
            Stmt::Chord { notes, modifiers, step, span } => {
                let (velocity, gate) = self.modifiers(modifiers, None, scope)?;
                for note in notes {
                    let key = Self::key(&note.pitch, &note.span)?;
                    let (v, g) = self.modifiers(&note.modifiers, Some((velocity, gate)), scope)?;
                    self.note(scope, key, v, g, span)?;
                }
                let step = step.as_ref().map_or(scope.default_beats, |s| self.beats(s, scope));
                self.advance(scope, step);
                Ok(())
            }
            Stmt::Rest(duration, _) => {
                let beats = self.beats(duration, scope);
                self.advance(scope, beats);
                Ok(())
            }
            Stmt::For { count, body, span } => {
                let count = match count {
                    LoopCount::Fixed(n) => *n,
                    LoopCount::Named { from, comparison, bound, bound_span, increment, span } => {
                        let bound = self.number_named(bound, bound_span, scope)?;
                        loop_passes(*from, comparison, bound, *increment).ok_or_else(|| {
                            SwError::new(span.clone(), format!("this loop runs more than {MAX_LOOP} times"))
                        })?
                    }
                };
                for _ in 0..count {
                    // Loops inside loops multiply: every pass counts, empty or not.
                    self.steps += body.len().max(1);
                    if self.steps > MAX_STEPS {
                        return Err(SwError::new(
                            span.clone(),
                            format!("the song takes more than {MAX_STEPS} steps to compile"),
                        )
                        .hint("loops inside loops multiply: lower their counts"));
                    }
                    self.block(body, scope)?;
                }
                Ok(())
            }
            Stmt::Const { name, value, span } => {
                let mut value = self.evaluate(value, span, scope)?;
                if let (0, Value::Number(default)) = (scope.depth, &value) {
                    if !self.song.parameters.iter().any(|p| p.name == *name) {
                        self.song.parameters.push(SongParameter { name: name.clone(), default: *default });
                    }
                    if let Some(&(_, set)) = self.options.set.iter().find(|(n, _)| n == name) {
                        value = Value::Number(set);
                    }
                }
                scope.names.insert(name.clone(), value);
                Ok(())
            }
            Stmt::Assign { target, value, target_span, span } => self.assign(target, value, target_span, span, scope),
            Stmt::Call { name, modifiers, args, step, span } => self.call(name, modifiers, args, step, span, scope),
        }
    }

    /// Velocity (0–1) and gate (beats) from `modifiers`, else from `outer`, else the defaults.
    fn modifiers(
        &self,
        modifiers: &Modifiers,
        outer: Option<(f64, f64)>,
        scope: &Scope,
    ) -> Result<(f64, f64), SwError> {
        let (outer_velocity, outer_gate) = outer.unwrap_or((DEFAULT_VELOCITY / 127.0, scope.default_beats));
        let velocity = match &modifiers.velocity {
            Some((v, span)) => Self::velocity(self.amount(v, span, scope)?, span)?,
            None => outer_velocity,
        };
        let gate = modifiers.gate.as_ref().map_or(outer_gate, |g| self.beats(g, scope));
        Ok((velocity, gate))
    }

    fn call(
        &mut self,
        name: &str,
        modifiers: &Modifiers,
        args: &[(Expr, Range<usize>)],
        step: &Option<Duration>,
        span: &Range<usize>,
        scope: &mut Scope,
    ) -> Result<(), SwError> {
        let Some(&(params, body, _)) = self.tracks.get(name) else {
            let known: Vec<&str> = self.tracks.keys().map(String::as_str).collect();
            let mut error = SwError::new(span.clone(), format!("no track is called `{name}`"));
            if let Some(close) = closest(name, known.iter().copied()) {
                error = error.hint(format!("did you mean `{close}`?"));
            }
            return Err(error);
        };
        if args.len() > params.len() {
            return Err(SwError::new(
                args[params.len()].1.clone(),
                format!("track `{name}` takes {} argument(s), this call gives {}", params.len(), args.len()),
            ));
        }
        if scope.depth >= MAX_CALL_DEPTH {
            return Err(SwError::new(span.clone(), format!("track calls nest deeper than {MAX_CALL_DEPTH}"))
                .hint(format!("does `{name}` call itself?")));
        }
        let mut child = scope.clone();
        child.depth += 1;
        for (param, (arg, arg_span)) in params.iter().zip(args) {
            let value = self.evaluate(arg, arg_span, scope)?;
            child.names.insert(param.clone(), value);
        }
        if let Some((v, v_span)) = &modifiers.velocity {
            child.velocity_scale *= Self::velocity(self.amount(v, v_span, scope)?, v_span)?;
        }
        let start = scope.cursor;
        if let Some(length) = &modifiers.gate {
            child.end = child.end.min(start + self.beats(length, scope));
        }
        self.block(body, &mut child)?;
        match (step, self.options.calls) {
            (Some(step), _) => {
                let beats = self.beats(step, scope);
                scope.cursor = start;
                self.advance(scope, beats);
            }
            (None, CallTiming::Parallel) => {}
            (None, CallTiming::Sequential) => {
                let end = match &modifiers.gate {
                    Some(length) => start + self.beats(length, scope),
                    None => child.cursor,
                };
                scope.cursor = start;
                self.advance(scope, end - start);
            }
        }
        Ok(())
    }

    fn assign(
        &mut self,
        target: &str,
        value: &Expr,
        target_span: &Range<usize>,
        span: &Range<usize>,
        scope: &mut Scope,
    ) -> Result<(), SwError> {
        let value = self.evaluate(value, span, scope)?;
        let number = |what: &str, range: Range<f64>| match value {
            Value::Number(n) if range.contains(&n) => Ok(n),
            Value::Number(n) => {
                Err(SwError::new(span.clone(), format!("{what} {n} is outside {} to {}", range.start, range.end)))
            }
            ref other => Err(SwError::new(span.clone(), format!("{what} must be a number, not {}", other.describe()))),
        };
        match target {
            "track.instrument" => match value {
                Value::Instrument(i) => scope.instrument = i,
                other => {
                    return Err(SwError::new(
                        span.clone(),
                        format!("an instrument was expected, not {}", other.describe()),
                    )
                    .hint("use a `loadPreset(…)`, `Oscillator({…})` or `Composite({…})`, or a name bound to one"))
                }
            },
            "track.noteLength" | "track.duration" => scope.default_beats = number("a note length", 1e-6..1e6)?,
            "track.beatsPerMinute" => {
                let bpm = number("the tempo", 1.0..10_000.0)?;
                // Keyed by the time's bits (times are finite and not negative, so the bits sort as
                // the times do); a later change at the same beat replaces the earlier.
                self.tempo.insert(scope.cursor.to_bits(), bpm);
            }
            "track.tuningPitch" | "track.a4Frequency" => scope.tuning_hz = number("the tuning pitch", 1.0..100_000.0)?,
            "song.endMode" => {
                self.song.end_mode = match &value {
                    Value::Text(t) if t == "gate" => EndMode::Gate,
                    Value::Text(t) if t == "release" => EndMode::Release,
                    Value::Text(t) if t == "tail" => EndMode::Tail,
                    _ => {
                        return Err(SwError::new(span.clone(), "song.endMode is 'gate', 'release' or 'tail'"));
                    }
                }
            }
            other if other.starts_with("track.") || other.starts_with("song.") => {
                return Err(SwError::new(target_span.clone(), format!("unknown property `{other}`")).hint(
                    "known: track.instrument, track.noteLength (track.duration), track.beatsPerMinute, track.tuningPitch, song.endMode",
                ));
            }
            name => {
                scope.names.insert(name.to_string(), value);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, expr: &Expr, span: &Range<usize>, scope: &Scope) -> Result<Value, SwError> {
        Ok(match expr {
            Expr::Number(n) => Value::Number(*n),
            Expr::Fraction(a, b) if *b != 0.0 => Value::Number(a / b),
            Expr::Fraction(..) => return Err(SwError::new(span.clone(), "division by zero")),
            Expr::Text(t) => Value::Text(t.clone()),
            Expr::Name(name) => match scope.names.get(name) {
                Some(value) => value.clone(),
                None => {
                    let mut error = SwError::new(span.clone(), format!("nothing is called `{name}` here"));
                    if let Some(close) = closest(name, scope.names.keys().map(String::as_str)) {
                        error = error.hint(format!("did you mean `{close}`?"));
                    }
                    return Err(error);
                }
            },
            Expr::Property(object, property) => {
                return Err(SwError::new(
                    span.clone(),
                    format!("`{object}.{property}` cannot be read in an expression"),
                ))
            }
            Expr::Array(items) => {
                Value::List(items.iter().map(|(e, s)| Ok((self.evaluate(e, s, scope)?, s.clone()))).collect::<Result<
                    _,
                    SwError,
                >>(
                )?)
            }
            Expr::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, e, s)| Ok((k.clone(), self.evaluate(e, s, scope)?, s.clone())))
                    .collect::<Result<_, SwError>>()?,
            ),
            Expr::Call(function, args) => self.instrument(function, args, span, scope)?,
        })
    }

    fn instrument(
        &mut self,
        function: &str,
        args: &[(Expr, Range<usize>)],
        span: &Range<usize>,
        scope: &Scope,
    ) -> Result<Value, SwError> {
        let values: Vec<(Value, Range<usize>)> =
            args.iter().map(|(e, s)| Ok((self.evaluate(e, s, scope)?, s.clone()))).collect::<Result<_, SwError>>()?;
        let define = |song: &mut Song, def: InstrumentDef| {
            song.instruments.push(def);
            Value::Instrument(song.instruments.len() - 1)
        };
        match function {
            "loadPreset" => {
                let [(Value::Text(name), name_span)] = values.as_slice() else {
                    return Err(SwError::new(span.clone(), "loadPreset takes one text: the preset's \"Library/Name\""));
                };
                if let Some(&i) = self.presets.get(name) {
                    return Ok(Value::Instrument(i));
                }
                if let Some(check) = self.options.presets {
                    if let Err(suggestions) = check.check(name) {
                        let mut error = SwError::new(name_span.clone(), format!("no preset is called \"{name}\""));
                        if !suggestions.is_empty() {
                            error = error.hint(format!("closest: {}", suggestions.join(", ")));
                        }
                        // Reported with the others; the song compiles on to find them all.
                        self.errors.push(error);
                    }
                }
                let value =
                    define(&mut self.song, InstrumentDef::Preset { name: name.clone(), span: name_span.clone() });
                if let Value::Instrument(i) = value {
                    self.presets.insert(name.clone(), i);
                }
                Ok(value)
            }
            "Oscillator" => {
                let fields = match values.as_slice() {
                    [] => Vec::new(),
                    [(Value::Object(fields), _)] => fields.clone(),
                    _ => {
                        return Err(SwError::new(
                            span.clone(),
                            "Oscillator takes one object: `Oscillator({type: 'saw'})`",
                        ))
                    }
                };
                let mut def = OscillatorDef::default();
                for (key, value, field_span) in fields {
                    let number = || match value {
                        Value::Number(n) => Ok(Some(n)),
                        ref other => Err(SwError::new(
                            field_span.clone(),
                            format!("`{key}` is a number, not {}", other.describe()),
                        )),
                    };
                    match key.as_str() {
                        "type" => match &value {
                            Value::Text(t) if matches!(t.as_str(), "sine" | "square" | "sawtooth" | "triangle") => {
                                def.waveform = t.clone()
                            }
                            _ => {
                                return Err(SwError::new(
                                    field_span,
                                    "`type` is 'sine', 'square', 'sawtooth' or 'triangle'",
                                ))
                            }
                        },
                        "attack" => def.attack = number()?,
                        "decay" => def.decay = number()?,
                        "sustain" => def.sustain = number()?,
                        "release" => def.release = number()?,
                        "detune" => def.detune = number()?,
                        "mixer" => def.mixer = number()?,
                        other => {
                            return Err(SwError::new(field_span, format!("Oscillator has no field `{other}`"))
                                .hint(format!("its fields: {}", OSCILLATOR_FIELDS.join(", "))))
                        }
                    }
                }
                Ok(define(&mut self.song, InstrumentDef::Oscillator(def)))
            }
            "Composite" => {
                let [(Value::Object(fields), _)] = values.as_slice() else {
                    return Err(SwError::new(
                        span.clone(),
                        "Composite takes one object: `Composite({mode: 'layer', children: [a, b]})`",
                    ));
                };
                let mut mode = CompositeMode::Layer;
                let mut children = Vec::new();
                for (key, value, field_span) in fields {
                    match (key.as_str(), value) {
                        ("mode", Value::Text(t)) if t == "layer" => mode = CompositeMode::Layer,
                        ("mode", _) => return Err(SwError::new(field_span.clone(), "`mode` is 'layer'")),
                        ("children", Value::List(items)) => {
                            for (item, item_span) in items {
                                match item {
                                    Value::Instrument(i) => children.push(*i),
                                    other => {
                                        return Err(SwError::new(
                                            item_span.clone(),
                                            format!("a child is an instrument, not {}", other.describe()),
                                        ))
                                    }
                                }
                            }
                        }
                        ("children", _) => {
                            return Err(SwError::new(field_span.clone(), "`children` is a list of instruments"))
                        }
                        (other, _) => {
                            return Err(SwError::new(field_span.clone(), format!("Composite has no field `{other}`")))
                        }
                    }
                }
                if children.is_empty() {
                    return Err(SwError::new(span.clone(), "a Composite needs at least one child"));
                }
                Ok(define(&mut self.song, InstrumentDef::Composite { mode, children }))
            }
            other => Err(SwError::new(span.clone(), format!("unknown function `{other}`"))
                .hint("instruments come from loadPreset(\"Lib/Name\"), Oscillator({…}) or Composite({…})")),
        }
    }
}

/// The candidate closest to `name` (by edit distance), if reasonably close.
pub fn closest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .map(|c| (strsim::levenshtein(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 2).max(2))
        .min()
        .map(|(_, c)| c)
}
