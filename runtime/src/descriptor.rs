//! Static tool descriptors: everything the server needs to list and call a tool.

use crate::request::{ArgsError, Context, UpstreamRequest};

/// The standard method kinds of a resource, plus `Custom` for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MethodKind {
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

impl MethodKind {
    /// The spec-format spelling (`list`, `get`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            MethodKind::List => "list",
            MethodKind::Get => "get",
            MethodKind::Create => "create",
            MethodKind::Update => "update",
            MethodKind::Delete => "delete",
            MethodKind::Custom => "custom",
        }
    }
}

/// HTTP verbs the spec format allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
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

impl HttpMethod {
    /// The verb as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// Which upstream host serves a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    /// The REST host (`https://api.gumloop.com/api/v1`).
    Api,
    /// The streaming host (`https://ws.gumloop.com/api/v1`), which serves chat completions.
    Ws,
}

/// How a list method pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pagination {
    /// Not paginated.
    None,
    /// `cursor` in, `next_cursor` out (null on the last page).
    Cursor,
    /// `page` in, `total_pages` out.
    Page,
}

/// What a successful upstream response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseFormat {
    /// A JSON document.
    Json,
    /// Bytes (a zip, a CSV, a file), returned to the client as an embedded resource.
    Binary,
}

/// MCP tool annotations, after the spec's overrides are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Annotations {
    /// `readOnlyHint`
    pub read_only: bool,
    /// `destructiveHint`
    pub destructive: bool,
    /// `idempotentHint`
    pub idempotent: bool,
    /// `openWorldHint`
    pub open_world: bool,
}

/// A long-running method: which tool reports its state and which states end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsyncSpec {
    /// The tool that reads the state (e.g. `get_single_gumloop_session_by_id`).
    pub status_tool: &'static str,
    /// JSON pointer into this method's response that yields the id to pass as `id` to the status tool.
    pub id_pointer: &'static str,
    /// JSON pointer into the status tool's response that yields the state.
    pub state_pointer: &'static str,
    /// States after which polling stops.
    pub terminal: &'static [&'static str],
    /// The tool that stops the work given the same `id` (a session's cancel, a run's
    /// kill); `None` where Gumloop offers no way to stop it.
    pub cancel_tool: Option<&'static str>,
    /// JSON pointer into the status tool's response to the work's place in a queue,
    /// where upstream reports one (shown while waiting).
    pub queue_pointer: Option<&'static str>,
}

/// Everything known about one tool at build time.
#[derive(Debug, Clone, Copy)]
pub struct ToolDescriptor {
    /// The MCP tool name, `^[a-z0-9_]{1,64}$`.
    pub name: &'static str,
    /// The display title (MCP `title`, also `annotations.title`), e.g. "List flows".
    pub title: &'static str,
    /// The resource the method belongs to.
    pub resource: &'static str,
    /// The method's key in the resource definition (`list`, `get`, `send_message`, …).
    pub method: &'static str,
    /// The method kind.
    pub kind: MethodKind,
    /// Tags: the union of the resource's and the method's, sorted.
    pub tags: &'static [&'static str],
    /// The description shown to models.
    pub description: &'static str,
    /// The self-contained JSON Schema of the arguments, as JSON text.
    pub input_schema: &'static str,
    /// The JSON Schema of a successful result, as JSON text.
    pub output_schema: Option<&'static str>,
    /// MCP annotations.
    pub annotations: Annotations,
    /// The upstream HTTP verb.
    pub http_method: HttpMethod,
    /// The upstream host.
    pub base: Base,
    /// The upstream path template, as written in the spec.
    pub path_template: &'static str,
    /// How the method pages.
    pub pagination: Pagination,
    /// What a success carries.
    pub response: ResponseFormat,
    /// Set for long-running methods.
    pub async_spec: Option<AsyncSpec>,
    /// What the server does beyond the HTTP call (`behaviours:` in the spec).
    pub behaviours: crate::Behaviours,
    /// Input-schema properties the server consumes itself (`wait`, `max_items`, a flow
    /// run's `inputs`, …): the server takes them out before calling `build`.
    pub server_args: &'static [&'static str],
    /// Deserialises the (already schema-validated) arguments and builds the upstream request.
    pub build: fn(serde_json::Value, &Context) -> Result<UpstreamRequest, ArgsError>,
}

/// The integration-wide facts from `spec/integration.yaml`.
#[derive(Debug, Clone, Copy)]
pub struct Integration {
    /// The name used inside tool names (`gumloop`).
    pub name: &'static str,
    /// The display name (`Gumloop`).
    pub title: &'static str,
    /// The REST base URL.
    pub api_base_url: &'static str,
    /// The streaming base URL.
    pub ws_base_url: &'static str,
    /// Send `Authorization: Bearer <key>`.
    pub bearer: bool,
    /// The header that carries the user id, if any.
    pub user_header: Option<&'static str>,
    /// The query parameter that carries a team key's team id, if any.
    pub team_query: Option<&'static str>,
    /// What the server tells a client about its tools at `initialize` (MCP `instructions`).
    pub instructions: &'static str,
}
