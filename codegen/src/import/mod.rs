//! Drafts spec files from an OpenAPI 3.0 document, and compares a spec with documents.
//!
//! [`import_openapi`] turns the operations a [`ResourceMap`] selects into
//! `resources/*.yaml`, `docs/*.yaml`, `definitions.yaml` and a minimal
//! `integration.yaml` that together pass [`crate::generate`]. The draft is a starting
//! point: descriptions are copied from the document and marked `TODO`, and everything a
//! person should check is listed in [`Draft::notes`]. Nothing here touches the disk.
//!
//! - [`map`]: the resource map and the `"*": auto` naming rules
//! - `operation`: one operation → one method definition and documentation record
//! - `schema`: OpenAPI 3.0 schemas → JSON Schema 2020-12, and the `$defs` a draft needs
//! - `compare`: which operations a spec covers

mod compare;
pub mod map;
mod operation;
mod schema;

use std::collections::{BTreeMap, BTreeSet};

use heck::ToSnakeCase;
use openapiv3::OpenAPI;
use serde::Serialize;
use serde_json::{Value, json};

pub use compare::{Comparison, compare};
pub use map::{ResourceMap, Target, parse_resource_map};

use crate::naming;
use operation::{Ctx, MethodOut, RecordOut, STANDARD};
use schema::Schemas;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The text is not an OpenAPI 3.0 document.
    #[error("not an OpenAPI 3.0 document: {0}")]
    Document(String),
    /// The resource map is malformed.
    #[error("bad resource map: {0}")]
    Map(String),
    /// The integration name given is not a lowercase word.
    #[error("bad integration name `{0}`: use lowercase letters and digits, starting with a letter (e.g. `gumloop`)")]
    Name(String),
}

/// Options of [`import_openapi_with`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The integration name (`^[a-z][a-z0-9]*$`); by default a word of the document title.
    pub name: Option<String>,
}

/// Drafted spec files and what a person should look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// File contents by path relative to the spec directory: `integration.yaml`,
    /// `definitions.yaml`, `resources/<resource>.yaml`, `docs/<resource>.yaml`.
    pub files: BTreeMap<String, String>,
    /// Operations left out, as `VERB /path (operationId)` with the reason when it is not
    /// "the resource map does not name it".
    pub skipped: Vec<String>,
    /// Things to check, each starting with the operation or file it is about.
    pub notes: Vec<String>,
}

/// Drafts spec files for the operations `map` selects, naming the integration after the
/// document title (see [`import_openapi_with`]).
pub fn import_openapi(doc_text: &str, map: &ResourceMap) -> Result<Draft, ImportError> {
    import_openapi_with(doc_text, map, &ImportOptions::default())
}

/// A drafted resource.
#[derive(Default)]
struct Res {
    singular: Option<String>,
    methods: BTreeMap<String, MethodOut>,
    docs: BTreeMap<String, RecordOut>,
}

/// Drafts spec files for the operations `map` selects.
///
/// Each selected operation becomes a method (`http`, with the last path parameter of a
/// `get`/`update`/`delete` renamed `id`; `pagination`, `body_format`, `files`, `response`
/// and `base` when the document implies them) and a documentation record (the
/// operation's text marked `TODO`, and path, query, body and response schemas).
/// Referenced component schemas are copied into `definitions.yaml`. Whatever would make
/// the draft invalid (a by-id method without an id, clashing or over-long tool names,
/// recursive schemas) is adjusted and noted, so the draft always passes
/// [`crate::generate`].
pub fn import_openapi_with(doc_text: &str, map: &ResourceMap, options: &ImportOptions) -> Result<Draft, ImportError> {
    let doc = parse_document(doc_text)?;
    let mut draft = Draft::default();
    let mut notes = Vec::new();
    let name = match &options.name {
        Some(n) if valid_name(n) => n.clone(),
        Some(n) => return Err(ImportError::Name(n.clone())),
        None => {
            let n = name_from_title(&doc.info.title);
            notes.push(format!("integration.yaml: `name: {n}` comes from the title \"{}\"; pass --name to choose another", doc.info.title));
            n
        }
    };
    let api = api_base(&doc, &mut notes);
    let mut schemas = Schemas::new(&doc);
    let ops = operation::operations(&doc);
    for (path, item) in &doc.paths.paths {
        if let openapiv3::ReferenceOr::Reference { reference } = item {
            draft.skipped.push(format!("{path} (the path item is a `$ref` to {reference}, which is not followed)"));
        }
    }

    // Targets: the map's first, so its keys are reserved before auto keys are chosen.
    let mut targets: Vec<Option<(Target, Option<String>)>> = vec![None; ops.len()];
    let mut used_entries = BTreeSet::new();
    let mut taken: BTreeSet<Target> = BTreeSet::new();
    for (i, o) in ops.iter().enumerate() {
        let reason = unsupported(o);
        if let Some((key, t)) = map.lookup(o.op.operation_id.as_deref(), &o.verb, &o.path) {
            used_entries.insert(key.to_owned());
            if let Some(why) = reason {
                draft.skipped.push(format!("{} ({why})", op_label(o)));
                continue;
            }
            targets[i] = Some((t.clone(), None));
            taken.insert(t.clone());
        } else if let Some(why) = reason {
            draft.skipped.push(format!("{} ({why})", op_label(o)));
        }
    }
    for key in map.entries.keys().filter(|k| !used_entries.contains(*k)) {
        notes.push(format!("resource map: `{key}` matches no operation of the document"));
    }
    if map.auto {
        auto_targets(&ops, &mut targets, &mut taken);
    }

    let mut resources: BTreeMap<String, Res> = BTreeMap::new();
    let mut ws = None;
    for (o, t) in ops.iter().zip(&targets) {
        let Some((t, singular)) = t else {
            if unsupported(o).is_none() {
                draft.skipped.push(op_label(o));
            }
            continue;
        };
        let mut cx = Ctx { doc: &doc, schemas: &mut schemas, api: &api, ws: &mut ws, notes: &mut notes };
        let (m, r) = operation::draft(o, t, &mut cx);
        let res = resources.entry(t.resource.clone()).or_default();
        if singular.is_some() {
            res.singular.clone_from(singular);
        }
        res.methods.insert(t.method.clone(), m);
        res.docs.insert(t.method.clone(), r);
    }
    fix_tool_names(&mut resources, &name, &mut notes);

    let used: Vec<&Value> = resources
        .values()
        .flat_map(|r| r.docs.values())
        .flat_map(|d| [&d.path_schema, &d.query_schema, &d.body_schema, &d.response_schema])
        .flatten()
        .collect();
    let defs = schemas.definitions(used.into_iter(), &mut notes);
    for r in &schemas.odd_refs {
        notes.push(format!("definitions.yaml: `$ref: {r}` is not a local component schema; it became an open schema"));
    }
    if !resources.is_empty() {
        notes.push("docs/*.yaml: every description is copied from the document and starts with TODO; rewrite each in your own words for a model".into());
    }

    let mut base_urls = json!({"api": api});
    if let Some(ws) = &ws {
        base_urls["ws"] = json!(ws);
    }
    let integration = json!({
        "name": name, "title": doc.info.title.trim(), "base_urls": base_urls, "auth": {"bearer": true}, "tags": {},
    });
    auth_notes(&doc, &mut notes);
    draft.files.insert("integration.yaml".into(), yaml(&integration));
    if !defs.is_empty() {
        draft.files.insert("definitions.yaml".into(), yaml(&json!({"$defs": defs})));
    }
    for (resource, r) in resources {
        #[derive(Serialize)]
        struct ResourceOut<'a> {
            resource: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            singular: Option<String>,
            methods: BTreeMap<String, MethodOut>,
        }
        let out = ResourceOut { resource: &resource, singular: r.singular, methods: r.methods };
        draft.files.insert(format!("resources/{resource}.yaml"), yaml(&out));
        draft.files.insert(format!("docs/{resource}.yaml"), yaml(&r.docs));
    }
    draft.notes = notes;
    Ok(draft)
}

/// Parses and checks the document version.
fn parse_document(text: &str) -> Result<OpenAPI, ImportError> {
    let doc: OpenAPI = serde_yaml::from_str(text).map_err(|e| {
        let raw: Option<serde_yaml::Value> = serde_yaml::from_str(text).ok();
        let version = raw.as_ref().and_then(|r| r.get("openapi").or_else(|| r.get("swagger"))).and_then(|v| v.as_str().map(str::to_owned));
        match version {
            Some(v) if !v.starts_with("3.0") => ImportError::Document(format!("version {v} is not supported (only 3.0.x)")),
            _ => ImportError::Document(e.to_string()),
        }
    })?;
    if !doc.openapi.starts_with("3.0") {
        return Err(ImportError::Document(format!("version {} is not supported (only 3.0.x)", doc.openapi)));
    }
    Ok(doc)
}

fn valid_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_lowercase()) && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// The first word of the title that is not generic (`public`, `api`, …).
fn name_from_title(title: &str) -> String {
    const GENERIC: &[&str] = &["the", "public", "api", "apis", "rest", "http", "openapi", "service", "v1", "v2", "v3"];
    title.to_snake_case().split('_').find(|w| !GENERIC.contains(w) && valid_name(w)).unwrap_or("api").to_owned()
}

/// `servers[0].url` with variables at their defaults, without a trailing `/`.
fn api_base(doc: &OpenAPI, notes: &mut Vec<String>) -> String {
    let Some(server) = doc.servers.first() else {
        notes.push("integration.yaml: the document has no `servers`; set `base_urls.api`".into());
        return "https://api.example.com".into();
    };
    let mut url = server.url.clone();
    for (k, v) in server.variables.iter().flatten() {
        url = url.replace(&format!("{{{k}}}"), &v.default);
    }
    let url = url.trim_end_matches('/').to_owned();
    if url.starts_with("https://") || url.starts_with("http://") {
        return url;
    }
    notes.push(format!("integration.yaml: the server URL `{}` is not absolute; set `base_urls.api`", server.url));
    format!("https://api.example.com{}", if url.starts_with('/') { url } else { String::new() })
}

fn auth_notes(doc: &OpenAPI, notes: &mut Vec<String>) {
    let Some(c) = &doc.components else { return };
    for (name, s) in &c.security_schemes {
        let bearer = matches!(s, openapiv3::ReferenceOr::Item(openapiv3::SecurityScheme::HTTP { scheme, .. }) if scheme.eq_ignore_ascii_case("bearer"));
        if !bearer {
            notes.push(format!("integration.yaml: security scheme `{name}` is not HTTP bearer; `auth` was drafted as bearer, check it"));
        }
    }
}

/// `VERB /path (operationId)`.
fn op_label(o: &operation::Op) -> String {
    match &o.op.operation_id {
        Some(id) => format!("{} ({id})", o.label()),
        None => o.label(),
    }
}

/// Why the spec format cannot express an operation, if it cannot.
fn unsupported(o: &operation::Op) -> Option<String> {
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&o.verb.as_str()) {
        return Some(format!("the spec format has no {} methods", o.verb));
    }
    map::template_params(&o.path).is_none().then(|| "a path parameter is not a whole segment".to_owned())
}

/// Targets for the operations the map does not name: a resource from the first path
/// segment; a standard key when the verb and path shape suggest one and it is free (the
/// shortest path wins it), else a custom key from the operationId.
fn auto_targets(ops: &[operation::Op], targets: &mut [Option<(Target, Option<String>)>], taken: &mut BTreeSet<Target>) {
    let mut order: Vec<usize> = (0..ops.len()).filter(|i| targets[*i].is_none() && unsupported(&ops[*i]).is_none()).collect();
    order.sort_by_key(|i| (ops[*i].path.split('/').filter(|s| !s.is_empty()).count(), *i));
    let mut pending = Vec::new();
    for i in order {
        let o = &ops[i];
        let (resource, singular) = map::auto_resource(&o.path);
        let standard = map::shape_kind(&o.verb, &o.path).map(|k| Target { resource: resource.clone(), method: k.to_owned() });
        match standard.filter(|t| !taken.contains(t)) {
            Some(t) => {
                taken.insert(t.clone());
                targets[i] = Some((t, singular));
            }
            None => pending.push((i, resource, singular)),
        }
    }
    pending.sort_by_key(|(i, ..)| *i);
    for (i, resource, singular) in pending {
        let o = &ops[i];
        let plain = naming::singular(&resource);
        let base = map::custom_key(o.op.operation_id.as_deref(), &o.verb, &o.path, &resource, singular.as_deref().unwrap_or(&plain));
        let base = if STANDARD.contains(&base.as_str()) { format!("{base}_{}", o.verb.to_lowercase()) } else { base };
        let mut t = Target { resource, method: base.clone() };
        let mut n = 2;
        while taken.contains(&t) {
            t.method = format!("{base}_{n}");
            n += 1;
        }
        taken.insert(t.clone());
        targets[i] = Some((t, singular));
    }
}

/// Gives every method a valid, unique tool name, setting `tool_name` where the naming
/// rule's name is too long or already used.
fn fix_tool_names(resources: &mut BTreeMap<String, Res>, name: &str, notes: &mut Vec<String>) {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (resource, r) in resources.iter_mut() {
        let singular = r.singular.clone().unwrap_or_else(|| naming::singular(resource));
        for (key, m) in r.methods.iter_mut() {
            let standard =
                m.kind.is_none().then(|| crate::spec::Kind::standard(key).and_then(|k| naming::standard_tool_name(k, name, resource, &singular))).flatten();
            let rule = standard.unwrap_or_else(|| naming::custom_tool_name(key, name, &singular));
            let max = gumloop_mcp_runtime::rules::MAX_TOOL_NAME;
            let tool = gumloop_mcp_runtime::rules::unique_name("", &shorten(&rule, max), |n| seen.contains(n));
            if tool != rule {
                let why = if rule.len() > max { format!("is {} characters long", rule.len()) } else { "is already taken".to_owned() };
                notes.push(format!("resources/{resource}.yaml: `{key}`'s tool name `{rule}` {why}; drafted `tool_name: {tool}`"));
                m.tool_name = Some(tool.clone());
            }
            seen.insert(tool);
        }
    }
}

/// `name` cut to at most `max` characters at a word boundary.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let cut = &name[..max];
    match cut.rfind('_') {
        Some(i) if i > max / 2 => cut[..i].to_owned(),
        _ => cut.trim_end_matches('_').to_owned(),
    }
}

fn yaml<T: Serialize>(v: &T) -> String {
    serde_yaml::to_string(v).expect("drafted values serialise as YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name_from_title("Public Agents File Handling API"), "agents");
        assert_eq!(name_from_title("The API"), "api");
        assert!(valid_name("gumloop2") && !valid_name("gum_loop") && !valid_name("2x"));
        assert_eq!(shorten("list_all_gumloop_things", 17), "list_all_gumloop");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
