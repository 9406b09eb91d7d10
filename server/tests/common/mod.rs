//! Starts a fake Gumloop and gumloop-mcp in-process on 127.0.0.1:0 and speaks JSON-RPC
//! to it over streamable HTTP (stateless 2026-07-28 requests).

#![allow(dead_code)]

use std::time::Duration;

use gumloop_mcp::{Catalog, Credential, GumloopServer, Secret, Upstream, UpstreamConfig, handler::State, http};
use gumloop_mcp_generated::resources::{ALL_TOOLS, INTEGRATION};
use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub struct Harness {
    pub fake: FakeGumloop,
    pub url: String,
    pub client: reqwest::Client,
    stop: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn start() -> Harness {
    start_with(Duration::from_secs(5)).await
}

pub async fn start_with(call_timeout: Duration) -> Harness {
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let credential = Credential { api_key: Some(Secret::new("test-key")), user_id: Some("user_test".into()), ..Credential::default() };
    let upstream = Upstream::new(
        UpstreamConfig { api_base_url: fake.api_base(), ws_base_url: fake.ws_base(), connect_timeout: Duration::from_secs(2), call_timeout },
        &INTEGRATION,
    )
    .unwrap();
    let server = GumloopServer::new(State { catalog: Catalog::new(ALL_TOOLS).unwrap(), upstream, credential });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let config = http::HttpConfig { allowed_hosts: vec![], allowed_origins: vec![], shutdown_grace: Duration::from_secs(1) };
    tokio::spawn(http::serve(server, listener, config, stop.clone()));
    Harness { fake, url, client: reqwest::Client::new(), stop }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Harness {
    /// One stateless (2026-07-28) JSON-RPC request.
    pub async fn rpc(&self, method: &str, mut params: Value) -> Reply {
        params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(name) = params.get("name").and_then(Value::as_str) {
            req = req.header("mcp-name", name);
        }
        let resp = req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        // JSON, or an SSE stream whose last data line is the response.
        let body = serde_json::from_str(&text).unwrap_or_else(|_| {
            text.lines().filter_map(|l| l.strip_prefix("data: ")).filter_map(|d| serde_json::from_str(d).ok()).next_back().unwrap_or(Value::Null)
        });
        Reply { status, headers, body }
    }

    /// `tools/call`, returning the result object.
    pub async fn call(&self, name: &str, args: Value) -> Value {
        let r = self.rpc("tools/call", json!({"name": name, "arguments": args})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body.get("result").cloned().unwrap_or_else(|| panic!("no result: {}", r.body))
    }
}

pub fn text_of(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}
