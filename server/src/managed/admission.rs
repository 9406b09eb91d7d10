//! Managed MCP servers at `/mcp/{token}`: the token middleware that turns a URL token
//! into an [`Admission`] (account credential + filters), the audit writer, the clock, and
//! the sweeper that deletes expired servers and old audit records.
//!
//! Unknown, revoked (deleted) and expired tokens get one and the same 404, and each
//! takes the same path through the code: hash, one indexed lookup, a constant-time
//! compare and an expiry check, with no early return that would time differently.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use futures_util::future::BoxFuture;
use gumloop_mcp_runtime::ToolDescriptor;

use crate::managed::filter::McpServerConfig;
use crate::managed::secrets::TokenHash;
use crate::managed::store::{CallRecord, Store};
use crate::mcp::{Access, CallOutcome, Scope};
use crate::upstream::credential::Credential;

/// The time source (tests move it by hand).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Timestamp::now))
    }

    /// Any source.
    pub fn from_fn(f: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// An admitted request on a managed URL: the server it is for, as the store has it now.
/// [`authorize`] puts its [`crate::mcp::Scope`] in the request's extensions; the core
/// applies it through [`Access`], and the flow tools read it back from there.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The managed server's id (for the audit trail).
    pub server_id: String,
    /// Its filters.
    pub config: Arc<McpServerConfig>,
    /// The account's credential.
    pub credential: Arc<Credential>,
    /// Where calls are recorded.
    pub audit: AuditLog,
    /// The time audit records are stamped with.
    pub clock: Clock,
    /// The hash of the URL's token, so background work for this server (the flow-tools
    /// refresher) can check that the server still exists, unexpired, before acting for it.
    pub token: ScopeToken,
    /// With an OAuth access token: the grant it carries, whose filters narrow the
    /// server's and under whose id calls are audited.
    pub grant: Option<Arc<GrantScope>>,
}

/// What an OAuth grant adds to an admission.
#[derive(Clone, Debug)]
pub struct GrantScope {
    /// `grt_…`: the audit trail's owner for calls under it.
    pub id: String,
    /// Filters that must all allow a tool besides the server's: the grant's scope and
    /// tags.
    pub filters: Vec<McpServerConfig>,
    /// The user's current rules for the account (their own, and their groups' for an
    /// OIDC user), of which at least one must allow a tool; none allows nothing.
    pub rules: Vec<McpServerConfig>,
}

impl GrantScope {
    /// What `grant` allows `user` now: its scope and tags, and the user's current rules
    /// for its account (for an OIDC user, pass them with their groups' rules:
    /// [`crate::managed::store::oauth::with_group_rules`]); `None` when the user may no
    /// longer use the account, so an administrator's narrowing takes effect on the next
    /// request.
    pub fn of(grant: &crate::managed::store::oauth::Grant, user: &crate::managed::store::oauth::User) -> Option<Self> {
        let rules: Vec<McpServerConfig> = user
            .access
            .iter()
            .filter(|r| r.account_id == grant.account_id)
            .map(|r| McpServerConfig { methods: r.methods.clone(), tags: r.tags.clone(), ..McpServerConfig::default() })
            .collect();
        if rules.is_empty() {
            return None;
        }
        let granted = McpServerConfig { methods: grant.methods.clone(), tags: grant.tags.clone(), ..McpServerConfig::default() };
        Some(Self { id: grant.id.clone(), filters: vec![granted], rules })
    }
}

impl Admission {
    /// The scope the core serves the request with.
    pub fn into_scope(self) -> Scope {
        Scope { server_id: self.server_id.clone(), credential: self.credential.clone(), access: Arc::new(self) }
    }

    /// The admission behind a scope the managed side made.
    pub fn of(scope: &Scope) -> Option<&Admission> {
        scope.access.as_any().downcast_ref::<Admission>()
    }
}

impl Access for Admission {
    fn allows(&self, tool: &ToolDescriptor) -> bool {
        self.config.allows(tool) && self.grant.as_ref().is_none_or(|g| g.filters.iter().all(|f| f.allows(tool)) && g.rules.iter().any(|r| r.allows(tool)))
    }

    fn exposure(&self) -> crate::mcp::discovery::ToolExposure {
        self.config.tool_exposure
    }

    fn record<'a>(&'a self, server_id: &'a str, tool: &'a str, outcome: CallOutcome, started: Instant) -> BoxFuture<'a, ()> {
        let owner = self.grant.as_ref().map_or(server_id, |g| g.id.as_str());
        Box::pin(self.audit.record(owner, tool, outcome, started, self.clock.now()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn confirm_destructive(&self) -> bool {
        self.config.confirm_destructive
    }
}

/// A server token's hash inside a [`Scope`] (its `Debug` prints nothing of it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ScopeToken(pub TokenHash);

impl std::fmt::Debug for ScopeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScopeToken")
    }
}

/// Shared state of the managed endpoints and the admin API.
#[derive(Clone)]
pub struct Managed {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The time source.
    pub clock: Clock,
    /// `<public base URL>`, without a trailing slash; server URLs are `<it>/mcp/<token>`.
    pub public_url: String,
    /// The audit writer.
    pub audit: AuditLog,
    /// How long a server's flow tools are trusted before its flows are listed again.
    pub flow_tools_ttl: Duration,
    /// Where changes to servers are announced to every replica.
    pub changes: Arc<dyn crate::managed::changes::ChangeBus>,
    /// Where legacy sessions are kept for other replicas (`None`: each process its own).
    pub sessions: Option<Arc<dyn crate::http::sessions::SessionRows>>,
}

/// The one answer for a token that opens nothing: unknown, revoked or expired.
fn not_found() -> Response {
    let body = json!({"error": {"code": "not_found", "message": "no MCP server at this URL (unknown, revoked or expired token)"}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// 401 for a managed server that requires an API token.
pub fn unauthorized(message: &str) -> Response {
    let body = json!({"error": {"code": "unauthorized", "message": message}});
    let mut resp = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"gumloop-mcp\""));
    resp
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Whether `token` (a bearer value, if any) is a live API token.
pub async fn live_api_token(store: &dyn Store, token: Option<&str>) -> crate::managed::store::Result<bool> {
    match token {
        Some(t) => store.verify_api_token(&TokenHash::of(t)).await,
        None => Ok(false),
    }
}

/// Query parameter names that say "credential". Tokens belong in the path (server tokens)
/// or the `Authorization` header (API tokens), never in a query string, where proxies and
/// logs keep them.
const CREDENTIAL_PARAMS: [&str; 14] = [
    "token",
    "access_token",
    "api_token",
    "api_key",
    "apikey",
    "key",
    "auth",
    "authorization",
    "bearer",
    "secret",
    "password",
    "id_token",
    "refresh_token",
    "session_token",
];

/// Prefixes of this server's tokens (`secrets`): a value carrying one is a credential
/// whatever its parameter is called. Server URLs, API tokens, OAuth client secrets,
/// OAuth access tokens and OAuth refresh tokens.
const TOKEN_PREFIXES: [&str; 5] = ["gmcp_", "gmat_", "gmcs_", "gmoa_", "gmor_"];

/// Refuses a request whose query string carries a credential: a parameter named like one
/// (`token`, `apikey`, `token[]`, `%74oken`, …), or any name or value that holds one of
/// our tokens or a bearer, however it is percent-encoded.
pub fn query_credential(query: Option<&str>) -> Option<Response> {
    let named = query?.split('&').find_map(credential_in)?;
    let body = json!({"error": {"code": "token_in_query", "message": format!(
        "credentials are not accepted in the query string (`{}`): an MCP server token goes in the path, /mcp/<token>, and an API token in `Authorization: Bearer`",
        crate::text::clip(&named, 40)
    )}});
    Some((StatusCode::BAD_REQUEST, axum::Json(body)).into_response())
}

/// The (decoded) name of a `name=value` pair that carries a credential.
fn credential_in(pair: &str) -> Option<String> {
    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
    let (name, value) = (decoded(name), decoded(value));
    let base = name.split('[').next().unwrap_or_default().trim().to_ascii_lowercase().replace('-', "_");
    let holds_token = |s: &str| {
        let s = s.to_ascii_lowercase();
        TOKEN_PREFIXES.iter().any(|p| s.contains(p)) || s.trim_start().starts_with("bearer ")
    };
    (CREDENTIAL_PARAMS.contains(&base.as_str()) || holds_token(&name) || holds_token(&value)).then(|| if name.is_empty() { "?".into() } else { name })
}

/// Percent-decoded (`+` as space) until it stops changing, at most a few rounds, so a
/// double-encoded `%2574oken` reads as `token` too.
fn decoded(s: &str) -> String {
    let mut current = s.replace('+', " ");
    for _ in 0..4 {
        let next = percent_encoding::percent_decode_str(&current).decode_utf8_lossy().into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// Why a managed URL request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, revoked or expired token: one answer for all three.
    NotFound,
    /// The server requires an API token and the request has no live one.
    Unauthorized,
    /// The store failed.
    Store,
    /// The database cannot be reached; the request may succeed shortly.
    Unavailable,
}

impl Refusal {
    /// The metrics label: a fixed word (nothing of the request).
    pub const fn reason(self) -> &'static str {
        match self {
            Refusal::NotFound => "not_found",
            Refusal::Unauthorized => "unauthorized",
            Refusal::Store => "store",
            Refusal::Unavailable => "unavailable",
        }
    }

    fn into_response(self) -> Response {
        match self {
            Refusal::NotFound => not_found(),
            Refusal::Unauthorized => unauthorized("this MCP server requires `Authorization: Bearer <API token>` with a valid, unrevoked API token"),
            Refusal::Store => {
                let body = json!({"error": {"code": "internal", "message": "the server's store failed; see its log"}});
                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
            }
            Refusal::Unavailable => {
                let body = json!({"error": {"code": "unavailable", "message": "the server's database cannot be reached; retry shortly"}});
                let mut resp = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                resp
            }
        }
    }
}

/// Decides a request on a managed URL: resolves the token, enforces expiry and
/// `require_api_token_auth`, and returns the scope to serve it with.
pub async fn admit(m: &Managed, token: &str, api_token: Option<&str>) -> Result<Admission, Refusal> {
    let hash = TokenHash::of(token);
    let now = m.clock.now();
    let resolved = m.store.resolve_token(&hash).await.map_err(|e| {
        tracing::error!("resolving an MCP token failed: {e}");
        match e {
            crate::managed::store::StoreError::Unavailable(_) => Refusal::Unavailable,
            _ => Refusal::Store,
        }
    })?;
    // Expired servers are refused at once, before any sweep deletes them.
    let resolved = resolved.filter(|r| !r.server.expired(now)).ok_or(Refusal::NotFound)?;
    if resolved.server.config.require_api_token_auth && !live_api_token(m.store.as_ref(), api_token).await.unwrap_or(false) {
        return Err(Refusal::Unauthorized);
    }
    Ok(Admission {
        server_id: resolved.server.id,
        config: Arc::new(resolved.server.config),
        credential: Arc::new(resolved.credential),
        audit: m.audit.clone(),
        clock: m.clock.clone(),
        token: ScopeToken(hash),
        grant: None,
    })
}

/// Middleware for `/mcp/{token}`: [`admit`]s the request and attaches its [`Scope`]
/// (credentials in a query string were refused in front of every route).
pub async fn authorize(State(m): State<Managed>, mut req: Request, next: Next) -> Response {
    let token = req.uri().path().strip_prefix("/mcp/").unwrap_or_default().trim_end_matches('/');
    match admit(&m, token, bearer(req.headers())).await {
        Ok(admission) => {
            req.extensions_mut().insert(admission.into_scope());
            next.run(req).await
        }
        Err(refusal) => {
            crate::telemetry::metrics::admission_refused(refusal.reason());
            refusal.into_response()
        }
    }
}

/// Middleware inside [`authorize`] on `/mcp/{token}`: a server that signs in with OAuth
/// only (its config's `auth`, else the server-wide `global`) is not opened by its secret
/// URL. The holder of the URL is told where to sign in instead.
pub async fn url_token_allowed(State(global): State<crate::managed::filter::AuthMode>, req: Request, next: Next) -> Response {
    let admission = req.extensions().get::<Scope>().and_then(Admission::of);
    match admission {
        Some(a) if !a.config.auth.unwrap_or(global).url_token() => {
            crate::telemetry::metrics::admission_refused("oauth_only");
            let body = json!({"error": {"code": "oauth_required", "message": format!(
                "this MCP server signs in with OAuth; connect to /mcp/servers/{} instead of its secret URL", a.server_id
            )}});
            (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
        }
        _ => next.run(req).await,
    }
}

type Pending = (CallRecord, oneshot::Sender<()>);

/// Writes audit records with group commit: one task takes every record waiting, writes
/// them in one transaction and then acknowledges each. A call awaits its acknowledgement
/// before answering, so a call a client saw is in the store.
#[derive(Clone, Debug)]
pub struct AuditLog {
    tx: mpsc::UnboundedSender<Pending>,
}

impl AuditLog {
    /// Starts the writer task over `store` (on the current runtime). It ends when every
    /// handle is dropped.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Pending>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let records: Vec<CallRecord> = batch.iter().map(|(r, _)| r.clone()).collect();
                if let Err(e) = store.record_calls(&records).await {
                    tracing::error!(records = records.len(), "writing audit records failed: {e}");
                }
                for (_, ack) in batch {
                    let _ = ack.send(());
                }
            }
        });
        Self { tx }
    }

    /// Records one call and waits until it is written.
    pub async fn record(&self, server_id: &str, tool: &str, outcome: CallOutcome, started: Instant, at: Timestamp) {
        let record = CallRecord { at, mcp_server_id: server_id.to_owned(), tool: tool.to_owned(), outcome, latency_ms: started.elapsed().as_secs_f64() * 1e3 };
        let (ack, done) = oneshot::channel();
        if self.tx.send((record, ack)).is_ok() {
            let _ = done.await;
        }
    }
}

/// Deletes expired servers and audit records older than `retention`, once now and then
/// every `interval` until `stop` fires.
pub async fn sweep(store: Arc<dyn Store>, clock: Clock, retention: Duration, interval: Duration, stop: CancellationToken) {
    loop {
        sweep_once(store.as_ref(), &clock, retention).await;
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// One sweep; returns (expired servers deleted, audit records pruned).
pub async fn sweep_once(store: &dyn Store, clock: &Clock, retention: Duration) -> (usize, usize) {
    let now = clock.now();
    let servers = store.sweep_expired(now).await.unwrap_or_else(|e| {
        tracing::error!("sweeping expired MCP servers failed: {e}");
        0
    });
    let oauth = store.sweep_oauth(now).await.unwrap_or_else(|e| {
        tracing::error!("sweeping expired sign-in records failed: {e}");
        0
    });
    if oauth > 0 {
        tracing::debug!(oauth_records = oauth, "sweep");
    }
    let cutoff = now - jiff::SignedDuration::try_from(retention).unwrap_or(jiff::SignedDuration::MAX);
    let calls = store.prune_calls(cutoff).await.unwrap_or_else(|e| {
        tracing::error!("pruning audit records failed: {e}");
        0
    });
    if servers > 0 || calls > 0 {
        tracing::info!(expired_servers = servers, pruned_calls = calls, "sweep");
    }
    (servers, calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_query_string_are_refused() {
        assert!(query_credential(Some("token=abc")).is_some());
        assert!(query_credential(Some("a=1&Access_Token=x")).is_some());
        assert!(query_credential(Some("cursor=abc")).is_none());
        assert!(query_credential(None).is_none());
    }

    #[test]
    fn credentials_in_a_query_are_found_by_name_or_by_shape() {
        let refused = |q: &str| query_credential(Some(q)).is_some();
        for q in [
            "token=abc",
            "apikey=abc",
            "auth=abc",
            "%74oken=abc",
            "%2574oken=abc",
            "token[]=abc",
            "Api-Key=abc",
            "x=1&access_token=abc",
            "gmcp_AbC",
            "whatever=gmcp_AbC",
            "whatever=%67mcp_AbC",
            "q=gmat_x",
            "h=Bearer%20abc",
            "h=bearer+abc",
            "%67mat_x=",
            "client_secret=gmcs_AbC",
            "x=gmoa_AbC",
            "%67mor_AbC",
            "state=GMOR_upper",
        ] {
            assert!(refused(q), "{q}");
        }
        for q in ["limit=10&cursor=MTA", "page=2", "tokens_used=5", "q=bearer", "id=mcp_0123abcd", "keyword=x", "client_id=gmcl_0123abcd", "user=usr_0123abcd"]
        {
            assert!(!refused(q), "{q}");
        }
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  gmat_x "));
        assert_eq!(bearer(&h), Some("gmat_x"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
