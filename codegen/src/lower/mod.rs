//! Stage 3: lower the validated spec into the IR of [`crate::model`].

mod arguments;
mod types;

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
    let output_schema = output_schema(&schemas, m.response);
    let server_args = src.server_arguments(&schemas, kind, output_schema.as_ref(), &mut input)?;
    let path = path_pieces(&m.http.path, &args);
    let description = src.description();
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

    /// The record's description with the generated `Returns:` line of binary methods
    /// (which have no output schema to say it) and the `Long-running:` guidance.
    /// Required arguments and result fields are not repeated: the schemas carry them.
    fn description(&self) -> String {
        let m = self.m;
        let mut description = self.r.description.trim().to_owned();
        if m.response == ResponseFormat::Binary {
            description.push_str("\n\nReturns: the file's bytes as an embedded resource with its media type.");
        }
        if let Some(a) = &m.async_ {
            description.push_str(&format!(
                "\n\nLong-running: Gumloop answers at once while the work goes on. Pass `{wait}: true` to have the server poll `{}` until the state is {}, or poll it yourself.",
                a.status_tool,
                a.terminal.join(" or "),
                wait = rules::WAIT,
            ));
        }
        description
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

fn push_literal(path: &mut Vec<PathPiece>, text: &str) {
    match path.last_mut() {
        Some(PathPiece::Literal(prev)) => prev.push_str(text),
        _ => path.push(PathPiece::Literal(text.to_owned())),
    }
}

/// The output schema: the response schema of a JSON method, an object at its root. A
/// tool with fields takes `fields`, so nothing in it is required: a projected result
/// still validates.
fn output_schema(schemas: &Schemas, response: ResponseFormat) -> Option<Value> {
    match (&schemas.response, response) {
        (Some(s), ResponseFormat::Json) => {
            let mut s = s.clone();
            if let Value::Object(o) = &mut s {
                o.entry("type").or_insert(json!("object"));
            }
            if arguments::field_example(&s).is_some() {
                schema::without_required(&mut s);
            }
            Some(s)
        }
        _ => None,
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
