//! The token endpoint (authorization code with PKCE, refresh with rotation) and the
//! revocation endpoint (RFC 7009).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jiff::SignedDuration;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::managed::secrets::{Token, TokenHash};
use crate::managed::store::oauth::{Grant, Rotation, TakenCode, TokenPair};
use crate::oauth::OAuth;
use crate::oauth::browser::Shared;
use crate::oauth::clients::Form;
use crate::oauth::errors::{OAuthError, no_store};

const FORM_LIMIT: usize = 16 * 1024;

async fn form_of(req: Request) -> Result<(axum::http::HeaderMap, Form), OAuthError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| OAuthError::bad("invalid_request", "the request body is too large"))?;
    Ok((parts.headers, Form::parse(&bytes)))
}

/// `POST /oauth/token`.
pub async fn token(State(o): State<Shared>, req: Request) -> Response {
    match exchange(&o, req).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::info!(error = e.error, "oauth: a token request was refused: {}", e.description);
            e.into_response()
        }
    }
}

async fn exchange(o: &OAuth, req: Request) -> Result<Response, OAuthError> {
    let (headers, form) = form_of(req).await?;
    let one = |name: &str| form.one(name).map_err(|e| OAuthError::bad("invalid_request", e));
    let grant_type = one("grant_type")?.ok_or_else(|| OAuthError::bad("invalid_request", "grant_type is missing"))?.to_owned();
    let client = o.authenticate(&headers, &form).await?;
    let now = o.managed.clock.now();
    let pair = || {
        let (access, refresh) = (Token::generate("gmoa"), Token::generate("gmor"));
        let ttl = |d: std::time::Duration| SignedDuration::try_from(d).unwrap_or(SignedDuration::from_hours(1));
        let stored = TokenPair {
            access: access.hash(),
            access_expires_at: now + ttl(o.config.access_ttl),
            refresh: refresh.hash(),
            refresh_expires_at: now + ttl(o.config.refresh_ttl),
        };
        (access, refresh, stored)
    };
    match grant_type.as_str() {
        "authorization_code" => {
            let code = one("code")?.ok_or_else(|| OAuthError::bad("invalid_request", "code is missing"))?;
            let verifier = one("code_verifier")?.ok_or_else(|| OAuthError::bad("invalid_request", "code_verifier is missing: PKCE is required"))?;
            let redirect_uri = one("redirect_uri")?;
            let resource = one("resource")?;
            let record = match o.managed.store.take_code(&TokenHash::of(code), now).await.map_err(OAuthError::server)? {
                TakenCode::Fresh(r) => r,
                TakenCode::Reused => {
                    return Err(OAuthError::bad("invalid_grant", "the authorization code was already used; every token issued from it is now revoked"));
                }
                TakenCode::Unknown => return Err(OAuthError::bad("invalid_grant", "the authorization code is unknown or expired")),
            };
            if record.client_id != client.client_id {
                return Err(OAuthError::bad("invalid_grant", "the authorization code was issued to another client"));
            }
            if redirect_uri.is_some_and(|r| r != record.redirect_uri) {
                return Err(OAuthError::bad("invalid_grant", "redirect_uri differs from the one the code was sent to"));
            }
            if !verifier_ok(verifier, &record.code_challenge) {
                return Err(OAuthError::bad("invalid_grant", "code_verifier does not match the code_challenge (PKCE S256)"));
            }
            let grant = o.managed.store.get_grant(&record.grant_id).await.map_err(OAuthError::server)?;
            check_resource(o, resource, &grant)?;
            let (access, refresh, stored) = pair();
            o.managed.store.issue_tokens(&grant.id, &stored, now).await.map_err(|e| match e {
                crate::managed::store::StoreError::Invalid(_) => OAuthError::bad("invalid_grant", "the grant was revoked"),
                e => OAuthError::server(e),
            })?;
            tracing::info!(client = client.client_id, grant = grant.id, "oauth: tokens issued for a code");
            Ok(tokens(o, &grant, &access, &refresh))
        }
        "refresh_token" => {
            let refresh_token = one("refresh_token")?.ok_or_else(|| OAuthError::bad("invalid_request", "refresh_token is missing"))?;
            let resource = one("resource")?;
            let scope = one("scope")?;
            let (access, refresh, stored) = pair();
            let grant =
                match o.managed.store.rotate_refresh(&TokenHash::of(refresh_token), &client.client_id, &stored, now).await.map_err(OAuthError::server)? {
                    Rotation::Rotated(g) => g,
                    Rotation::Reused => {
                        tracing::warn!(client = client.client_id, "oauth: a spent refresh token was presented again; its grant is revoked");
                        return Err(OAuthError::bad(
                            "invalid_grant",
                            "the refresh token was already used; as it may have been stolen, the grant and all its tokens are now revoked",
                        ));
                    }
                    Rotation::Invalid => return Err(OAuthError::bad("invalid_grant", "the refresh token is unknown, expired or revoked")),
                };
            if let Some(s) = scope {
                let granted: Vec<&str> = grant.scope.split(' ').collect();
                if let Some(extra) = s.split(' ').filter(|w| !w.is_empty() && *w != "offline_access").find(|w| !granted.contains(w)) {
                    let _ = o.managed.store.revoke_token(&stored.access, &client.client_id, now).await;
                    return Err(OAuthError::bad(
                        "invalid_scope",
                        format!("`{}` was not granted; a refresh cannot widen the scope ({})", crate::text::clip(extra, 40), grant.scope),
                    ));
                }
            }
            check_resource(o, resource, &grant)?;
            Ok(tokens(o, &grant, &access, &refresh))
        }
        other => Err(OAuthError::bad(
            "unsupported_grant_type",
            format!("grant_type `{}` is not supported; use authorization_code or refresh_token", crate::text::clip(other, 60)),
        )),
    }
}

/// A `resource` at the token endpoint must be the grant's (RFC 8707 `invalid_target`).
fn check_resource(o: &OAuth, resource: Option<&str>, grant: &Grant) -> Result<(), OAuthError> {
    match resource {
        None => Ok(()),
        Some(r) if o.parse_resource(r).is_some_and(|p| o.resource_id(&p) == grant.resource) => Ok(()),
        Some(r) => {
            Err(OAuthError::bad("invalid_target", format!("resource `{}` is not the one this grant is for ({})", crate::text::clip(r, 200), grant.resource)))
        }
    }
}

/// PKCE S256 (RFC 7636 §4.6): 43–128 unreserved characters whose SHA-256, base64url,
/// is the challenge; compared in constant time.
pub fn verifier_ok(verifier: &str, challenge: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len()) && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    shaped && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

fn tokens(o: &OAuth, grant: &Grant, access: &Token, refresh: &Token) -> Response {
    let body = json!({
        "access_token": access.reveal(),
        "token_type": "Bearer",
        "expires_in": o.config.access_ttl.as_secs(),
        "refresh_token": refresh.reveal(),
        "scope": grant.scope,
    });
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(&mut resp);
    resp
}

/// `POST /oauth/revoke`: always 200 for an authenticated client, whether or not the
/// token was known (RFC 7009 §2.2), so it tells nothing.
pub async fn revoke(State(o): State<Shared>, req: Request) -> Response {
    let result = async {
        let (headers, form) = form_of(req).await?;
        let token = form
            .one("token")
            .map_err(|e| OAuthError::bad("invalid_request", e))?
            .ok_or_else(|| OAuthError::bad("invalid_request", "token is missing"))?
            .to_owned();
        let client = o.authenticate(&headers, &form).await?;
        o.managed.store.revoke_token(&TokenHash::of(&token), &client.client_id, o.managed.clock.now()).await.map_err(OAuthError::server)?;
        Ok::<_, OAuthError>(())
    }
    .await;
    match result {
        Ok(()) => {
            let mut resp = StatusCode::OK.into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(super::verifier_ok(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!super::verifier_ok(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        assert!(!super::verifier_ok("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }
}
