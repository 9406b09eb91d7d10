//! Stage 2: cross-reference checks. Every problem is collected, so one run lists them all.

use std::collections::{BTreeMap, BTreeSet};

use gumloop_mcp_runtime::rules;
use serde_json::Value;

use crate::error::{Diagnostic, Error, Result};
use crate::naming;
use crate::naming::tool_name;
use crate::schema;
use crate::spec::{Base, BehavioursRule, DocRecord, Kind, Location, Method, Pagination, Resource, ResponseFormat, Spec, Verb};

const CONTEXT_VALUES: &[&str] = &["user_id", "team_id", "project_id"];
const SCHEMAS: &[&str] = &["path_schema", "query_schema", "body_schema", "response_schema", "server_schema"];

/// Checks the whole spec; `Err` lists every problem found.
pub fn validate(spec: &Spec) -> Result<()> {
    let mut v = Validator { spec, diags: Vec::new() };
    v.integration();
    v.definitions();
    let mut names: BTreeMap<String, (String, String)> = BTreeMap::new();
    for res in &spec.resources {
        v.resource(&res.file, &res.value, &mut names);
    }
    v.docs_match_methods();
    v.async_targets(&names);
    v.behaviour_targets(&names);
    if v.diags.is_empty() { Ok(()) } else { Err(Error::Spec(v.diags)) }
}

/// The `{param}` names of a path template, or a message saying what is malformed.
pub fn path_params(path: &str) -> Result<Vec<String>, String> {
    if !path.starts_with('/') {
        return Err(format!("path `{path}` must start with `/`"));
    }
    if path.contains('?') {
        return Err(format!("path `{path}` has a query string; declare query arguments in query_schema (and use `args.<name>.as` to rename)"));
    }
    let mut out = Vec::new();
    for seg in path.split('/') {
        if seg.contains('{') || seg.contains('}') {
            let inner = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            match inner {
                Some(name) if !name.is_empty() && !name.contains(['{', '}']) => out.push(name.to_owned()),
                _ => return Err(format!("segment `{seg}` of `{path}`: a parameter must be a whole segment, like `{{id}}`")),
            }
        }
    }
    Ok(out)
}

/// The argument names a documentation record declares, by schema.
struct Args<'a> {
    path: &'a BTreeSet<String>,
    query: &'a BTreeSet<String>,
    body: &'a BTreeSet<String>,
    server: &'a BTreeSet<String>,
}

impl Args<'_> {
    fn upstream(&self, name: &str) -> bool {
        self.path.contains(name) || self.query.contains(name) || self.body.contains(name)
    }
}

struct Validator<'a> {
    spec: &'a Spec,
    diags: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn err(&mut self, file: &str, key: impl Into<String>, msg: impl Into<String>, help: impl Into<String>) {
        self.diags.push(Diagnostic::new(file, key, msg).help(help));
    }

    fn integration(&mut self) {
        let f = &self.spec.integration.file;
        let i = &self.spec.integration.value;
        if !i.name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) || !i.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            self.err(f, "name", format!("`{}` is not a lowercase word", i.name), "use lowercase letters and digits, e.g. `gumloop`");
        }
        let urls = [("base_urls.api", Some(&i.base_urls.api)), ("base_urls.ws", i.base_urls.ws.as_ref())];
        for (key, url) in urls {
            if let Some(url) = url
                && (!(url.starts_with("https://") || url.starts_with("http://")) || url.ends_with('/'))
            {
                self.err(f, key, format!("`{url}` is not an absolute http(s) URL without a trailing `/`"), "write it like `https://api.example.com/api/v1`");
            }
        }
        for name in i.context.keys() {
            if !CONTEXT_VALUES.contains(&name.as_str()) {
                self.err(f, format!("context.{name}"), format!("unknown context value `{name}`"), format!("context values are {}", CONTEXT_VALUES.join(", ")));
            }
        }
        for tag in i.tags.keys() {
            if !naming::is_snake_key(tag) {
                self.err(f, format!("tags.{tag}"), format!("tag `{tag}` is not snake_case"), "use lowercase letters, digits and single underscores");
            }
        }
    }

    fn definitions(&mut self) {
        let f = self.spec.definitions_file.clone();
        for (name, def) in &self.spec.definitions {
            match schema::inline_refs(def, &self.spec.definitions) {
                Err((at, msg)) => self.err(&f, format!("$defs.{name}{}", dotted(&at)), msg, "define the target in definitions.yaml `$defs`, or fix the name"),
                Ok(inlined) => {
                    if let Some(ptr) = schema::null_keyword(&inlined) {
                        self.err(
                            &f,
                            format!("$defs.{name}{}", dotted(&ptr)),
                            "a schema key with no value (in a `{ … }` flow mapping, a comma ends the value before it)",
                            "quote the text that contains the comma, e.g. `description: \"Text, or more\"`",
                        );
                    } else if let Err(msg) = schema::meta_check(&inlined) {
                        self.err(&f, format!("$defs.{name}"), format!("not a valid JSON Schema: {msg}"), "fix the schema (JSON Schema draft 2020-12)");
                    }
                }
            }
        }
    }

    fn resource(&mut self, file: &str, res: &Resource, names: &mut BTreeMap<String, (String, String)>) {
        let stem = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".yaml");
        if res.resource != stem {
            self.err(
                file,
                "resource",
                format!("resource `{}` is defined in `{stem}.yaml`", res.resource),
                format!("rename the file to `{}.yaml` or set `resource: {stem}`", res.resource),
            );
        }
        if !naming::is_snake_key(&res.resource) {
            self.err(file, "resource", format!("`{}` is not a snake_case plural name", res.resource), "use lowercase letters, digits and single underscores");
        }
        if let Some(s) = &res.singular
            && !naming::is_snake_key(s)
        {
            self.err(file, "singular", format!("`{s}` is not snake_case"), "use lowercase letters, digits and single underscores");
        }
        self.tags(file, "tags", &res.tags);
        if res.methods.is_empty() {
            self.err(file, "methods", "the resource has no methods", "add at least one method, e.g. `list: { http: GET /things }`");
        }
        let record_file = self.spec.docs.get(&res.resource).map(|d| d.file.clone());
        for (key, method) in &res.methods {
            let at = format!("methods.{key}");
            let record = self.spec.docs.get(&res.resource).and_then(|d| d.value.get(key));
            self.method(file, &at, key, method, record.map(|r| (record_file.as_deref().unwrap(), r)));
            let name = tool_name(self.spec, res, key, method);
            let name_at = if method.tool_name.is_some() { format!("{at}.tool_name") } else { at.clone() };
            if let Some(problem) = naming::tool_name_problem(&name) {
                self.err(
                    file,
                    &name_at,
                    format!("tool name `{name}` {problem}"),
                    "set a shorter `tool_name:` (clients cap names at 64 characters, some at 60)",
                );
            }
            if record.is_some() {
                if let Some((other_file, other_at)) = names.get(&name) {
                    self.err(
                        file,
                        &name_at,
                        format!("tool name `{name}` is also produced by {other_file} `{other_at}`"),
                        "give one of them a distinct `tool_name:`",
                    );
                } else {
                    names.insert(name, (file.to_owned(), at.clone()));
                }
            }
        }
    }

    fn tags(&mut self, file: &str, at: &str, tags: &[String]) {
        for (i, tag) in tags.iter().enumerate() {
            if !self.spec.integration.value.tags.contains_key(tag) {
                let known: Vec<&str> = self.spec.integration.value.tags.keys().map(String::as_str).collect();
                self.err(
                    file,
                    format!("{at}[{i}]"),
                    format!("unknown tag `{tag}`"),
                    format!("declare it under `tags:` in integration.yaml, or use one of: {}", known.join(", ")),
                );
            }
        }
    }

    fn method(&mut self, file: &str, at: &str, key: &str, m: &Method, record: Option<(&str, &DocRecord)>) {
        if !naming::is_snake_key(key) {
            self.err(file, at, format!("method key `{key}` is not snake_case"), "use lowercase letters, digits and single underscores");
        }
        let kind = m.kind(key);
        let params = match path_params(&m.http.path) {
            Ok(p) => p,
            Err(msg) => {
                self.err(file, format!("{at}.http"), msg, "see spec/README.md, `http`");
                Vec::new()
            }
        };
        if m.base == Base::Ws && self.spec.integration.value.base_urls.ws.is_none() {
            self.err(file, format!("{at}.base"), "`base: ws` but integration.yaml has no `base_urls.ws`", "add `base_urls.ws` to integration.yaml");
        }
        if m.pagination != Pagination::None && kind != Kind::List {
            self.err(file, format!("{at}.pagination"), format!("pagination on a `{kind}` method"), "only `list` methods page; remove `pagination`");
        }
        self.tags(file, &format!("{at}.tags"), &m.tags);
        for (i, c) in m.context.iter().enumerate() {
            if !self.spec.integration.value.context.contains_key(c) {
                self.err(
                    file,
                    format!("{at}.context[{i}]"),
                    format!("`{c}` is not a context value of integration.yaml"),
                    "declare it under `context:` in integration.yaml",
                );
            }
        }
        if let Some(a) = &m.async_ {
            for (k, p) in
                [("id_pointer", &a.id_pointer), ("state_pointer", &a.state_pointer)].into_iter().chain(a.queue_pointer.as_ref().map(|q| ("queue_pointer", q)))
            {
                if !p.starts_with('/') {
                    self.err(file, format!("{at}.async.{k}"), format!("`{p}` is not a JSON pointer"), "write it like `/session/state`");
                }
            }
            if a.terminal.is_empty() {
                self.err(file, format!("{at}.async.terminal"), "no terminal states", "list the states that end the operation, e.g. [completed, failed]");
            }
        }
        self.behaviours(file, at, kind, m);
        if let Some((doc_file, record)) = record {
            self.record(file, at, doc_file, key, kind, &params, m, record);
        }
    }

    /// The checks of `behaviours:` that need only the method itself.
    fn behaviours(&mut self, file: &str, at: &str, kind: Kind, m: &Method) {
        let b = &m.behaviours;
        let at = format!("{at}.behaviours");
        // (key path, pointer, may it be empty)
        let mut pointers: Vec<(String, &str, bool)> = Vec::new();
        if let Some(s) = &b.inputs_schema {
            for (k, p) in [("id", &s.id), ("inputs", &s.inputs), ("name", &s.name), ("data_type", &s.data_type), ("description", &s.description)] {
                pointers.push((format!("{at}.inputs_schema.{k}"), p, false));
            }
        }
        if let Some(d) = &b.download_link {
            pointers.push((format!("{at}.download_link.at"), &d.at, true));
            pointers.push((format!("{at}.download_link.url"), &d.url, false));
            for (k, p) in [("filename", &d.filename), ("media_type", &d.media_type), ("size", &d.size)] {
                if let Some(p) = p {
                    pointers.push((format!("{at}.download_link.{k}"), p, false));
                }
            }
        }
        if let Some(i) = &b.images {
            pointers.push((format!("{at}.images.at"), &i.at, false));
            for (n, p) in i.url.iter().enumerate() {
                pointers.push((format!("{at}.images.url[{n}]"), p, true));
            }
            if i.url.is_empty() {
                self.err(
                    file,
                    format!("{at}.images.url"),
                    "no pointer to an image's URL",
                    "list where the URL may be within one entry, e.g. [/image_url/url, /url, \"\"] (\"\" is the entry itself)",
                );
            }
        }
        if let Some(f) = &b.flow_tools {
            for (k, p) in [("items", &f.items), ("id", &f.id), ("name", &f.name), ("description", &f.description)] {
                pointers.push((format!("{at}.flow_tools.{k}"), p, false));
            }
            if let Some(c) = &f.created {
                pointers.push((format!("{at}.flow_tools.created"), c, false));
            }
            if kind != Kind::List {
                self.err(
                    file,
                    format!("{at}.flow_tools"),
                    format!("`flow_tools` on a `{kind}` method"),
                    "declare flow_tools on the `list` method whose result lists the flows",
                );
            }
            if let Some(problem) = naming::tool_name_problem(&format!("{}x", f.prefix)).or_else(|| f.prefix.is_empty().then(|| "is empty".to_owned())) {
                self.err(
                    file,
                    format!("{at}.flow_tools.prefix"),
                    format!("prefix `{}` does not start valid tool names: a name made from it {problem}", f.prefix),
                    "use lowercase letters, digits and underscores, well under 64 characters, e.g. `run_acme_flow_`",
                );
            }
        }
        for (key_path, p, may_be_empty) in pointers {
            if !gumloop_mcp_runtime::pointer::is_valid(p) {
                self.err(
                    file,
                    key_path,
                    format!("`{p}` is not a JSON pointer"),
                    "start it with `/`, e.g. `/download_url` (`*` stands for every item of a list)",
                );
            } else if p.is_empty() && !may_be_empty {
                self.err(file, key_path, "an empty pointer where a field is required", "point at the field, e.g. `/name`");
            }
        }
        if let Some(s) = &b.skill_package {
            if !m.multipart() {
                self.err(
                    file,
                    format!("{at}.skill_package"),
                    "`skill_package` sends the packaged files as multipart parts, but the method has no `body_format: multipart`",
                    "add `body_format: multipart` to the method",
                );
            }
            if s.max_bytes == 0 {
                self.err(
                    file,
                    format!("{at}.skill_package.max_bytes"),
                    "`max_bytes: 0` refuses every upload",
                    "give upstream's limit in bytes, e.g. 10485760 (10 MB)",
                );
            }
        }
        if m.response == ResponseFormat::Binary {
            for (name, set) in [
                ("inputs_schema", b.inputs_schema.is_some()),
                ("download_link", b.download_link.is_some()),
                ("images", b.images.is_some()),
                ("flow_tools", b.flow_tools.is_some()),
            ] {
                if set {
                    self.err(
                        file,
                        format!("{at}.{name}"),
                        format!("`{name}` reads the JSON result, but the method has `response: binary`"),
                        format!("remove `{name}`, or the `response: binary` line"),
                    );
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(&mut self, file: &str, at: &str, doc_file: &str, key: &str, kind: Kind, params: &[String], m: &Method, r: &DocRecord) {
        if r.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            self.err(doc_file, format!("{key}.title"), "the title is empty", "give a short title such as `List flows`, or remove the key to have one derived");
        }
        if r.description.trim().is_empty() {
            self.err(doc_file, format!("{key}.description"), "the description is empty", "say what the tool does and when to use it");
        }
        let mut inlined: BTreeMap<&str, Value> = BTreeMap::new();
        for (name, s) in SCHEMAS.iter().zip([&r.path_schema, &r.query_schema, &r.body_schema, &r.response_schema, &r.server_schema]) {
            let Some(s) = s else { continue };
            let key_at = format!("{key}.{name}");
            match schema::inline_refs(s, &self.spec.definitions) {
                Err((ptr, msg)) => {
                    self.err(doc_file, format!("{key_at}{}", dotted(&ptr)), msg, "define the target in definitions.yaml `$defs`, or fix the name")
                }
                Ok(s) => {
                    if let Some(ptr) = schema::null_keyword(&s) {
                        self.err(
                            doc_file,
                            format!("{key_at}{}", dotted(&ptr)),
                            "a schema key with no value (in a `{ … }` flow mapping, a comma ends the value before it)",
                            "quote the text that contains the comma, e.g. `description: \"Text, or more\"`",
                        );
                    } else if let Err(msg) = schema::meta_check(&s) {
                        self.err(doc_file, &key_at, format!("not a valid JSON Schema: {msg}"), "fix the schema (JSON Schema draft 2020-12)");
                    } else if !schema::is_object_schema(&s) {
                        self.err(doc_file, &key_at, "the schema's root is not `type: object`", "wrap the fields in `type: object` / `properties:`");
                    } else {
                        inlined.insert(name, s);
                    }
                }
            }
        }
        // A schema that failed its own checks still names its properties, so one mistake
        // does not cascade into "undeclared" errors elsewhere.
        let raw: BTreeMap<&str, &Value> = SCHEMAS
            .iter()
            .zip([&r.path_schema, &r.query_schema, &r.body_schema, &r.response_schema, &r.server_schema])
            .filter_map(|(n, s)| s.as_ref().map(|s| (*n, s)))
            .collect();
        let props = |name: &str| -> BTreeSet<String> {
            inlined
                .get(name)
                .or_else(|| raw.get(name).copied())
                .map(|s| schema::properties(s).into_iter().map(|(k, _)| k.clone()).collect())
                .unwrap_or_default()
        };
        let (path_p, query_p, body_p) = (props("path_schema"), props("query_schema"), props("body_schema"));

        for p in props("server_schema") {
            if path_p.contains(&p)
                || query_p.contains(&p)
                || body_p.contains(&p)
                || (m.async_.is_some() && (p == rules::WAIT || p == rules::WAIT_TIMEOUT_SECONDS))
            {
                self.err(
                    doc_file,
                    format!("{key}.server_schema.properties.{p}"),
                    format!("`{p}` is both a server argument and an upstream (or reserved) argument"),
                    "rename the server argument",
                );
            }
        }
        let verb = m.http.verb;
        if r.body_schema.is_some() && matches!(verb, Verb::Get | Verb::Delete) {
            self.err(
                doc_file,
                format!("{key}.body_schema"),
                format!("a body on a {} method ({file} `{at}.http`)", verb.as_str()),
                "move the fields to query_schema, or change the verb",
            );
        }
        for p in params {
            if !path_p.contains(p) {
                self.err(
                    doc_file,
                    format!("{key}.path_schema"),
                    format!("path parameter `{p}` of `{}` is not declared", m.http),
                    format!("add `{p}` to path_schema.properties"),
                );
            }
        }
        for p in &path_p {
            if !params.contains(p) {
                self.err(
                    doc_file,
                    format!("{key}.path_schema.properties.{p}"),
                    format!("`{p}` is not a parameter of `{}`", m.http),
                    "remove it, or add `{…}` to the path template",
                );
            }
            if query_p.contains(p) || body_p.contains(p) {
                self.err(
                    doc_file,
                    format!("{key}.path_schema.properties.{p}"),
                    format!("`{p}` is both a path parameter and a query or body property"),
                    "rename one of them",
                );
            }
        }
        for p in query_p.intersection(&body_p) {
            if !matches!(m.placement(p), Some(Location::Query | Location::Body | Location::Both)) {
                self.err(
                    file,
                    format!("{at}.args"),
                    format!("`{p}` is declared in both query_schema and body_schema with no rule"),
                    format!("add `args: {{ {p}: {{ in: query }} }}` (or `body`, or `both`)"),
                );
            }
        }
        let all: BTreeSet<&String> = path_p.iter().chain(&query_p).chain(&body_p).collect();
        for (name, rule) in &m.args {
            if !all.contains(name) {
                self.err(
                    file,
                    format!("{at}.args.{name}"),
                    format!("`{name}` is not declared in any schema of the documentation record"),
                    "declare it in path_schema, query_schema or body_schema, or remove the rule",
                );
                continue;
            }
            if let Some(place) = rule.in_ {
                let ok = match place {
                    Location::Path => path_p.contains(name),
                    Location::Query => query_p.contains(name),
                    Location::Body => body_p.contains(name),
                    Location::Both => query_p.contains(name) && body_p.contains(name),
                };
                if !ok {
                    self.err(
                        file,
                        format!("{at}.args.{name}.in"),
                        format!("`in: {}` but `{name}` is not declared in that schema", place.as_str()),
                        "declare it there, or change `in`",
                    );
                }
            }
            if (rule.in_ == Some(Location::Path) || path_p.contains(name)) && rule.as_.is_some() {
                self.err(file, format!("{at}.args.{name}.as"), "a path parameter cannot be renamed", "rename the parameter in the path template instead");
            }
        }
        let multipart = m.multipart();
        if !m.files.is_empty() && !multipart {
            self.err(file, format!("{at}.files"), "file parts need `body_format: multipart`", "add `body_format: multipart`");
        }
        if multipart && r.body_schema.is_none() {
            self.err(doc_file, format!("{key}.body_schema"), "`body_format: multipart` but the record has no body_schema", "declare the parts in body_schema");
        }
        for (i, f) in m.files.iter().enumerate() {
            if !body_p.contains(f) {
                self.err(file, format!("{at}.files[{i}]"), format!("file part `{f}` is not declared in body_schema"), "declare it in body_schema.properties");
            }
        }
        for (i, c) in m.context.iter().enumerate() {
            if !all.contains(c) {
                self.err(
                    file,
                    format!("{at}.context[{i}]"),
                    format!("context value `{c}` is not declared in any schema"),
                    format!("declare `{c}` in query_schema or body_schema"),
                );
            }
        }
        if kind.by_id() && !all.iter().any(|p| *p == "id") {
            self.err(
                doc_file,
                key,
                format!("a `{kind}` method must take an `id` argument"),
                "declare `id` (path_schema for `{id}` paths; query_schema or body_schema with `args: { id: { as: upstream_name } }` otherwise)",
            );
        }
        if r.response_schema.is_some() && m.response == ResponseFormat::Binary {
            self.err(
                doc_file,
                format!("{key}.response_schema"),
                "a `response: binary` method has no JSON response schema",
                "remove response_schema, or the `response: binary` line",
            );
        }
        let args = Args { path: &path_p, query: &query_p, body: &body_p, server: &props("server_schema") };
        self.behaviour_args(file, at, doc_file, key, m, &args);
    }

    /// The checks of `behaviours:` against the arguments the documentation record declares.
    fn behaviour_args(&mut self, file: &str, at: &str, doc_file: &str, key: &str, m: &Method, args: &Args) {
        let b = &m.behaviours;
        let at = format!("{at}.behaviours");
        let mut server: Vec<(String, &str)> = Vec::new();
        if let Some(f) = &b.flow_inputs {
            server.push((format!("{at}.flow_inputs.arg"), &f.arg));
            if !args.upstream(&f.flow_arg) {
                self.err(
                    file,
                    format!("{at}.flow_inputs.flow_arg"),
                    format!("`{}` is not an upstream argument of the method", f.flow_arg),
                    format!("name the argument that identifies the flow, declared in {doc_file} `{key}` path_schema, query_schema or body_schema"),
                );
            }
            let in_query_only = m.placement(&f.wire_arg) == Some(Location::Query);
            if !args.body.contains(&f.wire_arg) || in_query_only {
                self.err(
                    file,
                    format!("{at}.flow_inputs.wire_arg"),
                    format!("`{}` is not a body argument of the method", f.wire_arg),
                    format!("name the body field the inputs are sent in, declared in {doc_file} `{key}.body_schema`"),
                );
            }
        }
        if let Some(s) = &b.inputs_schema
            && !(args.upstream(&s.id_arg) || args.server.contains(&s.id_arg))
        {
            self.err(
                file,
                format!("{at}.inputs_schema.id_arg"),
                format!("`{}` is not an argument of the method", s.id_arg),
                format!("name the argument that identifies the flow, declared in {doc_file} `{key}`"),
            );
        }
        if let Some(s) = &b.skill_package {
            for (k, v) in [("markdown", &s.markdown), ("name", &s.name), ("description", &s.description), ("files", &s.files), ("archive", &s.archive)] {
                server.push((format!("{at}.skill_package.{k}"), v));
            }
        }
        for (key_path, name) in server {
            if !args.server.contains(name) {
                self.err(
                    file,
                    key_path,
                    format!("`{name}` is not declared in the record's server_schema"),
                    format!("declare `{name}` in {doc_file} `{key}.server_schema.properties` (the server consumes it; it never goes upstream)"),
                );
            }
        }
    }

    fn docs_match_methods(&mut self) {
        let resources: BTreeMap<&str, &Resource> = self.spec.resources.iter().map(|r| (r.value.resource.as_str(), &r.value)).collect();
        for (stem, docs) in &self.spec.docs {
            let Some(res) = resources.get(stem.as_str()) else {
                self.err(
                    &docs.file,
                    "",
                    format!("documentation for resource `{stem}`, which has no definition"),
                    format!("add resources/{stem}.yaml or remove this file"),
                );
                continue;
            };
            for key in docs.value.keys() {
                if !res.methods.contains_key(key) {
                    let known: Vec<&str> = res.methods.keys().map(String::as_str).collect();
                    self.err(
                        &docs.file,
                        key,
                        format!("documentation record for method `{key}`, which resource `{stem}` does not define"),
                        format!("add `methods.{key}` to resources/{stem}.yaml, or fix the key (defined: {})", known.join(", ")),
                    );
                }
            }
        }
    }

    fn async_targets(&mut self, names: &BTreeMap<String, (String, String)>) {
        for res in &self.spec.resources {
            for (key, m) in &res.value.methods {
                let Some(a) = &m.async_ else { continue };
                if !names.contains_key(&a.status_tool) {
                    self.err(
                        &res.file,
                        format!("methods.{key}.async.status_tool"),
                        format!("no documented tool is named `{}`", a.status_tool),
                        "name an existing tool, e.g. the resource's `get_single_…_by_id`",
                    );
                }
                if let Some(c) = &a.cancel_tool
                    && !names.contains_key(c)
                {
                    self.err(
                        &res.file,
                        format!("methods.{key}.async.cancel_tool"),
                        format!("no documented tool is named `{c}`"),
                        "name an existing tool that stops the work given its id, e.g. the resource's `delete_a_…_by_id`, or leave cancel_tool out",
                    );
                }
            }
        }
    }
}

/// Whether a tool's behaviours include the one another behaviour needs of it.
type Declares = fn(&BehavioursRule) -> bool;

impl Validator<'_> {
    /// The checks of `behaviours:` that name other tools.
    fn behaviour_targets(&mut self, names: &BTreeMap<String, (String, String)>) {
        // Documented tools by name, with the behaviours they declare.
        let mut declared: BTreeMap<String, &BehavioursRule> = BTreeMap::new();
        for res in &self.spec.resources {
            for (key, m) in &res.value.methods {
                let name = tool_name(self.spec, &res.value, key, m);
                if names.get(&name).is_some_and(|(f, at)| *f == res.file && *at == format!("methods.{key}")) {
                    declared.insert(name, &m.behaviours);
                }
            }
        }
        for res in &self.spec.resources {
            for (key, m) in &res.value.methods {
                let b = &m.behaviours;
                let mut targets: Vec<(&str, &str, &str, Declares)> = Vec::new();
                if let Some(f) = &b.flow_inputs {
                    targets.push(("flow_inputs.schema_tool", &f.schema_tool, "inputs_schema", |b| b.inputs_schema.is_some()));
                }
                if let Some(f) = &b.flow_tools {
                    targets.push(("flow_tools.run_tool", &f.run_tool, "flow_inputs", |b| b.flow_inputs.is_some()));
                }
                for (field, tool, needs, has) in targets {
                    let key_path = format!("methods.{key}.behaviours.{field}");
                    match declared.get(tool) {
                        None => self.err(
                            &res.file,
                            key_path,
                            format!("no documented tool is named `{tool}`"),
                            format!("name an existing tool that declares `behaviours.{needs}`"),
                        ),
                        Some(other) if !has(other) => {
                            let (other_file, other_at) = &names[tool];
                            self.err(
                                &res.file,
                                key_path,
                                format!("`{tool}` declares no `behaviours.{needs}`"),
                                format!("declare `behaviours.{needs}` on {other_file} `{other_at}`, or name the tool that has it"),
                            );
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
}

/// `/a/b/0` → `.a.b[0]`, for appending a JSON pointer to a dotted key path.
fn dotted(ptr: &str) -> String {
    ptr.split('/').filter(|s| !s.is_empty()).map(|s| if s.parse::<usize>().is_ok() { format!("[{s}]") } else { format!(".{s}") }).collect()
}
