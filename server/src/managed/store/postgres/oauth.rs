//! [`OAuthStore`] on PostgreSQL: one statement or one transaction per operation, the
//! same semantics as the SQLite file's. A read-then-write (taking a code, rotating a
//! refresh token) locks its row with `SELECT … FOR UPDATE`, so of two replicas
//! presenting one code or refresh token at once, the second sees it spent.

use deadpool_postgres::Transaction;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ops::SWEEP_LOCK;
use super::*;
use crate::managed::store::common::{client_taken, code_client_mismatch, grant_revoked, server_not_of_account, username_taken};
use crate::managed::store::oauth::*;

fn json<T: DeserializeOwned>(r: &Row, i: usize) -> Result<T> {
    let text: String = col(r, i)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Postgres(format!("column {i} does not parse: {e}")))
}

fn json_opt<T: DeserializeOwned>(r: &Row, i: usize) -> Result<Option<T>> {
    let text: Option<String> = col(r, i)?;
    text.map(|t| serde_json::from_str(&t)).transpose().map_err(|e| StoreError::Postgres(format!("column {i} does not parse: {e}")))
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data")
}

fn hash_col(r: &Row, i: usize) -> Result<TokenHash> {
    let bytes: Vec<u8> = col(r, i)?;
    <[u8; 32]>::try_from(bytes).map(TokenHash).map_err(|_| StoreError::Postgres(format!("column {i}: a stored hash is not 32 bytes")))
}

/// Whether `e` is PostgreSQL's refusal with SQLSTATE `code` (as [`pg`] spells it).
fn is_state(e: &StoreError, code: &str) -> bool {
    matches!(e, StoreError::Postgres(m) if m.ends_with(&format!("({code})")))
}

const UNIQUE_VIOLATION: &str = "23505";
const FOREIGN_KEY_VIOLATION: &str = "23503";

const USER_COLUMNS: &str = "id, username, source, access, disabled, created_at, updated_at, groups";

fn user_row_at(r: &Row, o: usize) -> Result<User> {
    Ok(User {
        id: col(r, o)?,
        username: col(r, o + 1)?,
        source: UserSource::parse(&col::<String>(r, o + 2)?),
        access: json(r, o + 3)?,
        disabled: col(r, o + 4)?,
        created_at: ts(col(r, o + 5)?),
        updated_at: ts(col(r, o + 6)?),
        groups: json(r, o + 7)?,
    })
}

fn user_row(r: &Row) -> Result<User> {
    user_row_at(r, 0)
}

const CLIENT_COLUMNS: &str = "client_id, name, redirect_uris, kind, token_endpoint_auth_method, created_at";

fn client_row(r: &Row) -> Result<Client> {
    Ok(Client {
        client_id: col(r, 0)?,
        name: col(r, 1)?,
        redirect_uris: json(r, 2)?,
        kind: ClientKind::parse(&col::<String>(r, 3)?),
        token_endpoint_auth_method: col(r, 4)?,
        created_at: ts(col(r, 5)?),
    })
}

const GRANT_COLUMNS: &str = "id, user_id, client_id, resource, account_id, server_id, scope, methods, tags, created_at, revoked_at";
const G_COLUMNS: &str = "g.id, g.user_id, g.client_id, g.resource, g.account_id, g.server_id, g.scope, g.methods, g.tags, g.created_at, g.revoked_at";

fn grant_row_at(r: &Row, o: usize) -> Result<Grant> {
    Ok(Grant {
        id: col(r, o)?,
        user_id: col(r, o + 1)?,
        client_id: col(r, o + 2)?,
        resource: col(r, o + 3)?,
        account_id: col(r, o + 4)?,
        server_id: col(r, o + 5)?,
        scope: col(r, o + 6)?,
        methods: json_opt(r, o + 7)?,
        tags: json_opt(r, o + 8)?,
        created_at: ts(col(r, o + 9)?),
        revoked_at: col::<Option<i64>>(r, o + 10)?.map(ts),
    })
}

fn grant_row(r: &Row) -> Result<Grant> {
    grant_row_at(r, 0)
}

const PENDING_COLUMNS: &str = "session_hash, client_id, redirect_uri, state, code_challenge, resource, scope, expires_at";

fn pending_row(r: &Row) -> Result<PendingRequest> {
    Ok(PendingRequest {
        session: hash_col(r, 0)?,
        client_id: col(r, 1)?,
        redirect_uri: col(r, 2)?,
        state: col(r, 3)?,
        code_challenge: col(r, 4)?,
        resource: col(r, 5)?,
        scope: col(r, 6)?,
        expires_at: ts(col(r, 7)?),
    })
}

/// `resolve_access_token`'s one join: grant 0..=10, token 11..=12, user 13..=20,
/// account 21..=24, server 25..=32.
const RESOLVE_SQL: &str = "SELECT g.id, g.user_id, g.client_id, g.resource, g.account_id, g.server_id, g.scope, g.methods, g.tags, g.created_at, g.revoked_at,
        t.hash, t.expires_at,
        u.id, u.username, u.source, u.access, u.disabled, u.created_at, u.updated_at, u.groups,
        a.api_key_sealed, a.user_id, a.team_id, a.project_id,
        s.id, s.name, s.config, s.account_id, s.expires_at, s.created_at, s.updated_at, s.token_hash
 FROM oauth_tokens t
 JOIN oauth_grants g ON g.id = t.grant_id
 JOIN oauth_users u ON u.id = g.user_id
 JOIN accounts a ON a.id = g.account_id
 LEFT JOIN mcp_servers s ON s.id = g.server_id
 WHERE t.hash = $1 AND t.kind = 'access' AND t.expires_at > $2 AND t.revoked_at IS NULL
   AND g.revoked_at IS NULL AND NOT u.disabled
   AND (g.server_id IS NULL OR (s.id IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > $2)))";

async fn tx_row(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
    let statement = tx.prepare_cached(sql).await.map_err(pg)?;
    tx.query_opt(&statement, params).await.map_err(pg)
}

async fn tx_execute(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<u64> {
    let statement = tx.prepare_cached(sql).await.map_err(pg)?;
    tx.execute(&statement, params).await.map_err(pg)
}

/// Revokes a grant and every token issued under it (keeping earlier instants); how many
/// grants matched (0 or 1).
async fn revoke_in(tx: &Transaction<'_>, grant_id: &str, now: i64) -> Result<u64> {
    let n = tx_execute(tx, "UPDATE oauth_grants SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", &[&grant_id, &now]).await?;
    tx_execute(tx, "UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE grant_id = $1", &[&grant_id, &now]).await?;
    Ok(n)
}

/// Stores a token pair for a grant (one statement).
async fn insert_pair(tx: &Transaction<'_>, grant_id: &str, t: &TokenPair) -> Result<()> {
    tx_execute(
        tx,
        "INSERT INTO oauth_tokens (hash, grant_id, kind, expires_at) VALUES ($1, $3, 'access', $2), ($4, $3, 'refresh', $5)",
        &[&t.access.0.as_slice(), &ms(t.access_expires_at), &grant_id, &t.refresh.0.as_slice(), &ms(t.refresh_expires_at)],
    )
    .await?;
    Ok(())
}

/// `NotFound(what)` unless `sql` (a `SELECT 1 … WHERE id = $1`) finds `id`.
async fn exists(tx: &Transaction<'_>, sql: &str, id: &str, what: &'static str) -> Result<()> {
    match tx_row(tx, sql, &[&id]).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(what)),
    }
}

#[async_trait::async_trait]
impl OAuthStore for PostgresStore {
    async fn create_user(&self, user: NewUser, now: Timestamp) -> Result<User> {
        let _t = timed(BACKEND, "create_user");
        let now = stored(now);
        let record = User {
            id: new_id("usr"),
            username: user.username,
            source: user.source,
            access: user.access,
            disabled: false,
            created_at: now,
            updated_at: now,
            groups: Vec::new(),
        };
        let inserted = self
            .execute(
                "INSERT INTO oauth_users (id, username, source, password_hash, access, disabled, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6)",
                &[&record.id, &record.username, &record.source.as_str(), &user.password_hash, &to_json(&record.access), &ms(now)],
            )
            .await;
        match inserted {
            Ok(_) => Ok(record),
            Err(e) if is_state(&e, UNIQUE_VIOLATION) => Err(username_taken(&record.username)),
            Err(e) => Err(e),
        }
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let _t = timed(BACKEND, "list_users");
        self.rows(&format!("SELECT {USER_COLUMNS} FROM oauth_users ORDER BY created_at, id"), &[]).await?.iter().map(user_row).collect()
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        let _t = timed(BACKEND, "get_user");
        let row = self.row(&format!("SELECT {USER_COLUMNS} FROM oauth_users WHERE id = $1"), &[&id]).await?;
        row.as_ref().map(user_row).transpose()?.ok_or(StoreError::NotFound("user"))
    }

    async fn find_user(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        let _t = timed(BACKEND, "find_user");
        let row = self.row(&format!("SELECT {USER_COLUMNS}, password_hash FROM oauth_users WHERE username = $1"), &[&username]).await?;
        row.map(|r| Ok((user_row(&r)?, col(&r, 8)?))).transpose()
    }

    async fn update_user(&self, id: &str, patch: &UserPatch, now: Timestamp) -> Result<User> {
        let _t = timed(BACKEND, "update_user");
        let access = patch.access.as_ref().map(to_json);
        let groups = patch.groups.as_ref().map(to_json);
        // One statement: read and changed atomically.
        let sql = format!(
            "UPDATE oauth_users SET password_hash = COALESCE($2::text, password_hash), access = COALESCE($3::text, access),
                 disabled = COALESCE($4::bool, disabled), groups = COALESCE($6::text, groups), updated_at = $5::int8
             WHERE id = $1 RETURNING {USER_COLUMNS}"
        );
        let row = self.row(&sql, &[&id, &patch.password_hash, &access, &patch.disabled, &ms(now), &groups]).await?;
        row.as_ref().map(user_row).transpose()?.ok_or(StoreError::NotFound("user"))
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_user");
        // Grants (and their codes and tokens) and browser sessions go with it (ON DELETE CASCADE).
        match self.execute("DELETE FROM oauth_users WHERE id = $1", &[&id]).await? {
            0 => Err(StoreError::NotFound("user")),
            _ => Ok(()),
        }
    }

    async fn put_client(&self, client: NewClient, now: Timestamp) -> Result<Client> {
        let _t = timed(BACKEND, "put_client");
        let now = stored(now);
        let secret = client.secret.as_ref().map(|h| h.0.as_slice());
        // A metadata client's re-fetched document replaces its cached copy (same row, so
        // its grants stay); any other clash of ids is refused (0 rows changed).
        let n = self
            .execute(
                "INSERT INTO oauth_clients (client_id, name, redirect_uris, kind, token_endpoint_auth_method, secret_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (client_id) DO UPDATE SET name = EXCLUDED.name, redirect_uris = EXCLUDED.redirect_uris,
                     token_endpoint_auth_method = EXCLUDED.token_endpoint_auth_method, secret_hash = EXCLUDED.secret_hash, created_at = EXCLUDED.created_at
                 WHERE oauth_clients.kind = 'metadata' AND EXCLUDED.kind = 'metadata'",
                &[
                    &client.client_id,
                    &client.name,
                    &to_json(&client.redirect_uris),
                    &client.kind.as_str(),
                    &client.token_endpoint_auth_method,
                    &secret,
                    &ms(now),
                ],
            )
            .await?;
        if n == 0 {
            return Err(client_taken(&client.client_id));
        }
        Ok(Client {
            client_id: client.client_id,
            name: client.name,
            redirect_uris: client.redirect_uris,
            kind: client.kind,
            token_endpoint_auth_method: client.token_endpoint_auth_method,
            created_at: now,
        })
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<Client>> {
        let _t = timed(BACKEND, "get_client");
        let row = self.row(&format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1"), &[&client_id]).await?;
        row.as_ref().map(client_row).transpose()
    }

    async fn verify_client_secret(&self, client_id: &str, secret: &TokenHash) -> Result<bool> {
        let _t = timed(BACKEND, "verify_client_secret");
        let row = self.row("SELECT secret_hash FROM oauth_clients WHERE client_id = $1", &[&client_id]).await?;
        let stored: Option<Vec<u8>> = row.as_ref().map(|r| col::<Option<Vec<u8>>>(r, 0)).transpose()?.flatten();
        Ok(stored.and_then(|s| <[u8; 32]>::try_from(s).ok()).is_some_and(|s| TokenHash(s).ct_eq(secret)))
    }

    async fn list_clients(&self) -> Result<Vec<Client>> {
        let _t = timed(BACKEND, "list_clients");
        self.rows(&format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY created_at, client_id"), &[]).await?.iter().map(client_row).collect()
    }

    async fn delete_client(&self, client_id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_client");
        // Grants (and their codes and tokens) and pending requests go with it.
        match self.execute("DELETE FROM oauth_clients WHERE client_id = $1", &[&client_id]).await? {
            0 => Err(StoreError::NotFound("client")),
            _ => Ok(()),
        }
    }

    async fn put_browser_session(&self, hash: &TokenHash, user_id: Option<&str>, expires_at: Timestamp) -> Result<()> {
        let _t = timed(BACKEND, "put_browser_session");
        let done = self
            .execute(
                "INSERT INTO oauth_browser_sessions (hash, user_id, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (hash) DO UPDATE SET user_id = EXCLUDED.user_id, expires_at = EXCLUDED.expires_at",
                &[&hash.0.as_slice(), &user_id, &ms(expires_at)],
            )
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(e) if is_state(&e, FOREIGN_KEY_VIOLATION) => Err(StoreError::NotFound("user")),
            Err(e) => Err(e),
        }
    }

    async fn get_browser_session(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<BrowserSession>> {
        let _t = timed(BACKEND, "get_browser_session");
        let row =
            self.row("SELECT user_id, expires_at FROM oauth_browser_sessions WHERE hash = $1 AND expires_at > $2", &[&hash.0.as_slice(), &ms(now)]).await?;
        row.map(|r| Ok(BrowserSession { user_id: col(&r, 0)?, expires_at: ts(col(&r, 1)?) })).transpose()
    }

    async fn delete_browser_session(&self, hash: &TokenHash) -> Result<()> {
        let _t = timed(BACKEND, "delete_browser_session");
        self.execute("DELETE FROM oauth_browser_sessions WHERE hash = $1", &[&hash.0.as_slice()]).await?;
        Ok(())
    }

    async fn put_pending(&self, hash: &TokenHash, p: &PendingRequest) -> Result<()> {
        let _t = timed(BACKEND, "put_pending");
        let done = self
            .execute(
                &format!("INSERT INTO oauth_pending (hash, {PENDING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
                &[
                    &hash.0.as_slice(),
                    &p.session.0.as_slice(),
                    &p.client_id,
                    &p.redirect_uri,
                    &p.state,
                    &p.code_challenge,
                    &p.resource,
                    &p.scope,
                    &ms(p.expires_at),
                ],
            )
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(e) if is_state(&e, FOREIGN_KEY_VIOLATION) => Err(StoreError::NotFound("client")),
            Err(e) => Err(e),
        }
    }

    async fn get_pending(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<PendingRequest>> {
        let _t = timed(BACKEND, "get_pending");
        let sql = format!("SELECT {PENDING_COLUMNS} FROM oauth_pending WHERE hash = $1 AND used_at IS NULL AND expires_at > $2");
        self.row(&sql, &[&hash.0.as_slice(), &ms(now)]).await?.as_ref().map(pending_row).transpose()
    }

    async fn take_pending(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<PendingRequest>> {
        let _t = timed(BACKEND, "take_pending");
        // One statement: of two concurrent takes, the second waits for the first's row
        // lock, then finds it used.
        let sql = format!("UPDATE oauth_pending SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING {PENDING_COLUMNS}");
        self.row(&sql, &[&hash.0.as_slice(), &ms(now)]).await?.as_ref().map(pending_row).transpose()
    }

    async fn create_grant(&self, grant: NewGrant, code: &TokenHash, record: &CodeRecord, now: Timestamp) -> Result<Grant> {
        let _t = timed(BACKEND, "create_grant");
        if record.client_id != grant.client_id {
            return Err(code_client_mismatch());
        }
        let now = stored(now);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Checked by name first: a foreign-key failure would not say which is missing.
        exists(&tx, "SELECT 1 FROM oauth_users WHERE id = $1", &grant.user_id, "user").await?;
        exists(&tx, "SELECT 1 FROM oauth_clients WHERE client_id = $1", &grant.client_id, "client").await?;
        exists(&tx, "SELECT 1 FROM accounts WHERE id = $1", &grant.account_id, "integrated account").await?;
        if let Some(server_id) = &grant.server_id {
            let owner = tx_row(&tx, "SELECT account_id FROM mcp_servers WHERE id = $1", &[server_id]).await?;
            match owner.map(|r| col::<String>(&r, 0)).transpose()? {
                None => return Err(StoreError::NotFound("MCP server")),
                Some(owner) if owner != grant.account_id => return Err(server_not_of_account(server_id, &grant.account_id)),
                Some(_) => {}
            }
        }
        let g = Grant {
            id: new_id("grt"),
            user_id: grant.user_id,
            client_id: grant.client_id,
            resource: grant.resource,
            account_id: grant.account_id,
            server_id: grant.server_id,
            scope: grant.scope,
            methods: grant.methods,
            tags: grant.tags,
            created_at: now,
            revoked_at: None,
        };
        let inserted = tx_execute(
            &tx,
            &format!("INSERT INTO oauth_grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)"),
            &[
                &g.id,
                &g.user_id,
                &g.client_id,
                &g.resource,
                &g.account_id,
                &g.server_id,
                &g.scope,
                &g.methods.as_ref().map(to_json),
                &g.tags.as_ref().map(to_json),
                &ms(now),
            ],
        )
        .await;
        match inserted {
            // Deleted between the check and the insert.
            Err(e) if is_state(&e, FOREIGN_KEY_VIOLATION) => return Err(StoreError::NotFound("the grant's user, client, account or server")),
            other => other?,
        };
        tx_execute(
            &tx,
            "INSERT INTO oauth_codes (hash, grant_id, client_id, redirect_uri, code_challenge, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&code.0.as_slice(), &g.id, &record.client_id, &record.redirect_uri, &record.code_challenge, &ms(record.expires_at)],
        )
        .await?;
        tx.commit().await.map_err(pg)?;
        Ok(g)
    }

    async fn take_code(&self, code: &TokenHash, now: Timestamp) -> Result<TakenCode> {
        let _t = timed(BACKEND, "take_code");
        let now = ms(now);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The row lock: a concurrent take waits, then reads it used.
        let found = tx_row(
            &tx,
            "SELECT c.grant_id, c.client_id, c.redirect_uri, c.code_challenge, c.expires_at, c.used_at, g.revoked_at
             FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id WHERE c.hash = $1 FOR UPDATE OF c",
            &[&code.0.as_slice()],
        )
        .await?;
        let Some(r) = found else { return Ok(TakenCode::Unknown) };
        let record =
            CodeRecord { grant_id: col(&r, 0)?, client_id: col(&r, 1)?, redirect_uri: col(&r, 2)?, code_challenge: col(&r, 3)?, expires_at: ts(col(&r, 4)?) };
        let (used_at, revoked_at): (Option<i64>, Option<i64>) = (col(&r, 5)?, col(&r, 6)?);
        let taken = if used_at.is_some() {
            // A replay: whatever the first use issued is revoked with the grant.
            revoke_in(&tx, &record.grant_id, now).await?;
            TakenCode::Reused
        } else if ms(record.expires_at) <= now || revoked_at.is_some() {
            // Expired, or its grant revoked before it was redeemed.
            TakenCode::Unknown
        } else {
            tx_execute(&tx, "UPDATE oauth_codes SET used_at = $2 WHERE hash = $1", &[&code.0.as_slice(), &now]).await?;
            TakenCode::Fresh(record)
        };
        tx.commit().await.map_err(pg)?;
        Ok(taken)
    }

    async fn list_grants(&self, user_id: Option<&str>) -> Result<Vec<Grant>> {
        let _t = timed(BACKEND, "list_grants");
        let rows = match user_id {
            Some(user_id) => {
                self.rows(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = $1 ORDER BY created_at DESC, id DESC"), &[&user_id]).await?
            }
            None => self.rows(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants ORDER BY created_at DESC, id DESC"), &[]).await?,
        };
        rows.iter().map(grant_row).collect()
    }

    async fn get_grant(&self, id: &str) -> Result<Grant> {
        let _t = timed(BACKEND, "get_grant");
        let row = self.row(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE id = $1"), &[&id]).await?;
        row.as_ref().map(grant_row).transpose()?.ok_or(StoreError::NotFound("grant"))
    }

    async fn revoke_grant(&self, id: &str, now: Timestamp) -> Result<Grant> {
        let _t = timed(BACKEND, "revoke_grant");
        let now = ms(stored(now));
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let row = tx_row(&tx, &format!("UPDATE oauth_grants SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING {GRANT_COLUMNS}"), &[&id, &now])
            .await?;
        let Some(row) = row else { return Err(StoreError::NotFound("grant")) };
        tx_execute(&tx, "UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE grant_id = $1", &[&id, &now]).await?;
        tx.commit().await.map_err(pg)?;
        grant_row(&row)
    }

    async fn issue_tokens(&self, grant_id: &str, tokens: &TokenPair, _now: Timestamp) -> Result<()> {
        let _t = timed(BACKEND, "issue_tokens");
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // FOR SHARE: a concurrent revocation waits for this commit, then revokes these too.
        let row = tx_row(&tx, "SELECT revoked_at FROM oauth_grants WHERE id = $1 FOR SHARE", &[&grant_id]).await?;
        match row.map(|r| col::<Option<i64>>(&r, 0)).transpose()? {
            None => return Err(StoreError::NotFound("grant")),
            Some(Some(_)) => return Err(grant_revoked(grant_id)),
            Some(None) => {}
        }
        insert_pair(&tx, grant_id, tokens).await?;
        tx.commit().await.map_err(pg)?;
        Ok(())
    }

    async fn resolve_access_token(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<ResolvedGrant>> {
        let _t = timed(BACKEND, "resolve_access_token");
        let row = self.row(RESOLVE_SQL, &[&hash.0.as_slice(), &ms(now)]).await?;
        let Some(r) = row else {
            self.decoy_work();
            return Ok(None);
        };
        if !hash_col(&r, 11)?.ct_eq(hash) {
            self.decoy_work();
            return Ok(None);
        }
        let grant = grant_row_at(&r, 0)?;
        let sealed: Vec<u8> = col(&r, 21)?;
        let credential = self.credential(&grant.account_id, &sealed, col(&r, 22)?, col(&r, 23)?, col(&r, 24)?)?;
        let (server, server_token) = match col::<Option<String>>(&r, 25)? {
            Some(_) => (Some(server_row_at(&r, 25)?), Some(hash_col(&r, 32)?)),
            None => (None, None),
        };
        Ok(Some(ResolvedGrant { grant, credential, server, server_token, user: user_row_at(&r, 13)?, expires_at: ts(col(&r, 12)?) }))
    }

    async fn rotate_refresh(&self, old: &TokenHash, client_id: &str, new: &TokenPair, now: Timestamp) -> Result<Rotation> {
        let _t = timed(BACKEND, "rotate_refresh");
        let now = ms(now);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The token's row lock: of two concurrent rotations, the second waits, then
        // finds it spent (and revokes the family).
        let sql = format!(
            "SELECT {G_COLUMNS}, t.expires_at, t.used_at, t.revoked_at, u.disabled
             FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN oauth_users u ON u.id = g.user_id
             WHERE t.hash = $1 AND t.kind = 'refresh' AND g.client_id = $2 FOR UPDATE OF t"
        );
        let Some(r) = tx_row(&tx, &sql, &[&old.0.as_slice(), &client_id]).await? else { return Ok(Rotation::Invalid) };
        let grant = grant_row(&r)?;
        let (expires_at, used_at, revoked_at, disabled): (i64, Option<i64>, Option<i64>, bool) = (col(&r, 11)?, col(&r, 12)?, col(&r, 13)?, col(&r, 14)?);
        let rotation = if used_at.is_some() {
            revoke_in(&tx, &grant.id, now).await?;
            Rotation::Reused
        } else if expires_at <= now || revoked_at.is_some() || grant.revoked_at.is_some() || disabled {
            Rotation::Invalid
        } else {
            tx_execute(&tx, "UPDATE oauth_tokens SET used_at = $2 WHERE hash = $1", &[&old.0.as_slice(), &now]).await?;
            insert_pair(&tx, &grant.id, new).await?;
            Rotation::Rotated(grant)
        };
        tx.commit().await.map_err(pg)?;
        Ok(rotation)
    }

    async fn revoke_token(&self, hash: &TokenHash, client_id: &str, now: Timestamp) -> Result<()> {
        let _t = timed(BACKEND, "revoke_token");
        let now = ms(stored(now));
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let found = tx_row(
            &tx,
            "SELECT t.grant_id, t.kind FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.hash = $1 AND g.client_id = $2",
            &[&hash.0.as_slice(), &client_id],
        )
        .await?;
        let Some(r) = found else { return Ok(()) };
        let (grant_id, kind): (String, String) = (col(&r, 0)?, col(&r, 1)?);
        if kind == "refresh" {
            revoke_in(&tx, &grant_id, now).await?;
        } else {
            tx_execute(&tx, "UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE hash = $1", &[&hash.0.as_slice(), &now]).await?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(())
    }

    async fn sweep_oauth(&self, now: Timestamp) -> Result<usize> {
        let _t = timed(BACKEND, "sweep_oauth");
        let now = ms(now);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let won: bool = tx.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&SWEEP_LOCK]).await.map_err(pg)?.get(0);
        if !won {
            return Ok(0);
        }
        let mut n = 0;
        // Spent refresh tokens stay until they expire: presenting one again is reuse.
        for table in ["oauth_browser_sessions", "oauth_pending", "oauth_codes", "oauth_tokens"] {
            n += tx_execute(&tx, &format!("DELETE FROM {table} WHERE expires_at <= $1"), &[&now]).await?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(n as usize)
    }
}
