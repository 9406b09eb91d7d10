//! Bounds on legacy (2025-11-25) sessions. Every `initialize` without a session id makes
//! rmcp keep a session (~80-100 KB) until it ends, and `/mcp` asks for no credential, so
//! without a bound a flood of initializes grows memory without limit.
//!
//! [`BoundedSessions`] wraps rmcp's `LocalSessionManager` (one per MCP service) and
//! records every live session in one [`SessionRegistry`] shared by both services: its
//! owner (a managed server, or `/mcp`), when it was last active, and how many requests
//! and GET streams it has open (the [`crate::http::screen`] middleware reports each exchange).
//!
//! Admission happens under one lock, so concurrent initializes never overshoot a cap.
//! Below the caps a new session simply takes a slot. At a cap the least recently active
//! session with no request in flight is evicted (one without an open GET stream first;
//! at the per-server cap, one of that server's own); its next request gets rmcp's 404
//! for unknown sessions, which tells a client to initialize again. When every candidate
//! is busy, the initialize is refused. A sweeper closes sessions idle for longer than
//! `--session-idle-secs`.
//!
//! With a shared store ([`SessionRows`]), a session this process does not hold is
//! restored from it for a request of its owner (see [`shared`]).

mod shared;

pub use shared::{ROW_LIFETIME, SessionRows, SharedSessions, prune_rows};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::RestoreOutcome;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{ServerSseMessage, SessionId};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How many legacy sessions may live, and for how long without activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Live sessions on all MCP URLs together.
    pub max_sessions: usize,
    /// Live sessions on one managed server's URL.
    pub max_per_server: usize,
    /// How long a session with no request in flight and no open GET stream lives.
    pub idle_timeout: Duration,
}

impl SessionLimits {
    /// 1,000 sessions hold about 100 MB (measured by `cargo xtask bench-sessions`); a team
    /// server rarely has more than a few hundred clients connected at once.
    pub const DEFAULT_MAX_SESSIONS: usize = 1000;
    /// A tenth of the total: one leaked managed URL can neither hold most of the slots
    /// nor, at its own cap, evict other servers' sessions.
    pub const DEFAULT_MAX_PER_SERVER: usize = 100;
    /// Two minutes (rmcp's default is five). Only time with nothing open counts, so a
    /// long `wait` or an open notification stream never ends a session; a client that
    /// comes back later gets a 404 and initializes again, one round trip, which is cheaper
    /// than holding ~100 KB per abandoned session for five minutes under a flood.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self { max_sessions: Self::DEFAULT_MAX_SESSIONS, max_per_server: Self::DEFAULT_MAX_PER_SERVER, idle_timeout: Self::DEFAULT_IDLE_TIMEOUT }
    }
}

/// Who a session belongs to: a managed server's id, or `None` for `/mcp`.
pub type Owner = Option<Arc<str>>;

/// Why a new session was refused: every session that could make room is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The total cap.
    #[error("the server's limit of {0} MCP sessions (--max-sessions) is reached and every session has a request in flight; retry shortly")]
    Total(usize),
    /// The managed server's cap.
    #[error("this MCP server's limit of {0} sessions (--max-sessions-per-server) is reached and every one of them has a request in flight; retry shortly")]
    PerServer(usize),
}

/// What an exchange keeps open on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// A POST (request, notification or response) until its answer is complete.
    Request,
    /// A standalone GET stream.
    Stream,
}

struct Entry {
    owner: Owner,
    /// The rmcp manager holding it, so eviction and the sweeper can close it.
    pool: Arc<LocalSessionManager>,
    last_active: Instant,
    /// Order of last activity (a counter, so ties never happen).
    recency: u64,
    requests: u32,
    streams: u32,
}

#[derive(Default)]
struct Table {
    sessions: HashMap<SessionId, Entry>,
    /// Slots taken, reservations for sessions being created included.
    taken: usize,
    /// The same per managed server (no entry at zero).
    per_server: HashMap<Arc<str>, usize>,
    recency: u64,
    /// Since the sweeper last reported.
    evicted: u64,
    refused: u64,
}

impl Table {
    fn tick(&mut self) -> u64 {
        self.recency += 1;
        self.recency
    }

    fn free_slot(&mut self, owner: &Owner) {
        self.taken -= 1;
        if let Some(o) = owner
            && let Some(n) = self.per_server.get_mut(o)
        {
            *n -= 1;
            if *n == 0 {
                self.per_server.remove(o);
            }
        }
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.sessions.remove(id)?;
        self.free_slot(&entry.owner);
        Some(entry)
    }

    /// The session to evict: no request in flight, no GET stream if possible, least
    /// recently active; only `owner`'s when given. A linear scan: it only runs at a cap,
    /// and at the default cap it takes a few microseconds.
    fn eviction_candidate(&self, owner: Option<&Arc<str>>) -> Option<SessionId> {
        self.sessions
            .iter()
            .filter(|(_, e)| e.requests == 0 && owner.is_none_or(|o| e.owner.as_ref() == Some(o)))
            .min_by_key(|(_, e)| (e.streams > 0, e.recency))
            .map(|(id, _)| id.clone())
    }

    /// Which session must go to admit one for `owner` (`Ok(None)`: none, there is room).
    fn make_room(&self, owner: &Owner, limits: &SessionLimits) -> Result<Option<SessionId>, Refusal> {
        if let Some(o) = owner
            && self.per_server.get(o).copied().unwrap_or(0) >= limits.max_per_server
        {
            // Evicting one of its own also frees a slot of the total.
            return self.eviction_candidate(Some(o)).map(Some).ok_or(Refusal::PerServer(limits.max_per_server));
        }
        if self.taken >= limits.max_sessions {
            return self.eviction_candidate(None).map(Some).ok_or(Refusal::Total(limits.max_sessions));
        }
        Ok(None)
    }
}

/// Every live legacy session of the process, with its owner and activity.
pub struct SessionRegistry {
    limits: SessionLimits,
    table: Mutex<Table>,
    /// The shared store of sessions, if replicas share one.
    rows: Option<Arc<dyn SessionRows>>,
}

/// A session chosen to be closed (evicted or idle); closed outside the lock.
struct Closing(SessionId, Arc<LocalSessionManager>);

impl Closing {
    async fn close(self) {
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

    fn table(&self) -> MutexGuard<'_, Table> {
        // Nothing panics while holding the lock; a poisoned table is still consistent.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `id` is a live session of `owner` (a managed server's, or `/mcp`'s).
    pub fn holds(&self, id: &str, owner: &Owner) -> bool {
        self.table().sessions.get(&SessionId::from(id)).is_some_and(|e| &e.owner == owner)
    }

    /// Whether this process has session `id` at all (of any owner).
    pub fn knows(&self, id: &str) -> bool {
        self.table().sessions.contains_key(id)
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
    fn reserve(self: &Arc<Self>, owner: Owner) -> Result<(Reservation, Option<Closing>), Refusal> {
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
    fn release(&self, id: &str) {
        self.table().remove(id);
    }

    /// Removes the sessions idle since before `now - idle_timeout` and returns them to be
    /// closed, with the evictions and refusals counted since the last call.
    fn take_idle(&self, now: Instant) -> (Vec<Closing>, u64, u64) {
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
struct Reservation {
    registry: Arc<SessionRegistry>,
    owner: Option<Owner>,
}

impl Reservation {
    /// The session exists: records it, with its initialize exchange open.
    fn commit(mut self, id: SessionId, pool: Arc<LocalSessionManager>) -> ActivityGuard {
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

tokio::task_local! {
    /// Set by the middleware around a legacy `initialize`: `create_session` runs inside
    /// that request's future, so this is how it learns the owner and reports back.
    static ADMISSION: Arc<Admission>;
}

/// One legacy `initialize` on its way through rmcp.
pub struct Admission {
    owner: Owner,
    outcome: Mutex<(Option<Refusal>, Option<ActivityGuard>)>,
}

impl Admission {
    /// An admission for a session of `owner`.
    pub fn new(owner: Owner) -> Arc<Self> {
        Arc::new(Self { owner, outcome: Mutex::new((None, None)) })
    }

    /// Runs `request` (rmcp's handling of the initialize) with this admission in scope.
    pub async fn run<F: Future>(self: &Arc<Self>, request: F) -> F::Output {
        ADMISSION.scope(self.clone(), request).await
    }

    fn outcome(&self) -> MutexGuard<'_, (Option<Refusal>, Option<ActivityGuard>)> {
        self.outcome.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why the session was refused, if it was (a race lost after [`SessionRegistry::check`]).
    pub fn refused(&self) -> Option<Refusal> {
        self.outcome().0
    }

    /// The new session's open initialize exchange, to be held until its answer is sent.
    pub fn take_guard(&self) -> Option<ActivityGuard> {
        self.outcome().1.take()
    }
}

/// `create_session` failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// rmcp's own failure.
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
    /// No room for a new session.
    #[error(transparent)]
    Full(#[from] Refusal),
}

/// rmcp's in-memory session manager, admitting sessions through a [`SessionRegistry`].
pub struct BoundedSessions {
    inner: Arc<LocalSessionManager>,
    registry: Arc<SessionRegistry>,
}

impl BoundedSessions {
    /// A manager whose sessions count against `registry`.
    pub fn new(registry: Arc<SessionRegistry>) -> Self {
        let mut local = LocalSessionManager::default();
        // The registry's sweeper ends idle sessions instead: rmcp's timer would count a
        // quiet request in flight (a `wait` of up to 600 s without progress
        // notifications) as idle and cut it, and it ignores open GET streams.
        local.session_config.keep_alive = None;
        Self { inner: Arc::new(local), registry }
    }

    /// Closes an evicted session, here and in the shared store (an idle one's row stays:
    /// with round robin its client is usually busy on another replica).
    async fn evict(&self, victim: Closing) {
        if let Some(rows) = self.registry.rows()
            && let Err(e) = rows.delete_session(&victim.0).await
        {
            tracing::warn!("forgetting an evicted session's row failed: {e}");
        }
        victim.close().await;
    }
}

impl SessionManager for BoundedSessions {
    type Error = SessionError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let admission = ADMISSION.try_with(Arc::clone).ok();
        let owner = admission.as_ref().and_then(|a| a.owner.clone());
        let (reservation, victim) = self.registry.reserve(owner).inspect_err(|refusal| {
            if let Some(a) = &admission {
                a.outcome().0 = Some(*refusal);
            }
        })?;
        if let Some(victim) = victim {
            self.evict(victim).await;
        }
        let (id, transport) = self.inner.create_session().await?;
        let guard = reservation.commit(id.clone(), self.inner.clone());
        if let Some(a) = admission {
            a.outcome().1 = Some(guard);
        }
        Ok((id, transport))
    }

    async fn initialize_session(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<ServerJsonRpcMessage, Self::Error> {
        Ok(self.inner.initialize_session(id, message).await?)
    }

    async fn restore_session(&self, id: SessionId) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        // Restores run inside a screened request of the session's owner (the store only
        // hands out a session to its owner), which takes a slot as an initialize does.
        let Some(admission) = ADMISSION.try_with(Arc::clone).ok() else { return Ok(RestoreOutcome::NotSupported) };
        let (reservation, victim) = self.registry.reserve(admission.owner.clone()).inspect_err(|refusal| admission.outcome().0 = Some(*refusal))?;
        if let Some(victim) = victim {
            self.evict(victim).await;
        }
        match self.inner.restore_session(id.clone()).await? {
            RestoreOutcome::Restored(transport) => {
                admission.outcome().1 = Some(reservation.commit(id, self.inner.clone()));
                Ok(RestoreOutcome::Restored(transport))
            }
            other => Ok(other),
        }
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.inner.has_session(id).await?)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.registry.release(id);
        Ok(self.inner.close_session(id).await?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_stream(id, message).await?)
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(&self, id: &SessionId) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_standalone_stream(id).await?)
    }

    async fn resume(&self, id: &SessionId, last_event_id: String) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.resume(id, last_event_id).await?)
    }
}

#[cfg(test)]
mod tests;
