//! Managed servers as the owners of MCP tasks: a replica that adopts a task created
//! through `/mcp/{token}` resolves its server again from the store, so the resumed wait
//! polls with that account's credential and is audited in that server's trail.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::managed::{Admission, Managed, ScopeToken};
use crate::mcp::Scope;
use crate::mcp::tasks::Owners;

impl Owners for Managed {
    fn scope<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<Option<Scope>, String>> {
        Box::pin(async move {
            let Some((resolved, hash)) = self.store.resolve_server(owner).await.map_err(|e| e.to_string())? else { return Ok(None) };
            // An expired server acts for nobody, as at admission.
            if resolved.server.expired(self.clock.now()) {
                return Ok(None);
            }
            let admission = Admission {
                server_id: resolved.server.id,
                config: Arc::new(resolved.server.config),
                credential: Arc::new(resolved.credential),
                audit: self.audit.clone(),
                clock: self.clock.clone(),
                token: ScopeToken(hash),
                grant: None,
            };
            Ok(Some(admission.into_scope()))
        })
    }
}
