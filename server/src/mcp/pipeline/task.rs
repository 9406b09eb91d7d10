//! A long-running call run as an MCP task: invalid arguments are answered at once; the
//! task runs the call through the pipeline with its wait forced on, reports each upstream
//! state as its status message, and settles with the final record.

use std::time::Instant;

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResponse, CreateTaskResult};
use rmcp::task_manager::{TaskExit, TaskOptions};
use serde_json::Value;

use super::Follow;
use super::measure::CallMeter;
use super::result::invalid_arguments;
use crate::mcp::GumloopServer;
use crate::mcp::scope::{CallOutcome, Scope};
use crate::mcp::tasks;
use crate::telemetry::metrics::TaskState;
use crate::telemetry::trace_context;

impl GumloopServer {
    /// Runs a long-running call as an MCP task: invalid arguments are answered at once;
    /// otherwise the task starts the work, waits for it (reporting each upstream state as
    /// its status message), and settles with the final record. The call is audited when
    /// the task settles.
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
        // The task runs on a task of its own: the caller's trace context goes with it.
        let trace = trace_context::current();
        let options = TaskOptions::new()
            .with_ttl_ms(tasks.ttl.as_millis() as u64)
            .with_poll_interval_ms(tasks::POLL_INTERVAL_MS)
            .with_status_message(format!("starting `{name}`"));
        let task = tasks.manager.spawn(options, move |ctx| {
            let mut settled = tasks::Settled::track();
            Box::pin(trace_context::scope(trace, async move {
                let follow = Follow { progress: None, task: Some(tasks::Hook { ctx: ctx.clone(), upstream_id, timeout }) };
                let result = tokio::select! {
                    // tasks/cancel has stopped the upstream work by now (where Gumloop can).
                    _ = ctx.cancelled() => {
                        if let Some(note) = unstoppable {
                            ctx.set_status_message(note);
                        }
                        settled.settle(TaskState::Cancelled);
                        return Err(TaskExit::Cancelled);
                    }
                    r = server.run(&name, args, None, scope.as_ref(), Some(&follow)) => r,
                };
                server.audit(scope.as_ref(), &name, &result, started).await;
                // A tool error settles as `completed` with `isError`; `failed` is for protocol errors.
                settled.settle(if result.is_ok() { TaskState::Completed } else { TaskState::Failed });
                result.map(|(r, _)| r).map_err(TaskExit::Error)
            }))
        });
        tasks.remember(&task.task_id, record);
        Ok(CallToolResponse::Task(CreateTaskResult::new(task)))
    }
}
