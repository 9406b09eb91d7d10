//! The recording layer: reads the body once, records the request (method, path, query,
//! headers, the body parsed by content type), and passes the same bytes on.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::{is_fake_own, query_pairs};
use crate::record::{RecordedBody, RecordedPart, RecordedRequest};
use crate::state::Inner;

/// The largest body read (and the router's body limit); a larger one is recorded and
/// passed on as empty.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

pub async fn record(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    if is_fake_own(req.uri()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.unwrap_or_default();
    let headers: BTreeMap<String, String> =
        parts.headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let ctype = headers.get("content-type").cloned().unwrap_or_default();
    let body = if bytes.is_empty() {
        RecordedBody::Empty
    } else if ctype.contains("json") {
        serde_json::from_slice(&bytes).map(RecordedBody::Json).unwrap_or_else(|_| RecordedBody::Raw(bytes.to_vec()))
    } else if ctype.starts_with("multipart/form-data") {
        RecordedBody::Multipart(parse_multipart(&parts.headers, bytes.clone()).await)
    } else {
        RecordedBody::Raw(bytes.to_vec())
    };
    let recorded = RecordedRequest { method: parts.method.to_string(), path: parts.uri.path().to_owned(), query: query_pairs(&parts.uri), headers, body };
    inner.requests.lock().unwrap().push(recorded);
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

async fn parse_multipart(headers: &HeaderMap, bytes: Bytes) -> Vec<RecordedPart> {
    let mut req = Request::new(Body::from(bytes));
    *req.headers_mut() = headers.clone();
    let Ok(mut mp) = Multipart::from_request(req, &()).await else { return Vec::new() };
    let mut out = Vec::new();
    while let Ok(Some(field)) = mp.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        out.push(RecordedPart { name, filename, content_type, bytes });
    }
    out
}
