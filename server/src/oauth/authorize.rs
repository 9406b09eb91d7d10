//! The authorization endpoint and its pages: `GET /oauth/authorize` checks the request
//! and shows sign-in or consent; `POST /oauth/login` signs in; `POST /oauth/consent`
//! decides, once, and sends the browser back with a code (or `access_denied`); the
//! grants page lists and revokes what a user allowed.
//!
//! Until the client and its redirect URI are verified, problems are shown as a page;
//! after, they go back to the client as an error redirect with `state` and `iss`.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;

use crate::managed::password;
use crate::managed::secrets::{Token, TokenHash};
use crate::managed::store::oauth::{Client, ClientKind, CodeRecord, NewGrant, PendingRequest, User};
use crate::oauth::browser::{Session, Shared, page};
use crate::oauth::clients::{Form, redirect_matches};
use crate::oauth::errors::{OAuthError, redirect_error, redirect_with};
use crate::oauth::pages::{self, AccountChoice, ClientView, ScopeChoice};
use crate::oauth::resource::Resource;
use crate::oauth::{OAuth, scopes};

/// How long a pending authorization request waits for sign-in and consent.
pub const PENDING_TTL: SignedDuration = SignedDuration::from_mins(10);
/// The largest form accepted.
const FORM_LIMIT: usize = 16 * 1024;

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, pages::message(title, text))
}

fn store_failed(e: OAuthError) -> Response {
    message(e.status, "Something went wrong", &e.description)
}

/// The peer's address (the connection's; behind a proxy, the proxy's).
fn peer(req: &Request) -> Option<IpAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

async fn form_of(req: Request) -> Result<(HeaderMap, Form, Option<IpAddr>), Response> {
    let addr = peer(&req);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| message(StatusCode::PAYLOAD_TOO_LARGE, "Form too large", "the form is larger than this server accepts"))?;
    Ok((parts.headers, Form::parse(&bytes), addr))
}

fn view(client: &Client, redirect_uri: &str) -> ClientView {
    ClientView {
        name: client.name.clone(),
        client_id: client.client_id.clone(),
        self_declared: client.kind != ClientKind::Registered,
        redirect_host: url::Url::parse(redirect_uri).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default(),
    }
}

/// `GET /oauth/authorize`.
pub async fn authorize(State(o): State<Shared>, req: Request) -> Response {
    let headers = req.headers().clone();
    let form = Form::parse(req.uri().query().unwrap_or_default().as_bytes());
    if let Ok(Some(handle)) = form.one("request") {
        return resume(&o, &headers, handle, None, "").await;
    }
    let client_id = match form.one("client_id") {
        Ok(Some(c)) => c,
        Ok(None) => return message(StatusCode::BAD_REQUEST, "Cannot sign in", "the request has no client_id"),
        Err(e) => return message(StatusCode::BAD_REQUEST, "Cannot sign in", &e),
    };
    let client = match o.client(client_id).await {
        Ok(c) => c,
        Err(u) => return message(StatusCode::BAD_REQUEST, "Cannot sign in", &u.describe(client_id)),
    };
    let redirect_uri = match form.one("redirect_uri") {
        Ok(Some(r)) => r.to_owned(),
        Ok(None) if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        Ok(None) => return message(StatusCode::BAD_REQUEST, "Cannot sign in", "the request has no redirect_uri, and the client has registered several"),
        Err(e) => return message(StatusCode::BAD_REQUEST, "Cannot sign in", &e),
    };
    if !redirect_matches(&client.redirect_uris, &redirect_uri) {
        let text = format!(
            "the redirect_uri `{}` is not registered for the client `{}`",
            crate::text::clip(&redirect_uri, 200),
            crate::text::clip(&client.client_id, 200)
        );
        return message(StatusCode::BAD_REQUEST, "Cannot sign in", &text);
    }
    // From here the redirect URI is the client's own: errors go back to it.
    let state = match form.one("state") {
        Ok(s) => s.map(str::to_owned),
        Err(e) => return redirect_error(&redirect_uri, None, &o.issuer, "invalid_request", &e),
    };
    let fail = |error: &str, description: &str| redirect_error(&redirect_uri, state.as_deref(), &o.issuer, error, description);
    match check_request(&o, &form).await {
        Ok((challenge, resource, scope)) => {
            let (session, cookie) = match o.session(&headers).await {
                Ok(Some(s)) => (s, None),
                Ok(None) => match o.start_session(None).await {
                    Ok((s, c)) => (s, Some(c)),
                    Err(e) => return store_failed(e),
                },
                Err(e) => return store_failed(e),
            };
            let pending = PendingRequest {
                session: session.hash,
                client_id: client.client_id.clone(),
                redirect_uri: redirect_uri.clone(),
                state: state.clone(),
                code_challenge: challenge,
                resource,
                scope,
                expires_at: o.managed.clock.now() + PENDING_TTL,
            };
            let handle = Token::generate("gmpr");
            if let Err(e) = o.managed.store.put_pending(&handle.hash(), &pending).await {
                return store_failed(OAuthError::server(e));
            }
            let mut resp = render(&o, &session, handle.reveal(), &pending, &client, None, "").await;
            if let Some(c) = cookie {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        Err((error, description)) => fail(error, &description),
    }
}

/// Checks the rest of an authorization request: `response_type`, PKCE, `resource` and
/// `scope`. Returns the challenge, the canonical resource and the scope string.
async fn check_request(o: &OAuth, form: &Form) -> Result<(String, String, String), (&'static str, String)> {
    let one = |name: &str| form.one(name).map_err(|e| ("invalid_request", e));
    match one("response_type")? {
        Some("code") => {}
        Some(other) => return Err(("unsupported_response_type", format!("response_type `{}` is not supported; use `code`", crate::text::clip(other, 40)))),
        None => return Err(("invalid_request", "response_type is missing; use `code`".into())),
    }
    let challenge = match (one("code_challenge")?, one("code_challenge_method")?) {
        (None, _) => return Err(("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256".into())),
        (Some(_), None) => return Err(("invalid_request", "code_challenge_method is missing: only S256 is accepted (plain is not)".into())),
        (Some(_), Some(m)) if m != "S256" => {
            return Err(("invalid_request", format!("code_challenge_method `{}` is not accepted: only S256", crate::text::clip(m, 20))));
        }
        (Some(c), Some(_)) => c,
    };
    if !(43..=128).contains(&challenge.len()) || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (43 characters)".into()));
    }
    let resources = form.all("resource");
    let resource = match resources.as_slice() {
        [] => Resource::Mcp,
        [one] => o.parse_resource(one).ok_or_else(|| {
            ("invalid_target", format!("`{}` is not a resource of this server (use {})", crate::text::clip(one, 200), o.resource_id(&Resource::Mcp)))
        })?,
        _ => return Err(("invalid_target", "give one resource per authorization request".into())),
    };
    if let Resource::Server(id) = &resource {
        let found = o.managed.store.resolve_server(id).await.map_err(|e| ("server_error", OAuthError::server(e).description))?;
        if !found.is_some_and(|(r, _)| !r.server.expired(o.managed.clock.now()) && o.mode_of(&r.server.config).oauth()) {
            return Err(("invalid_target", format!("there is no managed server at {} that signs in with OAuth", o.resource_id(&resource))));
        }
    }
    let scope = scopes::parse(one("scope")?).map_err(|unknown| {
        (
            "invalid_scope",
            format!(
                "unknown scope {}; this server offers: {}",
                unknown.iter().map(|u| format!("`{}`", crate::text::clip(u, 40))).collect::<Vec<_>>().join(", "),
                scopes::all()
            ),
        )
    })?;
    Ok((challenge.to_owned(), o.resource_id(&resource), scopes::join(&scope)))
}

/// Shows sign-in or consent for a pending request again (after sign-in, or a reload);
/// `username` fills the sign-in form again after a failed attempt.
async fn resume(o: &OAuth, headers: &HeaderMap, handle: &str, error: Option<&str>, username: &str) -> Response {
    let Ok(Some(session)) = o.session(headers).await else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "this sign-in has expired or was started in another browser; start again from the application",
        );
    };
    let pending = match o.managed.store.get_pending(&TokenHash::of(handle), o.managed.clock.now()).await {
        Ok(Some(p)) if p.session.ct_eq(&session.hash) => p,
        Ok(_) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Sign-in expired",
                "this sign-in has expired, was already decided, or was started in another browser; start again from the application",
            );
        }
        Err(e) => return store_failed(OAuthError::server(e)),
    };
    let client = match o.client(&pending.client_id).await {
        Ok(c) => c,
        Err(u) => return message(StatusCode::BAD_REQUEST, "Cannot sign in", &u.describe(&pending.client_id)),
    };
    render(o, &session, handle, &pending, &client, error, username).await
}

/// The page for a pending request: sign-in, or consent once signed in.
async fn render(o: &OAuth, session: &Session, handle: &str, pending: &PendingRequest, client: &Client, error: Option<&str>, username: &str) -> Response {
    let csrf = o.csrf(session);
    let cv = view(client, &pending.redirect_uri);
    let user = match &session.record.user_id {
        Some(id) => match o.managed.store.get_user(id).await {
            Ok(u) if !u.disabled => Some(u),
            _ => None,
        },
        None => None,
    };
    let user = match user {
        Some(u) => match o.with_group_rules(u).await {
            Ok(u) => Some(u),
            Err(e) => return store_failed(OAuthError::server(e)),
        },
        None => None,
    };
    let Some(user) = user else {
        let oidc = o.upstream.as_ref().map(|_| "your company account");
        let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
        return page(status, pages::login(&pages::LoginPage { request: handle, csrf: &csrf, client: &cv, error, username, oidc }));
    };
    match consent_page(o, &user, handle, &csrf, pending, &cv, error).await {
        Ok(html) => page(if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, html),
        Err(resp) => resp,
    }
}

/// The accounts `user` may choose for `resource`: for a managed server, its account
/// (if the user has a rule for it); for `/mcp`, every account they have a rule for.
async fn choices(o: &OAuth, user: &User, resource: &str) -> Result<(Vec<AccountChoice>, Option<String>, String), Response> {
    let accounts = o.managed.store.list_accounts().await.map_err(|e| store_failed(OAuthError::server(e)))?;
    let allowed = |id: &str| user.access.iter().any(|r| r.account_id == id);
    match o.parse_resource(resource) {
        Some(Resource::Server(id)) => {
            let server = match o.managed.store.resolve_server(&id).await {
                Ok(Some((r, _))) => r.server,
                Ok(None) => return Err(message(StatusCode::BAD_REQUEST, "No such server", "the managed server this application asks for no longer exists")),
                Err(e) => return Err(store_failed(OAuthError::server(e))),
            };
            let account = accounts.into_iter().find(|a| a.id == server.integrated_account_id && allowed(&a.id));
            let Some(a) = account else {
                return Err(message(
                    StatusCode::FORBIDDEN,
                    "No access",
                    &format!("you ({}) may not use the Gumloop account of the server `{}`; ask your administrator", user.username, server.name),
                ));
            };
            Ok((vec![AccountChoice { id: a.id, name: a.name }], Some(server.id), format!("the MCP server “{}”", server.name)))
        }
        _ => {
            let list: Vec<AccountChoice> = accounts.into_iter().filter(|a| allowed(&a.id)).map(|a| AccountChoice { id: a.id, name: a.name }).collect();
            if list.is_empty() {
                return Err(message(
                    StatusCode::FORBIDDEN,
                    "No access",
                    &format!("you ({}) may not use any Gumloop account here; ask your administrator", user.username),
                ));
            }
            Ok((list, None, "all Gumloop tools (/mcp)".to_owned()))
        }
    }
}

fn tags_for(o: &OAuth, user: &User) -> Vec<String> {
    let mut tags: BTreeSet<&str> = o.tools.iter().flat_map(|t| t.tags.iter().copied()).collect();
    // Rules that name tags limit the choice to the tags of some rule.
    let named: BTreeSet<&str> = user.access.iter().flat_map(|r| r.tags.iter().flatten().map(String::as_str)).collect();
    if !named.is_empty() && user.access.iter().all(|r| r.tags.as_ref().is_some_and(|t| !t.is_empty())) {
        tags.retain(|t| named.contains(t));
    }
    tags.into_iter().map(str::to_owned).collect()
}

async fn consent_page(
    o: &OAuth,
    user: &User,
    handle: &str,
    csrf: &str,
    pending: &PendingRequest,
    cv: &ClientView,
    error: Option<&str>,
) -> Result<String, Response> {
    let (accounts, _, label) = choices(o, user, &pending.resource).await?;
    let requested: BTreeSet<&str> = pending.scope.split(' ').collect();
    let scopes = scopes::SCOPES.iter().filter(|s| requested.contains(s.0)).map(|s| ScopeChoice { name: s.0, description: s.2, checked: true }).collect();
    Ok(pages::consent(&pages::ConsentPage {
        request: handle,
        csrf,
        client: cv,
        user: &user.username,
        resource: &label,
        accounts,
        scopes,
        tags: tags_for(o, user),
        error,
    }))
}

/// `POST /oauth/login`.
pub async fn login(State(o): State<Shared>, req: Request) -> Response {
    let (headers, form, addr) = match form_of(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let session = match o.session(&headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Sign-in expired",
                "your browser did not send this page's cookie (cookies must be on); start again from the application",
            );
        }
        Err(e) => return store_failed(e),
    };
    if !o.csrf_ok(&session, form.one("csrf").ok().flatten()) {
        return message(StatusCode::FORBIDDEN, "Refused", "the form's CSRF token is missing or wrong; reload the page and try again");
    }
    let handle = form.one("request").ok().flatten().map(str::to_owned);
    let username = form.one("username").ok().flatten().unwrap_or_default().trim().to_owned();
    let secret = form.one("password").ok().flatten().unwrap_or_default().to_owned();
    let retry = |error: &str| {
        let error = error.to_owned();
        let (o, headers, handle, username) = (o.clone(), headers.clone(), handle.clone(), username.clone());
        async move {
            match handle {
                Some(h) => resume(&o, &headers, &h, Some(&error), &username).await,
                None => match o.session(&headers).await {
                    Ok(Some(s)) => page(
                        StatusCode::UNAUTHORIZED,
                        pages::grants_login(&o.csrf(&s), Some(&error), &username, o.upstream.as_ref().map(|_| "your company account")),
                    ),
                    _ => message(StatusCode::BAD_REQUEST, "Sign-in expired", "start again"),
                },
            }
        }
    };
    if let Err(wait) = o.limiter.check(&username, addr) {
        let mut resp = retry(&format!("too many failed sign-in attempts; try again in {} s", wait.as_secs().max(1))).await;
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return resp;
    }
    let found = match o.managed.store.find_user(&username).await {
        Ok(f) => f,
        Err(e) => return store_failed(OAuthError::server(e)),
    };
    // Unknown users verify against a decoy, so their answer takes as long.
    let (user, hash) = match found {
        Some((u, Some(h))) if !u.disabled && u.source == crate::managed::store::oauth::UserSource::Local => (Some(u), h),
        _ => (None, password::decoy().to_owned()),
    };
    let ok = tokio::task::spawn_blocking(move || password::verify(&secret, &hash)).await.unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        o.limiter.failed(&username, addr);
        tracing::info!(reason = "wrong_credentials", "oauth: a sign-in was refused");
        return retry("wrong user name or password").await;
    };
    o.limiter.succeeded(&username);
    signed_in(&o, &session, &user, handle.as_deref()).await
}

/// Replaces `old` with a signed-in session for `user` (a fresh cookie, so a session
/// fixed before sign-in is worth nothing after), moves the pending request over to it,
/// and sends the browser on to consent (or to the grants page).
pub async fn signed_in(o: &OAuth, old: &Session, user: &User, handle: Option<&str>) -> Response {
    let (session, cookie) = match o.start_session(Some(&user.id)).await {
        Ok(s) => s,
        Err(e) => return store_failed(e),
    };
    let _ = o.managed.store.delete_browser_session(&old.hash).await;
    let mut location = "/oauth/grants".to_owned();
    if let Some(h) = handle {
        match o.managed.store.take_pending(&TokenHash::of(h), o.managed.clock.now()).await {
            Ok(Some(p)) if p.session.ct_eq(&old.hash) => {
                let moved = PendingRequest { session: session.hash, ..p };
                let handle = Token::generate("gmpr");
                if let Err(e) = o.managed.store.put_pending(&handle.hash(), &moved).await {
                    return store_failed(OAuthError::server(e));
                }
                location = format!("/oauth/authorize?request={}", handle.reveal());
            }
            Ok(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    "Sign-in expired",
                    "this sign-in has expired or was already decided; start again from the application",
                );
            }
            Err(e) => return store_failed(OAuthError::server(e)),
        }
    }
    tracing::info!(user = user.id, "oauth: signed in");
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `POST /oauth/consent`.
pub async fn consent(State(o): State<Shared>, req: Request) -> Response {
    let (headers, form, _) = match form_of(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let session = match o.session(&headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return message(StatusCode::BAD_REQUEST, "Sign-in expired", "your session has expired; start again from the application"),
        Err(e) => return store_failed(e),
    };
    if !o.csrf_ok(&session, form.one("csrf").ok().flatten()) {
        return message(StatusCode::FORBIDDEN, "Refused", "the form's CSRF token is missing or wrong; reload the page and try again");
    }
    let Some(user_id) = session.record.user_id.clone() else { return message(StatusCode::FORBIDDEN, "Refused", "sign in first") };
    let Some(handle) = form.one("request").ok().flatten().map(str::to_owned) else {
        return message(StatusCode::BAD_REQUEST, "Refused", "the form names no sign-in request");
    };
    let hash = TokenHash::of(&handle);
    let now = o.managed.clock.now();
    let pending = match o.managed.store.get_pending(&hash, now).await {
        Ok(Some(p)) if p.session.ct_eq(&session.hash) => p,
        Ok(_) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Sign-in expired",
                "this request has expired, was already decided, or belongs to another browser; start again from the application",
            );
        }
        Err(e) => return store_failed(OAuthError::server(e)),
    };
    let user = match o.managed.store.get_user(&user_id).await {
        Ok(u) if !u.disabled => u,
        Ok(_) => return message(StatusCode::FORBIDDEN, "Refused", "this user is disabled"),
        Err(e) => return store_failed(OAuthError::server(e)),
    };
    let user = match o.with_group_rules(user).await {
        Ok(u) => u,
        Err(e) => return store_failed(OAuthError::server(e)),
    };
    let decision = form.one("decision").ok().flatten().unwrap_or_default().to_owned();
    if decision != "approve" {
        // Single use: a denied request cannot be approved later.
        return match o.managed.store.take_pending(&hash, now).await {
            Ok(Some(p)) => {
                tracing::info!(user = user.id, client = p.client_id, "oauth: access denied by the user");
                redirect_error(&p.redirect_uri, p.state.as_deref(), &o.issuer, "access_denied", "the user denied access")
            }
            Ok(None) => message(StatusCode::BAD_REQUEST, "Already decided", "this request was already decided"),
            Err(e) => store_failed(OAuthError::server(e)),
        };
    }
    let (accounts, server_id, _) = match choices(&o, &user, &pending.resource).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let again = |error: String| {
        let (o, headers, handle) = (o.clone(), headers.clone(), handle.clone());
        async move { resume(&o, &headers, &handle, Some(&error), "").await }
    };
    let account = form.one("account").ok().flatten().unwrap_or_default().to_owned();
    if !accounts.iter().any(|a| a.id == account) {
        return again(format!("choose one of the accounts offered (not `{}`)", crate::text::clip(&account, 60))).await;
    }
    let requested: BTreeSet<&str> = pending.scope.split(' ').collect();
    let chosen: BTreeSet<&str> = form.all("scope").into_iter().collect();
    if chosen.is_empty() {
        return again("tick at least one thing the application may do, or deny".into()).await;
    }
    if let Some(extra) = chosen.iter().find(|s| !requested.contains(*s)) {
        return again(format!("`{}` was not asked for", crate::text::clip(extra, 40))).await;
    }
    let known = tags_for(&o, &user);
    let tags: Vec<String> = form.all("tag").into_iter().map(str::to_owned).collect();
    if let Some(bad) = tags.iter().find(|t| !known.contains(t)) {
        return again(format!("unknown area `{}`", crate::text::clip(bad, 40))).await;
    }
    let pending = match o.managed.store.take_pending(&hash, now).await {
        Ok(Some(p)) => p,
        Ok(None) => return message(StatusCode::BAD_REQUEST, "Already decided", "this request was already decided"),
        Err(e) => return store_failed(OAuthError::server(e)),
    };
    let scope_set: BTreeSet<&str> = chosen.iter().filter_map(|s| scopes::SCOPES.iter().find(|k| k.0 == *s).map(|k| k.0)).collect();
    let grant = NewGrant {
        user_id: user.id.clone(),
        client_id: pending.client_id.clone(),
        resource: pending.resource.clone(),
        account_id: account,
        server_id,
        scope: scopes::join(&scope_set),
        methods: scopes::methods(&scope_set),
        tags: (!tags.is_empty()).then_some(tags),
    };
    let code = Token::generate("gmoc");
    let record = CodeRecord {
        grant_id: String::new(),
        client_id: pending.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        code_challenge: pending.code_challenge.clone(),
        expires_at: now + SignedDuration::try_from(o.config.code_ttl).unwrap_or(SignedDuration::from_mins(1)),
    };
    let grant = match o.managed.store.create_grant(grant, &code.hash(), &record, now).await {
        Ok(g) => g,
        Err(e) => return store_failed(OAuthError::server(e)),
    };
    tracing::info!(user = user.id, client = grant.client_id, grant = grant.id, scope = grant.scope, "oauth: access granted");
    let mut params = vec![("code", code.reveal())];
    if let Some(s) = pending.state.as_deref() {
        params.push(("state", s));
    }
    params.push(("iss", o.issuer.as_str()));
    redirect_with(&pending.redirect_uri, &params)
}

/// `GET /oauth/grants`: the signed-in user's grants (or a sign-in form).
pub async fn grants(State(o): State<Shared>, headers: HeaderMap) -> Response {
    grants_page(&o, &headers, None).await
}

async fn grants_page(o: &OAuth, headers: &HeaderMap, notice: Option<&str>) -> Response {
    let (session, cookie) = match o.session(headers).await {
        Ok(Some(s)) => (s, None),
        Ok(None) => match o.start_session(None).await {
            Ok((s, c)) => (s, Some(c)),
            Err(e) => return store_failed(e),
        },
        Err(e) => return store_failed(e),
    };
    let csrf = o.csrf(&session);
    let user = match &session.record.user_id {
        Some(id) => o.managed.store.get_user(id).await.ok().filter(|u| !u.disabled),
        None => None,
    };
    let mut resp = match user {
        None => page(StatusCode::OK, pages::grants_login(&csrf, None, "", o.upstream.as_ref().map(|_| "your company account"))),
        Some(user) => {
            let (list, clients, accounts) =
                match (o.managed.store.list_grants(Some(&user.id)).await, o.managed.store.list_clients().await, o.managed.store.list_accounts().await) {
                    (Ok(l), Ok(c), Ok(a)) => (l, c, a),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return store_failed(OAuthError::server(e)),
                };
            let rows = list
                .into_iter()
                .map(|g| pages::GrantRow {
                    client: clients.iter().find(|c| c.client_id == g.client_id).map_or_else(|| g.client_id.clone(), |c| c.name.clone()),
                    account: accounts.iter().find(|a| a.id == g.account_id).map_or_else(|| g.account_id.clone(), |a| a.name.clone()),
                    resource: g.resource.strip_prefix(&o.issuer).unwrap_or(&g.resource).to_owned(),
                    scope: g.scope.clone(),
                    created_at: g.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                    revoked_at: g.revoked_at.map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string()),
                    id: g.id,
                })
                .collect();
            page(StatusCode::OK, pages::grants(&pages::GrantsPage { csrf: &csrf, user: &user.username, grants: rows, notice }))
        }
    };
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// `POST /oauth/grants/revoke`.
pub async fn revoke_grant(State(o): State<Shared>, req: Request) -> Response {
    let (headers, form, _) = match form_of(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(Some(session)) = o.session(&headers).await else { return message(StatusCode::FORBIDDEN, "Refused", "sign in first") };
    if !o.csrf_ok(&session, form.one("csrf").ok().flatten()) {
        return message(StatusCode::FORBIDDEN, "Refused", "the form's CSRF token is missing or wrong; reload the page and try again");
    }
    let Some(user_id) = session.record.user_id.clone() else { return message(StatusCode::FORBIDDEN, "Refused", "sign in first") };
    let id = form.one("grant").ok().flatten().unwrap_or_default().to_owned();
    match o.managed.store.get_grant(&id).await {
        Ok(g) if g.user_id == user_id => {}
        _ => return message(StatusCode::NOT_FOUND, "No such grant", "you have no grant with this id"),
    }
    if let Err(e) = o.managed.store.revoke_grant(&id, o.managed.clock.now()).await {
        return store_failed(OAuthError::server(e));
    }
    tracing::info!(user = user_id, grant = id, "oauth: grant revoked by its user");
    grants_page(&o, &headers, Some("Revoked: the application's tokens stopped working.")).await
}

/// `POST /oauth/logout`.
pub async fn logout(State(o): State<Shared>, req: Request) -> Response {
    let (headers, form, _) = match form_of(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Ok(Some(session)) = o.session(&headers).await {
        if !o.csrf_ok(&session, form.one("csrf").ok().flatten()) {
            return message(StatusCode::FORBIDDEN, "Refused", "the form's CSRF token is missing or wrong");
        }
        let _ = o.managed.store.delete_browser_session(&session.hash).await;
    }
    let mut resp = page(StatusCode::OK, pages::signed_out());
    resp.headers_mut().append(header::SET_COOKIE, o.clear_cookie());
    resp
}
