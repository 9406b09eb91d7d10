//! What the built-in OAuth 2.1 authorization server keeps: local users and what they may
//! hand to a client, registered clients, consented grants, and the short-lived records
//! of a sign-in (browser sessions, pending authorization requests, codes, tokens).
//!
//! Every secret here (session cookies, pending-request handles, codes, access and
//! refresh tokens, client secrets) is stored only as its SHA-256 [`TokenHash`], as URL
//! tokens are; passwords only as argon2id PHC strings. Both backends implement
//! [`OAuthStore`] with the same semantics, checked by one contract test.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::managed::secrets::TokenHash;
use crate::managed::store::{McpServer, Result};
use crate::upstream::credential::Credential;

/// How a user signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserSource {
    /// A local password (argon2id).
    Local,
    /// The company's OpenID Connect provider; matched by a claim, no password here.
    Oidc,
}

impl UserSource {
    /// Its stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            UserSource::Local => "local",
            UserSource::Oidc => "oidc",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Self {
        if s == "oidc" { UserSource::Oidc } else { UserSource::Local }
    }
}

/// One thing a user may hand to a client: an account, narrowed by methods and tags
/// (the same filter vocabulary as a managed server's config; absent means all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// `acct_…`.
    pub account_id: String,
    /// Method groups or exact method names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// A person who can sign in (or, with `source: oidc`, an OIDC group mapping when
/// `username` starts with `group:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// `usr_…`.
    pub id: String,
    /// The sign-in name (local), or the matched claim's value (OIDC); unique.
    pub username: String,
    /// How they sign in.
    pub source: UserSource,
    /// What they may grant.
    pub access: Vec<AccessRule>,
    /// A disabled user cannot sign in, and their grants stop working.
    pub disabled: bool,
    /// When created.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
    /// An OIDC user's groups as their provider named them at their last sign-in: their
    /// access adds the rules of the `group:<name>` users (empty for local users).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// A new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Unique sign-in name.
    pub username: String,
    /// How they sign in.
    pub source: UserSource,
    /// argon2id PHC string (local users); never a plain password.
    pub password_hash: Option<String>,
    /// What they may grant.
    pub access: Vec<AccessRule>,
}

/// Changes to a user; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// A new argon2id PHC string.
    pub password_hash: Option<String>,
    /// New rules.
    pub access: Option<Vec<AccessRule>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// An OIDC user's groups at this sign-in.
    pub groups: Option<Vec<String>>,
}

/// How a client came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// Created by an operator (CLI or admin API).
    Registered,
    /// RFC 7591 dynamic registration.
    Dynamic,
    /// A Client ID Metadata Document: `client_id` is its https URL (cached copy).
    Metadata,
}

impl ClientKind {
    /// Its stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientKind::Registered => "registered",
            ClientKind::Dynamic => "dynamic",
            ClientKind::Metadata => "metadata",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Self {
        match s {
            "registered" => ClientKind::Registered,
            "metadata" => ClientKind::Metadata,
            _ => ClientKind::Dynamic,
        }
    }
}

/// An OAuth client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    /// `client_id`: `gmcl_…` for registered and dynamic clients, the document URL for
    /// metadata clients.
    pub client_id: String,
    /// The name the consent page shows.
    pub name: String,
    /// Exact redirect URIs (loopback ones match on any port).
    pub redirect_uris: Vec<String>,
    /// How it came to be known.
    pub kind: ClientKind,
    /// `none`, `client_secret_post` or `client_secret_basic`.
    pub token_endpoint_auth_method: String,
    /// When created (for metadata clients: when the document was last fetched).
    pub created_at: Timestamp,
}

/// A new client. `secret` is the hash of a confidential client's secret.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// The client id to use.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Its kind.
    pub kind: ClientKind,
    /// Token endpoint authentication.
    pub token_endpoint_auth_method: String,
    /// The secret's hash, for confidential clients.
    pub secret: Option<TokenHash>,
}

/// What a user consented to: one client, acting as one account on one resource, limited
/// to methods and tags. Tokens carry a grant; revoking it ends them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// `grt_…`.
    pub id: String,
    /// Who consented.
    pub user_id: String,
    /// The client.
    pub client_id: String,
    /// The canonical resource identifier the tokens are for (`<base>/mcp` or
    /// `<base>/mcp/servers/<id>`).
    pub resource: String,
    /// The connected account calls act as.
    pub account_id: String,
    /// The managed server it is for (`None`: `/mcp`).
    pub server_id: Option<String>,
    /// The OAuth scope string granted (space-separated).
    pub scope: String,
    /// The method filter the scope stands for (absent: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// The tag filter chosen at consent (absent: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// When consented.
    pub created_at: Timestamp,
    /// When revoked; a revoked grant authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

/// A grant about to be made (the id is the store's).
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// Who consented.
    pub user_id: String,
    /// The client.
    pub client_id: String,
    /// Canonical resource identifier.
    pub resource: String,
    /// Account.
    pub account_id: String,
    /// Managed server.
    pub server_id: Option<String>,
    /// Scope string.
    pub scope: String,
    /// Method filter.
    pub methods: Option<Vec<String>>,
    /// Tag filter.
    pub tags: Option<Vec<String>>,
}

/// A browser session on the sign-in pages (`user_id` is `None` before sign-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// The signed-in user.
    pub user_id: Option<String>,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// An authorization request waiting for sign-in and consent, bound to one browser
/// session; consumed by the decision (approve or deny), so it works once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    /// The browser session it belongs to (hash of the cookie).
    pub session: TokenHash,
    /// The client.
    pub client_id: String,
    /// The exact redirect URI the code goes to.
    pub redirect_uri: String,
    /// The client's `state`, echoed back.
    pub state: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Canonical resource.
    pub resource: String,
    /// Requested scope (already checked and defaulted).
    pub scope: String,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// An authorization code's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// The grant it redeems into.
    pub grant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI it was sent to.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// When it stops being accepted (about a minute).
    pub expires_at: Timestamp,
}

/// What taking a code came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenCode {
    /// First use: the code is now spent.
    Fresh(CodeRecord),
    /// Already redeemed once: the store has revoked every token issued from it.
    Reused,
    /// Never issued, or expired and swept.
    Unknown,
}

/// An access and refresh token pair to store. A grant's tokens form one refresh
/// family: every pair descends from the grant's one code, so revoking the family is
/// revoking the grant.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// Access token hash.
    pub access: TokenHash,
    /// When the access token expires.
    pub access_expires_at: Timestamp,
    /// Refresh token hash.
    pub refresh: TokenHash,
    /// When the refresh token expires.
    pub refresh_expires_at: Timestamp,
}

/// A live access token, resolved with everything a request needs.
#[derive(Debug, Clone)]
pub struct ResolvedGrant {
    /// The grant (not revoked).
    pub grant: Grant,
    /// The account's credential, unsealed.
    pub credential: Credential,
    /// The managed server, as the store has it now (`None` for `/mcp` grants).
    pub server: Option<McpServer>,
    /// The server's URL-token hash (for work done on its behalf), with `server`.
    pub server_token: Option<TokenHash>,
    /// The user who consented (for disabled checks and display).
    pub user: User,
    /// When the access token expires.
    pub expires_at: Timestamp,
}

/// What presenting a refresh token came to.
// Returned once per refresh and matched at once; boxing the grant would only cost an
// allocation and change what callers match on.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Rotation {
    /// The old refresh token is spent and the new pair stored; here is the grant.
    Rotated(Grant),
    /// The token was already used: its grant (the whole family) is now revoked,
    /// access tokens included.
    Reused,
    /// Unknown, expired, or its grant revoked.
    Invalid,
}

/// The authorization server's storage operations.
#[async_trait::async_trait]
pub trait OAuthStore: Send + Sync {
    /// Creates a user; `Invalid` if the username is taken.
    async fn create_user(&self, user: NewUser, now: Timestamp) -> Result<User>;
    /// Every user, oldest first.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// One user by id.
    async fn get_user(&self, id: &str) -> Result<User>;
    /// A user by username, with their password hash; `None` if unknown.
    async fn find_user(&self, username: &str) -> Result<Option<(User, Option<String>)>>;
    /// Changes a user.
    async fn update_user(&self, id: &str, patch: &UserPatch, now: Timestamp) -> Result<User>;
    /// Removes a user and revokes (deletes) their grants, tokens and browser sessions;
    /// `NotFound` for an unknown id.
    async fn delete_user(&self, id: &str) -> Result<()>;

    /// Creates a client, or replaces a metadata client's cached copy (same id: name,
    /// redirect URIs, auth method and `created_at`; its grants stay). Any other clash of
    /// ids is `Invalid`.
    async fn put_client(&self, client: NewClient, now: Timestamp) -> Result<Client>;
    /// A client by id.
    async fn get_client(&self, client_id: &str) -> Result<Option<Client>>;
    /// Whether `secret` is the client's secret (constant time; false for public clients).
    async fn verify_client_secret(&self, client_id: &str, secret: &TokenHash) -> Result<bool>;
    /// Every client, oldest first.
    async fn list_clients(&self) -> Result<Vec<Client>>;
    /// Removes a client, its grants (and so their tokens) and its pending requests;
    /// `NotFound` for an unknown id.
    async fn delete_client(&self, client_id: &str) -> Result<()>;

    /// Starts (or, with `user_id`, signs in) a browser session under `hash`, replacing
    /// what was stored under it; `NotFound` for an unknown user.
    async fn put_browser_session(&self, hash: &TokenHash, user_id: Option<&str>, expires_at: Timestamp) -> Result<()>;
    /// A live browser session.
    async fn get_browser_session(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<BrowserSession>>;
    /// Ends a browser session (idempotent).
    async fn delete_browser_session(&self, hash: &TokenHash) -> Result<()>;

    /// Stores a pending authorization request under `hash`; `NotFound` for an unknown
    /// client.
    async fn put_pending(&self, hash: &TokenHash, request: &PendingRequest) -> Result<()>;
    /// A live pending request (not consumed).
    async fn get_pending(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<PendingRequest>>;
    /// Consumes a pending request: `Some` exactly once, for a live one.
    async fn take_pending(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<PendingRequest>>;

    /// Records a grant and its authorization code in one transaction. `record.grant_id`
    /// is ignored (the code is stored for the new grant). `NotFound` for an unknown user,
    /// client, account or server; `Invalid` for a server of another account, or a
    /// `record.client_id` that is not the grant's.
    async fn create_grant(&self, grant: NewGrant, code: &TokenHash, record: &CodeRecord, now: Timestamp) -> Result<Grant>;
    /// Takes a code: spent on first use; a second use revokes its grant (and so what
    /// the first use issued), expired or not. An unused code that has expired, or whose
    /// grant was revoked, is `Unknown`.
    async fn take_code(&self, code: &TokenHash, now: Timestamp) -> Result<TakenCode>;
    /// Grants, newest first, revoked ones included: all, or one user's.
    async fn list_grants(&self, user_id: Option<&str>) -> Result<Vec<Grant>>;
    /// One grant; `NotFound` for an unknown id.
    async fn get_grant(&self, id: &str) -> Result<Grant>;
    /// Revokes a grant and every token issued under it (idempotent: a second revocation
    /// keeps the first instant); `NotFound` for an unknown id.
    async fn revoke_grant(&self, id: &str, now: Timestamp) -> Result<Grant>;

    /// Stores a token pair for a grant; `NotFound` for an unknown grant, `Invalid` for a
    /// revoked one (a code replayed meanwhile revoked it: issue nothing).
    async fn issue_tokens(&self, grant_id: &str, tokens: &TokenPair, now: Timestamp) -> Result<()>;
    /// Resolves a live access token: unexpired, unrevoked, its grant live, its user
    /// enabled, its account present and (for server grants) its server present and
    /// unexpired. `None` otherwise; one indexed join.
    async fn resolve_access_token(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<ResolvedGrant>>;
    /// Rotates a refresh token of `client_id`'s: spends `old` and stores `new` for the
    /// same grant in one transaction. Reuse of a spent token revokes the grant (until the
    /// spent token expires and is swept). `Invalid` also for another client's token, an
    /// access token, or a disabled user's; `Invalid` spends nothing.
    async fn rotate_refresh(&self, old: &TokenHash, client_id: &str, new: &TokenPair, now: Timestamp) -> Result<Rotation>;
    /// Revokes a token (RFC 7009): an access token alone, a refresh token with its
    /// grant. Only tokens of `client_id`'s grants are touched; unknown ones are ignored.
    async fn revoke_token(&self, hash: &TokenHash, client_id: &str, now: Timestamp) -> Result<()>;
    /// Deletes expired sessions, pending requests, codes and tokens; returns how many.
    /// Spent refresh tokens are kept until they expire, so their reuse is still seen.
    /// Separate from `Store::sweep_expired`: the caller runs both.
    async fn sweep_oauth(&self, now: Timestamp) -> Result<usize>;
}

/// Users whose name starts with this hold a group's rules (source `oidc`); nobody signs
/// in as one.
pub const GROUP_PREFIX: &str = "group:";

/// `user` with the rules of their groups added: for an OIDC user, the rules of each
/// `group:<name>` user (source `oidc`, not disabled) for the groups of their last
/// sign-in. Anyone else is returned as they are.
pub async fn with_group_rules(store: &(impl OAuthStore + ?Sized), mut user: User) -> Result<User> {
    if user.source != UserSource::Oidc || user.username.starts_with(GROUP_PREFIX) {
        return Ok(user);
    }
    for rules in group_rules(store, &user.groups).await? {
        user.access.extend(rules);
    }
    Ok(user)
}

/// The rules of each group in `groups` that has a `group:<name>` user.
pub async fn group_rules(store: &(impl OAuthStore + ?Sized), groups: &[String]) -> Result<Vec<Vec<AccessRule>>> {
    let mut out = Vec::new();
    for g in groups {
        if let Some((group, _)) = store.find_user(&format!("{GROUP_PREFIX}{g}")).await?
            && group.source == UserSource::Oidc
            && !group.disabled
        {
            out.push(group.access);
        }
    }
    Ok(out)
}
