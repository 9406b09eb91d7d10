//! Tool results: the one way a tool error is written, the one way the call's own upstream
//! answer becomes its result, and the one way the answer to a call the server makes on
//! its own behalf (flow inputs, flow lists, pages, polls, cancels) is taken apart.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Value, json};

use crate::upstream::Outcome;
use crate::upstream::ratelimit::{RateLimit, RateLimitSlot};

/// A tool error with one text block.
pub fn tool_error(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

/// The refusal of arguments: every problem, and that nothing was sent.
pub fn invalid_arguments(tool: &str, problems: &[String]) -> CallToolResult {
    tool_error(format!("invalid arguments for `{tool}` (nothing was sent to Gumloop):\n- {}", problems.join("\n- ")))
}

/// What `while_doing` came to when upstream did not answer with JSON: a status error
/// (passed through; a 429's rate limit also goes to `slot` for the response headers),
/// a failure, or bytes where JSON was documented. `Ok` for JSON, handed back.
pub fn unless_json(outcome: Outcome, tool: &'static str, slot: Option<&RateLimitSlot>, documented_json: bool) -> Result<(u16, Value), CallToolResult> {
    match outcome {
        Outcome::Json { status, body } => Ok((status, body)),
        Outcome::Bytes { status, media_type, bytes } if documented_json => {
            // A tool with an output schema must return structuredContent, so bytes where
            // JSON was documented are reported rather than passed on.
            tracing::warn!(tool, status, media_type, "call answered with bytes where JSON was documented");
            Err(CallToolResult::structured_error(
                json!({ "status": status, "error": format!("Gumloop answered with {media_type} ({} bytes) where JSON was documented", bytes.len()) }),
            ))
        }
        Outcome::Bytes { status, media_type, bytes } => {
            tracing::info!(tool, status, media_type, size = bytes.len(), "call (binary)");
            let summary = json!({ "media_type": media_type, "size": bytes.len() });
            let blob = base64::engine::general_purpose::STANDARD.encode(&bytes);
            Err(CallToolResult::success(vec![
                ContentBlock::text(summary.to_string()),
                ContentBlock::resource(ResourceContents::blob(blob, format!("gumloop://{tool}/result")).with_mime_type(media_type)),
            ]))
        }
        Outcome::Status { status, body, rate_limit } => {
            tracing::info!(tool, status, "call failed upstream");
            let mut err = json!({ "status": status, "error": body });
            if status == 429 {
                // Passed through, never retried: the caller owns the retry.
                crate::telemetry::metrics::rate_limited(tool);
                err["rate_limit"] = serde_json::to_value(rate_limit.unwrap_or_default()).expect("plain struct");
                if let (Some(slot), Some(rl)) = (slot, rate_limit) {
                    slot.set(rl);
                }
            }
            Err(CallToolResult::structured_error(err))
        }
        Outcome::Failed(message) => {
            tracing::warn!(tool, "call failed: {message}");
            Err(tool_error(message))
        }
    }
}

/// Why an upstream answer is not the JSON a stage needs.
#[derive(Debug)]
pub enum NotJson {
    /// A 4xx or 5xx, with upstream's body.
    Status { status: u16, body: Value, rate_limit: Option<RateLimit> },
    /// No usable answer.
    Failed(String),
    /// A success that is not JSON.
    Bytes { media_type: String, size: usize },
}

/// The JSON of a call the server makes on its own behalf, or why there is none.
pub fn json_of(outcome: Outcome) -> Result<Value, NotJson> {
    match outcome {
        Outcome::Json { body, .. } => Ok(body),
        Outcome::Status { status, body, rate_limit } => Err(NotJson::Status { status, body, rate_limit }),
        Outcome::Failed(message) => Err(NotJson::Failed(message)),
        Outcome::Bytes { media_type, bytes, .. } => Err(NotJson::Bytes { media_type, size: bytes.len() }),
    }
}

impl NotJson {
    /// The tool error of the call that needed the answer, `doing` saying what for. An
    /// upstream error is passed through as structured content, with `context`'s fields
    /// (and the rate limit, when reported) beside `status` and `error`.
    pub fn into_tool_error(self, doing: &str, context: Value) -> CallToolResult {
        match self {
            NotJson::Status { status, body, rate_limit } => {
                let mut err = json!({ "status": status, "error": body });
                if let Some(rl) = rate_limit {
                    err["rate_limit"] = serde_json::to_value(rl).expect("plain struct");
                }
                if let Value::Object(context) = context {
                    err.as_object_mut().expect("an object").extend(context);
                }
                CallToolResult::structured_error(err)
            }
            other => tool_error(format!("{doing}: {other}")),
        }
    }

    /// Upstream's status and body, for an error that carries data.
    pub fn data(&self) -> Option<Value> {
        match self {
            NotJson::Status { status, body, .. } => Some(json!({ "status": status, "error": body })),
            _ => None,
        }
    }
}

impl std::fmt::Display for NotJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotJson::Status { status, body, .. } => {
                write!(f, "Gumloop answered HTTP {status}: {}", crate::text::clip(&body.to_string(), 2 * crate::text::QUOTE_CHARS))
            }
            NotJson::Failed(message) => f.write_str(message),
            NotJson::Bytes { media_type, size } => write!(f, "Gumloop answered with {media_type} ({size} bytes), not JSON"),
        }
    }
}

/// A JSON pointer as the validation messages show it (`/` for the whole arguments).
pub fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

/// The text blocks of a result, joined.
pub fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join(" ")
}
