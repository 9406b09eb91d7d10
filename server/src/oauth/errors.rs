//! OAuth error answers: JSON for the token, registration and revocation endpoints
//! (RFC 6749 §5.2, RFC 7591 §3.2.2), a redirect for the authorization endpoint once the
//! redirect URI is known to be the client's (RFC 6749 §4.1.2.1, with `iss`, RFC 9207),
//! and a page before that (never redirect to an unverified URI).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An OAuth error with its HTTP status.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The RFC error code (`invalid_request`, `invalid_grant`, …).
    pub error: &'static str,
    /// A sentence naming the problem (never a secret).
    pub description: String,
}

impl OAuthError {
    /// A 400 error.
    pub fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error, description: description.into() }
    }

    /// `invalid_client` (401, with a Basic challenge, as RFC 6749 §5.2 asks).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self { status: StatusCode::UNAUTHORIZED, error: "invalid_client", description: description.into() }
    }

    /// The store failed.
    pub fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!("oauth: the store failed: {e}");
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, error: "server_error", description: "the server's store failed; see its log".into() }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut resp = (self.status, axum::Json(body)).into_response();
        no_store(&mut resp);
        if self.error == "invalid_client" {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"gumloop-mcp\""));
        }
        resp
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, for every answer that carries or
/// concerns a credential.
pub fn no_store(resp: &mut Response) {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A 303 to `redirect_uri` with `params` added to its query (it may already have one).
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, url.as_str())]).into_response();
    no_store(&mut resp);
    resp
}

/// The authorization endpoint's error redirect: `error`, `error_description`, `state`
/// and `iss`.
pub fn redirect_error(redirect_uri: &str, state: Option<&str>, issuer: &str, error: &str, description: &str) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    redirect_with(redirect_uri, &params)
}
