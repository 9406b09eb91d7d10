//! What an orchestrator and a scraper ask of the process: `/livez` (it serves), `/readyz`
//! (it should be sent traffic) and `/metrics` (Prometheus text, on the main listener or
//! on one of its own). None of them reads a request's credentials or shows a secret.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::future::BoxFuture;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::telemetry::metrics;

/// A readiness check: `Err` says, in a few words, why the server should not get traffic.
/// The words are shown to anyone who can reach `/readyz`, so they name a dependency,
/// never a detail of it (log those).
pub type ReadinessCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// What `/readyz` checks besides shutdown (cheap: a probe runs every few seconds).
#[derive(Clone)]
pub struct Readiness(ReadinessCheck);

impl Readiness {
    /// Ready whenever `check` passes.
    pub fn new(check: impl Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync + 'static) -> Self {
        Self(Arc::new(check))
    }

    /// Ready until shutdown (no dependency to check).
    pub fn always() -> Self {
        Self::new(|| Box::pin(async { Ok(()) }))
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self::always()
    }
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Readiness")
    }
}

/// Where `/metrics` is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricsAt {
    /// On the main listener, beside `/mcp`.
    #[default]
    Main,
    /// On a listener of its own ([`serve_metrics`]); the main one answers 404.
    Separate,
}

/// The probes' settings.
#[derive(Debug, Clone, Default)]
pub struct Probes {
    /// What `/readyz` checks.
    pub readiness: Readiness,
    /// Where `/metrics` is.
    pub metrics: MetricsAt,
}

/// How long `/readyz` waits for its check: a hung dependency is "not ready", not a hung probe.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct ProbeState {
    readiness: Readiness,
    shutdown: CancellationToken,
}

/// The probe routes of the main listener: `/readyz` answers 503 from the moment `shutdown`
/// fires, while calls in flight drain.
pub fn routes(probes: &Probes, shutdown: CancellationToken) -> Router {
    let state = ProbeState { readiness: probes.readiness.clone(), shutdown };
    let mut app = Router::new().route("/livez", get(livez)).route("/readyz", get(readyz)).with_state(state);
    if probes.metrics == MetricsAt::Main {
        app = app.merge(metrics_routes());
    }
    app
}

fn metrics_routes() -> Router {
    Router::new().route("/metrics", get(render))
}

/// Serves `/metrics` alone on `listener` until `stop` fires.
pub async fn serve_metrics(listener: TcpListener, stop: CancellationToken) -> anyhow::Result<()> {
    let app = metrics_routes().fallback(crate::managed::admin::not_found).layer(axum::middleware::from_fn(super::refuse_query_credentials));
    axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await?;
    Ok(())
}

async fn render() -> Response {
    let handle = metrics::handle();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

async fn livez() -> Response {
    axum::Json(json!({"status": "live"})).into_response()
}

async fn readyz(State(s): State<ProbeState>) -> Response {
    let not_ready = |reason: &str| (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"status": "not_ready", "reason": reason}))).into_response();
    if s.shutdown.is_cancelled() {
        return not_ready("shutting down");
    }
    match tokio::time::timeout(CHECK_TIMEOUT, (s.readiness.0)()).await {
        Ok(Ok(())) if !s.shutdown.is_cancelled() => axum::Json(json!({"status": "ready"})).into_response(),
        Ok(Ok(())) => not_ready("shutting down"),
        Ok(Err(reason)) => not_ready(&reason),
        Err(_) => not_ready("the readiness check did not answer within 2 s"),
    }
}
