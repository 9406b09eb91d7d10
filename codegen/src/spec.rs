//! The raw spec types, exactly as written in YAML (see `spec/README.md`).
//!
//! Every struct denies unknown keys, so a typo is an error rather than a silent no-op.
//! Maps are `BTreeMap`s so nothing downstream depends on key order.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

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

/// A method kind (`kind:`; spelled as in the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A collection read.
    List,
    /// A read of one record.
    Get,
    /// A write that makes something.
    Create,
    /// A write to one record.
    Update,
    /// A destructive write to one record.
    Delete,
    /// Anything else.
    Custom,
}

impl Kind {
    /// The standard kind a method key names (`list`, …), if it is one.
    pub fn standard(key: &str) -> Option<Kind> {
        Some(match key {
            "list" => Kind::List,
            "get" => Kind::Get,
            "create" => Kind::Create,
            "update" => Kind::Update,
            "delete" => Kind::Delete,
            _ => return None,
        })
    }

    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::List => "list",
            Kind::Get => "get",
            Kind::Create => "create",
            Kind::Update => "update",
            Kind::Delete => "delete",
            Kind::Custom => "custom",
        }
    }

    /// Whether the kind reads or writes one record by its `id`.
    pub fn by_id(self) -> bool {
        matches!(self, Kind::Get | Kind::Update | Kind::Delete)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP verb the spec format allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Verb {
    /// Every verb, in the order the spec format lists them.
    pub const ALL: [Verb; 5] = [Verb::Get, Verb::Post, Verb::Put, Verb::Patch, Verb::Delete];

    /// The verb as written (and sent).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

/// `http: VERB /path`: the verb is parsed when loading, the path checked by validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http {
    /// The verb.
    pub verb: Verb,
    /// The path template, e.g. `/agents/{id}`.
    pub path: String,
}

impl std::fmt::Display for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb.as_str(), self.path)
    }
}

impl std::str::FromStr for Http {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let Some((verb, path)) = s.trim().split_once(' ') else {
            return Err(format!("`{s}` is not `VERB /path` (write it like `GET /agents/{{id}}`)"));
        };
        let Some(verb) = Verb::ALL.into_iter().find(|v| v.as_str() == verb) else {
            let all: Vec<&str> = Verb::ALL.iter().map(|v| v.as_str()).collect();
            return Err(format!("unknown HTTP verb `{verb}`, expected one of {}", all.join(", ")));
        };
        Ok(Http { verb, path: path.trim().to_owned() })
    }
}

impl<'de> Deserialize<'de> for Http {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Http;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`VERB /path`")
            }
            // Parsed inside the visitor, so the YAML position is the value's.
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Http, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Which upstream host serves a method (`base:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Base {
    /// The REST host.
    #[default]
    Api,
    /// The streaming host.
    Ws,
}

/// How a list pages (`pagination:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pagination {
    /// Not paginated.
    #[default]
    None,
    /// `cursor` in, `next_cursor` out.
    Cursor,
    /// `page` in, `total_pages` out.
    Page,
}

/// What a success carries (`response:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseFormat {
    /// A JSON document.
    #[default]
    Json,
    /// Bytes.
    Binary,
}

/// How the body is sent (`body_format:`; `None` only in the IR, for no body at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// No body.
    #[serde(skip)]
    None,
    /// A JSON object.
    Json,
    /// Multipart parts.
    Multipart,
}

/// Where an argument goes upstream (`args.<name>.in:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// A path segment.
    Path,
    /// A query parameter.
    Query,
    /// A JSON field or multipart part.
    Body,
    /// Both query and body.
    Both,
}

impl Location {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Body => "body",
            Location::Both => "both",
        }
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

/// `behaviours`: one optional key per behaviour; fields mirror the runtime's
/// `gumloop_mcp_runtime::behaviour` structs. Nothing in them needs resolving, so the IR
/// carries them as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehavioursRule {
    /// `behaviours.flow_inputs`.
    #[serde(default)]
    pub flow_inputs: Option<FlowInputsRule>,
    /// `behaviours.inputs_schema`.
    #[serde(default)]
    pub inputs_schema: Option<InputsSchemaRule>,
    /// `behaviours.download_link`.
    #[serde(default)]
    pub download_link: Option<DownloadLinkRule>,
    /// `behaviours.images`.
    #[serde(default)]
    pub images: Option<ImagesRule>,
    /// `behaviours.skill_package`.
    #[serde(default)]
    pub skill_package: Option<SkillPackageRule>,
    /// `behaviours.flow_tools`.
    #[serde(default)]
    pub flow_tools: Option<FlowToolsRule>,
}

impl BehavioursRule {
    /// Whether no behaviour is declared.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `behaviours.flow_inputs`: a run takes a flow's inputs by name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowInputsRule {
    /// The server argument with the inputs by name.
    pub arg: String,
    /// The argument that names the flow.
    pub flow_arg: String,
    /// The upstream body argument the checked inputs go to.
    pub wire_arg: String,
    /// The name key of one wire entry.
    pub wire_name: String,
    /// The value key of one wire entry.
    pub wire_value: String,
    /// The tool that reads a flow's inputs (it declares `inputs_schema`).
    pub schema_tool: String,
}

/// `behaviours.inputs_schema`: the result describes a flow's inputs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsSchemaRule {
    /// The argument that names the flow.
    pub id_arg: String,
    /// Pointer to the flow's id in the result.
    pub id: String,
    /// Pointer to the list of inputs in the result.
    pub inputs: String,
    /// Pointer to an input's name, within one input.
    pub name: String,
    /// Pointer to an input's data type, within one input.
    pub data_type: String,
    /// Pointer to an input's description, within one input.
    pub description: String,
    /// The data type of file inputs.
    pub file_type: String,
    /// What the schema tells a model about a file input.
    pub file_hint: String,
    /// The result field the JSON Schema is added as.
    pub into: String,
}

/// `behaviours.download_link`: objects in the result carry a signed URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadLinkRule {
    /// Pointer to the objects that carry a link (`""` is the result itself).
    pub at: String,
    /// Pointer to the URL, within one object.
    pub url: String,
    /// Pointer to the file name, within one object.
    #[serde(default)]
    pub filename: Option<String>,
    /// Pointer to the media type, within one object.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Pointer to the size in bytes, within one object.
    #[serde(default)]
    pub size: Option<String>,
}

/// `behaviours.images`: data-URL images in the result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesRule {
    /// Pointer to the image entries.
    pub at: String,
    /// Pointers to the URL within one entry, tried in order (`""` is the entry itself).
    pub url: Vec<String>,
}

/// `behaviours.skill_package`: the call uploads a skill in one of three forms.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillPackageRule {
    /// The SKILL.md text argument.
    pub markdown: String,
    /// The name argument that goes with the text.
    pub name: String,
    /// The description argument that goes with the text.
    pub description: String,
    /// The loose files argument.
    pub files: String,
    /// The base64 archive argument.
    pub archive: String,
    /// The multipart field the packaged files are sent as.
    pub field: String,
    /// The largest upload upstream accepts, unpacked, in bytes.
    pub max_bytes: u64,
}

/// `behaviours.flow_tools`: a list of flows, each of which becomes a tool.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowToolsRule {
    /// The tool-name prefix.
    pub prefix: String,
    /// Pointer to the flows in the result.
    pub items: String,
    /// Pointer to a flow's id, within one flow.
    pub id: String,
    /// Pointer to a flow's name, within one flow.
    pub name: String,
    /// Pointer to a flow's description, within one flow.
    pub description: String,
    /// Pointer to when a flow was created, within one flow.
    #[serde(default)]
    pub created: Option<String>,
    /// The tool that runs a flow (it declares `flow_inputs`).
    pub run_tool: String,
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
