//! Where task records live: the [`TaskStore`] trait the core owns (the managed store
//! implements it durably, so any replica answers `tasks/get` and a restart loses
//! nothing), and [`MemoryTaskStore`] for stdio and servers without a store.
//!
//! A record never holds a call's arguments or a credential: only the tool, the upstream
//! id its status tool polls with, and the tool result `tasks/get` returns.
//!
//! The same store keeps the whole JSON of results too large for the result budget
//! ([`KeptResult`]), for `resources/read`: shared, owner-scoped and pruned like a task.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::Timestamp;
use rmcp::model::TaskStatus;
use serde_json::Value;

/// A task store failure (the database cannot be reached or failed).
#[derive(Debug, thiserror::Error)]
#[error("task store: {0}")]
pub struct TaskStoreError(pub String);

/// Task store results.
pub type Result<T, E = TaskStoreError> = std::result::Result<T, E>;

/// One task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// The task id clients poll with.
    pub id: String,
    /// The managed server that created it; `None` for `/mcp` and stdio.
    pub owner: Option<String>,
    /// The catalogue tool that started the work; its async spec names the status and
    /// cancel tools, so a replica that adopts the task knows how to follow it.
    pub tool: String,
    /// The name the call was made with (a flow tool's own name), for the audit trail.
    pub called_as: String,
    /// `working` until it settles.
    pub status: TaskStatus,
    /// The last upstream state seen, or why it settled as it did.
    pub status_message: Option<String>,
    /// The tool result (`completed`) or the JSON-RPC error (`failed`).
    pub outcome: Option<Value>,
    /// The id the status tool polls with, once the start request has answered.
    pub upstream_id: Option<String>,
    /// The tool that stops the upstream work, if Gumloop has one.
    pub cancel_tool: Option<String>,
    /// `tasks/cancel` was accepted; whoever runs the wait stops at its next poll.
    pub cancel_requested: bool,
    /// The replica running the wait.
    pub lease_owner: Option<String>,
    /// Until when it holds the lease; after that any replica may adopt the task.
    pub lease_until: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// How long it lives (and so how long its wait may poll).
    pub ttl_ms: u64,
    /// When it last changed.
    pub last_updated: Timestamp,
}

impl TaskRecord {
    /// Whether the TTL has run out at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        now.as_millisecond() >= self.created_at.as_millisecond().saturating_add(self.ttl_ms as i64)
    }
}

/// A result too large to return, kept for `resources/read` until it expires.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptResult {
    /// The unguessable id its resource URI carries.
    pub id: String,
    /// The managed server whose call it was; `None` for `/mcp` and stdio.
    pub owner: Option<String>,
    /// The whole structured result.
    pub body: Value,
    /// When it was kept.
    pub created_at: Timestamp,
    /// After this it reads as unknown (and is pruned).
    pub expires_at: Timestamp,
}

/// How a running task settles.
#[derive(Debug, Clone, PartialEq)]
pub struct Settle {
    /// `completed`, `failed` or `cancelled`.
    pub status: TaskStatus,
    /// Replaces the status message when given.
    pub message: Option<String>,
    /// The result or error.
    pub outcome: Option<Value>,
}

/// What the lease holder learns when it writes: whether it still holds the lease, and
/// whether a cancel was requested (on any replica).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Still ours; `true` if `tasks/cancel` was accepted.
    Yes { cancel_requested: bool },
    /// Another replica adopted it, or it settled: stop without settling.
    Lost,
}

/// The stored spelling of a status.
pub fn status_name(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Working => "working",
        TaskStatus::InputRequired => "input_required",
        TaskStatus::Completed => "completed",
        TaskStatus::Failed => "failed",
        _ => "cancelled",
    }
}

/// Reads a stored status (anything unknown reads as `failed`).
pub fn parse_status(s: &str) -> TaskStatus {
    match s {
        "working" => TaskStatus::Working,
        "input_required" => TaskStatus::InputRequired,
        "completed" => TaskStatus::Completed,
        "cancelled" => TaskStatus::Cancelled,
        _ => TaskStatus::Failed,
    }
}

/// Task records. Every write by a runner names its lease owner, and only the holder's
/// writes land, so a replica that lost its lease (paused, partitioned) cannot overwrite
/// the adopter's progress or settle the task twice.
#[async_trait::async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Creates a task; it is durable (committed) when this returns.
    async fn create(&self, task: &TaskRecord) -> Result<()>;
    /// The task, if `owner` created it.
    async fn get(&self, id: &str, owner: Option<&str>) -> Result<Option<TaskRecord>>;
    /// The holder records the upstream id.
    async fn set_upstream_id(&self, id: &str, holder: &str, upstream_id: &str, now: Timestamp) -> Result<Held>;
    /// The holder records the last upstream state seen.
    async fn progress(&self, id: &str, holder: &str, message: &str, now: Timestamp) -> Result<Held>;
    /// The holder extends its lease to `until`.
    async fn renew(&self, id: &str, holder: &str, until: Timestamp, now: Timestamp) -> Result<Held>;
    /// The holder settles a working task. A task whose cancel was requested settles
    /// only as `cancelled`: `false` (nothing written) for any other status then.
    async fn finish(&self, id: &str, holder: &str, settle: &Settle, now: Timestamp) -> Result<bool>;
    /// Settles a working task nobody runs (adopted with nothing left to wait for).
    async fn fail_unheld(&self, id: &str, settle: &Settle, now: Timestamp) -> Result<bool>;
    /// Marks a working task of `owner` for cancellation; `false` if it was already
    /// marked, settled, or is not theirs.
    async fn request_cancel(&self, id: &str, owner: Option<&str>, now: Timestamp) -> Result<bool>;
    /// Takes over up to `limit` working tasks whose lease ran out before `now`, leased to
    /// `holder` until `until`, atomically (two replicas never claim the same task).
    async fn claim_expired(&self, holder: &str, until: Timestamp, now: Timestamp, limit: usize) -> Result<Vec<TaskRecord>>;
    /// Deletes tasks settled more than their TTL ago, any task twice its TTL old, and
    /// kept results past their expiry; returns how many.
    async fn prune(&self, now: Timestamp) -> Result<usize>;
    /// Keeps an oversized result; it is durable (committed) when this returns.
    async fn keep_result(&self, kept: &KeptResult) -> Result<()>;
    /// The kept result `id`, if `owner` kept it and it has not expired at `now`.
    async fn kept_result(&self, id: &str, owner: Option<&str>, now: Timestamp) -> Result<Option<Value>>;
}

/// Tasks in this process's memory: a restart loses them (the upstream work goes on and
/// can still be followed with the status tool).
#[derive(Default)]
pub struct MemoryTaskStore(Mutex<HashMap<String, TaskRecord>>, Mutex<HashMap<String, KeptResult>>);

impl MemoryTaskStore {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, TaskRecord>) -> T) -> Result<T> {
        Ok(f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner())))
    }

    fn kept<T>(&self, f: impl FnOnce(&mut HashMap<String, KeptResult>) -> T) -> Result<T> {
        Ok(f(&mut self.1.lock().unwrap_or_else(|e| e.into_inner())))
    }

    /// The working task `id` while `holder` holds it.
    fn held<'a>(map: &'a mut HashMap<String, TaskRecord>, id: &str, holder: &str) -> Option<&'a mut TaskRecord> {
        map.get_mut(id).filter(|t| t.status == TaskStatus::Working && t.lease_owner.as_deref() == Some(holder))
    }

    fn held_write(&self, id: &str, holder: &str, now: Timestamp, f: impl FnOnce(&mut TaskRecord)) -> Result<Held> {
        self.with(|m| match Self::held(m, id, holder) {
            Some(t) => {
                f(t);
                t.last_updated = now;
                Held::Yes { cancel_requested: t.cancel_requested }
            }
            None => Held::Lost,
        })
    }
}

#[async_trait::async_trait]
impl TaskStore for MemoryTaskStore {
    async fn create(&self, task: &TaskRecord) -> Result<()> {
        // No adoption loop prunes a memory store: each creation sweeps instead.
        let now = task.created_at;
        self.with(|m| {
            m.retain(|_, t| !prunable(t, now));
            m.insert(task.id.clone(), task.clone());
        })
    }

    async fn get(&self, id: &str, owner: Option<&str>) -> Result<Option<TaskRecord>> {
        self.with(|m| m.get(id).filter(|t| t.owner.as_deref() == owner).cloned())
    }

    async fn set_upstream_id(&self, id: &str, holder: &str, upstream_id: &str, now: Timestamp) -> Result<Held> {
        self.held_write(id, holder, now, |t| t.upstream_id = Some(upstream_id.to_owned()))
    }

    async fn progress(&self, id: &str, holder: &str, message: &str, now: Timestamp) -> Result<Held> {
        self.held_write(id, holder, now, |t| t.status_message = Some(message.to_owned()))
    }

    async fn renew(&self, id: &str, holder: &str, until: Timestamp, now: Timestamp) -> Result<Held> {
        self.held_write(id, holder, now, |t| t.lease_until = Some(until))
    }

    async fn finish(&self, id: &str, holder: &str, settle: &Settle, now: Timestamp) -> Result<bool> {
        self.with(|m| match Self::held(m, id, holder) {
            Some(t) if !t.cancel_requested || settle.status == TaskStatus::Cancelled => {
                apply(t, settle, now);
                true
            }
            _ => false,
        })
    }

    async fn fail_unheld(&self, id: &str, settle: &Settle, now: Timestamp) -> Result<bool> {
        self.with(|m| match m.get_mut(id).filter(|t| t.status == TaskStatus::Working) {
            Some(t) => {
                apply(t, settle, now);
                true
            }
            None => false,
        })
    }

    async fn request_cancel(&self, id: &str, owner: Option<&str>, now: Timestamp) -> Result<bool> {
        self.with(|m| match m.get_mut(id).filter(|t| t.owner.as_deref() == owner && t.status == TaskStatus::Working && !t.cancel_requested) {
            Some(t) => {
                t.cancel_requested = true;
                t.last_updated = now;
                true
            }
            None => false,
        })
    }

    async fn claim_expired(&self, holder: &str, until: Timestamp, now: Timestamp, limit: usize) -> Result<Vec<TaskRecord>> {
        self.with(|m| {
            let mut claimed = Vec::new();
            for t in m.values_mut().filter(|t| t.status == TaskStatus::Working && t.lease_until.is_none_or(|u| u < now)).take(limit) {
                t.lease_owner = Some(holder.to_owned());
                t.lease_until = Some(until);
                t.last_updated = now;
                claimed.push(t.clone());
            }
            claimed
        })
    }

    async fn prune(&self, now: Timestamp) -> Result<usize> {
        let tasks = self.with(|m| {
            let before = m.len();
            m.retain(|_, t| !prunable(t, now));
            before - m.len()
        })?;
        let kept = self.kept(|m| {
            let before = m.len();
            m.retain(|_, k| k.expires_at > now);
            before - m.len()
        })?;
        Ok(tasks + kept)
    }

    async fn keep_result(&self, kept: &KeptResult) -> Result<()> {
        // As with tasks, each new one sweeps the expired.
        let now = kept.created_at;
        self.kept(|m| {
            m.retain(|_, k| k.expires_at > now);
            m.insert(kept.id.clone(), kept.clone());
        })
    }

    async fn kept_result(&self, id: &str, owner: Option<&str>, now: Timestamp) -> Result<Option<Value>> {
        self.kept(|m| m.get(id).filter(|k| k.owner.as_deref() == owner && k.expires_at > now).map(|k| k.body.clone()))
    }
}

fn apply(t: &mut TaskRecord, settle: &Settle, now: Timestamp) {
    t.status = settle.status;
    if let Some(message) = &settle.message {
        t.status_message = Some(message.clone());
    }
    t.outcome = settle.outcome.clone();
    t.lease_owner = None;
    t.lease_until = None;
    t.last_updated = now;
}

/// The pruning rule every store applies: settled a TTL ago, or twice the TTL old.
pub fn prunable(t: &TaskRecord, now: Timestamp) -> bool {
    let (now, ttl) = (now.as_millisecond(), t.ttl_ms as i64);
    let settled_long_ago = t.status != TaskStatus::Working && t.last_updated.as_millisecond().saturating_add(ttl) < now;
    settled_long_ago || t.created_at.as_millisecond().saturating_add(ttl.saturating_mul(2)) < now
}
