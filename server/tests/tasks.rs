//! MCP tasks for long-running tools: a 2026-07-28 client that declares
//! `io.modelcontextprotocol/tasks` gets a task, `tasks/get` reports the upstream state and
//! then the final record, and `tasks/cancel` stops the work in Gumloop. Other clients get
//! the plain result.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, Reply, Setup, parse_body};
use gumloop_testkit::FakeConfig;
use serde_json::{Value, json};

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// A stateless request from a client declaring the tasks extension.
async fn rpc(h: &Harness, method: &str, params: Value) -> Reply {
    h.rpc_with(method, params, json!({"extensions": {TASKS: {}}})).await
}

async fn call(h: &Harness, tool: &str, args: Value) -> Value {
    let r = rpc(h, "tools/call", json!({"name": tool, "arguments": args})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["result"].clone()
}

async fn get(h: &Harness, task: &str) -> Value {
    let r = rpc(h, "tasks/get", json!({"taskId": task})).await;
    r.body.get("result").cloned().unwrap_or_else(|| panic!("tasks/get failed: {}", r.body))
}

/// Polls `tasks/get` until the task leaves `working`, collecting the status messages seen.
async fn settle(h: &Harness, task: &str) -> (Value, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut messages = Vec::new();
    loop {
        let t = get(h, task).await;
        if let Some(m) = t["statusMessage"].as_str()
            && messages.last().is_none_or(|l| l != m)
        {
            messages.push(m.to_owned());
        }
        if t["status"] != "working" {
            return (t, messages);
        }
        assert!(Instant::now() < deadline, "the task never settled: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(h: &Harness, method: &str, path_part: &str) -> usize {
    h.fake.requests().iter().filter(|r| r.method == method && r.path.contains(path_part)).count()
}

#[tokio::test]
async fn a_tasks_client_gets_a_task_that_settles_with_the_final_record() {
    let h = Setup { fake: FakeConfig { session_polls: 3, ..FakeConfig::default() }, ..Setup::default() }.start().await;
    let created = call(&h, "create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hello"})).await;
    assert_eq!(created["resultType"], "task", "{created}");
    assert_eq!(created["status"], "working");
    assert!(created["pollIntervalMs"].as_u64().is_some() && created["ttlMs"].as_u64().is_some(), "{created}");
    let id = created["taskId"].as_str().unwrap();

    let (done, messages) = settle(&h, id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let result = &done["result"];
    assert_ne!(result["isError"], true, "{result}");
    assert_eq!(result["structuredContent"]["session"]["state"], "completed", "{result}");
    assert_eq!(result["structuredContent"]["wait"]["finished"], true);
    // The upstream states were reported on the way.
    assert!(messages.iter().any(|m| m.contains("state: processing")), "{messages:?}");
    assert_eq!(count(&h, "GET", "/sessions/"), 3, "polled until completed");
    // A finished task is still there to read, and stays finished.
    assert_eq!(get(&h, id).await["status"], "completed");
}

#[tokio::test]
async fn tasks_cancel_stops_the_session_and_the_run_in_gumloop() {
    let h = Setup { fake: FakeConfig { session_polls: 1000, ..FakeConfig::default() }, ..Setup::default() }.start().await;
    let created = call(&h, "create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "a long job"})).await;
    let task = created["taskId"].as_str().unwrap().to_owned();
    // Wait until the start request has answered (the task reports the state).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !get(&h, &task).await["statusMessage"].as_str().unwrap_or_default().contains("state:") {
        assert!(Instant::now() < deadline, "never polled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = rpc(&h, "tasks/cancel", json!({"taskId": task})).await;
    assert!(r.body.get("error").is_none(), "{}", r.body);
    let (t, _) = settle(&h, &task).await;
    assert_eq!(t["status"], "cancelled", "{t}");
    let cancels: Vec<_> = h.fake.requests().into_iter().filter(|r| r.method == "POST" && r.path.ends_with("/cancel")).collect();
    assert_eq!(cancels.len(), 1, "one upstream cancel");
    let session = cancels[0].path.trim_end_matches("/cancel").rsplit('/').next().unwrap().to_owned();
    // Gumloop has the session as failed, and polling stopped.
    let polls = count(&h, "GET", "/sessions/");
    let now = h.call("get_single_gumloop_session_by_id", json!({"id": session})).await;
    assert_eq!(now["structuredContent"]["session"]["state"], "failed", "{now}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(count(&h, "GET", "/sessions/"), polls + 1, "no polling after the cancel");
    // Cancelling again, or a finished task, changes nothing and calls nothing.
    let again = rpc(&h, "tasks/cancel", json!({"taskId": task})).await;
    assert!(again.body.get("error").is_none(), "{}", again.body);
    assert_eq!(h.fake.requests().iter().filter(|r| r.path.ends_with("/cancel")).count(), 1);

    // A flow run is killed.
    let run = call(&h, "create_a_gumloop_flow_run", json!({"saved_item_id": "flow_1"})).await;
    let task = run["taskId"].as_str().unwrap().to_owned();
    while !get(&h, &task).await["statusMessage"].as_str().unwrap_or_default().contains("state:") {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = rpc(&h, "tasks/cancel", json!({"taskId": task})).await;
    assert!(r.body.get("error").is_none(), "{}", r.body);
    assert_eq!(settle(&h, &task).await.0["status"], "cancelled");
    assert_eq!(count(&h, "POST", "/kill_pipeline"), 1);

    // A data export has no cancel endpoint: the task ends, and says the work goes on.
    let export = call(&h, "create_a_gumloop_data_export", json!({"export_fields": ["name"], "start_date": "2026-11-01", "end_date": "2026-11-02"})).await;
    let task = export["taskId"].as_str().unwrap().to_owned();
    let before = h.fake.requests().len();
    let r = rpc(&h, "tasks/cancel", json!({"taskId": task})).await;
    assert!(r.body.get("error").is_none(), "{}", r.body);
    let (t, _) = settle(&h, &task).await;
    assert_eq!(t["status"], "cancelled", "{t}");
    let note = t["statusMessage"].as_str().unwrap();
    assert!(note.contains("no way to stop `create_a_gumloop_data_export`") && note.contains("get_single_gumloop_data_export_by_id"), "{note}");
    assert!(h.fake.requests()[before..].iter().all(|r| r.method == "GET" || r.path.ends_with("/export_data")), "nothing but the start and polls went upstream");
}

#[tokio::test]
async fn bad_calls_are_answered_at_once_and_other_clients_never_get_a_task() {
    let h = Setup::default().start().await;
    // Invalid arguments: a plain error result, no task, nothing sent.
    let bad = call(&h, "create_a_gumloop_session", json!({"agent_id": 5})).await;
    assert!(bad.get("resultType").is_none_or(|t| t != "task"), "{bad}");
    assert_eq!(bad["isError"], true, "{bad}");
    assert!(h.fake.requests().is_empty());
    // A tool that is not long-running answers directly.
    let list = call(&h, "list_all_gumloop_flows", json!({})).await;
    assert!(list.get("resultType").is_none_or(|t| t != "task"), "{list}");
    // A 2026 client that does not declare tasks gets the plain result.
    let plain = h.call("create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hi"})).await;
    assert!(plain.get("taskId").is_none(), "{plain}");
    assert!(common::text_of(&plain).starts_with("Not finished"), "{plain}");
    // So does a 2025-11-25 session that declared tasks at initialize.
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {"extensions": {TASKS: {}}}, "clientInfo": {"name": "t", "version": "1"}}});
    let resp = h.post().json(&init).send().await.unwrap();
    let sid = resp.headers().get("mcp-session-id").unwrap().to_str().unwrap().to_owned();
    let with = |b: reqwest::RequestBuilder| b.header("mcp-session-id", &sid).header("mcp-protocol-version", "2025-11-25");
    with(h.post()).json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).send().await.unwrap();
    let r = with(h.post())
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "hi"}}}))
        .send()
        .await
        .unwrap();
    let body = parse_body(&r.text().await.unwrap());
    assert!(body["result"].get("taskId").is_none(), "{body}");
    assert!(body["result"]["structuredContent"]["session"].is_object(), "{body}");
    // An unknown task is an error naming it.
    let r = rpc(&h, "tasks/get", json!({"taskId": "nope"})).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("unknown task `nope`"), "{}", r.body);
    // The server advertises the extension.
    let d = h.rpc("server/discover", json!({})).await;
    assert!(d.body["result"]["capabilities"]["extensions"][TASKS].is_object(), "{}", d.body);
}
