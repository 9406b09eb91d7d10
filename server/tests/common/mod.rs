//! Starts a fake Gumloop and gumloop-mcp in-process on 127.0.0.1:0 and speaks JSON-RPC
//! to it over streamable HTTP: stateless 2026-07-28 requests, or a legacy 2025-11-25
//! session.

#![allow(dead_code)]

pub mod browser;

use std::time::Duration;

use gumloop_mcp::http::{self, HttpConfig, Running};
use gumloop_mcp::{Credential, Secret, UpstreamConfig};
use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::{Value, json};

/// What to start.
pub struct Setup {
    pub fake: FakeConfig,
    pub credential: Credential,
    pub call_timeout: Duration,
    pub http: HttpConfig,
    pub max_download_bytes: u64,
    pub max_response_bytes: u64,
    pub budget: gumloop_mcp::mcp::pipeline::budget::ResultBudget,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            fake: FakeConfig::default(),
            credential: personal_key(),
            call_timeout: Duration::from_secs(5),
            http: HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() },
            max_download_bytes: 5 * 1024 * 1024,
            max_response_bytes: gumloop_mcp::upstream::DEFAULT_MAX_RESPONSE_BYTES,
            budget: Default::default(),
        }
    }
}

/// The fake's default personal key and user.
pub fn personal_key() -> Credential {
    Credential { api_key: Some(Secret::new("test-key")), user_id: Some("user_test".into()), ..Credential::default() }
}

impl Setup {
    pub async fn start(self) -> Harness {
        let fake = FakeGumloop::start(self.fake).await.unwrap();
        let upstream = UpstreamConfig {
            connect_timeout: Duration::from_secs(2),
            call_timeout: self.call_timeout,
            max_download_bytes: self.max_download_bytes,
            max_response_bytes: self.max_response_bytes,
            ..UpstreamConfig::new(fake.api_base(), fake.ws_base())
        };
        let server = gumloop_mcp::gumloop_server(upstream, self.credential).unwrap().with_result_budget(self.budget);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = http::spawn(server, listener, self.http).unwrap();
        Harness { url: running.url(), fake, client: reqwest::Client::new(), running: Some(running) }
    }
}

pub struct Harness {
    pub fake: FakeGumloop,
    pub url: String,
    pub client: reqwest::Client,
    pub running: Option<Running>,
}

pub async fn start() -> Harness {
    Setup::default().start().await
}

pub async fn start_with(call_timeout: Duration) -> Harness {
    Setup { call_timeout, ..Setup::default() }.start().await
}

#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// Every JSON message of an SSE stream, in order.
pub fn sse_messages(text: &str) -> Vec<Value> {
    text.lines().filter_map(|l| l.strip_prefix("data:")).filter_map(|d| serde_json::from_str(d.trim()).ok()).collect()
}

/// A JSON body, or the last message of an SSE stream.
pub fn parse_body(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| sse_messages(text).pop().unwrap_or(Value::Null))
}

/// A response's status, headers and parsed body.
pub async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Reply { status, headers, body: parse_body(&text) }
}

impl Harness {
    /// A POST to the MCP endpoint with the headers every client sends.
    pub fn post(&self) -> reqwest::RequestBuilder {
        self.client.post(&self.url).header("content-type", "application/json").header("accept", "application/json, text/event-stream")
    }

    /// One stateless (2026-07-28) JSON-RPC request from a client declaring no capabilities.
    pub async fn rpc(&self, method: &str, params: Value) -> Reply {
        self.rpc_with(method, params, json!({})).await
    }

    /// One stateless (2026-07-28) JSON-RPC request from a client declaring `capabilities`;
    /// `Mcp-Name` carries the tool name, resource URI or task id.
    pub async fn rpc_with(&self, method: &str, params: Value, capabilities: Value) -> Reply {
        rpc_at(&self.client, &self.url, method, params, capabilities).await
    }

    /// `tools/call`, returning the result object.
    pub async fn call(&self, name: &str, args: Value) -> Value {
        let r = self.rpc("tools/call", json!({"name": name, "arguments": args})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body.get("result").cloned().unwrap_or_else(|| panic!("no result: {}", r.body))
    }

    /// A stateless (2026-07-28) `tools/call` of `name` asking for progress under `token`:
    /// the raw stream and its messages (notifications, then the response).
    pub async fn call_with_progress(&self, name: &str, args: Value, token: &str) -> (String, Vec<Value>) {
        let params = json!({"name": name, "arguments": args,
            "_meta": {"progressToken": token, "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}});
        let resp = self
            .post()
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", name)
            .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}))
            .send()
            .await
            .unwrap();
        let text = resp.text().await.unwrap();
        let messages = sse_messages(&text);
        (text, messages)
    }

    /// Opens a legacy (2025-11-25) session on `/mcp`.
    pub async fn legacy_session(&self) -> Legacy {
        legacy_session(&self.client, &self.url).await
    }

    /// Triggers graceful shutdown and waits for the server to stop.
    pub async fn shutdown(&mut self) {
        self.running.take().expect("running").shutdown().await.unwrap();
    }
}

/// One stateless (2026-07-28) JSON-RPC request to the MCP URL `url` from a client
/// declaring `capabilities`; `Mcp-Name` carries the tool name, resource URI or task id.
pub async fn rpc_at(client: &reqwest::Client, url: &str, method: &str, mut params: Value, capabilities: Value) -> Reply {
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": capabilities});
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = ["name", "uri", "taskId"].iter().find_map(|k| params.get(*k)).and_then(Value::as_str) {
        req = req.header("mcp-name", name);
    }
    reply(req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).send().await.unwrap()).await
}

/// A 2025-11-25 `initialize` at an MCP URL, the request that opens a legacy session.
pub fn initialize(client: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}});
    client.post(url).header("content-type", "application/json").header("accept", "application/json, text/event-stream").json(&init)
}

/// Opens a legacy (2025-11-25) session at an MCP URL: `initialize`, then
/// `notifications/initialized`.
pub async fn legacy_session(client: &reqwest::Client, url: &str) -> Legacy {
    let resp = initialize(client, url).send().await.unwrap();
    let session = resp.headers().get("mcp-session-id").expect("a legacy session id").to_str().unwrap().to_owned();
    let init = reply(resp).await;
    assert_eq!(init.body["result"]["protocolVersion"], "2025-11-25", "{}", init.body);
    let legacy = Legacy { client: client.clone(), url: url.to_owned(), session, init };
    let note = legacy.request().json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).send().await.unwrap();
    assert_eq!(note.status().as_u16(), 202);
    legacy
}

#[derive(Clone)]
pub struct Legacy {
    client: reqwest::Client,
    url: String,
    pub session: String,
    /// The answer to `initialize`.
    pub init: Reply,
}

impl Legacy {
    fn request(&self) -> reqwest::RequestBuilder {
        self.client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", "2025-11-25")
    }

    /// The same session, addressed at another URL (another replica, or another server).
    pub fn at(&self, url: &str) -> Legacy {
        Legacy { url: url.to_owned(), ..self.clone() }
    }

    /// Ends the session (`DELETE`).
    pub async fn close(&self) -> reqwest::Response {
        self.client.delete(&self.url).header("mcp-session-id", &self.session).header("mcp-protocol-version", "2025-11-25").send().await.unwrap()
    }

    /// Opens the session's standalone GET stream (server-to-client messages), as
    /// 2025-11-25 clients do, and keeps it open.
    pub async fn open_stream(&self) -> reqwest::Response {
        let resp = self
            .client
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", "2025-11-25")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        resp
    }

    /// One request in the session (answered over SSE).
    pub async fn rpc(&self, id: u64, method: &str, params: Value) -> Reply {
        reply(self.request().json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).send().await.unwrap()).await
    }

    /// Any body POSTed in the session.
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> Reply {
        reply(self.request().body(body).send().await.unwrap()).await
    }
}

pub fn text_of(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

/// One admin API request to `base` with the admin token.
pub async fn admin(client: &reqwest::Client, base: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let mut req = client.request(method.parse().unwrap(), format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req.send().await.unwrap()).await
}

/// Connects the fake's test account through the admin API; its id.
pub async fn account(client: &reqwest::Client, base: &str, token: &str) -> String {
    let r = admin(client, base, token, "POST", "/integrated-account", Some(json!({"name": "ops", "gumloop": {"api_key": "test-key", "user_id": "user_test"}})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// gumloop-mcp with managed servers and the admin API, in-process against the fake.
pub struct ManagedHarness {
    pub fake: FakeGumloop,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    /// The connected account managed servers are made for.
    pub account: String,
    /// The store, for what the admin API does not do.
    pub store: std::sync::Arc<dyn gumloop_mcp::managed::store::Store>,
    pub dir: tempfile::TempDir,
    _running: Running,
}

/// Starts gumloop-mcp with managed servers (no credential on `/mcp`) and connects the
/// fake's account.
pub async fn start_managed(http: HttpConfig) -> ManagedHarness {
    start_managed_with(http, None).await
}

/// [`start_managed`] with sign-in offered (`oauth`: the authorization server's settings).
pub async fn start_managed_with(http: HttpConfig, oauth: Option<gumloop_mcp::oauth::OAuthConfig>) -> ManagedHarness {
    start_managed_on(http, oauth, FakeConfig::default(), Default::default()).await
}

/// [`start_managed_with`] against a fake configured as `fake`, results held to `budget`.
pub async fn start_managed_on(
    mut http: HttpConfig,
    oauth: Option<gumloop_mcp::oauth::OAuthConfig>,
    fake: FakeConfig,
    budget: gumloop_mcp::mcp::pipeline::budget::ResultBudget,
) -> ManagedHarness {
    use gumloop_mcp::managed::admin::Admin;
    use gumloop_mcp::managed::store::{SqliteStore, Store};
    use gumloop_mcp::managed::{AuditLog, Clock, Managed};
    let fake = FakeGumloop::start(fake).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(SqliteStore::open(dir.path(), gumloop_mcp::managed::secrets::SealingKey::from_bytes([7; 32])).unwrap());
    let clock = Clock::system();
    let (_, token) = store.create_api_token("admin", clock.now()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let upstream = UpstreamConfig { call_timeout: Duration::from_secs(30), ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
    let server = gumloop_mcp::gumloop_server(upstream, Credential::default()).unwrap().with_result_budget(budget);
    let store_handle = store.clone();
    let managed = Managed {
        store: store.clone(),
        clock,
        public_url: base.clone(),
        audit: AuditLog::start(store),
        flow_tools_ttl: gumloop_mcp::managed::flow_tools::DEFAULT_TTL,
        changes: std::sync::Arc::new(gumloop_mcp::managed::changes::LocalBus::default()),
        sessions: None,
    };
    if let Some(config) = oauth {
        let key = gumloop_mcp::managed::secrets::SealingKey::from_bytes([7; 32]).derive(gumloop_mcp::oauth::KEY_LABEL);
        http.oauth = Some(gumloop_mcp::oauth::OAuth::new(config, managed.clone(), key, gumloop_mcp_generated::resources::ALL_TOOLS, None));
    }
    let admin = Admin { managed, tools: gumloop_mcp_generated::resources::ALL_TOOLS, body_limit: 64 * 1024 };
    let running = http::spawn_managed(server, listener, http, Some(admin)).unwrap();
    let client = reqwest::Client::new();
    let admin_token = token.reveal().to_owned();
    let account = account(&client, &base, &admin_token).await;
    ManagedHarness { fake, base, client, admin_token, account, store: store_handle, dir, _running: running }
}

impl ManagedHarness {
    /// A new managed server with `config`; its URL.
    pub async fn server(&self, config: Value) -> String {
        let r = admin(
            &self.client,
            &self.base,
            &self.admin_token,
            "POST",
            &format!("/integrated-account/{}/mcp", self.account),
            Some(json!({"name": "s", "config": config})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["url"].as_str().unwrap().to_owned()
    }
}

/// Several gumloop-mcp processes (in-process) on one store and one change bus, with
/// legacy sessions kept in the store: replicas, as behind a balancer.
pub struct Replicas {
    pub fake: FakeGumloop,
    /// `http://127.0.0.1:<port>` of each.
    pub bases: Vec<String>,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub account: String,
    _dir: tempfile::TempDir,
    _running: Vec<Running>,
}

pub async fn start_replicas(n: usize) -> Replicas {
    use gumloop_mcp::http::sessions::SessionRows;
    use gumloop_mcp::managed::admin::Admin;
    use gumloop_mcp::managed::changes::{ChangeBus, LocalBus};
    use gumloop_mcp::managed::store::{SqliteStore, Store};
    use gumloop_mcp::managed::{AuditLog, Clock, Managed};
    use std::sync::Arc;
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path(), gumloop_mcp::managed::secrets::SealingKey::from_bytes([7; 32])).unwrap();
    let (store, rows): (Arc<dyn Store>, Arc<dyn SessionRows>) = (Arc::new(sqlite.clone()), Arc::new(sqlite));
    let bus: Arc<dyn ChangeBus> = Arc::new(LocalBus::default());
    let clock = Clock::system();
    let (_, token) = store.create_api_token("admin", clock.now()).await.unwrap();
    let (mut bases, mut running) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let upstream = UpstreamConfig { call_timeout: Duration::from_secs(30), ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
        let server = gumloop_mcp::gumloop_server(upstream, Credential::default()).unwrap();
        let managed = Managed {
            store: store.clone(),
            clock: clock.clone(),
            public_url: base.clone(),
            audit: AuditLog::start(store.clone()),
            flow_tools_ttl: gumloop_mcp::managed::flow_tools::DEFAULT_TTL,
            changes: bus.clone(),
            sessions: Some(rows.clone()),
        };
        let admin = Admin { managed, tools: gumloop_mcp_generated::resources::ALL_TOOLS, body_limit: 64 * 1024 };
        let http = HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() };
        running.push(http::spawn_managed(server, listener, http, Some(admin)).unwrap());
        bases.push(base);
    }
    let client = reqwest::Client::new();
    let admin_token = token.reveal().to_owned();
    let account = account(&client, &bases[0], &admin_token).await;
    Replicas { fake, bases, client, admin_token, account, _dir: dir, _running: running }
}

impl Replicas {
    /// A new managed server (made through the first replica); its URL path `/mcp/<token>`.
    pub async fn server(&self, config: Value) -> String {
        let path = format!("/integrated-account/{}/mcp", self.account);
        let r = admin(&self.client, &self.bases[0], &self.admin_token, "POST", &path, Some(json!({"name": "s", "config": config}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let url = r.body["url"].as_str().unwrap();
        url[url.find("/mcp/").unwrap()..].to_owned()
    }
}
