//! The one registry of legacy sessions: admission under one lock, the exchanges open on
//! each session, and the idle sweeper.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::SessionId;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::table::{Entry, Table};
use super::{Activity, Owner, Refusal, SessionLimits, SessionRows};

/// Every live legacy session of the process, with its owner and activity.
pub struct SessionRegistry {
    limits: SessionLimits,
    table: Mutex<Table>,
    /// The shared store of sessions, if replicas share one.
    rows: Option<Arc<dyn SessionRows>>,
}

/// A session chosen to be closed (evicted or idle); closed outside the lock.
pub(super) struct Closing(pub(super) SessionId, pub(super) Arc<LocalSessionManager>);

impl Closing {
    pub(super) async fn close(self) {
        if let Err(e) = self.1.close_session(&self.0).await {
            tracing::debug!(session = %self.0, "closing a session failed: {e}");
        }
    }
}

impl SessionRegistry {
    /// An empty registry enforcing `limits`.
    pub fn new(limits: SessionLimits) -> Arc<Self> {
        Self::with_rows(limits, None)
    }

    /// An empty registry enforcing `limits`, whose sessions are also kept in `rows`.
    pub fn with_rows(limits: SessionLimits, rows: Option<Arc<dyn SessionRows>>) -> Arc<Self> {
        Arc::new(Self { limits, table: Mutex::default(), rows })
    }

    /// The shared store of sessions, if there is one.
    pub fn rows(&self) -> Option<&Arc<dyn SessionRows>> {
        self.rows.as_ref()
    }

    /// The limits.
    pub fn limits(&self) -> SessionLimits {
        self.limits
    }

    pub(super) fn table(&self) -> MutexGuard<'_, Table> {
        // Nothing panics while holding the lock; a poisoned table is still consistent.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this process has session `id` at all (of any owner).
    pub fn knows(&self, id: &str) -> bool {
        self.table().sessions.contains_key(id)
    }

    /// Whether `id` is a live session of `owner` (a managed server's, or `/mcp`'s).
    pub fn holds(&self, id: &str, owner: &Owner) -> bool {
        self.table().sessions.get(&SessionId::from(id)).is_some_and(|e| &e.owner == owner)
    }

    /// Live sessions (and sessions being created).
    pub fn len(&self) -> usize {
        self.table().taken
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a session for `owner` could be admitted now, without changing anything:
    /// lets the middleware refuse a doomed initialize before rmcp works on it.
    pub fn check(&self, owner: &Owner) -> Result<(), Refusal> {
        let mut t = self.table();
        let verdict = t.make_room(owner, &self.limits).map(drop);
        if verdict.is_err() {
            t.refused += 1;
        }
        verdict
    }

    /// Takes a slot for a new session of `owner`, choosing the session to evict if a cap
    /// is reached; one lock for the decision and the slot, so nothing overshoots.
    pub(super) fn reserve(self: &Arc<Self>, owner: Owner) -> Result<(Reservation, Option<Closing>), Refusal> {
        let mut t = self.table();
        let victim = match t.make_room(&owner, &self.limits) {
            Ok(victim) => victim,
            Err(refusal) => {
                t.refused += 1;
                return Err(refusal);
            }
        };
        let closing = victim.and_then(|id| {
            let entry = t.remove(&id)?;
            t.evicted += 1;
            tracing::debug!(session = %id, owner = entry.owner.as_deref().unwrap_or("/mcp"), "evicting the least recently active idle session");
            Some(Closing(id, entry.pool))
        });
        t.taken += 1;
        if let Some(o) = &owner {
            *t.per_server.entry(o.clone()).or_default() += 1;
        }
        Ok((Reservation { registry: self.clone(), owner: Some(owner) }, closing))
    }

    /// Records an exchange opening on session `id`; the guard records its end. `None`
    /// when the session is not (or no longer) live.
    pub fn enter(self: &Arc<Self>, id: &str, activity: Activity) -> Option<ActivityGuard> {
        let mut t = self.table();
        // The registry's own key: an `Arc` clone instead of a new allocation.
        let key = t.sessions.get_key_value(id)?.0.clone();
        let tick = t.tick();
        let entry = t.sessions.get_mut(id)?;
        entry.recency = tick;
        entry.last_active = Instant::now();
        match activity {
            Activity::Request => entry.requests += 1,
            Activity::Stream => entry.streams += 1,
        }
        Some(ActivityGuard { registry: self.clone(), id: key, activity })
    }

    /// Forgets session `id` (closed by DELETE, by its service ending, or evicted).
    pub(super) fn release(&self, id: &str) {
        self.table().remove(id);
    }

    /// Removes the sessions idle since before `now - idle_timeout` and returns them to be
    /// closed, with the evictions and refusals counted since the last call.
    pub(super) fn take_idle(&self, now: Instant) -> (Vec<Closing>, u64, u64) {
        let mut t = self.table();
        let (evicted, refused) = (std::mem::take(&mut t.evicted), std::mem::take(&mut t.refused));
        let Some(cutoff) = now.checked_sub(self.limits.idle_timeout) else { return (Vec::new(), evicted, refused) };
        let idle: Vec<SessionId> =
            t.sessions.iter().filter(|(_, e)| e.requests == 0 && e.streams == 0 && e.last_active <= cutoff).map(|(id, _)| id.clone()).collect();
        let closing = idle.into_iter().filter_map(|id| t.remove(&id).map(|e| Closing(id, e.pool))).collect();
        (closing, evicted, refused)
    }

    /// Closes idle sessions every quarter of the idle timeout (between 1 and 30 s) until
    /// `stop` fires, and logs evictions and refusals since the previous round (a flood
    /// would drown the log with one line each).
    pub async fn sweep(self: Arc<Self>, stop: CancellationToken) {
        let every = (self.limits.idle_timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let (idle, evicted, refused) = self.take_idle(Instant::now());
            let closed = idle.len();
            for session in idle {
                session.close().await;
            }
            if closed > 0 {
                tracing::debug!(closed, "closed idle MCP sessions");
            }
            if evicted > 0 || refused > 0 {
                tracing::warn!(
                    evicted,
                    refused,
                    live = self.len(),
                    max = self.limits.max_sessions,
                    "MCP sessions at their cap: idle sessions evicted, initializes refused"
                );
            }
        }
    }
}

/// A slot taken for a session being created; given back unless committed.
pub(super) struct Reservation {
    registry: Arc<SessionRegistry>,
    owner: Option<Owner>,
}

impl Reservation {
    /// The session exists: records it, with its initialize exchange open.
    pub(super) fn commit(mut self, id: SessionId, pool: Arc<LocalSessionManager>) -> ActivityGuard {
        let owner = self.owner.take().expect("a reservation is committed once");
        let mut t = self.registry.table();
        let recency = t.tick();
        t.sessions.insert(id.clone(), Entry { owner, pool, last_active: Instant::now(), recency, requests: 1, streams: 0 });
        ActivityGuard { registry: self.registry.clone(), id, activity: Activity::Request }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.take() {
            self.registry.table().free_slot(&owner);
        }
    }
}

/// An open exchange on a session; dropping it records the end (and the activity).
pub struct ActivityGuard {
    registry: Arc<SessionRegistry>,
    id: SessionId,
    activity: Activity,
}

impl Drop for ActivityGuard {
    fn drop(&mut self) {
        let mut t = self.registry.table();
        let tick = t.tick();
        if let Some(e) = t.sessions.get_mut(&self.id) {
            e.recency = tick;
            e.last_active = Instant::now();
            match self.activity {
                Activity::Request => e.requests -= 1,
                Activity::Stream => e.streams -= 1,
            }
        }
    }
}
