//! The resource-server side: protected resource metadata (RFC 9728), the `401`/`403`
//! challenges, and the bearer check in front of `/mcp` and `/mcp/servers/{id}`.
//!
//! A managed server's resource identifier is `<base>/mcp/servers/<id>`, built from its
//! public id, never from its URL token: metadata, `WWW-Authenticate` and the `resource`
//! a client sends to the authorization server are all seen by third parties (the
//! client's vendor, logs), and the secret URL must stay secret.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::managed::filter::McpServerConfig;
use crate::managed::secrets::TokenHash;
use crate::managed::store::StoreError;
use crate::managed::store::oauth::ResolvedGrant;
use crate::managed::{Admission, GrantScope, ScopeToken, bearer};
use crate::oauth::{OAuth, scopes};

/// The path of a managed server's OAuth endpoint.
pub fn server_path(id: &str) -> String {
    format!("/mcp/servers/{id}")
}

/// [`OAuth::parse_resource`] against an issuer.
fn parse_against(issuer: &str, text: &str) -> Option<Resource> {
    let url = url::Url::parse(text).ok()?;
    let base = url::Url::parse(issuer).ok()?;
    if url.fragment().is_some() || url.query().is_some() || url.origin() != base.origin() || !url.username().is_empty() {
        return None;
    }
    let path = url.path().trim_end_matches('/');
    let rest = path.strip_prefix(base.path().trim_end_matches('/'))?;
    match rest {
        "" | "/mcp" => Some(Resource::Mcp),
        _ => {
            let id = rest.strip_prefix("/mcp/servers/")?;
            (!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then(|| Resource::Server(id.to_owned()))
        }
    }
}

/// What a resource identifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/mcp`.
    Mcp,
    /// A managed server's OAuth endpoint.
    Server(String),
}

impl OAuth {
    /// The canonical identifier of `resource`.
    pub fn resource_id(&self, resource: &Resource) -> String {
        match resource {
            Resource::Mcp => self.url("/mcp"),
            Resource::Server(id) => self.url(&server_path(id)),
        }
    }

    /// Reads a client's `resource` (RFC 8707): this server's base (the root metadata's
    /// identifier, standing for `/mcp`), `/mcp`, or a managed server's endpoint. Scheme and
    /// host compare case-insensitively; a trailing slash is ignored; a fragment, a query or
    /// another origin is refused.
    pub fn parse_resource(&self, text: &str) -> Option<Resource> {
        parse_against(&self.issuer, text)
    }

    /// The metadata URL for a resource path (`/mcp`, `/mcp/servers/<id>`).
    fn metadata_url(&self, path: &str) -> String {
        self.url(&format!("/.well-known/oauth-protected-resource{path}"))
    }

    fn metadata(&self, resource: String, name: &str) -> serde_json::Value {
        json!({
            "resource": resource,
            "authorization_servers": [self.issuer],
            "scopes_supported": scopes::SCOPES.iter().map(|s| s.0).collect::<Vec<_>>(),
            "bearer_methods_supported": ["header"],
            "resource_name": name,
        })
    }
}

fn metadata_response(body: serde_json::Value) -> Response {
    let mut resp = axum::Json(body).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp
}

/// `GET /.well-known/oauth-protected-resource` (the root form: this server's base).
pub async fn root_metadata(State(o): State<Arc<OAuth>>) -> Response {
    metadata_response(o.metadata(o.issuer.clone(), "Gumloop"))
}

/// `GET /.well-known/oauth-protected-resource/mcp`.
pub async fn mcp_metadata(State(o): State<Arc<OAuth>>) -> Response {
    metadata_response(o.metadata(o.resource_id(&Resource::Mcp), "Gumloop"))
}

/// `GET /.well-known/oauth-protected-resource/mcp/servers/{id}`: only for a server that
/// exists, has not expired, and signs in with OAuth.
pub async fn server_metadata(State(o): State<Arc<OAuth>>, Path(id): Path<String>) -> Response {
    match o.managed.store.resolve_server(&id).await {
        Ok(Some((r, _))) if !r.server.expired(o.managed.clock.now()) && o.mode_of(&r.server.config).oauth() => {
            metadata_response(o.metadata(o.resource_id(&Resource::Server(id)), &format!("Gumloop: {}", r.server.name)))
        }
        Ok(_) => crate::managed::admin::not_found().await.into_response(),
        Err(e) => unavailable(&e),
    }
}

impl OAuth {
    /// A server's effective mode: its own, else the server-wide one.
    pub fn mode_of(&self, config: &McpServerConfig) -> crate::oauth::AuthMode {
        config.auth.unwrap_or(self.config.mode)
    }
}

/// Why a bearer was refused.
enum Refused {
    /// No token: the challenge without an error code (RFC 6750 §3.1).
    Missing,
    /// A token that is not (or no longer) good for this resource.
    Invalid(&'static str),
    /// The store failed.
    Store(StoreError),
}

fn challenge(o: &OAuth, path: &str, refused: Refused) -> Response {
    let metadata = o.metadata_url(path);
    let scope = scopes::all();
    let (value, message) = match &refused {
        Refused::Missing => (
            format!("Bearer resource_metadata=\"{metadata}\", scope=\"{scope}\""),
            "this MCP endpoint requires signing in: send `Authorization: Bearer <access token>`",
        ),
        Refused::Invalid(why) => {
            (format!("Bearer error=\"invalid_token\", error_description=\"{why}\", resource_metadata=\"{metadata}\", scope=\"{scope}\""), *why)
        }
        Refused::Store(e) => return unavailable(e),
    };
    let code = if matches!(refused, Refused::Missing) { "unauthorized" } else { "invalid_token" };
    let mut resp = (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    // The challenge is sent without reading the request's body (an unknown caller's body is
    // not read), and hyper then closes the connection without saying so. A client that
    // reuses it for its discovery request right after the 401 (the Python SDK does) races
    // that close and fails with "server disconnected"; saying so makes it reconnect.
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn unavailable(e: &StoreError) -> Response {
    tracing::error!("oauth: resolving an access token failed: {e}");
    let (status, code, message) = match e {
        StoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server's database cannot be reached; retry shortly"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "the server's store failed; see its log"),
    };
    let mut resp = (status, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    resp
}

/// Resolves the request's bearer as an access token for `resource`.
async fn grant_for(o: &OAuth, token: Option<String>, resource: &Resource) -> Result<ResolvedGrant, Refused> {
    let token = token.ok_or(Refused::Missing)?;
    let now = o.managed.clock.now();
    let resolved = o.managed.store.resolve_access_token(&TokenHash::of(&token), now).await.map_err(Refused::Store)?;
    let g = resolved.ok_or(Refused::Invalid("the access token is unknown, expired or revoked"))?;
    if g.grant.resource != o.resource_id(resource) {
        return Err(Refused::Invalid("the access token was issued for another resource"));
    }
    // An OIDC user's access includes their groups' rules as they are now.
    let user = o.with_group_rules(g.user).await.map_err(Refused::Store)?;
    Ok(ResolvedGrant { user, ..g })
}

/// The filters a grant applies besides a server's ([`GrantScope::of`]): its scope and
/// tags (all must allow), and the user's current rules for its account (one must allow).
pub fn grant_filters(g: &ResolvedGrant) -> Option<(Vec<McpServerConfig>, Vec<McpServerConfig>)> {
    GrantScope::of(&g.grant, &g.user).map(|s| (s.filters, s.rules))
}

/// The scope a tool needs, when the grant's scope is all that hides it from this
/// request: the server's filters and one of the user's rules show it, and so would the grant's
/// tags. Then the answer is a step-up (403 `insufficient_scope`), not "unknown tool".
fn missing_scope(o: &OAuth, g: &ResolvedGrant, server: Option<&McpServerConfig>, tool: &str) -> Option<&'static str> {
    let d = o.tools.iter().find(|t| t.name == tool)?;
    let group = match d.kind {
        gumloop_mcp_runtime::MethodKind::List | gumloop_mcp_runtime::MethodKind::Get => "read",
        gumloop_mcp_runtime::MethodKind::Create | gumloop_mcp_runtime::MethodKind::Update | gumloop_mcp_runtime::MethodKind::Delete => "write",
        gumloop_mcp_runtime::MethodKind::Custom => "custom",
    };
    let (filters, rules) = grant_filters(g)?;
    let grant = &filters[0];
    let tags_only = McpServerConfig { tags: grant.tags.clone(), ..McpServerConfig::default() };
    let shown_otherwise = server.is_none_or(|c| c.allows(d)) && rules.iter().any(|r| r.allows(d)) && tags_only.allows(d);
    (shown_otherwise && !grant.allows(d)).then(|| scopes::for_group(group)).flatten()
}

/// The tool a JSON-RPC `tools/call` body names.
fn called_tool(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Params {
        name: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Call {
        method: Option<String>,
        params: Option<Params>,
    }
    let call: Call = serde_json::from_slice(body).ok()?;
    (call.method.as_deref() == Some("tools/call")).then_some(call.params?.name).flatten()
}

/// Reads the body (bounded as the screen bounds it) and answers a step-up when the call
/// needs a scope the grant lacks; otherwise gives the request back whole.
async fn step_up(o: &OAuth, g: &ResolvedGrant, server: Option<&McpServerConfig>, path: &str, req: Request) -> Result<Request, Response> {
    if req.method() != axum::http::Method::POST {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::http::screen::MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, axum::Json(json!({"error": {"code": "too_large", "message": "the request body is too large"}})))
                .into_response());
        }
    };
    if let Some(needed) = called_tool(&bytes).and_then(|t| missing_scope(o, g, server, &t).map(|s| (t, s))) {
        let (tool, scope) = needed;
        let mut all: Vec<&str> = g.grant.scope.split(' ').filter(|s| !s.is_empty()).collect();
        all.push(scope);
        let wanted = scopes::join(&all.into_iter().collect());
        let description = format!("{} needs the scope {scope}", crate::text::clip(&tool, 80));
        let value = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{wanted}\", resource_metadata=\"{}\", error_description=\"{description}\"",
            o.metadata_url(path)
        );
        let mut resp =
            (StatusCode::FORBIDDEN, axum::Json(json!({"error": {"code": "insufficient_scope", "message": description, "scope": wanted}}))).into_response();
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        return Err(resp);
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// Middleware for `/mcp` when OAuth is on: a token whose grant names an account.
pub async fn require_mcp(State(o): State<Arc<OAuth>>, req: Request, next: Next) -> Response {
    let token = bearer(req.headers()).map(str::to_owned);
    let g = match grant_for(&o, token, &Resource::Mcp).await {
        Ok(g) => g,
        Err(r) => return challenge(&o, "/mcp", r),
    };
    let Some((filters, rules)) = grant_filters(&g) else { return challenge(&o, "/mcp", Refused::Invalid("the grant's user may no longer use its account")) };
    let mut req = match step_up(&o, &g, None, "/mcp", req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let admission = Admission {
        server_id: g.grant.id.clone(),
        config: Arc::new(McpServerConfig::default()),
        credential: Arc::new(g.credential),
        audit: o.managed.audit.clone(),
        clock: o.managed.clock.clone(),
        token: ScopeToken(TokenHash([0; 32])),
        grant: Some(Arc::new(GrantScope { id: g.grant.id, filters, rules })),
    };
    req.extensions_mut().insert(admission.into_scope());
    next.run(req).await
}

/// Middleware for `/mcp/servers/{id}`: a token whose grant is for this server, which
/// must still exist, be unexpired and sign in with OAuth.
pub async fn require_server(State(o): State<Arc<OAuth>>, req: Request, next: Next) -> Response {
    let id = req.uri().path().strip_prefix("/mcp/servers/").unwrap_or_default().trim_end_matches('/').to_owned();
    let path = server_path(&id);
    let token = bearer(req.headers()).map(str::to_owned);
    let g = match grant_for(&o, token, &Resource::Server(id.clone())).await {
        Ok(g) => g,
        Err(Refused::Missing) => {
            // Only a server that signs in with OAuth is challenged; any other is not here.
            return match o.managed.store.resolve_server(&id).await {
                Ok(Some((r, _))) if !r.server.expired(o.managed.clock.now()) && o.mode_of(&r.server.config).oauth() => challenge(&o, &path, Refused::Missing),
                Ok(_) => crate::managed::admin::not_found().await.into_response(),
                Err(e) => unavailable(&e),
            };
        }
        Err(r) => return challenge(&o, &path, r),
    };
    let (Some(server), Some(token)) = (g.server.clone(), g.server_token) else {
        return challenge(&o, &path, Refused::Invalid("the access token was issued for another resource"));
    };
    if server.id != id || !o.mode_of(&server.config).oauth() {
        return challenge(&o, &path, Refused::Invalid("this MCP server no longer signs in with OAuth"));
    }
    let Some((filters, rules)) = grant_filters(&g) else { return challenge(&o, &path, Refused::Invalid("the grant's user may no longer use its account")) };
    let mut req = match step_up(&o, &g, Some(&server.config), &path, req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let admission = Admission {
        server_id: server.id.clone(),
        config: Arc::new(server.config.clone()),
        credential: Arc::new(g.credential),
        audit: o.managed.audit.clone(),
        clock: o.managed.clock.clone(),
        token: ScopeToken(token),
        grant: Some(Arc::new(GrantScope { id: g.grant.id, filters, rules })),
    };
    req.extensions_mut().insert(admission.into_scope());
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_read_canonically() {
        let issuer = "http://127.0.0.1:8080";
        let p = |t: &str| super::parse_against(issuer, t);
        assert_eq!(p("http://127.0.0.1:8080/mcp"), Some(Resource::Mcp));
        assert_eq!(p("HTTP://127.0.0.1:8080/mcp/"), Some(Resource::Mcp));
        assert_eq!(p("http://127.0.0.1:8080"), Some(Resource::Mcp));
        assert_eq!(p("http://127.0.0.1:8080/mcp/servers/mcp_0123abcd"), Some(Resource::Server("mcp_0123abcd".into())));
        for bad in [
            "http://127.0.0.1:8081/mcp",
            "https://127.0.0.1:8080/mcp",
            "http://127.0.0.1:8080/mcp#x",
            "http://127.0.0.1:8080/mcp?a=1",
            "http://127.0.0.1:8080/other",
            "http://127.0.0.1:8080/mcp/servers/",
            "http://127.0.0.1:8080/mcp/servers/a/b",
            "not a url",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }
}
