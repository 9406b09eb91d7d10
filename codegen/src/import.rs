//! Drafts spec files from an OpenAPI 3.0 document, and compares a spec with one.
//!
//! The draft is a starting point: descriptions are copied from the document and marked
//! for rewriting, and everything a person should check is listed in [`Draft::notes`].

use std::collections::{BTreeMap, BTreeSet};

use heck::ToSnakeCase;
use openapiv3::{OpenAPI, Operation, Parameter, ParameterSchemaOrContent, ReferenceOr, RequestBody};
use serde_json::{Map, Value, json};

use crate::naming;
use crate::spec::Spec;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The document is not OpenAPI 3.0.
    #[error("not an OpenAPI 3.0 document: {0}")]
    Document(String),
    /// The resource map is malformed.
    #[error("bad resource map: {0}")]
    Map(String),
}

/// Which operation becomes which `resource.method`; `"*": auto` drafts the rest too.
#[derive(Debug, Clone, Default)]
pub struct ResourceMap {
    /// Keyed by operationId or by `VERB /path`.
    pub entries: BTreeMap<String, (String, String)>,
    /// Draft unmapped operations into resources named after their first path segment.
    pub auto: bool,
}

/// Parses a YAML map of `operationId` or `"VERB /path"` to `resource.method`.
pub fn parse_resource_map(text: &str) -> Result<ResourceMap, ImportError> {
    let raw: BTreeMap<String, String> = serde_yaml::from_str(text).map_err(|e| ImportError::Map(e.to_string()))?;
    let mut map = ResourceMap::default();
    for (k, v) in raw {
        if k == "*" {
            map.auto = v == "auto";
            continue;
        }
        let (r, m) = v.split_once('.').ok_or_else(|| ImportError::Map(format!("`{k}: {v}` is not `resource.method`")))?;
        map.entries.insert(k, (r.to_owned(), m.to_owned()));
    }
    Ok(map)
}

/// Drafted spec files, by path relative to the spec directory.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// `integration.yaml`, `definitions.yaml`, `resources/*.yaml`, `docs/*.yaml`.
    pub files: BTreeMap<String, String>,
    /// Operations left out (not in the map).
    pub skipped: Vec<String>,
    /// Things a person should check.
    pub notes: Vec<String>,
}

/// A drafted resource: method definitions and documentation records, by method key.
type Drafted = (Map<String, Value>, Map<String, Value>);

struct Op<'a> {
    verb: String,
    path: String,
    op: &'a Operation,
    params: Vec<Parameter>,
}

fn operations(doc: &OpenAPI) -> Vec<Op<'_>> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ReferenceOr::Item(item) = item else { continue };
        for (verb, op) in item.iter() {
            let mut params: Vec<Parameter> = Vec::new();
            for p in item.parameters.iter().chain(&op.parameters) {
                if let Some(p) = resolve_param(doc, p) {
                    params.retain(|q: &Parameter| q.parameter_data_ref().name != p.parameter_data_ref().name);
                    params.push(p);
                }
            }
            out.push(Op { verb: verb.to_uppercase(), path: path.clone(), op, params });
        }
    }
    out
}

fn resolve_param(doc: &OpenAPI, p: &ReferenceOr<Parameter>) -> Option<Parameter> {
    match p {
        ReferenceOr::Item(p) => Some(p.clone()),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/parameters/")?;
            match doc.components.as_ref()?.parameters.get(name)? {
                ReferenceOr::Item(p) => Some(p.clone()),
                _ => None,
            }
        }
    }
}

/// An OpenAPI 3.0 schema as JSON Schema 2020-12: refs into `$defs`, `nullable` as a type
/// union, and OpenAPI-only keywords dropped.
fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                match k.as_str() {
                    "$ref" => {
                        let r = v.as_str().unwrap_or_default().replace("#/components/schemas/", "#/$defs/");
                        out.insert(k.clone(), json!(r));
                    }
                    "nullable" | "example" | "xml" | "discriminator" | "externalDocs" => {}
                    "properties" => {
                        let props = v.as_object().map(|p| p.iter().map(|(k, v)| (k.clone(), to_json_schema(v))).collect()).unwrap_or_default();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    _ => {
                        out.insert(k.clone(), to_json_schema(v));
                    }
                }
            }
            if m.get("nullable") == Some(&json!(true))
                && let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

fn schema_json<T: serde::Serialize>(s: &T) -> Value {
    to_json_schema(&serde_json::to_value(s).unwrap_or(Value::Null))
}

fn body_of(doc: &OpenAPI, op: &Operation) -> Option<(String, Value)> {
    let body: RequestBody = match op.request_body.as_ref()? {
        ReferenceOr::Item(b) => b.clone(),
        ReferenceOr::Reference { reference } => match doc.components.as_ref()?.request_bodies.get(reference.rsplit('/').next()?)? {
            ReferenceOr::Item(b) => b.clone(),
            _ => return None,
        },
    };
    let (ctype, media) = body.content.iter().find(|(c, _)| c.contains("json") || c.contains("multipart")).or_else(|| body.content.iter().next())?;
    Some((ctype.clone(), media.schema.as_ref().map(schema_json).unwrap_or(json!({"type": "object"}))))
}

fn response_of(op: &Operation) -> (bool, Option<Value>) {
    for (code, resp) in &op.responses.responses {
        let code = code.to_string();
        if !code.starts_with('2') {
            continue;
        }
        let ReferenceOr::Item(resp) = resp else { return (false, None) };
        if let Some(media) = resp.content.iter().find(|(c, _)| c.contains("json")).map(|(_, m)| m) {
            return (false, media.schema.as_ref().map(schema_json));
        }
        if !resp.content.is_empty() {
            return (true, None);
        }
    }
    (false, None)
}

fn method_key(verb: &str, path: &str, op: &Operation, taken: &BTreeSet<String>) -> String {
    let by_id = path.trim_end_matches('/').ends_with('}');
    let standard = match (verb, by_id) {
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", false) => "create",
        ("PATCH" | "PUT", true) => "update",
        ("DELETE", true) => "delete",
        _ => "",
    };
    if !standard.is_empty() && !taken.contains(standard) {
        return standard.to_owned();
    }
    let base = op.operation_id.as_deref().map(|s| s.to_snake_case()).unwrap_or_else(|| format!("{}_{}", verb.to_lowercase(), path.to_snake_case()));
    let mut key = base.clone();
    let mut n = 2;
    while taken.contains(&key) || naming::standard_tool_name(&key, "x", "x", "x").is_some() {
        key = format!("{base}_{n}");
        n += 1;
    }
    key
}

/// Drafts spec files from `doc_text` for the operations `map` selects.
pub fn import_openapi(doc_text: &str, map: &ResourceMap, name: &str) -> Result<Draft, ImportError> {
    let doc: OpenAPI = serde_yaml::from_str(doc_text).map_err(|e| ImportError::Document(e.to_string()))?;
    let mut draft = Draft::default();
    // resource → (method definitions, documentation records)
    let mut resources: BTreeMap<String, Drafted> = BTreeMap::new();
    for o in operations(&doc) {
        let key = format!("{} {}", o.verb, o.path);
        let target = o.op.operation_id.as_ref().and_then(|id| map.entries.get(id)).or_else(|| map.entries.get(&key)).cloned();
        let (resource, method) = match target {
            Some(t) => t,
            None if map.auto => {
                let seg = o.path.split('/').find(|s| !s.is_empty() && !s.starts_with('{')).unwrap_or("root").to_snake_case();
                let resource = if seg.ends_with('s') { seg } else { format!("{seg}s") };
                let taken: BTreeSet<String> = resources.get(&resource).map(|(m, _)| m.keys().cloned().collect()).unwrap_or_default();
                let method = method_key(&o.verb, &o.path, o.op, &taken);
                (resource, method)
            }
            None => {
                draft.skipped.push(key);
                continue;
            }
        };
        let (methods, docs) = resources.entry(resource.clone()).or_default();
        let by_id = matches!(method.as_str(), "get" | "update" | "delete");
        // By-id kinds take `id`: rename the last path parameter.
        let mut path = o.path.clone();
        let last_param = o.path.rsplit('/').find_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).map(str::to_owned);
        let renamed = by_id.then_some(last_param.clone()).flatten().filter(|p| p != "id");
        if let Some(p) = &renamed {
            path = path.replace(&format!("{{{p}}}"), "{id}");
        }
        let mut m = Map::new();
        m.insert("http".into(), json!(format!("{} {path}", o.verb)));
        let mut d = Map::new();
        let text = o.op.description.clone().or_else(|| o.op.summary.clone()).unwrap_or_else(|| format!("{} {}", o.verb, o.path));
        d.insert("description".into(), json!(format!("TODO rewrite in your own words: {}", text.trim())));
        let (mut path_props, mut query_props, mut query_req) = (Map::new(), Map::new(), Vec::new());
        for p in &o.params {
            let data = p.parameter_data_ref();
            let mut s = match &data.format {
                ParameterSchemaOrContent::Schema(s) => schema_json(s),
                ParameterSchemaOrContent::Content(_) => json!({"type": "string"}),
            };
            if let (Some(desc), Value::Object(o)) = (&data.description, &mut s) {
                o.entry("description").or_insert(json!(desc));
            }
            match p {
                Parameter::Path { .. } => {
                    let n = if renamed.as_deref() == Some(data.name.as_str()) { "id".to_owned() } else { data.name.clone() };
                    path_props.insert(n, s);
                }
                Parameter::Query { .. } => {
                    if data.required {
                        query_req.push(json!(data.name));
                    }
                    query_props.insert(data.name.clone(), s);
                }
                _ => draft.notes.push(format!("{key}: header/cookie parameter `{}` left out", data.name)),
            }
        }
        if !path_props.is_empty() {
            d.insert("path_schema".into(), json!({"type": "object", "properties": path_props}));
        }
        if !query_props.is_empty() {
            let mut q = json!({"type": "object", "properties": query_props});
            if !query_req.is_empty() {
                q["required"] = Value::Array(query_req);
            }
            d.insert("query_schema".into(), q);
        }
        if let Some((ctype, body)) = body_of(&doc, o.op) {
            if o.verb == "GET" || o.verb == "DELETE" {
                draft.notes.push(format!("{key}: the request body of a {} was left out", o.verb));
            } else {
                if ctype.contains("multipart") {
                    m.insert("body_format".into(), json!("multipart"));
                    let files: Vec<String> = body
                        .get("properties")
                        .and_then(Value::as_object)
                        .map(|p| p.iter().filter(|(_, s)| s.to_string().contains("\"binary\"")).map(|(k, _)| k.clone()).collect())
                        .unwrap_or_default();
                    if !files.is_empty() {
                        m.insert("files".into(), json!(files));
                    }
                }
                let body = if body.get("type").is_none() && body.get("$ref").is_none() { json!({"type": "object"}) } else { body };
                d.insert("body_schema".into(), body);
            }
        }
        let (binary, resp) = response_of(o.op);
        if binary {
            m.insert("response".into(), json!("binary"));
        } else if let Some(r) = resp {
            d.insert("response_schema".into(), r);
        }
        let has = |s: &str| d.get("query_schema").and_then(|q| q.pointer(&format!("/properties/{s}"))).is_some();
        let resp_has = |s: &str| d.get("response_schema").is_some_and(|r| r.to_string().contains(&format!("\"{s}\"")));
        if method == "list" && has("cursor") && resp_has("next_cursor") {
            m.insert("pagination".into(), json!("cursor"));
        } else if method == "list" && has("page") && resp_has("total_pages") {
            m.insert("pagination".into(), json!("page"));
        }
        if by_id && !path_props.contains_key("id") && !Value::Object(d.clone()).to_string().contains("\"id\"") {
            draft.notes.push(format!("{key}: drafted as `{method}` but it has no `id`; it was made a custom method"));
        }
        methods.insert(method.clone(), Value::Object(m));
        docs.insert(method, Value::Object(d));
    }

    // A by-id kind without an id becomes custom, so the draft always validates.
    for (resource, (methods, docs)) in &mut resources {
        let keys: Vec<String> = methods.keys().cloned().collect();
        for k in keys {
            let doc = docs.get(&k).unwrap().to_string();
            if matches!(k.as_str(), "get" | "update" | "delete") && !doc.contains("\"id\"") {
                let new = format!("{k}_{}", resource.trim_end_matches('s'));
                let m = methods.remove(&k).unwrap();
                methods.insert(new.clone(), m);
                let d = docs.remove(&k).unwrap();
                docs.insert(new, d);
            }
        }
        let singular = naming::singular(resource);
        for (k, m) in methods.iter_mut() {
            let tool = naming::standard_tool_name(k, name, resource, &singular).unwrap_or_else(|| naming::custom_tool_name(k, name, &singular));
            if naming::tool_name_problem(&tool).is_some() {
                let short: String = tool.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect::<String>().to_lowercase();
                draft.notes.push(format!("{resource}.{k}: tool name `{tool}` was shortened to `{short}`"));
                m["tool_name"] = json!(short);
            }
        }
    }

    let title = doc.info.title.clone();
    let api = doc.servers.first().map(|s| s.url.trim_end_matches('/').to_owned()).unwrap_or_else(|| "https://api.example.com".into());
    draft.files.insert("integration.yaml".into(), yaml(&json!({"name": name, "title": title, "base_urls": {"api": api}, "auth": {"bearer": true}})));
    let defs: Map<String, Value> = doc
        .components
        .as_ref()
        .map(|c| c.schemas.iter().map(|(k, s)| (k.clone(), schema_json(s))).collect())
        .unwrap_or_default();
    draft.files.insert("definitions.yaml".into(), yaml(&json!({"$defs": defs})));
    for (resource, (methods, docs)) in resources {
        draft.files.insert(format!("resources/{resource}.yaml"), yaml(&json!({"resource": resource, "methods": methods})));
        draft.files.insert(format!("docs/{resource}.yaml"), yaml(&Value::Object(docs)));
    }
    Ok(draft)
}

fn yaml(v: &Value) -> String {
    serde_yaml::to_string(v).expect("JSON values serialise as YAML")
}

fn normalise(verb: &str, path: &str) -> String {
    let p: Vec<String> = path.split('/').map(|s| if s.starts_with('{') { "{}".to_owned() } else { s.to_owned() }).collect();
    format!("{verb} {}", p.join("/"))
}

/// Operations of the document the spec does not describe, and spec methods the document
/// does not list (path parameter names are ignored).
pub fn compare(spec: &Spec, doc_text: &str) -> Result<Vec<String>, ImportError> {
    let doc: OpenAPI = serde_yaml::from_str(doc_text).map_err(|e| ImportError::Document(e.to_string()))?;
    let in_doc: BTreeSet<String> = operations(&doc).iter().map(|o| normalise(&o.verb, &o.path)).collect();
    let in_spec: BTreeMap<String, String> = spec
        .resources
        .iter()
        .flat_map(|r| r.value.methods.iter().map(move |(k, m)| (r.value.resource.clone(), k.clone(), m.http.clone())))
        .filter_map(|(r, k, http)| http.split_once(' ').map(|(v, p)| (normalise(v, p), format!("{r}.{k}"))))
        .collect();
    let mut out = Vec::new();
    for op in &in_doc {
        if !in_spec.contains_key(op) {
            out.push(format!("not in the spec: {op}"));
        }
    }
    Ok(out)
}

/// Spec methods whose verb and path no document in `docs` lists.
pub fn missing_from_documents(spec: &Spec, docs: &[&str]) -> Result<Vec<String>, ImportError> {
    let mut all = BTreeSet::new();
    for d in docs {
        let doc: OpenAPI = serde_yaml::from_str(d).map_err(|e| ImportError::Document(e.to_string()))?;
        all.extend(operations(&doc).iter().map(|o| normalise(&o.verb, &o.path)));
    }
    Ok(spec
        .resources
        .iter()
        .flat_map(|r| r.value.methods.iter().map(move |(k, m)| (format!("{}.{k}", r.value.resource), m.http.clone())))
        .filter_map(|(name, http)| {
            let (v, p) = http.split_once(' ')?;
            (!all.contains(&normalise(v, p))).then(|| format!("{name} ({http}) is not in the published OpenAPI"))
        })
        .collect())
}
