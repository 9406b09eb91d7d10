//! The IR: the spec with every name resolved, every `$ref` inlined and every
//! argument placed. Emitters read only this.

use serde_json::Value;

pub use crate::spec::{Base, BodyFormat, Kind, Location, Pagination, ResponseFormat, Verb};
pub use crate::spec::{BehavioursRule, DownloadLinkRule, FlowInputsRule, FlowToolsRule, ImagesRule, InputsSchemaRule, SkillPackageRule};

/// The lowered spec.
#[derive(Debug, Clone)]
pub struct Model {
    /// Integration-wide facts.
    pub integration: IntegrationIr,
    /// Resources with at least one documented method, sorted by name.
    pub resources: Vec<ResourceIr>,
    /// Non-fatal problems (e.g. undocumented methods, which are skipped).
    pub warnings: Vec<String>,
}

/// `integration.yaml`, lowered.
#[derive(Debug, Clone)]
pub struct IntegrationIr {
    /// Tool-name infix.
    pub name: String,
    /// Display name.
    pub title: String,
    /// REST base URL.
    pub api_base_url: String,
    /// Streaming base URL (the REST one when the spec names none).
    pub ws_base_url: String,
    /// Bearer auth.
    pub bearer: bool,
    /// User-id header.
    pub user_header: Option<String>,
    /// Team-id query parameter.
    pub team_query: Option<String>,
    /// The server's instructions text.
    pub instructions: String,
    /// The file it came from.
    pub file: String,
}

/// One resource and its tools.
#[derive(Debug, Clone)]
pub struct ResourceIr {
    /// The plural name, e.g. `sessions`.
    pub name: String,
    /// The Rust module name.
    pub module: String,
    /// Source files (resource definition, documentation records).
    pub sources: Vec<String>,
    /// Tools sorted by name.
    pub tools: Vec<ToolIr>,
}

/// One tool, fully resolved.
#[derive(Debug, Clone)]
pub struct ToolIr {
    /// The MCP tool name (also its module name).
    pub name: String,
    /// The owning resource.
    pub resource: String,
    /// The method key.
    pub method: String,
    /// The display title (MCP `title`): the record's, else derived from kind and resource.
    pub title: String,
    /// The method kind.
    pub kind: Kind,
    /// Sorted, de-duplicated tags.
    pub tags: Vec<String>,
    /// The final description, with `Returns:` and `Required:` lines.
    pub description: String,
    /// The self-contained input schema.
    pub input_schema: Value,
    /// The output schema, from the response schema.
    pub output_schema: Option<Value>,
    /// Annotations after overrides.
    pub annotations: AnnotationsIr,
    /// The HTTP verb.
    pub http_method: Verb,
    /// The upstream host.
    pub base: Base,
    /// The path template as written.
    pub path_template: String,
    /// The path split into literal text and parameters.
    pub path: Vec<PathPiece>,
    /// How the list pages.
    pub pagination: Pagination,
    /// What a success carries.
    pub response: ResponseFormat,
    /// How the body is sent (`None` without body arguments).
    pub body_format: BodyFormat,
    /// Long-running behaviour.
    pub async_spec: Option<AsyncIr>,
    /// What the server does beyond the HTTP call, as the spec declares it (names and
    /// pointers need no resolving).
    pub behaviours: BehavioursRule,
    /// Input-schema properties the server consumes itself (never passed to `build`).
    pub server_args: Vec<String>,
    /// Arguments in input-schema order.
    pub args: Vec<ArgIr>,
    /// The spec files this tool comes from.
    pub sources: Vec<String>,
}

/// Part of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPiece {
    /// Literal text, e.g. `/agents/`.
    Literal(String),
    /// A parameter: the index of its argument in [`ToolIr::args`].
    Param(usize),
}

/// Resolved annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnotationsIr {
    /// `readOnlyHint`.
    pub read_only: bool,
    /// `destructiveHint`.
    pub destructive: bool,
    /// `idempotentHint`.
    pub idempotent: bool,
    /// `openWorldHint`.
    pub open_world: bool,
}

/// Long-running behaviour.
#[derive(Debug, Clone)]
pub struct AsyncIr {
    /// The status tool.
    pub status_tool: String,
    /// Pointer to the id.
    pub id_pointer: String,
    /// Pointer to the state.
    pub state_pointer: String,
    /// Terminal states.
    pub terminal: Vec<String>,
    /// The tool that stops the work, if any.
    pub cancel_tool: Option<String>,
    /// Pointer to the queue position, if reported.
    pub queue_pointer: Option<String>,
}

/// The Rust type of an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgType {
    /// `String`
    String,
    /// `i64`
    Integer,
    /// `f64`
    Number,
    /// `bool`
    Boolean,
    /// `Vec<T>`
    Array(Box<ArgType>),
    /// `FileArg` (a multipart file part)
    File,
    /// `serde_json::Value` (objects and anything without one clear type)
    Json,
}

/// One tool argument.
#[derive(Debug, Clone)]
pub struct ArgIr {
    /// The argument's name in the input schema.
    pub name: String,
    /// The Rust field identifier (may be `r#type`).
    pub ident: String,
    /// `#[serde(rename)]`, when the identifier differs from the name.
    pub rename: Option<String>,
    /// The upstream name.
    pub upstream: String,
    /// Where it goes.
    pub location: Location,
    /// Its Rust type (without the `Option` for optional arguments).
    pub ty: ArgType,
    /// Whether the input schema requires it.
    pub required: bool,
    /// Filled from the credential when absent (the context value's name).
    pub context: Option<String>,
    /// Whether upstream requires it even though it is context-filled.
    pub context_required: bool,
    /// The schema's description, for the field's doc comment.
    pub description: Option<String>,
}
