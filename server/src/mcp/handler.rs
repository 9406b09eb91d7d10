//! The MCP server: `tools/list` from the catalogue, `tools/call` from arguments to the
//! upstream request and back.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use rmcp::{
    ErrorData as McpError, ServerHandler,
    model::*,
    service::{RequestContext, RoleServer},
    task_manager::{TaskExit, TaskOptions},
};
use serde_json::{Map, Value, json};

use crate::mcp::catalog::Catalog;
use crate::mcp::scope::{CallOutcome, Resolved, Scope, ScopedTools};
use crate::upstream::credential::Credential;
use gumloop_mcp_runtime::{AsyncSpec, Pagination, ToolDescriptor};

use crate::behaviours::downloads::{self, Link, LinkKey};
use crate::behaviours::flow_inputs::{self, InputCache};
use crate::behaviours::pages;
use crate::behaviours::skills;
use crate::behaviours::waiting;
use crate::mcp::catalog::Entry;
use crate::mcp::tasks::{self, Tasks};
use crate::mcp::validate::violations;
use crate::upstream::FetchError;
use crate::upstream::ratelimit::RateLimitSlot;
use crate::upstream::{Outcome, Upstream};

/// Shared state; the handler is a cheap clone per session or stateless request.
pub struct State {
    /// Tools and validators.
    pub catalog: Catalog,
    /// The Gumloop client.
    pub upstream: Upstream,
    /// The account calls are made with on `/mcp` and stdio.
    pub credential: Credential,
    /// Saved flows' inputs, per account and flow.
    pub flow_inputs: InputCache,
    /// Seals resource links of signed downloads.
    pub links: LinkKey,
    /// MCP tasks of long-running calls.
    pub tasks: Tasks,
}

/// The rmcp handler. One instance serves `/mcp` and stdio with the configured
/// credential; a scoped one serves managed URLs, only ever acts for the [`Scope`] the
/// admission middleware attached to the request, and has the scope's own tools too.
#[derive(Clone)]
pub struct GumloopServer {
    pub(crate) state: Arc<State>,
    scoped: Option<Arc<dyn ScopedTools>>,
}

impl GumloopServer {
    /// A handler over `state`.
    pub fn new(state: State) -> Self {
        Self { state: Arc::new(state), scoped: None }
    }

    /// The same tools and upstream, for managed URLs: every request must carry a
    /// [`Scope`], and `tools` adds each scope's own tools.
    pub fn scoped(&self, tools: Arc<dyn ScopedTools>) -> Self {
        Self { state: self.state.clone(), scoped: Some(tools) }
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.state.catalog
    }

    /// Saved flows' inputs, cached per account.
    pub fn flow_inputs(&self) -> &InputCache {
        &self.state.flow_inputs
    }

    /// The scope a request runs under: `Ok(None)` for the configured credential,
    /// an error for a scoped handler reached without one (a wiring bug, refused).
    pub fn scope_of(&self, ctx: &RequestContext<RoleServer>) -> Result<Option<Scope>, McpError> {
        let scope = ctx.extensions.get::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Scope>()).cloned();
        if self.scoped.is_some() && scope.is_none() {
            return Err(McpError::internal_error("managed MCP request without a scope", None));
        }
        Ok(scope)
    }

    /// Runs one tool call to completion as the configured credential.
    pub async fn call(&self, name: &str, args: Value, slot: Option<&RateLimitSlot>) -> Result<CallToolResult, McpError> {
        self.run(name, args, slot, None, None).await.map(|(r, _)| r)
    }

    /// Runs one tool call (validation, request, upstream, result) under `scope`, and
    /// says what it came to for the audit trail.
    async fn run(
        &self,
        name: &str,
        args: Value,
        slot: Option<&RateLimitSlot>,
        scope: Option<&Scope>,
        follow: Option<&Follow>,
    ) -> Result<(CallToolResult, CallOutcome), McpError> {
        let s = &self.state;
        // A scope's own tool (a managed server's flow tool) runs as a catalogue tool.
        let (name, mut args) = match (scope, &self.scoped) {
            (Some(sc), Some(tools)) => match tools.resolve(self, sc, name, args).await {
                Resolved::Catalogue(args) => (name, args),
                Resolved::As { tool, args } => (tool, args),
                Resolved::Refused(text) => return Ok((CallToolResult::error(vec![ContentBlock::text(text)]), CallOutcome::Rejected)),
            },
            _ => (name, args),
        };
        let entry = self.entry(name, scope)?;
        if let Some(rejected) = rejection(entry, &args) {
            return Ok((rejected, CallOutcome::Rejected));
        }
        // The arguments the server consumes itself, as the descriptor lists them; the rest
        // are the upstream request's.
        let mut own = Map::new();
        if let Some(o) = args.as_object_mut() {
            for k in entry.descriptor.server_args {
                if let Some(v) = o.remove(*k) {
                    own.insert((*k).to_owned(), v);
                }
            }
        }
        let mut wait = waiting::take(&mut own);
        if let Some(hook) = follow.and_then(|f| f.task.as_ref()) {
            // A task always waits: its result is the final record.
            wait = waiting::Wait { wait: true, timeout: hook.timeout };
        }
        let max_items = pages::take(&mut own, &mut args, entry.descriptor.pagination);
        let flow_inputs = own.remove("inputs");
        // A skill upload is packaged (and every check made) before anything else happens.
        let skill_files = match skills::is_upload(entry.descriptor).then(|| skills::package(&mut own)).transpose() {
            Ok(files) => files,
            Err(e) => {
                let text = format!("invalid skill for `{name}` (nothing was sent to Gumloop): {e}");
                return Ok((CallToolResult::error(vec![ContentBlock::text(text)]), CallOutcome::Rejected));
            }
        };
        let credential = scope.map_or(&s.credential, |sc| sc.credential.as_ref());
        if credential.api_key.is_none() {
            return Ok((
                CallToolResult::error(vec![ContentBlock::text(
                    "no Gumloop API key is configured: start gumloop-mcp with GUMLOOP_API_KEY (and GUMLOOP_USER_ID for personal keys)",
                )]),
                CallOutcome::Rejected,
            ));
        }
        if let Some(given) = flow_inputs
            && let Err(refused) = self.place_flow_inputs(entry, &mut args, given, credential).await
        {
            return Ok(refused);
        }
        // Kept only where a result may need them again: page walks and download links.
        let call_args = (max_items.is_some() || entry.signed_download).then(|| args.clone());
        let mut request = match (entry.descriptor.build)(args, &credential.context()) {
            Ok(r) => r,
            Err(e) => {
                // Serde's messages may quote the value; a long one is cut.
                let text = format!(
                    "invalid arguments for `{name}` (nothing was sent to Gumloop):\n- {}: {}",
                    pointer_or_root(&e.pointer),
                    crate::text::clip(&e.message, 2 * crate::text::QUOTE_CHARS)
                );
                return Ok((CallToolResult::error(vec![ContentBlock::text(text)]), CallOutcome::Rejected));
            }
        };
        if let Some(files) = skill_files {
            request.body = skills::with_files(request.body, files);
        }
        let started = Instant::now();
        let outcome = s.upstream.send(request, credential, entry.descriptor.response).await;
        let ms = started.elapsed().as_millis() as u64;
        let result = match outcome {
            Outcome::Json { status, body } => {
                tracing::info!(tool = name, status, ms, "call");
                // structuredContent must be an object; lists of bare arrays get a wrapper.
                let body = match body {
                    Value::Object(_) => body,
                    other => json!({ "result": other }),
                };
                match entry.descriptor.async_spec {
                    Some(spec) => self.long_running(name, spec, body, wait, credential, follow).await,
                    None if name == flow_inputs::INPUTS_TOOL => CallToolResult::structured(self.with_inputs_schema(body, credential)),
                    None => match max_items {
                        Some(max) => self.walk(entry, call_args.unwrap_or_default(), body, max, credential).await,
                        None => match call_args {
                            Some(args) if entry.signed_download => self.with_download_link(name, args, body),
                            _ => with_images(body),
                        },
                    },
                }
            }
            Outcome::Bytes { status, media_type, bytes } if entry.tool.output_schema.is_some() => {
                // A tool with an output schema must return structuredContent, so bytes where
                // JSON was documented are reported rather than passed on.
                tracing::warn!(tool = name, status, ms, media_type, "call answered with bytes where JSON was documented");
                let summary =
                    json!({ "status": status, "error": format!("Gumloop answered with {media_type} ({} bytes) where JSON was documented", bytes.len()) });
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
        let audited = if result.is_error == Some(true) { CallOutcome::ToolError } else { CallOutcome::Ok };
        Ok((result, audited))
    }
}

/// The invalid-arguments result for `args`, if any: answered before anything is sent.
fn rejection(entry: &Entry, args: &Value) -> Option<CallToolResult> {
    let problems = violations(entry, args);
    (!problems.is_empty()).then(|| {
        let text = format!("invalid arguments for `{}` (nothing was sent to Gumloop):\n- {}", entry.descriptor.name, problems.join("\n- "));
        CallToolResult::error(vec![ContentBlock::text(text)])
    })
}

impl GumloopServer {
    /// The tool `name` as `scope` sees it. A tool the scope hides is answered exactly like
    /// one that does not exist, and hints only name tools the scope shows.
    fn entry(&self, name: &str, scope: Option<&Scope>) -> Result<&Entry, McpError> {
        let catalog = &self.state.catalog;
        let visible = |d: &ToolDescriptor| scope.is_none_or(|sc| sc.access.allows(d));
        catalog.get(name).filter(|e| visible(e.descriptor)).ok_or_else(|| {
            let hint = catalog.suggest_among(name, visible).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
            McpError::invalid_params(format!("unknown tool `{}`{hint}", crate::text::clip(name, crate::text::QUOTE_CHARS)), None)
        })
    }

    /// One follow-up request the server makes itself (a poll, a page, a flow's inputs):
    /// `args` built by `tool`'s generated builder and sent as `credential`.
    pub async fn send_as(&self, tool: &ToolDescriptor, args: Value, credential: &Credential) -> Result<Outcome, gumloop_mcp_runtime::ArgsError> {
        let request = (tool.build)(args, &credential.context())?;
        Ok(self.state.upstream.send(request, credential, tool.response).await)
    }

    /// A result, plus a `resource_link` when it carries a signed `download_url`, so a
    /// client can read the bytes with `resources/read`.
    fn with_download_link(&self, tool: &str, args: Value, body: Value) -> CallToolResult {
        let link = downloads::download_url(&body).map(|url| {
            let uri = self.state.links.encode(&Link { tool: tool.to_owned(), args, url: url.to_owned() });
            let name = body.get("filename").and_then(Value::as_str).unwrap_or("download").to_owned();
            let mut r = Resource::new(uri, name).with_description("The file behind the signed download_url; read it with resources/read");
            if let Some(mt) = body.get("media_type").and_then(Value::as_str) {
                r = r.with_mime_type(mt);
            }
            if let Some(size) = body.get("size").and_then(Value::as_u64) {
                r = r.with_size(size);
            }
            r
        });
        let mut result = CallToolResult::structured(body);
        if let Some(r) = link {
            result.content.push(ContentBlock::resource_link(r));
        }
        result
    }

    /// `resources/read` of a download link: the bytes behind the signed URL, refetching
    /// the URL once through its tool when it has expired.
    async fn read_download(&self, uri: &str, scope: Option<&Scope>) -> Result<ReadResourceResult, McpError> {
        let unknown = || McpError::invalid_params(format!("unknown resource `{uri}`: read only the resource links this server's tool results carry"), None);
        let link = self.state.links.decode(uri).ok_or_else(unknown)?;
        // A link to a tool the caller's scope hides is as unknown as a forged one.
        self.state.catalog.get(&link.tool).filter(|e| scope.is_none_or(|sc| sc.access.allows(e.descriptor))).ok_or_else(unknown)?;
        let mut url = link.url.clone();
        let mut refetched = false;
        loop {
            match self.state.upstream.fetch_signed(&url).await {
                Ok((media_type, bytes)) => {
                    let contents = match String::from_utf8(bytes) {
                        Ok(text) if downloads::is_text(&media_type) => {
                            ResourceContents::TextResourceContents { uri: uri.to_owned(), mime_type: Some(media_type), text, meta: None }
                        }
                        Ok(text) => blob(uri, media_type, text.into_bytes()),
                        Err(e) => blob(uri, media_type, e.into_bytes()),
                    };
                    return Ok(ReadResourceResult::new(vec![contents]));
                }
                Err(FetchError::Expired(status)) if !refetched => {
                    // Ask the tool for a fresh URL, as the same caller.
                    tracing::info!(tool = link.tool, status, "signed URL expired; fetching a fresh one");
                    refetched = true;
                    let (fresh, _) = self.run(&link.tool, link.args.clone(), None, scope, None).await?;
                    url = fresh
                        .structured_content
                        .as_ref()
                        .and_then(|b| downloads::download_url(b).map(str::to_owned))
                        .ok_or_else(|| McpError::internal_error(format!("`{}` gave no fresh download_url: {}", link.tool, text_of(&fresh)), None))?;
                }
                Err(FetchError::Expired(status)) => {
                    return Err(McpError::internal_error(format!("the download URL was refused (HTTP {status}) even after refetching it"), None));
                }
                Err(FetchError::TooLarge { size, cap }) => {
                    let size = size.map_or("larger than".to_owned(), |s| format!("{s} bytes,"));
                    return Err(McpError::invalid_request(
                        format!(
                            "the file is {size} over the {cap}-byte limit of resources/read (--max-resource-bytes); download it directly from {url} (a short-lived signed URL)"
                        ),
                        Some(json!({ "download_url": url })),
                    ));
                }
                Err(FetchError::Failed(message)) => return Err(McpError::internal_error(format!("fetching the download failed: {message}"), None)),
            }
        }
    }

    /// Reads further pages of a list until `max` items, the end, or [`pages::MAX_PAGES`].
    async fn walk(&self, entry: &Entry, args: Value, first: Value, max: usize, credential: &Credential) -> CallToolResult {
        let d = entry.descriptor;
        let Some(key) = pages::items_key(&first) else { return CallToolResult::structured(first) };
        let mut items: Vec<Value> = first[&key].as_array().cloned().unwrap_or_default();
        let mut last = first;
        let mut pages_read = 1usize;
        let mut next = pages::next_args(d.pagination, &args, &last, max.saturating_sub(items.len()));
        while items.len() < max && pages_read < pages::MAX_PAGES {
            let Some(page_args) = next.take() else { break };
            let outcome = match self.send_as(d, page_args.clone(), credential).await {
                Ok(o) => o,
                Err(e) => return CallToolResult::error(vec![ContentBlock::text(format!("cannot read page {}: {e}", pages_read + 1))]),
            };
            match outcome {
                Outcome::Json { body, .. } => {
                    items.extend(body[&key].as_array().cloned().unwrap_or_default());
                    pages_read += 1;
                    next = pages::next_args(d.pagination, &page_args, &body, max.saturating_sub(items.len()));
                    last = body;
                }
                Outcome::Status { status, body, rate_limit } => {
                    let mut err = json!({"status": status, "error": body, "walk": {"pages_read": pages_read, "items_collected": items.len(), "stopped": "an upstream error on the next page"}});
                    if let Some(rl) = rate_limit {
                        err["rate_limit"] = serde_json::to_value(rl).expect("plain struct");
                    }
                    return CallToolResult::structured_error(err);
                }
                Outcome::Failed(message) => {
                    return CallToolResult::error(vec![ContentBlock::text(format!(
                        "reading page {} failed after {} items: {message}",
                        pages_read + 1,
                        items.len()
                    ))]);
                }
                Outcome::Bytes { media_type, .. } => {
                    return CallToolResult::error(vec![ContentBlock::text(format!("page {} was {media_type}, not JSON", pages_read + 1))]);
                }
            }
        }
        let left_out = items.len().saturating_sub(max);
        items.truncate(max);
        let more = next.is_some() || left_out > 0;
        let continue_with = pages::continuation(d.pagination, next.as_ref());
        let mut body = last;
        let n = items.len();
        body[&key] = Value::Array(items);
        if d.pagination == Pagination::Cursor {
            body["next_cursor"] = continue_with.as_ref().and_then(|c| c.get("cursor").cloned()).unwrap_or(Value::Null);
        }
        body["walk"] = json!({"pages_read": pages_read, "items": n, "max_items": max, "complete": !more, "continue_with": continue_with});
        let mut result = CallToolResult::structured(body);
        if more {
            let mut note = format!("Stopped at max_items={max} after {pages_read} page(s); more items remain.");
            if let Some(c) = &continue_with {
                note.push_str(&format!(" To continue, call `{}` with the same arguments plus {c}.", d.name));
            }
            if left_out > 0 {
                note.push_str(&format!(
                    " The last page held {left_out} more item(s) than the cap; they were left out{}.",
                    if continue_with.is_some() { " and continuing from there skips them (ask for a larger max_items to include them)" } else { "" }
                ));
            }
            result.content.insert(0, ContentBlock::text(note));
        }
        result
    }

    /// A flow record with its inputs as a JSON Schema beside them (and the inputs cached
    /// for the runs that follow).
    fn with_inputs_schema(&self, mut body: Value, credential: &Credential) -> Value {
        if let Some(inputs) = flow_inputs::parse(&body) {
            body["inputs_schema"] = flow_inputs::json_schema(&inputs);
            if let Some(flow) = body.get("saved_item_id").and_then(Value::as_str).map(str::to_owned) {
                self.state.flow_inputs.put(credential, &flow, inputs);
            }
        }
        body
    }

    /// The flow's inputs: cached, else read with the inputs tool. An upstream failure
    /// comes back as the tool result to return.
    async fn fetch_flow_inputs(&self, flow: &str, credential: &Credential) -> Result<Arc<Vec<flow_inputs::FlowInput>>, CallToolResult> {
        if let Some(hit) = self.state.flow_inputs.get(credential, flow) {
            return Ok(hit);
        }
        let Some(tool) = self.state.catalog.get(flow_inputs::INPUTS_TOOL) else {
            return Err(CallToolResult::error(vec![ContentBlock::text("cannot check flow inputs: the inputs tool is missing")]));
        };
        let outcome = self
            .send_as(tool.descriptor, json!({ "id": flow }), credential)
            .await
            .map_err(|e| CallToolResult::error(vec![ContentBlock::text(format!("cannot read the flow's inputs: {e}"))]))?;
        match outcome {
            Outcome::Json { body, .. } => match flow_inputs::parse(&body) {
                Some(inputs) => Ok(self.state.flow_inputs.put(credential, flow, inputs)),
                None => Err(CallToolResult::error(vec![ContentBlock::text(format!("Gumloop listed no inputs for flow `{flow}`"))])),
            },
            Outcome::Status { status, body, .. } => Err(CallToolResult::structured_error(json!({
                "status": status, "error": body, "while": format!("reading the inputs of flow `{flow}` (nothing was started)")
            }))),
            Outcome::Failed(message) => Err(CallToolResult::error(vec![ContentBlock::text(format!("reading the inputs of flow `{flow}`: {message}"))])),
            Outcome::Bytes { media_type, .. } => {
                Err(CallToolResult::error(vec![ContentBlock::text(format!("reading the inputs of flow `{flow}`: got {media_type}"))]))
            }
        }
    }

    /// Checks a run's `inputs` against the flow and puts them in `pipeline_inputs`.
    async fn place_flow_inputs(&self, entry: &Entry, args: &mut Value, given: Value, credential: &Credential) -> Result<(), (CallToolResult, CallOutcome)> {
        let reject = |text: String| (CallToolResult::error(vec![ContentBlock::text(text)]), CallOutcome::Rejected);
        let Value::Object(given) = given else { return Err(reject("`inputs` must be an object of input name to value".into())) };
        if args.get("pipeline_inputs").is_some() {
            return Err(reject(format!("give `inputs` or `pipeline_inputs` to {}, not both (nothing was started)", flow_inputs::RUN_TOOL)));
        }
        let flow = args.get("saved_item_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let inputs = self.fetch_flow_inputs(&flow, credential).await.map_err(|r| (r, CallOutcome::ToolError))?;
        let tool_args: Vec<&str> = entry.properties.iter().map(String::as_str).collect();
        let problems = flow_inputs::problems(&given, &inputs, &tool_args);
        if !problems.is_empty() {
            return Err(reject(format!(
                "the inputs do not match flow `{flow}` (nothing was started):\n- {}\n{}",
                problems.join("\n- "),
                flow_inputs::summary(&inputs)
            )));
        }
        args["pipeline_inputs"] = flow_inputs::wire(&given, &inputs);
        Ok(())
    }
}

/// Where a waiting call reports: the client's progress token (with its peer) and, for a
/// call run as an MCP task, the task.
#[derive(Default)]
pub struct Follow {
    progress: Option<(rmcp::service::Peer<RoleServer>, ProgressToken)>,
    task: Option<tasks::Hook>,
}

impl Follow {
    /// The upstream work has an id (a task's `tasks/cancel` needs it).
    fn started(&self, id: &str) {
        if let Some(hook) = &self.task {
            let _ = hook.upstream_id.set(id.to_owned());
        }
    }

    /// A poll saw `message` after `elapsed` of at most `total` seconds.
    async fn report(&self, message: String, elapsed: f64, total: f64) {
        if let Some(hook) = &self.task {
            hook.ctx.set_status_message(message.clone());
        }
        if let Some((peer, token)) = &self.progress {
            let note = ProgressNotificationParam::new(token.clone(), elapsed).with_total(total).with_message(message);
            let _ = peer.notify_progress(note).await;
        }
    }
}

impl GumloopServer {
    /// The result of a long-running method's first answer: waited on when asked, else
    /// the unfinished state with plain guidance on how to follow it.
    async fn long_running(
        &self,
        tool: &str,
        spec: AsyncSpec,
        first: Value,
        wait: waiting::Wait,
        credential: &Credential,
        progress: Option<&Follow>,
    ) -> CallToolResult {
        let state = waiting::state_of(&first, &spec);
        let id = waiting::id_of(&first, &spec);
        if let (Some(f), Some(id)) = (progress, &id) {
            f.started(id);
        }
        if waiting::is_terminal(state.as_deref(), &spec) {
            return CallToolResult::structured(first);
        }
        if let (true, Some(id)) = (wait.wait, &id) {
            return self.wait_for(tool, spec, first, id, wait.timeout, credential, progress).await;
        }
        let guidance = waiting::still_running(tool, &spec, id.as_deref(), state.as_deref(), waiting::queue_position(&first, &spec));
        let mut result = CallToolResult::structured(first);
        result.content.insert(0, ContentBlock::text(guidance));
        result
    }

    /// Polls the status tool with backoff until a terminal state, the timeout, or an
    /// upstream error; the caller's cancellation drops this future and stops it.
    #[allow(clippy::too_many_arguments)]
    async fn wait_for(
        &self,
        tool: &str,
        spec: AsyncSpec,
        first: Value,
        id: &str,
        timeout: std::time::Duration,
        credential: &Credential,
        progress: Option<&Follow>,
    ) -> CallToolResult {
        let Some(status) = self.state.catalog.get(spec.status_tool) else {
            return CallToolResult::error(vec![ContentBlock::text(format!("cannot wait: the status tool `{}` is missing", spec.status_tool))]);
        };
        let started = Instant::now();
        let deadline = started + timeout;
        let mut last = first.clone();
        let mut polls = 0u32;
        let mut problem: Option<String> = None;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            tokio::time::sleep(waiting::backoff(polls).min(deadline - now)).await;
            polls += 1;
            // However Gumloop behaves, a poll ends by the deadline plus a small grace: the
            // call timeout alone would let one hanging poll overrun the wait by a minute.
            let poll = self.send_as(status.descriptor, json!({ "id": id }), credential);
            let outcome = match tokio::time::timeout_at((deadline + waiting::POLL_GRACE).into(), poll).await {
                Ok(Ok(o)) => o,
                Ok(Err(e)) => return CallToolResult::error(vec![ContentBlock::text(format!("cannot poll `{}`: {e}", spec.status_tool))]),
                Err(_) => {
                    problem = Some(format!("the last poll of `{}` got no answer before the wait's deadline", spec.status_tool));
                    break;
                }
            };
            match outcome {
                Outcome::Json { body, .. } => {
                    last = body;
                    problem = None;
                }
                // Rate limits and network trouble while polling are ridden out until the deadline.
                Outcome::Status { status: 429, .. } => problem = Some("Gumloop answered 429 (rate limited) to the last poll".into()),
                Outcome::Failed(message) => problem = Some(message),
                Outcome::Status { status: code, body, .. } => {
                    let err = json!({"status": code, "error": body, "polling": {"tool": spec.status_tool, "id": id, "polls": polls}});
                    return CallToolResult::structured_error(err);
                }
                Outcome::Bytes { media_type, .. } => problem = Some(format!("the status tool answered with {media_type}")),
            }
            let state = waiting::state_of(&last, &spec);
            let elapsed = started.elapsed().as_secs_f64();
            if let Some(f) = progress {
                let queue = waiting::queue_position(&last, &spec).map_or(String::new(), |q| format!(", queue position {q}"));
                let message = format!("state: {}{queue}, {elapsed:.0} s elapsed", state.as_deref().unwrap_or("unknown"));
                f.report(message, elapsed, timeout.as_secs_f64()).await;
            }
            if waiting::is_terminal(state.as_deref(), &spec) {
                let summary = json!({"state": state, "finished": true, "polls": polls, "elapsed_seconds": round1(elapsed), "id": id});
                tracing::info!(tool, polls, elapsed, state = state.as_deref().unwrap_or("?"), "waited");
                return CallToolResult::structured(waiting::merged(&first, &last, summary));
            }
        }
        let state = waiting::state_of(&last, &spec);
        let elapsed = started.elapsed().as_secs_f64();
        let mut summary = json!({"state": state, "finished": false, "timed_out": true, "polls": polls, "elapsed_seconds": round1(elapsed), "id": id});
        if let Some(p) = &problem {
            summary["last_poll_problem"] = json!(p);
        }
        let guidance = format!(
            "Waited {elapsed:.0} s (wait_timeout_seconds); {}",
            waiting::still_running(tool, &spec, Some(id), state.as_deref(), waiting::queue_position(&last, &spec))
        );
        let mut result = CallToolResult::structured(waiting::merged(&first, &last, summary));
        result.content.insert(0, ContentBlock::text(guidance));
        result
    }
}

/// A result, with any data-URL images of a chat completion as image content.
fn with_images(mut body: Value) -> CallToolResult {
    if body.get("choices").is_none() {
        return CallToolResult::structured(body);
    }
    let images = crate::behaviours::images::take(&mut body);
    let mut result = CallToolResult::structured(body);
    result.content.extend(images);
    result
}

/// The legacy session a request belongs to, if any.
fn session_id(ctx: &RequestContext<RoleServer>) -> Option<String> {
    let parts = ctx.extensions.get::<axum::http::request::Parts>()?;
    parts.headers.get("mcp-session-id")?.to_str().ok().map(str::to_owned)
}

fn blob(uri: &str, media_type: String, bytes: Vec<u8>) -> ResourceContents {
    ResourceContents::BlobResourceContents {
        uri: uri.to_owned(),
        mime_type: Some(media_type),
        blob: base64::engine::general_purpose::STANDARD.encode(bytes),
        meta: None,
    }
}

fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join(" ")
}

/// A JSON pointer as the validation messages show it (`/` for the whole arguments).
fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl GumloopServer {
    /// Records a managed call in its server's audit trail.
    async fn audit(&self, scope: Option<&Scope>, tool: &str, result: &Result<(CallToolResult, CallOutcome), McpError>, started: Instant) {
        if let Some(scope) = scope {
            let outcome = match result {
                Ok((_, outcome)) => *outcome,
                Err(e) if e.code == ErrorCode::INVALID_PARAMS => CallOutcome::Rejected,
                Err(_) => CallOutcome::ToolError,
            };
            scope.access.record(&scope.server_id, tool, outcome, started).await;
        }
    }

    /// The catalogue tool a scope's own tool `name` runs as.
    fn runs_as(&self, name: &str, scope: Option<&Scope>) -> Option<&'static str> {
        self.scoped.as_ref()?.runs_as(scope?, name)
    }

    /// Whether `name` starts long-running work: a tool with an async spec, or a managed
    /// server's flow tool (a flow run).
    fn starts_work(&self, name: &str, scope: Option<&Scope>) -> bool {
        match self.entry(name, scope) {
            Ok(e) => e.descriptor.async_spec.is_some(),
            Err(_) => self.runs_as(name, scope).and_then(|t| self.state.catalog.get(t)).is_some_and(|e| e.descriptor.async_spec.is_some()),
        }
    }

    /// Runs a long-running call as an MCP task: invalid arguments are answered at once;
    /// otherwise the task starts the work, waits for it (reporting each upstream state as
    /// its status message), and settles with the final record. The call is audited when
    /// the task settles.
    async fn start_task(&self, name: String, args: Value, scope: Option<Scope>, started: Instant) -> Result<CallToolResponse, McpError> {
        // A flow tool is checked inside the task, as the flow run it becomes.
        let entry = match self.entry(&name, scope.as_ref()) {
            Ok(entry) => entry,
            Err(unknown) => self.entry(self.runs_as(&name, scope.as_ref()).ok_or(unknown)?, scope.as_ref())?,
        };
        if entry.descriptor.name == name
            && let Some(rejected) = rejection(entry, &args)
        {
            let result = Ok((rejected, CallOutcome::Rejected));
            self.audit(scope.as_ref(), &name, &result, started).await;
            return result.map(|(r, _)| r.into());
        }
        let tasks = &self.state.tasks;
        let record = tasks::Record {
            owner: scope.as_ref().map(|s| s.server_id.clone()),
            cancel_tool: entry.descriptor.async_spec.and_then(|s| s.cancel_tool),
            upstream_id: Default::default(),
        };
        let upstream_id = record.upstream_id.clone();
        let unstoppable = record.cancel_tool.is_none().then(|| {
            let status = entry.descriptor.async_spec.map_or("its status tool", |s| s.status_tool);
            format!("cancelled here only: Gumloop offers no way to stop `{name}`, so the work goes on there; follow it with `{status}`")
        });
        let (server, timeout) = (self.clone(), tasks.ttl);
        let options = TaskOptions::new()
            .with_ttl_ms(tasks.ttl.as_millis() as u64)
            .with_poll_interval_ms(tasks::POLL_INTERVAL_MS)
            .with_status_message(format!("starting `{name}`"));
        let task = tasks.manager.spawn(options, move |ctx| {
            Box::pin(async move {
                let follow = Follow { progress: None, task: Some(tasks::Hook { ctx: ctx.clone(), upstream_id, timeout }) };
                let result = tokio::select! {
                    // tasks/cancel has stopped the upstream work by now (where Gumloop can).
                    _ = ctx.cancelled() => {
                        if let Some(note) = unstoppable {
                            ctx.set_status_message(note);
                        }
                        return Err(TaskExit::Cancelled);
                    }
                    r = server.run(&name, args, None, scope.as_ref(), Some(&follow)) => r,
                };
                server.audit(scope.as_ref(), &name, &result, started).await;
                // A tool error settles as `completed` with `isError`; `failed` is for protocol errors.
                result.map(|(r, _)| r).map_err(TaskExit::Error)
            })
        });
        tasks.remember(&task.task_id, record);
        Ok(CallToolResponse::Task(CreateTaskResult::new(task)))
    }
}

impl ServerHandler for GumloopServer {
    fn get_info(&self) -> ServerConfig {
        // A scoped handler's own tools (a managed server's flow tools) change with its flows.
        let capabilities = match self.scoped {
            Some(_) => ServerCapabilities::builder().enable_tools().enable_tool_list_changed().enable_resources().enable_prompts().enable_tasks().build(),
            None => ServerCapabilities::builder().enable_tools().enable_resources().enable_prompts().enable_tasks().build(),
        };
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("gumloop-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(self.state.upstream.integration().instructions)
    }

    async fn list_tools(&self, _r: Option<PaginatedRequestParams>, ctx: RequestContext<RoleServer>) -> Result<ListToolsResult, McpError> {
        let tools = match self.scope_of(&ctx)? {
            None => self.state.catalog.tools().as_ref().clone(),
            Some(scope) => {
                let mut tools = self.state.catalog.visible(|d| scope.access.allows(d));
                if let Some(own) = &self.scoped {
                    let session = session_id(&ctx).map(|id| (id, ctx.peer.clone()));
                    tools.extend(own.list(self, &scope, session).await);
                }
                tools.sort_by(|a, b| a.name.cmp(&b.name));
                tools
            }
        };
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let own = || self.scoped.as_ref()?.get_tool(name);
        self.state.catalog.get(name).map(|e| e.tool.clone()).or_else(own)
    }

    fn accepted_subscription_filter(&self, _requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        self.scoped.as_ref().map(|_| SubscriptionFilter::builder().tools_list_changed().build())
    }

    async fn listen(&self, ctx: rmcp::service::SubscriptionContext) -> Result<(), McpError> {
        match &self.scoped {
            Some(own) => {
                let scope = self.scope_of(ctx.request_context())?.ok_or_else(|| McpError::internal_error("managed MCP request without a scope", None))?;
                own.listen(self, scope, ctx).await
            }
            None => {
                ctx.cancelled().await;
                Ok(())
            }
        }
    }

    async fn call_tool(&self, request: CallToolRequestParams, ctx: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        let started = Instant::now();
        let scope = self.scope_of(&ctx)?;
        let args = request.arguments.map(Value::Object).unwrap_or_else(|| json!({}));
        if tasks::wanted(&ctx) && self.starts_work(&request.name, scope.as_ref()) {
            return self.start_task(request.name.to_string(), args, scope, started).await;
        }
        let slot = ctx.extensions.get::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<RateLimitSlot>().cloned());
        let follow = ctx.meta.get_progress_token().map(|token| Follow { progress: Some((ctx.peer.clone(), token)), task: None });
        // Dropping the upstream future on cancel drops its HTTP request (and stops a wait).
        let result = tokio::select! {
            _ = ctx.ct.cancelled() => Err(McpError::internal_error("the call was cancelled by the client", None)),
            r = self.run(&request.name, args, slot.as_ref(), scope.as_ref(), follow.as_ref()) => r,
        };
        self.audit(scope.as_ref(), &request.name, &result, started).await;
        result.map(|(r, _)| r.into())
    }

    async fn get_task(&self, request: GetTaskParams, ctx: RequestContext<RoleServer>) -> Result<GetTaskResult, McpError> {
        let scope = self.scope_of(&ctx)?;
        self.state.tasks.record(&request.task_id, scope.as_ref().map(|s| s.server_id.as_str()))?;
        Ok(GetTaskResult::new(self.state.tasks.manager.get_task(&request.task_id)?))
    }

    async fn update_task(&self, request: UpdateTaskParams, ctx: RequestContext<RoleServer>) -> Result<(), McpError> {
        let scope = self.scope_of(&ctx)?;
        self.state.tasks.record(&request.task_id, scope.as_ref().map(|s| s.server_id.as_str()))?;
        // These tasks never ask for input; rmcp ignores responses to no request.
        self.state.tasks.manager.update_task(&request.task_id, request.input_responses)
    }

    async fn cancel_task(&self, request: CancelTaskParams, ctx: RequestContext<RoleServer>) -> Result<(), McpError> {
        let scope = self.scope_of(&ctx)?;
        let tasks = &self.state.tasks;
        let record = tasks.record(&request.task_id, scope.as_ref().map(|s| s.server_id.as_str()))?;
        if tasks.is_terminal(&request.task_id) {
            return Ok(());
        }
        // Stop the work in Gumloop first; if Gumloop refuses, the task goes on and says why.
        if let (Some(tool), Some(id)) = (record.cancel_tool, record.upstream_id.get()) {
            let credential = scope.as_ref().map_or(&self.state.credential, |s| s.credential.as_ref());
            let descriptor = self
                .state
                .catalog
                .get(tool)
                .map(|e| e.descriptor)
                .ok_or_else(|| McpError::internal_error(format!("the cancel tool `{tool}` is missing"), None))?;
            let outcome = self
                .send_as(descriptor, json!({ "id": id }), credential)
                .await
                .map_err(|e| McpError::internal_error(format!("cannot call `{tool}`: {e}"), None))?;
            match outcome {
                Outcome::Json { .. } | Outcome::Bytes { .. } => tracing::info!(tool, id, "task cancelled upstream"),
                Outcome::Status { status, body, .. } => {
                    return Err(McpError::internal_error(
                        format!("Gumloop refused to stop `{id}` (`{tool}` answered HTTP {status}); the task goes on"),
                        Some(json!({ "status": status, "error": body })),
                    ));
                }
                Outcome::Failed(message) => {
                    return Err(McpError::internal_error(format!("stopping `{id}` with `{tool}` failed: {message}; the task goes on"), None));
                }
            }
        }
        tasks.manager.cancel_task(&request.task_id)
    }

    async fn read_resource(&self, request: ReadResourceRequestParams, ctx: RequestContext<RoleServer>) -> Result<ReadResourceResponse, McpError> {
        let scope = self.scope_of(&ctx)?;
        tokio::select! {
            _ = ctx.ct.cancelled() => Err(McpError::internal_error("the read was cancelled by the client", None)),
            r = self.read_download(&request.uri, scope.as_ref()) => r.map(Into::into),
        }
    }

    async fn list_resources(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(Vec::new()))
    }

    async fn list_prompts(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(Vec::new()))
    }
}
