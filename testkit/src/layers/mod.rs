//! The three layers every request passes before its route, in this order: `record`
//! (every request, before any check, so tests see exactly what was sent), `faults` (a
//! queued fault may answer instead of the route, whatever the credentials), `auth` (the
//! bearer key, then `x-auth-key` or a team id). The fake's own `/__fake/` endpoints skip
//! all three.

mod auth;
mod faults;
mod record;

use std::sync::Arc;

use axum::Router;
use axum::http::Uri;
use axum::middleware::from_fn_with_state;

pub use record::MAX_BODY_BYTES;

use crate::state::Inner;

/// Wraps `router` in the layers. Axum runs the layer added last first, so they are added
/// innermost first: auth, then faults, then record (`tests/layers.rs` checks the order).
pub fn around(router: Router<Arc<Inner>>, inner: Arc<Inner>) -> Router<Arc<Inner>> {
    router
        .layer(from_fn_with_state(inner.clone(), auth::check))
        .layer(from_fn_with_state(inner.clone(), faults::apply))
        .layer(from_fn_with_state(inner, record::record))
}

/// The fake's own endpoints, which no layer touches.
fn is_fake_own(uri: &Uri) -> bool {
    uri.path().starts_with("/__fake/")
}

/// Decoded query pairs, in order; none at all when the query does not parse. Recording
/// and auth read the query the same way.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query().map(|q| serde_urlencoded::from_str(q).unwrap_or_default()).unwrap_or_default()
}
