//! MCP tasks (the 2026-07-28 `io.modelcontextprotocol/tasks` extension) for long-running
//! tools. The source of truth is a [`TaskStore`] record, not rmcp's in-memory
//! `TaskManager`: that one cannot be shared between replicas or survive a restart, so
//! `tasks/get` and `tasks/cancel` are served from the store here, and this process only
//! runs the waits it holds a lease on (`pipeline/task.rs`), adopting others whose lease
//! ran out (`pipeline/adopt.rs`).

#[cfg(test)]
pub(crate) mod contract;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use jiff::Timestamp;
use rmcp::ErrorData as McpError;
use rmcp::model::{DetailedTask, ProtocolVersion, Task, TaskPayload, TaskStatus};
use rmcp::service::{RequestContext, RoleServer};
use tokio_util::sync::CancellationToken;

pub use store::{Held, KeptResult, MemoryTaskStore, Settle, TaskRecord, TaskStore, TaskStoreError};

use crate::mcp::scope::Scope;

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

/// Lease timings. A replica that dies stops renewing; after `lease` another adopts its
/// tasks, so a wait is interrupted for at most `lease + claim_every`.
#[derive(Debug, Clone, Copy)]
pub struct Leases {
    /// How long a lease lasts unrenewed.
    pub lease: Duration,
    /// How often the holder renews it (well inside `lease`, so one slow write is no loss).
    pub renew_every: Duration,
    /// How often each replica looks for expired leases to adopt.
    pub claim_every: Duration,
}

impl Default for Leases {
    fn default() -> Self {
        Self { lease: Duration::from_secs(30), renew_every: Duration::from_secs(10), claim_every: Duration::from_secs(5) }
    }
}

/// Who a task's owner is now, so an adopted task polls with its managed server's
/// credential and is audited there. The managed side implements it; `Ok(None)` means
/// the server is gone (deleted or expired) and the task fails.
pub trait Owners: Send + Sync {
    /// The scope of managed server `owner`.
    fn scope<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<Option<Scope>, String>>;
}

/// The tasks of one server process: the shared records, and the waits this process runs.
pub struct Tasks {
    /// The records.
    pub store: Arc<dyn TaskStore>,
    /// Resolves managed owners for adopted tasks; without it only `/mcp` tasks are adopted.
    pub owners: Option<Arc<dyn Owners>>,
    /// Each task's TTL, which also bounds its wait.
    pub ttl: Duration,
    /// Lease timings.
    pub leases: Leases,
    /// This process's lease-holder name (random: a restarted process is a new holder).
    pub holder: String,
    /// The waits running here, by task id: a local `tasks/cancel` stops one at once.
    local: Mutex<HashMap<String, Local>>,
    /// Ends the adoption loop when the tasks go away.
    stop: CancellationToken,
}

/// A wait running in this process.
struct Local {
    cancel: CancellationToken,
    abort: tokio::task::AbortHandle,
}

/// What a running task's wait reports to: the record it holds the lease on.
#[derive(Clone)]
pub struct Hook {
    /// The records.
    pub store: Arc<dyn TaskStore>,
    /// The task.
    pub id: String,
    /// This process's holder name.
    pub holder: String,
    /// Fired when the wait must stop (cancelled anywhere, or the lease was lost).
    pub stop: CancellationToken,
    /// How long the wait may poll.
    pub timeout: Duration,
}

impl Hook {
    /// Acts on what a write learned: a cancel or a lost lease stops the wait.
    pub fn heed(&self, held: Result<Held, TaskStoreError>) {
        match held {
            Ok(Held::Yes { cancel_requested: false }) => {}
            Ok(_) => self.stop.cancel(),
            // The wait goes on; the next write or renewal tries again.
            Err(e) => tracing::warn!(task = %self.id, "cannot record the task's progress: {e}"),
        }
    }
}

impl Default for Tasks {
    fn default() -> Self {
        Self::new(Arc::new(MemoryTaskStore::default()), DEFAULT_TTL, Leases::default())
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Tasks {
    /// Tasks kept in `store`; each lives `ttl`.
    pub fn new(store: Arc<dyn TaskStore>, ttl: Duration, leases: Leases) -> Self {
        let holder = format!("replica-{}", new_id());
        Self { store, owners: None, ttl, leases, holder, local: Mutex::new(HashMap::new()), stop: CancellationToken::new() }
    }

    /// The same, adopting managed servers' tasks through `owners`.
    pub fn with_owners(mut self, owners: Arc<dyn Owners>) -> Self {
        self.owners = Some(owners);
        self
    }

    /// The task's record, if `owner` may see it; any other owner gets the same answer as
    /// for an id that never existed.
    pub async fn record(&self, task_id: &str, owner: Option<&str>) -> Result<TaskRecord, McpError> {
        let found = self.store.get(task_id, owner).await.map_err(|e| McpError::internal_error(e.to_string(), None))?;
        found.ok_or_else(|| {
            let id = crate::text::clip(task_id, crate::text::QUOTE_CHARS);
            McpError::invalid_params(format!("unknown task `{id}`: it never existed here, has expired, or belongs to another server"), None)
        })
    }

    /// A new lease, from `now`.
    pub fn lease_from(&self, now: Timestamp) -> Timestamp {
        now.checked_add(self.leases.lease).unwrap_or(now)
    }

    /// Remembers a wait this process runs.
    pub(crate) fn track(&self, id: &str, cancel: CancellationToken, abort: tokio::task::AbortHandle) {
        self.local.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_owned(), Local { cancel, abort });
    }

    /// Forgets a wait that ended.
    pub(crate) fn untrack(&self, id: &str) {
        self.local.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// Stops the local wait of `id` at once, if it runs here (a cancel elsewhere is seen
    /// by the holder at its next poll or renewal).
    pub fn stop_local(&self, id: &str) {
        if let Some(l) = self.local.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            l.cancel.cancel();
        }
    }

    /// Stops this process's part in tasks without settling any, as a crash would: the
    /// waits running here are dropped and adoption ends. Their leases run out and another
    /// replica (or this one, restarted) adopts them. For tests of exactly that.
    pub fn abandon(&self) {
        self.stop.cancel();
        for (_, l) in self.local.lock().unwrap_or_else(|e| e.into_inner()).drain() {
            l.abort.abort();
        }
    }

    /// How many waits run here.
    pub fn running(&self) -> usize {
        self.local.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Fired when these tasks go away.
    pub(crate) fn stopped(&self) -> CancellationToken {
        self.stop.clone()
    }
}

/// A random task id (128 bits, hex).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now, at the millisecond precision records keep.
pub fn now_ms() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A protocol error as a record's `failed` payload.
pub fn failure(message: String) -> Settle {
    let error = serde_json::to_value(McpError::internal_error(message.clone(), None)).ok();
    Settle { status: TaskStatus::Failed, message: Some(message), outcome: error }
}

/// The record as `tasks/get` answers it.
pub fn detailed(t: &TaskRecord) -> DetailedTask {
    let mut task =
        Task::new(t.id.clone(), t.status, t.created_at.to_string(), t.last_updated.to_string()).with_ttl_ms(t.ttl_ms).with_poll_interval_ms(POLL_INTERVAL_MS);
    task.status_message = t.status_message.clone();
    let object = || match &t.outcome {
        Some(serde_json::Value::Object(o)) => o.clone(),
        _ => Default::default(),
    };
    let payload = match t.status {
        TaskStatus::Completed => TaskPayload::Completed { result: object() },
        TaskStatus::Failed => TaskPayload::Failed { error: object() },
        TaskStatus::Cancelled => TaskPayload::Cancelled,
        _ => TaskPayload::Working,
    };
    DetailedTask::new(task, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: Option<&str>) -> TaskRecord {
        let now = Timestamp::now();
        TaskRecord {
            id: new_id(),
            owner: owner.map(str::to_owned),
            tool: "t".into(),
            called_as: "t".into(),
            status: TaskStatus::Working,
            status_message: None,
            outcome: None,
            upstream_id: None,
            cancel_tool: None,
            cancel_requested: false,
            lease_owner: None,
            lease_until: None,
            created_at: now,
            ttl_ms: 1000,
            last_updated: now,
        }
    }

    #[tokio::test]
    async fn a_task_is_seen_only_by_its_owner() {
        let tasks = Tasks::default();
        let t = record(Some("srv_a"));
        tasks.store.create(&t).await.unwrap();
        assert!(tasks.record(&t.id, Some("srv_a")).await.is_ok());
        for other in [Some("srv_b"), None] {
            let e = tasks.record(&t.id, other).await.expect_err("hidden");
            assert!(e.message.contains("unknown task"), "{e:?}");
        }
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_contract() {
        contract::check(&MemoryTaskStore::default()).await;
    }

    #[test]
    fn a_completed_record_inlines_its_result() {
        let mut t = record(None);
        t.status = TaskStatus::Completed;
        t.outcome = Some(serde_json::json!({"content": [], "isError": false}));
        let d = serde_json::to_value(detailed(&t)).unwrap();
        assert_eq!(d["status"], "completed");
        assert_eq!(d["result"]["isError"], false);
        assert_eq!(d["pollIntervalMs"], POLL_INTERVAL_MS);
        assert!(d["createdAt"].as_str().unwrap().ends_with('Z'), "{d}");
    }
}
