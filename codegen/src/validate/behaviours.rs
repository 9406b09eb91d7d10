//! The checks of `behaviours:`: pointers, the arguments each behaviour names, and the
//! tools it links to and what those must declare.

use std::collections::BTreeMap;

use super::*;

impl Validator<'_> {
    /// The checks of `behaviours:` that need only the method itself.
    pub(super) fn behaviours(&mut self, file: &str, at: &str, kind: Kind, m: &Method) {
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
            // The server looks for it at the archive's root and writes it for form 1.
            let m = s.manifest.as_str();
            if m.is_empty() || m == "." || m == ".." || m.contains(['/', '\\']) || m.chars().any(char::is_control) {
                self.err(
                    file,
                    format!("{at}.skill_package.manifest"),
                    format!("`{m}` is not a file name at the skill's root"),
                    "name the file every skill has at its root, without folders, e.g. `SKILL.md`",
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

    /// The checks of `behaviours:` against the arguments the documentation record declares.
    pub(super) fn behaviour_args(&mut self, file: &str, at: &str, doc_file: &str, key: &str, m: &Method, args: &Args) {
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
}

/// Whether a tool's behaviours include the one another behaviour needs of it.
type Declares = fn(&BehavioursRule) -> bool;

impl Validator<'_> {
    /// The checks of `behaviours:` that name other tools.
    pub(super) fn behaviour_targets(&mut self, names: &BTreeMap<String, (String, String)>) {
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
