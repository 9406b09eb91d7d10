//! The store's behaviour, once, run on both backends: every case below runs on SQLite
//! (a temporary data directory) and on PostgreSQL (a database of its own in the test
//! binary's throwaway cluster).

use std::sync::Arc;

use gumloop_testkit::postgres::{Database, TempPostgres};
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::managed::secrets::{SealingKey, random_bytes};
use crate::upstream::credential::Secret;

const KEY: [u8; 32] = [9; 32];

/// Where a case's store lives.
pub(crate) enum Fixture {
    Sqlite(tempfile::TempDir),
    Postgres(Database),
}

impl Fixture {
    pub(crate) fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    pub(crate) fn postgres() -> Self {
        Self::Postgres(TempPostgres::shared().create_database())
    }

    /// Opens the store as a (re)started process would.
    pub(crate) async fn open_with(&self, key: [u8; 32]) -> Result<Arc<dyn Store>> {
        match self {
            Self::Sqlite(dir) => {
                let dir = dir.path().to_owned();
                let opened = tokio::task::spawn_blocking(move || SqliteStore::open(&dir, SealingKey::from_bytes(key))).await.unwrap();
                Ok(Arc::new(opened?))
            }
            Self::Postgres(db) => Ok(Arc::new(PostgresStore::connect(&db.url.parse().unwrap(), SealingKey::from_bytes(key)).await?)),
        }
    }

    pub(crate) async fn open(&self) -> Arc<dyn Store> {
        self.open_with(KEY).await.unwrap()
    }

    /// Everything the database holds, as bytes (SQLite: its files; PostgreSQL: every
    /// row as text, byte strings in hex).
    fn raw(&self) -> Vec<u8> {
        match self {
            Self::Sqlite(dir) => std::fs::read_dir(dir.path()).unwrap().flat_map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect(),
            Self::Postgres(db) => TempPostgres::shared()
                .psql(
                    &db.name,
                    "SELECT t::text FROM api_tokens t UNION ALL SELECT a::text FROM accounts a UNION ALL SELECT s::text FROM mcp_servers s
                     UNION ALL SELECT c::text FROM tool_calls c UNION ALL SELECT m::text FROM meta m
                     UNION ALL SELECT x::text FROM oauth_users x UNION ALL SELECT x::text FROM oauth_clients x
                     UNION ALL SELECT x::text FROM oauth_grants x UNION ALL SELECT x::text FROM oauth_codes x
                     UNION ALL SELECT x::text FROM oauth_tokens x UNION ALL SELECT x::text FROM oauth_browser_sessions x
                     UNION ALL SELECT x::text FROM oauth_pending x",
                )
                .into_bytes(),
        }
    }
}

impl Fixture {
    /// Every non-null cell of every table, each as `<table>: <value>`: SQLite's read with
    /// rusqlite (byte strings in hex and as lossy text), PostgreSQL's as each row's XML.
    fn cells(&self) -> Vec<String> {
        match self {
            Self::Sqlite(dir) => {
                use rusqlite::types::ValueRef;
                let conn = rusqlite::Connection::open(dir.path().join(super::sqlite::DB_FILE)).unwrap();
                let tables: Vec<String> = conn
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let mut cells = vec![];
                for table in tables {
                    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
                    let columns = stmt.column_count();
                    let mut rows = stmt.query([]).unwrap();
                    while let Some(row) = rows.next().unwrap() {
                        for i in 0..columns {
                            let value = match row.get_ref(i).unwrap() {
                                ValueRef::Null => continue,
                                ValueRef::Integer(v) => v.to_string(),
                                ValueRef::Real(v) => v.to_string(),
                                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                                ValueRef::Blob(b) => format!("{} {}", b.iter().map(|b| format!("{b:02x}")).collect::<String>(), String::from_utf8_lossy(b)),
                            };
                            cells.push(format!("{table}: {value}"));
                        }
                    }
                }
                cells
            }
            Self::Postgres(db) => TempPostgres::shared()
                .psql(
                    &db.name,
                    "SELECT t.table_name || ': ' || replace(r::text, E'\\n', ' ')
                     FROM information_schema.tables t,
                          LATERAL unnest(xpath('/table/row', query_to_xml(format('SELECT * FROM %I', t.table_name), false, false, ''))) AS r
                     WHERE t.table_schema = 'public'",
                )
                .lines()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// Each case as a test on each backend: `store::tests::sqlite::<case>` and
/// `store::tests::postgres::<case>`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $case() { super::$case(super::Fixture::sqlite()).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $case() { super::$case(super::Fixture::postgres()).await } )*
        }
    };
}

on_both_backends!(
    tokens_accounts_servers_round_trip,
    sweeping_and_audit_pages,
    patches_change_only_what_they_name,
    another_store_on_the_same_database_sees_every_change_at_once,
    nothing_is_lost_on_restart,
    another_key_is_refused_and_changes_nothing,
    concurrent_first_starts_migrate_once,
    the_raw_database_holds_no_key_and_no_token,
);

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn credential(key: &str) -> Credential {
    Credential { api_key: Some(Secret::new(key)), user_id: Some("user_1".into()), ..Credential::default() }
}

async fn tokens_accounts_servers_round_trip(f: Fixture) {
    let s = f.open().await;
    let now = now();
    s.ping().await.unwrap();
    let (tok, secret) = s.create_api_token("admin", now).await.unwrap();
    assert!(s.verify_api_token(&secret.hash()).await.unwrap());
    assert!(!s.verify_api_token(&TokenHash(random_bytes())).await.unwrap());
    assert_eq!(s.count_api_tokens().await.unwrap(), 1);
    let revoked = s.revoke_api_token(&tok.id, now).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(now));
    assert!(!s.verify_api_token(&secret.hash()).await.unwrap(), "revoked at once");
    let again = s.revoke_api_token(&tok.id, now + SignedDuration::from_secs(5)).await.unwrap();
    assert_eq!(again.revoked_at, Some(now), "revoking again keeps the first instant");
    assert!(matches!(s.revoke_api_token("tok_nope", now).await, Err(StoreError::NotFound(_))));
    assert_eq!(s.list_api_tokens().await.unwrap(), [again]);

    let acct = s.create_account(NewAccount { name: "ops".into(), credential: credential("gl_secret") }, now).await.unwrap();
    assert_eq!(s.get_account(&acct.id).await.unwrap(), acct);
    assert_eq!(s.list_accounts().await.unwrap(), std::slice::from_ref(&acct));
    let config = McpServerConfig { methods: Some(vec!["read".into()]), ..McpServerConfig::default() };
    let (server, token) = s.create_server(&acct.id, "reader", &config, Some(now + SignedDuration::from_secs(120)), now).await.unwrap();
    let resolved = s.resolve_token(&token.hash()).await.unwrap().unwrap();
    assert_eq!(resolved.server, server);
    assert_eq!(resolved.credential.api_key.unwrap().expose(), "gl_secret");
    assert_eq!(resolved.credential.user_id.as_deref(), Some("user_1"));
    assert!(s.resolve_token(&TokenHash(random_bytes())).await.unwrap().is_none(), "an unknown token opens nothing");
    assert!(matches!(s.create_server("acct_nope", "x", &config, None, now).await, Err(StoreError::NotFound("integrated account"))));
    assert!(matches!(s.get_server("acct_other", &server.id).await, Err(StoreError::NotFound(_))), "servers are scoped to their account");
    assert!(matches!(s.delete_server("acct_other", &server.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(s.list_all_servers().await.unwrap(), std::slice::from_ref(&server), "a refused delete deletes nothing");

    s.delete_account(&acct.id).await.unwrap();
    assert!(s.resolve_token(&token.hash()).await.unwrap().is_none(), "the account's servers went with it");
    assert!(matches!(s.delete_account(&acct.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(s.delete_server_by_id(&server.id).await, Err(StoreError::NotFound(_))));
}

async fn sweeping_and_audit_pages(f: Fixture) {
    let s = f.open().await;
    let now = now();
    let acct = s.create_account(NewAccount { name: "a".into(), credential: credential("k") }, now).await.unwrap();
    let soon = now + SignedDuration::from_secs(61);
    let (short, _) = s.create_server(&acct.id, "short", &McpServerConfig::default(), Some(soon), now).await.unwrap();
    let (long, _) = s.create_server(&acct.id, "long", &McpServerConfig::default(), None, now).await.unwrap();
    assert_eq!(s.sweep_expired(now).await.unwrap(), 0);
    assert_eq!(s.sweep_expired(soon).await.unwrap(), 1);
    assert_eq!(s.list_servers(&acct.id).await.unwrap().iter().map(|x| &x.id).collect::<Vec<_>>(), [&long.id]);
    assert!(s.get_server(&acct.id, &short.id).await.is_err());

    let record = |i: i64, tool: String| CallRecord {
        at: now + SignedDuration::from_secs(i),
        mcp_server_id: long.id.clone(),
        tool,
        outcome: CallOutcome::Ok,
        latency_ms: 1.5,
    };
    let records: Vec<CallRecord> = (0..5).map(|i| record(i, format!("t{i}"))).collect();
    s.record_calls(&records).await.unwrap();
    s.record_calls(&[]).await.unwrap();
    let p1 = s.list_calls(&long.id, None, 2).await.unwrap();
    assert_eq!(p1.result.iter().map(|r| r.tool.as_str()).collect::<Vec<_>>(), ["t4", "t3"]);
    assert_eq!(p1.result[1], records[3], "stored as written");
    let p2 = s.list_calls(&long.id, p1.next_cursor.as_deref(), 2).await.unwrap();
    let p3 = s.list_calls(&long.id, p2.next_cursor.as_deref(), 2).await.unwrap();
    assert_eq!(p3.result.iter().map(|r| r.tool.as_str()).collect::<Vec<_>>(), ["t0"]);
    assert_eq!(p3.next_cursor, None);
    for bad in ["abc", "0", "-3", ""] {
        assert!(matches!(s.list_calls(&long.id, Some(bad), 2).await, Err(StoreError::Invalid(_))), "cursor {bad:?}");
    }
    assert!(s.list_calls("mcp_other", None, 10).await.unwrap().result.is_empty(), "a server sees only its own calls");
    assert_eq!(s.prune_calls(now + SignedDuration::from_secs(2)).await.unwrap(), 2);
    // Tool names are kept to 128 characters.
    s.record_calls(&[record(9, "x".repeat(300))]).await.unwrap();
    assert_eq!(s.list_calls(&long.id, None, 1).await.unwrap().result[0].tool, "x".repeat(128));
}

async fn patches_change_only_what_they_name(f: Fixture) {
    let s = f.open().await;
    let now = now();
    let acct = s.create_account(NewAccount { name: "a".into(), credential: credential("k") }, now).await.unwrap();
    let config = McpServerConfig { tags: Some(vec!["flows".into()]), ..McpServerConfig::default() };
    let expiry = now + SignedDuration::from_secs(3600);
    let (server, _) = s.create_server(&acct.id, "s", &config, Some(expiry), now).await.unwrap();
    let later = now + SignedDuration::from_secs(10);
    let renamed = s.update_server(&acct.id, &server.id, &ServerPatch { name: Some("t".into()), ..ServerPatch::default() }, later).await.unwrap();
    assert_eq!((renamed.name.as_str(), &renamed.config, renamed.expires_at, renamed.updated_at), ("t", &config, Some(expiry), later));
    let new_config = McpServerConfig { require_api_token_auth: true, ..McpServerConfig::default() };
    let patch = ServerPatch { config: Some(new_config.clone()), expires_at: Some(None), ..ServerPatch::default() };
    let changed = s.update_server(&acct.id, &server.id, &patch, later).await.unwrap();
    assert_eq!((changed.name.as_str(), &changed.config, changed.expires_at), ("t", &new_config, None));
    assert_eq!(s.get_server(&acct.id, &server.id).await.unwrap(), changed, "what the update returned is what is stored");
    let refused = s.update_server("acct_other", &server.id, &ServerPatch { name: Some("x".into()), ..ServerPatch::default() }, later).await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))));
    assert_eq!(s.get_server(&acct.id, &server.id).await.unwrap().name, "t", "another account's patch changed nothing");
}

async fn another_store_on_the_same_database_sees_every_change_at_once(f: Fixture) {
    // Two replicas (or a server and a CLI command): nothing is cached.
    let (a, b) = (f.open().await, f.open().await);
    let now = now();
    let (tok, secret) = a.create_api_token("ci", now).await.unwrap();
    assert!(b.verify_api_token(&secret.hash()).await.unwrap(), "created on one, valid on the other");
    b.revoke_api_token(&tok.id, now).await.unwrap();
    assert!(!a.verify_api_token(&secret.hash()).await.unwrap(), "revoked on one, refused on the other at once");
    let acct = a.create_account(NewAccount { name: "a".into(), credential: credential("gl_shared") }, now).await.unwrap();
    let (server, token) = b.create_server(&acct.id, "s", &McpServerConfig::default(), None, now).await.unwrap();
    assert_eq!(a.resolve_token(&token.hash()).await.unwrap().unwrap().credential.api_key.unwrap().expose(), "gl_shared");
    a.delete_server_by_id(&server.id).await.unwrap();
    assert!(b.resolve_token(&token.hash()).await.unwrap().is_none());
}

async fn nothing_is_lost_on_restart(f: Fixture) {
    let now = now();
    let (token, account, secret) = {
        let s = f.open().await;
        let (_, secret) = s.create_api_token("admin", now).await.unwrap();
        let acct = s.create_account(NewAccount { name: "a".into(), credential: credential("gl_kept") }, now).await.unwrap();
        let (_, token) = s.create_server(&acct.id, "s", &McpServerConfig::default(), None, now).await.unwrap();
        (token, acct, secret)
    };
    let s = f.open().await;
    assert!(s.verify_api_token(&secret.hash()).await.unwrap());
    assert_eq!(s.list_accounts().await.unwrap(), [account]);
    assert_eq!(s.resolve_token(&token.hash()).await.unwrap().unwrap().credential.api_key.unwrap().expose(), "gl_kept");
}

async fn another_key_is_refused_and_changes_nothing(f: Fixture) {
    let s = f.open().await;
    let acct = s.create_account(NewAccount { name: "a".into(), credential: credential("gl_k") }, now()).await.unwrap();
    drop(s);
    let err = f.open_with([1; 32]).await.err().expect("another key is refused");
    assert!(matches!(err, StoreError::KeyMismatch), "{err}");
    assert!(err.to_string().contains("GUMLOOP_MCP_SECRET_KEY") && err.to_string().contains("Nothing was changed"), "{err}");
    let s = f.open().await;
    assert_eq!(s.list_accounts().await.unwrap(), [acct], "the right key still opens everything");
}

async fn concurrent_first_starts_migrate_once(f: Fixture) {
    let f = Arc::new(f);
    let starts: Vec<_> = (0..4).map(|_| f.clone()).map(|f| tokio::spawn(async move { f.open_with(KEY).await.map(|_| ()) })).collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    f.open().await.ping().await.unwrap();
}

async fn the_raw_database_holds_no_key_and_no_token(f: Fixture) {
    let s = f.open().await;
    let now = now();
    let (_, api) = s.create_api_token("admin", now).await.unwrap();
    let acct = s.create_account(NewAccount { name: "a".into(), credential: credential("gl_live_SECRET_0123456789") }, now).await.unwrap();
    let (_, token) = s.create_server(&acct.id, "s", &McpServerConfig::default(), None, now).await.unwrap();
    let raw = f.raw();
    assert!(raw.len() > 200, "read the database");
    for secret in ["gl_live_SECRET_0123456789", token.reveal(), api.reveal()] {
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        for form in [secret, hex.as_str()] {
            assert!(!raw.windows(form.len()).any(|w| w == form.as_bytes()), "`{secret}` is in the database");
        }
    }
}

mod oauth;
