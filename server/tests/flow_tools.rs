//! Per-flow tools of managed servers (`config.flow_tools`), in-process against the fake
//! Gumloop: the tools and their schemas, runs with checked inputs and `wait`, unique
//! names, refresh with `notifications/tools/list_changed` (legacy sessions and 2026-07-28
//! subscriptions), the admin API's checks, old configs, upstream failures.

mod common;

use std::sync::Arc;
use std::time::Duration;

use gumloop_mcp::http::{self, HttpConfig, Running};
use gumloop_mcp::managed::admin::Admin;
use gumloop_mcp::managed::changes::{ChangeBus, LocalBus};
use gumloop_mcp::managed::secrets::SealingKey;
use gumloop_mcp::managed::store::{SqliteStore, Store};
use gumloop_mcp::managed::{AuditLog, Clock, Managed};
use gumloop_mcp::{Credential, UpstreamConfig};
use gumloop_mcp_generated::resources::ALL_TOOLS;
use gumloop_testkit::{FakeConfig, FakeGumloop, Fault, FaultKind, RecordedBody};
use serde_json::{Value, json};

const PRICING: &str = "run_gumloop_flow_competitor_pricing_scraper";

struct H {
    fake: Arc<FakeGumloop>,
    base: String,
    client: reqwest::Client,
    admin_token: String,
    store: Arc<dyn Store>,
    dir: tempfile::TempDir,
    _running: Running,
}

async fn start(ttl: Duration) -> H {
    let fake = FakeGumloop::start(FakeConfig { session_polls: 1, ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), SealingKey::from_bytes([7; 32])).unwrap());
    let (_, token) = store.create_api_token("admin", Clock::system().now()).await.unwrap();
    replica(ttl, Arc::new(fake), dir, store, Arc::new(LocalBus::default()), token.reveal().to_owned()).await
}

/// A server process over `store` and `bus`: two of them on one store and one bus are two
/// replicas (the bus standing in for PostgreSQL's LISTEN/NOTIFY).
async fn replica(ttl: Duration, fake: Arc<FakeGumloop>, dir: tempfile::TempDir, store: Arc<dyn Store>, bus: Arc<dyn ChangeBus>, admin_token: String) -> H {
    let clock = Clock::system();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let upstream = UpstreamConfig { call_timeout: Duration::from_secs(5), ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
    let server = gumloop_mcp::gumloop_server(upstream, Credential::default()).unwrap();
    let managed = Managed {
        store: store.clone(),
        clock,
        public_url: base.clone(),
        audit: AuditLog::start(store.clone()),
        flow_tools_ttl: ttl,
        changes: bus,
        sessions: None,
    };
    let admin = Admin { managed, tools: ALL_TOOLS, body_limit: 64 * 1024 };
    let running = http::spawn_managed(server, listener, HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }, Some(admin)).unwrap();
    H { fake, base, client: reqwest::Client::new(), admin_token, store, dir, _running: running }
}

use common::{Reply as R, reply};

impl H {
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> R {
        common::admin(&self.client, &self.base, &self.admin_token, method, path, body).await
    }

    async fn account(&self) -> String {
        common::account(&self.client, &self.base, &self.admin_token).await
    }

    /// A managed server with `config`: (its id, its URL).
    async fn server(&self, account: &str, config: Value) -> (String, String) {
        let r = self.admin("POST", &format!("/integrated-account/{account}/mcp"), Some(json!({"name": "s", "config": config}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        (r.body["id"].as_str().unwrap().to_owned(), r.body["url"].as_str().unwrap().to_owned())
    }

    /// A stateless 2026-07-28 request.
    async fn mcp(&self, url: &str, method: &str, params: Value) -> R {
        self.mcp_with(url, method, params, json!({})).await
    }

    /// A stateless 2026-07-28 request from a client declaring `capabilities`.
    async fn mcp_with(&self, url: &str, method: &str, mut params: Value, capabilities: Value) -> R {
        params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": capabilities});
        let mut req = self
            .client
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(name) = ["name", "taskId"].iter().find_map(|k| params.get(*k)).and_then(Value::as_str) {
            req = req.header("mcp-name", name);
        }
        reply(req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).send().await.unwrap()).await
    }

    async fn tools(&self, url: &str) -> Vec<Value> {
        let r = self.mcp(url, "tools/list", json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["result"]["tools"].as_array().unwrap().clone()
    }

    async fn call(&self, url: &str, name: &str, args: Value) -> Value {
        let r = self.mcp(url, "tools/call", json!({"name": name, "arguments": args})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    fn starts(&self) -> Vec<Value> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/start_pipeline"))
            .map(|r| match r.body {
                RecordedBody::Json(b) => b,
                other => panic!("{other:?}"),
            })
            .collect()
    }
}

fn names(tools: &[Value]) -> Vec<&str> {
    tools.iter().map(|t| t["name"].as_str().unwrap()).collect()
}

fn flow_tools(tools: &[Value]) -> Vec<&str> {
    names(tools).into_iter().filter(|n| n.starts_with("run_gumloop_flow_")).collect()
}

fn tool<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no {name} in {:?}", names(tools)))
}

#[tokio::test]
async fn a_flow_tools_server_lists_one_tool_per_flow_and_others_none() {
    let h = start(Duration::from_secs(60)).await;
    let acct = h.account().await;
    let (_, on) = h.server(&acct, json!({"flow_tools": true})).await;
    let (_, off) = h.server(&acct, json!({})).await;
    let tools = h.tools(&on).await;
    assert_eq!(
        flow_tools(&tools),
        ["run_gumloop_flow_competitor_pricing_scraper", "run_gumloop_flow_flow_1", "run_gumloop_flow_flow_2", "run_gumloop_flow_flow_3"]
    );
    let pricing = tool(&tools, PRICING);
    assert_eq!(pricing["description"], "Scrapes a competitor's pricing pages into a CSV");
    assert_eq!(pricing["title"], "Competitor Pricing Scraper");
    let schema = &pricing["inputSchema"];
    assert_eq!(schema["required"], json!(["target_company"]), "{schema}");
    assert_eq!(schema["properties"]["target_company"]["description"], "The competitor to research");
    assert_eq!(schema["properties"]["wait"]["type"], "boolean");
    assert_eq!(schema["properties"]["wait_timeout_seconds"]["maximum"], 600);
    assert_eq!(schema["additionalProperties"], false);
    assert!(names(&tools).contains(&"create_a_gumloop_flow_run"), "the catalogue stays");
    let sorted = {
        let mut n = names(&tools);
        n.sort();
        n
    };
    assert_eq!(names(&tools), sorted, "one sorted list");
    assert!(flow_tools(&h.tools(&off).await).is_empty(), "no option, no flow tools");
    // The account's own /mcp (no flow tools there) and an unmanaged handler are unaffected.
    let plain = h.mcp(&format!("{}/mcp", h.base), "tools/list", json!({})).await;
    assert!(flow_tools(plain.body["result"]["tools"].as_array().unwrap()).is_empty());
}

#[tokio::test]
async fn calling_a_flow_tool_runs_the_flow_waits_and_is_audited() {
    let h = start(Duration::from_secs(60)).await;
    let acct = h.account().await;
    let (id, url) = h.server(&acct, json!({"flow_tools": true})).await;
    let r = h.call(&url, PRICING, json!({"target_company": "Acme"})).await;
    let run = &r["result"]["structuredContent"];
    assert!(run["run_id"].as_str().is_some(), "{r}");
    assert_eq!(h.starts()[0]["pipeline_inputs"], json!([{"input_name": "target_company", "value": "Acme"}]));
    assert_eq!(h.starts()[0]["saved_item_id"], "flow_pricing");
    let waited = h.call(&url, PRICING, json!({"target_company": "Globex", "wait": true, "wait_timeout_seconds": 30})).await;
    let done = &waited["result"]["structuredContent"];
    assert_eq!(done["state"], "DONE", "{waited}");
    assert_eq!(done["wait"]["finished"], true, "{waited}");
    let starts = h.starts();
    assert_eq!(starts.len(), 2);
    assert!(starts[1].get("wait").is_none() && starts[1].get("wait_timeout_seconds").is_none(), "server arguments never go upstream: {}", starts[1]);
    // Called without listing first (a cold cache): still found.
    let (_, cold) = h.server(&acct, json!({"flow_tools": true})).await;
    assert!(h.call(&cold, "run_gumloop_flow_flow_1", json!({"topic": "AI", "attachment": "a.pdf"})).await["result"]["structuredContent"]["run_id"].is_string());
    let calls = h.admin("GET", &format!("/integrated-account/{acct}/mcp/{id}/calls"), None).await;
    let audited: Vec<&str> = calls.body["result"].as_array().unwrap().iter().map(|c| c["tool"].as_str().unwrap()).collect();
    assert_eq!(audited, [PRICING, PRICING], "{}", calls.body);
}

#[tokio::test]
async fn bad_inputs_are_named_and_nothing_is_sent() {
    let h = start(Duration::from_secs(60)).await;
    let acct = h.account().await;
    let (_, url) = h.server(&acct, json!({"flow_tools": true})).await;
    let r = h.call(&url, PRICING, json!({"target_compny": "Acme", "wait": "yes"})).await;
    let result = &r["result"];
    assert_eq!(result["isError"], true, "{r}");
    let text = common::text_of(result);
    assert!(text.starts_with(&format!("invalid arguments for `{PRICING}` (nothing was sent to Gumloop)")), "{text}");
    assert!(text.contains("/target_compny: the flow has no input `target_compny`; did you mean `target_company`?"), "{text}");
    assert!(text.contains("/target_company: missing (The competitor to research)"), "{text}");
    assert!(text.contains("/wait: must be true or false"), "{text}");
    let typed = h.call(&url, PRICING, json!({"target_company": 42})).await;
    assert!(common::text_of(&typed["result"]).contains("/target_company: must be text (a string), got a number"), "{typed}");
    assert!(h.starts().is_empty(), "the fake saw no start_pipeline");
    // An unknown flow tool is answered exactly like an unknown tool, here and on a
    // server without the option.
    let unknown = h.call(&url, "run_gumloop_flow_nope", json!({})).await;
    let (_, off) = h.server(&acct, json!({})).await;
    let hidden = h.call(&off, PRICING, json!({"target_company": "Acme"})).await;
    for e in [&unknown, &hidden] {
        assert_eq!(e["error"]["code"], -32602, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().starts_with("unknown tool `run_gumloop_flow_"), "{e}");
    }
    assert!(h.starts().is_empty());
}

#[tokio::test]
async fn same_named_flows_get_numbered_tools() {
    let h = start(Duration::from_secs(60)).await;
    h.fake.add_flow("flow_copy", "Competitor  pricing-scraper", None, json!([]));
    let acct = h.account().await;
    let (_, url) = h.server(&acct, json!({"flow_tools": true})).await;
    let tools = h.tools(&url).await;
    let copy = tool(&tools, "run_gumloop_flow_competitor_pricing_scraper_2");
    assert_eq!(copy["description"], "Runs the Gumloop flow “Competitor  pricing-scraper” (saved_item_id flow_copy).");
    assert_eq!(copy["inputSchema"]["required"], json!([]));
    assert_eq!(tool(&tools, PRICING)["description"], "Scrapes a competitor's pricing pages into a CSV", "the older flow keeps the plain name");
    h.call(&url, "run_gumloop_flow_competitor_pricing_scraper_2", json!({})).await;
    assert_eq!(h.starts()[0]["saved_item_id"], "flow_copy");
}

/// Reads an SSE response until a message with `method` arrives (or `wait` passes).
async fn until_message(stream: &mut reqwest::Response, method: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = String::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await.ok()?.ok()??;
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            for data in event.lines().filter_map(|l| l.strip_prefix("data:")) {
                if let Ok(v) = serde_json::from_str::<Value>(data.trim())
                    && v["method"] == method
                {
                    return Some(v);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_legacy_session_hears_of_added_and_renamed_flows() {
    let h = start(Duration::from_millis(500)).await;
    let acct = h.account().await;
    let (_, url) = h.server(&acct, json!({"flow_tools": true})).await;
    let legacy = common::legacy_session(&h.client, &url).await;
    assert_eq!(legacy.init.body["result"]["capabilities"]["tools"]["listChanged"], true, "{}", legacy.init.body);
    let mut stream = legacy.open_stream().await;
    let list = |id: u64| {
        let legacy = &legacy;
        async move { legacy.rpc(id, "tools/list", json!({})).await.body["result"]["tools"].as_array().unwrap().clone() }
    };
    assert_eq!(flow_tools(&list(1).await).len(), 4);
    // Nothing changes: no notification.
    assert!(until_message(&mut stream, "notifications/tools/list_changed", Duration::from_millis(1300)).await.is_none());
    h.fake.add_flow("flow_new", "Lead Enricher", Some("Enriches a lead"), json!([{"name": "email", "data_type": "string", "description": "The lead's email"}]));
    assert!(until_message(&mut stream, "notifications/tools/list_changed", Duration::from_secs(10)).await.is_some(), "told of the added flow");
    let tools = list(2).await;
    assert_eq!(tool(&tools, "run_gumloop_flow_lead_enricher")["inputSchema"]["required"], json!(["email"]));
    h.fake.rename_flow("flow_new", "Lead Scorer");
    assert!(until_message(&mut stream, "notifications/tools/list_changed", Duration::from_secs(10)).await.is_some(), "told of the rename");
    let tools = list(3).await;
    assert!(names(&tools).contains(&"run_gumloop_flow_lead_scorer") && !names(&tools).contains(&"run_gumloop_flow_lead_enricher"), "{:?}", flow_tools(&tools));
    // Changed inputs are a change too.
    h.fake.add_flow("flow_new", "Lead Scorer", Some("Enriches a lead"), json!([{"name": "domain", "data_type": "string", "description": null}]));
    assert!(until_message(&mut stream, "notifications/tools/list_changed", Duration::from_secs(10)).await.is_some(), "told of new inputs");
    assert_eq!(tool(&list(4).await, "run_gumloop_flow_lead_scorer")["inputSchema"]["required"], json!(["domain"]));
}

#[tokio::test]
async fn a_subscriber_hears_of_a_removed_flow() {
    let h = start(Duration::from_millis(500)).await;
    let acct = h.account().await;
    let (_, url) = h.server(&acct, json!({"flow_tools": true})).await;
    assert_eq!(flow_tools(&h.tools(&url).await).len(), 4);
    let listen = json!({"jsonrpc": "2.0", "id": 7, "method": "subscriptions/listen", "params": {
        "notifications": {"toolsListChanged": true},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
    let mut stream = h
        .client
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .json(&listen)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let ack = until_message(&mut stream, "notifications/subscriptions/acknowledged", Duration::from_secs(5)).await.expect("acknowledged");
    assert_eq!(ack["params"]["notifications"]["toolsListChanged"], true, "{ack}");
    // The subscription is registered just after its acknowledgement.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(h.fake.remove_flow("flow_2"));
    let note = until_message(&mut stream, "notifications/tools/list_changed", Duration::from_secs(10)).await.expect("told of the removal");
    assert_eq!(note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 7, "{note}");
    assert!(!names(&h.tools(&url).await).contains(&"run_gumloop_flow_flow_2"));
}

#[tokio::test]
async fn an_upstream_failure_keeps_the_catalogue_and_the_last_good_flows() {
    let h = start(Duration::from_millis(200)).await;
    let acct = h.account().await;
    let (_, url) = h.server(&acct, json!({"flow_tools": true})).await;
    h.fake.push_fault(Fault { path_contains: Some("/list_saved_items".into()), kind: FaultKind::Status(500) });
    let first = h.tools(&url).await;
    assert!(names(&first).contains(&"create_a_gumloop_flow_run") && flow_tools(&first).is_empty(), "catalogue only: {:?}", flow_tools(&first));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(flow_tools(&h.tools(&url).await).len(), 4, "the next refresh succeeds");
    tokio::time::sleep(Duration::from_millis(250)).await;
    h.fake.push_fault(Fault { path_contains: Some("/list_saved_items".into()), kind: FaultKind::Status(503) });
    assert_eq!(flow_tools(&h.tools(&url).await).len(), 4, "the last good list stays");
}

#[tokio::test]
async fn the_admin_api_checks_flow_tools_and_configs_round_trip() {
    let h = start(Duration::from_secs(60)).await;
    let acct = h.account().await;
    let path = format!("/integrated-account/{acct}/mcp");
    let refused = h.admin("POST", &path, Some(json!({"name": "x", "config": {"methods": ["read"], "flow_tools": true}}))).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("config.flow_tools:") && message.contains("create_a_gumloop_flow_run") && message.contains("set flow_tools to false"),
        "{message}"
    );
    let r = h.admin("POST", &path, Some(json!({"name": "x", "config": {"tags": ["flows"], "flow_tools": true}}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["config"]["flow_tools"], true);
    let id = r.body["id"].as_str().unwrap();
    let got = h.admin("GET", &format!("{path}/{id}"), None).await;
    assert_eq!(got.body["config"], json!({"tags": ["flows"], "require_api_token_auth": false, "flow_tools": true}));
    let patch = h.admin("PATCH", &format!("{path}/{id}"), Some(json!({"config": {"tags": ["agents"], "flow_tools": true}}))).await;
    assert_eq!(patch.status, 400, "{}", patch.body);
    assert!(h.admin("GET", &format!("{path}/{id}"), None).await.body["config"]["flow_tools"] == true, "nothing changed on a refusal");
    let plain = h.admin("POST", &path, Some(json!({"name": "y", "config": {}}))).await;
    assert_eq!(plain.body["config"]["flow_tools"], false, "off by default");
    // A config stored before the option existed still loads.
    let conn = rusqlite::Connection::open(h.dir.path().join("gumloop-mcp.sqlite3")).unwrap();
    conn.execute("UPDATE mcp_servers SET config = ?1 WHERE id = ?2", rusqlite::params![r#"{"methods":["read"],"require_api_token_auth":false}"#, id]).unwrap();
    let old = h.store.get_server(&acct, id).await.unwrap();
    assert!(!old.config.flow_tools && old.config.methods == Some(vec!["read".to_owned()]));
}

#[tokio::test]
async fn the_refresher_stops_with_its_last_session_and_with_its_server() {
    let h = start(Duration::from_millis(200)).await;
    let acct = h.account().await;
    let lists = || h.fake.requests().iter().filter(|r| r.path.ends_with("/list_saved_items")).count();
    for end in ["session closed", "server deleted"] {
        let (id, url) = h.server(&acct, json!({"flow_tools": true})).await;
        let legacy = common::legacy_session(&h.client, &url).await;
        legacy.rpc(1, "tools/list", json!({})).await;
        let before = lists();
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(lists() > before, "{end}: refreshed in the background while the session lives");
        match end {
            "session closed" => {
                let closed = legacy.close().await;
                assert!(closed.status().is_success(), "{}", closed.status());
            }
            _ => assert_eq!(h.admin("DELETE", &format!("/integrated-account/{acct}/mcp/{id}"), None).await.status, 204),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = lists();
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(lists(), after, "{end}: the refresher stopped");
    }
}

#[tokio::test]
async fn a_tasks_client_gets_a_task_for_a_flow_tool() {
    let h = start(Duration::from_secs(60)).await;
    let acct = h.account().await;
    let (_, url) = h.server(&acct, json!({"flow_tools": true})).await;
    h.tools(&url).await;
    let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let created = h.mcp_with(&url, "tools/call", json!({"name": PRICING, "arguments": {"target_company": "Acme"}}), tasks.clone()).await;
    assert_eq!(created.body["result"]["resultType"], "task", "{}", created.body);
    let task = created.body["result"]["taskId"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let done = loop {
        let t = h.mcp_with(&url, "tasks/get", json!({"taskId": task}), tasks.clone()).await.body["result"].clone();
        if t["status"] != "working" {
            break t;
        }
        assert!(std::time::Instant::now() < deadline, "{t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["structuredContent"]["state"], "DONE", "{done}");
    assert_eq!(h.starts()[0]["pipeline_inputs"], json!([{"input_name": "target_company", "value": "Acme"}]));
}

/// Opens a `subscriptions/listen` stream for tool changes at `url`, acknowledged.
async fn subscribe(h: &H, url: &str) -> reqwest::Response {
    let listen = json!({"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen", "params": {
        "notifications": {"toolsListChanged": true},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
    let mut stream = h
        .client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .json(&listen)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    until_message(&mut stream, "notifications/subscriptions/acknowledged", Duration::from_secs(5)).await.expect("acknowledged");
    // The subscription is registered just after its acknowledgement.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
}

#[tokio::test]
async fn changes_reach_listeners_on_another_replica_once() {
    let one = start(Duration::from_millis(400)).await;
    // Both replicas on one store, one bus and one Gumloop (a fresh bus: `start` made its own).
    let bus = Arc::new(LocalBus::default());
    let (store, fake) = (one.store.clone(), one.fake.clone());
    let a = replica(Duration::from_millis(400), fake.clone(), tempfile::tempdir().unwrap(), store.clone(), bus.clone(), one.admin_token.clone()).await;
    let b = replica(Duration::from_secs(3600), fake, tempfile::tempdir().unwrap(), store, bus, one.admin_token.clone()).await;
    let acct = a.account().await;
    let (plain_id, plain_a) = a.server(&acct, json!({})).await;
    let plain_b = plain_a.replace(&a.base, &b.base);

    // A config change through replica a's admin API reaches a subscriber on replica b,
    // though the server has no flow tools.
    let mut heard = subscribe(&b, &plain_b).await;
    let r = a.admin("PATCH", &format!("/integrated-account/{acct}/mcp/{plain_id}"), Some(json!({"config": {"methods": ["read"]}}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(until_message(&mut heard, "notifications/tools/list_changed", Duration::from_secs(5)).await.is_some(), "b's subscriber was told");
    assert!(until_message(&mut heard, "notifications/tools/list_changed", Duration::from_millis(800)).await.is_none(), "told once");
    assert!(b.tools(&plain_b).await.iter().all(|t| t["annotations"]["readOnlyHint"] == true), "b applies the new filter at once");

    // A flow change found by replica a's refresher reaches a subscriber on replica b, whose
    // own refresher would not look for an hour; b then lists the new flow.
    let (_, flows_a) = a.server(&acct, json!({"flow_tools": true})).await;
    let flows_b = flows_a.replace(&a.base, &b.base);
    let _watching_a = subscribe(&a, &flows_a).await;
    let mut heard = subscribe(&b, &flows_b).await;
    assert_eq!(flow_tools(&b.tools(&flows_b).await).len(), 4);
    a.fake.add_flow("flow_new", "Lead Enricher", Some("Enriches a lead"), json!([{"name": "email", "data_type": "string", "description": null}]));
    assert!(until_message(&mut heard, "notifications/tools/list_changed", Duration::from_secs(10)).await.is_some(), "b's subscriber was told of a's find");
    assert!(until_message(&mut heard, "notifications/tools/list_changed", Duration::from_millis(800)).await.is_none(), "told once");
    drop(one);
}

#[tokio::test]
async fn a_flow_tool_takes_the_run_tools_fields() {
    let h = start(Duration::from_secs(60)).await;
    let acct = h.account().await;
    let (_, url) = h.server(&acct, json!({"flow_tools": true})).await;
    let tools = h.tools(&url).await;
    let run = &tool(&tools, "create_a_gumloop_flow_run")["inputSchema"]["properties"]["fields"];
    assert_eq!(&tool(&tools, PRICING)["inputSchema"]["properties"]["fields"], run, "the run tool's argument, as it is");
    let r = h.call(&url, PRICING, json!({"target_company": "Acme", "wait": true, "fields": ["state", "outputs"]})).await;
    let done = &r["result"]["structuredContent"];
    let mut keys: Vec<&str> = done.as_object().unwrap_or_else(|| panic!("{r}")).keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["outputs", "state", "wait"], "{r}");
    assert!(h.starts()[0].get("fields").is_none(), "a server argument never goes upstream: {}", h.starts()[0]);
    // A path that names nothing is refused before the run starts.
    let bad = h.call(&url, PRICING, json!({"target_company": "Acme", "fields": ["stat"]})).await;
    let text = common::text_of(&bad["result"]);
    assert!(text.contains("/fields/0: `stat` names nothing in the result; did you mean `state`?"), "{text}");
    assert_eq!(h.starts().len(), 1, "nothing more was started");
}
