//! A long-running call run as an MCP task: invalid arguments are answered at once; the
//! task's record is committed, then its wait runs here under a lease, reporting each
//! upstream state to the record, and settles it with the final result. A replica that
//! adopts the task (`adopt`) resumes the same wait from the stored upstream id.

use std::time::{Duration, Instant};

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResponse, CallToolResult, CreateTaskResult, TaskStatus};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::Follow;
use super::measure::CallMeter;
use super::result::invalid_arguments;
use crate::mcp::GumloopServer;
use crate::mcp::scope::{CallOutcome, Scope};
use crate::mcp::tasks::{self, Hook, Settle, TaskRecord, now_ms};
use crate::telemetry::metrics::{self, TaskState};
use crate::telemetry::trace_context;

/// What a task's wait does first.
pub(crate) enum Work {
    /// Start the call (the pipeline, wait forced on).
    Start { name: String, args: Value },
    /// Resume polling work another replica started.
    Resume { upstream_id: String },
}

impl GumloopServer {
    /// Runs a long-running call as an MCP task: invalid arguments are answered at once;
    /// otherwise the task's record is committed (only then is its id returned) and the
    /// wait starts here. The call is audited when the task settles.
    pub(crate) async fn start_task(&self, name: String, args: Value, scope: Option<Scope>, started: Instant) -> Result<CallToolResponse, McpError> {
        // A flow tool is checked inside the task, as the flow run it becomes.
        let entry = match self.entry(&name, scope.as_ref()) {
            Ok(entry) => entry,
            Err(unknown) => self.entry(self.runs_as(&name, scope.as_ref()).ok_or(unknown)?, scope.as_ref())?,
        };
        let problems = if entry.descriptor.name == name { crate::mcp::validate::violations(entry, &args) } else { Vec::new() };
        if !problems.is_empty() {
            // Answered here, not by the pipeline's `run`: counted here.
            CallMeter::start(self.tool_label(&name, scope.as_ref()), started).finish(CallOutcome::Rejected);
            let result = Ok((invalid_arguments(&name, &problems), CallOutcome::Rejected));
            self.audit(scope.as_ref(), &name, &result, started).await;
            return result.map(|(r, _)| r.into());
        }
        let tasks = &self.state.tasks;
        let now = now_ms();
        let record = TaskRecord {
            id: tasks::new_id(),
            owner: scope.as_ref().map(|s| s.server_id.clone()),
            tool: entry.descriptor.name.to_owned(),
            called_as: name.clone(),
            status: TaskStatus::Working,
            status_message: Some(format!("starting `{name}`")),
            outcome: None,
            upstream_id: None,
            cancel_tool: entry.descriptor.async_spec.and_then(|s| s.cancel_tool).map(str::to_owned),
            cancel_requested: false,
            lease_owner: Some(tasks.holder.clone()),
            lease_until: Some(tasks.lease_from(now)),
            created_at: now,
            ttl_ms: tasks.ttl.as_millis() as u64,
            last_updated: now,
        };
        // Durable before the id leaves: any replica can answer tasks/get from here on.
        tasks.store.create(&record).await.map_err(|e| McpError::internal_error(format!("cannot create the task: {e}"), None))?;
        metrics::task(TaskState::Created);
        let seed = tasks::detailed(&record).task;
        self.spawn_wait(record, Work::Start { name, args }, scope, started);
        Ok(CallToolResponse::Task(CreateTaskResult::new(seed)))
    }

    /// Runs a task's wait on this process, holding its lease until it settles.
    pub(crate) fn spawn_wait(&self, record: TaskRecord, work: Work, scope: Option<Scope>, started: Instant) {
        let tasks = &self.state.tasks;
        let left = record.created_at.as_millisecond().saturating_add(record.ttl_ms as i64) - now_ms().as_millisecond();
        let hook = Hook {
            store: tasks.store.clone(),
            id: record.id.clone(),
            holder: tasks.holder.clone(),
            stop: CancellationToken::new(),
            timeout: Duration::from_millis(left.max(0) as u64),
        };
        let (tracked, is_tracked) = tokio::sync::oneshot::channel::<()>();
        let (server, stop, id) = (self.clone(), hook.stop.clone(), record.id.clone());
        // The wait runs on a task of its own: the caller's trace context goes with it.
        let trace = trace_context::current();
        let handle = tokio::spawn(trace_context::scope(trace, async move {
            // Tracked first, so the entry is removed after it was added.
            let _ = is_tracked.await;
            let id = record.id.clone();
            metrics::task_wait(true);
            server.drive(record, work, scope, hook, started).await;
            metrics::task_wait(false);
            server.state.tasks.untrack(&id);
        }));
        tasks.track(&id, stop, handle.abort_handle());
        let _ = tracked.send(());
    }

    /// The wait, beside the lease keeper, then the settle.
    async fn drive(&self, record: TaskRecord, work: Work, scope: Option<Scope>, hook: Hook, started: Instant) {
        let keeper = self.keep_lease(&hook);
        let wait = async {
            match work {
                Work::Start { name, args } => {
                    let follow = Follow { progress: None, task: Some(hook.clone()), ask: None };
                    self.run(&name, args, None, scope.as_ref(), Some(&follow)).await
                }
                Work::Resume { upstream_id } => self.resume(&record.tool, &upstream_id, scope.as_ref(), &hook).await,
            }
        };
        let result = tokio::select! {
            // Cancelled (here or elsewhere) or the lease was lost: the wait is dropped.
            _ = hook.stop.cancelled() => None,
            r = wait => Some(r),
            _ = keeper => None,
        };
        let store = &self.state.tasks.store;
        if let Some(result) = &result {
            // The call is on record before the task reads as settled.
            self.audit(scope.as_ref(), &record.called_as, result, started).await;
            // A tool error settles as `completed` with `isError`; `failed` is for protocol errors.
            let settle = match result {
                Ok((r, _)) => Settle { status: TaskStatus::Completed, message: None, outcome: serde_json::to_value(r).ok() },
                Err(e) => Settle { status: TaskStatus::Failed, message: None, outcome: serde_json::to_value(e).ok() },
            };
            match store.finish(&record.id, &hook.holder, &settle, now_ms()).await {
                Ok(true) => return metrics::task(if result.is_ok() { TaskState::Completed } else { TaskState::Failed }),
                Ok(false) => {}
                Err(e) => return tracing::warn!(task = %record.id, "cannot settle the task: {e}"),
            }
        }
        // Stopped: cancelled, unless the lease was lost (then the write lands nowhere).
        let settle = Settle { status: TaskStatus::Cancelled, message: self.cancel_note(&record), outcome: None };
        match store.finish(&record.id, &hook.holder, &settle, now_ms()).await {
            Ok(true) => metrics::task(TaskState::Cancelled),
            Ok(false) => {}
            Err(e) => tracing::warn!(task = %record.id, "cannot settle the task: {e}"),
        }
    }

    /// What a cancelled task says when Gumloop cannot stop its work.
    pub(crate) fn cancel_note(&self, record: &TaskRecord) -> Option<String> {
        if record.cancel_tool.is_some() {
            return None;
        }
        let spec = self.state.catalog.get(&record.tool).and_then(|e| e.descriptor.async_spec);
        let status = spec.map_or("its status tool", |s| s.status_tool);
        Some(format!("cancelled here only: Gumloop offers no way to stop `{}`, so the work goes on there; follow it with `{status}`", record.called_as))
    }

    /// Renews the lease until the wait ends (never returns by itself); a lost lease or a
    /// cancel seen here stops the wait.
    async fn keep_lease(&self, hook: &Hook) {
        let tasks = &self.state.tasks;
        loop {
            tokio::time::sleep(tasks.leases.renew_every).await;
            let now = now_ms();
            hook.heed(hook.store.renew(&hook.id, &hook.holder, tasks.lease_from(now), now).await);
        }
    }

    /// An adopted task's wait: the poll loop re-entered with the known upstream id (no
    /// new upstream work), then the same finishing stages as a call.
    async fn resume(&self, tool: &str, upstream_id: &str, scope: Option<&Scope>, hook: &Hook) -> Result<(CallToolResult, CallOutcome), McpError> {
        let entry = self.state.catalog.get(tool).ok_or_else(|| McpError::internal_error(format!("the tool `{tool}` is missing"), None))?;
        let d = entry.descriptor;
        let spec = d.async_spec.ok_or_else(|| McpError::internal_error(format!("`{tool}` is not long-running"), None))?;
        let credential = scope.map_or(&self.state.credential, |s| s.credential.as_ref());
        let follow = Follow { progress: None, task: Some(hook.clone()), ask: None };
        // The first response is not kept (it may be large); the record is the last poll's.
        let waited = self.wait_for(tool, spec, json!({}), upstream_id, hook.timeout, credential, Some(&follow)).await;
        // The task record holds no arguments, so an adopted task's record is whole.
        let result = self.finish_stages(d, waited, credential, None, scope).await;
        let outcome = if result.is_error == Some(true) { CallOutcome::ToolError } else { CallOutcome::Ok };
        Ok((result, outcome))
    }
}
