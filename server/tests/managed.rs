//! Managed MCP servers end to end, in-process against the fake Gumloop with a clock the
//! tests move: the admin API (auth, accounts, servers, bad input), scoped URLs (filters,
//! API-token auth, expiry, same answer for unknown / revoked / expired), the audit trail,
//! secrecy at rest, and concurrent creation.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use gumloop_mcp::http::{self, HttpConfig, Running};
use gumloop_mcp::managed::admin::Admin;
use gumloop_mcp::managed::secrets::SealingKey;
use gumloop_mcp::managed::store::{SqliteStore, Store};
use gumloop_mcp::managed::{AuditLog, Clock, Managed, sweep_once};
use gumloop_mcp::{Credential, UpstreamConfig};
use gumloop_mcp_generated::resources::ALL_TOOLS;
use gumloop_testkit::{FakeConfig, FakeGumloop};
use jiff::Timestamp;
use serde_json::{Value, json};

const START: i64 = 1_800_000_000_000;

struct H {
    fake: FakeGumloop,
    base: String,
    client: reqwest::Client,
    admin_token: String,
    store: Arc<dyn Store>,
    clock_ms: Arc<AtomicI64>,
    clock: Clock,
    dir: tempfile::TempDir,
    _running: Running,
}

async fn start() -> H {
    start_with(64 * 1024).await
}

async fn start_with(body_limit: usize) -> H {
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), SealingKey::from_bytes([7; 32])).unwrap());
    let clock_ms = Arc::new(AtomicI64::new(START));
    let c = clock_ms.clone();
    let clock = Clock::from_fn(move || Timestamp::from_millisecond(c.load(Ordering::SeqCst)).unwrap());
    let (_, token) = store.create_api_token("admin", clock.now()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let upstream = UpstreamConfig { call_timeout: Duration::from_secs(5), ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
    // No credential on /mcp: whatever a managed URL does, it does as its account.
    let server = gumloop_mcp::gumloop_server(upstream, Credential::default()).unwrap();
    let managed = Managed {
        store: store.clone(),
        clock: clock.clone(),
        public_url: base.clone(),
        audit: AuditLog::start(store.clone()),
        flow_tools_ttl: gumloop_mcp::managed::flow_tools::DEFAULT_TTL,
        changes: std::sync::Arc::new(gumloop_mcp::managed::changes::LocalBus::default()),
    };
    let admin = Admin { managed, tools: ALL_TOOLS, body_limit };
    let running = http::spawn_managed(server, listener, HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }, Some(admin)).unwrap();
    H { fake, base, client: reqwest::Client::new(), admin_token: token.reveal().to_owned(), store, clock_ms, clock, dir, _running: running }
}

use common::{Reply as R, reply};

impl H {
    fn advance(&self, secs: i64) {
        self.clock_ms.fetch_add(secs * 1000, Ordering::SeqCst);
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> R {
        common::admin(&self.client, &self.base, &self.admin_token, method, path, body).await
    }

    async fn account(&self) -> String {
        common::account(&self.client, &self.base, &self.admin_token).await
    }

    async fn server(&self, account: &str, body: Value) -> Value {
        let r = self.admin("POST", &format!("/integrated-account/{account}/mcp"), Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// A stateless 2026-07-28 JSON-RPC request to an MCP URL.
    async fn mcp(&self, url: &str, method: &str, mut params: Value, api_token: Option<&str>) -> R {
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
        if let Some(t) = api_token {
            req = req.bearer_auth(t);
        }
        reply(req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).send().await.unwrap()).await
    }

    async fn tool_names(&self, url: &str) -> Vec<String> {
        let r = self.mcp(url, "tools/list", json!({}), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    }
}

fn error_message(r: &R) -> String {
    r.body["error"]["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn admin_api_requires_a_live_api_token() {
    let h = start().await;
    let url = format!("{}/integrated-account", h.base);
    for req in [h.client.get(&url), h.client.get(&url).bearer_auth("gmat_wrong"), h.client.get(&url).header("authorization", "Basic abc")] {
        let r = reply(req.send().await.unwrap()).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        assert_eq!(r.body["error"]["code"], "unauthorized");
    }
    // A second token, revoked: it stops working at once.
    let created = h.admin("POST", "/api-token", Some(json!({"name": "ci"}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let second = created.body["token"].as_str().unwrap().to_owned();
    assert_eq!(reply(h.client.get(&url).bearer_auth(&second).send().await.unwrap()).await.status, 200);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(h.admin("DELETE", &format!("/api-token/{id}"), None).await.status, 200);
    assert_eq!(reply(h.client.get(&url).bearer_auth(&second).send().await.unwrap()).await.status, 401);
    // The listing never shows token values.
    let listed = h.admin("GET", "/api-token", None).await;
    assert!(!listed.body.to_string().contains(&second) && !listed.body.to_string().contains(&h.admin_token));
    let ci = listed.body["result"].as_array().unwrap().iter().find(|t| t["name"] == "ci").unwrap();
    assert!(ci["revoked_at"].is_string(), "{}", listed.body);
    // A token in the query string is refused, even a valid one.
    let q = reply(h.client.get(format!("{url}?token={}", h.admin_token)).send().await.unwrap()).await;
    assert_eq!(q.status, 400, "{}", q.body);
    // Whatever the parameter is called and however it is encoded, on any route.
    let account = h.account().await;
    let mcp_url = h.server(&account, json!({"name": "q"})).await["url"].as_str().unwrap().to_owned();
    let server_token = mcp_url.rsplit('/').next().unwrap().to_owned();
    let t = &h.admin_token;
    for target in [
        format!("{url}?apikey={t}"),
        format!("{url}?auth={t}"),
        format!("{url}?%74oken={t}"),
        format!("{url}?token[]={t}"),
        format!("{url}?{t}"),
        format!("{url}?x={}", hex_encoded(t)),
        format!("{mcp_url}?{server_token}"),
        format!("{mcp_url}?session={server_token}"),
        format!("{}/mcp?authorization=Bearer%20{t}", h.base),
    ] {
        let r = reply(h.client.get(&target).bearer_auth(t).send().await.unwrap()).await;
        assert_eq!(r.status, 400, "{target}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "token_in_query", "{target}: {}", r.body);
    }
}

/// Every byte of `s` percent-encoded (`%67%6D…`).
fn hex_encoded(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn accounts_are_created_read_and_deleted_without_ever_returning_the_key() {
    let h = start().await;
    let id = h.account().await;
    let got = h.admin("GET", &format!("/integrated-account/{id}"), None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["gumloop"]["user_id"], "user_test");
    for r in [&got, &h.admin("GET", "/integrated-account", None).await] {
        assert!(!r.body.to_string().contains("test-key"), "no response returns the key: {}", r.body);
    }
    let server = h.server(&id, json!({"name": "all"})).await;
    let url = server["url"].as_str().unwrap().to_owned();
    assert_eq!(h.mcp(&url, "tools/list", json!({}), None).await.status, 200);
    assert_eq!(h.admin("DELETE", &format!("/integrated-account/{id}"), None).await.status, 204);
    assert_eq!(h.admin("GET", &format!("/integrated-account/{id}"), None).await.status, 404);
    assert_eq!(h.mcp(&url, "tools/list", json!({}), None).await.status, 404, "its servers went with it");
    assert_eq!(h.admin("DELETE", &format!("/integrated-account/{id}"), None).await.status, 404);
}

#[tokio::test]
async fn bad_admin_requests_are_4xx_json_naming_the_problem_and_change_nothing() {
    let h = start_with(2048).await;
    let id = h.account().await;
    let send_raw = |body: &'static str| {
        h.client.post(format!("{}/integrated-account", h.base)).bearer_auth(&h.admin_token).header("content-type", "application/json").body(body).send()
    };
    let malformed = reply(send_raw("{\"name\": ").await.unwrap()).await;
    assert_eq!(malformed.status, 400);
    assert!(error_message(&malformed).contains("malformed JSON"), "{}", malformed.body);
    // Trailing data after the one JSON value: refused whole, nothing created.
    let raw = |path: String, body: String| {
        h.client.post(format!("{}{path}", h.base)).bearer_auth(&h.admin_token).header("content-type", "application/json").body(body).send()
    };
    let tokens_before = h.admin("GET", "/api-token", None).await.body["result"].as_array().unwrap().len();
    for (path, body) in [
        ("/integrated-account".to_owned(), r#"{"name":"trailing","gumloop":{"api_key":"k"}} this is not JSON"#),
        (format!("/integrated-account/{id}/mcp"), r#"{"name":"trailing"} this is not JSON"#),
        (format!("/integrated-account/{id}/mcp"), r#"{"name":"t2"}{"name":"t3"}"#),
        ("/api-token".to_owned(), r#"{"name":"t2"}{"name":"t3"}"#),
        ("/api-token".to_owned(), "{\"name\":\"t4\"}\n\u{0}"),
    ] {
        let r = reply(raw(path.clone(), body.to_owned()).await.unwrap()).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "bad_request", "{}", r.body);
        assert!(error_message(&r).contains("must be one JSON value, with nothing after it"), "{}", r.body);
    }
    // Whitespace after the value is fine.
    let spaced = reply(raw("/api-token".to_owned(), "{\"name\":\"spaced\"}\n  \t".to_owned()).await.unwrap()).await;
    assert_eq!(spaced.status, 201, "{}", spaced.body);
    let tokens = h.admin("GET", "/api-token", None).await.body["result"].as_array().unwrap().len();
    assert_eq!(tokens, tokens_before + 1, "only the well-formed body created a token");
    let cases = [
        (json!({"name": 5, "gumloop": {"api_key": "k"}}), "`name`"),
        (json!({"name": "x", "gumloop": {"api_key": "k", "usr_id": "u"}}), "`gumloop.usr_id`: unknown field `usr_id`, expected one of `api_key`, `user_id`"),
        (json!({"name": "x", "gumloop": {"api_key": "k"}, "extra": 1}), "unknown field `extra`"),
        (json!({"name": "x"}), "missing field `gumloop`"),
        (json!({"name": "", "gumloop": {"api_key": "k"}}), "`name` must not be empty"),
    ];
    for (body, expect) in cases {
        let r = h.admin("POST", "/integrated-account", Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(error_message(&r).contains(expect), "{body}: expected {expect}, got {}", r.body);
    }
    let big = h.admin("POST", "/integrated-account", Some(json!({"name": "x".repeat(4096), "gumloop": {"api_key": "k"}}))).await;
    assert_eq!(big.status, 413, "{}", big.body);
    assert_eq!(big.body["error"]["code"], "payload_too_large");
    let text = reply(
        h.client
            .post(format!("{}/integrated-account", h.base))
            .bearer_auth(&h.admin_token)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(text.status, 415);

    // Unknown ids, and an account that belongs to nothing.
    assert_eq!(h.admin("GET", "/integrated-account/acct_nope", None).await.status, 404);
    assert_eq!(h.admin("POST", "/integrated-account/acct_nope/mcp", Some(json!({"name": "x"}))).await.status, 404);
    assert_eq!(h.admin("GET", &format!("/integrated-account/{id}/mcp/mcp_nope"), None).await.status, 404);
    assert_eq!(h.admin("PATCH", &format!("/integrated-account/{id}/mcp/mcp_nope"), Some(json!({"name": "y"}))).await.status, 404);
    assert_eq!(h.admin("GET", "/no-such-route", None).await.status, 404);

    // Server configs and expiries.
    let bad = [
        (json!({"name": "x", "config": {"methods": ["reed"]}}), "did you mean `read`"),
        (json!({"name": "x", "config": {"methods": ["send_message"], "tags": ["flows"]}}), "match no tool"),
        (json!({"name": "x", "config": {"methods": "read"}}), "`config.methods`"),
        (json!({"name": "x", "config": {"method": ["read"]}}), "unknown field `method`"),
        (json!({"name": "x", "expires_at": "tomorrow"}), "not an ISO-8601 instant"),
        (json!({"name": "x", "expires_at": "2020-01-01T00:00:00Z"}), "in the past"),
        (json!({"name": "x", "expires_at": Timestamp::from_millisecond(START + 30_000).unwrap().to_string()}), "at least 60 s in the future"),
    ];
    for (body, expect) in bad {
        let r = h.admin("POST", &format!("/integrated-account/{id}/mcp"), Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.to_string().contains(expect), "{body}: expected {expect}, got {}", r.body);
    }
    assert_eq!(h.admin("GET", "/integrated-account", None).await.body["result"].as_array().unwrap().len(), 1, "nothing was created");
    assert_eq!(h.admin("GET", &format!("/integrated-account/{id}/mcp"), None).await.body["result"], json!([]), "nothing was created");
}

#[tokio::test]
async fn a_read_only_tagged_server_lists_and_calls_only_its_tools() {
    let h = start().await;
    let id = h.account().await;
    let created = h.server(&id, json!({"name": "flows reader", "config": {"methods": ["read"], "tags": ["flows"]}})).await;
    let keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "name", "config", "integrated_account_id", "expires_at", "created_at", "updated_at", "url"]);
    let url = created["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap();
    assert!(url.starts_with(&format!("{}/mcp/gmcp_", h.base)));
    assert!(token.len() >= "gmcp_".len() + 22, "at least 128 random bits");

    let names = h.tool_names(&url).await;
    let expected: Vec<&str> = ALL_TOOLS
        .iter()
        .filter(|t| t.tags.contains(&"flows") && matches!(t.kind, gumloop_mcp_runtime::MethodKind::List | gumloop_mcp_runtime::MethodKind::Get))
        .map(|t| t.name)
        .collect();
    let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(names.contains(&"list_all_gumloop_flows".to_owned()));

    // A read call works, as the account.
    let ok = h.mcp(&url, "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {}}), None).await;
    assert!(ok.body["result"]["structuredContent"].is_object(), "{}", ok.body);
    let sent = h.fake.take_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].headers["authorization"], "Bearer test-key");
    assert_eq!(sent[0].headers["x-auth-key"], "user_test");

    // A write tool is refused exactly like a tool that does not exist, and never sent.
    let hidden = h.mcp(&url, "tools/call", json!({"name": "create_a_gumloop_flow_run", "arguments": {"saved_item_id": "flow_1"}}), None).await;
    let missing = h.mcp(&url, "tools/call", json!({"name": "create_a_gumloop_flow_rum", "arguments": {}}), None).await;
    assert_eq!(hidden.status, missing.status);
    assert_eq!(hidden.body["error"]["code"], missing.body["error"]["code"]);
    assert_eq!(hidden.body["error"]["message"].as_str().unwrap(), "unknown tool `create_a_gumloop_flow_run`", "{}", hidden.body);
    assert!(!missing.body.to_string().contains("create_a_gumloop_flow_run"), "hints never name hidden tools: {}", missing.body);
    // A tool with another tag, too.
    let other = h.mcp(&url, "tools/call", json!({"name": "list_all_gumloop_agents", "arguments": {}}), None).await;
    assert!(error_message(&other).contains("unknown tool"), "{}", other.body);
    assert!(h.fake.requests().is_empty(), "the fake saw no request for hidden tools");

    // The admin API previews the same set.
    let preview = h.admin("GET", "/tools?methods=read&tags=flows", None).await;
    let previewed: Vec<&str> = preview.body["result"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(previewed, names.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(h.admin("GET", "/tools?tags=nope", None).await.status, 400);
    assert_eq!(h.admin("GET", "/tools", None).await.body["result"].as_array().unwrap().len(), ALL_TOOLS.len());

    // The configured /mcp endpoint is separate: it has no credential here.
    let plain = h.mcp(&format!("{}/mcp", h.base), "tools/list", json!({}), None).await;
    assert_eq!(plain.body["result"]["tools"].as_array().unwrap().len(), ALL_TOOLS.len());
}

#[tokio::test]
async fn require_api_token_auth_guards_the_url() {
    let h = start().await;
    let id = h.account().await;
    let created = h.server(&id, json!({"name": "guarded", "config": {"require_api_token_auth": true}})).await;
    let url = created["url"].as_str().unwrap().to_owned();
    let without = h.mcp(&url, "tools/list", json!({}), None).await;
    assert_eq!(without.status, 401, "{}", without.body);
    assert!(without.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert_eq!(h.mcp(&url, "tools/list", json!({}), Some("gmat_wrong")).await.status, 401);
    assert_eq!(h.mcp(&url, "tools/list", json!({}), Some(&h.admin_token)).await.status, 200);
    // Turning it off by PATCH, then on again.
    let mcp_id = created["id"].as_str().unwrap();
    let off = h.admin("PATCH", &format!("/integrated-account/{id}/mcp/{mcp_id}"), Some(json!({"config": {}}))).await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(h.mcp(&url, "tools/list", json!({}), None).await.status, 200);
    h.admin("PATCH", &format!("/integrated-account/{id}/mcp/{mcp_id}"), Some(json!({"config": {"require_api_token_auth": true}}))).await;
    // A revoked API token stops working at once.
    let second = h.admin("POST", "/api-token", Some(json!({"name": "agent"}))).await;
    let token = second.body["token"].as_str().unwrap().to_owned();
    assert_eq!(h.mcp(&url, "tools/list", json!({}), Some(&token)).await.status, 200);
    h.admin("DELETE", &format!("/api-token/{}", second.body["id"].as_str().unwrap()), None).await;
    assert_eq!(h.mcp(&url, "tools/list", json!({}), Some(&token)).await.status, 401);
}

#[tokio::test]
async fn expiry_is_enforced_at_once_swept_durably_and_removable() {
    let h = start().await;
    let id = h.account().await;
    let at = |secs: i64| Timestamp::from_millisecond(START + secs * 1000).unwrap().to_string();
    let short = h.server(&id, json!({"name": "short", "expires_at": at(120)})).await;
    let keep = h.server(&id, json!({"name": "keep", "expires_at": at(120)})).await;
    let (short_url, keep_url) = (short["url"].as_str().unwrap().to_owned(), keep["url"].as_str().unwrap().to_owned());
    let keep_id = keep["id"].as_str().unwrap();
    // PATCH with expires_at: null removes the expiry.
    let patched = h.admin("PATCH", &format!("/integrated-account/{id}/mcp/{keep_id}"), Some(json!({"expires_at": null}))).await;
    assert_eq!(patched.body["expires_at"], Value::Null, "{}", patched.body);
    assert_eq!(h.mcp(&short_url, "tools/list", json!({}), None).await.status, 200);
    h.advance(121);
    // Refused at once, before any sweep, with the answer an unknown token gets.
    let expired = h.mcp(&short_url, "tools/list", json!({}), None).await;
    let unknown = h.mcp(&format!("{}/mcp/gmcp_{}", h.base, "A".repeat(43)), "tools/list", json!({}), None).await;
    assert_eq!(expired.status, 404);
    assert_eq!((expired.status, &expired.body), (unknown.status, &unknown.body));
    assert_eq!(h.admin("GET", &format!("/integrated-account/{id}/mcp/{}", short["id"].as_str().unwrap()), None).await.status, 404);
    assert_eq!(h.mcp(&keep_url, "tools/list", json!({}), None).await.status, 200);
    // The sweep deletes it from the store for good.
    assert_eq!(h.store.list_servers(&id).await.unwrap().len(), 2, "still stored until the sweep");
    assert_eq!(sweep_once(h.store.as_ref(), &h.clock, Duration::from_secs(86_400)).await.0, 1);
    assert_eq!(h.store.list_servers(&id).await.unwrap().len(), 1);
    // A revoked (deleted) server answers the same as unknown and expired.
    h.admin("DELETE", &format!("/integrated-account/{id}/mcp/{keep_id}"), None).await;
    let revoked = h.mcp(&keep_url, "tools/list", json!({}), None).await;
    assert_eq!((revoked.status, &revoked.body), (unknown.status, &unknown.body));
}

#[tokio::test]
async fn tokens_in_the_query_string_are_rejected() {
    let h = start().await;
    let id = h.account().await;
    let url = h.server(&id, json!({"name": "x"})).await["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap().to_owned();
    let in_query = h.mcp(&format!("{}/mcp?token={token}", h.base), "tools/list", json!({}), None).await;
    assert_eq!(in_query.status, 400, "{}", in_query.body);
    assert!(error_message(&in_query).contains("in the path"), "{}", in_query.body);
    let both = h.mcp(&format!("{url}?access_token={token}"), "tools/list", json!({}), None).await;
    assert_eq!(both.status, 400);
}

#[tokio::test]
async fn calls_are_audited_without_arguments_and_paged() {
    let h = start().await;
    let id = h.account().await;
    let created = h.server(&id, json!({"name": "audited", "config": {"methods": ["read"]}})).await;
    let (url, mcp_id) = (created["url"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned());
    h.mcp(&url, "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {}}), None).await;
    h.mcp(&url, "tools/call", json!({"name": "get_single_gumloop_agent_by_id", "arguments": {"id": "agent_does_not_exist"}}), None).await;
    h.mcp(&url, "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {"secret_marker_arg": "sekrit-value-123"}}), None).await;
    h.mcp(&url, "tools/call", json!({"name": "create_a_gumloop_agent", "arguments": {"name": "x"}}), None).await;
    let page1 = h.admin("GET", &format!("/integrated-account/{id}/mcp/{mcp_id}/calls?limit=3"), None).await;
    assert_eq!(page1.status, 200, "{}", page1.body);
    let rows = page1.body["result"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = rows.iter().map(|r| (r["tool"].as_str().unwrap(), r["outcome"].as_str().unwrap())).collect();
    assert_eq!(seen, [("create_a_gumloop_agent", "rejected"), ("list_all_gumloop_flows", "rejected"), ("get_single_gumloop_agent_by_id", "tool_error")]);
    assert!(rows.iter().all(|r| r["mcp_server_id"] == mcp_id.as_str() && r["latency_ms"].as_f64().unwrap() >= 0.0 && r["at"].is_string()));
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = h.admin("GET", &format!("/integrated-account/{id}/mcp/{mcp_id}/calls?limit=3&cursor={cursor}"), None).await;
    assert_eq!(page2.body["result"][0]["outcome"], "ok");
    assert_eq!(page2.body["next_cursor"], Value::Null);
    assert_eq!(h.admin("GET", &format!("/integrated-account/{id}/mcp/{mcp_id}/calls?cursor=bogus"), None).await.status, 400);
    assert_eq!(h.admin("GET", &format!("/integrated-account/{id}/mcp/{mcp_id}/calls?limit=0"), None).await.status, 400);
    // Retention: records older than the window are pruned by the sweep.
    h.advance(2 * 86_400);
    assert_eq!(sweep_once(h.store.as_ref(), &h.clock, Duration::from_secs(86_400)).await.1, 4);
    let after = h.admin("GET", &format!("/integrated-account/{id}/mcp/{mcp_id}/calls"), None).await;
    assert_eq!(after.body["result"], json!([]));
    assert!(!raw_store(&h).windows(16).any(|w| w == b"sekrit-value-123"), "arguments are never stored");
}

/// Every byte of the store on disk (main file and write-ahead log).
fn raw_store(h: &H) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    bytes
}

#[tokio::test]
async fn the_raw_database_holds_no_api_key_and_no_token() {
    let h = start().await;
    let r =
        h.admin("POST", "/integrated-account", Some(json!({"name": "ops", "gumloop": {"api_key": "gl_live_SECRET_0123456789", "user_id": "user_test"}}))).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let url = h.server(&id, json!({"name": "x"})).await["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap().to_owned();
    let api = h.admin("POST", "/api-token", Some(json!({"name": "ci"}))).await.body["token"].as_str().unwrap().to_owned();
    let raw = raw_store(&h);
    assert!(raw.len() > 4096, "read the store files");
    for secret in ["gl_live_SECRET_0123456789", token.as_str(), api.as_str(), h.admin_token.as_str()] {
        assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "`{secret}` is in the database file");
    }
    // The sealed key still opens for calls.
    assert!(
        h.store
            .resolve_token(&gumloop_mcp::managed::secrets::TokenHash::of(&token))
            .await
            .unwrap()
            .unwrap()
            .credential
            .api_key
            .unwrap()
            .expose()
            .starts_with("gl_live_")
    );
}

#[tokio::test]
async fn a_hundred_concurrent_creations_lose_nothing() {
    let h = Arc::new(start().await);
    let id = h.account().await;
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (h, id) = (h.clone(), id.clone());
            tokio::spawn(async move { h.server(&id, json!({"name": format!("s{i}")})).await["url"].as_str().unwrap().to_owned() })
        })
        .collect();
    let mut urls = std::collections::BTreeSet::new();
    for t in tasks {
        urls.insert(t.await.unwrap());
    }
    assert_eq!(urls.len(), 100, "100 distinct tokens");
    let listed = h.admin("GET", &format!("/integrated-account/{id}/mcp"), None).await;
    assert_eq!(listed.body["result"].as_array().unwrap().len(), 100);
    let clock_now = h.clock.now();
    assert!(h.store.list_servers(&id).await.unwrap().iter().all(|s| s.created_at == clock_now));
}
