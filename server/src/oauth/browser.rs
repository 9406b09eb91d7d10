//! The sign-in pages' browser session: a random cookie (stored hashed), `__Host-` so
//! no other site or subdomain can set or read it, HttpOnly and SameSite=Lax; the CSRF
//! token every form carries is an HMAC of that cookie, so it needs no storage and is
//! worthless without the cookie. Pages are never framed and never cached.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use hmac::Mac as _;
use jiff::SignedDuration;
use subtle::ConstantTimeEq;

use crate::managed::secrets::{Token, TokenHash};
use crate::managed::store::oauth::BrowserSession;
use crate::oauth::OAuth;
use crate::oauth::errors::OAuthError;

/// A browser session as a request presents it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie value.
    pub token: String,
    /// Its hash, the store's key.
    pub hash: TokenHash,
    /// What the store has.
    pub record: BrowserSession,
}

impl OAuth {
    /// The session cookie's name: `__Host-` needs `Secure`, which browsers honour on https
    /// and on loopback (`http://localhost`); elsewhere plain http cannot keep a secure
    /// cookie, so a plain name is used (and the start-up log warns).
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies() { "__Host-gmcp_session" } else { "gmcp_session" }
    }

    fn secure_cookies(&self) -> bool {
        url::Url::parse(&self.issuer).is_ok_and(|u| u.scheme() == "https" || crate::oauth::clients::is_loopback(&u))
    }

    /// The request's live browser session, if any.
    pub async fn session(&self, headers: &HeaderMap) -> Result<Option<Session>, OAuthError> {
        let Some(token) = cookie(headers, self.cookie_name()) else { return Ok(None) };
        let hash = TokenHash::of(&token);
        let record = self.managed.store.get_browser_session(&hash, self.managed.clock.now()).await.map_err(OAuthError::server)?;
        Ok(record.map(|record| Session { token, hash, record }))
    }

    /// Starts a session (for `user_id`, or anonymous) and returns it with its cookie.
    pub async fn start_session(&self, user_id: Option<&str>) -> Result<(Session, HeaderValue), OAuthError> {
        let token = Token::generate("gmbs");
        let hash = token.hash();
        let expires_at = self.managed.clock.now() + SignedDuration::try_from(self.config.session_ttl).unwrap_or(SignedDuration::from_hours(12));
        self.managed.store.put_browser_session(&hash, user_id, expires_at).await.map_err(OAuthError::server)?;
        let secure = if self.secure_cookies() { "; Secure" } else { "" };
        let cookie =
            format!("{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", self.cookie_name(), token.reveal(), self.config.session_ttl.as_secs());
        let value = HeaderValue::from_str(&cookie).expect("a cookie of URL-safe characters is a valid header");
        Ok((Session { token: token.reveal().to_owned(), hash, record: BrowserSession { user_id: user_id.map(str::to_owned), expires_at } }, value))
    }

    /// A cookie that removes the session cookie.
    pub fn clear_cookie(&self) -> HeaderValue {
        let secure = if self.secure_cookies() { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", self.cookie_name())).expect("valid header")
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, session: &Session) -> String {
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(b"csrf\0");
        mac.update(session.token.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `presented` is the session's CSRF token (constant time).
    pub fn csrf_ok(&self, session: &Session, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| p.as_bytes().ct_eq(self.csrf(session).as_bytes()).into())
    }
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}

/// An HTML page with the headers every sign-in page carries: no framing (clickjacking on
/// the consent button), no caching, no referrer (the URL carries `state`), and a policy
/// that allows no script at all.
pub fn page(status: axum::http::StatusCode, html: String) -> Response {
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

/// Shared handle type for handlers.
pub type Shared = Arc<OAuth>;
