//! Streamable HTTP: both protocol eras on `/mcp`, DNS-rebinding protection, `ratelimit-*`
//! response headers, graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::handler::GumloopServer;
use crate::ratelimit::RateLimitSlot;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Extra `Host` values to accept (deployments behind a proxy).
    pub allowed_hosts: Vec<String>,
    /// Extra `Origin` values to accept (browser clients).
    pub allowed_origins: Vec<String>,
    /// How long in-flight calls may run after a shutdown signal.
    pub shutdown_grace: Duration,
}

/// The axum app: `/mcp` serves the single configured account. Scoped per-token
/// endpoints (`/mcp/{token}`) will mount beside it.
pub fn router(server: GumloopServer, config: &HttpConfig, port: u16, ct: CancellationToken) -> axum::Router {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].iter().map(|s| s.to_string()).collect();
    for h in ["localhost", "127.0.0.1", "[::1]"] {
        hosts.push(format!("{h}:{port}"));
    }
    hosts.extend(config.allowed_hosts.iter().cloned());
    let mut origins: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].iter().flat_map(|h| [format!("http://{h}"), format!("http://{h}:{port}")]).collect();
    origins.extend(config.allowed_origins.iter().cloned());
    let cfg = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        // JSON answers for stateless requests, so a single call's response can carry ratelimit-* headers.
        .with_json_response(true)
        .with_cancellation_token(ct.child_token());
    let service = StreamableHttpService::new(move || Ok(server.clone()), Arc::new(LocalSessionManager::default()), cfg);
    axum::Router::new().nest_service("/mcp", service).layer(axum::middleware::from_fn(rate_limit_headers))
}

/// Gives each request a slot the tool handler fills on an upstream 429, then copies it
/// into `ratelimit-*` headers. Headers can only be added when the response is produced
/// after the call finished (a JSON response); SSE responses carry the same fields in
/// the tool result's `rate_limit`.
async fn rate_limit_headers(mut req: Request, next: Next) -> Response {
    let slot = RateLimitSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut resp = next.run(req).await;
    if let Some(rl) = slot.get() {
        let h = resp.headers_mut();
        for (name, v) in [("ratelimit-limit", rl.limit), ("ratelimit-remaining", rl.remaining), ("ratelimit-reset", rl.reset)] {
            if let Some(v) = v {
                h.insert(name, v.into());
            }
        }
    }
    resp
}

/// Serves until `shutdown` fires, then lets in-flight requests finish for up to the grace period.
pub async fn serve(server: GumloopServer, listener: TcpListener, config: HttpConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let port = listener.local_addr()?.port();
    let sessions = CancellationToken::new();
    let app = router(server, &config, port, sessions.clone());
    let graceful = shutdown.clone();
    let serving = std::future::IntoFuture::into_future(axum::serve(listener, app).with_graceful_shutdown(async move { graceful.cancelled().await }));
    tokio::pin!(serving);
    tokio::select! {
        r = &mut serving => r?,
        _ = async { shutdown.cancelled().await; tokio::time::sleep(config.shutdown_grace).await } => {
            tracing::warn!("in-flight requests did not finish within {:?}; stopping", config.shutdown_grace);
        }
    }
    sessions.cancel();
    Ok(())
}
