//! Stage 3: lower the validated spec into the IR of [`crate::model`].

use std::collections::BTreeMap;

use gumloop_mcp_runtime::rules;
use serde_json::{Map, Value, json};

use crate::error::{Diagnostic, Error, Result};
use crate::model::*;
use crate::naming;
use crate::naming::tool_name;
use crate::schema;
use crate::spec::{DocRecord, Method, Resource, Spec};
use crate::validate::path_params;

const CURSOR_HINT: &str = "Pass the `next_cursor` of the previous page back exactly as received; omit it for the first page.";
const CONTEXT_HINT: &str = "Filled from the server's Gumloop credential when omitted.";

/// Lowers a spec that [`crate::validate::validate`] accepted.
pub fn lower(spec: &Spec) -> Result<Model> {
    let i = &spec.integration.value;
    let integration = IntegrationIr {
        name: i.name.clone(),
        title: i.title.clone(),
        api_base_url: i.base_urls.api.clone(),
        ws_base_url: i.base_urls.ws.clone().unwrap_or_else(|| i.base_urls.api.clone()),
        bearer: i.auth.bearer,
        user_header: i.auth.user_header.clone(),
        team_query: i.auth.team_query.clone(),
        instructions: i.instructions.clone().unwrap_or_default().trim().to_owned(),
        file: spec.integration.file.clone(),
    };
    let mut warnings = Vec::new();
    let mut resources = Vec::new();
    let mut resources_sorted: Vec<_> = spec.resources.iter().collect();
    resources_sorted.sort_by(|a, b| a.value.resource.cmp(&b.value.resource));
    for res in resources_sorted {
        let docs = spec.docs.get(&res.value.resource);
        let mut tools = Vec::new();
        for (key, method) in &res.value.methods {
            match docs.and_then(|d| d.value.get(key).map(|r| (d.file.as_str(), r))) {
                Some((doc_file, record)) => tools.push(lower_tool(spec, &res.file, &res.value, key, method, doc_file, record)?),
                None => warnings.push(format!(
                    "{}: method `{key}` has no documentation record in {}/docs/{}.yaml, so it is skipped (no tool `{}`)",
                    res.file,
                    spec.integration.file.rsplit_once('/').map_or("spec", |(d, _)| d),
                    res.value.resource,
                    tool_name(spec, &res.value, key, method)
                )),
            }
        }
        if tools.is_empty() {
            continue;
        }
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        let mut sources = vec![res.file.clone()];
        sources.extend(docs.map(|d| d.file.clone()));
        resources.push(ResourceIr { module: naming::module_name(&res.value.resource), name: res.value.resource.clone(), sources, tools });
    }
    Ok(Model { integration, resources, warnings })
}

fn internal(file: &str, key: &str, msg: String) -> Error {
    Error::Spec(vec![Diagnostic::new(file, key, msg)])
}

/// One method with its documentation record, and where each came from.
struct Source<'a> {
    spec: &'a Spec,
    key: &'a str,
    m: &'a Method,
    doc_file: &'a str,
    r: &'a DocRecord,
}

/// The record's schemas with `$ref`s inlined.
struct Schemas {
    path: Option<Value>,
    query: Option<Value>,
    body: Option<Value>,
    response: Option<Value>,
    server: Option<Value>,
}

/// The input schema as it is built: properties in order and the required names.
#[derive(Default)]
struct Input {
    properties: Map<String, Value>,
    required: Vec<Value>,
}

impl Input {
    fn into_schema(self) -> Value {
        let mut input = Map::new();
        input.insert("type".into(), json!("object"));
        input.insert("properties".into(), Value::Object(self.properties));
        if !self.required.is_empty() {
            input.insert("required".into(), Value::Array(self.required));
        }
        input.insert("additionalProperties".into(), json!(false));
        Value::Object(input)
    }
}

fn lower_tool(spec: &Spec, file: &str, res: &Resource, key: &str, m: &Method, doc_file: &str, r: &DocRecord) -> Result<ToolIr> {
    let src = Source { spec, key, m, doc_file, r };
    let schemas = src.schemas()?;
    let kind = m.kind(key);
    let params = path_params(&m.http.path).map_err(|e| internal(file, key, e))?;

    let mut input = Input::default();
    let args = src.arguments(&schemas, &params, &mut input);
    let server_args = src.server_arguments(&schemas, kind, &mut input)?;
    let path = path_pieces(&m.http.path, &args);
    let output_schema = output_schema(&schemas, m.response);
    let description = src.description(&args, output_schema.as_ref());
    let body_format = if m.multipart() {
        BodyFormat::Multipart
    } else if args.iter().any(|a| matches!(a.location, Location::Body | Location::Both)) {
        BodyFormat::Json
    } else {
        BodyFormat::None
    };
    let mut tags: Vec<String> = res.tags.iter().chain(&m.tags).cloned().collect();
    tags.sort();
    tags.dedup();
    let title = match &r.title {
        Some(t) => t.trim().to_owned(),
        None => naming::derived_title(kind, key, &res.resource, &naming::resource_singular(res)),
    };

    Ok(ToolIr {
        name: tool_name(spec, res, key, m),
        title,
        resource: res.resource.clone(),
        method: key.to_owned(),
        annotations: annotations(kind, m.http.verb, m),
        kind,
        tags,
        description,
        input_schema: input.into_schema(),
        output_schema,
        http_method: m.http.verb,
        base: m.base,
        path_template: m.http.path.clone(),
        path,
        pagination: m.pagination,
        response: m.response,
        body_format,
        async_spec: m.async_.as_ref().map(|a| AsyncIr {
            status_tool: a.status_tool.clone(),
            id_pointer: a.id_pointer.clone(),
            state_pointer: a.state_pointer.clone(),
            terminal: a.terminal.clone(),
            cancel_tool: a.cancel_tool.clone(),
            queue_pointer: a.queue_pointer.clone(),
        }),
        behaviours: m.behaviours.clone(),
        server_args,
        args,
        sources: vec![file.to_owned(), doc_file.to_owned()],
    })
}

impl Source<'_> {
    fn schemas(&self) -> Result<Schemas> {
        let inline = |s: &Option<Value>, what: &str| -> Result<Option<Value>> {
            s.as_ref()
                .map(|s| schema::inline_refs(s, &self.spec.definitions).map_err(|(at, msg)| internal(self.doc_file, &format!("{}.{what}{at}", self.key), msg)))
                .transpose()
        };
        let r = self.r;
        Ok(Schemas {
            path: inline(&r.path_schema, "path_schema")?,
            query: inline(&r.query_schema, "query_schema")?,
            body: inline(&r.body_schema, "body_schema")?,
            response: inline(&r.response_schema, "response_schema")?,
            server: inline(&r.server_schema, "server_schema")?,
        })
    }

    /// The upstream arguments in input order (path, query, body, then added pagination
    /// arguments), each placed, typed and added to the input schema.
    fn arguments(&self, schemas: &Schemas, params: &[String], input: &mut Input) -> Vec<ArgIr> {
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
    /// long-running methods, `max_items` on lists, and the record's `server_schema`. In
    /// the input schema (so they validate and models see them), never in `Args`.
    fn server_arguments(&self, schemas: &Schemas, kind: Kind, input: &mut Input) -> Result<Vec<String>> {
        let (m, doc_file, key) = (self.m, self.doc_file, self.key);
        let mut server_args = Vec::new();
        if let Some(a) = &m.async_ {
            for (name, s) in wait_args(a) {
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
            let how = match m.pagination {
                Pagination::Cursor => "following next_cursor",
                Pagination::Page => "page after page up to total_pages",
                Pagination::None => "(this list is not paginated: it is only cut to the cap)",
            };
            let (min, max) = (*rules::MAX_ITEMS_RANGE.start(), *rules::MAX_ITEMS_RANGE.end());
            input.properties.insert(
                name.into(),
                json!({"type": "integer", "minimum": min, "maximum": max, "description": format!(
                    "Collect up to this many items in one call, the server reading the pages for you {how}; the result says whether more remain and how to continue. Without it you get one page."
                )}),
            );
            server_args.push(name.to_owned());
        }
        for (name, s, req) in schemas.server.as_ref().map(props_of).unwrap_or_default() {
            if req {
                input.required.push(Value::String(name.clone()));
            }
            server_args.push(name.clone());
            input.properties.insert(name, s);
        }
        Ok(server_args)
    }

    /// The record's description with the generated `Returns:`, `Long-running:` and
    /// `Required:` lines.
    fn description(&self, args: &[ArgIr], output_schema: Option<&Value>) -> String {
        let m = self.m;
        let required_names: Vec<&str> = args.iter().filter(|a| a.required).map(|a| a.name.as_str()).collect();
        let mut description = self.r.description.trim().to_owned();
        description.push_str("\n\nReturns: ");
        match (output_schema, m.response) {
            (_, ResponseFormat::Binary) => description.push_str("the file's bytes as an embedded resource with its media type."),
            (Some(s), _) if !schema::properties(s).is_empty() => {
                let names: Vec<&str> = schema::properties(s).into_iter().map(|(k, _)| k.as_str()).collect();
                description.push_str(&names.join(", "));
                description.push('.');
            }
            _ => description.push_str("the upstream JSON response."),
        }
        if let Some(a) = &m.async_ {
            description.push_str(&format!(
                "\nLong-running: Gumloop answers at once while the work goes on. Pass `{wait}: true` to have the server poll `{}` until the state is {} (up to `{timeout}`, default {default}), or poll it yourself.",
                a.status_tool,
                a.terminal.join(" or "),
                wait = rules::WAIT,
                timeout = rules::WAIT_TIMEOUT_SECONDS,
                default = rules::WAIT_TIMEOUT_DEFAULT,
            ));
        }
        if !required_names.is_empty() {
            description.push_str("\nRequired: ");
            description.push_str(&required_names.join(", "));
            description.push('.');
        }
        description
    }
}

/// The pagination arguments, added when the record does not declare them.
fn pagination_arguments(pagination: Pagination, entries: &mut Vec<(String, Value, Location, bool)>) {
    match pagination {
        Pagination::Cursor => {
            ensure_query(entries, "cursor", json!({"type": "string", "description": CURSOR_HINT}));
            ensure_query(entries, "page_size", json!({"type": "integer", "minimum": 1, "maximum": 100, "description": "Items per page (1-100)."}));
            if let Some(e) = entries.iter_mut().find(|e| e.0 == "cursor") {
                append_description(&mut e.1, CURSOR_HINT);
            }
        }
        Pagination::Page => {
            ensure_query(
                entries,
                "page",
                json!({"type": "integer", "minimum": 1, "description": "The page to read, starting at 1. Read `total_pages` from the response to know when to stop."}),
            );
            ensure_query(entries, "page_size", json!({"type": "integer", "minimum": 1, "description": "Items per page."}));
        }
        Pagination::None => {}
    }
}

/// The path template split into literal text and argument indices.
fn path_pieces(template: &str, args: &[ArgIr]) -> Vec<PathPiece> {
    let mut path: Vec<PathPiece> = Vec::new();
    for seg in template.split('/').skip(1) {
        push_literal(&mut path, "/");
        match seg.strip_prefix('{').and_then(|b| b.strip_suffix('}')) {
            Some(p) => path.push(PathPiece::Param(args.iter().position(|a| a.name == p).expect("validated path parameter"))),
            None => push_literal(&mut path, seg),
        }
    }
    path
}

/// The output schema: the response schema of a JSON method, an object at its root.
fn output_schema(schemas: &Schemas, response: ResponseFormat) -> Option<Value> {
    match (&schemas.response, response) {
        (Some(s), ResponseFormat::Json) => {
            let mut s = s.clone();
            if let Value::Object(o) = &mut s {
                o.entry("type").or_insert(json!("object"));
            }
            Some(s)
        }
        _ => None,
    }
}

/// The server-side waiting arguments of a long-running method.
fn wait_args(a: &crate::spec::AsyncRule) -> [(&'static str, Value); 2] {
    [
        (
            rules::WAIT,
            json!({"type": "boolean", "description": format!(
                "Wait for the work to finish: the server polls `{}` with backoff (sending progress notifications when you give a progress token) and returns the final record. Without it you get the immediate, unfinished state.",
                a.status_tool
            )}),
        ),
        {
            let (min, max, default) = (*rules::WAIT_TIMEOUT_RANGE.start(), *rules::WAIT_TIMEOUT_RANGE.end(), rules::WAIT_TIMEOUT_DEFAULT);
            (
                rules::WAIT_TIMEOUT_SECONDS,
                json!({"type": "integer", "minimum": min, "maximum": max, "default": default, "description": format!(
                    "How long `{}` may take ({min}-{max} s, default {default}). On timeout you get the latest state and the id to poll with; the work continues upstream.",
                    rules::WAIT
                )}),
            )
        },
    ]
}

fn push_literal(path: &mut Vec<PathPiece>, text: &str) {
    match path.last_mut() {
        Some(PathPiece::Literal(prev)) => prev.push_str(text),
        _ => path.push(PathPiece::Literal(text.to_owned())),
    }
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

/// The schema of a file argument; arrays of files stay arrays. The record's description is kept.
fn file_schema(declared: &Value) -> Value {
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

fn file_type(s: &Value) -> ArgType {
    if s.get("type").and_then(Value::as_str) == Some("array") { ArgType::Array(Box::new(ArgType::File)) } else { ArgType::File }
}

/// The Rust type of a schema: one clear JSON type maps to a Rust type, anything else is JSON.
fn arg_type(s: &Value) -> ArgType {
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

fn annotations(kind: Kind, verb: Verb, m: &Method) -> AnnotationsIr {
    // A custom method behaves as the standard kind its verb suggests.
    let effective = match (kind, verb) {
        (Kind::Custom, Verb::Get) => Kind::Get,
        (Kind::Custom, Verb::Delete) => Kind::Delete,
        (Kind::Custom, Verb::Put) => Kind::Update,
        (Kind::Custom, _) => Kind::Create,
        (k, _) => k,
    };
    let (read_only, destructive, idempotent) = match effective {
        Kind::List | Kind::Get => (true, false, true),
        Kind::Update | Kind::Delete => (false, true, true),
        Kind::Create | Kind::Custom => (false, false, false),
    };
    let o = &m.annotations;
    AnnotationsIr {
        read_only: o.read_only.unwrap_or(read_only),
        destructive: o.destructive.unwrap_or(destructive),
        idempotent: o.idempotent.unwrap_or(idempotent),
        open_world: o.open_world.unwrap_or(true),
    }
}

/// Tools by name, for emitters that need to look one up.
pub fn tools_by_name(model: &Model) -> BTreeMap<&str, &ToolIr> {
    model.resources.iter().flat_map(|r| &r.tools).map(|t| (t.name.as_str(), t)).collect()
}
