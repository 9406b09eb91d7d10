//! The tool's arguments: the upstream ones placed, typed and added to the input schema,
//! and the ones the server consumes itself.

use gumloop_mcp_runtime::rules;
use serde_json::{Value, json};

use super::types::{arg_type, file_schema, file_type};
use super::{Input, Schemas, Source, internal};
use crate::error::Result;
use crate::model::*;
use crate::naming;
use crate::schema;

// Server-written texts repeat in every tool that has the argument, so each word is paid
// for many times over on every tools/list: keep them to what a model needs to call well.
const CURSOR_HINT: &str = "The previous page's `next_cursor`, as received; omit for the first page.";
const CONTEXT_HINT: &str = "Defaults to the server's credential.";

impl Source<'_> {
    /// The upstream arguments in input order (path, query, body, then added pagination
    /// arguments), each placed, typed and added to the input schema.
    pub(super) fn arguments(&self, schemas: &Schemas, params: &[String], input: &mut Input) -> Vec<ArgIr> {
        let m = self.m;
        // (name, schema, location, required-by-schema)
        let mut entries: Vec<(String, Value, Location, bool)> = Vec::new();
        for p in params {
            let s = schemas.path.as_ref().and_then(|s| s.pointer(&format!("/properties/{}", escape_ptr(p)))).cloned().unwrap_or(json!({"type": "string"}));
            entries.push((p.clone(), s, Location::Path, true));
        }
        let query_props: Vec<(String, Value, bool)> = schemas.query.as_ref().map(props_of).unwrap_or_default();
        let body_props: Vec<(String, Value, bool)> = schemas.body.as_ref().map(props_of).unwrap_or_default();
        let in_query = |n: &str| query_props.iter().any(|(k, _, _)| k == n);
        for (name, s, req) in &query_props {
            let loc = match m.placement(name) {
                Some(Location::Body) => continue,
                Some(Location::Both) => Location::Both,
                _ => Location::Query,
            };
            entries.push((name.clone(), s.clone(), loc, *req));
        }
        for (name, s, req) in &body_props {
            if in_query(name) && m.placement(name) != Some(Location::Body) {
                continue;
            }
            entries.push((name.clone(), s.clone(), Location::Body, *req));
        }
        pagination_arguments(m.pagination, &mut entries);

        let mut taken = Vec::new();
        let mut args = Vec::new();
        for (name, mut s, location, schema_required) in entries {
            let is_file = m.files.contains(&name);
            if is_file {
                s = file_schema(&s);
            }
            let context = m.context.contains(&name).then(|| name.clone());
            if context.is_some() {
                append_description(&mut s, CONTEXT_HINT);
            }
            let required_here = location == Location::Path || (schema_required && context.is_none());
            if required_here {
                input.required.push(Value::String(name.clone()));
            }
            let ty = if is_file { file_type(&s) } else { arg_type(&s) };
            let field = naming::field_name(&name, &mut taken);
            args.push(ArgIr {
                upstream: m.args.get(&name).and_then(|a| a.as_.clone()).unwrap_or_else(|| name.clone()),
                description: s.get("description").and_then(Value::as_str).map(str::to_owned),
                name: name.clone(),
                ident: field.ident,
                rename: field.rename,
                location,
                ty,
                required: required_here,
                context_required: context.is_some() && schema_required,
                context,
            });
            input.properties.insert(name, s);
        }
        args
    }

    /// The arguments the server consumes itself: `wait` and `wait_timeout_seconds` on
    /// long-running methods, `max_items` on lists, `fields` on tools whose output schema
    /// names fields, and the record's `server_schema`. In the input schema (so they
    /// validate and models see them), never in `Args`.
    pub(super) fn server_arguments(&self, schemas: &Schemas, kind: Kind, output: Option<&Value>, input: &mut Input) -> Result<Vec<String>> {
        let (m, doc_file, key) = (self.m, self.doc_file, self.key);
        let mut server_args = Vec::new();
        if m.async_.is_some() {
            for (name, s) in wait_args() {
                if input.properties.contains_key(name) {
                    return Err(internal(
                        doc_file,
                        key,
                        format!("`{name}` is reserved on long-running methods (the server's wait argument); rename the upstream field with `args.{name}.as`"),
                    ));
                }
                input.properties.insert(name.to_owned(), s);
                server_args.push(name.to_owned());
            }
        }
        if kind == Kind::List {
            let name = rules::MAX_ITEMS;
            if input.properties.contains_key(name) {
                return Err(internal(
                    doc_file,
                    key,
                    format!("`{name}` is reserved on list methods (the server's page walker); rename the upstream field with `args.{name}.as`"),
                ));
            }
            let description = match m.pagination {
                Pagination::Cursor | Pagination::Page => {
                    "Collect up to this many items over several pages; the result says how to continue. Without it: one page."
                }
                Pagination::None => "Return at most this many items.",
            };
            let (min, max) = (*rules::MAX_ITEMS_RANGE.start(), *rules::MAX_ITEMS_RANGE.end());
            input.properties.insert(name.into(), json!({"type": "integer", "minimum": min, "maximum": max, "description": description}));
            server_args.push(name.to_owned());
        }
        for (name, s, req) in schemas.server.as_ref().map(props_of).unwrap_or_default() {
            if req {
                input.required.push(Value::String(name.clone()));
            }
            server_args.push(name.clone());
            input.properties.insert(name, s);
        }
        if let Some(example) = output.and_then(field_example) {
            let name = rules::FIELDS;
            if input.properties.contains_key(name) {
                return Err(internal(doc_file, key, format!("`{name}` is reserved on tools with an output schema (the server's projection of the result)")));
            }
            input.properties.insert(
                name.into(),
                json!({"type": "array", "items": {"type": "string"}, "description": format!(
                    "Result fields to keep (dotted paths), e.g. [\"{example}\"]."
                )}),
            );
            server_args.push(name.to_owned());
        }
        Ok(server_args)
    }
}

/// The `fields` path the argument's description shows: the first field of the first
/// array of objects (`items.id`), else the first field. `None` when the schema names no
/// field, so the tool takes no `fields`.
pub(super) fn field_example(output: &Value) -> Option<String> {
    let props = schema::properties(output);
    let nested = props.iter().find_map(|(name, s)| {
        let items = s.get("items").unwrap_or(s);
        schema::properties(items).first().map(|(child, _)| format!("{name}{}{child}", rules::FIELD_SEPARATOR))
    });
    nested.or_else(|| props.first().map(|(name, _)| (*name).clone()))
}

/// The pagination arguments, added when the record does not declare them.
fn pagination_arguments(pagination: Pagination, entries: &mut Vec<(String, Value, Location, bool)>) {
    match pagination {
        Pagination::Cursor => {
            ensure_query(entries, "cursor", json!({"type": "string", "description": CURSOR_HINT}));
            ensure_query(entries, "page_size", json!({"type": "integer", "minimum": 1, "maximum": 100}));
            if let Some(e) = entries.iter_mut().find(|e| e.0 == "cursor") {
                append_description(&mut e.1, CURSOR_HINT);
            }
        }
        Pagination::Page => {
            ensure_query(entries, "page", json!({"type": "integer", "minimum": 1, "description": "From 1; the result's `total_pages` says when to stop."}));
            ensure_query(entries, "page_size", json!({"type": "integer", "minimum": 1}));
        }
        Pagination::None => {}
    }
}

/// The server-side waiting arguments of a long-running method (the tool's description
/// names the status tool and the final states; bounds and default are in the schema).
fn wait_args() -> [(&'static str, Value); 2] {
    let (min, max, default) = (*rules::WAIT_TIMEOUT_RANGE.start(), *rules::WAIT_TIMEOUT_RANGE.end(), rules::WAIT_TIMEOUT_DEFAULT);
    [
        (rules::WAIT, json!({"type": "boolean", "description": "Wait for the work to finish and return the final record. Without it: the unfinished state."})),
        (
            rules::WAIT_TIMEOUT_SECONDS,
            json!({"type": "integer", "minimum": min, "maximum": max, "default": default, "description": format!(
                "Seconds `{}` may take. On timeout: the latest state and the id to poll; the work goes on.",
                rules::WAIT
            )}),
        ),
    ]
}

fn props_of(s: &Value) -> Vec<(String, Value, bool)> {
    let req = schema::required(s);
    schema::properties(s).into_iter().map(|(k, v)| (k.clone(), v.clone(), req.contains(&k.as_str()))).collect()
}

fn ensure_query(entries: &mut Vec<(String, Value, Location, bool)>, name: &str, s: Value) {
    if !entries.iter().any(|e| e.0 == name) {
        entries.push((name.to_owned(), s, Location::Query, false));
    }
}

fn append_description(s: &mut Value, extra: &str) {
    if let Value::Object(o) = s {
        let text = match o.get("description").and_then(Value::as_str) {
            Some(d) if d.contains(extra) => return,
            Some(d) => format!("{} {extra}", d.trim_end()),
            None => extra.to_owned(),
        };
        o.insert("description".into(), Value::String(text));
    }
}

fn escape_ptr(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
