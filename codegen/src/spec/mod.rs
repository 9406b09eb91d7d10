//! The raw spec types, exactly as written in YAML (see `spec/README.md`).
//!
//! Every struct denies unknown keys, so a typo is an error rather than a silent no-op.
//! Maps are `BTreeMap`s so nothing downstream depends on key order.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

mod behaviours;
mod values;

pub use behaviours::*;
pub use values::*;

/// The whole spec after loading.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `integration.yaml`.
    pub integration: Located<Integration>,
    /// `definitions.yaml` `$defs`, if the file exists.
    pub definitions: BTreeMap<String, Value>,
    /// The file `definitions.yaml` was read from.
    pub definitions_file: String,
    /// `resources/*.yaml`, sorted by file name.
    pub resources: Vec<Located<Resource>>,
    /// `docs/*.yaml`, keyed by file stem (the resource name).
    pub docs: BTreeMap<String, Located<BTreeMap<String, DocRecord>>>,
}

/// A value and the spec file it came from.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// The file, e.g. `spec/resources/flows.yaml`.
    pub file: String,
    /// The parsed value.
    pub value: T,
}

/// `integration.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integration {
    /// The infix of tool names.
    pub name: String,
    /// The display name.
    pub title: String,
    /// Base URLs.
    pub base_urls: BaseUrls,
    /// The auth scheme.
    #[serde(default)]
    pub auth: Auth,
    /// Context values and their descriptions.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// The tag vocabulary.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// What the server tells clients about the tools at `initialize`.
    #[serde(default)]
    pub instructions: Option<String>,
}

/// `integration.base_urls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseUrls {
    /// The REST host.
    pub api: String,
    /// The streaming host.
    #[serde(default)]
    pub ws: Option<String>,
}

/// `integration.auth`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Send `Authorization: Bearer`.
    #[serde(default = "yes")]
    pub bearer: bool,
    /// The user-id header.
    #[serde(default)]
    pub user_header: Option<String>,
    /// The team-id query parameter.
    #[serde(default)]
    pub team_query: Option<String>,
}

impl Default for Auth {
    fn default() -> Self {
        Self { bearer: true, user_header: None, team_query: None }
    }
}

fn yes() -> bool {
    true
}

/// `resources/<resource>.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// The plural resource name; equals the file stem.
    pub resource: String,
    /// The singular, when the rule gets it wrong.
    #[serde(default)]
    pub singular: Option<String>,
    /// Tags of every method.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Methods by key.
    pub methods: BTreeMap<String, Method>,
}

/// One method of a resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// `VERB /path/{param}`.
    pub http: Http,
    /// The method kind, when it differs from what the key implies.
    #[serde(default)]
    pub kind: Option<Kind>,
    /// `api` or `ws`.
    #[serde(default)]
    pub base: Base,
    /// `json` or `multipart`; absent means JSON when the record has a body.
    #[serde(default)]
    pub body_format: Option<BodyFormat>,
    /// Body properties sent as file parts.
    #[serde(default)]
    pub files: Vec<String>,
    /// Placement and renaming of arguments.
    #[serde(default)]
    pub args: BTreeMap<String, ArgRule>,
    /// Context values this method takes.
    #[serde(default)]
    pub context: Vec<String>,
    /// `none`, `cursor` or `page`.
    #[serde(default)]
    pub pagination: Pagination,
    /// `json` or `binary`.
    #[serde(default)]
    pub response: ResponseFormat,
    /// Long-running behaviour.
    #[serde(default, rename = "async")]
    pub async_: Option<AsyncRule>,
    /// What the server does beyond the HTTP call.
    #[serde(default)]
    pub behaviours: BehavioursRule,
    /// Annotation overrides.
    #[serde(default)]
    pub annotations: AnnotationOverrides,
    /// Extra tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The tool name, replacing the naming rule.
    #[serde(default)]
    pub tool_name: Option<String>,
}

impl Method {
    /// The kind this method has: its explicit `kind`, else its key if standard, else `custom`.
    pub fn kind(&self, key: &str) -> Kind {
        self.kind.or_else(|| Kind::standard(key)).unwrap_or(Kind::Custom)
    }

    /// Whether the body goes as multipart parts.
    pub fn multipart(&self) -> bool {
        self.body_format == Some(BodyFormat::Multipart)
    }

    /// Where the `args.<name>.in` rule puts `name`, if it says.
    pub fn placement(&self, name: &str) -> Option<Location> {
        self.args.get(name).and_then(|a| a.in_)
    }
}

/// `args.<name>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgRule {
    /// `path`, `query`, `body` or `both`.
    #[serde(default, rename = "in")]
    pub in_: Option<Location>,
    /// The upstream name.
    #[serde(default, rename = "as")]
    pub as_: Option<String>,
}

/// `async`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncRule {
    /// The status tool's name.
    pub status_tool: String,
    /// Pointer to the id in this method's response.
    pub id_pointer: String,
    /// Pointer to the state in the status tool's response.
    pub state_pointer: String,
    /// Terminal states.
    pub terminal: Vec<String>,
    /// The tool that stops the work (given the same id), when Gumloop has one.
    #[serde(default)]
    pub cancel_tool: Option<String>,
    /// Pointer to the queue position in the status tool's response, where reported.
    #[serde(default)]
    pub queue_pointer: Option<String>,
}

/// `annotations`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnotationOverrides {
    /// `readOnlyHint`.
    #[serde(default)]
    pub read_only: Option<bool>,
    /// `destructiveHint`.
    #[serde(default)]
    pub destructive: Option<bool>,
    /// `idempotentHint`.
    #[serde(default)]
    pub idempotent: Option<bool>,
    /// `openWorldHint`.
    #[serde(default)]
    pub open_world: Option<bool>,
}

/// One documentation record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocRecord {
    /// The display title (MCP `title`), when the derived one does not fit.
    #[serde(default)]
    pub title: Option<String>,
    /// For the model.
    pub description: String,
    /// Path parameters.
    #[serde(default)]
    pub path_schema: Option<Value>,
    /// Query arguments.
    #[serde(default)]
    pub query_schema: Option<Value>,
    /// Body arguments.
    #[serde(default)]
    pub body_schema: Option<Value>,
    /// A successful response.
    #[serde(default)]
    pub response_schema: Option<Value>,
    /// Arguments the gumloop-mcp server consumes itself (for example a flow run's
    /// `inputs`, which it checks and turns into the wire form); never sent as they are.
    #[serde(default)]
    pub server_schema: Option<Value>,
}

/// `definitions.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definitions {
    /// Named schemas.
    #[serde(rename = "$defs", default)]
    pub defs: BTreeMap<String, Value>,
}
