//! The SFZ lexer: one file's text into headers, opcodes and directives, each with its line.
//!
//! It knows nothing of other files or of `$` variables (the preprocessor expands those): it
//! only decides where each piece begins and ends, which is the subtle part of SFZ:
//!
//! - `// …` runs to the end of the line, `/* … */` may span lines; both may follow a value.
//! - `<name>` is a header; it must close on its own line.
//! - `name=value`: the value runs to the end of the line but stops before a comment, before a
//!   `<`, and before whitespace followed by another `name=` or by `#define`/`#include`, so
//!   values may contain spaces (`sample=Grand Piano C4.wav`) and many opcodes share a line.
//! - `#define $NAME value` takes one word as the value; the rest of the line is read on.
//! - `#include "path"`.
//! - Embedded sample data (`base64data=`, and `data=` under `<sample>`) runs up to the next
//!   `<` or `#` whatever the lines and slashes in between (base64 contains `/`).

/// One piece of an SFZ file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// `<name>`.
    Header(String),
    /// `name=value`, both as written (before `$` expansion).
    Opcode {
        /// The opcode name.
        name: String,
        /// Its value, trimmed.
        value: String,
    },
    /// `#define $name value`.
    Define {
        /// The variable name without the `$`.
        name: String,
        /// Its value.
        value: String,
    },
    /// `#include "path"`.
    Include(String),
}

/// A token and the line (1-based) it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lexed {
    /// 1-based line number.
    pub line: u32,
    /// What was read.
    pub token: Token,
}

/// Text the lexer cannot read, at a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    /// 1-based line number.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// Whether `c` may appear in a header, opcode or variable name.
pub fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Opcodes whose value is embedded data, read up to the next header or directive.
fn is_data_opcode(name: &str, header: Option<&str>) -> bool {
    name.eq_ignore_ascii_case("base64data")
        || (name.eq_ignore_ascii_case("data") && header.is_some_and(|h| h.eq_ignore_ascii_case("sample")))
}

struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
    line: u32,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.text.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        // The lexer only splits at ASCII bytes, so every slice is valid UTF-8.
        std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("")
    }

    fn error(&self, message: impl Into<String>) -> LexError {
        LexError { line: self.line, message: message.into() }
    }

    /// Skips whitespace and comments; an unterminated block comment is an error.
    fn skip_space_and_comments(&mut self) -> Result<(), LexError> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_ascii_whitespace() => {
                    self.bump();
                }
                (Some(b'/'), Some(b'/')) => {
                    self.take_while(|c| c != b'\n');
                }
                (Some(b'/'), Some(b'*')) => {
                    let line = self.line;
                    self.pos += 2;
                    loop {
                        match (self.peek(), self.peek_at(1)) {
                            (Some(b'*'), Some(b'/')) => {
                                self.pos += 2;
                                break;
                            }
                            (Some(_), _) => {
                                self.bump();
                            }
                            (None, _) => {
                                return Err(LexError { line, message: "unterminated block comment `/*`".into() })
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// The end of an opcode value starting at the cursor (see the module notes), as an index.
    fn value_end(&self) -> usize {
        let text = self.text;
        let line_end = (self.pos..text.len()).find(|&i| text[i] == b'\r' || text[i] == b'\n').unwrap_or(text.len());
        let mut i = self.pos;
        while i < line_end {
            let c = text[i];
            if c == b'<' || (c == b'/' && matches!(text.get(i + 1), Some(b'/') | Some(b'*'))) {
                return i;
            }
            if is_blank(c) {
                let mut j = i;
                while j < line_end && is_blank(text[j]) {
                    j += 1;
                }
                if j == line_end || text[j] == b'<' {
                    return i;
                }
                if text[j] == b'#' {
                    let word: Vec<u8> =
                        text[j + 1..line_end].iter().copied().take_while(|&c| is_name_char(c)).collect();
                    if word == b"define" || word == b"include" {
                        return i;
                    }
                }
                if is_name_char(text[j]) || text[j] == b'$' {
                    let mut k = j;
                    while k < line_end && (is_name_char(text[k]) || text[k] == b'$') {
                        k += 1;
                    }
                    if k < line_end && text[k] == b'=' {
                        return i;
                    }
                }
                i = j;
                continue;
            }
            i += 1;
        }
        line_end
    }
}

/// Splits one file's text into tokens.
pub fn lex(text: &str) -> Result<Vec<Lexed>, LexError> {
    let mut cursor = Cursor { text: text.as_bytes(), pos: 0, line: 1 };
    let mut tokens = Vec::new();
    let mut header: Option<String> = None;
    loop {
        cursor.skip_space_and_comments()?;
        let line = cursor.line;
        let Some(c) = cursor.peek() else { break };
        let token = match c {
            b'<' => {
                cursor.bump();
                let name = cursor.take_while(|c| c != b'>' && c != b'\n' && c != b'\r').to_string();
                if cursor.peek() != Some(b'>') {
                    return Err(cursor.error(format!("header `<{}` is not closed with `>` on its line", name.trim())));
                }
                cursor.bump();
                if name.is_empty() || !name.bytes().all(is_name_char) {
                    return Err(LexError { line, message: format!("`<{name}>` is not a valid header name") });
                }
                header = Some(name.clone());
                Token::Header(name)
            }
            b'#' => {
                cursor.bump();
                let directive = cursor.take_while(is_name_char).to_string();
                cursor.take_while(is_blank);
                match directive.as_str() {
                    "define" => {
                        if cursor.peek() != Some(b'$') {
                            return Err(cursor.error("expected `$name` after #define"));
                        }
                        cursor.bump();
                        let name = cursor.take_while(is_name_char).to_string();
                        if name.is_empty() {
                            return Err(cursor.error("expected `$name` after #define"));
                        }
                        cursor.take_while(is_blank);
                        let value = cursor.take_while(|c| !c.is_ascii_whitespace()).to_string();
                        Token::Define { name, value }
                    }
                    "include" => {
                        if cursor.peek() != Some(b'"') {
                            return Err(cursor.error("expected \"file.sfz\" after #include"));
                        }
                        cursor.bump();
                        let path = cursor.take_while(|c| c != b'"' && c != b'\n' && c != b'\r').to_string();
                        if cursor.peek() != Some(b'"') {
                            return Err(cursor.error("#include path is not closed with `\"` on its line"));
                        }
                        cursor.bump();
                        Token::Include(path)
                    }
                    other => return Err(cursor.error(format!("unknown directive `#{other}`"))),
                }
            }
            _ => {
                let name = cursor.take_while(|c| is_name_char(c) || c == b'$').to_string();
                if name.is_empty() {
                    let shown = text[cursor.pos..].chars().next().unwrap_or(' ');
                    return Err(
                        cursor.error(format!("unexpected `{shown}`: expected a header, an opcode or a directive"))
                    );
                }
                if cursor.peek() != Some(b'=') {
                    return Err(cursor.error(format!("expected `=` after `{name}`")));
                }
                cursor.bump();
                let value = if is_data_opcode(&name, header.as_deref()) {
                    cursor.take_while(|c| c != b'<' && c != b'#').split_whitespace().collect::<String>()
                } else {
                    let end = cursor.value_end();
                    let value = std::str::from_utf8(&cursor.text[cursor.pos..end]).unwrap_or("").trim().to_string();
                    cursor.pos = end;
                    value
                };
                Token::Opcode { name, value }
            }
        };
        tokens.push(Lexed { line, token });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str, value: &str) -> Token {
        Token::Opcode { name: name.into(), value: value.into() }
    }

    fn tokens(text: &str) -> Vec<Token> {
        lex(text).unwrap().into_iter().map(|t| t.token).collect()
    }

    #[test]
    fn opcodes_share_a_line_and_values_keep_inner_spaces() {
        assert_eq!(
            tokens("<region> sample=Grand Piano C4.wav lokey=60 hikey=62\n"),
            vec![
                Token::Header("region".into()),
                op("sample", "Grand Piano C4.wav"),
                op("lokey", "60"),
                op("hikey", "62")
            ]
        );
    }

    #[test]
    fn values_stop_at_comments_and_headers_and_trailing_space() {
        assert_eq!(
            tokens("key=36 // kick\nvolume=-6 /* quiet */ pan=10   \nkey=40<region>"),
            vec![op("key", "36"), op("volume", "-6"), op("pan", "10"), op("key", "40"), Token::Header("region".into())]
        );
    }

    #[test]
    fn lines_are_counted_through_block_comments() {
        let lexed = lex("/* one\ntwo\nthree */\n<group>\n\n  lokey=1").unwrap();
        assert_eq!(lexed[0].line, 4);
        assert_eq!(lexed[1].line, 6);
    }

    #[test]
    fn define_takes_one_word_and_the_rest_of_the_line_is_read_on() {
        assert_eq!(
            tokens("#define $KEY 52 // crash\n#define $V -3 volume=$V"),
            vec![
                Token::Define { name: "KEY".into(), value: "52".into() },
                Token::Define { name: "V".into(), value: "-3".into() },
                op("volume", "$V"),
            ]
        );
    }

    #[test]
    fn include_and_dollar_names_are_kept_raw() {
        assert_eq!(
            tokens("#include \"$foo_include_$bar.sfz\"\namplitude_oncc$P=34"),
            vec![Token::Include("$foo_include_$bar.sfz".into()), op("amplitude_oncc$P", "34")]
        );
    }

    #[test]
    fn value_stops_before_a_directive_on_the_same_line() {
        assert_eq!(
            tokens("sample=a.wav #include \"b.sfz\""),
            vec![op("sample", "a.wav"), Token::Include("b.sfz".into())]
        );
    }

    #[test]
    fn base64_data_spans_lines_and_ignores_slashes() {
        let text = "<sample> name=a.wav base64data=\nUklG//Rg\n  AB+/==\n<region> sample=a.wav";
        assert_eq!(
            tokens(text),
            vec![
                Token::Header("sample".into()),
                op("name", "a.wav"),
                op("base64data", "UklG//RgAB+/=="),
                Token::Header("region".into()),
                op("sample", "a.wav"),
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error_with_its_line() {
        let cases = [
            ("<region> key=1\n<region\nkey=2", 2, "not closed"),
            ("\n\n<reg ion>", 3, "not a valid header name"),
            ("key 60", 1, "expected `=` after `key`"),
            ("<region>\n  = 5", 2, "unexpected `=`"),
            ("#include nothing.sfz", 1, "expected \"file.sfz\""),
            ("#define KEY 60", 1, "expected `$name`"),
            ("\n#import \"x\"", 2, "unknown directive `#import`"),
            ("key=1\n/* open", 2, "unterminated block comment"),
        ];
        for (text, line, message) in cases {
            let e = lex(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e:?}");
            assert!(e.message.contains(message), "{text:?}: {e:?}");
        }
    }
}
