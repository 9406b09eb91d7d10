//! JSON Schema helpers: `$ref` inlining, meta-validation and property access.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Replaces every `$ref: '#/$defs/Name'` with the named definition, recursively.
///
/// Keys beside a `$ref` (such as `description`) override the definition's. Returns the
/// key path (JSON-pointer style, relative to `value`) and message of the first bad ref.
pub fn inline_refs(value: &Value, defs: &BTreeMap<String, Value>) -> Result<Value, (String, String)> {
    inline(value, defs, &mut Vec::new(), "")
}

fn inline(value: &Value, defs: &BTreeMap<String, Value>, stack: &mut Vec<String>, at: &str) -> Result<Value, (String, String)> {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref") {
                let Some(name) = r.as_str().and_then(|r| r.strip_prefix("#/$defs/")) else {
                    return Err((format!("{at}/$ref"), format!("`$ref: {r}` is not of the form '#/$defs/<Name>'")));
                };
                let Some(target) = defs.get(name) else {
                    let known: Vec<&str> = defs.keys().map(String::as_str).collect();
                    return Err((
                        format!("{at}/$ref"),
                        format!(
                            "`$ref` points to `{name}`, which definitions.yaml does not define (defined: {})",
                            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                        ),
                    ));
                };
                if stack.iter().any(|s| s == name) {
                    return Err((format!("{at}/$ref"), format!("`$ref` to `{name}` is recursive; inlined schemas cannot be recursive")));
                }
                stack.push(name.to_owned());
                let mut resolved = inline(target, defs, stack, at)?;
                stack.pop();
                if let Value::Object(out) = &mut resolved {
                    for (k, v) in map.iter().filter(|(k, _)| *k != "$ref") {
                        out.insert(k.clone(), inline(v, defs, stack, &format!("{at}/{k}"))?);
                    }
                }
                return Ok(resolved);
            }
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), inline(v, defs, stack, &format!("{at}/{k}"))?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| inline(v, defs, stack, &format!("{at}/{i}"))).collect::<Result<_, _>>().map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Checks `schema` against the JSON Schema 2020-12 meta-schema.
pub fn meta_check(schema: &Value) -> Result<(), String> {
    jsonschema::meta::validate(schema).map_err(|e| {
        let at = e.instance_path().to_string();
        if at.is_empty() { e.to_string() } else { format!("{e} (at {at})") }
    })
}

/// The first keyword in `schema` whose value is null, as a JSON pointer. No JSON Schema
/// keyword takes null, but YAML makes one easily: in a flow mapping such as
/// `{ type: string, description: Text, or more }` the comma ends the description and
/// `or more` becomes a key without a value. Values under `const`, `default`, `enum` and
/// `examples` are data, not keywords, and may be null.
pub fn null_keyword(schema: &Value) -> Option<String> {
    fn walk(v: &Value, at: &mut String) -> Option<String> {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if matches!(k.as_str(), "const" | "default" | "enum" | "examples") {
                        continue;
                    }
                    let len = at.len();
                    at.push('/');
                    at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    if v.is_null() {
                        return Some(at.clone());
                    }
                    if let Some(found) = walk(v, at) {
                        return Some(found);
                    }
                    at.truncate(len);
                }
                None
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                let found = walk(v, at);
                at.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(schema, &mut String::new())
}

/// The `properties` of an object schema, in written order.
pub fn properties(schema: &Value) -> Vec<(&String, &Value)> {
    schema.get("properties").and_then(Value::as_object).map(|m| m.iter().collect()).unwrap_or_default()
}

/// The `required` names of an object schema.
pub fn required(schema: &Value) -> Vec<&str> {
    schema.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Whether a schema's root says `type: object` (or does not say, but has `properties`).
pub fn is_object_schema(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(_) => false,
        None => schema.get("properties").is_some(),
    }
}

/// The subschemas a value of `schema` is checked against in place: `properties` values,
/// `items`, `prefixItems`, `additionalProperties` and the branches of `anyOf`, `oneOf`
/// and `allOf` (`$ref`s are inlined before this).
pub fn subschemas_mut(schema: &mut Value) -> Vec<&mut Value> {
    let Value::Object(o) = schema else { return Vec::new() };
    let mut out = Vec::new();
    for (k, v) in o.iter_mut() {
        match (k.as_str(), v) {
            ("properties", Value::Object(props)) => out.extend(props.values_mut()),
            ("items" | "additionalProperties", v @ Value::Object(_)) => out.push(v),
            ("prefixItems" | "anyOf" | "oneOf" | "allOf", Value::Array(branches)) => out.extend(branches.iter_mut()),
            _ => {}
        }
    }
    out
}

/// `schema` with every keyword that demands a field taken out (`required`,
/// `minProperties`, `dependentRequired`), at every depth: the output schema of a tool
/// whose result the caller may project onto a few fields (a projected record is then
/// still valid).
pub fn without_required(schema: &mut Value) {
    if let Value::Object(o) = schema {
        for k in ["required", "minProperties", "dependentRequired"] {
            o.remove(k);
        }
    }
    for s in subschemas_mut(schema) {
        without_required(s);
    }
}
