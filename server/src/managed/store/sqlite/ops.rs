//! The store's operations as synchronous SQLite statements; [`super::SqliteStore`] runs
//! them on the async side (reads inline, writes on the blocking pool).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use super::{Inner, ms, stored, ts};
use crate::managed::filter::McpServerConfig;
use crate::managed::secrets::{Token, TokenHash, new_id};
use crate::managed::store::*;
use crate::upstream::credential::Secret;

const SERVER_COLUMNS: &str = "id, name, config, account_id, expires_at, created_at, updated_at";

fn server_row(r: &Row<'_>) -> rusqlite::Result<McpServer> {
    server_row_at(r, 0)
}

/// A server from [`SERVER_COLUMNS`] starting at column `o` (a join's later columns).
pub(super) fn server_row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<McpServer> {
    let config: String = r.get(o + 2)?;
    Ok(McpServer {
        id: r.get(o)?,
        name: r.get(o + 1)?,
        config: serde_json::from_str(&config).map_err(|e| rusqlite::Error::FromSqlConversionFailure(o + 2, rusqlite::types::Type::Text, Box::new(e)))?,
        integrated_account_id: r.get(o + 3)?,
        expires_at: r.get::<_, Option<i64>>(o + 4)?.map(ts),
        created_at: ts(r.get(o + 5)?),
        updated_at: ts(r.get(o + 6)?),
    })
}

const ACCOUNT_COLUMNS: &str = "id, name, user_id, team_id, project_id, created_at, updated_at";

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        gumloop: AccountIds { user_id: r.get(2)?, team_id: r.get(3)?, project_id: r.get(4)? },
        created_at: ts(r.get(5)?),
        updated_at: ts(r.get(6)?),
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken { id: r.get(0)?, name: r.get(1)?, created_at: ts(r.get(2)?), revoked_at: r.get::<_, Option<i64>>(3)?.map(ts) })
}

impl Inner {
    pub(super) fn create_api_token(&self, name: &str, now: Timestamp) -> Result<(ApiToken, Token)> {
        let now = stored(now);
        let token = Token::generate("gmat");
        let record = ApiToken { id: new_id("tok"), name: name.to_owned(), created_at: now, revoked_at: None };
        self.writer().execute(
            "INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![record.id, record.name, token.hash().0.as_slice(), ms(now)],
        )?;
        Ok((record, token))
    }

    pub(super) fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT id, name, created_at, revoked_at FROM api_tokens ORDER BY created_at, id")?;
        Ok(stmt.query_map([], token_row)?.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn revoke_api_token(&self, id: &str, now: Timestamp) -> Result<ApiToken> {
        let now = stored(now);
        let conn = self.writer();
        conn.execute("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![id, ms(now)])?;
        conn.query_row("SELECT id, name, created_at, revoked_at FROM api_tokens WHERE id = ?1", [id], token_row)
            .optional()?
            .ok_or(StoreError::NotFound("API token"))
    }

    pub(super) fn verify_api_token(&self, hash: &TokenHash) -> Result<bool> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT token_hash FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL")?;
        let found: Option<Vec<u8>> = stmt.query_row([hash.0.as_slice()], |r| r.get(0)).optional()?;
        Ok(found.and_then(|f| <[u8; 32]>::try_from(f).ok()).is_some_and(|f| TokenHash(f).ct_eq(hash)))
    }

    pub(super) fn count_api_tokens(&self) -> Result<u64> {
        Ok(self.reader().query_row("SELECT COUNT(*) FROM api_tokens", [], |r| r.get::<_, i64>(0))? as u64)
    }

    pub(super) fn create_account(&self, account: NewAccount, now: Timestamp) -> Result<Account> {
        let now = stored(now);
        let id = new_id("acct");
        let key = account.credential.api_key.as_ref().map(Secret::expose).unwrap_or_default();
        let sealed = self.key.seal(key.as_bytes(), &id);
        let c = &account.credential;
        self.writer().execute(
            "INSERT INTO accounts (id, name, api_key_sealed, user_id, team_id, project_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![id, account.name, sealed, c.user_id, c.team_id, c.project_id, ms(now)],
        )?;
        Ok(Account {
            id,
            name: account.name,
            gumloop: AccountIds { user_id: c.user_id.clone(), team_id: c.team_id.clone(), project_id: c.project_id.clone() },
            created_at: now,
            updated_at: now,
        })
    }

    pub(super) fn list_accounts(&self) -> Result<Vec<Account>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, id"))?;
        Ok(stmt.query_map([], account_row)?.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn get_account(&self, id: &str) -> Result<Account> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"))?;
        stmt.query_row([id], account_row).optional()?.ok_or(StoreError::NotFound("integrated account"))
    }

    pub(super) fn delete_account(&self, id: &str) -> Result<()> {
        // Servers go with it (ON DELETE CASCADE), in the same transaction.
        match self.writer().execute("DELETE FROM accounts WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound("integrated account")),
            _ => Ok(()),
        }
    }

    pub(super) fn create_server(
        &self,
        account_id: &str,
        name: &str,
        config: &McpServerConfig,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(McpServer, Token)> {
        let (now, expires_at) = (stored(now), expires_at.map(stored));
        let token = Token::generate("gmcp");
        let server = McpServer {
            id: new_id("mcp"),
            name: name.to_owned(),
            config: config.clone(),
            integrated_account_id: account_id.to_owned(),
            expires_at,
            created_at: now,
            updated_at: now,
        };
        let config = serde_json::to_string(config).expect("plain struct");
        let conn = self.writer();
        let inserted = conn.execute(
            "INSERT INTO mcp_servers (id, account_id, name, config, token_hash, expires_at, created_at, updated_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?2)",
            params![server.id, account_id, server.name, config, token.hash().0.as_slice(), expires_at.map(ms), ms(now)],
        )?;
        if inserted == 0 {
            return Err(StoreError::NotFound("integrated account"));
        }
        Ok((server, token))
    }

    pub(super) fn list_servers(&self, account_id: &str) -> Result<Vec<McpServer>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {SERVER_COLUMNS} FROM mcp_servers WHERE account_id = ?1 ORDER BY created_at, id"))?;
        Ok(stmt.query_map([account_id], server_row)?.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn list_all_servers(&self) -> Result<Vec<McpServer>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {SERVER_COLUMNS} FROM mcp_servers ORDER BY created_at, id"))?;
        Ok(stmt.query_map([], server_row)?.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn get_server(&self, account_id: &str, id: &str) -> Result<McpServer> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {SERVER_COLUMNS} FROM mcp_servers WHERE id = ?1 AND account_id = ?2"))?;
        stmt.query_row([id, account_id], server_row).optional()?.ok_or(StoreError::NotFound("MCP server"))
    }

    pub(super) fn update_server(&self, account_id: &str, id: &str, patch: &ServerPatch, now: Timestamp) -> Result<McpServer> {
        let now = stored(now);
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let mut server = tx
            .query_row(&format!("SELECT {SERVER_COLUMNS} FROM mcp_servers WHERE id = ?1 AND account_id = ?2"), [id, account_id], server_row)
            .optional()?
            .ok_or(StoreError::NotFound("MCP server"))?;
        if let Some(name) = &patch.name {
            server.name = name.clone();
        }
        if let Some(config) = &patch.config {
            server.config = config.clone();
        }
        if let Some(expires_at) = patch.expires_at {
            server.expires_at = expires_at.map(stored);
        }
        server.updated_at = now;
        tx.execute(
            "UPDATE mcp_servers SET name = ?2, config = ?3, expires_at = ?4, updated_at = ?5 WHERE id = ?1",
            params![id, server.name, serde_json::to_string(&server.config).expect("plain struct"), server.expires_at.map(ms), ms(now)],
        )?;
        tx.commit()?;
        Ok(server)
    }

    pub(super) fn delete_server(&self, account_id: &str, id: &str) -> Result<()> {
        match self.writer().execute("DELETE FROM mcp_servers WHERE id = ?1 AND account_id = ?2", [id, account_id])? {
            0 => Err(StoreError::NotFound("MCP server")),
            _ => Ok(()),
        }
    }

    pub(super) fn delete_server_by_id(&self, id: &str) -> Result<()> {
        match self.writer().execute("DELETE FROM mcp_servers WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound("MCP server")),
            _ => Ok(()),
        }
    }

    pub(super) fn resolve_token(&self, hash: &TokenHash) -> Result<Option<Resolved>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT s.id, s.name, s.config, s.account_id, s.expires_at, s.created_at, s.updated_at,
                    s.token_hash, a.api_key_sealed, a.user_id, a.team_id, a.project_id
             FROM mcp_servers s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?1",
        )?;
        let row = stmt
            .query_row([hash.0.as_slice()], |r| Ok((server_row(r)?, r.get::<_, Vec<u8>>(7)?, r.get::<_, Vec<u8>>(8)?, r.get(9)?, r.get(10)?, r.get(11)?)))
            .optional()?;
        drop(stmt);
        drop(conn);
        let Some((server, stored, sealed, user_id, team_id, project_id)) = row else {
            let _ = std::hint::black_box(self.key.open(&self.decoy, "not-a-record"));
            return Ok(None);
        };
        if !<[u8; 32]>::try_from(stored).is_ok_and(|s| TokenHash(s).ct_eq(hash)) {
            let _ = std::hint::black_box(self.key.open(&self.decoy, "not-a-record"));
            return Ok(None);
        }
        let credential = self.credential(&server.integrated_account_id, &sealed, user_id, team_id, project_id)?;
        Ok(Some(Resolved { server, credential }))
    }

    /// A server by id with its account's credential and its token's hash (for work
    /// resumed on its behalf, such as an adopted task).
    pub(super) fn resolve_server(&self, id: &str) -> Result<Option<(Resolved, TokenHash)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT s.id, s.name, s.config, s.account_id, s.expires_at, s.created_at, s.updated_at,
                    s.token_hash, a.api_key_sealed, a.user_id, a.team_id, a.project_id
             FROM mcp_servers s JOIN accounts a ON a.id = s.account_id WHERE s.id = ?1",
        )?;
        let row =
            stmt.query_row([id], |r| Ok((server_row(r)?, r.get::<_, Vec<u8>>(7)?, r.get::<_, Vec<u8>>(8)?, r.get(9)?, r.get(10)?, r.get(11)?))).optional()?;
        drop(stmt);
        drop(conn);
        let Some((server, hash, sealed, user_id, team_id, project_id)) = row else { return Ok(None) };
        let hash = <[u8; 32]>::try_from(hash).map_err(|_| StoreError::Invalid("a stored token hash is malformed".into()))?;
        let credential = self.credential(&server.integrated_account_id, &sealed, user_id, team_id, project_id)?;
        Ok(Some((Resolved { server, credential }, TokenHash(hash))))
    }

    pub(super) fn account_credential(&self, id: &str) -> Result<Option<Credential>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT api_key_sealed, user_id, team_id, project_id FROM accounts WHERE id = ?1")?;
        let row = stmt.query_row([id], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).optional()?;
        drop(stmt);
        drop(conn);
        row.map(|(sealed, user_id, team_id, project_id)| self.credential(id, &sealed, user_id, team_id, project_id)).transpose()
    }

    pub(super) fn sweep_expired(&self, now: Timestamp) -> Result<usize> {
        Ok(self.writer().execute("DELETE FROM mcp_servers WHERE expires_at IS NOT NULL AND expires_at <= ?1", [ms(now)])?)
    }

    pub(super) fn record_calls(&self, records: &[CallRecord]) -> Result<()> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("INSERT INTO tool_calls (mcp_server_id, at, tool, outcome, latency_us) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for r in records {
                let tool: String = r.tool.chars().take(128).collect();
                stmt.execute(params![r.mcp_server_id, ms(r.at), tool, r.outcome.as_str(), (r.latency_ms * 1000.0).round() as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub(super) fn list_calls(&self, mcp_server_id: &str, cursor: Option<&str>, limit: usize) -> Result<Page<CallRecord>> {
        let before = match cursor {
            None => i64::MAX,
            Some(c) => c
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| StoreError::Invalid(format!("cursor `{c}` was not issued by this server; pass back next_cursor unchanged")))?,
        };
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id, at, mcp_server_id, tool, outcome, latency_us FROM tool_calls WHERE mcp_server_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )?;
        let rows: Vec<(i64, CallRecord)> = stmt
            .query_map(params![mcp_server_id, before, (limit + 1) as i64], |r| {
                let outcome: String = r.get(4)?;
                Ok((
                    r.get(0)?,
                    CallRecord {
                        at: ts(r.get(1)?),
                        mcp_server_id: r.get(2)?,
                        tool: r.get(3)?,
                        outcome: CallOutcome::parse(&outcome),
                        latency_ms: r.get::<_, i64>(5)? as f64 / 1000.0,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let more = rows.len() > limit;
        let rows: Vec<_> = rows.into_iter().take(limit).collect();
        let next_cursor = if more { rows.last().map(|(id, _)| id.to_string()) } else { None };
        Ok(Page { result: rows.into_iter().map(|(_, r)| r).collect(), next_cursor })
    }

    pub(super) fn prune_calls(&self, before: Timestamp) -> Result<usize> {
        Ok(self.writer().execute("DELETE FROM tool_calls WHERE at < ?1", [ms(before)])?)
    }
}
