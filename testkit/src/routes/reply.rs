//! JSON answers: plain, with a status, one page of a cursor-paginated list, or the
//! fallback for a path no route serves.

use std::collections::HashMap;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::envelope::{error_for, v1};

pub fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

pub fn with_status(status: u16, v: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(v)).into_response()
}

/// Cursor pagination over `items`: `page_size` 1–100 (default 20), opaque `cursor`.
pub fn page(items: Vec<Value>, q: &HashMap<String, String>, key: &str) -> Response {
    let size = match q.get("page_size").map(|s| s.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return v1(400, "invalid_page_size", "page_size must be between 1 and 100"),
    };
    let start = match q.get("cursor") {
        None => 0,
        Some(c) => match c.strip_prefix("cur_").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= items.len() => n,
            _ => return v1(400, "invalid_cursor", "cursor is not valid; pass next_cursor back exactly as received"),
        },
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| format!("cur_{end}"));
    let mut out = json!({ key: items[start..end].to_vec(), "next_cursor": next });
    if key == "skills" {
        out["total_count"] = json!(items.len());
    }
    ok(out)
}

/// A path no route serves, in the envelope its path implies (behind auth, like any other).
pub async fn no_such_endpoint(req: Request) -> Response {
    error_for(req.uri().path(), 404, "not_found", "no such endpoint")
}
