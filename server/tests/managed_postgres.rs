//! Managed servers end to end on the PostgreSQL store (the test binary's throwaway
//! cluster): the admin API, a scoped URL and its audit trail, and a database lost and
//! back while the server runs (admin 503, then service again without a restart).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{account, admin, reply};
use gumloop_mcp::http::{self, HttpConfig, Running};
use gumloop_mcp::managed::admin::Admin;
use gumloop_mcp::managed::secrets::SealingKey;
use gumloop_mcp::managed::store::{PostgresStore, Store};
use gumloop_mcp::managed::{AuditLog, Clock, Managed};
use gumloop_mcp::{Credential, UpstreamConfig};
use gumloop_testkit::postgres::TempPostgres;
use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::{Value, json};

struct H {
    _fake: FakeGumloop,
    base: String,
    client: reqwest::Client,
    token: String,
    _running: Running,
}

async fn start(url: &str) -> H {
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url.parse().unwrap(), SealingKey::from_bytes([7; 32])).await.unwrap());
    let clock = Clock::system();
    let (_, token) = store.create_api_token("admin", clock.now()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let upstream = UpstreamConfig { call_timeout: Duration::from_secs(5), ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
    let server = gumloop_mcp::gumloop_server(upstream, Credential::default()).unwrap();
    let managed = Managed {
        store: store.clone(),
        clock,
        public_url: base.clone(),
        audit: AuditLog::start(store),
        flow_tools_ttl: gumloop_mcp::managed::flow_tools::DEFAULT_TTL,
        changes: Arc::new(gumloop_mcp::managed::changes::LocalBus::default()),
        sessions: None,
    };
    let admin = Admin { managed, tools: gumloop_mcp_generated::resources::ALL_TOOLS, body_limit: 64 * 1024 };
    let running = http::spawn_managed(server, listener, HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }, Some(admin)).unwrap();
    H { _fake: fake, base, client: reqwest::Client::new(), token: token.reveal().to_owned(), _running: running }
}

impl H {
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> common::Reply {
        admin(&self.client, &self.base, &self.token, method, path, body).await
    }

    async fn mcp(&self, url: &str, method: &str, mut params: Value) -> common::Reply {
        params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
        let mut req = self
            .client
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(name) = params.get("name").and_then(Value::as_str) {
            req = req.header("mcp-name", name);
        }
        reply(req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).send().await.unwrap()).await
    }

    async fn server(&self, account: &str, config: Value) -> Value {
        let r = self.admin("POST", &format!("/integrated-account/{account}/mcp"), Some(json!({"name": "s", "config": config}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }
}

#[tokio::test]
async fn a_scoped_url_calls_as_its_account_and_is_audited() {
    let h = start(&TempPostgres::shared().create_database().url).await;
    let acct = account(&h.client, &h.base, &h.token).await;
    let created = h.server(&acct, json!({"methods": ["read"]})).await;
    let (url, id) = (created["url"].as_str().unwrap(), created["id"].as_str().unwrap());
    let ok = h.mcp(url, "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {}})).await;
    assert!(ok.body["result"]["structuredContent"].is_object(), "{}", ok.body);
    let hidden = h.mcp(url, "tools/call", json!({"name": "create_a_gumloop_agent", "arguments": {"name": "x"}})).await;
    assert!(hidden.body["error"]["message"].as_str().unwrap_or_default().contains("unknown tool"), "{}", hidden.body);
    let calls = h.admin("GET", &format!("/integrated-account/{acct}/mcp/{id}/calls"), None).await;
    let seen: Vec<&str> = calls.body["result"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(seen, ["rejected", "ok"], "{}", calls.body);
    assert_eq!(h.admin("DELETE", &format!("/integrated-account/{acct}/mcp/{id}"), None).await.status, 204);
    assert_eq!(h.mcp(url, "tools/list", json!({})).await.status, 404, "revoked at once");
}

#[tokio::test]
async fn a_lost_database_is_503_on_the_admin_api_and_service_resumes_when_it_returns() {
    let pg = TempPostgres::start();
    let h = start(&pg.create_database().url).await;
    let acct = account(&h.client, &h.base, &h.token).await;
    let url = h.server(&acct, json!({})).await["url"].as_str().unwrap().to_owned();
    assert_eq!(h.mcp(&url, "tools/list", json!({})).await.status, 200);

    pg.stop();
    let down = h.admin("GET", "/integrated-account", None).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.body["error"]["code"], "unavailable", "{}", down.body);
    let refused = h.mcp(&url, "tools/list", json!({})).await;
    assert_eq!(refused.status, 503, "a managed URL is refused as unavailable: {}", refused.body);
    assert_eq!(refused.body["error"]["code"], "unavailable", "{}", refused.body);
    assert_eq!(refused.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("5"), "{:?}", refused.headers);
    assert!(!refused.body.to_string().contains("gmcp_"), "{}", refused.body);

    pg.start_again();
    assert_eq!(h.admin("GET", "/integrated-account", None).await.status, 200, "the admin API serves again by itself");
    assert_eq!(h.mcp(&url, "tools/list", json!({})).await.status, 200, "and so does the managed URL");
}
