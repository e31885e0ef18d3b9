//! Finds where a value sits in JSON text, so errors found after parsing (an unknown node kind,
//! a port that does not exist) can still name a line and column.

/// One step of a path into a JSON document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    /// A key of an object.
    Key(String),
    /// An index into an array.
    Index(usize),
}

/// Renders a path as `nodes[2].kind`.
pub fn display_path(path: &[PathStep]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            PathStep::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathStep::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    if s.is_empty() {
        "(document)".into()
    } else {
        s
    }
}

/// 1-based line and column of the value at `path` in `text`, or of the deepest part of the
/// path that exists. `None` only if `text` is not JSON at all.
pub fn locate(text: &str, path: &[PathStep]) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut pos = skip_ws(bytes, 0);
    for step in path {
        match (step, bytes.get(pos)) {
            (PathStep::Key(key), Some(b'{')) => {
                let mut p = skip_ws(bytes, pos + 1);
                let mut found = None;
                while bytes.get(p) == Some(&b'"') {
                    let (name, after) = read_string(bytes, p)?;
                    p = skip_ws(bytes, after);
                    if bytes.get(p) != Some(&b':') {
                        return Some(line_col(text, pos));
                    }
                    p = skip_ws(bytes, p + 1);
                    if &name == key {
                        found = Some(p);
                        break;
                    }
                    p = skip_ws(bytes, skip_value(bytes, p)?);
                    if bytes.get(p) == Some(&b',') {
                        p = skip_ws(bytes, p + 1);
                    }
                }
                match found {
                    Some(p) => pos = p,
                    None => return Some(line_col(text, pos)),
                }
            }
            (PathStep::Index(index), Some(b'[')) => {
                let mut p = skip_ws(bytes, pos + 1);
                let mut i = 0;
                while i < *index && bytes.get(p).is_some_and(|b| *b != b']') {
                    p = skip_ws(bytes, skip_value(bytes, p)?);
                    if bytes.get(p) == Some(&b',') {
                        p = skip_ws(bytes, p + 1);
                    }
                    i += 1;
                }
                if i < *index || bytes.get(p) == Some(&b']') {
                    return Some(line_col(text, pos));
                }
                pos = p;
            }
            _ => return Some(line_col(text, pos)),
        }
    }
    Some(line_col(text, pos))
}

fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let before = &text[..byte.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && matches!(b[p], b' ' | b'\t' | b'\n' | b'\r') {
        p += 1;
    }
    p
}

/// Reads a string starting at its opening quote; returns it (escapes other than `\"` and `\\`
/// kept verbatim, which is enough to compare keys) and the position after the closing quote.
fn read_string(b: &[u8], p: usize) -> Option<(String, usize)> {
    let mut out = Vec::new();
    let mut i = p + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), i + 1)),
            b'\\' if i + 1 < b.len() => {
                match b[i + 1] {
                    b'"' | b'\\' | b'/' => out.push(b[i + 1]),
                    other => out.extend_from_slice(&[b'\\', other]),
                }
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

fn skip_value(b: &[u8], p: usize) -> Option<usize> {
    match b.get(p)? {
        b'"' => read_string(b, p).map(|(_, e)| e),
        open @ (b'{' | b'[') => {
            let close = if *open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut i = p;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = read_string(b, i)?.1;
                        continue;
                    }
                    c if c == *open => depth += 1,
                    c if c == close => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let mut i = p;
            while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "{\n  \"a\": [1, {\"x\": \"q\\\"]\"}, 3],\n  \"nodes\": [\n    {\"id\": \"s\"},\n    {\"id\": \"t\", \"kind\": \"bogus\"}\n  ]\n}";

    fn key(k: &str) -> PathStep {
        PathStep::Key(k.into())
    }

    #[test]
    fn locates_nested_values_past_tricky_strings() {
        assert_eq!(locate(DOC, &[key("nodes"), PathStep::Index(1), key("kind")]), Some((5, 25)));
        assert_eq!(locate(DOC, &[key("a"), PathStep::Index(2)]), Some((2, 27)));
        assert_eq!(locate(DOC, &[key("nodes"), PathStep::Index(0)]), Some((4, 5)));
    }

    #[test]
    fn missing_parts_point_at_the_deepest_existing_value() {
        assert_eq!(locate(DOC, &[key("nodes"), PathStep::Index(7)]), Some((3, 12)));
        assert_eq!(locate(DOC, &[key("nope")]), Some((1, 1)));
    }

    #[test]
    fn paths_display_like_javascript() {
        assert_eq!(display_path(&[key("nodes"), PathStep::Index(2), key("kind")]), "nodes[2].kind");
        assert_eq!(display_path(&[]), "(document)");
    }
}
