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
pub mod password;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Who may reach an MCP endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// A managed server's secret URL is its credential; `/mcp` serves the configured
    /// account to whoever reaches it (today's behaviour).
    #[default]
    UrlToken,
    /// Only OAuth access tokens: `/mcp` needs a grant naming an account, managed servers
    /// answer on `/mcp/servers/<id>` and their secret URLs are refused.
    #[serde(rename = "oauth")]
    #[value(name = "oauth")]
    OAuth,
    /// Both: secret URLs keep working, and OAuth tokens are accepted too.
    Both,
}

impl AuthMode {
    /// Whether OAuth tokens are accepted.
    pub const fn oauth(self) -> bool {
        matches!(self, AuthMode::OAuth | AuthMode::Both)
    }

    /// Whether a managed server's secret URL opens it.
    pub const fn url_token(self) -> bool {
        matches!(self, AuthMode::UrlToken | AuthMode::Both)
    }
}

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
