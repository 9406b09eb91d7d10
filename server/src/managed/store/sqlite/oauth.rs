//! [`OAuthStore`] on the SQLite file. Reads run inline on the read connection; writes
//! run on the blocking pool on the write connection, each one statement or one
//! `BEGIN IMMEDIATE` transaction (the write lock is taken before anything is read, so a
//! read-then-write such as a refresh rotation is atomic across the processes sharing the
//! file, and never fails on a stale snapshot).

use jiff::Timestamp;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ops::server_row_at;
use super::{BACKEND, Inner, SqliteStore, ms, stored, timed, ts};
use crate::managed::secrets::{TokenHash, new_id};
use crate::managed::store::common::{client_taken, code_client_mismatch, grant_revoked, server_not_of_account, username_taken};
use crate::managed::store::oauth::*;
use crate::managed::store::{Result, StoreError};

fn json<T: DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn json_opt<T: DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = r.get(i)?;
    text.map(|t| serde_json::from_str(&t)).transpose().map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data")
}

fn hash_col(r: &Row<'_>, i: usize) -> rusqlite::Result<TokenHash> {
    let bytes: Vec<u8> = r.get(i)?;
    <[u8; 32]>::try_from(bytes).map(TokenHash).map_err(|_| rusqlite::Error::FromSqlConversionFailure(i, Type::Blob, "a stored hash is not 32 bytes".into()))
}

/// Whether `e` is the constraint failure `code` (`rusqlite::ffi::SQLITE_CONSTRAINT_*`).
fn is_constraint(e: &rusqlite::Error, code: i32) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == code)
}

const USER_COLUMNS: &str = "id, username, source, access, disabled, created_at, updated_at, groups";

fn user_row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(o)?,
        username: r.get(o + 1)?,
        source: UserSource::parse(&r.get::<_, String>(o + 2)?),
        access: json(r, o + 3)?,
        disabled: r.get(o + 4)?,
        created_at: ts(r.get(o + 5)?),
        updated_at: ts(r.get(o + 6)?),
        groups: json(r, o + 7)?,
    })
}

fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    user_row_at(r, 0)
}

const CLIENT_COLUMNS: &str = "client_id, name, redirect_uris, kind, token_endpoint_auth_method, created_at";

fn client_row(r: &Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        client_id: r.get(0)?,
        name: r.get(1)?,
        redirect_uris: json(r, 2)?,
        kind: ClientKind::parse(&r.get::<_, String>(3)?),
        token_endpoint_auth_method: r.get(4)?,
        created_at: ts(r.get(5)?),
    })
}

const GRANT_COLUMNS: &str = "id, user_id, client_id, resource, account_id, server_id, scope, methods, tags, created_at, revoked_at";
const G_COLUMNS: &str = "g.id, g.user_id, g.client_id, g.resource, g.account_id, g.server_id, g.scope, g.methods, g.tags, g.created_at, g.revoked_at";

fn grant_row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<Grant> {
    Ok(Grant {
        id: r.get(o)?,
        user_id: r.get(o + 1)?,
        client_id: r.get(o + 2)?,
        resource: r.get(o + 3)?,
        account_id: r.get(o + 4)?,
        server_id: r.get(o + 5)?,
        scope: r.get(o + 6)?,
        methods: json_opt(r, o + 7)?,
        tags: json_opt(r, o + 8)?,
        created_at: ts(r.get(o + 9)?),
        revoked_at: r.get::<_, Option<i64>>(o + 10)?.map(ts),
    })
}

fn grant_row(r: &Row<'_>) -> rusqlite::Result<Grant> {
    grant_row_at(r, 0)
}

const PENDING_COLUMNS: &str = "session_hash, client_id, redirect_uri, state, code_challenge, resource, scope, expires_at";

fn pending_row(r: &Row<'_>) -> rusqlite::Result<PendingRequest> {
    Ok(PendingRequest {
        session: hash_col(r, 0)?,
        client_id: r.get(1)?,
        redirect_uri: r.get(2)?,
        state: r.get(3)?,
        code_challenge: r.get(4)?,
        resource: r.get(5)?,
        scope: r.get(6)?,
        expires_at: ts(r.get(7)?),
    })
}

/// The columns of `resolve_access_token`'s one join, in the order it reads them:
/// grant 0..=10, token 11..=12, user 13..=20, account 21..=24, server 25..=32.
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
 WHERE t.hash = ?1 AND t.kind = 'access' AND t.expires_at > ?2 AND t.revoked_at IS NULL
   AND g.revoked_at IS NULL AND u.disabled = 0
   AND (g.server_id IS NULL OR (s.id IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > ?2)))";

/// A row of `RESOLVE_SQL`, before the account key is unsealed.
struct ResolvedRow {
    grant: Grant,
    token: TokenHash,
    expires_at: Timestamp,
    user: User,
    sealed: Vec<u8>,
    ids: (Option<String>, Option<String>, Option<String>),
    server: Option<(crate::managed::store::McpServer, TokenHash)>,
}

fn resolved_row(r: &Row<'_>) -> rusqlite::Result<ResolvedRow> {
    let server = match r.get::<_, Option<String>>(25)? {
        Some(_) => Some((server_row_at(r, 25)?, hash_col(r, 32)?)),
        None => None,
    };
    Ok(ResolvedRow {
        grant: grant_row_at(r, 0)?,
        token: hash_col(r, 11)?,
        expires_at: ts(r.get(12)?),
        user: user_row_at(r, 13)?,
        sealed: r.get(21)?,
        ids: (r.get(22)?, r.get(23)?, r.get(24)?),
        server,
    })
}

/// Revokes a grant and every token issued under it (keeping earlier instants); how many
/// grants matched (0 or 1).
fn revoke_in(conn: &Connection, grant_id: &str, now: i64) -> rusqlite::Result<usize> {
    let n = conn.prepare_cached("UPDATE oauth_grants SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1")?.execute(params![grant_id, now])?;
    conn.prepare_cached("UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE grant_id = ?1")?.execute(params![grant_id, now])?;
    Ok(n)
}

/// Stores a token pair for a grant.
fn insert_pair(conn: &Connection, grant_id: &str, tokens: &TokenPair) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("INSERT INTO oauth_tokens (hash, grant_id, kind, expires_at) VALUES (?1, ?2, ?3, ?4)")?;
    stmt.execute(params![tokens.access.0.as_slice(), grant_id, "access", ms(tokens.access_expires_at)])?;
    stmt.execute(params![tokens.refresh.0.as_slice(), grant_id, "refresh", ms(tokens.refresh_expires_at)])?;
    Ok(())
}

/// `NotFound(what)` unless `sql` (a `SELECT 1 … WHERE id = ?1`) finds `id`.
fn exists(conn: &Connection, sql: &str, id: &str, what: &'static str) -> Result<()> {
    match conn.prepare_cached(sql)?.query_row([id], |_| Ok(())).optional()? {
        Some(()) => Ok(()),
        None => Err(StoreError::NotFound(what)),
    }
}

impl Inner {
    fn create_user(&self, user: NewUser, now: Timestamp) -> Result<User> {
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
        let inserted = self.writer().execute(
            "INSERT INTO oauth_users (id, username, source, password_hash, access, disabled, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6)",
            params![record.id, record.username, record.source.as_str(), user.password_hash, to_json(&record.access), ms(now)],
        );
        match inserted {
            Ok(_) => Ok(record),
            Err(e) if is_constraint(&e, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE) => Err(username_taken(&record.username)),
            Err(e) => Err(e.into()),
        }
    }

    fn list_users(&self) -> Result<Vec<User>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM oauth_users ORDER BY created_at, id"))?;
        Ok(stmt.query_map([], user_row)?.collect::<rusqlite::Result<_>>()?)
    }

    fn get_user(&self, id: &str) -> Result<User> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM oauth_users WHERE id = ?1"))?;
        stmt.query_row([id], user_row).optional()?.ok_or(StoreError::NotFound("user"))
    }

    fn find_user(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {USER_COLUMNS}, password_hash FROM oauth_users WHERE username = ?1"))?;
        Ok(stmt.query_row([username], |r| Ok((user_row(r)?, r.get(8)?))).optional()?)
    }

    fn update_user(&self, id: &str, patch: &UserPatch, now: Timestamp) -> Result<User> {
        // One statement: read and changed atomically.
        let conn = self.writer();
        let mut stmt = conn.prepare_cached(&format!(
            "UPDATE oauth_users SET password_hash = COALESCE(?2, password_hash), access = COALESCE(?3, access),
                 disabled = COALESCE(?4, disabled), groups = COALESCE(?6, groups), updated_at = ?5
             WHERE id = ?1 RETURNING {USER_COLUMNS}"
        ))?;
        let access = patch.access.as_ref().map(to_json);
        let groups = patch.groups.as_ref().map(to_json);
        stmt.query_row(params![id, patch.password_hash, access, patch.disabled, ms(now), groups], user_row).optional()?.ok_or(StoreError::NotFound("user"))
    }

    fn delete_user(&self, id: &str) -> Result<()> {
        // Grants (and their codes and tokens) and browser sessions go with it (ON DELETE CASCADE).
        match self.writer().execute("DELETE FROM oauth_users WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound("user")),
            _ => Ok(()),
        }
    }

    fn put_client(&self, client: NewClient, now: Timestamp) -> Result<Client> {
        let now = stored(now);
        // A metadata client's re-fetched document replaces its cached copy (same row, so
        // its grants stay); any other clash of ids is refused (0 rows changed).
        let n = self.writer().execute(
            "INSERT INTO oauth_clients (client_id, name, redirect_uris, kind, token_endpoint_auth_method, secret_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, redirect_uris = excluded.redirect_uris,
                 token_endpoint_auth_method = excluded.token_endpoint_auth_method, secret_hash = excluded.secret_hash, created_at = excluded.created_at
             WHERE oauth_clients.kind = 'metadata' AND excluded.kind = 'metadata'",
            params![
                client.client_id,
                client.name,
                to_json(&client.redirect_uris),
                client.kind.as_str(),
                client.token_endpoint_auth_method,
                client.secret.as_ref().map(|h| h.0.to_vec()),
                ms(now)
            ],
        )?;
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

    fn get_client(&self, client_id: &str) -> Result<Option<Client>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = ?1"))?;
        Ok(stmt.query_row([client_id], client_row).optional()?)
    }

    fn verify_client_secret(&self, client_id: &str, secret: &TokenHash) -> Result<bool> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT secret_hash FROM oauth_clients WHERE client_id = ?1")?;
        let stored: Option<Option<Vec<u8>>> = stmt.query_row([client_id], |r| r.get(0)).optional()?;
        Ok(stored.flatten().and_then(|s| <[u8; 32]>::try_from(s).ok()).is_some_and(|s| TokenHash(s).ct_eq(secret)))
    }

    fn list_clients(&self) -> Result<Vec<Client>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY created_at, client_id"))?;
        Ok(stmt.query_map([], client_row)?.collect::<rusqlite::Result<_>>()?)
    }

    fn delete_client(&self, client_id: &str) -> Result<()> {
        // Grants (and their codes and tokens) and pending requests go with it.
        match self.writer().execute("DELETE FROM oauth_clients WHERE client_id = ?1", [client_id])? {
            0 => Err(StoreError::NotFound("client")),
            _ => Ok(()),
        }
    }

    fn put_browser_session(&self, hash: &TokenHash, user_id: Option<&str>, expires_at: Timestamp) -> Result<()> {
        let done = self.writer().execute(
            "INSERT INTO oauth_browser_sessions (hash, user_id, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at",
            params![hash.0.as_slice(), user_id, ms(expires_at)],
        );
        match done {
            Ok(_) => Ok(()),
            Err(e) if is_constraint(&e, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Err(StoreError::NotFound("user")),
            Err(e) => Err(e.into()),
        }
    }

    fn get_browser_session(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<BrowserSession>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT user_id, expires_at FROM oauth_browser_sessions WHERE hash = ?1 AND expires_at > ?2")?;
        Ok(stmt.query_row(params![hash.0.as_slice(), ms(now)], |r| Ok(BrowserSession { user_id: r.get(0)?, expires_at: ts(r.get(1)?) })).optional()?)
    }

    fn delete_browser_session(&self, hash: &TokenHash) -> Result<()> {
        self.writer().execute("DELETE FROM oauth_browser_sessions WHERE hash = ?1", [hash.0.as_slice()])?;
        Ok(())
    }

    fn put_pending(&self, hash: &TokenHash, p: &PendingRequest) -> Result<()> {
        let done = self.writer().execute(
            &format!("INSERT INTO oauth_pending (hash, {PENDING_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![hash.0.as_slice(), p.session.0.as_slice(), p.client_id, p.redirect_uri, p.state, p.code_challenge, p.resource, p.scope, ms(p.expires_at)],
        );
        match done {
            Ok(_) => Ok(()),
            Err(e) if is_constraint(&e, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Err(StoreError::NotFound("client")),
            Err(e) => Err(e.into()),
        }
    }

    fn get_pending(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<PendingRequest>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {PENDING_COLUMNS} FROM oauth_pending WHERE hash = ?1 AND used_at IS NULL AND expires_at > ?2"))?;
        Ok(stmt.query_row(params![hash.0.as_slice(), ms(now)], pending_row).optional()?)
    }

    fn take_pending(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<PendingRequest>> {
        // One statement: of two concurrent takes, one finds it unused.
        let conn = self.writer();
        let mut stmt = conn.prepare_cached(&format!(
            "UPDATE oauth_pending SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING {PENDING_COLUMNS}"
        ))?;
        Ok(stmt.query_row(params![hash.0.as_slice(), ms(now)], pending_row).optional()?)
    }

    fn create_grant(&self, grant: NewGrant, code: &TokenHash, record: &CodeRecord, now: Timestamp) -> Result<Grant> {
        if record.client_id != grant.client_id {
            return Err(code_client_mismatch());
        }
        let now = stored(now);
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Checked by name first: a foreign-key failure would not say which is missing.
        exists(&tx, "SELECT 1 FROM oauth_users WHERE id = ?1", &grant.user_id, "user")?;
        exists(&tx, "SELECT 1 FROM oauth_clients WHERE client_id = ?1", &grant.client_id, "client")?;
        exists(&tx, "SELECT 1 FROM accounts WHERE id = ?1", &grant.account_id, "integrated account")?;
        if let Some(server_id) = &grant.server_id {
            let owner: Option<String> =
                tx.prepare_cached("SELECT account_id FROM mcp_servers WHERE id = ?1")?.query_row([server_id], |r| r.get(0)).optional()?;
            match owner {
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
        tx.execute(
            &format!("INSERT INTO oauth_grants ({GRANT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL)"),
            params![
                g.id,
                g.user_id,
                g.client_id,
                g.resource,
                g.account_id,
                g.server_id,
                g.scope,
                g.methods.as_ref().map(to_json),
                g.tags.as_ref().map(to_json),
                ms(now)
            ],
        )?;
        tx.execute(
            "INSERT INTO oauth_codes (hash, grant_id, client_id, redirect_uri, code_challenge, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![code.0.as_slice(), g.id, record.client_id, record.redirect_uri, record.code_challenge, ms(record.expires_at)],
        )?;
        tx.commit()?;
        Ok(g)
    }

    fn take_code(&self, code: &TokenHash, now: Timestamp) -> Result<TakenCode> {
        let now = ms(now);
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = tx
            .prepare_cached(
                "SELECT c.grant_id, c.client_id, c.redirect_uri, c.code_challenge, c.expires_at, c.used_at, g.revoked_at
                 FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id WHERE c.hash = ?1",
            )?
            .query_row([code.0.as_slice()], |r| {
                let record =
                    CodeRecord { grant_id: r.get(0)?, client_id: r.get(1)?, redirect_uri: r.get(2)?, code_challenge: r.get(3)?, expires_at: ts(r.get(4)?) };
                Ok((record, r.get::<_, Option<i64>>(5)?, r.get::<_, Option<i64>>(6)?))
            })
            .optional()?;
        let taken = match found {
            None => TakenCode::Unknown,
            // A replay: whatever the first use issued is revoked with the grant.
            Some((record, Some(_), _)) => {
                revoke_in(&tx, &record.grant_id, now)?;
                TakenCode::Reused
            }
            // Expired, or its grant revoked before it was redeemed.
            Some((record, None, revoked)) if ms(record.expires_at) <= now || revoked.is_some() => TakenCode::Unknown,
            Some((record, None, _)) => {
                tx.prepare_cached("UPDATE oauth_codes SET used_at = ?2 WHERE hash = ?1")?.execute(params![code.0.as_slice(), now])?;
                TakenCode::Fresh(record)
            }
        };
        tx.commit()?;
        Ok(taken)
    }

    fn list_grants(&self, user_id: Option<&str>) -> Result<Vec<Grant>> {
        let conn = self.reader();
        match user_id {
            Some(user_id) => {
                let mut stmt =
                    conn.prepare_cached(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = ?1 ORDER BY created_at DESC, id DESC"))?;
                Ok(stmt.query_map([user_id], grant_row)?.collect::<rusqlite::Result<_>>()?)
            }
            None => {
                let mut stmt = conn.prepare_cached(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants ORDER BY created_at DESC, id DESC"))?;
                Ok(stmt.query_map([], grant_row)?.collect::<rusqlite::Result<_>>()?)
            }
        }
    }

    fn get_grant(&self, id: &str) -> Result<Grant> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE id = ?1"))?;
        stmt.query_row([id], grant_row).optional()?.ok_or(StoreError::NotFound("grant"))
    }

    fn revoke_grant(&self, id: &str, now: Timestamp) -> Result<Grant> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if revoke_in(&tx, id, ms(stored(now)))? == 0 {
            return Err(StoreError::NotFound("grant"));
        }
        let grant = tx.prepare_cached(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE id = ?1"))?.query_row([id], grant_row)?;
        tx.commit()?;
        Ok(grant)
    }

    fn issue_tokens(&self, grant_id: &str, tokens: &TokenPair) -> Result<()> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let revoked: Option<Option<i64>> =
            tx.prepare_cached("SELECT revoked_at FROM oauth_grants WHERE id = ?1")?.query_row([grant_id], |r| r.get(0)).optional()?;
        match revoked {
            None => return Err(StoreError::NotFound("grant")),
            Some(Some(_)) => return Err(grant_revoked(grant_id)),
            Some(None) => {}
        }
        insert_pair(&tx, grant_id, tokens)?;
        tx.commit()?;
        Ok(())
    }

    fn resolve_access_token(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<ResolvedGrant>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(RESOLVE_SQL)?;
        let row = stmt.query_row(params![hash.0.as_slice(), ms(now)], resolved_row).optional()?;
        drop(stmt);
        drop(conn);
        let Some(row) = row.filter(|row| row.token.ct_eq(hash)) else {
            let _ = std::hint::black_box(self.key.open(&self.decoy, "not-a-record"));
            return Ok(None);
        };
        let (user_id, team_id, project_id) = row.ids;
        let credential = self.credential(&row.grant.account_id, &row.sealed, user_id, team_id, project_id)?;
        let (server, server_token) = row.server.map_or((None, None), |(s, t)| (Some(s), Some(t)));
        Ok(Some(ResolvedGrant { grant: row.grant, credential, server, server_token, user: row.user, expires_at: row.expires_at }))
    }

    fn rotate_refresh(&self, old: &TokenHash, client_id: &str, new: &TokenPair, now: Timestamp) -> Result<Rotation> {
        let now = ms(now);
        let mut conn = self.writer();
        // The write lock first: of two concurrent rotations of one token, the second
        // finds it spent (and revokes the family).
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = tx
            .prepare_cached(&format!(
                "SELECT {G_COLUMNS}, t.expires_at, t.used_at, t.revoked_at, u.disabled
                 FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN oauth_users u ON u.id = g.user_id
                 WHERE t.hash = ?1 AND t.kind = 'refresh' AND g.client_id = ?2"
            ))?
            .query_row(params![old.0.as_slice(), client_id], |r| {
                Ok((grant_row(r)?, r.get::<_, i64>(11)?, r.get::<_, Option<i64>>(12)?, r.get::<_, Option<i64>>(13)?, r.get::<_, bool>(14)?))
            })
            .optional()?;
        let rotation = match found {
            None => Rotation::Invalid,
            Some((grant, _, Some(_), _, _)) => {
                revoke_in(&tx, &grant.id, now)?;
                Rotation::Reused
            }
            Some((grant, expires_at, None, revoked_at, disabled)) => {
                if expires_at <= now || revoked_at.is_some() || grant.revoked_at.is_some() || disabled {
                    Rotation::Invalid
                } else {
                    tx.prepare_cached("UPDATE oauth_tokens SET used_at = ?2 WHERE hash = ?1")?.execute(params![old.0.as_slice(), now])?;
                    insert_pair(&tx, &grant.id, new)?;
                    Rotation::Rotated(grant)
                }
            }
        };
        tx.commit()?;
        Ok(rotation)
    }

    fn revoke_token(&self, hash: &TokenHash, client_id: &str, now: Timestamp) -> Result<()> {
        let now = ms(stored(now));
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<(String, String)> = tx
            .prepare_cached("SELECT t.grant_id, t.kind FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.hash = ?1 AND g.client_id = ?2")?
            .query_row(params![hash.0.as_slice(), client_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match found {
            None => {}
            Some((grant_id, kind)) if kind == "refresh" => {
                revoke_in(&tx, &grant_id, now)?;
            }
            Some(_) => {
                tx.prepare_cached("UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE hash = ?1")?.execute(params![hash.0.as_slice(), now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn sweep_oauth(&self, now: Timestamp) -> Result<usize> {
        let now = ms(now);
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        // Spent refresh tokens stay until they expire: presenting one again is reuse.
        for table in ["oauth_browser_sessions", "oauth_pending", "oauth_codes", "oauth_tokens"] {
            n += tx.execute(&format!("DELETE FROM {table} WHERE expires_at <= ?1"), [now])?;
        }
        tx.commit()?;
        Ok(n)
    }
}

#[async_trait::async_trait]
impl OAuthStore for SqliteStore {
    async fn create_user(&self, user: NewUser, now: Timestamp) -> Result<User> {
        let _t = timed(BACKEND, "create_user");
        self.write(move |s| s.create_user(user, now)).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let _t = timed(BACKEND, "list_users");
        self.0.list_users()
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        let _t = timed(BACKEND, "get_user");
        self.0.get_user(id)
    }

    async fn find_user(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        let _t = timed(BACKEND, "find_user");
        self.0.find_user(username)
    }

    async fn update_user(&self, id: &str, patch: &UserPatch, now: Timestamp) -> Result<User> {
        let _t = timed(BACKEND, "update_user");
        let (id, patch) = (id.to_owned(), patch.clone());
        self.write(move |s| s.update_user(&id, &patch, now)).await
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_user");
        let id = id.to_owned();
        self.write(move |s| s.delete_user(&id)).await
    }

    async fn put_client(&self, client: NewClient, now: Timestamp) -> Result<Client> {
        let _t = timed(BACKEND, "put_client");
        self.write(move |s| s.put_client(client, now)).await
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<Client>> {
        let _t = timed(BACKEND, "get_client");
        self.0.get_client(client_id)
    }

    async fn verify_client_secret(&self, client_id: &str, secret: &TokenHash) -> Result<bool> {
        let _t = timed(BACKEND, "verify_client_secret");
        self.0.verify_client_secret(client_id, secret)
    }

    async fn list_clients(&self) -> Result<Vec<Client>> {
        let _t = timed(BACKEND, "list_clients");
        self.0.list_clients()
    }

    async fn delete_client(&self, client_id: &str) -> Result<()> {
        let _t = timed(BACKEND, "delete_client");
        let client_id = client_id.to_owned();
        self.write(move |s| s.delete_client(&client_id)).await
    }

    async fn put_browser_session(&self, hash: &TokenHash, user_id: Option<&str>, expires_at: Timestamp) -> Result<()> {
        let _t = timed(BACKEND, "put_browser_session");
        let (hash, user_id) = (*hash, user_id.map(str::to_owned));
        self.write(move |s| s.put_browser_session(&hash, user_id.as_deref(), expires_at)).await
    }

    async fn get_browser_session(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<BrowserSession>> {
        let _t = timed(BACKEND, "get_browser_session");
        self.0.get_browser_session(hash, now)
    }

    async fn delete_browser_session(&self, hash: &TokenHash) -> Result<()> {
        let _t = timed(BACKEND, "delete_browser_session");
        let hash = *hash;
        self.write(move |s| s.delete_browser_session(&hash)).await
    }

    async fn put_pending(&self, hash: &TokenHash, request: &PendingRequest) -> Result<()> {
        let _t = timed(BACKEND, "put_pending");
        let (hash, request) = (*hash, request.clone());
        self.write(move |s| s.put_pending(&hash, &request)).await
    }

    async fn get_pending(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<PendingRequest>> {
        let _t = timed(BACKEND, "get_pending");
        self.0.get_pending(hash, now)
    }

    async fn take_pending(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<PendingRequest>> {
        let _t = timed(BACKEND, "take_pending");
        let hash = *hash;
        self.write(move |s| s.take_pending(&hash, now)).await
    }

    async fn create_grant(&self, grant: NewGrant, code: &TokenHash, record: &CodeRecord, now: Timestamp) -> Result<Grant> {
        let _t = timed(BACKEND, "create_grant");
        let (code, record) = (*code, record.clone());
        self.write(move |s| s.create_grant(grant, &code, &record, now)).await
    }

    async fn take_code(&self, code: &TokenHash, now: Timestamp) -> Result<TakenCode> {
        let _t = timed(BACKEND, "take_code");
        let code = *code;
        self.write(move |s| s.take_code(&code, now)).await
    }

    async fn list_grants(&self, user_id: Option<&str>) -> Result<Vec<Grant>> {
        let _t = timed(BACKEND, "list_grants");
        self.0.list_grants(user_id)
    }

    async fn get_grant(&self, id: &str) -> Result<Grant> {
        let _t = timed(BACKEND, "get_grant");
        self.0.get_grant(id)
    }

    async fn revoke_grant(&self, id: &str, now: Timestamp) -> Result<Grant> {
        let _t = timed(BACKEND, "revoke_grant");
        let id = id.to_owned();
        self.write(move |s| s.revoke_grant(&id, now)).await
    }

    async fn issue_tokens(&self, grant_id: &str, tokens: &TokenPair, _now: Timestamp) -> Result<()> {
        let _t = timed(BACKEND, "issue_tokens");
        let (grant_id, tokens) = (grant_id.to_owned(), tokens.clone());
        self.write(move |s| s.issue_tokens(&grant_id, &tokens)).await
    }

    async fn resolve_access_token(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<ResolvedGrant>> {
        let _t = timed(BACKEND, "resolve_access_token");
        self.0.resolve_access_token(hash, now)
    }

    async fn rotate_refresh(&self, old: &TokenHash, client_id: &str, new: &TokenPair, now: Timestamp) -> Result<Rotation> {
        let _t = timed(BACKEND, "rotate_refresh");
        let (old, client_id, new) = (*old, client_id.to_owned(), new.clone());
        self.write(move |s| s.rotate_refresh(&old, &client_id, &new, now)).await
    }

    async fn revoke_token(&self, hash: &TokenHash, client_id: &str, now: Timestamp) -> Result<()> {
        let _t = timed(BACKEND, "revoke_token");
        let (hash, client_id) = (*hash, client_id.to_owned());
        self.write(move |s| s.revoke_token(&hash, &client_id, now)).await
    }

    async fn sweep_oauth(&self, now: Timestamp) -> Result<usize> {
        let _t = timed(BACKEND, "sweep_oauth");
        self.write(move |s| s.sweep_oauth(now)).await
    }
}
