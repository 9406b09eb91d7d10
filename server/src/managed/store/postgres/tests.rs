//! PostgreSQL-only behaviour: the schema version, and an outage (the database stopped
//! and started again under a live store). The shared behaviour is in `store::tests`.

use std::time::{Duration, Instant};

use gumloop_testkit::postgres::TempPostgres;

use super::*;
use crate::managed::secrets::random_bytes;

fn key() -> SealingKey {
    SealingKey::from_bytes([9; 32])
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_ping_reports_it() {
    let db = TempPostgres::shared().create_database();
    let url: DatabaseUrl = db.url.parse().unwrap();
    let store = PostgresStore::connect(&url, key()).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), schema::LATEST as u32);
    store.ping().await.unwrap();
    TempPostgres::shared().psql(&db.name, "INSERT INTO schema_migrations (version) VALUES (99)");
    let err = store.ping().await.unwrap_err().to_string();
    assert!(err.contains("schema version 99"), "{err}");
    let err = PostgresStore::connect(&url, key()).await.err().unwrap().to_string();
    assert!(err.contains("schema version 99") && err.contains("newer"), "{err}");
}

#[tokio::test]
async fn an_outage_is_unavailable_and_service_resumes_by_itself() {
    let pg = TempPostgres::start();
    let url: DatabaseUrl = pg.create_database().url.parse().unwrap();
    let s = PostgresStore::connect(&url, key()).await.unwrap();
    let (_, token) = s.create_api_token("admin", Timestamp::now()).await.unwrap();
    assert!(s.verify_api_token(&token.hash()).await.unwrap());

    pg.stop();
    let started = Instant::now();
    let down = s.verify_api_token(&token.hash()).await;
    assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
    assert!(started.elapsed() < Duration::from_secs(6), "fails within the connect timeout: {:?}", started.elapsed());
    let write = s.create_account(NewAccount { name: "lost".into(), credential: Credential::default() }, Timestamp::now()).await;
    assert!(matches!(write, Err(StoreError::Unavailable(_))), "{write:?}");
    assert!(matches!(s.ping().await, Err(StoreError::Unavailable(_))));
    assert!(matches!(s.resolve_token(&TokenHash(random_bytes())).await, Err(StoreError::Unavailable(_))));

    pg.start_again();
    // The pooled connections died with the server; the pool replaces them on its own.
    assert!(s.verify_api_token(&token.hash()).await.unwrap(), "served again without a restart of the store");
    s.ping().await.unwrap();
    assert!(s.list_accounts().await.unwrap().is_empty(), "the write refused during the outage left nothing");
}

#[tokio::test]
async fn the_postgres_store_keeps_the_task_contract() {
    let db = TempPostgres::shared().create_database();
    let store = PostgresStore::connect(&db.url.parse().unwrap(), key()).await.unwrap();
    crate::mcp::tasks::contract::check(&store).await;
}

#[tokio::test]
async fn two_replicas_never_adopt_the_same_task() {
    use crate::mcp::tasks::store::TaskStore;
    let db = TempPostgres::shared().create_database();
    let url: DatabaseUrl = db.url.parse().unwrap();
    let (a, b) = (PostgresStore::connect(&url, key()).await.unwrap(), PostgresStore::connect(&url, key()).await.unwrap());
    let now = crate::mcp::tasks::now_ms();
    let past = now - jiff::SignedDuration::from_secs(60);
    for i in 0..20 {
        let mut t = crate::mcp::tasks::contract::sample(None, &format!("t{i}"), past, 600_000);
        t.lease_until = Some(past);
        a.create(&t).await.unwrap();
    }
    let until = now + jiff::SignedDuration::from_secs(30);
    let (got_a, got_b) = tokio::join!(a.claim_expired("a", until, now, 20), b.claim_expired("b", until, now, 20));
    let (got_a, got_b) = (got_a.unwrap(), got_b.unwrap());
    assert_eq!(got_a.len() + got_b.len(), 20, "every expired task is claimed once");
    let ids_a: std::collections::HashSet<_> = got_a.iter().map(|t| &t.id).collect();
    assert!(got_b.iter().all(|t| !ids_a.contains(&t.id)), "no task is claimed by both");
}

#[tokio::test]
async fn a_session_row_is_seen_by_another_store_and_only_while_young() {
    use crate::http::sessions::SessionRows;
    let db = TempPostgres::shared().create_database();
    let url: DatabaseUrl = db.url.parse().unwrap();
    let (a, b) = (PostgresStore::connect(&url, key()).await.unwrap(), PostgresStore::connect(&url, key()).await.unwrap());
    let state = serde_json::json!({"initialize_params": {"protocolVersion": "2025-11-25"}});
    a.save_session("s1", Some("mcp_1"), &state).await.unwrap();
    assert_eq!(b.load_session("s1", Duration::from_secs(60)).await.unwrap(), Some((Some("mcp_1".to_owned()), state)));
    assert_eq!(b.load_session("s1", Duration::ZERO).await.unwrap(), None, "older than max_age");
    b.delete_session("s1").await.unwrap();
    assert_eq!(a.load_session("s1", Duration::from_secs(60)).await.unwrap(), None);
}

#[tokio::test]
async fn only_the_replica_holding_the_sweep_lock_sweeps() {
    let db = TempPostgres::shared().create_database();
    let store = PostgresStore::connect(&db.url.parse().unwrap(), key()).await.unwrap();
    let acct = store
        .create_account(NewAccount { name: "a".into(), credential: Credential { api_key: Some(Secret::new("k")), ..Credential::default() } }, Timestamp::now())
        .await
        .unwrap();
    let now = Timestamp::now();
    store.create_server(&acct.id, "s", &Default::default(), Some(now + jiff::SignedDuration::from_secs(61)), now).await.unwrap();
    let later = now + jiff::SignedDuration::from_secs(120);
    // Another replica is sweeping: it holds the lock for its transaction.
    let mut other = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(other.1);
    let tx = other.0.transaction().await.unwrap();
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&0x676d_6370_7377_6570_i64]).await.unwrap();
    assert_eq!(store.sweep_expired(later).await.unwrap(), 0, "the lock is taken: this replica leaves the sweep to the other");
    tx.rollback().await.unwrap();
    assert_eq!(store.sweep_expired(later).await.unwrap(), 1, "with the lock free, it sweeps");
}
