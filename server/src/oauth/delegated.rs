//! Sign-in delegated to the company's OpenID provider (`serve --oidc-issuer`): the two
//! browser routes around [`crate::oauth::oidc::Upstream`], and who an identity is here.
//!
//! - `GET /oauth/upstream/start?request=<pending handle>` (the login page's "Sign in with
//!   your company account" link): begins a sign-in at the provider, sealing its `state`,
//!   `nonce`, PKCE verifier and the pending request's handle into a short-lived cookie
//!   (`__Host-gmcp_oidc` where the session cookie is `__Host-` too), and redirects there.
//!   Without `request` (from the grants page) the browser lands on its grants after.
//! - `GET /oauth/upstream/callback`: finishes it ([`Upstream::complete`]: state, `iss`,
//!   code, ID token), finds the user whose `username` is the identity's user claim and
//!   whose source is `oidc` (creating one on a first sign-in when their groups give them
//!   access), records their groups, signs the browser session in and sends it back to
//!   the consent page of the pending request (per-client consent is always asked here,
//!   after the provider: a proxy must not skip it).
//!
//! Access of an OIDC user: their own rules plus, for each group the provider named at
//! their last sign-in, the rules of the user `group:<name>` (source `oidc`, not
//! disabled). Consent offers what that union allows, and every request under a grant is
//! checked against it again ([`OAuth::with_group_rules`]), so an administrator's change
//! to a group's rules takes effect at once; a change of membership at the provider at the
//! user's next sign-in.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::Mac as _;

use crate::managed::secrets::TokenHash;
use crate::managed::store::StoreError;
use crate::managed::store::oauth::{NewUser, User, UserPatch, UserSource, group_rules, with_group_rules};
use crate::oauth::OAuth;
use crate::oauth::browser::{Shared, cookie, page};
use crate::oauth::clients::Form;
use crate::oauth::errors::OAuthError;
use crate::oauth::oidc::{CallbackParams, Identity, OidcError, PENDING_KEY_LABEL, PENDING_TTL, UpstreamPending};
use crate::oauth::pages;

pub use crate::managed::store::oauth::GROUP_PREFIX;

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, pages::message(title, text))
}

fn store_failed(e: impl std::fmt::Display) -> Response {
    failed(OAuthError::server(e))
}

fn failed(e: OAuthError) -> Response {
    message(e.status, "Something went wrong", &e.description)
}

impl OAuth {
    /// The pending-sign-in cookie's name (`__Host-` exactly when the session cookie's is).
    pub fn oidc_cookie_name(&self) -> &'static str {
        if self.cookie_name().starts_with("__Host-") { "__Host-gmcp_oidc" } else { "gmcp_oidc" }
    }

    fn oidc_cookie(&self, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.cookie_name().starts_with("__Host-") { "; Secure" } else { "" };
        let c = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}", self.oidc_cookie_name());
        HeaderValue::from_str(&c).expect("a cookie of base64url characters is a valid header")
    }

    /// The key pending sign-ins are sealed with (derived from the shared OAuth key, so
    /// every replica opens what another sealed).
    fn pending_key(&self) -> [u8; 32] {
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(PENDING_KEY_LABEL.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// `user` with the rules of their groups added ([`with_group_rules`]).
    pub async fn with_group_rules(&self, user: User) -> Result<User, StoreError> {
        with_group_rules(self.managed.store.as_ref(), user).await
    }
}

/// `GET /oauth/upstream/start`.
pub async fn start(State(o): State<Shared>, req: Request) -> Response {
    let Some(upstream) = o.upstream.clone() else {
        return message(StatusCode::NOT_FOUND, "Not available", "this server does not sign in through an identity provider");
    };
    let form = Form::parse(req.uri().query().unwrap_or_default().as_bytes());
    let handle = match form.one("request") {
        Ok(h) => h.map(str::to_owned),
        Err(e) => return message(StatusCode::BAD_REQUEST, "Cannot sign in", &e),
    };
    let session = match o.session(req.headers()).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Sign-in expired",
                "your browser did not send this server's cookie (cookies must be on); start again from the application",
            );
        }
        Err(e) => return failed(e),
    };
    if let Some(h) = &handle {
        match o.managed.store.get_pending(&TokenHash::of(h), o.managed.clock.now()).await {
            Ok(Some(p)) if p.session.ct_eq(&session.hash) => {}
            Ok(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    "Sign-in expired",
                    "this sign-in has expired, was already decided, or was started in another browser; start again from the application",
                );
            }
            Err(e) => return store_failed(e),
        }
    }
    let (url, pending) = upstream.begin();
    let sealed = pending.with_request(handle.unwrap_or_default()).seal(&o.pending_key());
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, o.oidc_cookie(&sealed, PENDING_TTL.as_secs()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

/// `GET /oauth/upstream/callback`.
pub async fn callback(State(o): State<Shared>, req: Request) -> Response {
    let mut resp = finish(&o, req.headers(), req.uri().query().unwrap_or_default()).await;
    // The pending sign-in is single use, whatever came of it.
    resp.headers_mut().append(header::SET_COOKIE, o.oidc_cookie("", 0));
    resp.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

fn status_of(e: &OidcError) -> StatusCode {
    match e {
        OidcError::Provider { .. } | OidcError::EmailNotVerified => StatusCode::FORBIDDEN,
        OidcError::Http(_) | OidcError::Discovery { .. } | OidcError::TokenResponse(_) | OidcError::UserInfo(_) | OidcError::IdToken(_) => {
            StatusCode::BAD_GATEWAY
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

async fn finish(o: &OAuth, headers: &HeaderMap, query: &str) -> Response {
    let Some(upstream) = o.upstream.as_ref() else {
        return message(StatusCode::NOT_FOUND, "Not available", "this server does not sign in through an identity provider");
    };
    let expired = || {
        message(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "this sign-in has expired, was already finished, or was started in another browser; start again from the application",
        )
    };
    let Some(pending) = cookie(headers, o.oidc_cookie_name()).and_then(|c| UpstreamPending::open(&c, &o.pending_key(), o.managed.clock.now())) else {
        return expired();
    };
    let session = match o.session(headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return expired(),
        Err(e) => return failed(e),
    };
    let form = Form::parse(query.as_bytes());
    let one = |name: &str| form.one(name).map(|v| v.map(str::to_owned));
    let params = match (|| {
        Ok::<_, String>(CallbackParams {
            code: one("code")?,
            state: one("state")?,
            iss: one("iss")?,
            error: one("error")?,
            error_description: one("error_description")?,
        })
    })() {
        Ok(p) => p,
        Err(e) => return message(StatusCode::BAD_REQUEST, "Sign-in failed", &e),
    };
    let identity = match upstream.complete(&params, &pending).await {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(reason = %e, "oauth: a sign-in through the OIDC provider failed");
            return message(status_of(&e), "Sign-in failed", &e.to_string());
        }
    };
    let user = match user_for(o, &identity).await {
        Ok(u) => u,
        Err(resp) => return resp,
    };
    tracing::info!(user = user.id, subject = identity.subject, groups = ?identity.groups, "oauth: signed in through the OIDC provider");
    let handle = Some(pending.request()).filter(|h| !h.is_empty());
    crate::oauth::authorize::signed_in(o, &session, &user, handle).await
}

/// The user `identity` signs in as: the OIDC user of that name, created on a first
/// sign-in when the identity has some access; its groups brought up to date.
async fn user_for(o: &OAuth, identity: &Identity) -> Result<User, Response> {
    let name = identity.user.as_str();
    if name.starts_with(GROUP_PREFIX) {
        return Err(message(
            StatusCode::FORBIDDEN,
            "Cannot sign in",
            &format!("you are signed in as {name}, a name reserved for group rules here; ask your administrator"),
        ));
    }
    let no_access =
        || message(StatusCode::FORBIDDEN, "No access", &format!("you are signed in as {name} but have no access to gumloop-mcp; ask your administrator"));
    let mut groups = identity.groups.clone();
    groups.sort();
    groups.dedup();
    let found = o.managed.store.find_user(name).await.map_err(store_failed)?;
    let user = match found {
        Some((u, _)) if u.source != UserSource::Oidc => {
            return Err(message(
                StatusCode::FORBIDDEN,
                "Cannot sign in",
                &format!("you are signed in as {name}, but that name belongs to a local user here, who signs in with a password; ask your administrator"),
            ));
        }
        Some((u, _)) if u.disabled => {
            return Err(message(StatusCode::FORBIDDEN, "Cannot sign in", &format!("the user {name} is disabled here; ask your administrator")));
        }
        Some((u, _)) => u,
        None => {
            let rules = group_rules(o.managed.store.as_ref(), &groups).await.map_err(store_failed)?;
            if rules.iter().all(Vec::is_empty) {
                tracing::info!(user = name, groups = ?groups, "oauth: an OIDC identity with no access here was refused");
                return Err(no_access());
            }
            let new = NewUser { username: name.to_owned(), source: UserSource::Oidc, password_hash: None, access: Vec::new() };
            match o.managed.store.create_user(new, o.managed.clock.now()).await {
                Ok(u) => {
                    tracing::info!(user = u.id, username = name, "oauth: created an OIDC user at their first sign-in");
                    u
                }
                // Created meanwhile by a concurrent first sign-in.
                Err(StoreError::Invalid(_)) => match o.managed.store.find_user(name).await.map_err(store_failed)? {
                    Some((u, _)) if u.source == UserSource::Oidc && !u.disabled => u,
                    _ => return Err(no_access()),
                },
                Err(e) => return Err(store_failed(e)),
            }
        }
    };
    let user = if user.groups != groups {
        let patch = UserPatch { groups: Some(groups), ..UserPatch::default() };
        o.managed.store.update_user(&user.id, &patch, o.managed.clock.now()).await.map_err(store_failed)?
    } else {
        user
    };
    let effective = o.with_group_rules(user.clone()).await.map_err(store_failed)?;
    if effective.access.is_empty() {
        return Err(no_access());
    }
    Ok(user)
}
