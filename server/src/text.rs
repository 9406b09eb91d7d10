//! Text for messages: a caller's values quoted back without repeating all of them (an
//! error about a 15 MB argument must not be 15 MB itself), and "did you mean" names.

use std::borrow::Cow;
use std::io::Write;

use serde_json::Value;

/// How many characters of an offending value a message quotes.
pub const QUOTE_CHARS: usize = 200;

/// `text` when it has at most `max` characters, else its first `max` characters, `…`,
/// and how long it was.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}… ({} characters in all)", &text[..cut], text.chars().count())),
    }
}

/// A value as compact JSON, or its [`preview`] when that is over [`QUOTE_CHARS`].
pub fn quote(value: &Value) -> String {
    short_json(value, QUOTE_CHARS).unwrap_or_else(|| preview(value, QUOTE_CHARS))
}

/// A value as compact JSON when that is at most `max` characters; else `None`, so the
/// caller quotes [`preview`] instead.
pub fn short_json(value: &Value, max: usize) -> Option<String> {
    let mut w = Bounded { out: Vec::new(), max, total: 0 };
    serde_json::to_writer(&mut w, value).ok()?;
    (w.total <= max).then(|| String::from_utf8(w.out).unwrap_or_default())
}

/// The start of a value's compact JSON (about `max` bytes, cut at a character
/// boundary), `…`, and how long the whole is: for a string, its characters; otherwise
/// its JSON's bytes.
pub fn preview(value: &Value, max: usize) -> String {
    let mut w = Bounded { out: Vec::new(), max, total: 0 };
    // Writing into memory cannot fail.
    let _ = serde_json::to_writer(&mut w, value);
    let head = String::from_utf8_lossy(&w.out);
    let head = head.trim_end_matches('\u{FFFD}');
    match value {
        Value::String(s) => format!("{head}…\" (a string of {} characters)", s.chars().count()),
        _ => format!("{head}… ({} bytes of JSON)", w.total),
    }
}

/// Keeps the first `max` bytes written and counts the rest.
struct Bounded {
    out: Vec<u8>,
    max: usize,
    total: usize,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.max.saturating_sub(self.out.len());
        self.out.extend_from_slice(&buf[..room.min(buf.len())]);
        self.total += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // Names are at most 64 characters; a longer one is no typo of any (and comparing a
    // huge one would cost its length times every candidate's).
    if name.len() > 256 {
        return None;
    }
    candidates.map(|c| (levenshtein(name, c), c)).filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(2)).min().map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_values_are_quoted_in_part_with_their_length() {
        assert_eq!(clip("short", 200), "short");
        let long = "é".repeat(300);
        let c = clip(&long, 200);
        assert!(c.starts_with(&"é".repeat(200)) && c.ends_with("… (300 characters in all)"), "{c}");
        assert_eq!(short_json(&json!({"a": 1}), 200).as_deref(), Some(r#"{"a":1}"#));
        let big = json!("x".repeat(15_000_000));
        assert_eq!(short_json(&big, 200), None);
        let p = preview(&big, 200);
        assert!(p.len() < 300 && p.ends_with("…\" (a string of 15000000 characters)"), "{p}");
        let arr = json!(vec![1; 1000]);
        assert!(preview(&arr, 200).ends_with("… (2001 bytes of JSON)"));
    }
}
