//! Percent-encoding of path segments and flattening of query values.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters is encoded, so `/`, `.` runs and `?`
/// inside an id can never change the upstream path.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// Encodes `value` as exactly one path segment.
///
/// Encoding alone cannot keep every value in place: URL parsers (the WHATWG rules reqwest
/// follows) treat `%2E` and `%2E%2E` as dot segments and remove them, and an empty segment
/// collapses into its neighbours. Use [`path_segment`], which refuses those values.
pub fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// Encodes the path argument at `pointer` as exactly one segment, refusing any value
/// that would name a different upstream path: empty, `.`, `..`, and the same after
/// percent-decoding or with look-alike dots (`%2e`, `%252E%252E`, `．．`), which a
/// proxy that decodes or normalises paths would turn back into dot segments.
pub fn path_segment(value: &str, pointer: &str) -> Result<String, crate::ArgsError> {
    if is_dot_or_empty(value) {
        let shown = if value.is_empty() { "an empty value".to_owned() } else { format!("`{}`", value.escape_debug()) };
        return Err(crate::ArgsError::new(
            pointer,
            format!(
                "{shown} cannot be a path segment: it would change which endpoint is called (empty values, `.`, `..` and their encoded or look-alike forms are refused)"
            ),
        ));
    }
    Ok(encode_segment(value))
}

/// Whether `value` is empty, `.` or `..`, once percent-decoded (a few times over) and with
/// the Unicode dots that compatibility normalisation maps to `.` read as `.`.
fn is_dot_or_empty(value: &str) -> bool {
    let mut current = value.to_owned();
    for _ in 0..4 {
        let dots: String = current
            .chars()
            .map(|c| match c {
                // ONE DOT LEADER, SMALL FULL STOP, FULLWIDTH FULL STOP; TWO DOT LEADER.
                '\u{2024}' | '\u{FE52}' | '\u{FF0E}' => ".".to_owned(),
                '\u{2025}' => "..".to_owned(),
                c => c.to_string(),
            })
            .collect();
        if matches!(dots.as_str(), "" | "." | "..") {
            return true;
        }
        let decoded = percent_encoding::percent_decode_str(&current).decode_utf8_lossy().into_owned();
        if decoded == current {
            return false;
        }
        current = decoded;
    }
    false
}

/// Appends a JSON argument to a query: scalars as text, arrays as repeated keys,
/// objects as compact JSON, and nulls not at all.
pub fn push_query(query: &mut Vec<(String, String)>, name: &str, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => {}
        Value::String(s) => query.push((name.to_owned(), s.clone())),
        Value::Bool(b) => query.push((name.to_owned(), b.to_string())),
        Value::Number(n) => query.push((name.to_owned(), n.to_string())),
        Value::Array(items) => items.iter().for_each(|v| push_query(query, name, v)),
        Value::Object(_) => query.push((name.to_owned(), value.to_string())),
    }
}

/// Inserts a JSON body field, leaving it out when the argument was absent (`null`).
pub fn insert_body(body: &mut serde_json::Map<String, serde_json::Value>, name: &str, value: serde_json::Value) {
    if !value.is_null() {
        body.insert(name.to_owned(), value);
    }
}

/// Appends a multipart text field: strings as-is, arrays as repeated parts, other values as JSON.
pub fn push_text_parts(parts: &mut Vec<crate::Part>, name: &str, value: &serde_json::Value) {
    use serde_json::Value;
    let text = match value {
        Value::Null => return,
        Value::String(s) => s.clone(),
        Value::Array(items) => return items.iter().for_each(|v| push_text_parts(parts, name, v)),
        other => other.to_string(),
    };
    parts.push(crate::Part { name: name.to_owned(), value: crate::PartValue::Text(text) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_empty_values_are_refused() {
        for bad in ["", ".", "..", "%2e", "%2E", "%2e%2E", ".%2e", "%252e%252e", "\u{FF0E}", "\u{FF0E}\u{FF0E}", "\u{2025}", "\u{2024}.", "%EF%BC%8E"] {
            let e = path_segment(bad, "/id").unwrap_err();
            assert_eq!(e.pointer, "/id", "{bad:?}");
            assert!(e.message.contains("cannot be a path segment"), "{bad:?}: {}", e.message);
        }
        for good in ["...", "a.", ".a", "..a", "a..b", " ", "%2e%2e%2f", "..%2f", "agent_1", "\u{FF0E}a"] {
            assert!(path_segment(good, "/id").is_ok(), "{good:?}");
        }
        assert_eq!(path_segment("..%2f", "/id").unwrap(), "%2E%2E%252f");
    }

    #[test]
    fn traversal_stays_one_segment() {
        assert_eq!(encode_segment("../../admin"), "%2E%2E%2F%2E%2E%2Fadmin");
        assert_eq!(encode_segment("a b?c#d"), "a%20b%3Fc%23d");
        assert_eq!(encode_segment("sess_01-AZ~"), "sess_01-AZ~");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn query_flattening() {
        let mut q = Vec::new();
        push_query(&mut q, "a", &serde_json::json!(["x", 2, true]));
        push_query(&mut q, "b", &serde_json::Value::Null);
        push_query(&mut q, "c", &serde_json::json!({"k": 1}));
        assert_eq!(q, vec![("a".into(), "x".into()), ("a".into(), "2".into()), ("a".into(), "true".into()), ("c".into(), "{\"k\":1}".into()),]);
    }
}
