//! The MCP server: `tools/list` from the catalogue, `tools/call` from arguments to the
//! upstream request and back.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use rmcp::{
    ErrorData as McpError, ServerHandler,
    model::*,
    service::{RequestContext, RoleServer},
};
use serde_json::{Value, json};

use crate::catalog::Catalog;
use crate::credential::Credential;
use crate::ratelimit::RateLimitSlot;
use crate::upstream::{Outcome, Upstream};
use crate::validate::violations;

/// Shared state; the handler is a cheap clone per session or stateless request.
pub struct State {
    /// Tools and validators.
    pub catalog: Catalog,
    /// The Gumloop client.
    pub upstream: Upstream,
    /// The account calls are made with.
    pub credential: Credential,
}

/// The rmcp handler.
#[derive(Clone)]
pub struct GumloopServer {
    state: Arc<State>,
}

impl GumloopServer {
    /// A handler over `state`.
    pub fn new(state: State) -> Self {
        Self { state: Arc::new(state) }
    }

    /// Runs one tool call to completion (validation, request, upstream, result).
    pub async fn call(&self, name: &str, args: Value, slot: Option<&RateLimitSlot>) -> Result<CallToolResult, McpError> {
        let s = &self.state;
        let Some(entry) = s.catalog.get(name) else {
            let hint = s.catalog.suggest(name).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
            return Err(McpError::invalid_params(format!("unknown tool `{name}`{hint}"), None));
        };
        let problems = violations(entry, &args);
        if !problems.is_empty() {
            let text = format!("invalid arguments for `{name}` (nothing was sent to Gumloop):\n- {}", problems.join("\n- "));
            return Ok(CallToolResult::error(vec![ContentBlock::text(text)]));
        }
        if s.credential.api_key.is_none() {
            return Ok(CallToolResult::error(vec![ContentBlock::text(
                "no Gumloop API key is configured: start gumloop-mcp with GUMLOOP_API_KEY (and GUMLOOP_USER_ID for personal keys)",
            )]));
        }
        let request = match (entry.descriptor.build)(args, &s.credential.context()) {
            Ok(r) => r,
            Err(e) => return Ok(CallToolResult::error(vec![ContentBlock::text(format!("invalid arguments for `{name}`: {e}"))])),
        };
        let started = Instant::now();
        let outcome = s.upstream.send(request, &s.credential, entry.descriptor.response).await;
        let ms = started.elapsed().as_millis() as u64;
        let result = match outcome {
            Outcome::Json { status, body } => {
                tracing::info!(tool = name, status, ms, "call");
                // structuredContent must be an object; lists of bare arrays get a wrapper.
                let body = match body {
                    Value::Object(_) => body,
                    other => json!({ "result": other }),
                };
                CallToolResult::structured(body)
            }
            Outcome::Bytes { status, media_type, bytes } if entry.tool.output_schema.is_some() => {
                // A tool with an output schema must return structuredContent, so bytes where
                // JSON was documented are reported rather than passed on.
                tracing::warn!(tool = name, status, ms, media_type, "call answered with bytes where JSON was documented");
                let summary = json!({ "status": status, "error": format!("Gumloop answered with {media_type} ({} bytes) where JSON was documented", bytes.len()) });
                CallToolResult::structured_error(summary)
            }
            Outcome::Bytes { status, media_type, bytes } => {
                tracing::info!(tool = name, status, ms, media_type, size = bytes.len(), "call (binary)");
                let summary = json!({ "media_type": media_type, "size": bytes.len() });
                let blob = base64::engine::general_purpose::STANDARD.encode(&bytes);
                CallToolResult::success(vec![
                    ContentBlock::text(summary.to_string()),
                    ContentBlock::resource(ResourceContents::blob(blob, format!("gumloop://{name}/result")).with_mime_type(media_type)),
                ])
            }
            Outcome::Status { status, body, rate_limit } => {
                tracing::info!(tool = name, status, ms, "call failed upstream");
                let mut err = json!({ "status": status, "error": body });
                if status == 429 {
                    // Passed through, never retried: the caller owns the retry.
                    let rl = rate_limit.unwrap_or_default();
                    err["rate_limit"] = serde_json::to_value(rl).expect("plain struct");
                    if let (Some(slot), Some(rl)) = (slot, rate_limit) {
                        slot.set(rl);
                    }
                }
                CallToolResult::structured_error(err)
            }
            Outcome::Failed(message) => {
                tracing::warn!(tool = name, ms, "call failed: {message}");
                CallToolResult::error(vec![ContentBlock::text(message)])
            }
        };
        Ok(result)
    }
}

impl ServerHandler for GumloopServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().enable_prompts().build())
            .with_server_info(Implementation::new("gumloop-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Tools for Gumloop: flows, agents and their asynchronous sessions, artifacts, skills, audit logs and chat completions. \
                 List before you get, get a flow's inputs before you run it, and poll sessions until they are completed or failed.",
            )
    }

    async fn list_tools(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.state.catalog.tools().as_ref().clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.state.catalog.get(name).map(|e| e.tool.clone())
    }

    async fn call_tool(&self, request: CallToolRequestParams, ctx: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.map(Value::Object).unwrap_or_else(|| json!({}));
        let slot = ctx.extensions.get::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<RateLimitSlot>().cloned());
        // Dropping the upstream future on cancel drops its HTTP request.
        tokio::select! {
            _ = ctx.ct.cancelled() => Err(McpError::internal_error("the call was cancelled by the client", None)),
            r = self.call(&request.name, args, slot.as_ref()) => r.map(Into::into),
        }
    }

    async fn list_resources(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(Vec::new()))
    }

    async fn list_prompts(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(Vec::new()))
    }
}
