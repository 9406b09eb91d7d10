//! Argument validation against a tool's input schema, with every violation named by JSON
//! pointer and a "did you mean" for unknown arguments.

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::mcp::catalog::Entry;
use crate::text::{QUOTE_CHARS, clip, closest, preview, short_json};

/// Every violation of `args` against the tool's input schema, as readable lines.
pub fn violations(entry: &Entry, args: &Value) -> Vec<String> {
    violations_of(&entry.validator, &entry.properties, args)
}

/// Every violation of `args` against `validator`, whose schema declares `properties`.
pub fn violations_of(validator: &jsonschema::Validator, properties: &[String], args: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for e in validator.iter_errors(args) {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() { "/".to_owned() } else { at };
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for u in unexpected {
                    let hint = match closest(u, properties.iter().map(String::as_str)) {
                        Some(s) if at == "/" => format!("; did you mean `{s}`?"),
                        _ => String::new(),
                    };
                    let u = clip(u, QUOTE_CHARS);
                    let pointer = if at == "/" { format!("/{u}") } else { format!("{at}/{u}") };
                    out.push(format!("{pointer}: unknown argument `{u}`{hint}"));
                }
            }
            // A long offending value is quoted in part, with its length.
            _ => match short_json(e.instance(), QUOTE_CHARS) {
                Some(_) => out.push(format!("{}: {e}", clip(&at, QUOTE_CHARS))),
                None => out.push(format!("{}: {}", clip(&at, QUOTE_CHARS), e.masked_with(preview(e.instance(), QUOTE_CHARS)))),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggestions() {
        let names = ["agent_id", "page_size", "cursor"];
        assert_eq!(crate::text::closest("agentid", names.into_iter()), Some("agent_id"));
        assert_eq!(crate::text::closest("pagesize", names.into_iter()), Some("page_size"));
        assert_eq!(crate::text::closest("zzzzzzzz", names.into_iter()), None);
    }
}
