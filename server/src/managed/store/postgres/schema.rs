//! The PostgreSQL schema: versioned, append-only migrations recorded in
//! `schema_migrations`, applied at start-up under a transaction-scoped advisory lock (so
//! replicas starting together apply each migration once, and the others wait and then
//! find nothing to do), and the key check every replica compares its secret against.

use deadpool_postgres::Client;

use super::{Result, StoreError, pg};
use crate::managed::secrets::SealingKey;

/// Migrations, in order; `schema_migrations` records which have run. Append only.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the key check, tokens, accounts, servers, audit trail (the SQLite schema's).
    "CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BYTEA NOT NULL
    );
    CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash BYTEA NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        api_key_sealed BYTEA NOT NULL,
        user_id TEXT,
        team_id TEXT,
        project_id TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE TABLE mcp_servers (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        config TEXT NOT NULL,
        token_hash BYTEA NOT NULL UNIQUE,
        expires_at BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE INDEX mcp_servers_account ON mcp_servers(account_id);
    CREATE INDEX mcp_servers_expiry ON mcp_servers(expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE tool_calls (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        mcp_server_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        tool TEXT NOT NULL,
        outcome TEXT NOT NULL,
        latency_us BIGINT NOT NULL
    );
    CREATE INDEX tool_calls_server ON tool_calls(mcp_server_id, id);
    CREATE INDEX tool_calls_at ON tool_calls(at);",
    // 2: MCP tasks (never their arguments or credentials) and legacy sessions any replica
    // can restore.
    "CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        owner TEXT,
        tool TEXT NOT NULL,
        called_as TEXT NOT NULL,
        status TEXT NOT NULL,
        status_message TEXT,
        outcome TEXT,
        upstream_id TEXT,
        cancel_tool TEXT,
        cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
        lease_owner TEXT,
        lease_until BIGINT,
        created_at BIGINT NOT NULL,
        ttl_ms BIGINT NOT NULL,
        last_updated BIGINT NOT NULL
    );
    CREATE INDEX tasks_leases ON tasks(lease_until) WHERE status = 'working';
    CREATE INDEX tasks_updated ON tasks(last_updated);
    CREATE TABLE mcp_sessions (
        id TEXT PRIMARY KEY,
        owner TEXT,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX mcp_sessions_created ON mcp_sessions(created_at);",
    // 3: the OAuth authorization server (`store::oauth`; the SQLite schema's migration 5):
    // users, clients, grants, and the short-lived records of a sign-in. Secrets are
    // SHA-256 hashes (BYTEA).
    "CREATE TABLE oauth_users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        password_hash TEXT,
        access TEXT NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE TABLE oauth_clients (
        client_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        redirect_uris TEXT NOT NULL,
        kind TEXT NOT NULL,
        token_endpoint_auth_method TEXT NOT NULL,
        secret_hash BYTEA,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE oauth_grants (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES oauth_users(id) ON DELETE CASCADE,
        client_id TEXT NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
        resource TEXT NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        server_id TEXT REFERENCES mcp_servers(id) ON DELETE CASCADE,
        scope TEXT NOT NULL,
        methods TEXT,
        tags TEXT,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE INDEX oauth_grants_user ON oauth_grants(user_id);
    CREATE INDEX oauth_grants_client ON oauth_grants(client_id);
    CREATE INDEX oauth_grants_account ON oauth_grants(account_id);
    CREATE INDEX oauth_grants_server ON oauth_grants(server_id) WHERE server_id IS NOT NULL;
    CREATE INDEX oauth_grants_created ON oauth_grants(created_at);
    CREATE TABLE oauth_codes (
        hash BYTEA PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
    );
    CREATE INDEX oauth_codes_grant ON oauth_codes(grant_id);
    CREATE INDEX oauth_codes_expiry ON oauth_codes(expires_at);
    CREATE TABLE oauth_tokens (
        hash BYTEA PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        revoked_at BIGINT
    );
    CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id);
    CREATE INDEX oauth_tokens_expiry ON oauth_tokens(expires_at);
    CREATE TABLE oauth_browser_sessions (
        hash BYTEA PRIMARY KEY,
        user_id TEXT REFERENCES oauth_users(id) ON DELETE CASCADE,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX oauth_browser_sessions_user ON oauth_browser_sessions(user_id) WHERE user_id IS NOT NULL;
    CREATE INDEX oauth_browser_sessions_expiry ON oauth_browser_sessions(expires_at);
    CREATE TABLE oauth_pending (
        hash BYTEA PRIMARY KEY,
        session_hash BYTEA NOT NULL,
        client_id TEXT NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
        redirect_uri TEXT NOT NULL,
        state TEXT,
        code_challenge TEXT NOT NULL,
        resource TEXT NOT NULL,
        scope TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
    );
    CREATE INDEX oauth_pending_client ON oauth_pending(client_id);
    CREATE INDEX oauth_pending_expiry ON oauth_pending(expires_at);",
    // 4: an OIDC user's groups at their last sign-in (the SQLite schema's migration 6).
    "ALTER TABLE oauth_users ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';",
    // 5: results too large for the result budget (the SQLite schema's migration 7).
    "CREATE TABLE kept_results (
        id TEXT PRIMARY KEY,
        owner TEXT,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX kept_results_expiry ON kept_results(expires_at);",
];

/// The schema version this build expects.
pub(super) const LATEST: i32 = MIGRATIONS.len() as i32;

/// The advisory lock migrations hold ("gmcpmigr"); any 64-bit constant of our own.
const MIGRATION_LOCK: i64 = 0x676d_6370_6d69_6772;

/// The `meta` row holding the key check.
const KEY_CHECK: &str = "key_check";

fn newer(version: i32) -> StoreError {
    StoreError::Schema(format!("the database is at schema version {version}, newer than this gumloop-mcp knows ({LATEST}); run a newer gumloop-mcp"))
}

/// Applies the migrations the database lacks; returns the version it is at.
pub(super) async fn migrate(client: &mut Client) -> Result<i32> {
    let tx = client.transaction().await.map_err(pg)?;
    // Held until commit or rollback: concurrent starts queue here, one at a time.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .await
        .map_err(pg)?;
    let current: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await.map_err(pg)?.get(0);
    if current > LATEST {
        return Err(newer(current));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql).await.map_err(pg)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(i as i32 + 1)]).await.map_err(pg)?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(LATEST)
}

/// The schema version the database is at (0 before any migration).
pub(super) async fn version(client: &Client) -> Result<i32> {
    let exists: bool = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await.map_err(pg)?.get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await.map_err(pg)?.get(0))
}

/// Readiness: the schema is the one this build expects.
pub(super) async fn is_current(client: &Client) -> Result<()> {
    match version(client).await? {
        LATEST => Ok(()),
        v if v > LATEST => Err(newer(v)),
        v => Err(StoreError::Schema(format!("the database is at schema version {v}, this gumloop-mcp expects {LATEST}; restart it to migrate"))),
    }
}

/// Records this key's check if the database has none (the first replica), then
/// compares: a replica started with another secret is refused before it writes anything
/// sealed.
pub(super) async fn check_key(client: &Client, key: &SealingKey) -> Result<()> {
    let check = key.check_value();
    client.execute("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", &[&KEY_CHECK, &check.as_slice()]).await.map_err(pg)?;
    let stored: Vec<u8> = client.query_one("SELECT value FROM meta WHERE key = $1", &[&KEY_CHECK]).await.map_err(pg)?.get(0);
    if key.matches_check(&stored) { Ok(()) } else { Err(StoreError::KeyMismatch) }
}
