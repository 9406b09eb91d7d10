//! The `async` behaviour as a stage: a long-running method's first answer is waited on
//! when asked (or when it runs as an MCP task), polling its status tool with backoff and
//! reporting progress; otherwise the model is told plainly how to follow the work.

use std::time::Instant;

use gumloop_mcp_runtime::AsyncSpec;
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam, ProgressToken};
use rmcp::service::RoleServer;
use serde_json::{Value, json};

use super::finish::Finished;
use super::result::{NotJson, json_of, tool_error};
use crate::behaviours::waiting;
use crate::mcp::GumloopServer;
use crate::mcp::tasks;
use crate::upstream::credential::Credential;

/// Where a waiting call reports: the client's progress token (with its peer) and, for a
/// call run as an MCP task, the task; and how the person behind the call can be asked.
#[derive(Default)]
pub struct Follow {
    pub(crate) progress: Option<(rmcp::service::Peer<RoleServer>, ProgressToken)>,
    pub(crate) task: Option<tasks::Hook>,
    pub(crate) ask: Option<crate::mcp::ask::Ask>,
}

impl Follow {
    /// The upstream work has an id: a task records it for `tasks/cancel` and for a
    /// replica that adopts the wait.
    async fn started(&self, id: &str) {
        if let Some(hook) = &self.task {
            hook.heed(hook.store.set_upstream_id(&hook.id, &hook.holder, id, tasks::now_ms()).await);
        }
    }

    /// A poll saw `message` after `elapsed` of at most `total` seconds.
    async fn report(&self, message: String, elapsed: f64, total: f64) {
        if let Some(hook) = &self.task {
            hook.heed(hook.store.progress(&hook.id, &hook.holder, &message, tasks::now_ms()).await);
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
    pub(super) async fn long_running(
        &self,
        tool: &str,
        spec: AsyncSpec,
        first: Value,
        wait: waiting::Wait,
        credential: &Credential,
        progress: Option<&Follow>,
    ) -> Result<Finished, CallToolResult> {
        let state = waiting::state_of(&first, &spec);
        let id = waiting::id_of(&first, &spec);
        if let (Some(f), Some(id)) = (progress, &id) {
            f.started(id).await;
        }
        if waiting::is_terminal(state.as_deref(), &spec) {
            return Ok(Finished::of(first));
        }
        if let (true, Some(id)) = (wait.wait, &id) {
            return self.wait_for(tool, spec, first, id, wait.timeout, credential, progress).await;
        }
        let guidance = waiting::still_running(tool, &spec, id.as_deref(), state.as_deref(), waiting::queue_position(&first, &spec));
        Ok(Finished { notes: vec![ContentBlock::text(guidance)], ..Finished::of(first) })
    }

    /// Polls the status tool with backoff until a terminal state, the timeout, or an
    /// upstream error; the caller's cancellation drops this future and stops it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn wait_for(
        &self,
        tool: &str,
        spec: AsyncSpec,
        first: Value,
        id: &str,
        timeout: std::time::Duration,
        credential: &Credential,
        progress: Option<&Follow>,
    ) -> Result<Finished, CallToolResult> {
        let Some(status) = self.state.catalog.get(spec.status_tool) else {
            return Err(tool_error(format!("cannot wait: the status tool `{}` is missing", spec.status_tool)));
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
                Ok(Err(e)) => return Err(tool_error(format!("cannot poll `{}`: {e}", spec.status_tool))),
                Err(_) => {
                    problem = Some(format!("the last poll of `{}` got no answer before the wait's deadline", spec.status_tool));
                    break;
                }
            };
            match json_of(outcome) {
                Ok(body) => {
                    last = body;
                    problem = None;
                }
                // Rate limits, network trouble and odd answers while polling are ridden out
                // until the deadline; any other upstream error ends the wait.
                Err(e @ (NotJson::Status { status: 429, .. } | NotJson::Failed(_) | NotJson::Bytes { .. })) => {
                    problem = Some(format!("the last poll of `{}`: {e}", spec.status_tool));
                }
                Err(e) => {
                    let polling = json!({"tool": spec.status_tool, "id": id, "polls": polls});
                    return Err(e.into_tool_error("polling", json!({ "polling": polling })));
                }
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
                return Ok(Finished::of(waiting::merged(&first, &last, summary)));
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
        Ok(Finished { notes: vec![ContentBlock::text(guidance)], ..Finished::of(waiting::merged(&first, &last, summary)) })
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
