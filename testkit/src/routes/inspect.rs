//! The fake's own endpoint, `/__fake/requests`: what it has received, for out-of-process
//! tests (the real clients). No layer records, faults or authenticates it.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::input::S;
use super::reply::ok;

/// What the fake has received, for out-of-process tests: `[{method, path, query, headers,
/// json}]` (`json`: a JSON body, else null).
pub async fn recorded(State(s): S) -> Response {
    let reqs = s.requests.lock().unwrap();
    // Headers included, so out-of-process clients can check auth as in-process tests do
    // (the fake only ever sees its own test key).
    ok(Value::Array(
        reqs.iter()
            .map(|r| {
                let body = match &r.body {
                    crate::RecordedBody::Json(v) => v.clone(),
                    _ => Value::Null,
                };
                json!({"method": r.method, "path": r.path, "query": r.query, "headers": r.headers, "json": body})
            })
            .collect(),
    ))
}
