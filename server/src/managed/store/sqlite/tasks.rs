//! The core's [`TaskStore`] on the SQLite file: one row per task. SQLite has a single
//! writer, so each `UPDATE … WHERE` (a claim, a holder's write) is atomic across the
//! processes sharing the file; reads run inline like the store's other reads.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use super::{Inner, SqliteStore, ms, ts};
use crate::mcp::tasks::store::{Held, KeptResult, Result, Settle, TaskRecord, TaskStore, TaskStoreError, parse_status, status_name};

const COLUMNS: &str = "id, owner, tool, called_as, status, status_message, outcome, upstream_id, cancel_tool, cancel_requested, \
                       lease_owner, lease_until, created_at, ttl_ms, last_updated";

fn err(e: impl std::fmt::Display) -> TaskStoreError {
    TaskStoreError(e.to_string())
}

fn task_row(r: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    let outcome: Option<String> = r.get(6)?;
    Ok(TaskRecord {
        id: r.get(0)?,
        owner: r.get(1)?,
        tool: r.get(2)?,
        called_as: r.get(3)?,
        status: parse_status(&r.get::<_, String>(4)?),
        status_message: r.get(5)?,
        outcome: outcome
            .map(|o| serde_json::from_str(&o))
            .transpose()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e)))?,
        upstream_id: r.get(7)?,
        cancel_tool: r.get(8)?,
        cancel_requested: r.get(9)?,
        lease_owner: r.get(10)?,
        lease_until: r.get::<_, Option<i64>>(11)?.map(ts),
        created_at: ts(r.get(12)?),
        ttl_ms: r.get::<_, i64>(13)? as u64,
        last_updated: ts(r.get(14)?),
    })
}

fn held(cancel_requested: Option<bool>) -> Held {
    cancel_requested.map_or(Held::Lost, |cancel_requested| Held::Yes { cancel_requested })
}

impl Inner {
    fn create_task(&self, t: &TaskRecord) -> rusqlite::Result<()> {
        let outcome = t.outcome.as_ref().map(|o| o.to_string());
        self.writer().execute(
            &format!("INSERT INTO tasks ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
            params![
                t.id,
                t.owner,
                t.tool,
                t.called_as,
                status_name(t.status),
                t.status_message,
                outcome,
                t.upstream_id,
                t.cancel_tool,
                t.cancel_requested,
                t.lease_owner,
                t.lease_until.map(ms),
                ms(t.created_at),
                t.ttl_ms as i64,
                ms(t.last_updated)
            ],
        )?;
        Ok(())
    }

    fn get_task(&self, id: &str, owner: Option<&str>) -> rusqlite::Result<Option<TaskRecord>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1 AND owner IS ?2"))?;
        stmt.query_row(params![id, owner], task_row).optional()
    }

    /// One write by the holder of a working task: `set` names the columns (from ?4 on).
    fn holder_write(&self, id: &str, holder: &str, now: Timestamp, set: &str, value: &dyn rusqlite::ToSql) -> rusqlite::Result<Held> {
        let sql = format!("UPDATE tasks SET {set}, last_updated = ?3 WHERE id = ?1 AND status = 'working' AND lease_owner = ?2 RETURNING cancel_requested");
        let found = self.writer().query_row(&sql, params![id, holder, ms(now), value], |r| r.get::<_, bool>(0)).optional()?;
        Ok(held(found))
    }

    fn finish_task(&self, id: &str, holder: Option<&str>, s: &Settle, now: Timestamp) -> rusqlite::Result<bool> {
        let outcome = s.outcome.as_ref().map(|o| o.to_string());
        // A holder settles only while it holds the lease; a cancel mark allows only `cancelled`.
        let n = self.writer().execute(
            "UPDATE tasks SET status = ?3, status_message = COALESCE(?4, status_message), outcome = ?5,
                    lease_owner = NULL, lease_until = NULL, last_updated = ?6
             WHERE id = ?1 AND status = 'working' AND (?2 IS NULL OR lease_owner = ?2)
               AND (?2 IS NULL OR cancel_requested = 0 OR ?3 = 'cancelled')",
            params![id, holder, status_name(s.status), s.message, outcome, ms(now)],
        )?;
        Ok(n == 1)
    }

    fn request_task_cancel(&self, id: &str, owner: Option<&str>, now: Timestamp) -> rusqlite::Result<bool> {
        let n = self.writer().execute(
            "UPDATE tasks SET cancel_requested = 1, last_updated = ?3
             WHERE id = ?1 AND owner IS ?2 AND status = 'working' AND cancel_requested = 0",
            params![id, owner, ms(now)],
        )?;
        Ok(n == 1)
    }

    fn claim_expired_tasks(&self, holder: &str, until: Timestamp, now: Timestamp, limit: usize) -> rusqlite::Result<Vec<TaskRecord>> {
        let conn = self.writer();
        let mut stmt = conn.prepare_cached(&format!(
            "UPDATE tasks SET lease_owner = ?1, lease_until = ?2, last_updated = ?3
             WHERE id IN (SELECT id FROM tasks WHERE status = 'working' AND (lease_until IS NULL OR lease_until < ?3) LIMIT ?4)
             RETURNING {COLUMNS}"
        ))?;
        stmt.query_map(params![holder, ms(until), ms(now), limit as i64], task_row)?.collect()
    }

    fn prune_tasks(&self, now: Timestamp) -> rusqlite::Result<usize> {
        let conn = self.writer();
        let tasks =
            conn.execute("DELETE FROM tasks WHERE (status <> 'working' AND last_updated + ttl_ms < ?1) OR (created_at + 2 * ttl_ms < ?1)", [ms(now)])?;
        Ok(tasks + conn.execute("DELETE FROM kept_results WHERE expires_at <= ?1", [ms(now)])?)
    }

    fn keep(&self, k: &KeptResult) -> rusqlite::Result<()> {
        self.writer().execute(
            "INSERT INTO kept_results (id, owner, body, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![k.id, k.owner, k.body.to_string(), ms(k.created_at), ms(k.expires_at)],
        )?;
        Ok(())
    }

    fn kept(&self, id: &str, owner: Option<&str>, now: Timestamp) -> rusqlite::Result<Option<String>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT body FROM kept_results WHERE id = ?1 AND owner IS ?2 AND expires_at > ?3")?;
        stmt.query_row(params![id, owner, ms(now)], |r| r.get(0)).optional()
    }
}

impl SqliteStore {
    async fn task_write<T: Send + 'static>(&self, f: impl FnOnce(&Inner) -> rusqlite::Result<T> + Send + 'static) -> Result<T> {
        self.write(move |s| Ok(f(s)?)).await.map_err(err)
    }
}

#[async_trait::async_trait]
impl TaskStore for SqliteStore {
    async fn create(&self, task: &TaskRecord) -> Result<()> {
        let task = task.clone();
        self.task_write(move |s| s.create_task(&task)).await
    }

    async fn get(&self, id: &str, owner: Option<&str>) -> Result<Option<TaskRecord>> {
        self.0.get_task(id, owner).map_err(err)
    }

    async fn set_upstream_id(&self, id: &str, holder: &str, upstream_id: &str, now: Timestamp) -> Result<Held> {
        let (id, holder, upstream_id) = (id.to_owned(), holder.to_owned(), upstream_id.to_owned());
        self.task_write(move |s| s.holder_write(&id, &holder, now, "upstream_id = ?4", &upstream_id)).await
    }

    async fn progress(&self, id: &str, holder: &str, message: &str, now: Timestamp) -> Result<Held> {
        let (id, holder, message) = (id.to_owned(), holder.to_owned(), message.to_owned());
        self.task_write(move |s| s.holder_write(&id, &holder, now, "status_message = ?4", &message)).await
    }

    async fn renew(&self, id: &str, holder: &str, until: Timestamp, now: Timestamp) -> Result<Held> {
        let (id, holder) = (id.to_owned(), holder.to_owned());
        self.task_write(move |s| s.holder_write(&id, &holder, now, "lease_until = ?4", &ms(until))).await
    }

    async fn finish(&self, id: &str, holder: &str, settle: &Settle, now: Timestamp) -> Result<bool> {
        let (id, holder, settle) = (id.to_owned(), holder.to_owned(), settle.clone());
        self.task_write(move |s| s.finish_task(&id, Some(&holder), &settle, now)).await
    }

    async fn fail_unheld(&self, id: &str, settle: &Settle, now: Timestamp) -> Result<bool> {
        let (id, settle) = (id.to_owned(), settle.clone());
        self.task_write(move |s| s.finish_task(&id, None, &settle, now)).await
    }

    async fn request_cancel(&self, id: &str, owner: Option<&str>, now: Timestamp) -> Result<bool> {
        let (id, owner) = (id.to_owned(), owner.map(str::to_owned));
        self.task_write(move |s| s.request_task_cancel(&id, owner.as_deref(), now)).await
    }

    async fn claim_expired(&self, holder: &str, until: Timestamp, now: Timestamp, limit: usize) -> Result<Vec<TaskRecord>> {
        let holder = holder.to_owned();
        self.task_write(move |s| s.claim_expired_tasks(&holder, until, now, limit)).await
    }

    async fn prune(&self, now: Timestamp) -> Result<usize> {
        self.task_write(move |s| s.prune_tasks(now)).await
    }

    async fn keep_result(&self, kept: &KeptResult) -> Result<()> {
        let kept = kept.clone();
        self.task_write(move |s| s.keep(&kept)).await
    }

    async fn kept_result(&self, id: &str, owner: Option<&str>, now: Timestamp) -> Result<Option<serde_json::Value>> {
        let body = self.0.kept(id, owner, now).map_err(err)?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| err(format!("a kept result does not parse: {e}")))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::secrets::SealingKey;

    #[tokio::test]
    async fn the_sqlite_store_keeps_the_task_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), SealingKey::from_bytes([3; 32])).unwrap();
        crate::mcp::tasks::contract::check(&store).await;
    }

    #[tokio::test]
    async fn a_task_outlives_the_store_that_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let now = crate::mcp::tasks::now_ms();
        let t = crate::mcp::tasks::contract::sample(Some("srv_a"), "r1", now, 60_000);
        SqliteStore::open(dir.path(), SealingKey::from_bytes([3; 32])).unwrap().create(&t).await.unwrap();
        let reopened = SqliteStore::open(dir.path(), SealingKey::from_bytes([3; 32])).unwrap();
        assert_eq!(reopened.get(&t.id, Some("srv_a")).await.unwrap(), Some(t));
    }
}
