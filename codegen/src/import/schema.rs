//! OpenAPI 3.0 schemas as JSON Schema 2020-12, and the `$defs` a draft needs.
//!
//! The conversion: `$ref: '#/components/schemas/X'` → `$ref: '#/$defs/X'`; `nullable:
//! true` → `null` added to `type` (and to `enum`), or an `anyOf` with `{type: null}` when
//! there is no `type`; boolean `exclusiveMinimum`/`exclusiveMaximum` → the numeric form;
//! `example`, `xml`, `discriminator`, `externalDocs` and `x-` extensions dropped. Only
//! schema positions are rewritten, so `default` and `enum` values are copied untouched.

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{OpenAPI, ReferenceOr, Schema};
use serde_json::{Map, Value, json};

const COMPONENT: &str = "#/components/schemas/";
const DEFS: &str = "#/$defs/";

/// Keywords whose value is a map of schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "$defs", "dependentSchemas"];
/// Keywords whose value is a schema.
const SCHEMA_VALUES: &[&str] = &["items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// OpenAPI-only keywords.
const DROPPED: &[&str] = &["nullable", "example", "xml", "discriminator", "externalDocs"];
/// Written first and last, so drafted schemas read naturally.
const FRONT: &[&str] = &["$ref", "type", "format", "title", "description", "enum", "const", "default"];
const BACK: &[&str] = &["required", "properties", "additionalProperties", "items"];

/// The document's component schemas, converted, plus the references that could not be
/// converted (external files, pointers into a schema).
pub(super) struct Schemas {
    all: BTreeMap<String, Value>,
    /// Unsupported `$ref`s met so far.
    pub odd_refs: BTreeSet<String>,
}

impl Schemas {
    pub fn new(doc: &OpenAPI) -> Self {
        let mut s = Self { all: BTreeMap::new(), odd_refs: BTreeSet::new() };
        if let Some(c) = &doc.components {
            for (name, schema) in &c.schemas {
                let v = s.convert(schema);
                s.all.insert(name.clone(), v);
            }
        }
        s
    }

    /// Converts one OpenAPI schema (or reference).
    pub fn convert(&mut self, schema: &ReferenceOr<Schema>) -> Value {
        let raw = serde_json::to_value(schema).unwrap_or(Value::Null);
        convert(&raw, &mut self.odd_refs)
    }

    /// `schema` with its root `$ref`s followed (keys beside a `$ref` win), for looking at
    /// the root's `type` and `properties`.
    pub fn resolve(&self, schema: &Value) -> Value {
        let mut cur = schema.clone();
        for _ in 0..16 {
            let Some(name) = cur.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(DEFS)) else { break };
            let Some(Value::Object(target)) = self.all.get(name) else { break };
            let mut merged = target.clone();
            if let Value::Object(m) = &cur {
                merged.extend(m.iter().filter(|(k, _)| *k != "$ref").map(|(k, v)| (k.clone(), v.clone())));
            }
            cur = Value::Object(reorder(merged));
        }
        cur
    }

    /// The definitions `roots` need, directly or through other definitions, with any
    /// reference cycle cut (inlined schemas cannot be recursive). Each cut is noted.
    pub fn definitions<'a>(&self, roots: impl Iterator<Item = &'a Value>, notes: &mut Vec<String>) -> BTreeMap<String, Value> {
        let mut queue: Vec<String> = roots.flat_map(refs_in).collect();
        let mut defs = BTreeMap::new();
        while let Some(name) = queue.pop() {
            if defs.contains_key(&name) {
                continue;
            }
            let def = self.all.get(&name).cloned().unwrap_or_else(|| {
                notes.push(format!("definitions.yaml: `{name}` is referenced but the document does not define it; drafted as an open schema"));
                json!({"description": format!("TODO: `{name}` is missing from the OpenAPI document")})
            });
            queue.extend(refs_in(&def));
            defs.insert(name, def);
        }
        cut_cycles(&mut defs, notes);
        defs
    }
}

/// Converts a schema position.
fn convert(v: &Value, odd: &mut BTreeSet<String>) -> Value {
    let Value::Object(m) = v else { return v.clone() };
    if let Some(r) = m.get("$ref") {
        let r = r.as_str().unwrap_or_default();
        return match r.strip_prefix(COMPONENT) {
            Some(name) if !name.contains('/') => json!({"$ref": format!("{DEFS}{name}")}),
            _ => {
                odd.insert(r.to_owned());
                json!({"description": format!("TODO: unresolved reference `{r}`")})
            }
        };
    }
    let mut out = Map::new();
    for (k, val) in m {
        let k = k.as_str();
        if DROPPED.contains(&k) || k.starts_with("x-") || k == "exclusiveMinimum" || k == "exclusiveMaximum" {
            continue;
        }
        let val = if SCHEMA_MAPS.contains(&k) {
            match val {
                Value::Object(props) => Value::Object(props.iter().map(|(p, s)| (p.clone(), convert(s, odd))).collect()),
                other => other.clone(),
            }
        } else if SCHEMA_VALUES.contains(&k) {
            convert(val, odd)
        } else if SCHEMA_LISTS.contains(&k) {
            match val {
                Value::Array(items) => Value::Array(items.iter().map(|s| convert(s, odd)).collect()),
                other => other.clone(),
            }
        } else {
            val.clone()
        };
        out.insert(k.to_owned(), val);
    }
    for (ex, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        match m.get(ex) {
            Some(Value::Bool(true)) => {
                if let Some(b) = out.remove(bound) {
                    out.insert(ex.to_owned(), b);
                }
            }
            Some(n @ Value::Number(_)) => {
                out.insert(ex.to_owned(), n.clone());
            }
            _ => {}
        }
    }
    if m.get("nullable") == Some(&Value::Bool(true)) {
        out = nullable(out);
    }
    Value::Object(reorder(out))
}

/// Lets a converted schema also accept `null`.
fn nullable(mut out: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Array(e)) = out.get_mut("enum")
        && !e.contains(&Value::Null)
    {
        e.push(Value::Null);
    }
    let composite = ["allOf", "anyOf", "oneOf", "$ref"].iter().any(|k| out.contains_key(*k));
    match out.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            out.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(ts)) if !ts.contains(&json!("null")) => ts.push(json!("null")),
        Some(_) => {}
        None if composite => {
            let mut outer = Map::new();
            for k in ["title", "description", "default", "deprecated", "readOnly", "writeOnly"] {
                if let Some(v) = out.remove(k) {
                    outer.insert(k.into(), v);
                }
            }
            outer.insert("anyOf".into(), json!([Value::Object(out), {"type": "null"}]));
            return outer;
        }
        None => {}
    }
    out
}

/// Puts `FRONT` keys first and `BACK` keys last, keeping the order of the rest.
fn reorder(m: Map<String, Value>) -> Map<String, Value> {
    let mut rest = m;
    let mut out = Map::new();
    for k in FRONT {
        if let Some(v) = rest.remove(*k) {
            out.insert((*k).into(), v);
        }
    }
    let back: Vec<(String, Value)> = BACK.iter().filter_map(|k| rest.remove(*k).map(|v| ((*k).to_owned(), v))).collect();
    out.extend(rest);
    out.extend(back);
    out
}

/// The `$defs` names a value refers to, in order of appearance (with repeats).
pub(super) fn refs_in(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_refs(v, &mut out);
    out
}

fn walk_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(name) = m.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(DEFS)) {
                out.push(name.to_owned());
            }
            m.values().for_each(|v| walk_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| walk_refs(v, out)),
        _ => {}
    }
}

/// Removes the back edges of a depth-first search over the definitions, which leaves
/// them acyclic: each such `$ref` becomes an open schema that says what it stood for.
fn cut_cycles(defs: &mut BTreeMap<String, Value>, notes: &mut Vec<String>) {
    let edges: BTreeMap<String, Vec<String>> = defs.iter().map(|(k, v)| (k.clone(), refs_in(v))).collect();
    let mut state: BTreeMap<&str, bool> = BTreeMap::new(); // false: on the stack; true: done
    let mut back: BTreeSet<(String, String)> = BTreeSet::new();
    fn visit<'a>(n: &'a str, edges: &'a BTreeMap<String, Vec<String>>, state: &mut BTreeMap<&'a str, bool>, back: &mut BTreeSet<(String, String)>) {
        state.insert(n, false);
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                None => visit(m, edges, state, back),
                Some(false) => {
                    back.insert((n.to_owned(), m.clone()));
                }
                Some(true) => {}
            }
        }
        state.insert(n, true);
    }
    for n in edges.keys() {
        if !state.contains_key(n.as_str()) {
            visit(n, &edges, &mut state, &mut back);
        }
    }
    for (from, to) in back {
        if let Some(def) = defs.get_mut(&from) {
            replace_ref(def, &to);
        }
        notes.push(format!(
            "definitions.yaml: `{from}` refers back to `{to}` (a cycle); that reference became an open schema because inlined schemas cannot be recursive"
        ));
    }
}

fn replace_ref(v: &mut Value, to: &str) {
    match v {
        Value::Object(m) => {
            if m.get("$ref").and_then(Value::as_str) == Some(&format!("{DEFS}{to}")) {
                m.remove("$ref");
                let said = m.get("description").and_then(Value::as_str).map(|d| format!("{d} ")).unwrap_or_default();
                m.insert("description".into(), json!(format!("{said}(Refers to `{to}` recursively, so it is not expanded.)")));
            }
            m.values_mut().for_each(|v| replace_ref(v, to));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| replace_ref(v, to)),
        _ => {}
    }
}

/// Whether a (resolved) schema's root is an object, as spec records require.
pub(super) fn is_object(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(_) => false,
        None => schema.get("properties").is_some(),
    }
}

/// The root property names of a (resolved) schema.
pub(super) fn property_names(schema: &Value) -> Vec<String> {
    schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

/// Whether a property schema is a file (`format: binary`, or an array of them).
pub(super) fn is_binary(schema: &Value) -> bool {
    let binary = |s: &Value| s.get("format").and_then(Value::as_str) == Some("binary");
    binary(schema) || schema.get("items").is_some_and(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(v: Value) -> Value {
        convert(&v, &mut BTreeSet::new())
    }

    #[test]
    fn openapi_specifics_become_json_schema() {
        let v = conv(json!({
            "description": "d", "type": "string", "nullable": true, "enum": ["a"], "example": "a", "x-foo": 1,
        }));
        assert_eq!(v, json!({"type": ["string", "null"], "description": "d", "enum": ["a", null]}));
        let v = conv(json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false}));
        assert_eq!(v, json!({"type": "integer", "exclusiveMinimum": 0, "maximum": 9}));
        let v = conv(json!({"allOf": [{"$ref": "#/components/schemas/A"}], "nullable": true, "description": "d"}));
        assert_eq!(v, json!({"description": "d", "anyOf": [{"allOf": [{"$ref": "#/$defs/A"}]}, {"type": "null"}]}));
        // Values are data, not schemas.
        let v = conv(json!({"type": "object", "default": {"nullable": true, "$ref": "x"}}));
        assert_eq!(v["default"], json!({"nullable": true, "$ref": "x"}));
    }

    #[test]
    fn cycles_are_cut() {
        let mut defs: BTreeMap<String, Value> = BTreeMap::new();
        defs.insert("A".into(), json!({"properties": {"b": {"$ref": "#/$defs/B"}}}));
        defs.insert("B".into(), json!({"properties": {"a": {"$ref": "#/$defs/A"}, "b": {"$ref": "#/$defs/B"}}}));
        let mut notes = Vec::new();
        cut_cycles(&mut defs, &mut notes);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(refs_in(&defs["A"]), ["B"]);
        assert!(refs_in(&defs["B"]).is_empty());
    }
}
