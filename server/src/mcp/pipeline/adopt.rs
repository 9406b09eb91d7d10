//! Adoption: every replica looks for working tasks whose lease ran out (their replica
//! died or stopped) and resumes their waits by polling the stored upstream id with the
//! spec's status tool. Polling is idempotent, so resuming never starts new upstream work;
//! a task with no upstream id yet has nothing to follow and fails, saying so.

use std::sync::Weak;
use std::time::Instant;

use rmcp::model::TaskStatus;
use tokio_util::sync::CancellationToken;

use super::task::Work;
use crate::mcp::GumloopServer;
use crate::mcp::handler::State;
use crate::mcp::scope::Scope;
use crate::mcp::tasks::{Settle, TaskRecord, Tasks, failure, now_ms};

/// How many tasks one claim takes: the rest wait for the next tick (or another replica).
const CLAIM_BATCH: usize = 16;

/// How many ticks between prunes of long-settled tasks.
const PRUNE_EVERY: u32 = 60;

impl GumloopServer {
    /// The same handler with its tasks kept in `tasks` (a durable store shared with other
    /// replicas), adopting their expired waits from now on. Call it before the handler is
    /// cloned (it is set once, at start-up).
    pub fn with_tasks(mut self, tasks: Tasks) -> Self {
        let state = std::sync::Arc::get_mut(&mut self.state).expect("the task store is set before the server is shared");
        state.tasks = tasks;
        tokio::spawn(run(std::sync::Arc::downgrade(&self.state), self.state.tasks.stopped()));
        self
    }
}

/// Claims and resumes expired tasks every `claim_every` until `stop` fires or the server
/// is gone. It holds the server weakly, so it never keeps a dropped server alive.
pub(crate) async fn run(state: Weak<State>, stop: CancellationToken) {
    let Some(every) = state.upgrade().map(|s| s.tasks.leases.claim_every) else { return };
    let mut ticks = 0u32;
    loop {
        let Some(state) = state.upgrade() else { return };
        let server = GumloopServer { state, scoped: None, exposure: Default::default() };
        if ticks.is_multiple_of(PRUNE_EVERY) {
            match server.state.tasks.store.prune(now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "tasks past their TTL and expired kept results removed"),
                Err(e) => tracing::warn!("cannot prune tasks: {e}"),
            }
        }
        ticks = ticks.wrapping_add(1);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = server.adopt_expired() => {}
        }
        drop(server);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

impl GumloopServer {
    /// One claim: every task taken is resumed here or settled; returns how many.
    pub(crate) async fn adopt_expired(&self) -> usize {
        let tasks = &self.state.tasks;
        let now = now_ms();
        let claimed = match tasks.store.claim_expired(&tasks.holder, tasks.lease_from(now), now, CLAIM_BATCH).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!("cannot claim expired tasks: {e}");
                return 0;
            }
        };
        let n = claimed.len();
        for task in claimed {
            self.adopt(task).await;
        }
        n
    }

    async fn adopt(&self, task: TaskRecord) {
        let tasks = &self.state.tasks;
        let id = task.id.clone();
        let settle = |s: Settle| async move {
            if let Err(e) = tasks.store.finish(&id, &tasks.holder, &s, now_ms()).await {
                tracing::warn!(task = %id, "cannot settle an adopted task: {e}");
            }
        };
        if task.cancel_requested {
            return settle(Settle { status: TaskStatus::Cancelled, message: self.cancel_note(&task), outcome: None }).await;
        }
        let Some(spec) = self.state.catalog.get(&task.tool).and_then(|e| e.descriptor.async_spec) else {
            return settle(failure(format!("this server has no long-running tool `{}` to follow the task with", task.tool))).await;
        };
        if task.expired(now_ms()) {
            return settle(failure("task expired: TTL elapsed before completion".into())).await;
        }
        let Some(upstream_id) = task.upstream_id.clone() else {
            let text = format!(
                "the server running this task stopped before Gumloop answered `{}`, so there is no id to follow; the work may or may not have started: check with `{}`",
                task.called_as, spec.status_tool
            );
            return settle(failure(text)).await;
        };
        let scope = match self.owner_scope(&task).await {
            Ok(scope) => scope,
            Err(Some(text)) => return settle(failure(text)).await,
            // The owner cannot be looked up now: the lease runs out again and a later
            // claim retries.
            Err(None) => return,
        };
        tracing::info!(task = %task.id, tool = %task.tool, "adopted a task whose lease ran out");
        self.spawn_wait(task, Work::Resume { upstream_id }, scope, Instant::now());
    }

    /// The scope an adopted task polls and is audited under: `None` for `/mcp` (this
    /// process's credential). `Err(Some(why))` settles the task, `Err(None)` retries later.
    async fn owner_scope(&self, task: &TaskRecord) -> Result<Option<Scope>, Option<String>> {
        let Some(owner) = &task.owner else { return Ok(None) };
        let Some(owners) = &self.state.tasks.owners else {
            return Err(Some("this server cannot act for managed servers, so it cannot resume the task".into()));
        };
        match owners.scope(owner).await {
            Ok(Some(scope)) => Ok(Some(scope)),
            Ok(None) => Err(Some("the managed server that created this task no longer exists (deleted or expired)".into())),
            Err(e) => {
                tracing::warn!(task = %task.id, "cannot look up the task's managed server: {e}");
                Err(None)
            }
        }
    }
}
