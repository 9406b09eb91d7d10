//! The call pipeline on a spec of its own (`tests/fixtures/pipeline/`, a made-up API): a
//! behaviour declared only in the spec is carried out, and behaviours compose. The
//! fixture's generated module is committed beside it and checked fresh by
//! `pipeline_fixture.rs`, so editing the YAML is the whole change
//! (`EXPECTORATE=overwrite cargo test -p gumloop-mcp --test pipeline_fixture` regenerates it).

#[rustfmt::skip]
#[allow(dead_code)]
#[path = "fixtures/pipeline.rs"]
mod fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Path as UrlPath, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use gumloop_mcp::http::{self, HttpConfig};
use gumloop_mcp::{Credential, Secret, UpstreamConfig};
use serde_json::{Value, json};

/// A made-up upstream: three pages of files with signed URLs, and a job that is queued
/// twice before it is done.
#[derive(Clone, Default)]
struct Upstream {
    base: Arc<std::sync::OnceLock<String>>,
    polls: Arc<AtomicUsize>,
}

async fn files(State(u): State<Upstream>, Query(q): Query<Vec<(String, String)>>) -> Json<Value> {
    let base = u.base.get().unwrap();
    let page = q.iter().find(|(k, _)| k == "cursor").map_or(0, |(_, v)| v.parse::<usize>().unwrap());
    let files: Vec<Value> = (0..2)
        .map(|i| {
            let n = page * 2 + i;
            json!({"id": format!("f{n}"), "title": format!("file-{n}.txt"), "bytes": 10 + n, "link": {"href": format!("{base}/signed/{n}")}})
        })
        .collect();
    Json(json!({"files": files, "next_cursor": if page < 2 { json!((page + 1).to_string()) } else { Value::Null }}))
}

async fn signed(UrlPath(n): UrlPath<usize>) -> String {
    format!("the bytes of file {n}")
}

async fn create_job() -> Json<Value> {
    Json(json!({"job": {"key": "j1", "phase": "queued", "waiting": {"ahead": 3}}}))
}

async fn get_job(State(u): State<Upstream>, UrlPath(id): UrlPath<String>) -> Json<Value> {
    let n = u.polls.fetch_add(1, Ordering::SeqCst);
    let (phase, ahead) = match n {
        0 => ("queued", json!(2)),
        1 => ("queued", json!(1)),
        _ => ("done", Value::Null),
    };
    Json(json!({"job": {"key": id, "phase": phase, "waiting": {"ahead": ahead}}}))
}

struct H {
    url: String,
    client: reqwest::Client,
    _running: http::Running,
}

async fn start() -> H {
    let upstream = Upstream::default();
    let app = Router::new()
        .route("/v1/files", get(files))
        .route("/v1/jobs", post(create_job))
        .route("/v1/jobs/{id}", get(get_job))
        .route("/signed/{n}", get(signed))
        .with_state(upstream.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    upstream.base.set(base.clone()).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = UpstreamConfig { call_timeout: Duration::from_secs(5), ..UpstreamConfig::new(format!("{base}/v1"), format!("{base}/v1")) };
    let credential = Credential { api_key: Some(Secret::new("k")), ..Credential::default() };
    let server = gumloop_mcp::server_for(fixture::resources::ALL_TOOLS, &fixture::resources::INTEGRATION, config, credential).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = http::spawn(server, listener, HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }).unwrap();
    H { url: running.url(), client: reqwest::Client::new(), _running: running }
}

impl H {
    /// One stateless 2026-07-28 request; the last JSON-RPC message of the answer.
    async fn rpc(&self, method: &str, params: Value) -> Value {
        self.messages(method, params).await.pop().unwrap()
    }

    /// One stateless 2026-07-28 request; every JSON-RPC message of the answer.
    async fn messages(&self, method: &str, mut params: Value) -> Vec<Value> {
        let meta = params.get_mut("_meta").and_then(Value::as_object_mut).map(std::mem::take).unwrap_or_default();
        params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
        params["_meta"].as_object_mut().unwrap().extend(meta);
        let mut req = self
            .client
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(name) = ["name", "uri"].iter().find_map(|k| params.get(*k)).and_then(Value::as_str) {
            req = req.header("mcp-name", name);
        }
        let text = req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).send().await.unwrap().text().await.unwrap();
        match serde_json::from_str(&text) {
            Ok(one) => vec![one],
            Err(_) => text.lines().filter_map(|l| l.strip_prefix("data:")).filter_map(|d| serde_json::from_str(d.trim()).ok()).collect(),
        }
    }
}

#[tokio::test]
async fn a_walked_list_gets_a_link_for_every_item_of_every_page() {
    let h = start().await;
    let r = h.rpc("tools/call", json!({"name": "list_all_acme_files", "arguments": {"max_items": 6}})).await;
    let result = &r["result"];
    assert_eq!(result["structuredContent"]["walk"]["pages_read"], 3, "{r}");
    assert_eq!(result["structuredContent"]["files"].as_array().unwrap().len(), 6);
    let links: Vec<&Value> = result["content"].as_array().unwrap().iter().filter(|c| c["type"] == "resource_link").collect();
    assert_eq!(links.len(), 6, "one link per item, across the three pages: {r}");
    let names: Vec<&str> = links.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["file-0.txt", "file-1.txt", "file-2.txt", "file-3.txt", "file-4.txt", "file-5.txt"]);
    assert_eq!(links[5]["size"], 15, "the size is where the spec points");
    // A link from the third page reads that item's bytes.
    let read = h.rpc("resources/read", json!({"uri": links[4]["uri"]})).await;
    assert_eq!(read["result"]["contents"][0]["text"], "the bytes of file 4", "{read}");
}

#[tokio::test]
async fn a_queue_position_is_read_where_the_spec_says() {
    let h = start().await;
    let r = h.rpc("tools/call", json!({"name": "create_a_acme_job", "arguments": {"task": "t"}})).await;
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Not finished: the work is `queued` (queue position 3)"), "{text}");
    assert!(text.contains("call `get_single_acme_job_by_id` with {\"id\":\"j1\"} until the state is done"), "{text}");
    // Waiting reports the position of each poll in its progress, and ends with the record.
    let mut messages =
        h.messages("tools/call", json!({"name": "create_a_acme_job", "arguments": {"task": "t", "wait": true}, "_meta": {"progressToken": "p"}})).await;
    let r = messages.pop().unwrap();
    assert_eq!(r["result"]["structuredContent"]["job"]["phase"], "done", "{r}");
    assert_eq!(r["result"]["structuredContent"]["wait"]["polls"], 3);
    let progress: Vec<&str> = messages.iter().filter(|m| m["method"] == "notifications/progress").map(|m| m["params"]["message"].as_str().unwrap()).collect();
    assert_eq!(progress.len(), 3, "{messages:?}");
    assert!(progress[0].starts_with("state: queued, queue position 2,") && progress[1].starts_with("state: queued, queue position 1,"), "{progress:?}");
    assert!(progress[2].starts_with("state: done,"), "{progress:?}");
}
