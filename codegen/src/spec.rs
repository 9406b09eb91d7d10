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
    pub http: String,
    /// The method kind, when it differs from what the key implies.
    #[serde(default)]
    pub kind: Option<String>,
    /// `api` or `ws`.
    #[serde(default)]
    pub base: Option<String>,
    /// `json` or `multipart`.
    #[serde(default)]
    pub body_format: Option<String>,
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
    pub pagination: Option<String>,
    /// `json` or `binary`.
    #[serde(default)]
    pub response: Option<String>,
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

/// `args.<name>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgRule {
    /// `path`, `query`, `body` or `both`.
    #[serde(default, rename = "in")]
    pub in_: Option<String>,
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
