//! The Rust type of an argument's schema, and the schema of a file argument.

use serde_json::{Value, json};

use crate::model::ArgType;

/// The schema of a file argument; arrays of files stay arrays. The record's description is kept.
pub(super) fn file_schema(declared: &Value) -> Value {
    let one = json!({
        "type": "object",
        "properties": {
            "filename": {"type": "string", "description": "File name, e.g. SKILL.md or bundle.zip."},
            "content": {"type": "string", "description": "The file's text (for text files such as SKILL.md)."},
            "content_base64": {"type": "string", "description": "The file's bytes, base64-encoded (for binary files such as .zip)."},
            "media_type": {"type": "string", "description": "Content type; guessed from the extension when omitted."}
        },
        "required": ["filename"],
        "additionalProperties": false
    });
    let is_array = declared.get("type").and_then(Value::as_str) == Some("array");
    let mut out = if is_array {
        let mut a = json!({"type": "array", "items": one});
        for k in ["minItems", "maxItems"] {
            if let Some(v) = declared.get(k) {
                a[k] = v.clone();
            }
        }
        a
    } else {
        one
    };
    if let Some(d) = declared.get("description") {
        out["description"] = d.clone();
    }
    out
}

pub(super) fn file_type(s: &Value) -> ArgType {
    if s.get("type").and_then(Value::as_str) == Some("array") { ArgType::Array(Box::new(ArgType::File)) } else { ArgType::File }
}

/// The Rust type of a schema: one clear JSON type maps to a Rust type, anything else is JSON.
pub(super) fn arg_type(s: &Value) -> ArgType {
    let ty = match s.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(ts)) => {
            let non_null: Vec<&str> = ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect();
            if non_null.len() == 1 { Some(non_null[0]) } else { None }
        }
        _ => None,
    };
    match ty {
        Some("string") => ArgType::String,
        Some("integer") => ArgType::Integer,
        Some("number") => ArgType::Number,
        Some("boolean") => ArgType::Boolean,
        Some("array") => ArgType::Array(Box::new(s.get("items").map_or(ArgType::Json, arg_type))),
        _ => ArgType::Json,
    }
}
