//! MCP tasks (the 2026-07-28 `io.modelcontextprotocol/tasks` extension) for long-running
//! tools: rmcp's [`TaskManager`] runs the call and its wait; this module adds who may see
//! a task and which upstream work `tasks/cancel` must stop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{ProtocolVersion, TaskStatus};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::task_manager::{TaskContext, TaskManager};

use crate::telemetry::metrics::{self, TaskState};

/// How long a task lives (and so how long its wait may poll) unless configured.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// The poll interval suggested to clients: upstream states change in seconds, and the
/// server's own polling backs off to 5 s.
pub const POLL_INTERVAL_MS: u64 = 2_000;

/// Whether `ctx` gets a task for a long-running tool: only 2026-07-28 (or later) requests
/// from clients that declare the extension. Older clients, and clients that declare tasks
/// in a 2025 `initialize` without handling `resultType: "task"`, get the plain result.
pub fn wanted(ctx: &RequestContext<RoleServer>) -> bool {
    let modern = ctx.protocol_version().is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
    modern && ctx.client_capabilities().is_some_and(|c| c.supports_tasks())
}

/// The tasks of one server process. Tasks live in memory: a restart loses them (the
/// upstream work goes on and can still be followed with the status tool).
pub struct Tasks {
    /// Runs the operations and answers `tasks/get`.
    pub manager: TaskManager,
    records: Mutex<HashMap<String, Record>>,
    /// Each task's TTL, which also bounds its wait.
    pub ttl: Duration,
}

/// What the server knows about a task beyond rmcp's state.
#[derive(Clone)]
pub struct Record {
    /// The managed server that created it; `None` for `/mcp` and stdio. Another owner
    /// is answered exactly as for a task that does not exist.
    pub owner: Option<String>,
    /// The tool that stops the upstream work, if Gumloop has one.
    pub cancel_tool: Option<&'static str>,
    /// The upstream id, once the start request has answered.
    pub upstream_id: Arc<OnceLock<String>>,
}

/// What a running task's wait reports to: its status message and upstream id.
pub struct Hook {
    /// The rmcp task.
    pub ctx: TaskContext,
    /// Filled with the upstream id once known, for `tasks/cancel`.
    pub upstream_id: Arc<OnceLock<String>>,
    /// How long the wait may poll.
    pub timeout: Duration,
}

/// Counts a task from its start to how it settled, whatever ends it: the operation's own
/// result, `tasks/cancel`, or rmcp dropping the operation at its TTL (counted `failed`, as
/// rmcp marks it).
pub struct Settled(Option<TaskState>);

impl Settled {
    /// A task has been created.
    pub fn track() -> Self {
        metrics::task(TaskState::Created);
        Self(None)
    }

    /// The task settles as `state` (the first call counts).
    pub fn settle(&mut self, state: TaskState) {
        if self.0.is_none() {
            self.0 = Some(state);
            metrics::task(state);
        }
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        self.settle(TaskState::Failed);
    }
}

impl Default for Tasks {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl Tasks {
    /// No tasks yet; each lives `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { manager: TaskManager::new(), records: Mutex::new(HashMap::new()), ttl }
    }

    /// Remembers a new task's owner and cancel tool (and forgets tasks rmcp has dropped).
    pub fn remember(&self, task_id: &str, record: Record) {
        let mut records = self.records.lock().expect("task records lock");
        records.retain(|id, _| self.manager.get_task(id).is_ok());
        records.insert(task_id.to_owned(), record);
    }

    /// The task's record, if `owner` may see it.
    pub fn record(&self, task_id: &str, owner: Option<&str>) -> Result<Record, McpError> {
        let records = self.records.lock().expect("task records lock");
        records.get(task_id).filter(|r| r.owner.as_deref() == owner).cloned().ok_or_else(|| {
            McpError::invalid_params(format!("unknown task `{task_id}`: it never existed here, has expired, or belongs to another server"), None)
        })
    }

    /// Whether the task has finished (completed, failed or cancelled).
    pub fn is_terminal(&self, task_id: &str) -> bool {
        self.manager.get_task(task_id).is_ok_and(|t| matches!(t.task.status, TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled))
    }

    /// How many tasks are still running.
    pub fn running(&self) -> usize {
        self.manager.running_task_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_is_seen_only_by_its_owner() {
        let tasks = Tasks::default();
        let t = tasks.manager.spawn(Default::default(), |_| Box::pin(std::future::pending()));
        let record = Record { owner: Some("srv_a".into()), cancel_tool: None, upstream_id: Default::default() };
        tasks.remember(&t.task_id, record);
        assert!(tasks.record(&t.task_id, Some("srv_a")).is_ok());
        for other in [Some("srv_b"), None] {
            let e = tasks.record(&t.task_id, other).err().expect("hidden");
            assert!(e.message.contains("unknown task"), "{e:?}");
        }
        assert!(!tasks.is_terminal(&t.task_id));
        assert_eq!(tasks.running(), 1);
    }
}
