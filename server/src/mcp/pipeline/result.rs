//! Tool results: the one way a tool error is written, and the one way an upstream answer
//! that is not a success becomes a result.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Value, json};

use crate::upstream::Outcome;
use crate::upstream::ratelimit::RateLimitSlot;

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

/// A JSON pointer as the validation messages show it (`/` for the whole arguments).
pub fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

/// The text blocks of a result, joined.
pub fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join(" ")
}
