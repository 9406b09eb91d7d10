//! Legacy sessions' rows on PostgreSQL, so a session opened on one replica is restored
//! by any other (see `http::sessions::shared`).

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::http::sessions::SessionRows;
use crate::managed::store::common::cutoff;

#[async_trait::async_trait]
impl SessionRows for PostgresStore {
    async fn save_session(&self, id: &str, owner: Option<&str>, state: &Value) -> Result<(), String> {
        let _t = timed(BACKEND, "session_save");
        self.execute(
            "INSERT INTO mcp_sessions (id, owner, state, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, state = EXCLUDED.state, created_at = EXCLUDED.created_at",
            &[&id, &owner, &state.to_string(), &ms(Timestamp::now())],
        )
        .await
        .map(drop)
        .map_err(|e| e.to_string())
    }

    async fn load_session(&self, id: &str, max_age: Duration) -> Result<Option<(Option<String>, Value)>, String> {
        let _t = timed(BACKEND, "session_load");
        let row =
            self.row("SELECT owner, state FROM mcp_sessions WHERE id = $1 AND created_at > $2", &[&id, &cutoff(max_age)]).await.map_err(|e| e.to_string())?;
        let Some(row) = row else { return Ok(None) };
        let owner: Option<String> = col(&row, 0).map_err(|e| e.to_string())?;
        let state: String = col(&row, 1).map_err(|e| e.to_string())?;
        Ok(Some((owner, serde_json::from_str(&state).map_err(|e| e.to_string())?)))
    }

    async fn delete_session(&self, id: &str) -> Result<(), String> {
        self.execute("DELETE FROM mcp_sessions WHERE id = $1", &[&id]).await.map(drop).map_err(|e| e.to_string())
    }

    async fn prune_sessions(&self, max_age: Duration) -> Result<usize, String> {
        self.execute("DELETE FROM mcp_sessions WHERE created_at <= $1", &[&cutoff(max_age)]).await.map(|n| n as usize).map_err(|e| e.to_string())
    }
}
