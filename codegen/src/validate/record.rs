//! The checks of one documentation record against its method: schemas, arguments,
//! placement, context values and server arguments.

use std::collections::BTreeMap;

use super::*;

impl Validator<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record(&mut self, file: &str, at: &str, doc_file: &str, key: &str, kind: Kind, params: &[String], m: &Method, r: &DocRecord) {
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
        // A tool with an output schema that names fields takes the server's `fields`.
        if m.response == crate::spec::ResponseFormat::Json && !props("response_schema").is_empty() {
            let name = rules::FIELDS;
            let server_p = props("server_schema");
            for (schema_key, taken) in [("path_schema", &path_p), ("query_schema", &query_p), ("body_schema", &body_p), ("server_schema", &server_p)] {
                if !taken.contains(name) {
                    continue;
                }
                let help = match schema_key {
                    "path_schema" => format!("rename the path parameter (`{{{name}}}` in `{}` and its path_schema property): its name is not sent", m.http),
                    "server_schema" => "rename the server argument".to_owned(),
                    _ => format!(
                        "rename the property (e.g. `upstream_{name}`) and send it as `{name}` with `args: {{ upstream_{name}: {{ as: {name} }} }}` in {file} `{at}`"
                    ),
                };
                self.err(
                    doc_file,
                    format!("{key}.{schema_key}.properties.{name}"),
                    format!("`{name}` is reserved on tools with an output schema: it is the server's argument that keeps only the named result fields"),
                    help,
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
}
