//! The result budget (`--max-result-bytes`): a walked list over it is cut at an item
//! boundary with the exact continuation, which gets the next items; any other oversized
//! result is a summary matching the output schema plus a link `resources/read` returns in
//! full, to its own server only, on any replica, until it expires; results under it are
//! unchanged.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, ManagedHarness, Setup, rpc_at};
use gumloop_mcp::UpstreamConfig;
use gumloop_mcp::http::{self, HttpConfig};
use gumloop_mcp::managed::secrets::SealingKey;
use gumloop_mcp::managed::store::SqliteStore;
use gumloop_mcp::mcp::pipeline::budget::{META_KEY, ResultBudget};
use gumloop_mcp::mcp::tasks::{Leases, Tasks};
use gumloop_testkit::FakeConfig;
use serde_json::{Value, json};

const AUDIT: &str = "list_all_gumloop_audit_logs";

fn audit_args(extra: Value) -> Value {
    let mut args = json!({"organization_id": "org_1", "user_id": "user_test", "start_time": "2026-11-29T00:00:00Z", "end_time": "2026-12-01T00:00:00Z"});
    args.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    args
}

fn budget(max_bytes: usize) -> ResultBudget {
    ResultBudget { max_bytes, ..ResultBudget::default() }
}

async fn start(audit_logs: usize, budget: ResultBudget) -> Harness {
    Setup { fake: FakeConfig { audit_logs, ..FakeConfig::default() }, budget, ..Setup::default() }.start().await
}

/// What a result puts before the model: every text block and the structured JSON.
fn model_bytes(result: &Value) -> usize {
    let text: usize = result["content"].as_array().unwrap().iter().filter_map(|b| b["text"].as_str()).map(str::len).sum();
    text + result.get("structuredContent").map_or(0, |s| s.to_string().len())
}

/// The tool's output schema, from tools/list.
async fn output_schema(h: &Harness, tool: &str) -> Value {
    let list = h.rpc("tools/list", json!({})).await;
    let tools = list.body["result"]["tools"].as_array().unwrap();
    tools.iter().find(|t| t["name"] == tool).unwrap()["outputSchema"].clone()
}

/// As the Python client does before accepting a result: structuredContent validates
/// against the tool's outputSchema.
fn assert_conforms(schema: &Value, result: &Value) {
    let validator = jsonschema::validator_for(schema).unwrap();
    let structured = &result["structuredContent"];
    let errors: Vec<String> = validator.iter_errors(structured).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "structuredContent does not match the output schema: {errors:?}");
}

fn ids(result: &Value) -> Vec<String> {
    result["structuredContent"]["audit_logs"].as_array().unwrap().iter().map(|e| e["event_id"].as_str().unwrap().to_owned()).collect()
}

fn evt(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("evt_{i:03}")).collect()
}

#[tokio::test]
async fn a_walk_of_1000_audit_entries_is_cut_on_a_page_and_its_continuation_gets_the_next_items() {
    let h = start(1000, ResultBudget::default()).await;
    let r = h.call(AUDIT, audit_args(json!({"max_items": 1000}))).await;
    let max = ResultBudget::default().max_bytes;
    assert!(model_bytes(&r) <= max, "{} bytes over the {max}-byte budget", model_bytes(&r));
    assert_eq!(r["isError"], false);
    // All 20 pages of 50 were read; the cut is on the start of a page, so nothing is skipped.
    assert_eq!(h.fake.take_requests().len(), 20);
    let n = ids(&r).len();
    assert!(n >= 100 && n.is_multiple_of(50), "{n} items");
    assert_eq!(ids(&r), evt(0..n));
    let page = json!({"page": n / 50 + 1});
    let account = &r["_meta"][META_KEY];
    assert_eq!(account["items"], n);
    assert_eq!(account["items_read"], 1000);
    assert_eq!(account["left_out"], 1000 - n);
    assert_eq!(account["continue_with"], page);
    assert_eq!(account["skip_first"], 0);
    let walk = &r["structuredContent"]["walk"];
    assert_eq!((walk["items"].clone(), walk["complete"].clone(), walk["continue_with"].clone()), (json!(n), json!(false), page.clone()));
    // The notice comes first, the JSON after it, still valid and matching the schema.
    let note = r["content"][0]["text"].as_str().unwrap();
    assert!(note.starts_with(&format!("PARTIAL LIST: {n} of the 1000 items read are here; {} were left out", 1000 - n)), "{note}");
    assert!(note.contains(&format!("plus {page}")), "{note}");
    assert_eq!(serde_json::from_str::<Value>(r["content"][1]["text"].as_str().unwrap()).unwrap(), r["structuredContent"]);
    assert_conforms(&output_schema(&h, AUDIT).await, &r);

    // Following it: the next items, exactly.
    let next = h.call(AUDIT, audit_args(json!({"page": page["page"], "max_items": 100}))).await;
    assert_eq!(ids(&next), evt(n..n + 100));
    assert!(next["_meta"].get(META_KEY).is_none(), "100 entries fit");
}

#[tokio::test]
async fn a_small_budget_cuts_inside_a_page_and_names_a_page_size_that_starts_exactly_there() {
    let h = start(1000, budget(6_000)).await;
    let r = h.call(AUDIT, audit_args(json!({"max_items": 300}))).await;
    assert!(model_bytes(&r) <= 6_000, "{}", model_bytes(&r));
    let n = ids(&r).len();
    assert!((5..50).contains(&n), "{n} items");
    assert_eq!(ids(&r), evt(0..n));
    let account = &r["_meta"][META_KEY];
    assert_eq!(account["left_out"], 300 - n);
    assert_eq!(account["max_items_that_fit"], n);
    let cont = account["continue_with"].clone();
    assert_eq!(cont, json!({"page": 2, "page_size": n}));
    assert_conforms(&output_schema(&h, AUDIT).await, &r);
    // The continuation starts with the first item left out.
    let mut args = audit_args(json!({"max_items": n}));
    args.as_object_mut().unwrap().extend(cont.as_object().unwrap().clone());
    let next = h.call(AUDIT, args).await;
    assert_eq!(ids(&next), evt(n..2 * n));
}

#[tokio::test]
async fn a_single_page_over_the_budget_is_cut_too() {
    let h = start(1000, budget(6_000)).await;
    let r = h.call(AUDIT, audit_args(json!({"page": 2, "page_size": 100}))).await;
    assert!(model_bytes(&r) <= 6_000);
    let n = ids(&r).len();
    assert_eq!(ids(&r), evt(100..100 + n));
    let cont = r["_meta"][META_KEY]["continue_with"].clone();
    let mut args = audit_args(json!({}));
    args.as_object_mut().unwrap().extend(cont.as_object().unwrap().clone());
    let next = h.call(AUDIT, args).await;
    assert_eq!(ids(&next)[0], format!("evt_{:03}", 100 + n), "{cont}");
}

#[tokio::test]
async fn results_under_the_budget_are_unchanged() {
    let unlimited = budget(usize::MAX);
    let (a, b) = (start(120, ResultBudget::default()).await, start(120, unlimited).await);
    for (tool, args) in [
        (AUDIT, audit_args(json!({"max_items": 60}))),
        ("list_all_gumloop_flows", json!({})),
        ("list_all_gumloop_agents", json!({"max_items": 5})),
        ("get_single_gumloop_session_by_id", json!({"id": "ses_998"})),
    ] {
        let (x, y) = (a.call(tool, args.clone()).await, b.call(tool, args).await);
        assert_eq!(x.to_string(), y.to_string(), "{tool}");
        assert!(x.get("_meta").is_none_or(|m| m.get(META_KEY).is_none()));
    }
}

/// An agent whose record is far over the budget: a long prompt and many tools.
async fn big_agent(call: impl AsyncFn(&str, Value) -> Value) -> String {
    let tools: Vec<Value> = (0..300).map(|i| json!({"name": format!("tool_{i}"), "config": {"note": "n".repeat(80)}})).collect();
    let created = call("create_a_gumloop_agent", json!({"name": "big", "model_name": "gpt-5", "system_prompt": "p".repeat(50_000), "tools": tools})).await;
    created["structuredContent"]["agent"]["id"].as_str().unwrap().to_owned()
}

fn kept_uri(result: &Value) -> String {
    let link = result["content"].as_array().unwrap().iter().find(|b| b["type"] == "resource_link").expect("a resource link");
    link["uri"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_oversized_record_is_a_summary_that_matches_its_schema_and_a_link_to_all_of_it() {
    let h = start(120, ResultBudget::default()).await;
    let id = big_agent(async |t, a| h.call(t, a).await).await;
    let r = h.call("get_single_gumloop_agent_by_id", json!({"id": id})).await;
    let max = ResultBudget::default().max_bytes;
    assert!(model_bytes(&r) <= max, "{}", model_bytes(&r));
    assert_eq!(r["isError"], false);
    let note = r["content"][0]["text"].as_str().unwrap();
    assert!(note.starts_with("PARTIAL RESULT:"), "{note}");
    let agent = &r["structuredContent"]["agent"];
    assert_eq!(agent["id"], json!(id), "small values are whole");
    assert!(agent["system_prompt"].as_str().unwrap().ends_with("more bytes elided]"));
    let account = &r["_meta"][META_KEY];
    assert_eq!(account["partial"], true);
    assert!(account["elided"].as_array().unwrap().contains(&json!("/agent/system_prompt")), "{account}");
    assert_conforms(&output_schema(&h, "get_single_gumloop_agent_by_id").await, &r);
    // The link reads the whole JSON, as the tool returned it.
    let uri = kept_uri(&r);
    assert_eq!(account["resource"], json!(uri));
    let read = h.rpc("resources/read", json!({"uri": uri})).await;
    let contents = &read.body["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "application/json");
    let whole: Value = serde_json::from_str(contents["text"].as_str().unwrap()).unwrap();
    assert_eq!(whole["agent"]["system_prompt"].as_str().unwrap().len(), 50_000);
    assert_eq!(whole["agent"]["tools"].as_array().unwrap().len(), 300);
    assert_eq!(account["bytes"], whole.to_string().len());
    // A made-up id is unknown.
    let forged = h.rpc("resources/read", json!({"uri": "gumloop://result/0123456789abcdef0123456789abcdef"})).await;
    assert!(forged.body["error"]["message"].as_str().unwrap().starts_with("unknown resource"), "{}", forged.body);
}

async fn managed_call(h: &ManagedHarness, url: &str, tool: &str, args: Value) -> Value {
    let r = rpc_at(&h.client, url, "tools/call", json!({"name": tool, "arguments": args}), json!({})).await;
    r.body["result"].clone()
}

#[tokio::test]
async fn a_link_reads_only_on_the_server_that_made_it_and_expires() {
    let keep_for = Duration::from_secs(2);
    let h = common::start_managed_on(HttpConfig::default(), None, FakeConfig::default(), ResultBudget { keep_for, ..ResultBudget::default() }).await;
    let (a, b) = (h.server(json!({})).await, h.server(json!({})).await);
    let id = big_agent(async |t, args| managed_call(&h, &a, t, args).await).await;
    let r = managed_call(&h, &a, "get_single_gumloop_agent_by_id", json!({"id": id})).await;
    let uri = kept_uri(&r);
    assert!(r["content"][0]["text"].as_str().unwrap().contains("for 2 seconds, on this server only"), "{r}");
    let read = |url: String| {
        let (client, uri) = (h.client.clone(), uri.clone());
        async move { rpc_at(&client, &url, "resources/read", json!({"uri": uri}), json!({})).await.body }
    };
    assert!(read(a.clone()).await["result"]["contents"][0]["text"].as_str().unwrap().len() > 50_000);
    let unknown = |body: &Value| body["error"]["message"].as_str().is_some_and(|m| m.starts_with("unknown resource"));
    let other = read(b.clone()).await;
    assert!(unknown(&other), "another managed server: {other}");
    let open = read(format!("{}/mcp", h.base)).await;
    assert!(unknown(&open), "/mcp: {open}");
    tokio::time::sleep(keep_for + Duration::from_millis(300)).await;
    let late = read(a).await;
    assert!(unknown(&late), "after it expired: {late}");
}

#[tokio::test]
async fn a_link_made_on_one_replica_reads_on_another() {
    let fake = gumloop_testkit::FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), SealingKey::from_bytes([7; 32])).unwrap());
    let mut urls = Vec::new();
    let mut running = Vec::new();
    for _ in 0..2 {
        let upstream = UpstreamConfig::new(fake.api_base(), fake.ws_base());
        let tasks = Tasks::new(store.clone(), Duration::from_secs(120), Leases::default());
        let server = gumloop_mcp::gumloop_server(upstream, common::personal_key()).unwrap().with_result_budget(ResultBudget::default()).with_tasks(tasks);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = http::spawn(server, listener, HttpConfig { shutdown_grace: Duration::from_millis(200), ..HttpConfig::default() }).unwrap();
        urls.push(r.url());
        running.push(r);
    }
    let client = reqwest::Client::new();
    let call =
        async |t: &str, args: Value| rpc_at(&client, &urls[0], "tools/call", json!({"name": t, "arguments": args}), json!({})).await.body["result"].clone();
    let id = big_agent(call).await;
    let r = rpc_at(&client, &urls[0], "tools/call", json!({"name": "get_single_gumloop_agent_by_id", "arguments": {"id": id}}), json!({})).await;
    let uri = kept_uri(&r.body["result"]);
    let read = rpc_at(&client, &urls[1], "resources/read", json!({"uri": uri}), json!({})).await;
    let whole: Value = serde_json::from_str(read.body["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(whole["agent"]["id"], json!(id));
}

#[tokio::test]
async fn a_cursor_list_is_cut_on_a_page_and_continues_with_that_pages_cursor() {
    let art_ids =
        |r: &Value| -> Vec<String> { r["structuredContent"]["artifacts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect() };
    let whole = start(120, budget(usize::MAX)).await.call("list_all_gumloop_artifacts", json!({"agent_id": "agent_1", "max_items": 3, "page_size": 1})).await;
    let all = art_ids(&whole);
    assert_eq!(all.len(), 3);
    // Just over what the three take: the room a notice needs leaves fewer.
    let h = start(120, budget(model_bytes(&whole) - 1)).await;
    let r = h.call("list_all_gumloop_artifacts", json!({"agent_id": "agent_1", "max_items": 3, "page_size": 1})).await;
    let kept = art_ids(&r);
    assert!(!kept.is_empty() && kept.len() < 3, "{kept:?}");
    assert_eq!(kept, all[..kept.len()]);
    let account = &r["_meta"][META_KEY];
    assert_eq!(account["skip_first"], 0, "{account}");
    let cursor = account["continue_with"]["cursor"].as_str().expect("a cursor").to_owned();
    assert_eq!(r["structuredContent"]["next_cursor"], json!(cursor), "next_cursor says the same");
    let next = h.call("list_all_gumloop_artifacts", json!({"agent_id": "agent_1", "cursor": cursor, "page_size": 1, "max_items": 1})).await;
    assert_eq!(art_ids(&next), all[kept.len()..=kept.len()]);
}
