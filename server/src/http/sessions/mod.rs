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
//!
//! `table` holds the bookkeeping, `registry` the admission, activity and sweeping done
//! with it, and `manager` the rmcp `SessionManager` that admits through it.

mod manager;
mod registry;
mod shared;
mod table;

use std::sync::Arc;
use std::time::Duration;

pub use manager::{Admission, BoundedSessions, SessionError};
pub use registry::{ActivityGuard, SessionRegistry};
pub use shared::{ROW_LIFETIME, SessionRows, SharedSessions, prune_rows};

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

#[cfg(test)]
mod tests;
