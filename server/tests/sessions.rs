//! Bounds on legacy (2025-11-25) sessions: the total cap and the per-server cap, eviction
//! of the least recently active idle session, refusal when every session is busy, DELETE
//! freeing a slot, and stateless 2026-07-28 requests untouched by any of it.

mod common;

use std::time::Duration;

use common::{Legacy, Setup, initialize, legacy_session, reply, start_managed};
use gumloop_mcp::http::HttpConfig;
use gumloop_mcp::http::sessions::SessionLimits;
use gumloop_testkit::{FakeGumloop, Fault, FaultKind};
use serde_json::json;

fn capped(max_sessions: usize, max_per_server: usize) -> HttpConfig {
    let sessions = SessionLimits { max_sessions, max_per_server, ..SessionLimits::default() };
    HttpConfig { shutdown_grace: Duration::from_secs(1), sessions, ..HttpConfig::default() }
}

/// Whether a session still answers (a live one lists tools; an evicted one gets 404).
async fn status_of(session: &Legacy) -> u16 {
    session.rpc(9, "tools/list", json!({})).await.status
}

/// A tool call on `session` that stays in flight (the fake holds it for `hold`) until the
/// fake has seen `calls_before + 1` requests; the task is aborted when the test ends.
async fn busy(fake: &FakeGumloop, session: &Legacy, hold: Duration) -> tokio::task::JoinHandle<()> {
    let seen = fake.requests().len();
    fake.push_fault(Fault { path_contains: None, kind: FaultKind::Delay(hold) });
    let session = session.clone();
    let task = tokio::spawn(async move {
        session.rpc(1, "tools/call", json!({"name": "list_all_gumloop_models", "arguments": {}})).await;
    });
    while fake.requests().len() == seen {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task
}

/// Asserts the JSON-RPC refusal of a new session.
fn assert_refused(r: &common::Reply, flag: &str) {
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["retry-after"], "5");
    assert_eq!(r.body["jsonrpc"], "2.0");
    assert_eq!(r.body["id"], 0, "the initialize's id");
    assert_eq!(r.body["error"]["code"], -32000, "{}", r.body);
    assert_eq!(r.body["error"]["data"]["flag"], flag, "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains(flag), "{}", r.body);
    assert!(!r.headers.contains_key("mcp-session-id"));
}

#[tokio::test]
async fn at_the_cap_the_least_recently_active_idle_session_is_evicted() {
    let h = Setup { http: capped(2, 100), ..Setup::default() }.start().await;
    let first = h.legacy_session().await;
    let second = h.legacy_session().await;
    // The first is used again, so the second is now the least recently active.
    assert_eq!(status_of(&first).await, 200);
    let third = h.legacy_session().await;
    assert_eq!(status_of(&second).await, 404, "evicted: rmcp's answer for an unknown session");
    assert_eq!(status_of(&first).await, 200);
    assert_eq!(status_of(&third).await, 200);
    // Each new session keeps evicting, so the cap never refuses while some session is idle.
    let fourth = h.legacy_session().await;
    assert_eq!(status_of(&first).await, 404);
    assert_eq!((status_of(&third).await, status_of(&fourth).await), (200, 200));
}

#[tokio::test]
async fn when_every_session_is_busy_initialize_is_refused_and_stateless_requests_still_work() {
    let h = Setup { http: capped(1, 100), ..Setup::default() }.start().await;
    let only = h.legacy_session().await;
    let call = busy(&h.fake, &only, Duration::from_secs(20)).await;
    let refused = reply(initialize(&h.client, &h.url).send().await.unwrap()).await;
    assert_refused(&refused, "--max-sessions");
    // 2026-07-28 requests open no session and are served as before.
    let listed = h.rpc("tools/list", json!({})).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.body["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()));
    let called = h.call("list_all_gumloop_flows", json!({})).await;
    assert!(called["structuredContent"].is_object(), "{called}");
    call.abort();
}

#[tokio::test]
async fn a_delete_frees_a_slot_that_no_eviction_could() {
    let h = Setup { http: capped(1, 100), ..Setup::default() }.start().await;
    let only = h.legacy_session().await;
    let call = busy(&h.fake, &only, Duration::from_secs(20)).await;
    assert_eq!(initialize(&h.client, &h.url).send().await.unwrap().status(), 503);
    assert_eq!(only.close().await.status().as_u16(), 204);
    let next = h.legacy_session().await;
    assert_eq!(status_of(&next).await, 200);
    assert_eq!(status_of(&only).await, 404);
    call.abort();
}

#[tokio::test]
async fn a_managed_server_at_its_cap_evicts_its_own_sessions_and_refuses_when_they_are_busy() {
    let h = start_managed(capped(10, 2)).await;
    let (x, y) = (h.server(json!({})).await, h.server(json!({})).await);
    let on_y = legacy_session(&h.client, &y).await;
    let x1 = legacy_session(&h.client, &x).await;
    let x2 = legacy_session(&h.client, &x).await;
    assert_eq!(status_of(&x1).await, 200);
    // The session on `y` is the oldest of all, but `x` makes room from its own.
    let x3 = legacy_session(&h.client, &x).await;
    assert_eq!(status_of(&x2).await, 404);
    assert_eq!((status_of(&on_y).await, status_of(&x1).await, status_of(&x3).await), (200, 200, 200));
    // `/mcp` and other servers are not bound by `x`'s cap.
    let _unscoped = legacy_session(&h.client, &format!("{}/mcp", h.base)).await;
    let _y2 = legacy_session(&h.client, &y).await;
    let _y3 = legacy_session(&h.client, &y).await;
    // Both of `x`'s sessions busy: its next initialize is refused, `y`'s are not.
    let calls = [busy(&h.fake, &x1, Duration::from_secs(20)).await, busy(&h.fake, &x3, Duration::from_secs(20)).await];
    assert_refused(&reply(initialize(&h.client, &x).send().await.unwrap()).await, "--max-sessions-per-server");
    let y4 = legacy_session(&h.client, &y).await;
    assert_eq!(status_of(&y4).await, 200);
    for call in calls {
        call.abort();
    }
}

#[tokio::test]
async fn the_total_cap_counts_the_sessions_of_every_url_together() {
    let h = start_managed(capped(2, 2)).await;
    let (x, y) = (h.server(json!({})).await, h.server(json!({})).await);
    let (on_x, on_y) = (legacy_session(&h.client, &x).await, legacy_session(&h.client, &y).await);
    let calls = [busy(&h.fake, &on_x, Duration::from_secs(20)).await, busy(&h.fake, &on_y, Duration::from_secs(20)).await];
    assert_refused(&reply(initialize(&h.client, &format!("{}/mcp", h.base)).send().await.unwrap()).await, "--max-sessions");
    for call in calls {
        call.abort();
    }
}

#[tokio::test]
async fn delete_answers_204_for_a_session_it_held_and_404_otherwise() {
    let h = start_managed(capped(10, 10)).await;
    let x = h.server(json!({})).await;
    let on_x = legacy_session(&h.client, &x).await;
    let on_mcp = legacy_session(&h.client, &format!("{}/mcp", h.base)).await;
    let delete = |url: String, id: String| {
        let client = h.client.clone();
        async move { client.delete(url).header("mcp-session-id", id).header("mcp-protocol-version", "2025-11-25").send().await.unwrap() }
    };
    // Another URL's DELETE of a session ends nothing and says it does not know it.
    let wrong = delete(format!("{}/mcp", h.base), on_x.session.clone()).await;
    assert_eq!(wrong.status().as_u16(), 404);
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32001, "{body}");
    assert_eq!(status_of(&on_x).await, 200, "the session lives on");
    assert_eq!(delete(format!("{}/mcp", h.base), "no-such-session".into()).await.status().as_u16(), 404);
    // Its own URL ends it: 204, then 404 for the next request and a second DELETE.
    assert_eq!(on_x.close().await.status().as_u16(), 204);
    assert_eq!(status_of(&on_x).await, 404);
    assert_eq!(on_x.close().await.status().as_u16(), 404);
    assert_eq!(on_mcp.close().await.status().as_u16(), 204);
}

#[tokio::test]
async fn a_legacy_session_opened_on_one_replica_is_served_by_another_for_its_own_url_only() {
    let r = common::start_replicas(3).await;
    let (x, y) = (r.server(json!({})).await, r.server(json!({})).await);
    let (a, b, c) = (&r.bases[0], &r.bases[1], &r.bases[2]);
    let on_a = common::legacy_session(&r.client, &format!("{a}{x}")).await;

    // Replica b has never seen the session: it restores it from the store and serves it.
    let on_b = on_a.at(&format!("{b}{x}"));
    let listed = on_b.rpc(1, "tools/list", json!({})).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.body["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()), "{}", listed.body);
    let called = on_b.rpc(2, "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {}})).await;
    assert_eq!(called.body["result"]["isError"], false, "{}", called.body);
    // And again, now from memory, and back on a.
    assert_eq!(on_b.rpc(3, "tools/list", json!({})).await.status, 200);
    assert_eq!(on_a.rpc(4, "tools/list", json!({})).await.status, 200);

    // Another managed server's URL never gets it: not where it is held (a, b), nor
    // restored where it is not (c).
    for base in [a, b, c] {
        let other = on_a.at(&format!("{base}{y}")).rpc(5, "tools/list", json!({})).await;
        assert_eq!(other.status, 404, "{base}: {}", other.body);
    }
    // Nor `/mcp`.
    assert_eq!(on_a.at(&format!("{c}/mcp")).rpc(6, "tools/list", json!({})).await.status, 404);

    // Ended through b: a replica that never held it can no longer restore it.
    assert_eq!(on_b.close().await.status().as_u16(), 204);
    let after = on_a.at(&format!("{c}{x}")).rpc(7, "tools/list", json!({})).await;
    assert_eq!(after.status, 404, "{}", after.body);

    // Ended through a replica that never held it: another URL cannot, its own can, and
    // then nobody restores it.
    let second = common::legacy_session(&r.client, &format!("{a}{x}")).await;
    assert_eq!(second.at(&format!("{c}{y}")).close().await.status().as_u16(), 404);
    assert_eq!(second.at(&format!("{c}{x}")).close().await.status().as_u16(), 204);
    assert_eq!(second.at(&format!("{b}{x}")).rpc(8, "tools/list", json!({})).await.status, 404);
}
