//! Sign-in with OAuth 2.1: the resource-server side of `/mcp` and managed servers
//! ([`resource`]), and a built-in authorization server (metadata, client registration,
//! authorization code with PKCE, tokens, revocation) with its sign-in and consent pages.
//!
//! Tokens are opaque and random, stored hashed ([`crate::managed::store::oauth`]); each
//! carries a grant: the account it acts as and the methods and tags it may use, applied
//! through the same [`crate::managed::Admission`] as a URL token's filters.

pub mod cimd;
pub mod oidc;
pub mod pages;

use std::time::Duration;

pub use crate::managed::filter::AuthMode;

/// Lifetimes and policies of the authorization server.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The server-wide mode (a managed server's config may override it).
    pub mode: AuthMode,
    /// How long an access token lives.
    pub access_ttl: Duration,
    /// How long a refresh token lives (each use rotates it).
    pub refresh_ttl: Duration,
    /// How long an authorization code lives.
    pub code_ttl: Duration,
    /// How long a sign-in browser session lives.
    pub session_ttl: Duration,
    /// Client ID Metadata Documents may be fetched from loopback and private
    /// addresses, and over http (tests only; never in production).
    pub cimd_allow_private: bool,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::UrlToken,
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            code_ttl: Duration::from_secs(60),
            session_ttl: Duration::from_secs(12 * 3600),
            cimd_allow_private: false,
        }
    }
}

pub mod authorize;
pub mod browser;
pub mod clients;
pub mod delegated;
pub mod errors;
pub mod limiter;
pub mod metadata;
pub mod register;
pub mod resource;
pub mod scopes;
pub mod token;

use std::sync::Arc;

use gumloop_mcp_runtime::ToolDescriptor;

use crate::managed::Managed;

/// The authorization server's and resource server's shared state.
pub struct OAuth {
    /// Lifetimes, mode and policies.
    pub config: OAuthConfig,
    /// Store, clock, audit, public URL.
    pub managed: Managed,
    /// The issuer: the public base URL, no trailing slash.
    pub issuer: String,
    /// Keys CSRF tokens and sealed cookies (derived from the secret every replica shares).
    pub key: [u8; 32],
    /// The catalogue grants are filtered from.
    pub tools: &'static [&'static ToolDescriptor],
    /// Fetches Client ID Metadata Documents.
    pub cimd: cimd::Fetcher,
    /// Bounds sign-in attempts per user and per address.
    pub limiter: limiter::SignInLimiter,
    /// The company's OpenID provider, when sign-in is delegated.
    pub upstream: Option<oidc::Upstream>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth").field("issuer", &self.issuer).field("mode", &self.config.mode).finish_non_exhaustive()
    }
}

impl OAuth {
    /// The state for `managed`, keyed by `key` (see [`crate::managed::secrets::SealingKey::derive`]).
    pub fn new(config: OAuthConfig, managed: Managed, key: [u8; 32], tools: &'static [&'static ToolDescriptor], upstream: Option<oidc::Upstream>) -> Arc<Self> {
        let issuer = managed.public_url.trim_end_matches('/').to_owned();
        let cimd = cimd::Fetcher::new(config.cimd_allow_private);
        Arc::new(Self { config, managed, issuer, key, tools, cimd, limiter: limiter::SignInLimiter::default(), upstream })
    }

    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The label the OAuth key is derived under.
pub const KEY_LABEL: &str = "gumloop-mcp/oauth/v1";

/// The authorization server's routes (the resource side is wired by `crate::http`).
pub fn routes(o: Arc<OAuth>) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata::authorization_server))
        .route("/.well-known/oauth-protected-resource", get(resource::root_metadata))
        .route("/.well-known/oauth-protected-resource/mcp", get(resource::mcp_metadata))
        .route("/.well-known/oauth-protected-resource/mcp/servers/{id}", get(resource::server_metadata))
        .route("/oauth/authorize", get(authorize::authorize))
        .route("/oauth/login", post(authorize::login))
        .route("/oauth/consent", post(authorize::consent))
        .route("/oauth/logout", post(authorize::logout))
        .route("/oauth/grants", get(authorize::grants))
        .route("/oauth/grants/revoke", post(authorize::revoke_grant))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(token::revoke))
        .route("/oauth/register", post(register::register))
        .route("/oauth/upstream/start", get(delegated::start))
        .route("/oauth/upstream/callback", get(delegated::callback))
        .with_state(o)
}
