//! The table of live sessions: who owns each, its activity, and the slots taken.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::SessionId;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio::time::Instant;

use super::{Owner, Refusal, SessionLimits};

pub(super) struct Entry {
    pub(super) owner: Owner,
    /// The rmcp manager holding it, so eviction and the sweeper can close it.
    pub(super) pool: Arc<LocalSessionManager>,
    pub(super) last_active: Instant,
    /// Order of last activity (a counter, so ties never happen).
    pub(super) recency: u64,
    pub(super) requests: u32,
    pub(super) streams: u32,
}

#[derive(Default)]
pub(super) struct Table {
    pub(super) sessions: HashMap<SessionId, Entry>,
    /// Slots taken, reservations for sessions being created included.
    pub(super) taken: usize,
    /// The same per managed server (no entry at zero).
    pub(super) per_server: HashMap<Arc<str>, usize>,
    pub(super) recency: u64,
    /// Since the sweeper last reported.
    pub(super) evicted: u64,
    pub(super) refused: u64,
}

impl Table {
    pub(super) fn tick(&mut self) -> u64 {
        self.recency += 1;
        self.recency
    }

    pub(super) fn free_slot(&mut self, owner: &Owner) {
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

    pub(super) fn remove(&mut self, id: &str) -> Option<Entry> {
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
    pub(super) fn make_room(&self, owner: &Owner, limits: &SessionLimits) -> Result<Option<SessionId>, Refusal> {
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
