//! The SQLite file: private permissions, connection settings and versioned migrations.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

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
    // 2: MCP tasks (never their arguments or credentials).
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
];

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
    Ok(conn)
}

pub(super) fn migrate(conn: &mut Connection) -> Result<u32> {
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::Schema(format!(
            "the database is at schema version {version}, newer than this gumloop-mcp knows ({}); run a newer gumloop-mcp",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(MIGRATIONS.len() as u32)
}
