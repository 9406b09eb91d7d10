//! Drafting one OpenAPI operation: its method definition and its documentation record.

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{Components, OpenAPI, Operation, Parameter, ParameterSchemaOrContent, ReferenceOr, RequestBody, Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::map::Target;
use super::schema::{self, Schemas};

/// The standard method kinds.
pub(super) const STANDARD: &[&str] = &["list", "get", "create", "update", "delete"];
/// The spec's context values: arguments the server can fill from the credential.
const CONTEXT: &[&str] = &["user_id", "team_id", "project_id"];

/// One operation of the document, with its path-item parameters merged in.
pub(super) struct Op<'a> {
    pub verb: String,
    pub path: String,
    pub op: &'a Operation,
    pub params: Vec<Parameter>,
    /// Servers declared on the operation or its path item.
    pub servers: Vec<String>,
}

impl Op<'_> {
    /// `VERB /path`.
    pub fn label(&self) -> String {
        format!("{} {}", self.verb, self.path)
    }
}

/// Every operation of the document, in document order. Parameters declared on the
/// operation replace path-item ones of the same name and location.
pub(super) fn operations(doc: &OpenAPI) -> Vec<Op<'_>> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ReferenceOr::Item(item) = item else { continue };
        for (verb, op) in item.iter() {
            let mut params: Vec<Parameter> = Vec::new();
            for p in item.parameters.iter().chain(&op.parameters) {
                if let Some(p) = resolve(doc, p, |c, n| c.parameters.get(n)) {
                    let same = |q: &Parameter| q.parameter_data_ref().name == p.parameter_data_ref().name && location(q) == location(&p);
                    params.retain(|q| !same(q));
                    params.push(p);
                }
            }
            let servers = if op.servers.is_empty() { &item.servers } else { &op.servers };
            let servers = servers.iter().map(|s| s.url.trim_end_matches('/').to_owned()).collect();
            out.push(Op { verb: verb.to_uppercase(), path: path.clone(), op, params, servers });
        }
    }
    out
}

fn location(p: &Parameter) -> &'static str {
    match p {
        Parameter::Query { .. } => "query",
        Parameter::Header { .. } => "header",
        Parameter::Path { .. } => "path",
        Parameter::Cookie { .. } => "cookie",
    }
}

/// An item, or the `#/components/...` item a reference names.
fn resolve<'a, T: Clone + 'a>(doc: &'a OpenAPI, r: &'a ReferenceOr<T>, pick: impl Fn(&'a Components, &str) -> Option<&'a ReferenceOr<T>>) -> Option<T> {
    let mut cur = r;
    for _ in 0..8 {
        match cur {
            ReferenceOr::Item(t) => return Some(t.clone()),
            ReferenceOr::Reference { reference } => cur = pick(doc.components.as_ref()?, reference.rsplit('/').next()?)?,
        }
    }
    None
}

/// `args.<name>` of a method definition.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct ArgOut {
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_: Option<String>,
    #[serde(rename = "as", skip_serializing_if = "Option::is_none")]
    pub as_: Option<String>,
}

/// A method definition, shaped like [`crate::spec::Method`].
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct MethodOut {
    pub http: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_format: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, ArgOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

/// A documentation record, shaped like [`crate::spec::DocRecord`].
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct RecordOut {
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
}

/// What drafting needs besides the operation.
pub(super) struct Ctx<'a> {
    pub doc: &'a OpenAPI,
    pub schemas: &'a mut Schemas,
    /// `base_urls.api`.
    pub api: &'a str,
    /// `base_urls.ws`, set by the first operation served from another host.
    pub ws: &'a mut Option<String>,
    pub notes: &'a mut Vec<String>,
}

/// An object schema's properties and required names, as they are being drafted.
#[derive(Default)]
struct Obj {
    props: Map<String, Value>,
    required: Vec<String>,
}

impl Obj {
    fn schema(self) -> Option<Value> {
        if self.props.is_empty() {
            return None;
        }
        let mut s = json!({"type": "object"});
        if !self.required.is_empty() {
            s["required"] = json!(self.required);
        }
        s["properties"] = Value::Object(self.props);
        Some(s)
    }

    fn rename(&mut self, from: &str, to: &str) {
        let props = std::mem::take(&mut self.props);
        self.props = props.into_iter().map(|(k, v)| (if k == from { to.to_owned() } else { k }, v)).collect();
        self.required.iter_mut().filter(|r| *r == from).for_each(|r| *r = to.to_owned());
    }
}

/// Drafts the method definition and documentation record of `op` as `target`.
pub(super) fn draft(o: &Op, target: &Target, cx: &mut Ctx) -> (MethodOut, RecordOut) {
    let label = format!("{} → {target}", o.label());
    let mut notes = Vec::new();
    let key = target.method.as_str();
    let mut kind = if STANDARD.contains(&key) { key } else { "custom" };
    let by_id = matches!(kind, "get" | "update" | "delete");
    let mut m = MethodOut::default();
    let mut r = RecordOut { description: description(o), ..Default::default() };

    // Path: by-id kinds rename the last parameter to `id`.
    let template = super::map::template_params(&o.path).unwrap_or_default();
    let mut renamed: Option<String> = None;
    if by_id && let Some(last) = template.last().filter(|l| *l != "id") {
        if template.iter().any(|p| p == "id") {
            notes.push(format!("`{{{last}}}` cannot become `{{id}}` because the path already has `{{id}}`"));
        } else {
            renamed = Some(last.clone());
        }
    }
    let path = match &renamed {
        Some(p) => o.path.replace(&format!("{{{p}}}"), "{id}"),
        None => o.path.clone(),
    };
    m.http = format!("{} {path}", o.verb);

    // Parameters.
    let mut path_obj = Obj::default();
    let mut query = Obj::default();
    let declared: BTreeSet<&str> = o.params.iter().filter(|p| matches!(p, Parameter::Path { .. })).map(|p| p.parameter_data_ref().name.as_str()).collect();
    for t in &template {
        if !declared.contains(t.as_str()) {
            notes.push(format!("path parameter `{t}` is not declared; drafted as a string"));
            let name = if renamed.as_deref() == Some(t) { "id" } else { t };
            path_obj.props.insert(name.to_owned(), json!({"type": "string"}));
        }
    }
    for p in &o.params {
        let data = p.parameter_data_ref();
        let mut s = match &data.format {
            ParameterSchemaOrContent::Schema(s) => cx.schemas.convert(s),
            ParameterSchemaOrContent::Content(c) => {
                notes.push(format!("parameter `{}` is described by content, not a schema; check its shape", data.name));
                c.values().find_map(|m| m.schema.as_ref()).map(|s| cx.schemas.convert(s)).unwrap_or_else(|| json!({"type": "string"}))
            }
        };
        if let (Some(d), Value::Object(so)) = (&data.description, &mut s) {
            so.insert("description".into(), json!(d.trim()));
        }
        if data.deprecated == Some(true)
            && let Value::Object(so) = &mut s
        {
            so.insert("deprecated".into(), json!(true));
        }
        let s = Value::Object(reordered(s));
        match p {
            Parameter::Path { .. } if template.contains(&data.name) => {
                let name = if renamed.as_deref() == Some(data.name.as_str()) { "id".to_owned() } else { data.name.clone() };
                path_obj.props.insert(name, s);
            }
            Parameter::Path { .. } => notes.push(format!("path parameter `{}` is not in the path template; left out", data.name)),
            Parameter::Query { .. } => {
                if data.required {
                    query.required.push(data.name.clone());
                }
                query.props.insert(data.name.clone(), s);
            }
            Parameter::Header { .. } | Parameter::Cookie { .. } => {
                notes.push(format!("{} parameter `{}` left out (the spec format has none)", location(p), data.name))
            }
        }
    }
    // Keep path properties in template order.
    let mut ordered = Obj::default();
    for t in &template {
        let name = if renamed.as_deref() == Some(t.as_str()) { "id" } else { t.as_str() };
        if let Some(v) = path_obj.props.remove(name) {
            ordered.props.insert(name.to_owned(), v);
        }
    }
    let path_names: BTreeSet<String> = ordered.props.keys().cloned().collect();

    // Body.
    let mut body: Option<Value> = None;
    if let Some(rb) = o.op.request_body.as_ref().and_then(|b| resolve(cx.doc, b, |c, n| c.request_bodies.get(n))) {
        body = request_body(o, &rb, &mut m, cx, &mut notes);
    }

    // By-id kinds without a path parameter take `id` from a query or body `…_id`.
    if by_id && template.is_empty() {
        let resolved = body.as_ref().map(|b| cx.schemas.resolve(b)).unwrap_or(Value::Null);
        let body_names = schema::property_names(&resolved);
        let body_required: Vec<String> = resolved.get("required").and_then(|r| serde_json::from_value(r.clone()).ok()).unwrap_or_default();
        let has_id = query.props.contains_key("id") || body_names.iter().any(|n| n == "id");
        if has_id {
            // Already an `id` argument.
        } else if let Some(q) = id_like(query.props.keys(), &query.required) {
            query.rename(&q, "id");
            m.args.insert("id".into(), ArgOut { in_: None, as_: Some(q.clone()) });
            notes.push(format!("query parameter `{q}` became the `id` argument (`args: {{ id: {{ as: {q} }} }}`)"));
        } else if let (Some(b), Some(q)) = (body.as_mut(), id_like(body_names.iter(), &body_required)) {
            rename_prop(root_object(b, cx.schemas), &q, "id");
            m.args.insert("id".into(), ArgOut { in_: None, as_: Some(q.clone()) });
            notes.push(format!("body property `{q}` became the `id` argument (`args: {{ id: {{ as: {q} }} }}`)"));
        } else {
            notes.push(format!("a `{kind}` method must take an `id`, and this one has none; it was made `kind: custom`"));
            kind = "custom";
            m.kind = Some("custom".into());
        }
    }

    // Names used in two places.
    for p in &path_names {
        if query.props.contains_key(p) {
            let new = format!("{p}_query");
            query.rename(p, &new);
            m.args.insert(new.clone(), ArgOut { in_: None, as_: Some(p.clone()) });
            notes.push(format!("query parameter `{p}` clashes with the path parameter; it is the argument `{new}`"));
        }
        if let Some(b) = body.as_mut()
            && schema::property_names(&cx.schemas.resolve(b)).contains(p)
        {
            let new = format!("{p}_body");
            rename_prop(root_object(b, cx.schemas), p, &new);
            m.args.insert(new.clone(), ArgOut { in_: None, as_: Some(p.clone()) });
            notes.push(format!("body property `{p}` clashes with the path parameter; it is the argument `{new}`"));
        }
    }
    let body_names = body.as_ref().map(|b| schema::property_names(&cx.schemas.resolve(b))).unwrap_or_default();
    for q in query.props.keys().filter(|q| body_names.contains(q)) {
        m.args.entry(q.clone()).or_default().in_ = Some("both".into());
        notes.push(format!("`{q}` is both a query parameter and a body property; drafted as `args: {{ {q}: {{ in: both }} }}`"));
    }
    let context: Vec<&str> = CONTEXT.iter().copied().filter(|c| query.props.contains_key(*c) || body_names.iter().any(|b| b == c)).collect();
    if !context.is_empty() {
        notes.push(format!("takes {}: consider `context: [{}]` (and declaring them in integration.yaml)", context.join(", "), context.join(", ")));
    }

    // Response.
    response(o, &mut m, &mut r, cx, &mut notes);

    // Pagination.
    let resp_names = r.response_schema.as_ref().map(|s| schema::property_names(&cx.schemas.resolve(s))).unwrap_or_default();
    let paged = if query.props.contains_key("cursor") && resp_names.iter().any(|n| n == "next_cursor") {
        Some("cursor")
    } else if query.props.contains_key("page") && resp_names.iter().any(|n| n == "total_pages") {
        Some("page")
    } else {
        None
    };
    match (paged, kind) {
        (Some(p), "list") => m.pagination = Some(p.into()),
        (Some(p), "custom") if o.verb == "GET" && m.kind.is_none() => {
            m.kind = Some("list".into());
            m.pagination = Some(p.into());
            notes.push(format!("looks `{p}`-paginated: drafted as `kind: list` with `pagination: {p}`"));
        }
        (Some(p), _) => notes.push(format!("looks `{p}`-paginated, but only `list` methods page")),
        _ => {}
    }

    // Host.
    if let Some(url) = o.servers.first().filter(|u| u.as_str() != cx.api) {
        let absolute = (url.starts_with("https://") || url.starts_with("http://")) && !url.contains('{');
        match cx.ws.as_deref() {
            _ if !absolute => notes.push(format!("served from `{url}`, which is not an absolute URL; left on `api`")),
            None => {
                *cx.ws = Some(url.clone());
                m.base = Some("ws".into());
                notes.push(format!("served from {url}: drafted as `base: ws` with `base_urls.ws: {url}`"));
            }
            Some(ws) if ws == url => m.base = Some("ws".into()),
            Some(ws) => notes.push(format!("served from {url}, but `base_urls.ws` is already {ws}; left on `api`")),
        }
    }
    if o.op.deprecated {
        notes.push("the operation is deprecated".into());
    }

    r.path_schema = ordered.schema();
    r.query_schema = query.schema();
    r.body_schema = body;
    cx.notes.extend(notes.into_iter().map(|n| format!("{label}: {n}")));
    (m, r)
}

/// The operation's summary and description, marked as a draft.
fn description(o: &Op) -> String {
    let summary = o.op.summary.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let details = o.op.description.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let text = match (summary, details) {
        (Some(s), Some(d)) if d.starts_with(s.trim_end_matches('.')) => d.to_owned(),
        (Some(s), Some(d)) => format!("{}.\n\n{d}", s.trim_end_matches('.')),
        (Some(s), None) => format!("{}.", s.trim_end_matches('.')),
        (None, Some(d)) => d.to_owned(),
        (None, None) => format!("Calls `{}`.", o.label()),
    };
    let text: Vec<&str> = text.lines().map(str::trim_end).collect();
    format!("TODO: rewrite in your own words (copied from the OpenAPI document).\n\n{}\n", text.join("\n"))
}

/// The body schema of a request body, setting `body_format` and `files`.
fn request_body(o: &Op, rb: &RequestBody, m: &mut MethodOut, cx: &mut Ctx, notes: &mut Vec<String>) -> Option<Value> {
    let is_json = |c: &str| c == "application/json" || c.ends_with("+json");
    let pick = rb
        .content
        .iter()
        .find(|(c, _)| is_json(c))
        .or_else(|| rb.content.iter().find(|(c, _)| c.starts_with("multipart/form-data")))
        .or_else(|| rb.content.iter().find(|(c, _)| c.starts_with("application/x-www-form-urlencoded")));
    let Some((ctype, media)) = pick else {
        let types: Vec<&str> = rb.content.keys().map(String::as_str).collect();
        notes.push(format!("request body of type {} left out (the spec format sends JSON or multipart)", types.join(", ")));
        return None;
    };
    if o.verb == "GET" || o.verb == "DELETE" {
        notes.push(format!("the request body of a {} left out (the spec format allows none)", o.verb));
        return None;
    }
    if ctype.starts_with("application/x-www-form-urlencoded") {
        notes.push("the body is form-encoded upstream but drafted as JSON; check that the API accepts JSON".into());
    }
    let body = media.schema.as_ref().map(|s| cx.schemas.convert(s)).unwrap_or_else(|| json!({"type": "object"}));
    let resolved = cx.schemas.resolve(&body);
    if !schema::is_object(&resolved) {
        notes.push("the request body is not an object; left out (records declare body fields as an object)".into());
        return None;
    }
    if ctype.starts_with("multipart/") {
        m.body_format = Some("multipart".into());
        let props = resolved.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        m.files = props.iter().filter(|(_, s)| schema::is_binary(&cx.schemas.resolve(s))).map(|(k, _)| k.clone()).collect();
    }
    if schema::property_names(&resolved).iter().any(|p| p == "stream") {
        notes.push("the body has a `stream` property; the generated tool makes unary calls, so consider pinning it to false or removing it (kept: the draft is faithful)".into());
    }
    Some(body)
}

/// Sets `response` or `response_schema` from the first 2xx response with content.
fn response(o: &Op, m: &mut MethodOut, r: &mut RecordOut, cx: &mut Ctx, notes: &mut Vec<String>) {
    let mut empty = Vec::new();
    for (code, resp) in &o.op.responses.responses {
        let ok = match code {
            StatusCode::Code(c) => (200..300).contains(c),
            StatusCode::Range(c) => *c == 2,
        };
        let Some(resp): Option<Response> = ok.then(|| resolve(cx.doc, resp, |c, n| c.responses.get(n))).flatten() else { continue };
        if resp.content.is_empty() {
            empty.push(code.to_string());
            continue;
        }
        if resp.content.keys().any(|c| c.starts_with("text/event-stream")) {
            notes.push(format!("the {code} response can be a text/event-stream; the generated tool reads one JSON response"));
        }
        let json = resp.content.iter().find(|(c, _)| *c == "application/json" || c.ends_with("+json") || c.as_str() == "*/*");
        match json {
            Some((_, media)) => {
                let s = media.schema.as_ref().map(|s| cx.schemas.convert(s));
                match s {
                    Some(s) if schema::is_object(&cx.schemas.resolve(&s)) => r.response_schema = Some(s),
                    Some(_) => notes.push(format!("the {code} response is not an object; no response_schema drafted")),
                    None => {}
                }
            }
            None => {
                let types: Vec<&str> = resp.content.keys().map(String::as_str).collect();
                m.response = Some("binary".into());
                notes.push(format!("the {code} response is {}: drafted as `response: binary`", types.join(", ")));
            }
        }
        return;
    }
    if !empty.is_empty() && !empty.iter().all(|c| c == "204") {
        notes.push(format!("the {} response declares no content; check whether it returns JSON or bytes", empty.join("/")));
    }
}

/// The one `…_id` name among `names` (required ones preferred), not a context value.
fn id_like<'a>(names: impl Iterator<Item = &'a String>, required: &[String]) -> Option<String> {
    let ids: Vec<&String> = names.filter(|n| (n.ends_with("_id") || n.ends_with("Id")) && !CONTEXT.contains(&n.as_str())).collect();
    let req: Vec<&&String> = ids.iter().filter(|n| required.contains(n)).collect();
    match (req.as_slice(), ids.as_slice()) {
        ([one], _) => Some((**one).clone()),
        ([], [one]) => Some((*one).clone()),
        _ => None,
    }
}

/// The body's root object, with a root `$ref` replaced by its target so it can be edited.
fn root_object<'a>(body: &'a mut Value, schemas: &Schemas) -> &'a mut Map<String, Value> {
    if body.get("$ref").is_some() {
        *body = schemas.resolve(body);
    }
    if !body.is_object() {
        *body = json!({"type": "object"});
    }
    body.as_object_mut().expect("an object")
}

fn rename_prop(obj: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        let old = std::mem::take(props);
        *props = old.into_iter().map(|(k, v)| (if k == from { to.to_owned() } else { k }, v)).collect();
    }
    if let Some(Value::Array(req)) = obj.get_mut("required") {
        req.iter_mut().filter(|r| r.as_str() == Some(from)).for_each(|r| *r = json!(to));
    }
}

/// A parameter schema with `type` first and `description` after `format`.
fn reordered(s: Value) -> Map<String, Value> {
    let Value::Object(m) = s else { return Map::new() };
    let mut out = Map::new();
    for k in ["$ref", "type", "format", "description"] {
        if let Some(v) = m.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    out.extend(m.into_iter().filter(|(k, _)| !["$ref", "type", "format", "description"].contains(&k.as_str())));
    out
}
