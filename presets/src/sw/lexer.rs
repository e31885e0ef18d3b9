//! Tokens of the `.sw` language, with their byte spans. Newlines are tokens (a note's
//! modifiers and step are on its line); comments (`//`, `/* */`) are dropped.

use std::ops::Range;

use super::diagnostic::SwError;

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    /// A number (`4`, `0.5`).
    Number(f64),
    /// A string in single or double quotes, unescaped.
    Text(String),
    /// An identifier, or a note name (`C4`, `F#4`, `Bb3`).
    Ident(String),
    /// `track`
    Track,
    /// `const`, `let` or `var` (all declare a name).
    Const,
    /// `for`
    For,
    /// One of `* @ / . ; , = ( ) [ ] { } < > + - :` or `++ -- += -= <= >= == !=`.
    Punct(&'static str),
    /// The end of a line.
    Newline,
    /// The end of the source.
    End,
}

impl Token {
    /// How the token reads in messages.
    pub fn describe(&self) -> String {
        match self {
            Token::Number(n) => format!("the number {n}"),
            Token::Text(s) => format!("the text {s:?}"),
            Token::Ident(s) => format!("`{s}`"),
            Token::Track => "`track`".into(),
            Token::Const => "a declaration".into(),
            Token::For => "`for`".into(),
            Token::Punct(p) => format!("`{p}`"),
            Token::Newline => "the end of the line".into(),
            Token::End => "the end of the file".into(),
        }
    }
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned {
    /// The token.
    pub token: Token,
    /// Its bytes in the source.
    pub span: Range<usize>,
}

const TWO_CHAR: [&str; 8] = ["++", "--", "+=", "-=", "<=", ">=", "==", "!="];
const ONE_CHAR: [&str; 19] =
    ["*", "@", "/", ".", ";", ",", "=", "(", ")", "[", "]", "{", "}", "<", ">", "+", "-", ":", "!"];

/// Splits `source` into tokens, ending with [`Token::End`].
pub fn lex(source: &str) -> Result<Vec<Spanned>, SwError> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => {
                out.push(Spanned { token: Token::Newline, span: i..i + 1 });
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let Some(end) = source[i + 2..].find("*/") else {
                    return Err(SwError::new(i..i + 2, "this comment is never closed").hint("end it with `*/`"));
                };
                // A block comment that spans lines still ends them.
                if source[i..i + 2 + end].contains('\n') {
                    out.push(Spanned { token: Token::Newline, span: i..i + 2 + end + 2 });
                }
                i += 2 + end + 2;
            }
            b'0'..=b'9' => {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let value: f64 =
                    source[start..i].parse().map_err(|_| SwError::new(start..i, "this number cannot be read"))?;
                out.push(Spanned { token: Token::Number(value), span: start..i });
            }
            b'"' | b'\'' => {
                let (text, end) = string(source, i)?;
                out.push(Spanned { token: Token::Text(text), span: start..end });
                i = end;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$') {
                    i += 1;
                }
                // A sharp inside a note name: `F#4`.
                if i - start == 1 && bytes.get(i) == Some(&b'#') && matches!(c.to_ascii_uppercase(), b'A'..=b'G') {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let word = &source[start..i];
                let token = match word {
                    "track" => Token::Track,
                    "const" | "let" | "var" => Token::Const,
                    "for" => Token::For,
                    _ => Token::Ident(word.to_string()),
                };
                out.push(Spanned { token, span: start..i });
            }
            _ => {
                let two = source.get(i..i + 2).and_then(|s| TWO_CHAR.iter().find(|p| **p == s));
                let one = source.get(i..i + 1).and_then(|s| ONE_CHAR.iter().find(|p| **p == s));
                match (two, one) {
                    (Some(p), _) => {
                        out.push(Spanned { token: Token::Punct(p), span: i..i + 2 });
                        i += 2;
                    }
                    (None, Some(p)) => {
                        out.push(Spanned { token: Token::Punct(p), span: i..i + 1 });
                        i += 1;
                    }
                    (None, None) => {
                        let ch = source[i..].chars().next().unwrap_or('?');
                        let span = i..i + ch.len_utf8();
                        let hint = match ch {
                            '#' => "a sharp goes between the letter and the octave: `F#4`",
                            _ => "remove it, or put it inside a string or a comment",
                        };
                        return Err(SwError::new(span, format!("unexpected character {ch:?}")).hint(hint));
                    }
                }
            }
        }
    }
    out.push(Spanned { token: Token::End, span: bytes.len()..bytes.len() });
    Ok(out)
}

/// The string starting at `start` (a quote), unescaped, and the byte after its closing quote.
fn string(source: &str, start: usize) -> Result<(String, usize), SwError> {
    let quote = source.as_bytes()[start] as char;
    let mut text = String::new();
    let mut chars = source[start + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        let at = start + 1 + offset;
        match c {
            '\n' => break,
            '\\' => match chars.next() {
                Some((_, 'n')) => text.push('\n'),
                Some((_, 't')) => text.push('\t'),
                Some((_, other)) => text.push(other),
                None => break,
            },
            c if c == quote => return Ok((text, at + 1)),
            c => text.push(c),
        }
    }
    Err(SwError::new(start..start + 1, "this string is never closed")
        .hint(format!("end it with {quote} on the same line")))
}
