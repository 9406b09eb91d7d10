//! What every [`TaskStore`] must do, as one check each implementation's tests run
//! (memory here, SQLite and PostgreSQL in the managed store).

use std::time::Duration;

use jiff::Timestamp;
use rmcp::model::TaskStatus;
use serde_json::json;

use super::store::{Held, KeptResult, Settle, TaskRecord, TaskStore};

/// A working task of `owner`, leased to `holder` for a second, living `ttl_ms`.
pub(crate) fn sample(owner: Option<&str>, holder: &str, now: Timestamp, ttl_ms: u64) -> TaskRecord {
    TaskRecord {
        id: super::new_id(),
        owner: owner.map(str::to_owned),
        tool: "create_thing".into(),
        called_as: "create_thing".into(),
        status: TaskStatus::Working,
        status_message: Some("starting".into()),
        outcome: None,
        upstream_id: None,
        cancel_tool: Some("cancel_thing".into()),
        cancel_requested: false,
        lease_owner: Some(holder.to_owned()),
        lease_until: Some(now + Duration::from_secs(1)),
        created_at: now,
        ttl_ms,
        last_updated: now,
    }
}

fn at(now: Timestamp, ms: i64) -> Timestamp {
    Timestamp::from_millisecond(now.as_millisecond() + ms).unwrap()
}

/// Runs every rule against an empty store.
pub(crate) async fn check(s: &dyn TaskStore) {
    let now = Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap();
    // Created, read back whole, by its owner only.
    let a = sample(Some("srv_a"), "r1", now, 60_000);
    s.create(&a).await.unwrap();
    assert_eq!(s.get(&a.id, Some("srv_a")).await.unwrap().as_ref(), Some(&a));
    assert_eq!(s.get(&a.id, Some("srv_b")).await.unwrap(), None);
    assert_eq!(s.get(&a.id, None).await.unwrap(), None);
    let mine = sample(None, "r1", now, 60_000);
    s.create(&mine).await.unwrap();
    assert!(s.get(&mine.id, None).await.unwrap().is_some());
    assert_eq!(s.get(&mine.id, Some("srv_a")).await.unwrap(), None);

    // Only the holder writes.
    assert_eq!(s.set_upstream_id(&a.id, "r2", "up_1", now).await.unwrap(), Held::Lost);
    assert_eq!(s.set_upstream_id(&a.id, "r1", "up_1", now).await.unwrap(), Held::Yes { cancel_requested: false });
    assert_eq!(s.progress(&a.id, "r1", "state: processing", at(now, 5)).await.unwrap(), Held::Yes { cancel_requested: false });
    let got = s.get(&a.id, Some("srv_a")).await.unwrap().unwrap();
    assert_eq!((got.upstream_id.as_deref(), got.status_message.as_deref()), (Some("up_1"), Some("state: processing")));
    assert_eq!(got.last_updated, at(now, 5));

    // Expired leases are claimed once, by one replica.
    assert!(s.claim_expired("r2", at(now, 5000), at(now, 500), 16).await.unwrap().is_empty(), "leases still live");
    let claimed = s.claim_expired("r2", at(now, 5000), at(now, 1500), 16).await.unwrap();
    let mut ids: Vec<_> = claimed.iter().map(|t| t.id.clone()).collect();
    ids.sort();
    let mut want = vec![a.id.clone(), mine.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert!(claimed.iter().all(|t| t.lease_owner.as_deref() == Some("r2") && t.lease_until == Some(at(now, 5000))));
    assert_eq!(claimed.iter().find(|t| t.id == a.id).unwrap().upstream_id.as_deref(), Some("up_1"));
    assert!(s.claim_expired("r3", at(now, 6000), at(now, 1500), 16).await.unwrap().is_empty(), "claimed once");
    // The old holder has lost it; the new one renews.
    assert_eq!(s.progress(&a.id, "r1", "late", at(now, 1600)).await.unwrap(), Held::Lost);
    assert_eq!(s.renew(&a.id, "r2", at(now, 9000), at(now, 1600)).await.unwrap(), Held::Yes { cancel_requested: false });
    assert_eq!(s.renew(&mine.id, "r2", at(now, 9000), at(now, 1600)).await.unwrap(), Held::Yes { cancel_requested: false });
    assert!(s.claim_expired("r3", at(now, 9500), at(now, 6000), 16).await.unwrap().is_empty(), "renewed");

    // A cancel is requested once, by the owner, and the holder hears of it.
    assert!(!s.request_cancel(&a.id, Some("srv_b"), now).await.unwrap());
    assert!(s.request_cancel(&a.id, Some("srv_a"), now).await.unwrap());
    assert!(!s.request_cancel(&a.id, Some("srv_a"), now).await.unwrap(), "already requested");
    assert_eq!(s.progress(&a.id, "r2", "state: failed", at(now, 1700)).await.unwrap(), Held::Yes { cancel_requested: true });
    // ... and then it settles only as cancelled.
    let done = Settle { status: TaskStatus::Completed, message: None, outcome: Some(json!({"content": []})) };
    assert!(!s.finish(&a.id, "r2", &done, at(now, 1800)).await.unwrap());
    let cancelled = Settle { status: TaskStatus::Cancelled, message: Some("cancelled".into()), outcome: None };
    assert!(!s.finish(&a.id, "r1", &cancelled, at(now, 1800)).await.unwrap(), "not the holder");
    assert!(s.finish(&a.id, "r2", &cancelled, at(now, 1800)).await.unwrap());
    let got = s.get(&a.id, Some("srv_a")).await.unwrap().unwrap();
    assert_eq!((got.status, got.status_message.as_deref(), got.lease_owner.as_deref()), (TaskStatus::Cancelled, Some("cancelled"), None));
    assert!(!s.finish(&a.id, "r2", &cancelled, at(now, 1900)).await.unwrap(), "settles once");
    assert!(!s.request_cancel(&a.id, Some("srv_a"), now).await.unwrap(), "settled");

    // A completed task keeps its result; one nobody holds can be failed.
    assert!(s.finish(&mine.id, "r2", &done, at(now, 2000)).await.unwrap());
    let got = s.get(&mine.id, None).await.unwrap().unwrap();
    assert_eq!((got.status, got.outcome), (TaskStatus::Completed, done.outcome.clone()));
    assert_eq!(got.status_message.as_deref(), Some("starting"), "a settle without a message keeps the last one");
    let orphan = sample(None, "r9", now, 60_000);
    s.create(&orphan).await.unwrap();
    let failed = Settle { status: TaskStatus::Failed, message: Some("lost".into()), outcome: Some(json!({"code": -32603, "message": "lost"})) };
    assert!(s.fail_unheld(&orphan.id, &failed, now).await.unwrap());
    assert!(!s.fail_unheld(&orphan.id, &failed, now).await.unwrap(), "already settled");
    assert_eq!(s.get(&orphan.id, None).await.unwrap().unwrap().status, TaskStatus::Failed);

    // Pruned a TTL after settling, or at twice the TTL whatever the state.
    let short = sample(None, "r1", now, 100);
    s.create(&short).await.unwrap();
    assert_eq!(s.prune(at(now, 150)).await.unwrap(), 0);
    assert_eq!(s.prune(at(now, 60_000 + 2100)).await.unwrap(), 4, "the settled ones and the short one");
    assert!(s.get(&short.id, None).await.unwrap().is_none());
    assert!(s.get(&a.id, Some("srv_a")).await.unwrap().is_none());

    // A kept result reads back whole, by its owner only, until it expires; then it is pruned.
    let body = json!({"items": [{"id": "x", "text": "é ✓ \u{0}"}], "n": 1.5});
    let kept = KeptResult { id: super::new_id(), owner: Some("srv_a".into()), body: body.clone(), created_at: now, expires_at: at(now, 1000) };
    s.keep_result(&kept).await.unwrap();
    assert_eq!(s.kept_result(&kept.id, Some("srv_a"), at(now, 999)).await.unwrap(), Some(body));
    assert_eq!(s.kept_result(&kept.id, Some("srv_b"), now).await.unwrap(), None, "another server's");
    assert_eq!(s.kept_result(&kept.id, None, now).await.unwrap(), None, "not /mcp's");
    assert_eq!(s.kept_result(&kept.id, Some("srv_a"), at(now, 1000)).await.unwrap(), None, "expired");
    let open = KeptResult { id: super::new_id(), owner: None, body: json!({}), created_at: now, expires_at: at(now, 90_000) };
    s.keep_result(&open).await.unwrap();
    assert_eq!(s.kept_result(&open.id, Some("srv_a"), now).await.unwrap(), None);
    assert_eq!(s.prune(at(now, 1001)).await.unwrap(), 1, "only the expired one");
    assert_eq!(s.kept_result(&open.id, None, now).await.unwrap(), Some(json!({})));
}
