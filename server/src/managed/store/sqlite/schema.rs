//! The SQLite file: private permissions, connection settings and versioned migrations.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::managed::secrets::SealingKey;
use crate::managed::store::{Result, StoreError};

/// Migrations, in order; `PRAGMA user_version` records how many have run. Append only.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: tokens, accounts, servers, audit trail.
    "CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        api_key_sealed BLOB NOT NULL,
        user_id TEXT,
        team_id TEXT,
        project_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE mcp_servers (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        config TEXT NOT NULL,
        token_hash BLOB NOT NULL UNIQUE,
        expires_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX mcp_servers_account ON mcp_servers(account_id);
    CREATE INDEX mcp_servers_expiry ON mcp_servers(expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE tool_calls (
        id INTEGER PRIMARY KEY,
        mcp_server_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        tool TEXT NOT NULL,
        outcome TEXT NOT NULL,
        latency_us INTEGER NOT NULL
    );
    CREATE INDEX tool_calls_server ON tool_calls(mcp_server_id, id);
    CREATE INDEX tool_calls_at ON tool_calls(at);",
    // 2: legacy sessions any replica can restore (`http::sessions::SessionRows`).
    "CREATE TABLE mcp_sessions (
        id TEXT PRIMARY KEY,
        owner TEXT,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX mcp_sessions_created ON mcp_sessions(created_at);",
    // 3: the key check (`meta.key_check`).
    "CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );",
    // 4: MCP tasks (never their arguments or credentials).
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
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until INTEGER,
        created_at INTEGER NOT NULL,
        ttl_ms INTEGER NOT NULL,
        last_updated INTEGER NOT NULL
    );
    CREATE INDEX tasks_leases ON tasks(lease_until) WHERE status = 'working';
    CREATE INDEX tasks_updated ON tasks(last_updated);",
    // 5: the OAuth authorization server (`store::oauth`): users, clients, grants, and
    // the short-lived records of a sign-in. Secrets are SHA-256 hashes (BLOB), keys of
    // tables looked up by them alone (WITHOUT ROWID: one B-tree per lookup).
    "CREATE TABLE oauth_users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        password_hash TEXT,
        access TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE oauth_clients (
        client_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        redirect_uris TEXT NOT NULL,
        kind TEXT NOT NULL,
        token_endpoint_auth_method TEXT NOT NULL,
        secret_hash BLOB,
        created_at INTEGER NOT NULL
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
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE INDEX oauth_grants_user ON oauth_grants(user_id);
    CREATE INDEX oauth_grants_client ON oauth_grants(client_id);
    CREATE INDEX oauth_grants_account ON oauth_grants(account_id);
    CREATE INDEX oauth_grants_server ON oauth_grants(server_id) WHERE server_id IS NOT NULL;
    CREATE INDEX oauth_grants_created ON oauth_grants(created_at);
    CREATE TABLE oauth_codes (
        hash BLOB PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX oauth_codes_grant ON oauth_codes(grant_id);
    CREATE INDEX oauth_codes_expiry ON oauth_codes(expires_at);
    CREATE TABLE oauth_tokens (
        hash BLOB PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        revoked_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id);
    CREATE INDEX oauth_tokens_expiry ON oauth_tokens(expires_at);
    CREATE TABLE oauth_browser_sessions (
        hash BLOB PRIMARY KEY,
        user_id TEXT REFERENCES oauth_users(id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX oauth_browser_sessions_user ON oauth_browser_sessions(user_id) WHERE user_id IS NOT NULL;
    CREATE INDEX oauth_browser_sessions_expiry ON oauth_browser_sessions(expires_at);
    CREATE TABLE oauth_pending (
        hash BLOB PRIMARY KEY,
        session_hash BLOB NOT NULL,
        client_id TEXT NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
        redirect_uri TEXT NOT NULL,
        state TEXT,
        code_challenge TEXT NOT NULL,
        resource TEXT NOT NULL,
        scope TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX oauth_pending_client ON oauth_pending(client_id);
    CREATE INDEX oauth_pending_expiry ON oauth_pending(expires_at);",
    // 6: an OIDC user's groups at their last sign-in (their access adds the rules of the
    // `group:<name>` users), a JSON array of strings.
    "ALTER TABLE oauth_users ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';",
    // 7: results too large for the result budget, kept for resources/read until they expire.
    "CREATE TABLE kept_results (
        id TEXT PRIMARY KEY,
        owner TEXT,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX kept_results_expiry ON kept_results(expires_at);",
];

/// The `meta` row holding the key check.
const KEY_CHECK: &str = "key_check";

/// Creates the database file readable and writable by its owner only (0600, like the key
/// file), and takes any wider permissions off an existing one and its WAL files. SQLite
/// gives the `-wal` and `-shm` files it creates the database file's permissions.
pub(super) fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| StoreError::File(format!("cannot make {} private: {e}", path.display()));
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(io)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::metadata(&file) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(io)?,
                _ => {}
            }
        }
    }
    Ok(())
}

pub(super) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The query planner stability guarantee: a statement's plan is fixed when it is
    // prepared. Without it, a statement whose join reaches a table with a partial index
    // (`mcp_servers_expiry`, …) is marked to be re-prepared whenever a parameter is bound,
    // so every call of a cached statement paid a fresh parse and plan: 80 µs instead of
    // 6 µs for `resolve_access_token`'s join, about 10 µs of `resolve_token`'s.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// Applies the migrations the file lacks, in one transaction. `BEGIN IMMEDIATE` takes
/// the write lock before the version is read, so two processes opening the file at once
/// (a server and a CLI command) apply each migration once: the second waits, then finds
/// nothing to do.
pub(super) fn migrate(conn: &mut Connection) -> Result<u32> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::Schema(format!(
            "the database is at schema version {version}, newer than this gumloop-mcp knows ({}); run a newer gumloop-mcp",
            MIGRATIONS.len()
        )));
    }
    for sql in MIGRATIONS.iter().skip(version as usize) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as u32)?;
    tx.commit()?;
    Ok(MIGRATIONS.len() as u32)
}

/// Records this key's check if the file has none, then compares it. A file from before
/// the key check that already holds accounts gets a check only if `key` opens one of
/// them, so a changed `secret.key` is refused here too instead of being recorded.
pub(super) fn check_key(conn: &mut Connection, key: &SealingKey) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored: Option<Vec<u8>> = tx.query_row("SELECT value FROM meta WHERE key = ?1", [KEY_CHECK], |r| r.get(0)).optional()?;
    let stored = match stored {
        Some(stored) => stored,
        None => {
            let account: Option<(String, Vec<u8>)> =
                tx.query_row("SELECT id, api_key_sealed FROM accounts ORDER BY created_at, id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
            if account.is_some_and(|(id, sealed)| key.open(&sealed, &id).is_err()) {
                return Err(StoreError::KeyMismatch);
            }
            tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![KEY_CHECK, key.check_value().as_slice()])?;
            key.check_value().to_vec()
        }
    };
    tx.commit()?;
    if key.matches_check(&stored) { Ok(()) } else { Err(StoreError::KeyMismatch) }
}
