//! `fields`: a result kept to the fields the caller names. Each path is a dotted walk
//! through the output schema's properties, arrays traversed implicitly
//! (`audit_logs.user_id` keeps `user_id` in every item of `audit_logs`), and a path keeps
//! its ancestors. Paths are checked against the schema before anything is sent; what is
//! kept is a subset of the declared shape, so the result still matches the schema.

use std::collections::BTreeMap;

use gumloop_mcp_runtime::rules::{FIELD_PATH_MAX, FIELD_SEPARATOR, FIELDS, FIELDS_MAX};
use serde_json::Value;

use crate::text::{QUOTE_CHARS, clip, closest};

/// How deep paths go into a schema (inlined schemas are finite; this bounds the work).
const MAX_DEPTH: usize = 16;
/// How many sibling names a "names nothing" message lists.
const LISTED: usize = 12;

/// The paths a tool's result can be projected on, compiled from its output schema once.
#[derive(Debug, Clone)]
pub struct Paths {
    root: Node,
    /// Every path, for "did you mean".
    all: Vec<String>,
    /// Top-level keys the server adds to the record itself (a walk's summary, a flow's
    /// inputs schema): always kept, never named.
    added: Vec<String>,
}

/// A declared field and the fields declared inside it (through arrays and `anyOf`,
/// `oneOf`, `allOf` branches).
#[derive(Debug, Clone, Default)]
struct Node {
    fields: BTreeMap<String, Node>,
}

/// What a checked `fields` keeps: whole fields, or some of their fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    keep: BTreeMap<String, Keep>,
    added: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Keep {
    Whole,
    Some(BTreeMap<String, Keep>),
}

impl Paths {
    /// The paths of the record `schemas` describe together (a long-running tool's own
    /// output and its status tool's, which a wait merges), or `None` when they declare no
    /// field. `added` are the top-level keys the server adds to the record.
    pub fn of(schemas: &[&Value], added: Vec<String>) -> Option<Self> {
        let mut root = Node::default();
        for s in schemas {
            absorb(&mut root, node(s, 0));
        }
        if root.fields.is_empty() {
            return None;
        }
        let mut all = Vec::new();
        list(&root, "", &mut all);
        Some(Self { root, all, added })
    }

    /// `fields` (the argument's value) checked: the projection, or every problem, each
    /// named by the entry's JSON pointer. A value that is not a list of strings is the
    /// input schema's to report, so it yields neither.
    pub fn check(&self, fields: &Value) -> Result<Option<Projection>, Vec<String>> {
        let Some(entries) = fields.as_array() else { return Ok(None) };
        let example = self.all.iter().find(|p| p.contains(FIELD_SEPARATOR)).unwrap_or(&self.all[0]);
        if entries.is_empty() {
            return Err(vec![format!(
                "/{FIELDS}: an empty list keeps nothing; name the fields to keep, e.g. [\"{example}\"], or leave `{FIELDS}` out for the whole result"
            )]);
        }
        let mut problems = Vec::new();
        if entries.len() > FIELDS_MAX {
            problems.push(format!("/{FIELDS}: {} paths; at most {FIELDS_MAX} (ask for a parent field to keep all of its fields)", entries.len()));
        }
        let mut keep = BTreeMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let Some(path) = entry.as_str() else { continue };
            match self.resolve(path) {
                Ok(segments) => merge(&mut keep, &segments),
                Err(why) => problems.push(format!("/{FIELDS}/{i}: {why}")),
            }
        }
        if problems.is_empty() { Ok(Some(Projection { keep, added: self.added.clone() })) } else { Err(problems) }
    }

    /// The segments of one path, or why it names nothing.
    fn resolve<'p>(&self, path: &'p str) -> Result<Vec<&'p str>, String> {
        if path.len() > FIELD_PATH_MAX {
            return Err(format!("`{}` is longer than {FIELD_PATH_MAX} characters", clip(path, QUOTE_CHARS)));
        }
        let example = self.all.iter().find(|p| p.contains(FIELD_SEPARATOR)).unwrap_or(&self.all[0]);
        if path.trim().is_empty() {
            return Err(format!("an empty path; name a field, e.g. `{example}`"));
        }
        let segments: Vec<&str> = path.split(FIELD_SEPARATOR).collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(format!("`{path}` has an empty segment; join field names with single `{FIELD_SEPARATOR}`, e.g. `{example}`"));
        }
        let mut at = &self.root;
        for (n, segment) in segments.iter().enumerate() {
            let parent = segments[..n].join(&FIELD_SEPARATOR.to_string());
            if at.fields.is_empty() {
                return Err(format!("`{path}` names nothing in the result: `{parent}` declares no fields of its own; ask for `{parent}` whole"));
            }
            match at.fields.get(*segment) {
                Some(next) => at = next,
                None => {
                    let hint = match closest(path, self.all.iter().map(String::as_str)) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => {
                            let names: Vec<&str> = at.fields.keys().map(String::as_str).take(LISTED).collect();
                            let more = if at.fields.len() > LISTED { ", …" } else { "" };
                            let whose = if parent.is_empty() { "the result".to_owned() } else { format!("`{parent}`") };
                            format!("{whose} has {}{more}", names.join(", "))
                        }
                    };
                    return Err(format!("`{path}` names nothing in the result; {hint}"));
                }
            }
        }
        Ok(segments)
    }
}

impl Projection {
    /// `record` kept to the projection's fields (and the server's own additions).
    pub fn apply(&self, record: &mut Value) {
        if let Value::Object(o) = record {
            o.retain(|k, _| self.keep.contains_key(k) || self.added.contains(k));
        }
        keep_in(&self.keep, record, true);
    }
}

/// The fields `schema` declares, to `MAX_DEPTH`.
fn node(schema: &Value, depth: usize) -> Node {
    let mut out = Node::default();
    if depth > MAX_DEPTH {
        return out;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, s) in props {
            let child = node(s, depth + 1);
            absorb(out.fields.entry(name.clone()).or_default(), child);
        }
    }
    // An array's items, and each branch, declare fields of the same value.
    let items = schema.get("items").into_iter();
    let branches = ["anyOf", "oneOf", "allOf"].into_iter().filter_map(|k| schema.get(k)?.as_array()).flatten();
    for s in items.chain(branches) {
        absorb(&mut out, node(s, depth));
    }
    out
}

fn absorb(into: &mut Node, from: Node) {
    for (name, child) in from.fields {
        absorb(into.fields.entry(name).or_default(), child);
    }
}

fn list(n: &Node, prefix: &str, out: &mut Vec<String>) {
    for (name, child) in &n.fields {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}{FIELD_SEPARATOR}{name}") };
        out.push(path.clone());
        list(child, &path, out);
    }
}

/// Adds one path to the tree; a whole field stays whole.
fn merge(keep: &mut BTreeMap<String, Keep>, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else { return };
    if rest.is_empty() {
        keep.insert((*first).to_owned(), Keep::Whole);
        return;
    }
    match keep.entry((*first).to_owned()).or_insert_with(|| Keep::Some(BTreeMap::new())) {
        Keep::Whole => {}
        Keep::Some(inner) => merge(inner, rest),
    }
}

/// Keeps `keep`'s fields in `value`, in every item of an array. The root's keys were
/// filtered by the caller (it also keeps the server's additions).
fn keep_in(keep: &BTreeMap<String, Keep>, value: &mut Value, root: bool) {
    match value {
        Value::Object(o) => {
            if !root {
                o.retain(|k, _| keep.contains_key(k));
            }
            for (k, v) in o.iter_mut() {
                if let Some(Keep::Some(inner)) = keep.get(k) {
                    keep_in(inner, v, false);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| keep_in(keep, v, false)),
        // A scalar (often `null`) where fields are declared is kept as it is.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths() -> Paths {
        let schema = json!({"type": "object", "properties": {
            "logs": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "user_id": {"type": ["string", "null"]}, "details": {"type": ["object", "null"]},
                "actor": {"anyOf": [{"type": "object", "properties": {"name": {"type": "string"}}}, {"type": "object", "properties": {"email": {"type": "string"}}}]}
            }}},
            "grid": {"type": "array", "items": {"type": "array", "items": {"type": "object", "properties": {"v": {"type": "integer"}}}}},
            "total": {"type": "integer"}
        }});
        Paths::of(&[&schema], vec!["walk".into()]).unwrap()
    }

    fn project(fields: Value, mut record: Value) -> Value {
        paths().check(&fields).unwrap().unwrap().apply(&mut record);
        record
    }

    #[test]
    fn paths_keep_their_fields_in_every_item_and_their_ancestors() {
        let record = json!({"logs": [{"id": "a", "user_id": "u", "extra": 1, "actor": {"name": "n", "email": "e"}}, {"id": "b", "user_id": null}],
            "total": 2, "undeclared": true, "walk": {"complete": true}});
        assert_eq!(
            project(json!(["logs.user_id", "logs.actor.email"]), record.clone()),
            json!({"logs": [{"user_id": "u", "actor": {"email": "e"}}, {"user_id": null}], "walk": {"complete": true}})
        );
        // A whole field wins over a path inside it, in either order.
        let whole = json!({"logs": record["logs"].clone(), "walk": {"complete": true}});
        assert_eq!(project(json!(["logs.id", "logs"]), record.clone()), whole);
        assert_eq!(project(json!(["logs", "logs.id"]), record.clone()), whole);
        assert_eq!(project(json!(["grid.v"]), json!({"grid": [[{"v": 1, "w": 2}], []], "total": 1})), json!({"grid": [[{"v": 1}], []]}));
        // A null where an object is declared stays null.
        assert_eq!(project(json!(["logs.actor.name"]), json!({"logs": [{"actor": null, "id": "x"}]})), json!({"logs": [{"actor": null}]}));
    }

    #[test]
    fn every_bad_entry_is_named() {
        let problems = paths().check(&json!(["logs.usr_id", "logs..id", "", "logs.details.kind", "nope", "total", 7])).unwrap_err();
        assert_eq!(
            problems,
            [
                "/fields/0: `logs.usr_id` names nothing in the result; did you mean `logs.user_id`?",
                "/fields/1: `logs..id` has an empty segment; join field names with single `.`, e.g. `grid.v`",
                "/fields/2: an empty path; name a field, e.g. `grid.v`",
                "/fields/3: `logs.details.kind` names nothing in the result: `logs.details` declares no fields of its own; ask for `logs.details` whole",
                "/fields/4: `nope` names nothing in the result; the result has grid, logs, total",
            ]
        );
        let empty = paths().check(&json!([])).unwrap_err();
        assert_eq!(empty.len(), 1);
        assert!(empty[0].starts_with("/fields: an empty list keeps nothing"), "{empty:?}");
        let many: Vec<String> = (0..=FIELDS_MAX).map(|_| "total".to_owned()).collect();
        assert_eq!(
            paths().check(&json!(many)).unwrap_err(),
            [format!("/fields: {} paths; at most {FIELDS_MAX} (ask for a parent field to keep all of its fields)", FIELDS_MAX + 1)]
        );
        let long = "a".repeat(FIELD_PATH_MAX + 1);
        assert!(paths().check(&json!([long])).unwrap_err()[0].contains("is longer than 256 characters"));
        // Not a list: the input schema reports it.
        assert_eq!(paths().check(&json!("total")), Ok(None));
    }

    #[test]
    fn a_schema_without_fields_has_no_paths() {
        assert!(Paths::of(&[&json!({"type": "object", "description": "keyed by id"})], Vec::new()).is_none());
        // A long-running tool's record is its own output and its status tool's.
        let own = json!({"properties": {"run_id": {"type": "string"}}});
        let status = json!({"properties": {"state": {"type": "string"}, "outputs": {"type": "object"}}});
        let both = Paths::of(&[&own, &status], vec!["wait".into()]).unwrap();
        let mut record = json!({"run_id": "r", "state": "DONE", "outputs": {"x": 1}, "log": [], "wait": {"polls": 2}});
        both.check(&json!(["outputs"])).unwrap().unwrap().apply(&mut record);
        assert_eq!(record, json!({"outputs": {"x": 1}, "wait": {"polls": 2}}));
    }
}
