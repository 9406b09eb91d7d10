//! Legacy sessions' rows, for restoring a session in another process on the same file.

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::{SqliteStore, ms};
use crate::http::sessions::SessionRows;
use crate::managed::store::common::cutoff;

#[async_trait::async_trait]
impl SessionRows for SqliteStore {
    async fn save_session(&self, id: &str, owner: Option<&str>, state: &Value) -> Result<(), String> {
        let (id, owner, state) = (id.to_owned(), owner.map(str::to_owned), state.to_string());
        self.write(move |s| {
            s.writer().execute(
                "INSERT OR REPLACE INTO mcp_sessions (id, owner, state, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, owner, state, ms(Timestamp::now())],
            )?;
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())
    }

    async fn load_session(&self, id: &str, max_age: Duration) -> Result<Option<(Option<String>, Value)>, String> {
        let row: Option<(Option<String>, String)> = self
            .0
            .reader()
            .prepare_cached("SELECT owner, state FROM mcp_sessions WHERE id = ?1 AND created_at > ?2")
            .and_then(|mut stmt| stmt.query_row(params![id, cutoff(max_age)], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(|e| e.to_string())?;
        row.map(|(owner, state)| serde_json::from_str(&state).map(|state| (owner, state)).map_err(|e| e.to_string())).transpose()
    }

    async fn delete_session(&self, id: &str) -> Result<(), String> {
        let id = id.to_owned();
        self.write(move |s| s.writer().execute("DELETE FROM mcp_sessions WHERE id = ?1", [id]).map(|_| ()).map_err(Into::into)).await.map_err(|e| e.to_string())
    }

    async fn prune_sessions(&self, max_age: Duration) -> Result<usize, String> {
        let before = cutoff(max_age);
        self.write(move |s| Ok(s.writer().execute("DELETE FROM mcp_sessions WHERE created_at <= ?1", [before])?)).await.map_err(|e| e.to_string())
    }
}
