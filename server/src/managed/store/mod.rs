//! The durable store behind managed MCP servers: API tokens, connected accounts,
//! scoped servers and the audit trail of tool calls.
//!
//! [`Store`] is a small async trait with two backends: [`SqliteStore`], the embedded
//! default (one process), and [`PostgresStore`], shared by several replicas
//! (`--database-url`). Both keep the same schema, run versioned append-only migrations
//! at start-up, keep a key check so a wrong secret is refused at start-up, and time each
//! operation (`timing`). The store owns secrecy at
//! rest: callers hand it plain credentials and get plain credentials back, while it
//! keeps Gumloop keys sealed and tokens hashed. Every read of a token checks the
//! database, so a revocation by another process (the CLI) takes effect at once.

mod common;
pub mod oauth;
mod postgres;
mod sqlite;
mod timing;

use jiff::Timestamp;
use serde::Serialize;

pub use oauth::OAuthStore;
pub use postgres::{DatabaseUrl, PgBus, PostgresStore};
pub use sqlite::SqliteStore;
pub use timing::STORE_SECONDS;

use crate::managed::filter::McpServerConfig;
use crate::managed::secrets::{SecretError, Token, TokenHash};
use crate::upstream::credential::Credential;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record (an unknown id, or a server that belongs to another account).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// PostgreSQL refused a statement (the database answers, the request was wrong).
    #[error("database: {0}")]
    Postgres(String),
    /// The secret key is not the one the database's accounts are sealed with.
    #[error(
        "the secret key does not match the key check stored in the database: this database's Gumloop keys were sealed with another key. \
         Start with the key it was set up with (with --database-url: the GUMLOOP_MCP_SECRET_KEY every other replica uses; \
         otherwise the data directory's backed-up secret.key, or the GUMLOOP_MCP_SECRET_KEY used before). Nothing was changed"
    )]
    KeyMismatch,
    /// A migration cannot be applied.
    #[error("database schema: {0}")]
    Schema(String),
    /// The database files cannot be created or protected.
    #[error("database file: {0}")]
    File(String),
    /// A malformed argument, such as a cursor this store did not issue.
    #[error("{0}")]
    Invalid(String),
    /// The database cannot be reached (down, or the connection was lost); the request
    /// may succeed later, and nothing was written.
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
    /// A sealed secret does not open.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An API token's public record (the token itself is never stored).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiToken {
    /// `tok_…`.
    pub id: String,
    /// What it is for.
    pub name: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

/// A connected Gumloop account (its key stays inside the store).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Account {
    /// `acct_…`.
    pub id: String,
    /// A label.
    pub name: String,
    /// The Gumloop ids calls are made with.
    pub gumloop: AccountIds,
    /// When it was connected.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// The non-secret parts of a Gumloop credential.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AccountIds {
    /// Sent as `x-auth-key`, filled into `user_id` parameters.
    pub user_id: Option<String>,
    /// A team key's team.
    pub team_id: Option<String>,
    /// The legacy workspace.
    pub project_id: Option<String>,
}

/// A new connected account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// A label.
    pub name: String,
    /// The Gumloop credential (its key is sealed before it is written).
    pub credential: Credential,
}

/// A managed MCP server: a scoped URL token for one account.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct McpServer {
    /// `mcp_…`.
    pub id: String,
    /// A label.
    pub name: String,
    /// Filters and options.
    pub config: McpServerConfig,
    /// The account it calls Gumloop as.
    pub integrated_account_id: String,
    /// After this instant the URL is refused.
    pub expires_at: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl McpServer {
    /// Whether the server has expired at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// Changes to a server; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ServerPatch {
    /// A new label.
    pub name: Option<String>,
    /// A new config.
    pub config: Option<McpServerConfig>,
    /// `Some(None)` removes the expiry.
    pub expires_at: Option<Option<Timestamp>>,
}

pub use crate::mcp::scope::CallOutcome;

/// One audited tool call (never its arguments).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallRecord {
    /// When the call was answered.
    pub at: Timestamp,
    /// The managed server it came through.
    pub mcp_server_id: String,
    /// The tool name as called (truncated to 128 characters).
    pub tool: String,
    /// What it came to.
    pub outcome: CallOutcome,
    /// Time from receiving the call to answering it.
    pub latency_ms: f64,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items.
    pub result: Vec<T>,
    /// Pass back to get the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A managed server resolved from its URL token, ready to serve.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The server.
    pub server: McpServer,
    /// The account's credential, unsealed.
    pub credential: Credential,
}

/// The storage operations.
#[async_trait::async_trait]
pub trait Store: OAuthStore + Send + Sync + 'static {
    /// Issues an API token; the token is returned only here.
    async fn create_api_token(&self, name: &str, now: Timestamp) -> Result<(ApiToken, Token)>;
    /// Every API token, oldest first.
    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Revokes a token (idempotent); `NotFound` for an unknown id.
    async fn revoke_api_token(&self, id: &str, now: Timestamp) -> Result<ApiToken>;
    /// Whether `hash` is a live (unrevoked) API token.
    async fn verify_api_token(&self, hash: &TokenHash) -> Result<bool>;
    /// How many API tokens exist, revoked ones included.
    async fn count_api_tokens(&self) -> Result<u64>;

    /// Connects an account.
    async fn create_account(&self, account: NewAccount, now: Timestamp) -> Result<Account>;
    /// Every account, oldest first.
    async fn list_accounts(&self) -> Result<Vec<Account>>;
    /// One account.
    async fn get_account(&self, id: &str) -> Result<Account>;
    /// Removes an account and its servers.
    async fn delete_account(&self, id: &str) -> Result<()>;

    /// Creates a server; the token is returned only here.
    async fn create_server(
        &self,
        account_id: &str,
        name: &str,
        config: &McpServerConfig,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(McpServer, Token)>;
    /// An account's servers, oldest first.
    async fn list_servers(&self, account_id: &str) -> Result<Vec<McpServer>>;
    /// Every server, oldest first.
    async fn list_all_servers(&self) -> Result<Vec<McpServer>>;
    /// One server of an account.
    async fn get_server(&self, account_id: &str, id: &str) -> Result<McpServer>;
    /// Changes a server.
    async fn update_server(&self, account_id: &str, id: &str, patch: &ServerPatch, now: Timestamp) -> Result<McpServer>;
    /// Removes a server of an account.
    async fn delete_server(&self, account_id: &str, id: &str) -> Result<()>;
    /// Removes a server by id alone (the CLI's `server revoke`).
    async fn delete_server_by_id(&self, id: &str) -> Result<()>;
    /// The server a URL token opens, whether expired or not (the caller decides), with
    /// its account's credential. `None` for an unknown token.
    async fn resolve_token(&self, hash: &TokenHash) -> Result<Option<Resolved>>;
    /// A server by id, whether expired or not, with its account's credential and its
    /// token's hash (work resumed on its behalf, such as an adopted task). `None` for an
    /// unknown id.
    async fn resolve_server(&self, id: &str) -> Result<Option<(Resolved, TokenHash)>>;
    /// An account's credential, unsealed (work resumed for an OAuth grant on `/mcp`).
    /// `None` for an unknown id.
    async fn account_credential(&self, id: &str) -> Result<Option<Credential>>;
    /// Deletes servers expired at `now`; returns how many.
    async fn sweep_expired(&self, now: Timestamp) -> Result<usize>;

    /// Appends audit records in one transaction.
    async fn record_calls(&self, records: &[CallRecord]) -> Result<()>;
    /// A server's audit records, newest first; `cursor` comes from the previous page.
    async fn list_calls(&self, mcp_server_id: &str, cursor: Option<&str>, limit: usize) -> Result<Page<CallRecord>>;
    /// Deletes audit records older than `before`; returns how many.
    async fn prune_calls(&self, before: Timestamp) -> Result<usize>;

    /// Readiness: the database answers and its schema is current.
    async fn ping(&self) -> Result<()>;
}

impl CallOutcome {
    /// Its stored spelling.
    pub fn name(self) -> &'static str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests;
