//! Managed servers as the owners of MCP tasks: a replica that adopts a task created
//! through `/mcp/{token}` resolves its server again from the store, so the resumed wait
//! polls with that account's credential and is audited in that server's trail.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::managed::filter::McpServerConfig;
use crate::managed::{Admission, GrantScope, Managed, ScopeToken};
use crate::mcp::Scope;
use crate::mcp::tasks::Owners;

impl Owners for Managed {
    fn scope<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<Option<Scope>, String>> {
        Box::pin(async move {
            if owner.starts_with("grt_") {
                return self.grant_scope(owner).await.map_err(|e| e.to_string());
            }
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

impl Managed {
    /// The scope of a task started on `/mcp` under an OAuth grant: the grant must still be
    /// live, its user enabled and allowed its account, as at admission.
    async fn grant_scope(&self, id: &str) -> crate::managed::store::Result<Option<Scope>> {
        let grant = match self.store.get_grant(id).await {
            Ok(g) if g.revoked_at.is_none() && g.server_id.is_none() => g,
            Ok(_) | Err(crate::managed::store::StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let user = crate::managed::store::oauth::with_group_rules(self.store.as_ref(), self.store.get_user(&grant.user_id).await?).await?;
        let Some(scope) = GrantScope::of(&grant, &user).filter(|_| !user.disabled) else { return Ok(None) };
        let Some(credential) = self.store.account_credential(&grant.account_id).await? else { return Ok(None) };
        let admission = Admission {
            server_id: grant.id.clone(),
            config: Arc::new(McpServerConfig::default()),
            credential: Arc::new(credential),
            audit: self.audit.clone(),
            clock: self.clock.clone(),
            token: ScopeToken(crate::managed::secrets::TokenHash([0; 32])),
            grant: Some(Arc::new(scope)),
        };
        Ok(Some(admission.into_scope()))
    }
}
