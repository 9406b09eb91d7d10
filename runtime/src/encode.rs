//! Percent-encoding of path segments and flattening of query values.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters is encoded, so `/`, `.` runs and `?`
/// inside an id can never change the upstream path.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// Encodes `value` as exactly one path segment.
///
/// `.` is encoded too, so `..` becomes `%2E%2E`, which no server normalises away.
pub fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
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
        assert_eq!(q, vec![
            ("a".into(), "x".into()), ("a".into(), "2".into()), ("a".into(), "true".into()),
            ("c".into(), "{\"k\":1}".into()),
        ]);
    }
}
