//! The auth layer, as Gumloop checks a key: `Authorization: Bearer <key>`, then either
//! `x-auth-key` equal to the key's user id or (when configured) a matching `team_id`
//! query parameter. `/signed/` URLs carry their own signature and need no credentials.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::{is_fake_own, query_pairs};
use crate::envelope::error_for;
use crate::state::Inner;

pub async fn check(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if is_fake_own(req.uri()) || path.starts_with("/signed/") {
        return next.run(req).await;
    }
    let cfg = &inner.config;
    let bearer = header(req.headers(), "authorization");
    if bearer.as_deref().and_then(|a| a.strip_prefix("Bearer ")) != Some(cfg.api_key.as_str()) {
        return error_for(path, 401, "unauthorized", "missing or invalid API key (send Authorization: Bearer <key>)");
    }
    let team_ok = cfg.team_id.as_deref().is_some_and(|t| query_pairs(req.uri()).iter().any(|(k, v)| k == "team_id" && v == t));
    match header(req.headers(), "x-auth-key") {
        Some(u) if u != cfg.user_id => error_for(path, 403, "forbidden", "x-auth-key does not match the API key's user"),
        None if !team_ok => error_for(path, 401, "unauthorized", "personal API keys need the x-auth-key header with your user id"),
        _ => next.run(req).await,
    }
}

/// A header as the recorder sees it: the last value when sent more than once, decoded
/// lossily, so auth judges exactly what was recorded.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(name).iter().next_back().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}
