//! Streamable HTTP: both protocol eras on `/mcp`, DNS-rebinding protection, `ratelimit-*`
//! response headers, graceful shutdown; bodies screened ([`crate::http::screen`]) and legacy
//! sessions bounded ([`crate::http::sessions`]) in front of rmcp; the probes and
//! `/metrics` beside them ([`crate::http::probes`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt as _;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub mod envelope;
pub mod probes;
pub mod screen;
pub mod sessions;

use crate::managed::admin::Admin;
use crate::mcp::handler::GumloopServer;
use crate::upstream::ratelimit::RateLimitSlot;
use probes::Probes;
use screen::{MAX_REQUEST_BYTES, screen};
use sessions::{BoundedSessions, SessionLimits, SessionRegistry, SharedSessions};

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `Host` values to accept besides loopback and the bound address (deployments
    /// behind a proxy). `host` accepts any port, `host:port` only that port.
    pub allowed_hosts: Vec<String>,
    /// `Origin` values to accept besides loopback origins (browser clients), e.g.
    /// `https://app.example.com` or `http://example.com:*`.
    pub allowed_origins: Vec<String>,
    /// How long in-flight requests may run after the shutdown signal.
    pub shutdown_grace: Duration,
    /// Bounds on legacy sessions.
    pub sessions: SessionLimits,
    /// `/readyz`'s check and where `/metrics` is served.
    pub probes: Probes,
    /// Sign-in with OAuth: the authorization server's routes and the bearer check on
    /// `/mcp` (when its mode says so) and `/mcp/servers/{id}` (managed servers only).
    pub oauth: Option<Arc<crate::oauth::OAuth>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            shutdown_grace: Duration::from_secs(10),
            sessions: SessionLimits::default(),
            probes: Probes::default(),
            oauth: None,
        }
    }
}

/// How long connections get to close once sessions have ended.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Counts POST exchanges whose response has not been fully produced, so shutdown can
/// wait for calls in flight without waiting for long-lived legacy GET streams.
#[derive(Debug, Clone)]
pub struct InFlight(Arc<watch::Sender<usize>>);

impl Default for InFlight {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl InFlight {
    fn enter(&self) -> InFlightGuard {
        self.0.send_modify(|n| *n += 1);
        InFlightGuard(self.0.clone())
    }

    /// Exchanges in progress.
    pub fn count(&self) -> usize {
        *self.0.borrow()
    }

    /// Resolves when no exchange is in progress.
    pub async fn idle(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so this can only end by the count reaching zero.
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

struct InFlightGuard(Arc<watch::Sender<usize>>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// Hosts rmcp accepts: loopback, the bound address, and the configured ones. A
/// wildcard bind (`0.0.0.0`) adds nothing: name the public host with `--allowed-host`.
fn allowed_hosts(config: &HttpConfig, addr: SocketAddr) -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    if !addr.ip().is_unspecified() && !addr.ip().is_loopback() {
        hosts.push(addr.ip().to_string());
    }
    hosts.extend(config.allowed_hosts.iter().cloned());
    hosts
}

/// Origins rmcp accepts: loopback pages on any port (local tools such as the MCP
/// Inspector), the bound address, and the configured ones. Requests without `Origin`
/// (every non-browser client) are not affected.
fn allowed_origins(config: &HttpConfig, addr: SocketAddr) -> Vec<String> {
    let mut origins: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].iter().map(|h| format!("http://{h}:*")).collect();
    if !addr.ip().is_unspecified() && !addr.ip().is_loopback() {
        origins.push(format!("http://{addr}"));
    }
    origins.extend(config.allowed_origins.iter().cloned());
    origins
}

/// The rmcp service for one account: legacy sessions for 2025-11-25 clients (counted in
/// `registry`), stateless 2026-07-28 requests (including `server/discover`) on the same
/// endpoint.
fn mcp_service(
    server: GumloopServer,
    config: &HttpConfig,
    addr: SocketAddr,
    sessions: &CancellationToken,
    registry: &Arc<SessionRegistry>,
) -> StreamableHttpService<GumloopServer, BoundedSessions> {
    let mut cfg = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(true)
        .with_allowed_hosts(allowed_hosts(config, addr))
        .with_allowed_origins(allowed_origins(config, addr))
        .enforce_origin_validation()
        // JSON answers for stateless requests, so a single call's response can carry ratelimit-* headers.
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_REQUEST_BYTES)
        .with_cancellation_token(sessions.child_token());
    cfg.session_store = registry.rows().map(|rows| Arc::new(SharedSessions(rows.clone())) as _);
    StreamableHttpService::new(move || Ok(server.clone()), Arc::new(BoundedSessions::new(registry.clone())), cfg)
}

/// The axum app. `/mcp` serves the configured account. With `managed`, `/mcp/{token}`
/// serves managed servers (a separate rmcp service and session manager, so sessions
/// never cross between the two, though both count in `registry`) and the admin API is
/// mounted beside them. Exact routes, so none shadows another; all share the exchange
/// middleware, the MCP routes the [`screen`] (inside the token check, so an unknown token
/// learns nothing). `sessions` ends every session and SSE stream when cancelled;
/// `in_flight` counts exchanges for shutdown.
pub fn router(
    server: GumloopServer,
    config: &HttpConfig,
    addr: SocketAddr,
    sessions: &CancellationToken,
    registry: &Arc<SessionRegistry>,
    in_flight: InFlight,
    managed: Option<Admin>,
) -> axum::Router {
    let screened = || axum::middleware::from_fn_with_state(registry.clone(), screen);
    let mut app = axum::Router::new().route_service("/mcp", mcp_service(server.clone(), config, addr, sessions, registry)).route_layer(screened());
    let oauth = config.oauth.clone().filter(|_| managed.is_some());
    let global_mode = oauth.as_ref().map(|o| o.config.mode).unwrap_or_default();
    if let Some(o) = oauth.as_ref().filter(|o| o.config.mode.oauth()) {
        // Signed in, `/mcp` acts as the grant's account, not the configured one.
        app = app.route_layer(axum::middleware::from_fn_with_state(o.clone(), crate::oauth::resource::require_mcp));
    }
    if let Some(admin) = managed {
        let m = &admin.managed;
        let flow_tools = crate::managed::flow_tools::FlowTools::new(m.flow_tools_ttl, m.store.clone(), m.clock.clone(), m.changes.clone());
        flow_tools.follow(server.clone());
        let flow_tools = Arc::new(flow_tools);
        let scoped = axum::Router::new()
            .route_service("/mcp/{token}", mcp_service(server.scoped(flow_tools.clone()), config, addr, sessions, registry))
            .route_layer(axum::middleware::from_fn_with_state(global_mode, crate::managed::url_token_allowed))
            .route_layer(screened())
            .route_layer(axum::middleware::from_fn_with_state(admin.managed.clone(), crate::managed::authorize));
        app = app.merge(scoped).merge(crate::managed::admin::router(admin));
        if let Some(o) = oauth {
            // Every server that signs in with OAuth, by its public id; the URL token never
            // appears in an OAuth exchange.
            let signed_in = axum::Router::new()
                .route_service("/mcp/servers/{id}", mcp_service(server.scoped(flow_tools), config, addr, sessions, registry))
                .route_layer(screened())
                .route_layer(axum::middleware::from_fn_with_state(o.clone(), crate::oauth::resource::require_server));
            app = app.merge(signed_in).merge(crate::oauth::routes(o));
        }
    }
    // Credentials never belong in a query string, on any route: one check in front of all.
    app.fallback(crate::managed::admin::not_found)
        .layer(axum::middleware::from_fn(refuse_query_credentials))
        .layer(axum::middleware::from_fn_with_state(in_flight, exchange))
}

async fn refuse_query_credentials(req: Request, next: Next) -> Response {
    match crate::managed::query_credential(req.uri().query()) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// Wraps each MCP exchange: gives it a [`RateLimitSlot`] the tool handler fills on an
/// upstream 429 (rmcp copies the request's `Parts`, extensions included, into the
/// handler's context), copies the slot into `ratelimit-*` headers, and counts POSTs in
/// flight.
///
/// A stateless request's JSON response is produced after the call, so its headers are
/// simply added. A legacy session's POST is answered with an SSE stream whose headers
/// rmcp produces before the call runs; for those the headers are held back until the
/// stream's first message (this server emits no notifications before a call's result),
/// so the same headers appear there too. Legacy GET streams are passed through untouched.
async fn exchange(State(in_flight): State<InFlight>, mut req: Request, next: Next) -> Response {
    let slot = RateLimitSlot::default();
    req.extensions_mut().insert(slot.clone());
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let guard = in_flight.enter();
    let mut resp = next.run(req).await;
    let sse = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !sse {
        set_rate_limit_headers(resp.headers_mut(), &slot);
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let mut stream = body.into_data_stream();
    let mut head = Vec::new();
    let mut seen = Vec::new();
    while let Some(chunk) = stream.next().await {
        let done = match &chunk {
            Ok(bytes) => {
                seen.extend_from_slice(bytes);
                carries_message(&seen)
            }
            Err(_) => true,
        };
        head.push(chunk);
        if done {
            break;
        }
    }
    set_rate_limit_headers(&mut parts.headers, &slot);
    // The guard lives as long as the body, so shutdown waits for the stream to finish.
    let body = futures_util::stream::iter(head).chain(stream).map(move |chunk| {
        let _held = &guard;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}

/// Whether an SSE prefix holds a message: a `data:` line with content (priming events
/// have empty data; keep-alives are comments).
fn carries_message(sse: &[u8]) -> bool {
    sse.split(|b| *b == b'\n').any(|line| line.strip_prefix(b"data:").is_some_and(|d| d.iter().any(|b| !b.is_ascii_whitespace())))
}

fn set_rate_limit_headers(headers: &mut HeaderMap, slot: &RateLimitSlot) {
    let Some(rl) = slot.get() else { return };
    for (name, v) in [("ratelimit-limit", rl.limit), ("ratelimit-remaining", rl.remaining), ("ratelimit-reset", rl.reset)] {
        if let Some(v) = v {
            headers.insert(name, v.into());
        }
    }
}

/// Serves until `shutdown` fires. Then `/readyz` answers 503 at once, exchanges in flight
/// get up to `config.shutdown_grace` to finish (connections are still accepted meanwhile),
/// and then it stops accepting, ends every session (closing legacy SSE streams) and
/// returns.
pub async fn serve(
    server: GumloopServer,
    listener: TcpListener,
    config: HttpConfig,
    managed: Option<Admin>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let sessions = CancellationToken::new();
    let _end_sessions = sessions.clone().drop_guard();
    let in_flight = InFlight::default();
    if addr.ip().is_unspecified() && config.allowed_hosts.is_empty() {
        tracing::warn!("listening on {addr} but only loopback Host headers are accepted; name public hosts with --allowed-host");
    }
    let registry = SessionRegistry::with_rows(config.sessions, managed.as_ref().and_then(|a| a.managed.sessions.clone()));
    tokio::spawn(registry.clone().sweep(sessions.child_token()));
    if let Some(rows) = registry.rows() {
        tokio::spawn(self::sessions::prune_rows(rows.clone(), sessions.child_token()));
    }
    // Installed before the first request, so no call goes uncounted.
    crate::telemetry::metrics::handle();
    tokio::spawn(crate::telemetry::metrics::upkeep(sessions.child_token()));
    // The probes are no MCP exchange (so outside its middleware), but still refuse query credentials.
    let probes = probes::routes(&config.probes, shutdown.clone()).layer(axum::middleware::from_fn(refuse_query_credentials));
    let app = router(server, &config, addr, &sessions, &registry, in_flight.clone(), managed).merge(probes);
    // Connections are still accepted while calls drain, so `/readyz` can answer 503 and a
    // load balancer move away; accepting stops once they have.
    let stop_accepting = CancellationToken::new();
    // The peer address bounds sign-in attempts per address.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let serving = std::future::IntoFuture::into_future(axum::serve(listener, app).with_graceful_shutdown(stop_accepting.clone().cancelled_owned()));
    tokio::pin!(serving);
    tokio::select! {
        r = &mut serving => return r.map_err(Into::into),
        () = shutdown.cancelled() => {}
    }
    let deadline = Instant::now() + config.shutdown_grace;
    if in_flight.count() > 0 {
        tracing::info!(in_flight = in_flight.count(), "waiting up to {:?} for calls in flight", config.shutdown_grace);
    }
    // `serving` is polled meanwhile: its accept loop lives in it.
    tokio::select! {
        r = &mut serving => return r.map_err(Into::into),
        drained = tokio::time::timeout_at(deadline, in_flight.idle()) => if drained.is_err() {
            tracing::warn!(in_flight = in_flight.count(), "calls still running after {:?}; stopping them", config.shutdown_grace);
        }
    }
    stop_accepting.cancel();
    sessions.cancel();
    if tokio::time::timeout(CLOSE_TIMEOUT, &mut serving).await.is_err() {
        tracing::warn!("connections still open after shutdown; closing them");
    }
    Ok(())
}

/// A server running on a background task (for tests and embedding).
pub struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The MCP endpoint, `http://<addr>/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Triggers shutdown (as SIGTERM does) and waits for [`serve`] to return.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts [`serve`] on a background task; dropping the handle starts shutdown.
pub fn spawn(server: GumloopServer, listener: TcpListener, config: HttpConfig) -> anyhow::Result<Running> {
    spawn_managed(server, listener, config, None)
}

/// [`spawn`] with managed servers and the admin API.
pub fn spawn_managed(server: GumloopServer, listener: TcpListener, config: HttpConfig, managed: Option<Admin>) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(server, listener, config, managed, shutdown.clone()));
    Ok(Running { addr, shutdown, task: Some(task) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_messages_are_told_from_priming_and_keep_alives() {
        assert!(!carries_message(b"id: 0\ndata:\n\n"));
        assert!(!carries_message(b":\n\n"));
        assert!(carries_message(b"id: 0\ndata:\n\ndata: {\"jsonrpc\":\"2.0\"}\n\n"));
        assert!(carries_message(b"data:{}"));
    }

    #[test]
    fn hosts_and_origins() {
        let cfg = HttpConfig { allowed_hosts: vec!["mcp.example.com".into()], ..HttpConfig::default() };
        let lan: SocketAddr = "10.0.0.5:8080".parse().unwrap();
        assert_eq!(allowed_hosts(&cfg, lan), ["localhost", "127.0.0.1", "::1", "10.0.0.5", "mcp.example.com"]);
        assert!(allowed_origins(&cfg, lan).contains(&"http://10.0.0.5:8080".to_owned()));
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(allowed_hosts(&HttpConfig::default(), any), ["localhost", "127.0.0.1", "::1"]);
    }
}
