//! The faults layer: takes the first queued fault whose path matches and applies it. Every
//! kind but a delay answers in place of the route (before auth, so a bad key still gets
//! the fault); a delay sleeps, then lets the request go on.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::is_fake_own;
use crate::envelope::error_for;
use crate::faults::{FaultKind, RateLimitStyle};
use crate::state::Inner;

pub async fn apply(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    if is_fake_own(req.uri()) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let Some(fault) = inner.take_fault(&path) else { return next.run(req).await };
    match fault.kind {
        FaultKind::RateLimited { limit, remaining, reset_secs, retry_after, style } => rate_limited(&path, limit, remaining, reset_secs, retry_after, style),
        FaultKind::Status(code) => error_for(&path, code, "fault", "injected upstream failure"),
        FaultKind::Delay(d) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        FaultKind::InvalidJson => ([("content-type", "application/json")], "{\"not json").into_response(),
        FaultKind::Hang => std::future::pending().await,
        FaultKind::HugeBody { bytes, declared } => huge_body(bytes, declared),
        FaultKind::Redirect { status, location } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            (status, [("location", location)]).into_response()
        }
    }
}

/// A 429 in the envelope of `path`, with the headers of `style`.
fn rate_limited(path: &str, limit: u64, remaining: u64, reset_secs: u64, retry_after: Option<u64>, style: RateLimitStyle) -> Response {
    let mut resp = error_for(path, 429, "rate_limited", "too many concurrent agent interactions for this plan");
    let h = resp.headers_mut();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let mut set = |k: &'static str, v: u64| {
        h.insert(k, HeaderValue::from(v));
    };
    match style {
        RateLimitStyle::Ietf => {
            set("ratelimit-limit", limit);
            set("ratelimit-remaining", remaining);
            set("ratelimit-reset", reset_secs);
        }
        RateLimitStyle::XRateLimit => {
            set("x-ratelimit-limit", limit);
            set("x-ratelimit-remaining", remaining);
            set("x-ratelimit-reset", now + reset_secs);
        }
        RateLimitStyle::RetryAfterOnly => {}
    }
    if let Some(s) = retry_after {
        set("retry-after", s);
    }
    resp
}

/// `{"items":["xxxx…"]}` of `bytes` bytes in 64 KiB chunks, built as it is sent.
fn huge_body(bytes: usize, declared: bool) -> Response {
    const CHUNK: usize = 64 * 1024;
    let (head, tail) = (&b"{\"items\":[\""[..], &b"\"]}"[..]);
    let filler = bytes.saturating_sub(head.len() + tail.len());
    let chunks = std::iter::once(Bytes::from_static(head))
        .chain((0..filler.div_ceil(CHUNK)).map(move |i| Bytes::from(vec![b'x'; CHUNK.min(filler - i * CHUNK)])))
        .chain(std::iter::once(Bytes::from_static(tail)))
        .map(Ok::<_, std::convert::Infallible>);
    let mut resp = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
    resp.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    if declared {
        resp.headers_mut().insert("content-length", HeaderValue::from(head.len() + filler + tail.len()));
    }
    resp
}
