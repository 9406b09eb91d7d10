//! Unit tests of `sqlite`.
use super::schema::MIGRATIONS;
use super::*;
use crate::managed::secrets::random_bytes;

fn store(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir, SealingKey::from_bytes([9; 32])).unwrap()
}

fn credential(key: &str) -> Credential {
    Credential { api_key: Some(Secret::new(key)), user_id: Some("user_1".into()), ..Credential::default() }
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |suffix: &str| std::fs::metadata(dir.path().join(format!("{DB_FILE}{suffix}"))).unwrap().permissions().mode() & 0o777;
    let s = store(dir.path());
    s.create_api_token("t", Timestamp::now()).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        assert_eq!(mode(suffix), 0o600, "{DB_FILE}{suffix}");
    }
    drop(s);
    // A store created by an older version, world-readable, is tightened on open.
    for suffix in ["", "-wal", "-shm"] {
        let f = dir.path().join(format!("{DB_FILE}{suffix}"));
        if f.exists() {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let _s = store(dir.path());
    assert_eq!(mode(""), 0o600);
}

#[tokio::test]
async fn migrations_run_once_and_refuse_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(store(dir.path()).schema_version().unwrap(), MIGRATIONS.len() as u32);
    assert_eq!(store(dir.path()).schema_version().unwrap(), MIGRATIONS.len() as u32, "reopening is a no-op");
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    let err = SqliteStore::open(dir.path(), SealingKey::from_bytes([9; 32])).err().unwrap().to_string();
    assert!(err.contains("schema version 99"), "{err}");
}

#[tokio::test]
async fn tokens_accounts_servers_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let (tok, secret) = s.create_api_token("admin", now).await.unwrap();
    assert!(s.verify_api_token(&secret.hash()).await.unwrap());
    assert!(!s.verify_api_token(&TokenHash(random_bytes())).await.unwrap());
    s.revoke_api_token(&tok.id, now).await.unwrap();
    assert!(!s.verify_api_token(&secret.hash()).await.unwrap(), "revoked at once");
    assert!(matches!(s.revoke_api_token("tok_nope", now).await, Err(StoreError::NotFound(_))));

    let acct = s.create_account(NewAccount { name: "ops".into(), credential: credential("gl_secret") }, now).await.unwrap();
    let config = McpServerConfig { methods: Some(vec!["read".into()]), ..McpServerConfig::default() };
    let (server, token) = s.create_server(&acct.id, "reader", &config, Some(now + jiff::SignedDuration::from_secs(120)), now).await.unwrap();
    let resolved = s.resolve_token(&token.hash()).await.unwrap().unwrap();
    assert_eq!(resolved.server, server);
    assert_eq!(resolved.credential.api_key.unwrap().expose(), "gl_secret");
    assert!(matches!(s.create_server("acct_nope", "x", &config, None, now).await, Err(StoreError::NotFound("integrated account"))));
    assert!(matches!(s.get_server("acct_other", &server.id).await, Err(StoreError::NotFound(_))), "servers are scoped to their account");

    let patched = s.update_server(&acct.id, &server.id, &ServerPatch { expires_at: Some(None), ..ServerPatch::default() }, now).await.unwrap();
    assert_eq!(patched.expires_at, None);
    s.delete_account(&acct.id).await.unwrap();
    assert!(s.resolve_token(&token.hash()).await.unwrap().is_none(), "the account's servers went with it");
}

#[tokio::test]
async fn sweeping_and_audit_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let acct = s.create_account(NewAccount { name: "a".into(), credential: credential("k") }, now).await.unwrap();
    let soon = now + jiff::SignedDuration::from_secs(61);
    let (short, _) = s.create_server(&acct.id, "short", &McpServerConfig::default(), Some(soon), now).await.unwrap();
    let (long, _) = s.create_server(&acct.id, "long", &McpServerConfig::default(), None, now).await.unwrap();
    assert_eq!(s.sweep_expired(now).await.unwrap(), 0);
    assert_eq!(s.sweep_expired(soon).await.unwrap(), 1);
    assert_eq!(s.list_servers(&acct.id).await.unwrap().iter().map(|x| &x.id).collect::<Vec<_>>(), [&long.id]);
    assert!(s.get_server(&acct.id, &short.id).await.is_err());

    let records: Vec<CallRecord> = (0..5)
        .map(|i| CallRecord {
            at: now + jiff::SignedDuration::from_secs(i),
            mcp_server_id: long.id.clone(),
            tool: format!("t{i}"),
            outcome: CallOutcome::Ok,
            latency_ms: 1.5,
        })
        .collect();
    s.record_calls(&records).await.unwrap();
    let p1 = s.list_calls(&long.id, None, 2).await.unwrap();
    assert_eq!(p1.result.iter().map(|r| r.tool.as_str()).collect::<Vec<_>>(), ["t4", "t3"]);
    let p2 = s.list_calls(&long.id, p1.next_cursor.as_deref(), 2).await.unwrap();
    let p3 = s.list_calls(&long.id, p2.next_cursor.as_deref(), 2).await.unwrap();
    assert_eq!(p3.result.iter().map(|r| r.tool.as_str()).collect::<Vec<_>>(), ["t0"]);
    assert_eq!(p3.next_cursor, None);
    assert!(matches!(s.list_calls(&long.id, Some("abc"), 2).await, Err(StoreError::Invalid(_))));
    assert_eq!(s.prune_calls(now + jiff::SignedDuration::from_secs(2)).await.unwrap(), 2);
}
