//! The rmcp `ServerHandler`: a thin layer that finds the request's scope and hands each
//! request to the catalogue, the call pipeline (`super::pipeline`), tasks or resources.

use std::sync::Arc;
use std::time::Instant;

use gumloop_mcp_runtime::ToolDescriptor;
use rmcp::{
    ErrorData as McpError, ServerHandler,
    model::*,
    service::{RequestContext, RoleServer},
};
use serde_json::{Value, json};

use crate::behaviours::downloads::LinkKey;
use crate::behaviours::flow_inputs::InputCache;
use crate::mcp::ask::Ask;
use crate::mcp::catalog::{Catalog, Entry};
use crate::mcp::discovery::{self, Routed, ToolExposure};
use crate::mcp::pipeline::Follow;
use crate::mcp::pipeline::result::{NotJson, json_of};
use crate::mcp::scope::{CallOutcome, Scope, ScopedTools};
use crate::mcp::tasks::{self, Tasks};
use crate::telemetry::trace_context::{self, TraceContext};
use crate::upstream::credential::Credential;
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
    /// MCP tasks of long-running calls (and the oversized results kept for reading).
    pub tasks: Tasks,
    /// How much of a result the model is given.
    pub budget: crate::mcp::pipeline::budget::ResultBudget,
}

/// The rmcp handler. One instance serves `/mcp` and stdio with the configured
/// credential; a scoped one serves managed URLs, only ever acts for the [`Scope`] the
/// admission middleware attached to the request, and has the scope's own tools too.
#[derive(Clone)]
pub struct GumloopServer {
    pub(crate) state: Arc<State>,
    pub(crate) scoped: Option<Arc<dyn ScopedTools>>,
    /// How `/mcp` and stdio show their tools (a managed URL's config says for it).
    pub(crate) exposure: ToolExposure,
}

impl GumloopServer {
    /// A handler over `state`.
    pub fn new(state: State) -> Self {
        Self { state: Arc::new(state), scoped: None, exposure: ToolExposure::All }
    }

    /// The same handler, showing its tools on `/mcp` and stdio as `exposure` says.
    pub fn with_tool_exposure(self, exposure: ToolExposure) -> Self {
        Self { exposure, ..self }
    }

    /// The same tools and upstream, for managed URLs: every request must carry a
    /// [`Scope`], and `tools` adds each scope's own tools.
    pub fn scoped(&self, tools: Arc<dyn ScopedTools>) -> Self {
        Self { state: self.state.clone(), scoped: Some(tools), exposure: self.exposure }
    }

    /// The tasks.
    pub fn tasks(&self) -> &Tasks {
        &self.state.tasks
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.state.catalog
    }

    /// The integration-wide facts the spec gives.
    pub fn integration(&self) -> &'static gumloop_mcp_runtime::Integration {
        self.state.upstream.integration()
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

    /// The tool `name` as `scope` sees it. A tool the scope hides is answered exactly like
    /// one that does not exist, and hints only name tools the scope shows.
    pub(crate) fn entry(&self, name: &str, scope: Option<&Scope>) -> Result<&Entry, McpError> {
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
}

/// The caller's trace context: `params._meta` (SEP-414) first, then the HTTP headers.
fn trace_of(ctx: &RequestContext<RoleServer>) -> Option<TraceContext> {
    let headers = ctx.extensions.get::<axum::http::request::Parts>().map(|p| &p.headers);
    TraceContext::from_request(Some((ctx.meta.get_traceparent(), ctx.meta.get_tracestate())), headers)
}

/// The legacy session a request belongs to, if any.
fn session_id(ctx: &RequestContext<RoleServer>) -> Option<String> {
    let parts = ctx.extensions.get::<axum::http::request::Parts>()?;
    parts.headers.get("mcp-session-id")?.to_str().ok().map(str::to_owned)
}

impl GumloopServer {
    /// Records a managed call in its server's audit trail.
    pub(crate) async fn audit(&self, scope: Option<&Scope>, tool: &str, result: &Result<(CallToolResult, CallOutcome), McpError>, started: Instant) {
        if let Some(scope) = scope {
            scope.access.record(&scope.server_id, tool, crate::mcp::pipeline::measure::outcome_of(result), started).await;
        }
    }

    /// The catalogue tool a scope's own tool `name` runs as.
    pub(crate) fn runs_as(&self, name: &str, scope: Option<&Scope>) -> Option<&'static str> {
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

    /// `tools/call` within the caller's trace context.
    async fn call_tool_traced(&self, request: CallToolRequestParams, ctx: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        let started = Instant::now();
        let scope = self.scope_of(&ctx)?;
        let key = || self.state.links.derive(crate::mcp::ask::STATE_KEY_LABEL);
        let ask = Ask::of(&ctx, &request, scope.as_ref().map(|s| s.server_id.as_str()), key);
        let args = request.arguments.map(Value::Object).unwrap_or_else(|| json!({}));
        // In discovery mode `call_tool` is unwrapped here, so all that follows is one path.
        let (name, args) = match self.route(request.name.to_string(), args, scope.as_ref()).await {
            Routed::Call(name, args) => (name, args),
            Routed::Answered(answer) => return answer,
        };
        if tasks::wanted(&ctx) && self.starts_work(&name, scope.as_ref()) {
            // Confirmed before a task exists: a task cannot ask.
            if let Some(answer) = self.confirm_before_task(&name, &args, scope.as_ref(), &ask).await {
                return Ok(answer);
            }
            return self.start_task(name, args, scope, started).await;
        }
        let slot = ctx.extensions.get::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<RateLimitSlot>().cloned());
        let progress = ctx.meta.get_progress_token().map(|token| (ctx.peer.clone(), token));
        let follow = Follow { progress, task: None, ask: Some(ask) };
        // Dropping the upstream future on cancel drops its HTTP request (and stops a wait).
        let result = tokio::select! {
            _ = ctx.ct.cancelled() => Err(McpError::internal_error("the call was cancelled by the client", None)),
            r = self.run(&name, args, slot.as_ref(), scope.as_ref(), Some(&follow)) => r,
        };
        // A question put as an input-required result: the call goes on at the retry.
        if let Some(pending) = follow.ask.as_ref().and_then(Ask::take_pending) {
            return Ok(CallToolResponse::InputRequired(pending));
        }
        self.audit(scope.as_ref(), &name, &result, started).await;
        result.map(|(r, _)| r.into())
    }

    /// A long-running destructive call the scope wants confirmed, asked before its task
    /// is created: the answer to return when the call goes no further.
    async fn confirm_before_task(&self, name: &str, args: &Value, scope: Option<&Scope>, ask: &Ask) -> Option<CallToolResponse> {
        let entry = self.entry(name, scope).ok().filter(|e| Self::needs_confirmation(e.descriptor, scope))?;
        let (result, _) = self.confirm(entry.descriptor, &entry.tool, args, scope, Some(ask)).await.err()?;
        Some(ask.take_pending().map_or_else(|| result.into(), CallToolResponse::InputRequired))
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
        let scope = self.scope_of(&ctx)?;
        if self.exposure(scope.as_ref()) == ToolExposure::Discovery {
            return Ok(ListToolsResult::with_all_items(discovery::meta_tools()));
        }
        let tools = match scope {
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
        let meta = || discovery::meta_tools().into_iter().find(|t| t.name == name);
        self.state.catalog.get(name).map(|e| e.tool.clone()).or_else(own).or_else(meta)
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
        trace_context::scope(trace_of(&ctx), self.call_tool_traced(request, ctx)).await
    }

    // tasks/get, tasks/update and tasks/cancel are served from the task store (not rmcp's
    // in-memory TaskManager), so any replica answers them, and after a restart.
    async fn get_task(&self, request: GetTaskParams, ctx: RequestContext<RoleServer>) -> Result<GetTaskResult, McpError> {
        let scope = self.scope_of(&ctx)?;
        let record = self.state.tasks.record(&request.task_id, scope.as_ref().map(|s| s.server_id.as_str())).await?;
        Ok(GetTaskResult::new(tasks::detailed(&record)))
    }

    async fn update_task(&self, request: UpdateTaskParams, ctx: RequestContext<RoleServer>) -> Result<(), McpError> {
        let scope = self.scope_of(&ctx)?;
        // These tasks never ask for input: responses answer no request and are ignored.
        self.state.tasks.record(&request.task_id, scope.as_ref().map(|s| s.server_id.as_str())).await.map(|_| ())
    }

    async fn cancel_task(&self, request: CancelTaskParams, ctx: RequestContext<RoleServer>) -> Result<(), McpError> {
        let scope = self.scope_of(&ctx)?;
        let owner = scope.as_ref().map(|s| s.server_id.as_str());
        let tasks = &self.state.tasks;
        let record = tasks.record(&request.task_id, owner).await?;
        // Settled, or already being cancelled: nothing more to stop.
        if record.status.is_terminal() || record.cancel_requested {
            return Ok(());
        }
        // Stop the work in Gumloop first; if Gumloop refuses, the task goes on and says why.
        let cancel_tool = record.cancel_tool.as_deref().and_then(|t| self.state.catalog.get(t));
        if let (Some(tool), Some(id)) = (cancel_tool, record.upstream_id.as_deref()) {
            let credential = scope.as_ref().map_or(&self.state.credential, |s| s.credential.as_ref());
            let name = tool.descriptor.name;
            let outcome = trace_context::scope(trace_of(&ctx), self.send_as(tool.descriptor, json!({ "id": id }), credential))
                .await
                .map_err(|e| McpError::internal_error(format!("cannot call `{name}`: {e}"), None))?;
            match json_of(outcome) {
                // Any success stops the work, whatever its body.
                Ok(_) | Err(NotJson::Bytes { .. }) => tracing::info!(tool = name, id, "task cancelled upstream"),
                Err(e) => return Err(McpError::internal_error(format!("Gumloop did not stop `{id}` with `{name}` ({e}); the task goes on"), e.data())),
            }
        }
        // The wait's holder sees the mark at its next poll; a wait running here stops now.
        tasks.store.request_cancel(&request.task_id, owner, tasks::now_ms()).await.map_err(|e| McpError::internal_error(e.to_string(), None))?;
        tasks.stop_local(&request.task_id);
        Ok(())
    }

    async fn read_resource(&self, request: ReadResourceRequestParams, ctx: RequestContext<RoleServer>) -> Result<ReadResourceResponse, McpError> {
        let scope = self.scope_of(&ctx)?;
        tokio::select! {
            _ = ctx.ct.cancelled() => Err(McpError::internal_error("the read was cancelled by the client", None)),
            r = trace_context::scope(trace_of(&ctx), self.read_download(&request.uri, scope.as_ref())) => r.map(Into::into),
        }
    }

    async fn list_resources(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(Vec::new()))
    }

    async fn list_prompts(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(Vec::new()))
    }
}
