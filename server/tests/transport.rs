//! The transports: both protocol eras on one HTTP endpoint, DNS-rebinding protection,
//! `ratelimit-*` headers on SSE answers, graceful shutdown, and stdio (including a
//! client's cancel reaching the upstream request).

mod common;

use std::time::{Duration, Instant};

use common::{Setup, start};
use gumloop_mcp::http::HttpConfig;
use gumloop_testkit::{Fault, FaultKind, RateLimitStyle};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn dns_rebinding_is_refused() {
    let h = start().await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let evil_host = h.post().header("host", "evil.com").json(&body).send().await.unwrap();
    assert_eq!(evil_host.status().as_u16(), 403);
    let evil_origin = h.post().header("origin", "http://evil.com").json(&body).send().await.unwrap();
    assert_eq!(evil_origin.status().as_u16(), 403);
    // Loopback pages (the MCP Inspector, say) and the loopback host on any port are fine.
    let local = h.rpc("tools/list", json!({})).await;
    assert_eq!(local.status, 200);
    let inspector = h
        .post()
        .header("origin", "http://localhost:6274")
        .json(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(inspector.status().as_u16(), 200);
}

#[tokio::test]
async fn allowed_hosts_admit_a_proxy_name() {
    let http = HttpConfig { allowed_hosts: vec!["mcp.example.com".into()], allowed_origins: vec!["https://app.example.com".into()], ..HttpConfig::default() };
    let h = Setup { http, ..Setup::default() }.start().await;
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let ok = h.post().header("host", "mcp.example.com").header("origin", "https://app.example.com").json(&body).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let other = h.post().header("host", "other.example.com").json(&body).send().await.unwrap();
    assert_eq!(other.status().as_u16(), 403);
}

#[tokio::test]
async fn legacy_sessions_list_the_same_tools_and_get_ratelimit_headers() {
    let h = start().await;
    let legacy = h.legacy_session().await;
    let listed = legacy.rpc(1, "tools/list", json!({})).await;
    let committed: Value = serde_json::from_str(gumloop_mcp_generated::TOOLS_JSON).unwrap();
    assert_eq!(listed.body["result"]["tools"], committed);

    h.fake.push_fault(Fault {
        path_contains: None,
        kind: FaultKind::RateLimited { limit: 60, remaining: 0, reset_secs: 20, retry_after: None, style: RateLimitStyle::Ietf },
    });
    let r = legacy.rpc(2, "tools/call", json!({"name": "list_all_gumloop_models", "arguments": {}})).await;
    assert_eq!(r.headers["content-type"], "text/event-stream", "legacy calls are answered over SSE");
    assert_eq!(r.body["result"]["structuredContent"]["rate_limit"], json!({"limit": 60, "remaining": 0, "reset": 20}), "{}", r.body);
    assert_eq!(r.headers["ratelimit-limit"], "60");
    assert_eq!(r.headers["ratelimit-remaining"], "0");
    assert_eq!(r.headers["ratelimit-reset"], "20");
    // A call that succeeds carries none.
    let ok = legacy.rpc(3, "tools/call", json!({"name": "list_all_gumloop_models", "arguments": {}})).await;
    assert!(ok.body["result"]["structuredContent"]["model_groups"].is_array(), "{}", ok.body);
    assert!(!ok.headers.contains_key("ratelimit-limit"));
}

#[tokio::test]
async fn shutdown_lets_calls_in_flight_finish() {
    let mut h = start().await;
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Delay(Duration::from_millis(600)) });
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
    // A legacy client holding its session open must not hold up shutdown.
    let legacy = h.legacy_session().await;
    let _stream = legacy.open_stream().await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    h.shutdown().await;
    let body = call.await.unwrap();
    assert!(body["result"]["structuredContent"]["model_groups"].is_array(), "the call in flight finished: {body}");
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
    assert!(h.client.post(&h.url).send().await.is_err(), "no longer accepting");
}

#[tokio::test]
async fn shutdown_grace_bounds_the_wait() {
    let http = HttpConfig { shutdown_grace: Duration::from_millis(300), ..HttpConfig::default() };
    let mut h = Setup { http, call_timeout: Duration::from_secs(30), ..Setup::default() }.start().await;
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Delay(Duration::from_secs(20)) });
    let (client, url) = (h.client.clone(), h.url.clone());
    let _call = tokio::spawn(async move {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_all_gumloop_models", "arguments": {},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
        let _ = client.post(&url).header("accept", "application/json, text/event-stream").header("mcp-protocol-version", "2026-07-28").json(&body).send().await;
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    h.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

/// A JSON-RPC client over an in-memory pipe to `stdio::serve_io`.
struct StdioClient {
    write: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    read: BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl StdioClient {
    fn start(server: gumloop_mcp::GumloopServer) -> Self {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (their_read, their_write) = tokio::io::split(theirs);
        let stop = CancellationToken::new();
        let task = tokio::spawn(gumloop_mcp::stdio::serve_io(server, their_read, their_write, stop.clone()));
        let (read, write) = tokio::io::split(ours);
        Self { write, read: BufReader::new(read), stop, task }
    }

    async fn send(&mut self, message: Value) {
        self.write.write_all(format!("{message}\n").as_bytes()).await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(5), self.read.read_line(&mut line)).await.expect("an answer").unwrap();
        serde_json::from_str(&line).unwrap()
    }

    async fn initialize(&mut self) {
        self.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
            .await;
        let init = self.recv().await;
        assert!(init["result"]["capabilities"]["tools"].is_object(), "{init}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    }
}

#[tokio::test]
async fn stdio_lists_and_calls() {
    let fake = gumloop_testkit::FakeGumloop::start(Default::default()).await.unwrap();
    let server = gumloop_mcp::gumloop_server(gumloop_mcp::UpstreamConfig::new(fake.api_base(), fake.ws_base()), common::personal_key()).unwrap();
    let mut c = StdioClient::start(server);
    c.initialize().await;
    c.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})).await;
    let listed = c.recv().await;
    let committed: Value = serde_json::from_str(gumloop_mcp_generated::TOOLS_JSON).unwrap();
    assert_eq!(listed["result"]["tools"], committed);
    c.send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_all_gumloop_models", "arguments": {}}})).await;
    let called = c.recv().await;
    assert!(called["result"]["structuredContent"]["model_groups"].is_array(), "{called}");
    assert_eq!(fake.requests().len(), 1);
    c.stop.cancel();
    c.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_cancelled_call_drops_its_upstream_request() {
    // An upstream that accepts the request and never answers, and reports when the
    // connection is closed under it.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", upstream.local_addr().unwrap());
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut sock, _) = upstream.accept().await.unwrap();
        let mut buf = vec![0; 8192];
        let mut seen = Vec::new();
        let started = Instant::now();
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let _ = closed_tx.send((started.elapsed(), String::from_utf8_lossy(&seen).into_owned()));
    });
    let config = gumloop_mcp::UpstreamConfig::new(format!("{base}/api/v1"), format!("{base}/ws/api/v1"));
    let server = gumloop_mcp::gumloop_server(config, common::personal_key()).unwrap();
    let mut c = StdioClient::start(server);
    c.initialize().await;
    c.send(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "list_all_gumloop_models", "arguments": {}}})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.send(json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "user"}})).await;
    let (open_for, request) = tokio::time::timeout(Duration::from_secs(5), closed_rx).await.expect("the upstream request was dropped").unwrap();
    assert!(request.starts_with("GET /api/v1/"), "{request}");
    assert!(open_for < Duration::from_secs(5), "{open_for:?}");
    // The server is still serving.
    c.send(json!({"jsonrpc": "2.0", "id": 8, "method": "ping"})).await;
    // Whatever rmcp says about request 7 may come first.
    let mut pong = c.recv().await;
    if pong["id"] == 7 {
        pong = c.recv().await;
    }
    assert_eq!(pong["id"], 8, "{pong}");
}
