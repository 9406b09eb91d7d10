//! What an MCP POST body must be before rmcp sees it: one JSON-RPC 2.0 message. rmcp
//! answers anything else with a text/plain 415, and a standard request whose params do
//! not fit their type with "method not found" (its untagged `ClientRequest` falls back to
//! `CustomRequest`); [`check`] turns both into JSON-RPC errors.
//!
//! The check is cheap because every request pays for it: the envelope is read with
//! borrowed `RawValue`s (nothing allocated for the params), nesting is counted in one pass
//! over the bytes, and only a standard method's params are parsed, as their real type.
//! Anything about to be refused is first parsed the way rmcp parses it, so nothing rmcp
//! would serve is refused.

use std::borrow::Cow;
use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::model::*;
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// serde_json refuses this much nesting (its recursion limit), so rmcp does too.
pub const MAX_DEPTH: usize = 128;

/// The JSON-RPC error a body gets instead of reaching rmcp.
#[derive(Debug)]
pub struct Rejection {
    /// The HTTP status.
    pub status: StatusCode,
    /// The request's id, when one can be read.
    pub id: Option<RequestId>,
    /// The error (boxed: it is the rare path, and keeps `Result`s small).
    pub error: Box<ErrorData>,
}

impl Rejection {
    pub(crate) fn parse_error(detail: impl fmt::Display) -> Self {
        Self { status: StatusCode::BAD_REQUEST, id: None, error: Box::new(ErrorData::parse_error(format!("Parse error: {detail}"), None)) }
    }

    fn invalid_request(id: Option<RequestId>, detail: impl fmt::Display) -> Self {
        Self { status: StatusCode::BAD_REQUEST, id, error: Box::new(ErrorData::invalid_request(format!("Invalid Request: {detail}"), None)) }
    }

    /// rmcp could not parse a body this module let through (the last line of defence,
    /// so no client ever gets a text/plain 415 for a JSON body).
    pub fn unparsed(body: &[u8]) -> Self {
        let id = Fields::read(body).and_then(|f| f.id.and_then(read_id));
        match serde_json::from_slice::<ClientJsonRpcMessage>(body) {
            Err(e) if matches!(e.classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof) => Self::parse_error(e),
            Err(e) => Self::invalid_request(id, format!("not an MCP message: {e}")),
            Ok(_) => Self::invalid_request(id, "not an MCP message"),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        error_response(self.status, self.id, *self.error)
    }
}

/// A JSON-RPC error response: `id` is `null` when the request's cannot be read (JSON-RPC
/// 2.0 §5.1).
pub fn error_response(status: StatusCode, id: Option<RequestId>, error: ErrorData) -> Response {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": error});
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Which JSON-RPC message a body is (rmcp tells them apart by the keys present).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `method` and `id`.
    Request,
    /// `method` without `id`.
    Notification,
    /// `result`.
    Response,
    /// `error`.
    Error,
}

/// A body that passed: what the middleware needs to know about it.
#[derive(Debug)]
pub struct Message<'a> {
    /// Which message.
    pub kind: Kind,
    /// Its method, for requests and notifications.
    pub method: Option<Cow<'a, str>>,
    id: Option<&'a RawValue>,
    raw_method: Option<&'a RawValue>,
    params: Option<&'a RawValue>,
}

impl Message<'_> {
    /// Whether it is a request for `method`.
    pub fn is_request(&self, method: &str) -> bool {
        self.kind == Kind::Request && self.method.as_deref() == Some(method)
    }

    /// Its id, for an answer in its place.
    pub fn id(&self) -> Option<RequestId> {
        self.id.and_then(read_id)
    }
}

/// Checks a POST body. `protocol_version` is the request's `MCP-Protocol-Version` header
/// (for the HTTP status of invalid params, which follows rmcp's).
pub fn check<'a>(body: &'a [u8], protocol_version: Option<&str>) -> Result<Message<'a>, Rejection> {
    let message = match envelope(body) {
        Ok(m) => m,
        // Refuse only what rmcp refuses too.
        Err(rejection) => return rmcp_parses(body).map(|_| unknown()).ok_or(rejection),
    };
    if message.kind != Kind::Request {
        return Ok(message);
    }
    let Some(detail) = params_error(&message) else { return Ok(message) };
    // rmcp would serve it as a custom request ("method not found"), or not parse it at all.
    if rmcp_parses(body).is_some_and(|custom| !custom) {
        return Ok(message);
    }
    let status = invalid_params_status(message.params, protocol_version);
    Err(Rejection { status, id: message.id(), error: Box::new(ErrorData::invalid_params(detail, None)) })
}

/// A message rmcp parsed although [`envelope`] would not have (never expected).
fn unknown() -> Message<'static> {
    tracing::warn!("rmcp accepted a body the JSON-RPC check refused; letting it through");
    Message { kind: Kind::Notification, method: None, id: None, raw_method: None, params: None }
}

/// `Some(is a custom request)` when rmcp parses `body`, `None` when it does not.
fn rmcp_parses(body: &[u8]) -> Option<bool> {
    match serde_json::from_slice::<ClientJsonRpcMessage>(body).ok()? {
        JsonRpcMessage::Request(r) => Some(matches!(r.request, ClientRequest::CustomRequest(_))),
        _ => Some(false),
    }
}

/// The envelope: one JSON object with `jsonrpc: "2.0"`, a string or integer `id`, a string
/// `method`, object `params`, in one of the four shapes.
fn envelope(body: &[u8]) -> Result<Message<'_>, Rejection> {
    let text = std::str::from_utf8(body).map_err(|e| Rejection::parse_error(format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to())))?;
    if nesting_exceeds(body, MAX_DEPTH - 1) {
        return Err(Rejection::parse_error(format!("JSON nested more than {} levels deep", MAX_DEPTH - 1)));
    }
    let fields = match serde_json::from_str::<Top>(text) {
        Ok(Top::Object(fields)) => fields,
        Ok(Top::Batch) => return Err(Rejection::invalid_request(None, "batches (JSON arrays) are not supported; send one JSON-RPC message per request")),
        Err(e) if e.classify() == serde_json::error::Category::Data => return Err(Rejection::invalid_request(None, "a JSON-RPC message is a JSON object")),
        Err(e) => return Err(Rejection::parse_error(e)),
    };
    let id = match fields.id {
        Some(raw) => Some(read_id(raw).ok_or_else(|| Rejection::invalid_request(None, format!("`id` must be a string or an integer, not {}", raw.get())))?),
        None => None,
    };
    if !fields.jsonrpc.is_some_and(|v| v.get() == "\"2.0\"" || serde_json::from_str::<String>(v.get()).is_ok_and(|s| s == "2.0")) {
        return Err(Rejection::invalid_request(id, "`jsonrpc` must be \"2.0\""));
    }
    let method = match fields.method {
        Some(raw) => Some(read_str(raw).ok_or_else(|| Rejection::invalid_request(id.clone(), "`method` must be a string"))?),
        None => None,
    };
    let kind = match (method.is_some(), fields.id.is_some(), fields.result.is_some(), fields.error.is_some()) {
        (true, true, false, false) => Kind::Request,
        (true, false, false, false) => Kind::Notification,
        (false, _, true, false) => Kind::Response,
        (false, _, false, true) => Kind::Error,
        _ => return Err(Rejection::invalid_request(id, "a message has `method` (a request or notification), `result` or `error`, and only one of them")),
    };
    if let Some(p) = fields.params
        && matches!(kind, Kind::Request | Kind::Notification)
        && !(p.get().starts_with('{') || p.get() == "null")
    {
        let error = Box::new(ErrorData::invalid_params("Invalid params: `params` must be an object (MCP uses named parameters)", None));
        return Err(Rejection { status: StatusCode::BAD_REQUEST, id, error });
    }
    Ok(Message { kind, method, id: fields.id, raw_method: fields.method, params: fields.params })
}

/// An id as rmcp reads it (integers, also in float form, and strings).
fn read_id(raw: &RawValue) -> Option<RequestId> {
    serde_json::from_str(raw.get()).ok()
}

fn read_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    // Borrowed unless it has escapes.
    serde_json::from_str::<&str>(raw.get()).map(Cow::Borrowed).or_else(|_| serde_json::from_str::<String>(raw.get()).map(Cow::Owned)).ok()
}

/// Whether arrays and objects nest deeper than `max` anywhere in `json` (strings skipped).
fn nesting_exceeds(json: &[u8], max: usize) -> bool {
    if json.len() <= max {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The top level of a body.
enum Top<'a> {
    Object(Fields<'a>),
    Batch,
}

/// The envelope's members, unparsed (any others are skipped).
#[derive(Default)]
struct Fields<'a> {
    jsonrpc: Option<&'a RawValue>,
    id: Option<&'a RawValue>,
    method: Option<&'a RawValue>,
    params: Option<&'a RawValue>,
    result: Option<&'a RawValue>,
    error: Option<&'a RawValue>,
}

impl<'a> Fields<'a> {
    /// The members of a body that is a valid JSON object.
    fn read(body: &'a [u8]) -> Option<Self> {
        match serde_json::from_slice::<Top>(body).ok()? {
            Top::Object(fields) => Some(fields),
            Top::Batch => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    #[serde(other)]
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Top<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TopVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TopVisitor<'a> {
            type Value = Top<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON-RPC message (an object)")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'a>, A::Error> {
                let mut f = Fields::default();
                while let Some(key) = map.next_key::<Key>()? {
                    let slot = match key {
                        Key::Jsonrpc => &mut f.jsonrpc,
                        Key::Id => &mut f.id,
                        Key::Method => &mut f.method,
                        Key::Params => &mut f.params,
                        Key::Result => &mut f.result,
                        Key::Error => &mut f.error,
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(Top::Object(f))
            }

            // A batch: its elements are still read, so bad JSON inside is a parse error.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'a>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Top::Batch)
            }
        }
        d.deserialize_any(TopVisitor(std::marker::PhantomData))
    }
}

/// Why a request's params do not fit one standard request type (`None`: they do).
type ParamsCheck = fn(&Message<'_>) -> Option<String>;

macro_rules! standard_requests {
    ($($method:ident => $request:ty, $params:ty;)*) => {
        /// rmcp's standard client requests (every `ClientRequest` variant but `CustomRequest`;
        /// the deprecated ones are still parsed, so they are checked too).
        #[allow(deprecated)]
        const STANDARD: &[(&str, ParamsCheck)] = &[$((<$method as ConstString>::VALUE, typed::<$request, $params> as ParamsCheck)),*];
    };
}

standard_requests! {
    PingRequestMethod => PingRequest, Option<JsonObject>;
    InitializeResultMethod => InitializeRequest, InitializeRequestParams;
    DiscoverRequestMethod => DiscoverRequest, DiscoverRequestParams;
    CompleteRequestMethod => CompleteRequest, CompleteRequestParams;
    SetLevelRequestMethod => SetLevelRequest, SetLevelRequestParams;
    GetPromptRequestMethod => GetPromptRequest, GetPromptRequestParams;
    ListPromptsRequestMethod => ListPromptsRequest, Option<PaginatedRequestParams>;
    ListResourcesRequestMethod => ListResourcesRequest, Option<PaginatedRequestParams>;
    ListResourceTemplatesRequestMethod => ListResourceTemplatesRequest, Option<PaginatedRequestParams>;
    ReadResourceRequestMethod => ReadResourceRequest, ReadResourceRequestParams;
    SubscriptionsListenRequestMethod => SubscriptionsListenRequest, SubscriptionsListenRequestParams;
    SubscribeRequestMethod => SubscribeRequest, SubscribeRequestParams;
    UnsubscribeRequestMethod => UnsubscribeRequest, UnsubscribeRequestParams;
    CallToolRequestMethod => CallToolRequest, CallToolRequestParams;
    ListToolsRequestMethod => ListToolsRequest, Option<PaginatedRequestParams>;
    GetTaskMethod => GetTaskRequest, GetTaskParams;
    UpdateTaskMethod => UpdateTaskRequest, UpdateTaskParams;
    CancelTaskMethod => CancelTaskRequest, CancelTaskParams;
    ListSkillsRequestMethod => ListSkillsRequest, Option<PaginatedRequestParams>;
    GetSkillRequestMethod => GetSkillRequest, GetSkillRequestParams;
    ReadResourceDirectoryRequestMethod => ReadResourceDirectoryRequest, ReadResourceDirectoryRequestParams;
}

/// Why a standard request's params do not fit their type, `None` if they do or the method
/// is not a standard one.
fn params_error(message: &Message<'_>) -> Option<String> {
    let method = message.method.as_deref()?;
    let (_, check) = STANDARD.iter().find(|(m, _)| *m == method)?;
    check(message)
}

/// Parses the request the way rmcp's variant for it does (method and params as one
/// map, nothing else read) and, if that fails, describes the failure from the params type
/// itself, which names the member at fault.
fn typed<R: DeserializeOwned, P: DeserializeOwned>(message: &Message<'_>) -> Option<String> {
    let members = [("method", message.raw_method?)].into_iter().chain(message.params.map(|p| ("params", p)));
    let request_error = R::deserialize(de::value::MapDeserializer::<_, serde_json::Error>::new(members)).err()?;
    let detail = match message.params.map(serde_path_to_error::deserialize::<_, P>) {
        Some(Err(e)) if e.path().iter().next().is_some() => format!("`{}`: {}", e.path(), without_position(e.inner())),
        Some(Err(e)) => without_position(e.inner()),
        _ => without_position(&request_error),
    };
    Some(format!("Invalid params for `{}`: {detail}", message.method.as_deref().unwrap_or_default()))
}

/// A serde_json error's message without " at line 1 column 9" (a position in the params, not the body).
fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match e.line() {
        0 => s,
        line => s.strip_suffix(&format!(" at line {line} column {}", e.column())).map_or_else(|| s.clone(), str::to_owned),
    }
}

/// rmcp's status for invalid params: 400 when the request is a 2026-07-28 one whose
/// `_meta` lacks required members (rmcp calls that malformed), 200 otherwise.
fn invalid_params_status(params: Option<&RawValue>, protocol_version: Option<&str>) -> StatusCode {
    #[derive(Deserialize)]
    struct MetaOf {
        #[serde(rename = "_meta")]
        meta: Option<RequestMetaObject>,
    }
    let meta = params.and_then(|p| serde_json::from_str::<MetaOf>(p.get()).ok()).and_then(|m| m.meta).unwrap_or_default();
    let stateless = protocol_version.is_some_and(|v| v >= ProtocolVersion::V_2026_07_28.as_str()) || meta.protocol_version().is_some();
    match stateless && !meta.missing_required_keys(&ProtocolVersion::V_2026_07_28).is_empty() {
        true => StatusCode::BAD_REQUEST,
        false => StatusCode::OK,
    }
}

#[cfg(test)]
mod tests;
