//! The embedded store: one SQLite file in the data directory, WAL mode, versioned
//! migrations applied at start-up.
//!
//! Durability: WAL with `synchronous = NORMAL` makes every committed transaction survive
//! the process being killed (SIGKILL); only a power failure can roll back the last few.
//! Reads and writes use separate connections, so token checks never queue behind a
//! write's commit. Reads run inline (an indexed lookup takes microseconds); writes wait
//! for a commit and so run on the blocking pool.

mod oauth;
mod ops;
mod schema;
mod sessions;
mod tasks;

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use rusqlite::Connection;

use super::*;
use crate::managed::secrets::SealingKey;
use crate::upstream::credential::Secret;

/// The database file inside the data directory.
pub const DB_FILE: &str = "gumloop-mcp.sqlite3";

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore(Arc<Inner>);

struct Inner {
    read: Mutex<Connection>,
    write: Mutex<Connection>,
    key: SealingKey,
    /// A sealed value the size of a typical key, opened (and failing) for unknown
    /// tokens, so they cost what a found one costs and timing does not tell them apart.
    decoy: Vec<u8>,
}

use super::common::{ms, stored, ts};
use super::timing::timed;

const BACKEND: &str = "sqlite";

impl SqliteStore {
    /// Opens (creating if needed) `<data_dir>/gumloop-mcp.sqlite3`, migrates it and
    /// checks `key` against its key check ([`StoreError::KeyMismatch`] for another key).
    pub fn open(data_dir: &Path, key: SealingKey) -> Result<Self> {
        let path = data_dir.join(DB_FILE);
        schema::make_private(&path)?;
        // Processes opening a new file together can get SQLITE_BUSY without the busy
        // handler (switching it to WAL, or a lock upgrade SQLite refuses to wait for, to
        // avoid deadlock); each step is idempotent, so the open is simply tried again.
        let mut attempt = 0;
        let (write, read) = loop {
            let opened = (|| {
                let mut write = schema::open(&path)?;
                schema::migrate(&mut write)?;
                schema::check_key(&mut write, &key)?;
                Ok::<_, StoreError>((write, schema::open(&path)?))
            })();
            match opened {
                Err(StoreError::Db(rusqlite::Error::SqliteFailure(e, _))) if e.code == rusqlite::ErrorCode::DatabaseBusy && attempt < 50 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => break other?,
            }
        };
        let decoy = key.seal(&crate::managed::secrets::random_bytes::<40>(), "decoy");
        Ok(Self(Arc::new(Inner { read: Mutex::new(read), write: Mutex::new(write), key, decoy })))
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self.0.reader().pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Runs a write on the blocking pool: it waits for SQLite's commit.
    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&Inner) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await.map_err(|e| StoreError::Unavailable(format!("the store's writer stopped: {e}")))?
    }
}

impl Inner {
    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.read.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn credential(&self, account_id: &str, sealed: &[u8], user_id: Option<String>, team_id: Option<String>, project_id: Option<String>) -> Result<Credential> {
        let key = self.key.open(sealed, account_id)?;
        let key = String::from_utf8(key).map_err(|_| SecretError::Open)?;
        Ok(Credential { api_key: Some(Secret::new(key)), user_id, team_id, project_id })
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn create_api_token(&self, name: &str, now: Timestamp) -> Result<(ApiToken, Token)> {
        let _t = timed(BACKEND, "create_api_token");
        let name = name.to_owned();
        self.write(move |s| s.create_api_token(&name, now)).await
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let _t = timed(BACKEND, "list_api_tokens");
        self.0.list_api_tokens()
    }

    async fn revoke_api_token(&self, id: &str, now: Timestamp) -> Result<ApiToken> {
        let _t = timed(BACKEND, "revoke_api_token");
        let id = id.to_owned();
        self.write(move |s| s.revoke_api_token(&id, now)).await
    }

    async fn verify_api_token(&self, hash: &TokenHash) -> Result<bool> {
        let _t = timed(BACKEND, "verify_api_token");
        self.0.verify_api_token(hash)
    }

    async fn count_api_tokens(&self) -> Result<u64> {
        let _t = timed(BACKEND, "count_api_tokens");
        self.0.count_api_tokens()
    }

    async fn create_account(&self, account: NewAccount, now: Timestamp) -> Result<Account> {
        let _t = timed(BACKEND, "create_account");
        self.write(move |s| s.create_account(account, now)).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let _t = timed(BACKEND, "list_accounts");
        self.0.list_accounts()
    }

    async fn get_account(&self, id: &str) -> Result<Account> {
        let _t = timed(BACKEND, "get_account");
        self.0.get_account(id)
    }

    async fn delete_account(&self, id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_account");
        let id = id.to_owned();
        self.write(move |s| s.delete_account(&id)).await
    }

    async fn create_server(
        &self,
        account_id: &str,
        name: &str,
        config: &McpServerConfig,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(McpServer, Token)> {
        let _t = timed(BACKEND, "create_server");
        let (account_id, name, config) = (account_id.to_owned(), name.to_owned(), config.clone());
        self.write(move |s| s.create_server(&account_id, &name, &config, expires_at, now)).await
    }

    async fn list_servers(&self, account_id: &str) -> Result<Vec<McpServer>> {
        let _t = timed(BACKEND, "list_servers");
        self.0.list_servers(account_id)
    }

    async fn list_all_servers(&self) -> Result<Vec<McpServer>> {
        let _t = timed(BACKEND, "list_all_servers");
        self.0.list_all_servers()
    }

    async fn get_server(&self, account_id: &str, id: &str) -> Result<McpServer> {
        let _t = timed(BACKEND, "get_server");
        self.0.get_server(account_id, id)
    }

    async fn update_server(&self, account_id: &str, id: &str, patch: &ServerPatch, now: Timestamp) -> Result<McpServer> {
        let _t = timed(BACKEND, "update_server");
        let (account_id, id, patch) = (account_id.to_owned(), id.to_owned(), patch.clone());
        self.write(move |s| s.update_server(&account_id, &id, &patch, now)).await
    }

    async fn delete_server(&self, account_id: &str, id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_server");
        let (account_id, id) = (account_id.to_owned(), id.to_owned());
        self.write(move |s| s.delete_server(&account_id, &id)).await
    }

    async fn delete_server_by_id(&self, id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_server_by_id");
        let id = id.to_owned();
        self.write(move |s| s.delete_server_by_id(&id)).await
    }

    async fn resolve_token(&self, hash: &TokenHash) -> Result<Option<Resolved>> {
        let _t = timed(BACKEND, "resolve_token");
        self.0.resolve_token(hash)
    }

    async fn resolve_server(&self, id: &str) -> Result<Option<(Resolved, TokenHash)>> {
        self.0.resolve_server(id)
    }

    async fn account_credential(&self, id: &str) -> Result<Option<Credential>> {
        let _t = timed(BACKEND, "account_credential");
        self.0.account_credential(id)
    }

    async fn sweep_expired(&self, now: Timestamp) -> Result<usize> {
        let _t = timed(BACKEND, "sweep_expired");
        self.write(move |s| s.sweep_expired(now)).await
    }

    async fn record_calls(&self, records: &[CallRecord]) -> Result<()> {
        let _t = timed(BACKEND, "record_calls");
        let records = records.to_vec();
        self.write(move |s| s.record_calls(&records)).await
    }

    async fn list_calls(&self, mcp_server_id: &str, cursor: Option<&str>, limit: usize) -> Result<Page<CallRecord>> {
        let _t = timed(BACKEND, "list_calls");
        self.0.list_calls(mcp_server_id, cursor, limit)
    }

    async fn prune_calls(&self, before: Timestamp) -> Result<usize> {
        let _t = timed(BACKEND, "prune_calls");
        self.write(move |s| s.prune_calls(before)).await
    }

    async fn ping(&self) -> Result<()> {
        let _t = timed(BACKEND, "ping");
        let version = self.schema_version()?;
        match version as usize == schema::MIGRATIONS.len() {
            true => Ok(()),
            false => Err(StoreError::Schema(format!("the database is at schema version {version}, this gumloop-mcp needs {}", schema::MIGRATIONS.len()))),
        }
    }
}

#[cfg(test)]
mod tests;
