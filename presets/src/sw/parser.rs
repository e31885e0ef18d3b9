//! Recursive-descent parser of `.sw` tokens into statements (`docs/SW_LANGUAGE.md`). A note's
//! modifiers and step are on its line; inside brackets, braces and parentheses lines do not
//! matter. Nesting is limited, so no input can exhaust the stack.

use std::ops::Range;

use super::ast::{loop_passes, Amount, ChordNote, Duration, Expr, LoopCount, Modifiers, Stmt, MAX_LOOP};
use super::diagnostic::SwError;
use super::lexer::{Spanned, Token};

/// Deepest nesting of blocks and expressions.
const MAX_DEPTH: usize = 64;

/// Parses a whole source.
pub fn parse(tokens: &[Spanned]) -> Result<Vec<Stmt>, SwError> {
    let mut parser = Parser { tokens, pos: 0, depth: 0 };
    let body = parser.block(true)?;
    match parser.peek() {
        Token::End => Ok(body),
        other => {
            Err(SwError::new(parser.span(), format!("unexpected {}", other.describe())).hint("a `}` without its `{`?"))
        }
    }
}

/// Whether `name` is a note name: a letter A–G, an optional `#` or `b`, an octave.
pub fn is_note_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some((&letter, rest)) = bytes.split_first() else { return false };
    let rest = match rest.first() {
        Some(b'#' | b'b') => &rest[1..],
        _ => rest,
    };
    matches!(letter, b'A'..=b'G') && !rest.is_empty() && rest.len() <= 2 && rest.iter().all(u8::is_ascii_digit)
}

struct Parser<'t> {
    tokens: &'t [Spanned],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].token
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)].token
    }

    fn span(&self) -> Range<usize> {
        self.tokens[self.pos.min(self.tokens.len() - 1)].span.clone()
    }

    fn bump(&mut self) -> Spanned {
        let token = self.tokens[self.pos.min(self.tokens.len() - 1)].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn is(&self, punct: &str) -> bool {
        matches!(self.peek(), Token::Punct(p) if *p == punct)
    }

    fn eat(&mut self, punct: &str) -> bool {
        let found = self.is(punct);
        if found {
            self.bump();
        }
        found
    }

    fn expect(&mut self, punct: &str, what: &str) -> Result<Range<usize>, SwError> {
        if self.is(punct) {
            return Ok(self.bump().span);
        }
        Err(SwError::new(self.span(), format!("expected `{punct}` {what}, found {}", self.peek().describe())))
    }

    fn skip_lines(&mut self) {
        while matches!(self.peek(), Token::Newline) || self.is(";") {
            self.bump();
        }
    }

    fn deeper(&mut self) -> Result<(), SwError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SwError::new(self.span(), format!("nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    fn name(&mut self, what: &str) -> Result<(String, Range<usize>), SwError> {
        match self.peek().clone() {
            Token::Ident(name) => Ok((name, self.bump().span)),
            other => Err(SwError::new(self.span(), format!("expected {what}, found {}", other.describe()))),
        }
    }

    fn number(&mut self, what: &str) -> Result<(f64, Range<usize>), SwError> {
        match *self.peek() {
            Token::Number(n) => Ok((n, self.bump().span)),
            ref other => Err(SwError::new(self.span(), format!("expected {what}, found {}", other.describe()))),
        }
    }

    /// Statements until `}` or the end.
    fn block(&mut self, top: bool) -> Result<Vec<Stmt>, SwError> {
        self.deeper()?;
        let mut out = Vec::new();
        loop {
            self.skip_lines();
            if matches!(self.peek(), Token::End) || self.is("}") {
                break;
            }
            out.push(self.statement(top)?);
        }
        self.depth -= 1;
        Ok(out)
    }

    fn statement(&mut self, top: bool) -> Result<Stmt, SwError> {
        let start = self.span();
        match self.peek().clone() {
            Token::Track if matches!(self.peek_at(1), Token::Punct(".")) => self.assignment(),
            Token::Track => {
                if !top {
                    return Err(SwError::new(start, "tracks are defined at the top level of a song")
                        .hint("move this definition out of the track it is in"));
                }
                self.track_def()
            }
            Token::Const => {
                self.bump();
                let (name, _) = self.name("a name after the declaration")?;
                self.expect("=", "after the name")?;
                let (value, span) = self.expr()?;
                Ok(Stmt::Const { name, value, span })
            }
            Token::For => self.for_loop(),
            Token::Punct("[") => self.chord(),
            Token::Number(_) | Token::Punct("/") => {
                let duration = self.duration()?;
                Ok(Stmt::Rest(duration, start.start..self.previous_end()))
            }
            Token::Punct(".") => {
                let mut dots = 0;
                while self.eat(".") {
                    dots += 1;
                }
                // `. /2`: a rest whose length follows.
                let duration = if self.starts_duration() { self.duration()? } else { Duration::Dots(dots) };
                Ok(Stmt::Rest(duration, start.start..self.previous_end()))
            }
            Token::Ident(name) => {
                // `x = v` and `song.endMode = v` assign; `E4 . E4` is a note stepping by `.`.
                let dotted = matches!(self.peek_at(1), Token::Punct(".")) && matches!(self.peek_at(2), Token::Ident(_));
                if matches!(self.peek_at(1), Token::Punct("=")) || dotted && !is_note_name(&name) {
                    return self.assignment();
                }
                self.bump();
                let modifiers = self.modifiers()?;
                if self.is("(") {
                    let args = self.arguments()?;
                    let step = self.step()?;
                    return Ok(Stmt::Call { name, modifiers, args, step, span: start.start..self.previous_end() });
                }
                if !is_note_name(&name) {
                    return Err(SwError::new(start, format!("`{name}` is neither a note nor a track call")).hint(
                        format!(
                            "notes are written like C4, F#4 or Bb3; a track is called with parentheses: `{name}()`"
                        ),
                    ));
                }
                let step = self.step()?;
                Ok(Stmt::Note { pitch: name, modifiers, step, span: start.start..self.previous_end() })
            }
            other => Err(SwError::new(start, format!("unexpected {}", other.describe())).hint(
                "a statement is a note, a chord `[…]`, a rest, a track call `name()`, an assignment or a `for` loop",
            )),
        }
    }

    fn previous_end(&self) -> usize {
        self.tokens[self.pos.saturating_sub(1)].span.end
    }

    fn track_def(&mut self) -> Result<Stmt, SwError> {
        self.bump();
        let (name, span) = self.name("the track's name")?;
        let mut params = Vec::new();
        if self.eat("(") {
            loop {
                self.skip_newlines();
                if self.eat(")") {
                    break;
                }
                params.push(self.name("a parameter name")?.0);
                self.skip_newlines();
                if !self.eat(",") {
                    self.expect(")", "to close the parameters")?;
                    break;
                }
            }
        }
        self.skip_newlines();
        self.expect("{", "to open the track's body")?;
        let body = self.block(false)?;
        self.expect("}", "to close the track's body")
            .map_err(|e| e.hint(format!("add `}}` where track `{name}` ends")))?;
        Ok(Stmt::TrackDef { name, params, body, span })
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek(), Token::Newline) {
            self.bump();
        }
    }

    /// `track.prop = v`, `song.prop = v`, `name = v`.
    fn assignment(&mut self) -> Result<Stmt, SwError> {
        let start = self.span();
        let mut target = match self.bump().token {
            Token::Track => "track".to_string(),
            Token::Ident(name) => name,
            other => return Err(SwError::new(start, format!("expected a name, found {}", other.describe()))),
        };
        while self.eat(".") {
            target.push('.');
            target.push_str(&self.name("a property name")?.0);
        }
        let target_span = start.start..self.previous_end();
        self.expect("=", "in the assignment")?;
        let (value, span) = self.expr()?;
        Ok(Stmt::Assign { target, value, target_span, span })
    }

    /// `for (let i = 0; i < 4; i++) { … }`, counted here.
    fn for_loop(&mut self) -> Result<Stmt, SwError> {
        let start = self.bump().span;
        self.expect("(", "after `for`")?;
        let bad = |span: Range<usize>| {
            SwError::new(span, "this loop header is not one noderack can count")
                .hint("write it as `for (let i = 0; i < 4; i++)` (also `<=`, `>`, `>=`, `i--`, `i += 2`)")
        };
        let header_start = self.span();
        self.eat_const();
        let (var, _) = self.name("the loop variable").map_err(|_| bad(header_start.clone()))?;
        self.expect("=", "after the loop variable").map_err(|_| bad(header_start.clone()))?;
        let from = self.signed_number().map_err(|_| bad(header_start.clone()))?;
        self.expect(";", "after the loop's start").map_err(|_| bad(header_start.clone()))?;
        let (cond_var, _) = self.name("the loop variable").map_err(|_| bad(header_start.clone()))?;
        let comparison = match self.bump().token {
            Token::Punct(p @ ("<" | "<=" | ">" | ">=" | "!=")) => p,
            _ => return Err(bad(header_start)),
        };
        let bound = match self.peek().clone() {
            Token::Ident(name) if name != var => Err((name, self.bump().span)),
            _ => Ok(self.signed_number().map_err(|_| bad(header_start.clone()))?),
        };
        self.expect(";", "after the loop's condition").map_err(|_| bad(header_start.clone()))?;
        let increment = match (self.peek().clone(), self.peek_at(1).clone()) {
            (Token::Punct("++"), Token::Ident(v)) | (Token::Ident(v), Token::Punct("++")) if v == var => {
                self.bump();
                self.bump();
                1.0
            }
            (Token::Punct("--"), Token::Ident(v)) | (Token::Ident(v), Token::Punct("--")) if v == var => {
                self.bump();
                self.bump();
                -1.0
            }
            (Token::Ident(v), Token::Punct(op @ ("+=" | "-="))) if v == var => {
                self.bump();
                self.bump();
                let n = self.signed_number()?;
                if op == "+=" {
                    n
                } else {
                    -n
                }
            }
            _ => return Err(bad(header_start)),
        };
        self.expect(")", "to close the loop header")?;
        if cond_var != var {
            return Err(bad(header_start));
        }
        let header = start.start..self.previous_end();
        let count =
            match bound {
                Ok(bound) => LoopCount::Fixed(loop_passes(from, comparison, bound, increment).ok_or_else(|| {
                    SwError::new(header.clone(), format!("this loop runs more than {MAX_LOOP} times"))
                })?),
                Err((bound, bound_span)) => {
                    LoopCount::Named { from, comparison, bound, bound_span, increment, span: header.clone() }
                }
            };
        self.skip_newlines();
        self.expect("{", "to open the loop's body")?;
        let body = self.block(false)?;
        self.expect("}", "to close the loop's body")?;
        Ok(Stmt::For { count, body, span: header })
    }

    fn eat_const(&mut self) {
        if matches!(self.peek(), Token::Const) {
            self.bump();
        }
    }

    fn signed_number(&mut self) -> Result<f64, SwError> {
        let negative = self.eat("-");
        let (n, _) = self.number("a number")?;
        Ok(if negative { -n } else { n })
    }

    fn chord(&mut self) -> Result<Stmt, SwError> {
        let start = self.bump().span;
        let mut notes = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat("]") {
                break;
            }
            let (pitch, span) = self.name("a note of the chord")?;
            if !is_note_name(&pitch) {
                return Err(SwError::new(span, format!("`{pitch}` is not a note"))
                    .hint("chord notes are written like C4, F#4 or Bb3"));
            }
            let modifiers = self.modifiers()?;
            notes.push(ChordNote { pitch, modifiers, span: span.start..self.previous_end() });
            self.skip_newlines();
            if !self.eat(",") {
                self.expect("]", "to close the chord")
                    .map_err(|e| e.hint("close the chord with `]`, or separate its notes with commas"))?;
                break;
            }
        }
        if notes.is_empty() {
            return Err(SwError::new(start.start..self.previous_end(), "a chord needs at least one note"));
        }
        let modifiers = self.modifiers()?;
        let step = self.step()?;
        Ok(Stmt::Chord { notes, modifiers, step, span: start.start..self.previous_end() })
    }

    fn modifiers(&mut self) -> Result<Modifiers, SwError> {
        let mut modifiers = Modifiers::default();
        loop {
            if self.is("*") {
                let star = self.bump().span;
                let (value, span) = match self.peek().clone() {
                    Token::Ident(name) => (Amount::Name(name), self.bump().span),
                    _ => {
                        let (n, span) = self.number("a velocity after `*`")?;
                        (Amount::Number(n), span)
                    }
                };
                modifiers.velocity = Some((value, star.start..span.end));
            } else if self.eat("@") {
                modifiers.gate = Some(self.duration()?);
            } else {
                return Ok(modifiers);
            }
        }
    }

    /// Whether `/N` follows the number just read with no space on either side of the slash
    /// (`3/8` is a fraction; in `@2 /4` the `/4` is the step).
    fn fraction_follows(&self) -> bool {
        let here = self.pos.min(self.tokens.len() - 1);
        let (Some(slash), Some(denominator)) = (self.tokens.get(here), self.tokens.get(here + 1)) else { return false };
        self.is("/")
            && matches!(denominator.token, Token::Number(_))
            && slash.span.start == self.previous_end()
            && denominator.span.start == slash.span.end
    }

    fn starts_duration(&self) -> bool {
        matches!(self.peek(), Token::Number(_) | Token::Punct("/" | "."))
    }

    fn step(&mut self) -> Result<Option<Duration>, SwError> {
        if self.starts_duration() {
            Ok(Some(self.duration()?))
        } else {
            Ok(None)
        }
    }

    /// `2`, `/4`, `3/8`, `.`, `..`.
    fn duration(&mut self) -> Result<Duration, SwError> {
        let start = self.span();
        let positive = |n: f64, span: Range<usize>| {
            if n > 0.0 && n.is_finite() {
                Ok(n)
            } else {
                Err(SwError::new(span, "a length divides by a number above zero"))
            }
        };
        match *self.peek() {
            Token::Punct("/") => {
                self.bump();
                let (n, span) = self.number("a number after `/`")?;
                Ok(Duration::Inverse(positive(n, span)?))
            }
            Token::Number(n) => {
                self.bump();
                if self.fraction_follows() {
                    self.bump();
                    let (d, span) = self.number("a denominator")?;
                    return Ok(Duration::Fraction(n, positive(d, span)?));
                }
                Ok(Duration::Beats(n))
            }
            Token::Punct(".") => {
                let mut dots = 0;
                while self.eat(".") {
                    dots += 1;
                }
                Ok(Duration::Dots(dots))
            }
            ref other => Err(SwError::new(
                start,
                format!("expected a length (`2`, `/4`, `3/8`, `.`), found {}", other.describe()),
            )),
        }
    }

    fn arguments(&mut self) -> Result<Vec<(Expr, Range<usize>)>, SwError> {
        self.expect("(", "to open the arguments")?;
        let mut args = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(")") {
                return Ok(args);
            }
            args.push(self.expr()?);
            self.skip_newlines();
            if !self.eat(",") {
                self.expect(")", "to close the arguments")?;
                return Ok(args);
            }
        }
    }

    fn expr(&mut self) -> Result<(Expr, Range<usize>), SwError> {
        self.deeper()?;
        self.skip_newlines();
        let start = self.span();
        let expr = match self.peek().clone() {
            Token::Number(n) => {
                self.bump();
                if self.fraction_follows() {
                    self.bump();
                    let (d, _) = self.number("a denominator")?;
                    Expr::Fraction(n, d)
                } else {
                    Expr::Number(n)
                }
            }
            Token::Punct("-") => {
                self.bump();
                let (n, _) = self.number("a number after `-`")?;
                Expr::Number(-n)
            }
            Token::Punct("/") => {
                self.bump();
                let (d, _) = self.number("a number after `/`")?;
                Expr::Fraction(1.0, d)
            }
            Token::Text(text) => {
                self.bump();
                Expr::Text(text)
            }
            Token::Ident(name) => {
                self.bump();
                if self.is("(") {
                    Expr::Call(name, self.arguments()?)
                } else if self.eat(".") {
                    Expr::Property(name, self.name("a property name")?.0)
                } else {
                    Expr::Name(name)
                }
            }
            Token::Track => {
                self.bump();
                self.expect(".", "after `track`")?;
                Expr::Property("track".into(), self.name("a property name")?.0)
            }
            Token::Punct("[") => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.eat("]") {
                        break;
                    }
                    items.push(self.expr()?);
                    self.skip_newlines();
                    if !self.eat(",") {
                        self.expect("]", "to close the list")?;
                        break;
                    }
                }
                Expr::Array(items)
            }
            Token::Punct("{") => {
                self.bump();
                let mut fields = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.eat("}") {
                        break;
                    }
                    let key_span = self.span();
                    let key = match self.bump().token {
                        Token::Ident(k) | Token::Text(k) => k,
                        other => {
                            return Err(SwError::new(
                                key_span,
                                format!("expected a field name, found {}", other.describe()),
                            ))
                        }
                    };
                    self.expect(":", "after the field name")?;
                    let (value, span) = self.expr()?;
                    fields.push((key, value, span));
                    self.skip_newlines();
                    if !self.eat(",") {
                        self.expect("}", "to close the object").map_err(|e| e.hint("separate fields with commas"))?;
                        break;
                    }
                }
                Expr::Object(fields)
            }
            other => return Err(SwError::new(start, format!("expected a value, found {}", other.describe()))),
        };
        self.depth -= 1;
        Ok((expr, start.start..self.previous_end()))
    }
}
