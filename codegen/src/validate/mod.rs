//! Stage 2: cross-reference checks. Every problem is collected, so one run lists them all.

use std::collections::{BTreeMap, BTreeSet};

use gumloop_mcp_runtime::rules;
use serde_json::Value;

use crate::error::{Diagnostic, Error, Result};
use crate::naming;
use crate::naming::tool_name;
use crate::schema;
mod behaviours;
mod record;

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

/// `/a/b/0` → `.a.b[0]`, for appending a JSON pointer to a dotted key path.
fn dotted(ptr: &str) -> String {
    ptr.split('/').filter(|s| !s.is_empty()).map(|s| if s.parse::<usize>().is_ok() { format!("[{s}]") } else { format!(".{s}") }).collect()
}
