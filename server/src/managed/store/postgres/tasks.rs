//! The core's [`TaskStore`] on PostgreSQL: one row per task; every holder write is one
//! `UPDATE … WHERE lease_owner = $holder`, and adoption claims expired leases with
//! `FOR UPDATE SKIP LOCKED`, so two replicas never adopt the same task.

use jiff::Timestamp;
use tokio_postgres::Row;

use super::*;
use crate::mcp::tasks::store::{Held, KeptResult, Result as TaskResult, Settle, TaskRecord, TaskStore, TaskStoreError, parse_status, status_name};

const COLUMNS: &str = "id, owner, tool, called_as, status, status_message, outcome, upstream_id, cancel_tool, cancel_requested, \
                       lease_owner, lease_until, created_at, ttl_ms, last_updated";

fn err(e: impl std::fmt::Display) -> TaskStoreError {
    TaskStoreError(e.to_string())
}

fn task_row(r: &Row) -> Result<TaskRecord> {
    let outcome: Option<String> = col(r, 6)?;
    Ok(TaskRecord {
        id: col(r, 0)?,
        owner: col(r, 1)?,
        tool: col(r, 2)?,
        called_as: col(r, 3)?,
        status: parse_status(&col::<String>(r, 4)?),
        status_message: col(r, 5)?,
        outcome: outcome
            .map(|o| serde_json::from_str(&o))
            .transpose()
            .map_err(|e| StoreError::Postgres(format!("a stored task outcome does not parse: {e}")))?,
        upstream_id: col(r, 7)?,
        cancel_tool: col(r, 8)?,
        cancel_requested: col(r, 9)?,
        lease_owner: col(r, 10)?,
        lease_until: col::<Option<i64>>(r, 11)?.map(ts),
        created_at: ts(col(r, 12)?),
        ttl_ms: col::<i64>(r, 13)? as u64,
        last_updated: ts(col(r, 14)?),
    })
}

impl PostgresStore {
    /// One write by the holder of a working task; `set` names the columns ($4 on).
    async fn holder_write(&self, id: &str, holder: &str, now: Timestamp, set: &str, value: &(dyn ToSql + Sync)) -> Result<Held> {
        let sql = format!("UPDATE tasks SET {set}, last_updated = $3 WHERE id = $1 AND status = 'working' AND lease_owner = $2 RETURNING cancel_requested");
        let row = self.row(&sql, &[&id, &holder, &ms(now), value]).await?;
        Ok(match row {
            Some(r) => Held::Yes { cancel_requested: col(&r, 0)? },
            None => Held::Lost,
        })
    }

    async fn finish_task(&self, id: &str, holder: Option<&str>, s: &Settle, now: Timestamp) -> Result<bool> {
        let outcome = s.outcome.as_ref().map(|o| o.to_string());
        // A holder settles only while it holds the lease; a cancel mark allows only `cancelled`.
        let n = self
            .execute(
                "UPDATE tasks SET status = $3, status_message = COALESCE($4, status_message), outcome = $5,
                        lease_owner = NULL, lease_until = NULL, last_updated = $6
                 WHERE id = $1 AND status = 'working' AND ($2::TEXT IS NULL OR lease_owner = $2)
                   AND ($2::TEXT IS NULL OR NOT cancel_requested OR $3 = 'cancelled')",
                &[&id, &holder, &status_name(s.status), &s.message, &outcome, &ms(now)],
            )
            .await?;
        Ok(n == 1)
    }
}

#[async_trait::async_trait]
impl TaskStore for PostgresStore {
    async fn create(&self, t: &TaskRecord) -> TaskResult<()> {
        let _t = timed(BACKEND, "task_create");
        let outcome = t.outcome.as_ref().map(|o| o.to_string());
        let (lease_until, ttl) = (t.lease_until.map(ms), t.ttl_ms as i64);
        self.execute(
            &format!("INSERT INTO tasks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"),
            &[
                &t.id,
                &t.owner,
                &t.tool,
                &t.called_as,
                &status_name(t.status),
                &t.status_message,
                &outcome,
                &t.upstream_id,
                &t.cancel_tool,
                &t.cancel_requested,
                &t.lease_owner,
                &lease_until,
                &ms(t.created_at),
                &ttl,
                &ms(t.last_updated),
            ],
        )
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn get(&self, id: &str, owner: Option<&str>) -> TaskResult<Option<TaskRecord>> {
        let _t = timed(BACKEND, "task_get");
        let row = self.row(&format!("SELECT {COLUMNS} FROM tasks WHERE id = $1 AND owner IS NOT DISTINCT FROM $2"), &[&id, &owner]).await.map_err(err)?;
        row.map(|r| task_row(&r)).transpose().map_err(err)
    }

    async fn set_upstream_id(&self, id: &str, holder: &str, upstream_id: &str, now: Timestamp) -> TaskResult<Held> {
        self.holder_write(id, holder, now, "upstream_id = $4", &upstream_id).await.map_err(err)
    }

    async fn progress(&self, id: &str, holder: &str, message: &str, now: Timestamp) -> TaskResult<Held> {
        self.holder_write(id, holder, now, "status_message = $4", &message).await.map_err(err)
    }

    async fn renew(&self, id: &str, holder: &str, until: Timestamp, now: Timestamp) -> TaskResult<Held> {
        self.holder_write(id, holder, now, "lease_until = $4", &ms(until)).await.map_err(err)
    }

    async fn finish(&self, id: &str, holder: &str, settle: &Settle, now: Timestamp) -> TaskResult<bool> {
        self.finish_task(id, Some(holder), settle, now).await.map_err(err)
    }

    async fn fail_unheld(&self, id: &str, settle: &Settle, now: Timestamp) -> TaskResult<bool> {
        self.finish_task(id, None, settle, now).await.map_err(err)
    }

    async fn request_cancel(&self, id: &str, owner: Option<&str>, now: Timestamp) -> TaskResult<bool> {
        let n = self
            .execute(
                "UPDATE tasks SET cancel_requested = TRUE, last_updated = $3
                 WHERE id = $1 AND owner IS NOT DISTINCT FROM $2 AND status = 'working' AND NOT cancel_requested",
                &[&id, &owner, &ms(now)],
            )
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn claim_expired(&self, holder: &str, until: Timestamp, now: Timestamp, limit: usize) -> TaskResult<Vec<TaskRecord>> {
        let _t = timed(BACKEND, "task_claim_expired");
        let rows = self
            .rows(
                &format!(
                    "UPDATE tasks SET lease_owner = $1, lease_until = $2, last_updated = $3
                     WHERE id IN (SELECT id FROM tasks WHERE status = 'working' AND (lease_until IS NULL OR lease_until < $3)
                                  LIMIT $4 FOR UPDATE SKIP LOCKED)
                     RETURNING {COLUMNS}"
                ),
                &[&holder, &ms(until), &ms(now), &(limit as i64)],
            )
            .await
            .map_err(err)?;
        rows.iter().map(task_row).collect::<Result<_>>().map_err(err)
    }

    async fn prune(&self, now: Timestamp) -> TaskResult<usize> {
        let n = self
            .execute("DELETE FROM tasks WHERE (status <> 'working' AND last_updated + ttl_ms < $1) OR (created_at + 2 * ttl_ms < $1)", &[&ms(now)])
            .await
            .map_err(err)?;
        let kept = self.execute("DELETE FROM kept_results WHERE expires_at <= $1", &[&ms(now)]).await.map_err(err)?;
        Ok((n + kept) as usize)
    }

    async fn keep_result(&self, k: &KeptResult) -> TaskResult<()> {
        let _t = timed(BACKEND, "keep_result");
        self.execute(
            "INSERT INTO kept_results (id, owner, body, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[&k.id, &k.owner, &k.body.to_string(), &ms(k.created_at), &ms(k.expires_at)],
        )
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn kept_result(&self, id: &str, owner: Option<&str>, now: Timestamp) -> TaskResult<Option<serde_json::Value>> {
        let _t = timed(BACKEND, "kept_result");
        let row = self
            .row("SELECT body FROM kept_results WHERE id = $1 AND owner IS NOT DISTINCT FROM $2 AND expires_at > $3", &[&id, &owner, &ms(now)])
            .await
            .map_err(err)?;
        let Some(r) = row else { return Ok(None) };
        let body: String = col(&r, 0).map_err(err)?;
        serde_json::from_str(&body).map(Some).map_err(|e| err(format!("a kept result does not parse: {e}")))
    }
}
