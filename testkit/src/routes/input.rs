//! What handlers read from a request: the shared extractor types, the JSON body, a
//! non-empty string field, and the legacy endpoints' owner rule.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::Value;

use crate::envelope::legacy;
use crate::state::Inner;

pub type S = State<Arc<Inner>>;
pub type Q = Query<HashMap<String, String>>;

/// The body as JSON; anything else reads as `null`, so every field is missing.
pub fn json_body(bytes: &Bytes) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

/// A string field, when present and not empty.
pub fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Legacy endpoints need a user or workspace id.
pub fn owner(q: Option<&HashMap<String, String>>, body: Option<&Value>) -> Result<(), Response> {
    let has = |k: &str| q.is_some_and(|q| q.get(k).is_some_and(|v| !v.is_empty())) || body.is_some_and(|b| field(b, k).is_some());
    if has("user_id") || has("project_id") { Ok(()) } else { Err(legacy(400, "user_id or project_id is required")) }
}
