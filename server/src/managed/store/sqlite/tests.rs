//! Unit tests of `sqlite`.
use super::schema::MIGRATIONS;
use super::*;

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
async fn a_store_from_before_the_key_check_is_checked_against_its_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let acct = s.create_account(NewAccount { name: "a".into(), credential: credential("gl_old") }, Timestamp::now()).await.unwrap();
    drop(s);
    // As an older gumloop-mcp left it: no key check yet.
    Connection::open(dir.path().join(DB_FILE)).unwrap().execute("DELETE FROM meta", []).unwrap();
    let err = SqliteStore::open(dir.path(), SealingKey::from_bytes([1; 32])).err().expect("a key that opens no account is refused");
    assert!(matches!(err, StoreError::KeyMismatch), "{err}");
    let checks: i64 = Connection::open(dir.path().join(DB_FILE)).unwrap().query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0)).unwrap();
    assert_eq!(checks, 0, "the wrong key was not recorded");
    let s = store(dir.path());
    assert_eq!(s.get_account(&acct.id).await.unwrap(), acct);
    assert!(SqliteStore::open(dir.path(), SealingKey::from_bytes([1; 32])).is_err(), "now the recorded check refuses it");
}

#[test]
fn a_changed_key_file_is_a_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = SealingKey::load(dir.path(), None).unwrap();
    drop(SqliteStore::open(dir.path(), key).unwrap());
    std::fs::remove_file(dir.path().join(crate::managed::secrets::KEY_FILE)).unwrap();
    let (other, _) = SealingKey::load(dir.path(), None).unwrap();
    let err = SqliteStore::open(dir.path(), other).err().expect("refused").to_string();
    assert!(err.contains("does not match the key check") && err.contains("secret.key"), "{err}");
}
