//! The middleware in front of rmcp on the MCP routes (not the admin API). It reads each
//! POST body (bounded), answers one that is not a JSON-RPC request with a JSON-RPC error
//! ([`crate::http::envelope`]), admits new legacy sessions ([`crate::http::sessions`]) and tells the
//! session registry which sessions have an exchange open. What passes goes to rmcp as the
//! same bytes.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use rmcp::model::{ErrorCode, ErrorData};
use serde_json::json;

use crate::http::envelope::{self, Rejection};
use crate::http::sessions::{Activity, ActivityGuard, Admission, Owner, Refusal, SessionRegistry};
use crate::mcp::Scope;

/// The largest MCP request body: rmcp's 4 MB default would refuse a skill upload well
/// under Gumloop's 10 MB cap (base64 in JSON adds a third), so the skill tools' own
/// checks could never answer; 16 MB is rmcp's stdio line limit too.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Seconds a client refused a session is told to wait: sessions busy now are usually
/// free again once their calls return.
const RETRY_AFTER_SECS: u32 = 5;

/// See the module documentation.
pub async fn screen(State(registry): State<Arc<SessionRegistry>>, req: Request, next: Next) -> Response {
    let session = req.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match (req.method(), session) {
        (&Method::GET, Some(id)) => {
            let owner = owner_of(&req);
            match registry.knows(&id) {
                true if !registry.holds(&id, &owner) => not_this_urls(),
                true => {
                    let guard = registry.enter(&id, Activity::Stream);
                    held(next.run(req).await, guard)
                }
                // Perhaps another replica's: rmcp restores it for its owner.
                false => restoring(&registry, owner, None, next.run(req)).await,
            }
        }
        (&Method::POST, session) if is_json(req.headers()) => post(registry, req, session, next).await,
        (&Method::DELETE, Some(id)) => delete(&registry, req, &id, next).await,
        // rmcp answers other media types (415) and methods itself.
        _ => next.run(req).await,
    }
}

/// Ends a legacy session as clients expect: 204 for a session this URL holds, 404 for
/// any other (rmcp answers 202 to every DELETE, known or not, and a DELETE here must never
/// end or release a session of another URL).
async fn delete(registry: &Arc<SessionRegistry>, req: Request, id: &str, next: Next) -> Response {
    let owner = owner_of(&req);
    let mut resp = match registry.holds(id, &owner) {
        // In the owner's scope, so the shared store forgets it only for its owner.
        true => Admission::new(owner).run(next.run(req)).await,
        false if registry.knows(id) => return not_this_urls(),
        // Perhaps another replica's: forgotten in the shared store, for its owner only.
        false => return forget_elsewhere(registry, id, owner).await,
    };
    if resp.status() == StatusCode::ACCEPTED {
        *resp.status_mut() = StatusCode::NO_CONTENT;
        *resp.body_mut() = Body::empty();
    }
    resp
}

async fn post(registry: Arc<SessionRegistry>, req: Request, session: Option<String>, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match read_body(body, &parts.headers).await {
        Ok(bytes) => bytes,
        Err(resp) => return resp,
    };
    let version = parts.headers.get("mcp-protocol-version").and_then(|v| v.to_str().ok());
    let message = match envelope::check(&bytes, version) {
        Ok(message) => message,
        Err(rejection) => return rejection.into_response(),
    };
    // Only an initialize needs its id (for a refusal) and owner.
    let initialize = (session.is_none() && message.is_request("initialize"))
        .then(|| (message.id(), parts.extensions.get::<Scope>().map(|s| Arc::<str>::from(s.server_id.as_str()))));
    let owner = parts.extensions.get::<Scope>().map(|s| Arc::<str>::from(s.server_id.as_str()));
    let req = Request::from_parts(parts, Body::from(bytes.clone()));
    let (resp, guard) = if let Some(session) = session {
        match registry.knows(&session) {
            // A session of another URL is not this URL's to use.
            true if !registry.holds(&session, &owner) => return not_this_urls(),
            true => {
                let guard = registry.enter(&session, Activity::Request);
                (next.run(req).await, guard)
            }
            false => return restoring(&registry, owner, message.id(), next.run(req)).await,
        }
    } else if let Some((id, owner)) = initialize {
        // Refused here when nothing could make room, before rmcp works on it.
        if let Err(refusal) = registry.check(&owner) {
            return refused(refusal, id);
        }
        let admission = Admission::new(owner);
        let resp = admission.run(next.run(req)).await;
        // Lost a race for the last slot after the check above.
        if let Some(refusal) = admission.refused() {
            return refused(refusal, id);
        }
        (resp, admission.take_guard())
    } else {
        (next.run(req).await, None)
    };
    // Bodies are screened before rmcp parses them, so its 415 for a JSON content type
    // means a message it cannot parse after all: answer it in JSON-RPC too.
    if resp.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return Rejection::unparsed(&bytes).into_response();
    }
    held(resp, guard)
}

/// Who the request is for: a managed server's id, or `None` for `/mcp`.
fn owner_of(req: &Request) -> Owner {
    req.extensions().get::<Scope>().map(|s| Arc::<str>::from(s.server_id.as_str()))
}

/// 404 for a session this URL does not hold.
fn not_this_urls() -> Response {
    let error = ErrorData::new(ErrorCode(-32001), "Session not found: it ended, was evicted, or belongs to another URL; initialize a new one", None);
    envelope::error_response(StatusCode::NOT_FOUND, None, error)
}

/// DELETE of a session this process does not hold: 204 when the shared store has it for
/// this URL (and forgets it), else 404. Replicas holding it in memory close it when idle.
async fn forget_elsewhere(registry: &SessionRegistry, id: &str, owner: Owner) -> Response {
    let Some(rows) = registry.rows() else { return not_this_urls() };
    match rows.load_session(id, crate::http::sessions::ROW_LIFETIME).await {
        Ok(Some((stored, _))) if stored.as_deref() == owner.as_deref() => match rows.delete_session(id).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => {
                tracing::warn!("ending a shared session failed: {e}");
                envelope::error_response(StatusCode::SERVICE_UNAVAILABLE, None, ErrorData::internal_error("the session store cannot be reached; retry", None))
            }
        },
        Ok(_) => not_this_urls(),
        Err(e) => {
            tracing::warn!("reading a shared session failed: {e}");
            envelope::error_response(StatusCode::SERVICE_UNAVAILABLE, None, ErrorData::internal_error("the session store cannot be reached; retry", None))
        }
    }
}

/// Runs a request for a session this process does not hold, as its owner's: rmcp
/// restores it from the shared store when there is one (taking a slot, as an initialize
/// does) or answers 404. The restored session's slot is held until the answer is sent.
async fn restoring(registry: &Arc<SessionRegistry>, owner: Owner, id: Option<rmcp::model::RequestId>, run: impl Future<Output = Response>) -> Response {
    if let Err(refusal) = registry.check(&owner) {
        return refused(refusal, id);
    }
    let admission = Admission::new(owner);
    let resp = admission.run(run).await;
    if let Some(refusal) = admission.refused() {
        return refused(refusal, id);
    }
    held(resp, admission.take_guard())
}

/// Whether the request says it carries JSON (rmcp's own test: the media type's essence).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json"))
}

/// The body, at most [`MAX_REQUEST_BYTES`]; a larger one gets 413 as soon as that is known.
async fn read_body(body: Body, headers: &HeaderMap) -> Result<Bytes, Response> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Rejection::parse_error(format!("the request body could not be read: {e}")).into_response())?;
        len += chunk.len();
        if len > MAX_REQUEST_BYTES {
            return Err(too_large());
        }
        chunks.push(chunk);
    }
    // Usually one chunk: no copy.
    Ok(match chunks.len() {
        1 => chunks.pop().unwrap_or_default(),
        _ => chunks.concat().into(),
    })
}

fn too_large() -> Response {
    let error = ErrorData::invalid_request(format!("Invalid Request: the request body exceeds {MAX_REQUEST_BYTES} bytes"), None);
    envelope::error_response(StatusCode::PAYLOAD_TOO_LARGE, None, error)
}

/// 503 with `Retry-After`: the refusal is temporary (busy sessions free up as their
/// calls return) and concerns the server, not the request, so neither a 4xx nor 429
/// (which would blame this client's rate) fits.
fn refused(refusal: Refusal, id: Option<rmcp::model::RequestId>) -> Response {
    let limit = match refusal {
        Refusal::Total(n) => json!({"flag": "--max-sessions", "limit": n}),
        Refusal::PerServer(n) => json!({"flag": "--max-sessions-per-server", "limit": n}),
    };
    let error = ErrorData::new(ErrorCode(-32000), refusal.to_string(), Some(limit));
    let mut resp = envelope::error_response(StatusCode::SERVICE_UNAVAILABLE, id, error);
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    resp
}

/// `resp` with `guard` kept until its body ends (an SSE answer ends when the call does, a
/// GET stream when either side closes it) or is dropped. It goes as soon as the last chunk
/// is out, before the client can see the end, so the next request of a client that read
/// the whole answer always finds the session idle.
fn held(resp: Response, guard: Option<ActivityGuard>) -> Response {
    let Some(guard) = guard else { return resp };
    let (parts, body) = resp.into_parts();
    let end = futures_util::stream::once(async move { drop(guard) }).filter_map(|()| async { None });
    Response::from_parts(parts, Body::from_stream(body.into_data_stream().chain(end)))
}
