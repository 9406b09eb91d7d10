//! Authorization server metadata (RFC 8414) at `/.well-known/oauth-authorization-server`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oauth::{OAuth, scopes};

/// Client authentication methods at the token and revocation endpoints: public clients
/// (CIMD, most dynamic ones) use `none`.
pub const AUTH_METHODS: [&str; 3] = ["none", "client_secret_post", "client_secret_basic"];

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(State(o): State<Arc<OAuth>>) -> Response {
    let body = json!({
        "issuer": o.issuer,
        "authorization_endpoint": o.url("/oauth/authorize"),
        "token_endpoint": o.url("/oauth/token"),
        "registration_endpoint": o.url("/oauth/register"),
        "revocation_endpoint": o.url("/oauth/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": scopes::SCOPES.iter().map(|s| s.0).collect::<Vec<_>>(),
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": o.url("/oauth/grants"),
    });
    let mut resp = axum::Json(body).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp
}
