//! Long-running work against the fake Gumloop: `wait` polls the status tool with backoff
//! to a terminal state and reports progress; a timeout returns the latest state and how
//! to follow it; without `wait` the model is told plainly that nothing has finished; a
//! client that goes away stops the polling.

mod common;

use std::time::{Duration, Instant};

use common::{Setup, start, text_of};
use gumloop_testkit::FakeConfig;
use serde_json::{Value, json};

fn polls_of(h: &common::Harness, path_part: &str) -> usize {
    h.fake.requests().iter().filter(|r| r.method == "GET" && r.path.contains(path_part)).count()
}

#[tokio::test]
async fn without_wait_the_model_is_told_nothing_has_finished() {
    let h = start().await;
    let r = h.call("create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hello"})).await;
    assert!(r.get("isError").is_none_or(|e| e == false), "{r}");
    assert_eq!(r["structuredContent"]["session"]["state"], "processing");
    let guidance = text_of(&r);
    assert!(guidance.starts_with("Not finished: the work is `processing`"), "{guidance}");
    let id = r["structuredContent"]["session"]["id"].as_str().unwrap();
    assert!(guidance.contains(&format!("call `get_single_gumloop_session_by_id` with {{\"id\":\"{id}\"}}")), "{guidance}");
    assert!(guidance.contains("completed or failed"));
    // The JSON copy of the result follows the guidance.
    let json_text: Value = serde_json::from_str(r["content"][1]["text"].as_str().unwrap()).unwrap();
    assert_eq!(json_text, r["structuredContent"]);
    assert_eq!(polls_of(&h, "/sessions/"), 0, "no polling without wait");
    // A session created without input is idle, which is terminal: no guidance.
    let idle = h.call("create_a_gumloop_session", json!({"agent_id": "agent_1"})).await;
    assert!(!text_of(&idle).starts_with("Not finished"), "{idle}");
}

#[tokio::test]
async fn wait_polls_to_the_final_record_for_every_long_running_tool() {
    let h = Setup { fake: FakeConfig { session_polls: 2, ..FakeConfig::default() }, call_timeout: Duration::from_secs(5), ..Setup::default() }.start().await;
    let session = h.call("create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hello", "wait": true, "wait_timeout_seconds": 30})).await;
    let s = &session["structuredContent"];
    assert_eq!(s["session"]["state"], "completed", "{session}");
    assert_eq!(s["wait"]["finished"], true);
    assert_eq!(s["wait"]["polls"], 2);
    assert_eq!(polls_of(&h, "/sessions/"), 2);
    assert!(s["session"]["messages"].as_array().unwrap().iter().any(|m| m["role"] == "assistant"), "{s}");
    let sent = h.fake.requests();
    let gumloop_testkit::RecordedBody::Json(body) = &sent[0].body else { panic!("a JSON body: {:?}", sent[0].body) };
    assert!(!body.as_object().unwrap().contains_key("wait"), "wait never goes upstream: {body}");

    // Then a follow-up message on the same session.
    let id = s["session"]["id"].as_str().unwrap();
    let msg = h.call("send_gumloop_session_message", json!({"id": id, "input": "more", "wait": true})).await;
    assert_eq!(msg["structuredContent"]["session"]["state"], "completed", "{msg}");

    let run = h.call("create_a_gumloop_flow_run", json!({"saved_item_id": "flow_1", "wait": true})).await;
    assert_eq!(run["structuredContent"]["state"], "DONE", "{run}");
    assert!(run["structuredContent"]["run_id"].is_string(), "the first answer's fields are kept: {run}");
    let export =
        h.call("create_a_gumloop_data_export", json!({"wait": true, "export_fields": ["name"], "start_date": "2026-11-01", "end_date": "2026-11-02"})).await;
    assert_eq!(export["structuredContent"]["state"], "COMPLETED", "{export}");
    let agent_run = h.call("create_a_gumloop_agent_run", json!({"gummie_id": "agent_1", "message": "hi", "wait": true})).await;
    assert_eq!(agent_run["structuredContent"]["state"], "COMPLETED", "{agent_run}");
}

#[tokio::test]
async fn a_timeout_returns_the_latest_state_and_how_to_follow_it() {
    let h = Setup { fake: FakeConfig { session_polls: 1000, ..FakeConfig::default() }, ..Setup::default() }.start().await;
    let started = Instant::now();
    let r = h.call("create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "slow", "wait": true, "wait_timeout_seconds": 2})).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(r.get("isError").is_none_or(|e| e == false), "a timeout is not an error: {r}");
    let s = &r["structuredContent"];
    assert_eq!(s["wait"]["timed_out"], true);
    assert_eq!(s["session"]["state"], "processing");
    let text = text_of(&r);
    assert!(text.starts_with("Waited 2 s"), "{text}");
    assert!(text.contains("get_single_gumloop_session_by_id") && text.contains(s["wait"]["id"].as_str().unwrap()), "{text}");
    assert!(polls_of(&h, "/sessions/") >= 2);
}

#[tokio::test]
async fn progress_notifications_arrive_while_waiting() {
    let h = Setup { fake: FakeConfig { session_polls: 3, ..FakeConfig::default() }, ..Setup::default() }.start().await;
    let (text, messages) = h.call_with_progress("create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hi", "wait": true}), "p-1").await;
    let progress: Vec<&Value> = messages.iter().filter(|m| m["method"] == "notifications/progress").collect();
    assert_eq!(progress.len(), 3, "one per poll: {text}");
    assert!(progress.iter().all(|p| p["params"]["progressToken"] == "p-1"));
    assert!(progress[0]["params"]["message"].as_str().unwrap().starts_with("state: processing"), "{}", progress[0]);
    assert!(progress[2]["params"]["message"].as_str().unwrap().starts_with("state: completed"), "{}", progress[2]);
    let values: Vec<f64> = progress.iter().map(|p| p["params"]["progress"].as_f64().unwrap()).collect();
    assert!(values.windows(2).all(|w| w[1] > w[0]), "progress increases: {values:?}");
    let last = messages.last().unwrap();
    assert_eq!(last["id"], 7);
    assert_eq!(last["result"]["structuredContent"]["session"]["state"], "completed");
}

#[tokio::test]
async fn a_client_that_goes_away_stops_the_polling() {
    let h = Setup { fake: FakeConfig { session_polls: 1000, ..FakeConfig::default() }, ..Setup::default() }.start().await;
    let params = json!({"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "hi", "wait": true, "wait_timeout_seconds": 600},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}});
    let request = h
        .post()
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "create_a_gumloop_session")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}))
        .send();
    // Give up on the answer after two polls' worth of time: the connection closes.
    let _ = tokio::time::timeout(Duration::from_millis(1800), request).await;
    let polls_then = polls_of(&h, "/sessions/");
    assert!(polls_then >= 1, "it was polling");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(polls_of(&h, "/sessions/"), polls_then, "polling stopped with the client");
}

#[tokio::test]
async fn a_hanging_poll_does_not_stretch_the_wait_past_its_deadline() {
    // A call timeout of 60 s: without a deadline on each poll, one hanging poll would
    // hold the wait for a minute.
    let h =
        Setup { fake: FakeConfig { session_polls: 1000, ..FakeConfig::default() }, call_timeout: Duration::from_secs(60), ..Setup::default() }.start().await;
    for _ in 0..20 {
        h.fake.push_fault(gumloop_testkit::Fault { path_contains: Some("/api/v1/sessions/".into()), kind: gumloop_testkit::FaultKind::Hang });
    }
    let started = Instant::now();
    let r = h.call("create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "slow", "wait": true, "wait_timeout_seconds": 2})).await;
    let took = started.elapsed();
    let s = &r["structuredContent"];
    assert_eq!(s["wait"]["timed_out"], true, "{r}");
    assert_eq!(s["session"]["state"], "processing", "the latest state known: {r}");
    let elapsed = s["wait"]["elapsed_seconds"].as_f64().unwrap();
    // The deadline plus the poll grace (0.5 s), with room for a slow machine; never the call timeout.
    assert!(elapsed <= 3.0, "the wait reported {elapsed} s");
    assert!(took < Duration::from_secs(15), "the call took {took:?}");
    assert!(s["wait"]["last_poll_problem"].as_str().unwrap().contains("no answer before the wait's deadline"), "{r}");
    let text = text_of(&r);
    assert!(text.starts_with("Waited 2 s") || text.starts_with("Waited 3 s"), "{text}");
    assert!(polls_of(&h, "/api/v1/sessions/") >= 1, "the poll was sent and hung");
}
