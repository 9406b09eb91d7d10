//! Stage 1: read the spec files and parse them into [`crate::spec`] types.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Diagnostic, Error, Result};
use crate::spec::{Definitions, Located, Spec};

/// The spec's files in memory, keyed by `/`-separated path (e.g. `spec/resources/flows.yaml`).
#[derive(Debug, Clone, Default)]
pub struct SpecFiles {
    /// The prefix every key starts with, e.g. `spec`.
    pub root: String,
    /// File contents by path.
    pub files: BTreeMap<String, String>,
}

impl SpecFiles {
    /// Reads every `*.yaml` file of a spec directory (`integration.yaml`,
    /// `definitions.yaml`, `resources/`, `docs/`). Paths in diagnostics start with `label`.
    pub fn read_dir(dir: &Path, label: &str) -> Result<Self> {
        let mut files = BTreeMap::new();
        for sub in ["", "resources", "docs"] {
            let d = if sub.is_empty() { dir.to_path_buf() } else { dir.join(sub) };
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !sub.is_empty() => continue,
                Err(source) => return Err(Error::Io { path: d.display().to_string(), source }),
            };
            for entry in entries {
                let entry = entry.map_err(|source| Error::Io { path: d.display().to_string(), source })?;
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("yaml") || !path.is_file() {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
                let name = path.file_name().unwrap().to_string_lossy();
                let key = if sub.is_empty() { format!("{label}/{name}") } else { format!("{label}/{sub}/{name}") };
                files.insert(key, text);
            }
        }
        Ok(Self { root: label.to_owned(), files })
    }

    /// Adds or replaces a file (for tests and synthetic specs).
    pub fn with(mut self, rel: &str, text: impl Into<String>) -> Self {
        self.files.insert(format!("{}/{rel}", self.root), text.into());
        self
    }

    /// An empty spec rooted at `root`.
    pub fn new(root: &str) -> Self {
        Self { root: root.to_owned(), files: BTreeMap::new() }
    }
}

/// Parses every file, collecting all syntax and shape errors before failing.
pub fn load(files: &SpecFiles) -> Result<Spec> {
    let mut diags = Vec::new();
    let root = &files.root;
    let integration_file = format!("{root}/integration.yaml");
    let definitions_file = format!("{root}/definitions.yaml");

    let integration = match files.files.get(&integration_file) {
        Some(text) => parse(&integration_file, text, &mut diags),
        None => {
            diags.push(
                Diagnostic::new(&integration_file, "", "the integration file is missing")
                    .help("create it with `name`, `title` and `base_urls.api` (see spec/README.md)"),
            );
            None
        }
    };
    let definitions: Option<Definitions> = match files.files.get(&definitions_file) {
        Some(text) => parse(&definitions_file, text, &mut diags),
        None => Some(Definitions::default()),
    };

    let mut resources = Vec::new();
    let mut docs = BTreeMap::new();
    for (path, text) in &files.files {
        if path == &integration_file || path == &definitions_file {
            continue;
        }
        let rel = path.strip_prefix(root.as_str()).unwrap_or(path).trim_start_matches('/');
        if let Some(name) = rel.strip_prefix("resources/") {
            if let Some(value) = parse(path, text, &mut diags) {
                let _ = name;
                resources.push(Located { file: path.clone(), value });
            }
        } else if let Some(name) = rel.strip_prefix("docs/") {
            let stem = name.trim_end_matches(".yaml").to_owned();
            if let Some(value) = parse(path, text, &mut diags) {
                docs.insert(stem, Located { file: path.clone(), value });
            }
        } else {
            diags.push(
                Diagnostic::new(path, "", "this file is not part of the spec format")
                    .help("spec files are integration.yaml, definitions.yaml, resources/*.yaml and docs/*.yaml"),
            );
        }
    }

    match (integration, definitions) {
        (Some(integration), Some(definitions)) if diags.is_empty() => {
            Ok(Spec { integration: Located { file: integration_file, value: integration }, definitions: definitions.defs, definitions_file, resources, docs })
        }
        _ => Err(Error::Spec(diags)),
    }
}

/// Parses one YAML file into `T`, turning errors into a diagnostic with key path and position.
fn parse<T: DeserializeOwned>(file: &str, text: &str, diags: &mut Vec<Diagnostic>) -> Option<T> {
    let de = serde_yaml::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Some(v),
        Err(err) => {
            let key_path = err.path().to_string();
            let inner = err.into_inner();
            let location = inner.location().map(|l| (l.line(), l.column()));
            let raw = inner.to_string();
            // serde_yaml appends " at line L column C"; we report the position separately.
            let message = match raw.find(" at line ") {
                Some(i) => raw[..i].to_owned(),
                None => raw,
            };
            // serde_yaml starts some messages with the path (`methods.get.kind: unknown
            // variant …`); the key path is reported separately.
            let message = match message.split_once(": ") {
                Some((path, rest)) if !path.is_empty() && !path.contains(' ') => rest.to_owned(),
                _ => message,
            };
            // serde_path_to_error marks positions it cannot name with `?`.
            let key_path = key_path.split('.').filter(|s| *s != "?" && !s.is_empty()).collect::<Vec<_>>().join(".");
            let help = if message.starts_with("unknown field") {
                "remove the key or fix its spelling; spec/README.md lists every key"
            } else if message.starts_with("missing field") {
                "add the key; spec/README.md says what it holds"
            } else if message.starts_with("invalid type") || message.starts_with("invalid value") || message.starts_with("unknown variant") {
                "give the key a value of the kind spec/README.md describes"
            } else {
                "fix the YAML syntax at that position (check brackets, quotes and indentation)"
            };
            let help = Some(help);
            let mut d = Diagnostic::new(file, key_path, message);
            d.location = location;
            d.help = help.map(str::to_owned);
            diags.push(d);
            None
        }
    }
}
