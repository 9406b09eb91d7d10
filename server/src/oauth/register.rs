//! Dynamic Client Registration (RFC 7591), the fallback for clients without a metadata
//! document: redirect URIs must be https or loopback http; a client that asks for
//! secret-based authentication gets a secret, shown once and stored hashed.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::managed::secrets::{Token, new_id};
use crate::managed::store::oauth::{ClientKind, NewClient};
use crate::oauth::browser::Shared;
use crate::oauth::clients::redirect_allowed;
use crate::oauth::errors::{OAuthError, no_store};
use crate::oauth::metadata::AUTH_METHODS;

const BODY_LIMIT: usize = 16 * 1024;

/// The registration request fields this server reads (others are ignored, as RFC 7591
/// allows).
#[derive(Debug, Deserialize)]
struct Registration {
    redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
}

/// `POST /oauth/register`.
pub async fn register(State(o): State<Shared>, req: Request) -> Response {
    let result = async {
        let bytes =
            axum::body::to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|_| OAuthError::bad("invalid_client_metadata", "the registration is too large"))?;
        let reg: Registration = serde_json::from_slice(&bytes)
            .map_err(|e| OAuthError::bad("invalid_client_metadata", format!("the registration is not a JSON object of client metadata: {e}")))?;
        let uris = reg.redirect_uris.filter(|u| !u.is_empty()).ok_or_else(|| OAuthError::bad("invalid_redirect_uri", "redirect_uris is missing or empty"))?;
        let problems: Vec<String> = uris.iter().filter_map(|u| redirect_allowed(u).err()).collect();
        if !problems.is_empty() {
            return Err(OAuthError::bad("invalid_redirect_uri", problems.join("; ")));
        }
        let method = reg.token_endpoint_auth_method.unwrap_or_else(|| "client_secret_basic".into());
        if !AUTH_METHODS.contains(&method.as_str()) {
            return Err(OAuthError::bad(
                "invalid_client_metadata",
                format!("token_endpoint_auth_method `{}` is not supported ({})", crate::text::clip(&method, 60), AUTH_METHODS.join(", ")),
            ));
        }
        let grants = reg.grant_types.unwrap_or_else(|| vec!["authorization_code".into()]);
        if let Some(g) = grants.iter().find(|g| !["authorization_code", "refresh_token"].contains(&g.as_str())) {
            return Err(OAuthError::bad(
                "invalid_client_metadata",
                format!("grant type `{}` is not supported (authorization_code, refresh_token)", crate::text::clip(g, 60)),
            ));
        }
        let responses = reg.response_types.unwrap_or_else(|| vec!["code".into()]);
        if responses.iter().any(|r| r != "code") {
            return Err(OAuthError::bad("invalid_client_metadata", "only the `code` response type is supported"));
        }
        let name = reg.client_name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| "Unnamed application".into());
        let name = crate::text::clip(&name, 100).into_owned();
        let secret = (method != "none").then(|| Token::generate("gmcs"));
        let client = NewClient {
            client_id: new_id("gmcl"),
            name,
            redirect_uris: uris,
            kind: ClientKind::Dynamic,
            token_endpoint_auth_method: method,
            secret: secret.as_ref().map(Token::hash),
        };
        let now = o.managed.clock.now();
        let c = o.managed.store.put_client(client, now).await.map_err(OAuthError::server)?;
        tracing::info!(client = c.client_id, "oauth: a client registered itself");
        let mut body = json!({
            "client_id": c.client_id,
            "client_id_issued_at": c.created_at.as_second(),
            "client_name": c.name,
            "redirect_uris": c.redirect_uris,
            "token_endpoint_auth_method": c.token_endpoint_auth_method,
            "grant_types": grants,
            "response_types": responses,
        });
        if let Some(s) = reg.scope {
            body["scope"] = json!(s);
        }
        if let Some(s) = &secret {
            body["client_secret"] = json!(s.reveal());
            body["client_secret_expires_at"] = json!(0);
        }
        let mut resp = (StatusCode::CREATED, axum::Json(body)).into_response();
        no_store(&mut resp);
        Ok::<_, OAuthError>(resp)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
