//! The shared store: PostgreSQL, so several replicas serve one deployment. Same
//! semantics as [`super::SqliteStore`] for every operation: tokens as SHA-256 hashes,
//! account keys sealed, the same decoy work for unknown tokens, nothing cached (every
//! token read is one indexed query, so a revocation on one replica applies on every
//! replica's next request).
//!
//! Connections come from a deadpool of tokio-postgres clients. A connection the
//! database dropped (a restart, a failover) is noticed when it is next taken and replaced
//! by a new one, so service resumes by itself once the database answers again; until
//! then operations fail fast with [`StoreError::Unavailable`]. Each operation is one
//! statement or one transaction, so an outage never leaves half of one written.

mod schema;
mod url;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use jiff::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

pub use url::DatabaseUrl;

use super::common::{audit_tool, latency_us, ms, parse_cursor, stored, ts};
use super::timing::timed;
use super::*;
use crate::managed::secrets::{SealingKey, new_id};
use crate::upstream::credential::Secret;

const BACKEND: &str = "postgres";

/// At most this many connections per replica (the database's `max_connections` bounds
/// the sum over replicas).
const POOL_SIZE: usize = 16;

/// How long to wait for a connection (connecting, or a free pooled one) before the
/// database counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    key: SealingKey,
    /// See `SqliteStore`: opened (and failing) for unknown tokens, so they cost what a
    /// found one costs.
    decoy: Vec<u8>,
}

/// A database error as the store reports it: a lost or refused connection, or a
/// database in shutdown or recovery, is [`StoreError::Unavailable`].
pub(super) fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        // 08: connection exceptions; 57P: shutdown, crash recovery, cannot connect now.
        Some(db) if db.code().code().starts_with("08") || db.code().code().starts_with("57P") => StoreError::Unavailable(db.message().to_owned()),
        Some(db) => StoreError::Postgres(format!("{} ({})", db.message(), db.code().code())),
        None => StoreError::Unavailable(e.to_string()),
    }
}

fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => match pg(e) {
            // Even a database error while connecting (no such database, bad password)
            // means there is no usable database.
            StoreError::Postgres(m) => StoreError::Unavailable(m),
            other => other,
        },
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn col<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(|e| StoreError::Postgres(format!("column {i}: {e}")))
}

const SERVER_COLUMNS: &str = "id, name, config, account_id, expires_at, created_at, updated_at";

fn server_row(r: &Row) -> Result<McpServer> {
    server_row_at(r, 0)
}

/// A server from [`SERVER_COLUMNS`] starting at column `o` (a join's later columns).
fn server_row_at(r: &Row, o: usize) -> Result<McpServer> {
    let config: String = col(r, o + 2)?;
    Ok(McpServer {
        id: col(r, o)?,
        name: col(r, o + 1)?,
        config: serde_json::from_str(&config).map_err(|e| StoreError::Postgres(format!("a stored server config does not parse: {e}")))?,
        integrated_account_id: col(r, o + 3)?,
        expires_at: col::<Option<i64>>(r, o + 4)?.map(ts),
        created_at: ts(col(r, o + 5)?),
        updated_at: ts(col(r, o + 6)?),
    })
}

const ACCOUNT_COLUMNS: &str = "id, name, user_id, team_id, project_id, created_at, updated_at";

fn account_row(r: &Row) -> Result<Account> {
    Ok(Account {
        id: col(r, 0)?,
        name: col(r, 1)?,
        gumloop: AccountIds { user_id: col(r, 2)?, team_id: col(r, 3)?, project_id: col(r, 4)? },
        created_at: ts(col(r, 5)?),
        updated_at: ts(col(r, 6)?),
    })
}

fn token_row(r: &Row) -> Result<ApiToken> {
    Ok(ApiToken { id: col(r, 0)?, name: col(r, 1)?, created_at: ts(col(r, 2)?), revoked_at: col::<Option<i64>>(r, 3)?.map(ts) })
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl PostgresStore {
    /// Connects to `url`, migrates the schema and checks `key` against the database's key
    /// check; fails (changing nothing) if the database cannot be reached or was set up
    /// with another key.
    pub async fn connect(url: &DatabaseUrl, key: SealingKey) -> Result<Self> {
        let mut config = url.config().clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("gumloop-mcp");
        let manager = Manager::from_config(config, tokio_postgres::NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut client = pool.get().await.map_err(pool_error)?;
        schema::migrate(&mut client).await?;
        schema::check_key(&client, &key).await?;
        drop(client);
        let decoy = key.seal(&crate::managed::secrets::random_bytes::<40>(), "decoy");
        Ok(Self { pool, key, decoy })
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<u32> {
        Ok(schema::version(&self.client().await?).await? as u32)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        let c = self.client().await?;
        let statement = c.prepare_cached(sql).await.map_err(pg)?;
        c.execute(&statement, params).await.map_err(pg)
    }

    async fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let c = self.client().await?;
        let statement = c.prepare_cached(sql).await.map_err(pg)?;
        c.query(&statement, params).await.map_err(pg)
    }

    async fn row(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let c = self.client().await?;
        let statement = c.prepare_cached(sql).await.map_err(pg)?;
        c.query_opt(&statement, params).await.map_err(pg)
    }

    fn credential(&self, account_id: &str, sealed: &[u8], user_id: Option<String>, team_id: Option<String>, project_id: Option<String>) -> Result<Credential> {
        let key = self.key.open(sealed, account_id)?;
        let key = String::from_utf8(key).map_err(|_| SecretError::Open)?;
        Ok(Credential { api_key: Some(Secret::new(key)), user_id, team_id, project_id })
    }

    fn decoy_work(&self) {
        let _ = std::hint::black_box(self.key.open(&self.decoy, "not-a-record"));
    }
}

mod bus;
mod oauth;
mod ops;
mod sessions;
mod tasks;

pub use bus::PgBus;

#[cfg(test)]
mod tests;
