//! `Store` on PostgreSQL: one statement (or one transaction) per operation.

use super::*;

/// The sweeper's advisory lock ("gmcpswep"): one replica sweeps at a time.
pub(super) const SWEEP_LOCK: i64 = 0x676d_6370_7377_6570;

impl PostgresStore {
    /// One sweep statement, run only by the replica that wins the sweep lock for its
    /// transaction (the others find nothing to do: 0).
    async fn swept(&self, sql: &str, at: i64) -> Result<usize> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let won: bool = tx.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&SWEEP_LOCK]).await.map_err(pg)?.get(0);
        if !won {
            return Ok(0);
        }
        let n = tx.execute(sql, &[&at]).await.map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(n as usize)
    }
}

fn not_found_if_zero(n: u64, what: &'static str) -> Result<()> {
    if n == 0 { Err(StoreError::NotFound(what)) } else { Ok(()) }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn create_api_token(&self, name: &str, now: Timestamp) -> Result<(ApiToken, Token)> {
        let _t = timed(BACKEND, "create_api_token");
        let now = stored(now);
        let token = Token::generate("gmat");
        let record = ApiToken { id: new_id("tok"), name: name.to_owned(), created_at: now, revoked_at: None };
        let hash = token.hash();
        self.execute(
            "INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)",
            &[&record.id, &record.name, &hash.0.as_slice(), &ms(now)],
        )
        .await?;
        Ok((record, token))
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let _t = timed(BACKEND, "list_api_tokens");
        self.rows("SELECT id, name, created_at, revoked_at FROM api_tokens ORDER BY created_at, id", &[]).await?.iter().map(token_row).collect()
    }

    async fn revoke_api_token(&self, id: &str, now: Timestamp) -> Result<ApiToken> {
        let _t = timed(BACKEND, "revoke_api_token");
        // Idempotent: a second revocation keeps the first instant.
        let row = self
            .row(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING id, name, created_at, revoked_at",
                &[&id, &ms(stored(now))],
            )
            .await?;
        row.as_ref().map(token_row).transpose()?.ok_or(StoreError::NotFound("API token"))
    }

    async fn verify_api_token(&self, hash: &TokenHash) -> Result<bool> {
        let _t = timed(BACKEND, "verify_api_token");
        let row = self.row("SELECT token_hash FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", &[&hash.0.as_slice()]).await?;
        let found: Option<Vec<u8>> = row.as_ref().map(|r| col(r, 0)).transpose()?;
        Ok(found.and_then(|f| <[u8; 32]>::try_from(f).ok()).is_some_and(|f| TokenHash(f).ct_eq(hash)))
    }

    async fn count_api_tokens(&self) -> Result<u64> {
        let _t = timed(BACKEND, "count_api_tokens");
        let row = self.row("SELECT COUNT(*) FROM api_tokens", &[]).await?.ok_or_else(|| StoreError::Postgres("COUNT returned no row".into()))?;
        Ok(col::<i64>(&row, 0)? as u64)
    }

    async fn create_account(&self, account: NewAccount, now: Timestamp) -> Result<Account> {
        let _t = timed(BACKEND, "create_account");
        let now = stored(now);
        let id = new_id("acct");
        let key = account.credential.api_key.as_ref().map(Secret::expose).unwrap_or_default();
        let sealed = self.key.seal(key.as_bytes(), &id);
        let c = &account.credential;
        self.execute(
            "INSERT INTO accounts (id, name, api_key_sealed, user_id, team_id, project_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            &[&id, &account.name, &sealed, &c.user_id, &c.team_id, &c.project_id, &ms(now)],
        )
        .await?;
        Ok(Account {
            id,
            name: account.name,
            gumloop: AccountIds { user_id: c.user_id.clone(), team_id: c.team_id.clone(), project_id: c.project_id.clone() },
            created_at: now,
            updated_at: now,
        })
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let _t = timed(BACKEND, "list_accounts");
        self.rows(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, id"), &[]).await?.iter().map(account_row).collect()
    }

    async fn get_account(&self, id: &str) -> Result<Account> {
        let _t = timed(BACKEND, "get_account");
        let row = self.row(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"), &[&id]).await?;
        row.as_ref().map(account_row).transpose()?.ok_or(StoreError::NotFound("integrated account"))
    }

    async fn delete_account(&self, id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_account");
        // Servers go with it (ON DELETE CASCADE), in the same statement.
        not_found_if_zero(self.execute("DELETE FROM accounts WHERE id = $1", &[&id]).await?, "integrated account")
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
        let hash = token.hash();
        let inserted = self
            .execute(
                "INSERT INTO mcp_servers (id, account_id, name, config, token_hash, expires_at, created_at, updated_at)
                 SELECT $1::text, $2::text, $3::text, $4::text, $5::bytea, $6::int8, $7::int8, $7::int8
                 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2::text)",
                &[&server.id, &account_id, &server.name, &config, &hash.0.as_slice(), &expires_at.map(ms), &ms(now)],
            )
            .await;
        match inserted {
            Ok(0) => Err(StoreError::NotFound("integrated account")),
            Ok(_) => Ok((server, token)),
            // The account was deleted between the check and the insert.
            Err(StoreError::Postgres(m)) if m.ends_with("(23503)") => Err(StoreError::NotFound("integrated account")),
            Err(e) => Err(e),
        }
    }

    async fn list_servers(&self, account_id: &str) -> Result<Vec<McpServer>> {
        let _t = timed(BACKEND, "list_servers");
        let sql = format!("SELECT {SERVER_COLUMNS} FROM mcp_servers WHERE account_id = $1 ORDER BY created_at, id");
        self.rows(&sql, &[&account_id]).await?.iter().map(server_row).collect()
    }

    async fn list_all_servers(&self) -> Result<Vec<McpServer>> {
        let _t = timed(BACKEND, "list_all_servers");
        self.rows(&format!("SELECT {SERVER_COLUMNS} FROM mcp_servers ORDER BY created_at, id"), &[]).await?.iter().map(server_row).collect()
    }

    async fn get_server(&self, account_id: &str, id: &str) -> Result<McpServer> {
        let _t = timed(BACKEND, "get_server");
        let row = self.row(&format!("SELECT {SERVER_COLUMNS} FROM mcp_servers WHERE id = $1 AND account_id = $2"), &[&id, &account_id]).await?;
        row.as_ref().map(server_row).transpose()?.ok_or(StoreError::NotFound("MCP server"))
    }

    async fn update_server(&self, account_id: &str, id: &str, patch: &ServerPatch, now: Timestamp) -> Result<McpServer> {
        let _t = timed(BACKEND, "update_server");
        let config = patch.config.as_ref().map(|c| serde_json::to_string(c).expect("plain struct"));
        let (set_expiry, expires_at) = match patch.expires_at {
            Some(at) => (true, at.map(|t| ms(stored(t)))),
            None => (false, None),
        };
        // One statement: the row is read and changed atomically.
        let sql = format!(
            "UPDATE mcp_servers SET name = COALESCE($3::text, name), config = COALESCE($4::text, config),
                 expires_at = CASE WHEN $5::bool THEN $6::int8 ELSE expires_at END, updated_at = $7::int8
             WHERE id = $1 AND account_id = $2 RETURNING {SERVER_COLUMNS}"
        );
        let row = self.row(&sql, &[&id, &account_id, &patch.name, &config, &set_expiry, &expires_at, &ms(stored(now))]).await?;
        row.as_ref().map(server_row).transpose()?.ok_or(StoreError::NotFound("MCP server"))
    }

    async fn delete_server(&self, account_id: &str, id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_server");
        not_found_if_zero(self.execute("DELETE FROM mcp_servers WHERE id = $1 AND account_id = $2", &[&id, &account_id]).await?, "MCP server")
    }

    async fn delete_server_by_id(&self, id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_server_by_id");
        not_found_if_zero(self.execute("DELETE FROM mcp_servers WHERE id = $1", &[&id]).await?, "MCP server")
    }

    async fn resolve_token(&self, hash: &TokenHash) -> Result<Option<Resolved>> {
        let _t = timed(BACKEND, "resolve_token");
        let row = self
            .row(
                "SELECT s.id, s.name, s.config, s.account_id, s.expires_at, s.created_at, s.updated_at,
                        s.token_hash, a.api_key_sealed, a.user_id, a.team_id, a.project_id
                 FROM mcp_servers s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1",
                &[&hash.0.as_slice()],
            )
            .await?;
        let Some(row) = row else {
            self.decoy_work();
            return Ok(None);
        };
        let server = server_row(&row)?;
        let found: Vec<u8> = col(&row, 7)?;
        if !<[u8; 32]>::try_from(found).is_ok_and(|s| TokenHash(s).ct_eq(hash)) {
            self.decoy_work();
            return Ok(None);
        }
        let sealed: Vec<u8> = col(&row, 8)?;
        let credential = self.credential(&server.integrated_account_id, &sealed, col(&row, 9)?, col(&row, 10)?, col(&row, 11)?)?;
        Ok(Some(Resolved { server, credential }))
    }

    async fn resolve_server(&self, id: &str) -> Result<Option<(Resolved, TokenHash)>> {
        let _t = timed(BACKEND, "resolve_server");
        let row = self
            .row(
                "SELECT s.id, s.name, s.config, s.account_id, s.expires_at, s.created_at, s.updated_at,
                        s.token_hash, a.api_key_sealed, a.user_id, a.team_id, a.project_id
                 FROM mcp_servers s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1",
                &[&id],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let server = server_row(&row)?;
        let hash: Vec<u8> = col(&row, 7)?;
        let hash = <[u8; 32]>::try_from(hash).map_err(|_| StoreError::Invalid("a stored token hash is malformed".into()))?;
        let sealed: Vec<u8> = col(&row, 8)?;
        let credential = self.credential(&server.integrated_account_id, &sealed, col(&row, 9)?, col(&row, 10)?, col(&row, 11)?)?;
        Ok(Some((Resolved { server, credential }, TokenHash(hash))))
    }

    async fn account_credential(&self, id: &str) -> Result<Option<Credential>> {
        let _t = timed(BACKEND, "account_credential");
        let row = self.row("SELECT api_key_sealed, user_id, team_id, project_id FROM accounts WHERE id = $1", &[&id]).await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = col(&row, 0)?;
        Ok(Some(self.credential(id, &sealed, col(&row, 1)?, col(&row, 2)?, col(&row, 3)?)?))
    }

    async fn sweep_expired(&self, now: Timestamp) -> Result<usize> {
        let _t = timed(BACKEND, "sweep_expired");
        self.swept("DELETE FROM mcp_servers WHERE expires_at IS NOT NULL AND expires_at <= $1", ms(now)).await
    }

    async fn record_calls(&self, records: &[CallRecord]) -> Result<()> {
        let _t = timed(BACKEND, "record_calls");
        if records.is_empty() {
            return Ok(());
        }
        let servers: Vec<&str> = records.iter().map(|r| r.mcp_server_id.as_str()).collect();
        let at: Vec<i64> = records.iter().map(|r| ms(r.at)).collect();
        let tools: Vec<String> = records.iter().map(|r| audit_tool(&r.tool)).collect();
        let outcomes: Vec<&str> = records.iter().map(|r| r.outcome.as_str()).collect();
        let latency: Vec<i64> = records.iter().map(|r| latency_us(r.latency_ms)).collect();
        // One statement is one transaction: the batch is written whole or not at all, in
        // order (ids follow the batch's order).
        self.execute(
            "INSERT INTO tool_calls (mcp_server_id, at, tool, outcome, latency_us)
             SELECT s, a, t, o, l FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::int8[]) WITH ORDINALITY AS u(s, a, t, o, l, n)
             ORDER BY n",
            &[&servers, &at, &tools, &outcomes, &latency],
        )
        .await?;
        Ok(())
    }

    async fn list_calls(&self, mcp_server_id: &str, cursor: Option<&str>, limit: usize) -> Result<Page<CallRecord>> {
        let _t = timed(BACKEND, "list_calls");
        let before = parse_cursor(cursor)?;
        let rows = self
            .rows(
                "SELECT id, at, mcp_server_id, tool, outcome, latency_us FROM tool_calls WHERE mcp_server_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                &[&mcp_server_id, &before, &((limit + 1) as i64)],
            )
            .await?;
        let more = rows.len() > limit;
        let mut page = Vec::with_capacity(limit.min(rows.len()));
        for r in rows.iter().take(limit) {
            let outcome: String = col(r, 4)?;
            let record = CallRecord {
                at: ts(col(r, 1)?),
                mcp_server_id: col(r, 2)?,
                tool: col(r, 3)?,
                outcome: CallOutcome::parse(&outcome),
                latency_ms: col::<i64>(r, 5)? as f64 / 1000.0,
            };
            page.push((col::<i64>(r, 0)?, record));
        }
        let next_cursor = if more { page.last().map(|(id, _)| id.to_string()) } else { None };
        Ok(Page { result: page.into_iter().map(|(_, r)| r).collect(), next_cursor })
    }

    async fn prune_calls(&self, before: Timestamp) -> Result<usize> {
        let _t = timed(BACKEND, "prune_calls");
        self.swept("DELETE FROM tool_calls WHERE at < $1", ms(before)).await
    }

    async fn ping(&self) -> Result<()> {
        let _t = timed(BACKEND, "ping");
        schema::is_current(&self.client().await?).await
    }
}
