//! rmcp's session manager, bounded: `create_session` admits through the registry, learning
//! the owner from the [`Admission`] the middleware runs the initialize in.

use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::RestoreOutcome;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{ServerSseMessage, SessionId};

use super::registry::{ActivityGuard, Closing, SessionRegistry};
use super::{Owner, Refusal};

tokio::task_local! {
    /// Set by the middleware around a legacy `initialize`: `create_session` runs inside
    /// that request's future, so this is how it learns the owner and reports back.
    pub(super) static ADMISSION: Arc<Admission>;
}

/// One legacy `initialize` on its way through rmcp.
pub struct Admission {
    pub(super) owner: Owner,
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
    pub(super) registry: Arc<SessionRegistry>,
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
