//! Operability: `/metrics` (names, bounded labels, counts after calls that succeed, fail,
//! are rate limited and rejected; a separate listener), `/livez` and `/readyz` (the check,
//! and 503 from SIGTERM on while a call drains), JSON logs, the W3C trace context that
//! reaches the fake Gumloop, and that no endpoint shows a token or a key.
//!
//! The metrics recorder is global to this test process, so tests that call tools hold
//! [`SERIAL`] and compare counts before and after.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Harness, Setup};
use gumloop_mcp::http::probes::{MetricsAt, Probes, Readiness};
use gumloop_mcp::http::{self, HttpConfig};
use gumloop_testkit::{Fault, FaultKind, RateLimitStyle};
use serde_json::{Value, json};
use tokio::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::const_new(());

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Every sample of a Prometheus text page: (name, labels) → value.
type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn samples(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("bad label in {line}"));
                (k.to_owned(), v.trim_matches('"').to_owned())
            })
            .collect();
        out.insert((name.to_owned(), labels), value.parse().unwrap_or_else(|_| panic!("bad value in {line}")));
    }
    out
}

/// The value of one series (0 when absent).
fn value(s: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    s.get(&(name.to_owned(), labels)).copied().unwrap_or(0.0)
}

fn base(h: &Harness) -> String {
    h.url.trim_end_matches("/mcp").to_owned()
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = client.get(url).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn scrape(h: &Harness) -> Samples {
    let (status, text) = get(&h.client, &format!("{}/metrics", base(h))).await;
    assert_eq!(status, 200, "{text}");
    samples(&text)
}

#[tokio::test]
async fn metrics_count_calls_upstream_answers_and_429s_with_bounded_labels() {
    let _serial = SERIAL.lock().await;
    let h = common::start().await;
    let before = scrape(&h).await;
    let tool = "list_all_gumloop_models";
    for _ in 0..2 {
        assert_ne!(h.call(tool, json!({})).await["isError"], true);
    }
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Status(500) });
    assert_eq!(h.call(tool, json!({})).await["isError"], true);
    let rate_limited = FaultKind::RateLimited { limit: 10, remaining: 0, reset_secs: 30, retry_after: Some(30), style: RateLimitStyle::Ietf };
    h.fake.push_fault(Fault { path_contains: None, kind: rate_limited });
    assert_eq!(h.call(tool, json!({})).await["isError"], true);
    assert_eq!(h.call(tool, json!({"no_such_argument": "secret-argument-value"})).await["isError"], true);
    let unknown = h.rpc("tools/call", json!({"name": "made_up_tool_name_42", "arguments": {}})).await;
    assert!(unknown.body["error"].is_object(), "{}", unknown.body);

    let (status, text) = get(&h.client, &format!("{}/metrics", base(&h))).await;
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE gumloop_mcp_tool_call_seconds histogram"), "histograms, not summaries:\n{text}");
    for absent in ["made_up_tool_name_42", "secret-argument-value", "test-key", "no_such_argument"] {
        assert!(!text.contains(absent), "`{absent}` is in /metrics:\n{text}");
    }
    let after = samples(&text);
    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    assert_eq!(delta("gumloop_mcp_tool_calls_total", &[("tool", tool), ("outcome", "ok")]), 2.0);
    assert_eq!(delta("gumloop_mcp_tool_calls_total", &[("tool", tool), ("outcome", "tool_error")]), 2.0);
    assert_eq!(delta("gumloop_mcp_tool_calls_total", &[("tool", tool), ("outcome", "rejected")]), 1.0);
    assert_eq!(delta("gumloop_mcp_tool_calls_total", &[("tool", "unknown"), ("outcome", "rejected")]), 1.0);
    assert_eq!(delta("gumloop_mcp_tool_call_seconds_count", &[("tool", tool)]), 5.0);
    assert_eq!(delta("gumloop_mcp_rate_limited_total", &[("tool", tool)]), 1.0);
    assert_eq!(delta("gumloop_mcp_upstream_responses_total", &[("class", "2xx")]), 2.0);
    assert_eq!(delta("gumloop_mcp_upstream_responses_total", &[("class", "4xx")]), 1.0);
    assert_eq!(delta("gumloop_mcp_upstream_responses_total", &[("class", "5xx")]), 1.0);
    assert_eq!(delta("gumloop_mcp_upstream_request_seconds_count", &[("class", "2xx")]), 2.0);
    assert_eq!(delta("gumloop_mcp_upstream_request_seconds_bucket", &[("class", "2xx"), ("le", "+Inf")]), 2.0);
    // The fake saw exactly the four calls that were sent.
    assert_eq!(h.fake.requests().len(), 4);
}

#[tokio::test]
async fn tasks_are_counted_by_state() {
    let _serial = SERIAL.lock().await;
    let h = Setup { fake: gumloop_testkit::FakeConfig { session_polls: 1, ..Default::default() }, ..Setup::default() }.start().await;
    let before = scrape(&h).await;
    let r = h
        .rpc_with(
            "tools/call",
            json!({"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "hi"}}),
            json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}),
        )
        .await;
    let task = r.body["result"]["taskId"].as_str().unwrap_or_else(|| panic!("a task: {}", r.body)).to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = h.rpc_with("tasks/get", json!({"taskId": task}), json!({"extensions": {"io.modelcontextprotocol/tasks": {}}})).await;
        if t.body["result"]["status"] != "working" {
            assert_eq!(t.body["result"]["status"], "completed", "{}", t.body);
            break;
        }
        assert!(Instant::now() < deadline, "the task never settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = scrape(&h).await;
    let delta = |state: &str| value(&after, "gumloop_mcp_tasks_total", &[("state", state)]) - value(&before, "gumloop_mcp_tasks_total", &[("state", state)]);
    assert_eq!((delta("created"), delta("completed"), delta("failed"), delta("cancelled")), (1.0, 1.0, 0.0, 0.0));
    assert_eq!(value(&after, "gumloop_mcp_tasks_running", &[]), value(&before, "gumloop_mcp_tasks_running", &[]));
    let calls = "gumloop_mcp_tool_calls_total";
    let ok = &[("tool", "create_a_gumloop_session"), ("outcome", "ok")];
    assert_eq!(value(&after, calls, ok) - value(&before, calls, ok), 1.0, "the task's call is counted once");
}

#[tokio::test]
async fn a_separate_metrics_address_serves_metrics_and_the_main_listener_then_does_not() {
    let _serial = SERIAL.lock().await;
    let http = HttpConfig { probes: Probes { metrics: MetricsAt::Separate, ..Probes::default() }, ..Setup::default().http };
    let h = Setup { http, ..Setup::default() }.start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let served = tokio::spawn(http::probes::serve_metrics(listener, stop.clone()));
    h.call("list_all_gumloop_models", json!({})).await;
    let (status, text) = get(&h.client, &metrics_url).await;
    assert_eq!(status, 200);
    assert!(text.contains("gumloop_mcp_tool_calls_total{"), "{text}");
    assert_eq!(get(&h.client, &format!("{}/metrics", base(&h))).await.0, 404, "not on the main listener");
    assert_eq!(get(&h.client, &format!("{}/livez", base(&h))).await.0, 200, "probes stay on the main listener");
    assert_eq!(get(&h.client, &metrics_url.replace("/metrics", "/livez")).await.0, 404, "the metrics listener serves metrics only");
    stop.cancel();
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn readyz_follows_its_check_and_turns_503_when_shutdown_begins_while_a_call_drains() {
    let _serial = SERIAL.lock().await;
    let healthy = Arc::new(AtomicBool::new(true));
    let flag = healthy.clone();
    let readiness = Readiness::new(move || {
        let ok = flag.load(Ordering::SeqCst);
        Box::pin(async move { if ok { Ok(()) } else { Err("the store is not answering".to_owned()) } })
    });
    let http = HttpConfig { probes: Probes { readiness, ..Probes::default() }, shutdown_grace: Duration::from_secs(10), ..HttpConfig::default() };
    let mut h = Setup { http, ..Setup::default() }.start().await;
    let (livez, readyz) = (format!("{}/livez", base(&h)), format!("{}/readyz", base(&h)));
    assert_eq!(get(&h.client, &livez).await.0, 200);
    assert_eq!(get(&h.client, &readyz).await, (200, json!({"status": "ready"}).to_string()));
    healthy.store(false, Ordering::SeqCst);
    let (status, body) = get(&h.client, &readyz).await;
    assert_eq!(status, 503);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"status": "not_ready", "reason": "the store is not answering"}));
    assert_eq!(get(&h.client, &livez).await.0, 200, "liveness checks nothing");
    healthy.store(true, Ordering::SeqCst);

    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Delay(Duration::from_millis(1500)) });
    let (client, url) = (h.client.clone(), h.url.clone());
    let call = tokio::spawn(async move {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_all_gumloop_models", "arguments": {},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
        let resp = client
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "list_all_gumloop_models")
            .json(&body)
            .send()
            .await
            .unwrap();
        common::parse_body(&resp.text().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let running = h.running.take().unwrap();
    let stopping = tokio::spawn(running.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, body) = get(&h.client, &readyz).await;
    assert_eq!((status, body), (503, json!({"status": "not_ready", "reason": "shutting down"}).to_string()));
    assert!(!call.is_finished(), "the call is still in flight");
    let body = call.await.unwrap();
    assert!(body["result"]["structuredContent"]["model_groups"].is_array(), "the call in flight finished: {body}");
    stopping.await.unwrap().unwrap();
}

/// A tools/call at `url` with `meta` merged into `_meta` and extra HTTP headers.
async fn traced_call(h: &Harness, url: &str, meta: Value, headers: &[(&str, &str)]) -> Value {
    let mut m = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    m.as_object_mut().unwrap().extend(meta.as_object().unwrap().clone());
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_all_gumloop_models", "arguments": {}, "_meta": m}});
    let mut req = h
        .client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "list_all_gumloop_models");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = common::reply(req.json(&body).send().await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The trace headers of the fake's last request.
fn upstream_trace(h: &Harness) -> (Option<String>, Option<String>) {
    let last = h.fake.take_requests().pop().expect("a request reached the fake");
    (last.headers.get("traceparent").cloned(), last.headers.get("tracestate").cloned())
}

fn assert_continues(sent: Option<String>, trace_id: &str, caller_parent: &str) {
    let sent = sent.expect("a traceparent went upstream");
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "{sent}");
    assert_eq!((parts[0], parts[1], parts[3]), ("00", trace_id, "01"), "{sent}");
    assert_eq!(parts[2].len(), 16, "{sent}");
    assert_ne!(parts[2], caller_parent, "a new parent id: {sent}");
    assert_ne!(parts[2], "0000000000000000");
}

#[tokio::test]
async fn a_callers_trace_context_continues_upstream_from_meta_or_headers_and_an_invalid_one_is_not_forwarded() {
    let _serial = SERIAL.lock().await;
    let h = common::start().await;
    let url = h.url.clone();

    traced_call(&h, &url, json!({"traceparent": TRACEPARENT, "tracestate": "vendor=abc"}), &[]).await;
    let (parent, state) = upstream_trace(&h);
    assert_continues(parent, TRACE_ID, "00f067aa0ba902b7");
    assert_eq!(state.as_deref(), Some("vendor=abc"));

    let header_tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    traced_call(&h, &url, json!({}), &[("traceparent", header_tp), ("tracestate", "congo=t61")]).await;
    let (parent, state) = upstream_trace(&h);
    assert_continues(parent, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    assert_eq!(state.as_deref(), Some("congo=t61"));

    // _meta wins over the headers (SEP-414).
    traced_call(&h, &url, json!({"traceparent": TRACEPARENT}), &[("traceparent", header_tp)]).await;
    assert_continues(upstream_trace(&h).0, TRACE_ID, "00f067aa0ba902b7");

    for invalid in ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "garbage"] {
        let body = traced_call(&h, &url, json!({"traceparent": invalid, "tracestate": "vendor=abc"}), &[]).await;
        assert_ne!(body["result"]["isError"], true, "an invalid traceparent is no error: {body}");
        assert_eq!(upstream_trace(&h), (None, None), "{invalid} is not forwarded");
    }
    traced_call(&h, &url, json!({}), &[]).await;
    assert_eq!(upstream_trace(&h), (None, None), "none is invented");
}

#[tokio::test]
async fn tasks_continue_the_trace_of_the_call_that_started_them() {
    let _serial = SERIAL.lock().await;
    let h = Setup { fake: gumloop_testkit::FakeConfig { session_polls: 2, ..Default::default() }, ..Setup::default() }.start().await;
    let mut params = json!({"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "hi"}});
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}, "traceparent": TRACEPARENT});
    let r = common::reply(
        h.post()
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "create_a_gumloop_session")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.body["result"]["resultType"], "task", "{}", r.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.fake.requests().len() < 3 {
        assert!(Instant::now() < deadline, "the task's polls never came: {:?}", h.fake.requests());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for req in h.fake.requests() {
        assert_continues(req.headers.get("traceparent").cloned(), TRACE_ID, "00f067aa0ba902b7");
    }
}

#[tokio::test]
async fn no_probe_or_metric_shows_a_url_token_or_a_gumloop_key() {
    let _serial = SERIAL.lock().await;
    let m = common::start_managed(HttpConfig::default()).await;
    let url = m.server(json!({})).await;
    let token = url.rsplit('/').next().unwrap().to_owned();
    assert!(token.len() > 16, "{url}");
    let call = |url: String, tool: String| {
        let client = m.client.clone();
        async move {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
            client
                .post(&url)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", &tool)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let models = || "list_all_gumloop_models".to_owned();
    assert_eq!(call(url.clone(), models()).await, 200);
    m.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Status(401) });
    assert_eq!(call(url.clone(), models()).await, 200);
    assert_eq!(call(url.clone(), token.clone()).await, 200, "the token as a tool name");
    let forged = format!("{}/mcp/{}x", m.base, token);
    assert_eq!(call(forged, models()).await, 404);
    let (status, metrics) = get(&m.client, &format!("{}/metrics", m.base)).await;
    assert_eq!(status, 200);
    let s = samples(&metrics);
    assert!(value(&s, "gumloop_mcp_admissions_refused_total", &[("reason", "not_found")]) >= 1.0, "{metrics}");
    let (_, readyz) = get(&m.client, &format!("{}/readyz", m.base)).await;
    let (_, livez) = get(&m.client, &format!("{}/livez", m.base)).await;
    for secret in [token.as_str(), &token[..16], "test-key", m.admin_token.as_str(), "user_test"] {
        for (page, text) in [("/metrics", &metrics), ("/readyz", &readyz), ("/livez", &livez)] {
            assert!(!text.contains(secret), "{page} shows `{secret}`:\n{text}");
        }
    }
    // And a query credential is refused on the probes too.
    assert_eq!(get(&m.client, &format!("{}/readyz?token={}", m.base, token)).await.0, 400);
}

/// `gumloop-mcp serve` on port 0 against `fake`, with a key; its address.
fn spawn_serve(data: &std::path::Path, fake: &gumloop_testkit::FakeGumloop, extra: &[&str]) -> (std::process::Child, String, Option<String>) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir", data.to_str().unwrap(), "--gumloop-base-url", &fake.api_base()])
        .args(extra)
        .env("GUMLOOP_API_KEY", "test-key")
        .env("GUMLOOP_USER_ID", "user_test")
        .env_remove("GUMLOOP_MCP_SECRET_KEY")
        .env("GUMLOOP_MCP_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let wants_metrics = extra.contains(&"--metrics-addr");
    let (mut addr, mut metrics) = (None, None);
    while addr.is_none() || (wants_metrics && metrics.is_none()) {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("the server exited before listening");
        }
        let after = |marker: &str| line.split(marker).nth(1).map(|rest| rest.split('/').next().unwrap().to_owned());
        addr = addr.or_else(|| after("MCP at http://"));
        metrics = metrics.or_else(|| after("metrics on http://"));
    }
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, addr.unwrap(), metrics)
}

/// Kills the child if a test fails before it exits.
struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn after_sigterm_readyz_is_503_while_a_slow_call_completes_then_the_process_exits() {
    let fake = gumloop_testkit::FakeGumloop::start(gumloop_testkit::FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (child, addr, metrics) = spawn_serve(&dir.path().join("d"), &fake, &["--shutdown-grace-secs", "10", "--metrics-addr", "127.0.0.1:0"]);
    let mut child = Reap(child);
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let metrics = format!("http://{}/metrics", metrics.expect("the metrics address is logged"));
    assert_eq!(get(&client, &metrics).await.0, 200);
    assert_eq!(get(&client, &format!("{base}/metrics")).await.0, 404, "--metrics-addr moves /metrics off the main listener");
    assert_eq!(get(&client, &format!("{base}/readyz")).await, (200, json!({"status": "ready"}).to_string()), "the store check passes");
    assert_eq!(get(&client, &format!("{base}/livez")).await.0, 200);
    fake.push_fault(Fault { path_contains: None, kind: FaultKind::Delay(Duration::from_millis(2000)) });
    let call = {
        let (client, url) = (client.clone(), format!("{base}/mcp"));
        tokio::spawn(async move {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_all_gumloop_models", "arguments": {},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
            let resp = client
                .post(&url)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", "list_all_gumloop_models")
                .json(&body)
                .send()
                .await
                .unwrap();
            common::parse_body(&resp.text().await.unwrap())
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.requests().is_empty() {
        assert!(Instant::now() < deadline, "the call never reached the fake");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(1);
    let readyz = loop {
        let r = get(&client, &format!("{base}/readyz")).await;
        if r.0 == 503 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(readyz, (503, json!({"status": "not_ready", "reason": "shutting down"}).to_string()));
    assert!(!call.is_finished(), "the slow call is still in flight");
    let body = call.await.unwrap();
    assert!(body["result"]["structuredContent"]["model_groups"].is_array(), "the call in flight finished: {body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
    assert!(client.get(&metrics).send().await.is_err(), "the metrics listener stopped with the process");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_a_call_carries_its_trace_id() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let fake = gumloop_testkit::FakeGumloop::start(gumloop_testkit::FakeConfig::default()).await.unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["stdio", "--log-format", "json", "--gumloop-base-url", &fake.api_base(), "--gumloop-ws-base-url", &fake.ws_base()])
        .env("GUMLOOP_API_KEY", "test-key")
        .env("GUMLOOP_USER_ID", "user_test")
        .env("GUMLOOP_MCP_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let messages = [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_all_gumloop_models", "arguments": {}, "_meta": {"traceparent": TRACEPARENT}}}),
    ];
    for m in messages {
        stdin.write_all(format!("{m}\n").as_bytes()).await.unwrap();
    }
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Duration::from_secs(20);
    loop {
        let line = tokio::time::timeout(deadline, stdout.next_line()).await.unwrap().unwrap().expect("an answer");
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["id"] == 1 {
            assert_ne!(v["result"]["isError"], true, "{v}");
            break;
        }
    }
    drop(stdin);
    let status = tokio::time::timeout(deadline, child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
    let mut logs = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut logs).await.unwrap();
    let events: Vec<Value> = logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}"))).collect();
    assert!(events.iter().all(|e| e["timestamp"].is_string() && e["level"].is_string() && e["target"].is_string()), "{logs}");
    assert!(events.iter().any(|e| e["message"].as_str().is_some_and(|m| m.contains("stdin/stdout"))), "{logs}");
    let call = events.iter().find(|e| e["message"] == "call").unwrap_or_else(|| panic!("the call is logged:\n{logs}"));
    assert_eq!(call["span"]["name"], "call", "{call}");
    assert_eq!(call["span"]["tool"], "list_all_gumloop_models", "{call}");
    assert_eq!(call["span"]["trace_id"], TRACE_ID, "{call}");
    assert_eq!(call["tool"], "list_all_gumloop_models");
    assert!(!logs.contains("test-key"), "{logs}");
}
