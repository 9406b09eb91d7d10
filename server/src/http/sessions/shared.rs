//! Legacy sessions that any replica can serve: rmcp's external [`SessionStore`] backed by
//! the database ([`SessionRows`]). The replica that opens a session saves its
//! `initialize` with its owner; a replica that does not hold a session asked for by id
//! loads it (only for the same owner, so a managed URL never restores another URL's
//! session) and rmcp replays the handshake to a fresh worker. Handler state, the GET
//! stream and pending server requests stay with the replica that had them.
//!
//! Rows live [`ROW_LIFETIME`] from the `initialize`, or until DELETE; the registry's
//! sweeper prunes older ones. A replica that closes its idle copy keeps the row: with
//! round robin the client is usually busy on another replica.

use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::streamable_http_server::session::{SessionState, SessionStore, SessionStoreError};
use serde_json::Value;

use super::ADMISSION;

/// How long after its `initialize` a session can still be restored on another replica
/// (a client then gets 404 and initializes again, one round trip).
pub const ROW_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Where sessions are kept for other replicas: implemented by the managed store.
#[async_trait::async_trait]
pub trait SessionRows: Send + Sync + 'static {
    /// Saves (or replaces) a session's `initialize` parameters and owner.
    async fn save_session(&self, id: &str, owner: Option<&str>, state: &Value) -> Result<(), String>;
    /// A session's owner and parameters, if it exists and is younger than `max_age`.
    async fn load_session(&self, id: &str, max_age: Duration) -> Result<Option<(Option<String>, Value)>, String>;
    /// Forgets a session (DELETE).
    async fn delete_session(&self, id: &str) -> Result<(), String>;
    /// Forgets sessions older than `max_age`; returns how many.
    async fn prune_sessions(&self, max_age: Duration) -> Result<usize, String>;
}

/// rmcp's session store over [`SessionRows`], with owners from the request in flight.
pub struct SharedSessions(pub Arc<dyn SessionRows>);

/// The owner of the request in flight (set by the screen around every session request).
fn owner() -> Option<Option<String>> {
    ADMISSION.try_with(|a| a.owner.as_deref().map(str::to_owned)).ok()
}

#[async_trait::async_trait]
impl SessionStore for SharedSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        // Outside a screened request nobody can say whose it is: not restored.
        let Some(owner) = owner() else { return Ok(None) };
        let Some((stored_owner, state)) = self.0.load_session(session_id, ROW_LIFETIME).await? else { return Ok(None) };
        if stored_owner != owner {
            return Ok(None);
        }
        Ok(Some(serde_json::from_value(state)?))
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let Some(owner) = owner() else { return Ok(()) };
        self.0.save_session(session_id, owner.as_deref(), &serde_json::to_value(state)?).await?;
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        // Only its owner ends it (rmcp calls this for any DELETE it is handed).
        let Some(owner) = owner() else { return Ok(()) };
        match self.0.load_session(session_id, ROW_LIFETIME).await? {
            Some((stored, _)) if stored == owner => Ok(self.0.delete_session(session_id).await?),
            _ => Ok(()),
        }
    }
}

/// Prunes rows older than [`ROW_LIFETIME`] now and every ten minutes until `stop` fires.
/// Every replica does it; the deletes are idempotent.
pub async fn prune_rows(rows: Arc<dyn SessionRows>, stop: tokio_util::sync::CancellationToken) {
    loop {
        match rows.prune_sessions(ROW_LIFETIME).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "pruned expired legacy-session rows"),
            Err(e) => tracing::warn!("pruning legacy-session rows failed: {e}"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
    }
}
