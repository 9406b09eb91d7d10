//! Discovery exposure (`tool_exposure: discovery`, `--tool-exposure discovery`), in-process
//! against the fake Gumloop: tools/list shows three meta-tools; search_tools finds only what
//! the scope may see (per-flow tools too); get_tool_schema is the `all`-mode entry;
//! call_tool is a direct call (result, upstream request, audit record, task, progress,
//! download links); hidden and
//! unknown tools are answered as a direct call of them is; bad config values are refused;
//! the seeds' requests find their tools; the list is at least 10× smaller in tokens.

mod common;

use std::time::{Duration, Instant};

use clap::Parser as _;
use common::{Harness, ManagedHarness, Reply, Setup, rpc_at};
use gumloop_mcp::UpstreamConfig;
use gumloop_mcp::http::{self, HttpConfig};
use gumloop_mcp::mcp::discovery::ToolExposure;
use gumloop_testkit::tokens::o200k_json;
use gumloop_testkit::{FakeConfig, FakeGumloop, RecordedRequest};
use serde_json::{Value, json};

const META: [&str; 3] = ["call_tool", "get_tool_schema", "search_tools"];

/// gumloop-mcp on `/mcp` with `exposure`, as `serve --tool-exposure` starts it.
async fn start(exposure: ToolExposure, fake: FakeConfig) -> Harness {
    let setup = Setup::default();
    let fake = FakeGumloop::start(fake).await.unwrap();
    let upstream = UpstreamConfig { call_timeout: setup.call_timeout, ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
    let server = gumloop_mcp::gumloop_server(upstream, setup.credential).unwrap().with_tool_exposure(exposure);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = http::spawn(server, listener, setup.http).unwrap();
    Harness { url: running.url(), fake, client: reqwest::Client::new(), running: Some(running) }
}

async fn discovery() -> Harness {
    start(ToolExposure::Discovery, FakeConfig::default()).await
}

async fn list(client: &reqwest::Client, url: &str) -> Vec<Value> {
    let r = rpc_at(client, url, "tools/list", json!({}), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["result"]["tools"].as_array().unwrap_or_else(|| panic!("no tools: {}", r.body)).clone()
}

fn names(tools: &[Value]) -> Vec<&str> {
    tools.iter().map(|t| t["name"].as_str().unwrap()).collect()
}

async fn call_at(client: &reqwest::Client, url: &str, name: &str, args: Value) -> Reply {
    rpc_at(client, url, "tools/call", json!({"name": name, "arguments": args}), json!({})).await
}

/// The tool names a search returns, best first.
async fn search(client: &reqwest::Client, url: &str, query: &str, limit: usize) -> Vec<String> {
    let r = call_at(client, url, "search_tools", json!({"query": query, "limit": limit})).await;
    let tools = r.body["result"]["structuredContent"]["tools"].as_array().unwrap_or_else(|| panic!("no tools: {}", r.body));
    tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

/// What a request upstream was, without what differs between two sends of it.
fn sent(r: &RecordedRequest) -> (String, String, Vec<(String, String)>, String) {
    (r.method.clone(), r.path.clone(), r.query.clone(), format!("{:?}", r.body))
}

#[tokio::test]
async fn tools_list_shows_the_three_meta_tools_only_in_discovery_mode() {
    let all = start(ToolExposure::All, FakeConfig::default()).await;
    let every = list(&all.client, &all.url).await;
    assert_eq!(every.len(), gumloop_mcp_generated::resources::ALL_TOOLS.len());
    assert!(!names(&every).iter().any(|n| META.contains(n)), "no meta-tool in all mode");
    let h = discovery().await;
    let tools = list(&h.client, &h.url).await;
    assert_eq!(names(&tools), META);
    for t in &tools {
        assert!(t["title"].is_string() && t["annotations"]["readOnlyHint"].is_boolean() && t["annotations"]["destructiveHint"].is_boolean(), "{t}");
    }
    assert_eq!(tools[0]["annotations"]["readOnlyHint"], false, "call_tool can run anything");
    assert_eq!(tools[0]["annotations"]["destructiveHint"], true);
    // In all mode the meta-tools are no tools at all.
    let r = call_at(&all.client, &all.url, "search_tools", json!({"query": "flows"})).await;
    assert_eq!(r.body["error"]["message"], "unknown tool `search_tools`", "{}", r.body);
}

#[tokio::test]
async fn search_finds_tools_with_names_titles_and_one_line_summaries() {
    let h = discovery().await;
    let r = call_at(&h.client, &h.url, "search_tools", json!({"query": "list my saved flows"})).await;
    let result = &r.body["result"];
    let hits = result["structuredContent"]["tools"].as_array().unwrap();
    assert_eq!(hits.len(), 5, "the default limit: {result}");
    assert_eq!(hits[0]["name"], "list_all_gumloop_flows", "{result}");
    assert_eq!(hits[0]["title"], "List flows");
    let summary = hits[0]["summary"].as_str().unwrap();
    assert!(summary.ends_with('.') && !summary.contains(". ") && summary.len() < 120, "{summary}");
    assert_eq!(serde_json::from_str::<Value>(result["content"][0]["text"].as_str().unwrap()).unwrap(), result["structuredContent"], "the text copy");
    assert_eq!(search(&h.client, &h.url, "cancel a running session", 1).await, ["delete_a_gumloop_session_by_id"]);
    assert!(search(&h.client, &h.url, "zzzz qqqq", 5).await.is_empty(), "nothing matches");
    assert!(h.fake.requests().is_empty(), "searching sends nothing upstream");
    // Its own arguments are checked like any tool's.
    let bad = call_at(&h.client, &h.url, "search_tools", json!({"limit": 100})).await;
    let text = common::text_of(&bad.body["result"]);
    assert_eq!(bad.body["result"]["isError"], true);
    assert!(text.contains("\"query\" is a required property") && text.contains("/limit: 100 is greater than the maximum of 25"), "{text}");
}

#[tokio::test]
async fn get_tool_schema_is_the_entry_all_mode_lists() {
    let all = start(ToolExposure::All, FakeConfig::default()).await;
    let every = list(&all.client, &all.url).await;
    let h = discovery().await;
    for name in ["create_a_gumloop_flow_run", "list_all_gumloop_audit_logs", "get_single_gumloop_artifact_by_id"] {
        let r = call_at(&h.client, &h.url, "get_tool_schema", json!({"name": name})).await;
        let entry = every.iter().find(|t| t["name"] == name).unwrap();
        assert_eq!(&r.body["result"]["structuredContent"], entry, "{name}");
    }
    // An unknown tool: the same protocol error as a direct call of it.
    let schema = call_at(&h.client, &h.url, "get_tool_schema", json!({"name": "list_all_gumloop_flow"})).await;
    let direct = call_at(&h.client, &h.url, "list_all_gumloop_flow", json!({})).await;
    assert_eq!(schema.body["error"], direct.body["error"]);
    assert_eq!(schema.body["error"]["message"], "unknown tool `list_all_gumloop_flow`; did you mean `list_all_gumloop_flows`?");
}

#[tokio::test]
async fn call_tool_is_a_direct_call_in_result_and_upstream_request() {
    let h = discovery().await;
    for (name, args) in [
        ("list_all_gumloop_flows", json!({})),
        ("get_single_gumloop_automation_by_id", json!({"id": "flow_pricing"})),
        // A page walk: every page's request, in order.
        (
            "list_all_gumloop_audit_logs",
            json!({"organization_id": "org_1", "start_time": "2026-11-20T00:00:00Z", "end_time": "2026-11-22T00:00:00Z", "page_size": 50, "max_items": 70}),
        ),
    ] {
        let direct = call_at(&h.client, &h.url, name, args.clone()).await;
        let direct_sent: Vec<_> = h.fake.take_requests().iter().map(sent).collect();
        let through = call_at(&h.client, &h.url, "call_tool", json!({"name": name, "arguments": args})).await;
        let through_sent: Vec<_> = h.fake.take_requests().iter().map(sent).collect();
        assert!(direct.body["result"].is_object(), "{}", direct.body);
        assert_eq!(through.body["result"], direct.body["result"], "{name}");
        assert!(!direct_sent.is_empty());
        assert_eq!(through_sent, direct_sent, "{name}: the same requests upstream");
    }
    // The same validation, with the same message, and nothing sent.
    let bad = json!({"saved_item_id": 7, "bogus": true});
    let direct = call_at(&h.client, &h.url, "create_a_gumloop_flow_run", bad.clone()).await;
    let through = call_at(&h.client, &h.url, "call_tool", json!({"name": "create_a_gumloop_flow_run", "arguments": bad})).await;
    assert_eq!(direct.body["result"]["isError"], true, "{}", direct.body);
    assert_eq!(through.body["result"], direct.body["result"]);
    assert!(common::text_of(&through.body["result"]).contains("invalid arguments for `create_a_gumloop_flow_run`"), "{}", through.body);
    // Without arguments: the tool's own check (a required argument missing).
    let bare = call_at(&h.client, &h.url, "call_tool", json!({"name": "get_single_gumloop_agent_by_id"})).await;
    assert!(common::text_of(&bare.body["result"]).contains("\"id\" is a required property"), "{}", bare.body);
    // call_tool's own arguments.
    let wrong = call_at(&h.client, &h.url, "call_tool", json!({"tool": "list_all_gumloop_flows"})).await;
    let text = common::text_of(&wrong.body["result"]);
    assert!(text.contains("\"name\" is a required property") && text.contains("/tool: unknown argument `tool`"), "{text}");
    // An unknown tool: the direct call's answer; meta-tools do not call themselves.
    let unknown = call_at(&h.client, &h.url, "call_tool", json!({"name": "list_all_gumloop_flow"})).await;
    assert_eq!(unknown.body["error"], call_at(&h.client, &h.url, "list_all_gumloop_flow", json!({})).await.body["error"]);
    let nested = call_at(&h.client, &h.url, "call_tool", json!({"name": "call_tool", "arguments": {"name": "list_all_gumloop_flows"}})).await;
    assert!(nested.body["error"]["message"].as_str().unwrap().starts_with("unknown tool `call_tool`"), "{}", nested.body);
    assert!(h.fake.requests().is_empty(), "nothing was sent for refused calls");
    // Direct calls of real tools keep working in discovery mode (clients that cached a list).
    assert!(call_at(&h.client, &h.url, "list_all_gumloop_flows", json!({})).await.body["result"]["structuredContent"].is_object());
}

#[tokio::test]
async fn a_task_augmented_call_tool_creates_a_task_like_a_direct_call() {
    let h = start(ToolExposure::Discovery, FakeConfig { session_polls: 2, ..FakeConfig::default() }).await;
    let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let args = json!({"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "hello"}});
    let r = rpc_at(&h.client, &h.url, "tools/call", json!({"name": "call_tool", "arguments": args}), tasks.clone()).await;
    let created = &r.body["result"];
    assert_eq!(created["resultType"], "task", "{}", r.body);
    assert_eq!(created["statusMessage"], "starting `create_a_gumloop_session`", "the task is the real tool's: {created}");
    let id = created["taskId"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let done = loop {
        let t = rpc_at(&h.client, &h.url, "tasks/get", json!({"taskId": id}), tasks.clone()).await.body["result"].clone();
        if t["status"] != "working" {
            break t;
        }
        assert!(Instant::now() < deadline, "never settled: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["structuredContent"]["session"]["state"], "completed", "{done}");
    assert_eq!(done["result"]["structuredContent"]["wait"]["finished"], true);
}

#[tokio::test]
async fn call_tool_waits_with_progress_and_links_downloads_like_a_direct_call() {
    let h = start(ToolExposure::Discovery, FakeConfig { session_polls: 3, ..FakeConfig::default() }).await;
    let (text, messages) = h
        .call_with_progress("call_tool", json!({"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "hi", "wait": true}}), "p-1")
        .await;
    let progress: Vec<&Value> = messages.iter().filter(|m| m["method"] == "notifications/progress").collect();
    assert_eq!(progress.len(), 3, "one per poll, as for a direct call: {text}");
    assert!(progress.iter().all(|p| p["params"]["progressToken"] == "p-1"));
    assert_eq!(messages.last().unwrap()["result"]["structuredContent"]["session"]["state"], "completed", "{text}");
    // A signed download gets its resource link, which reads back.
    let r = call_at(&h.client, &h.url, "call_tool", json!({"name": "get_single_gumloop_artifact_by_id", "arguments": {"id": "art_1"}})).await;
    let content = r.body["result"]["content"].as_array().unwrap_or_else(|| panic!("{}", r.body));
    let link = content.iter().find(|c| c["type"] == "resource_link").unwrap_or_else(|| panic!("no link: {}", r.body));
    assert!(link["uri"].as_str().unwrap().starts_with("gumloop://download/get_single_gumloop_artifact_by_id?"), "{link}");
    let read = rpc_at(&h.client, &h.url, "resources/read", json!({"uri": link["uri"]}), json!({})).await;
    assert!(read.body["result"]["contents"][0]["uri"] == link["uri"], "{}", read.body);
}

/// A managed server made through the admin API: (its id, its URL).
async fn managed_server(h: &ManagedHarness, config: Value) -> (String, String) {
    let path = format!("/integrated-account/{}/mcp", h.account);
    let r = common::admin(&h.client, &h.base, &h.admin_token, "POST", &path, Some(json!({"name": "d", "config": config}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (r.body["id"].as_str().unwrap().to_owned(), r.body["url"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_managed_server_lists_as_configured_and_hides_what_its_filters_hide() {
    let h = common::start_managed(HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }).await;
    let (_, plain) = managed_server(&h, json!({"methods": ["read"], "tags": ["flows"]})).await;
    let (id, url) = managed_server(&h, json!({"methods": ["read"], "tags": ["flows"], "tool_exposure": "discovery"})).await;
    let visible = list(&h.client, &plain).await;
    assert!(visible.len() > 3 && !names(&visible).contains(&"create_a_gumloop_flow_run"));
    assert_eq!(names(&list(&h.client, &url).await), META);
    let got = common::admin(&h.client, &h.base, &h.admin_token, "GET", &format!("/integrated-account/{}/mcp/{id}", h.account), None).await;
    assert_eq!(got.body["config"]["tool_exposure"], "discovery");

    // Search ranks only what the filters show: the run tool is hidden here.
    let found = search(&h.client, &url, "start a run of a saved flow", 25).await;
    assert!(!found.is_empty());
    assert!(found.iter().all(|n| names(&visible).contains(&n.as_str())), "{found:?}");
    assert!(!found.contains(&"create_a_gumloop_flow_run".to_owned()), "{found:?}");
    // Hidden: described and called exactly as a direct call of it is answered.
    let direct = call_at(&h.client, &url, "create_a_gumloop_flow_run", json!({"saved_item_id": "flow_1"})).await;
    assert_eq!(direct.body["error"]["message"], "unknown tool `create_a_gumloop_flow_run`", "{}", direct.body);
    let schema = call_at(&h.client, &url, "get_tool_schema", json!({"name": "create_a_gumloop_flow_run"})).await;
    let through = call_at(&h.client, &url, "call_tool", json!({"name": "create_a_gumloop_flow_run", "arguments": {"saved_item_id": "flow_1"}})).await;
    assert_eq!(schema.body["error"], direct.body["error"]);
    assert_eq!(through.body["error"], direct.body["error"]);
    // Hints name visible tools only.
    let typo = call_at(&h.client, &url, "call_tool", json!({"name": "create_a_gumloop_flow_rum"})).await;
    assert_eq!(typo.body["error"]["message"], "unknown tool `create_a_gumloop_flow_rum`", "{}", typo.body);
    assert!(h.fake.requests().is_empty(), "nothing was sent for hidden tools");

    // A call through call_tool is audited under the real tool's name.
    let ok = call_at(&h.client, &url, "call_tool", json!({"name": "list_all_gumloop_flows"})).await;
    assert!(ok.body["result"]["structuredContent"].is_object(), "{}", ok.body);
    let calls = common::admin(&h.client, &h.base, &h.admin_token, "GET", &format!("/integrated-account/{}/mcp/{id}/calls", h.account), None).await;
    let audited: Vec<(&str, &str)> =
        calls.body["result"].as_array().unwrap().iter().map(|c| (c["tool"].as_str().unwrap(), c["outcome"].as_str().unwrap())).collect();
    assert_eq!(audited[0], ("list_all_gumloop_flows", "ok"), "{}", calls.body);
    assert!(!audited.iter().any(|(t, _)| META.contains(t)), "meta-tools are not calls of tools: {audited:?}");
}

#[tokio::test]
async fn call_tool_of_a_destructive_tool_is_confirmed_as_a_direct_call_is() {
    let h = common::start_managed(HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }).await;
    let (_, url) = managed_server(&h, json!({"confirm_destructive": true, "tool_exposure": "discovery"})).await;
    let cancel = json!({"name": "delete_a_gumloop_session_by_id", "arguments": {"id": "ses_998"}});
    let through = json!({"name": "call_tool", "arguments": cancel.clone()});
    // A client that cannot be asked: the same refusal, and nothing sent.
    let direct = rpc_at(&h.client, &url, "tools/call", cancel, json!({})).await;
    let refused = rpc_at(&h.client, &url, "tools/call", through.clone(), json!({})).await;
    assert_eq!(refused.body["result"], direct.body["result"]);
    assert!(common::text_of(&refused.body["result"]).contains("needs the person's confirmation"), "{}", refused.body);
    // One that can: asked naming the tool and its target; the retry of the same call_tool runs it once confirmed.
    let elicit = json!({"elicitation": {"form": {}}});
    let asked = rpc_at(&h.client, &url, "tools/call", through.clone(), elicit.clone()).await;
    assert_eq!(asked.body["result"]["resultType"], "input_required", "{}", asked.body);
    let message = asked.body["result"]["inputRequests"]["confirm"]["params"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("Cancel session on id ses_998"), "{}", asked.body);
    assert!(h.fake.requests().iter().all(|r| !r.path.ends_with("/cancel")), "nothing sent before the answer");
    let mut retry = through;
    retry["inputResponses"] = json!({"confirm": {"action": "accept", "content": {"confirm": true}}});
    retry["requestState"] = asked.body["result"]["requestState"].clone();
    let yes = rpc_at(&h.client, &url, "tools/call", retry, elicit).await;
    assert_eq!(yes.body["result"]["structuredContent"]["session"]["state"], "failed", "{}", yes.body);
    assert_eq!(h.fake.requests().iter().filter(|r| r.path.ends_with("/sessions/ses_998/cancel")).count(), 1);
}

#[tokio::test]
async fn per_flow_tools_are_found_described_and_called() {
    let h = common::start_managed(HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }).await;
    let (id, url) = managed_server(&h, json!({"flow_tools": true, "tool_exposure": "discovery"})).await;
    let (_, all) = managed_server(&h, json!({"flow_tools": true})).await;
    let pricing = "run_gumloop_flow_competitor_pricing_scraper";
    let found = search(&h.client, &url, "scrape a competitor's pricing pages", 3).await;
    assert_eq!(found[0], pricing, "{found:?}");
    let listed = list(&h.client, &all).await;
    let schema = call_at(&h.client, &url, "get_tool_schema", json!({"name": pricing})).await;
    assert_eq!(&schema.body["result"]["structuredContent"], listed.iter().find(|t| t["name"] == pricing).unwrap());
    h.fake.take_requests();
    let run = call_at(&h.client, &url, "call_tool", json!({"name": pricing, "arguments": {"target_company": "Acme"}})).await;
    assert!(run.body["result"]["structuredContent"]["run_id"].is_string(), "{}", run.body);
    let starts: Vec<RecordedRequest> = h.fake.requests().into_iter().filter(|r| r.path.ends_with("/start_pipeline")).collect();
    assert_eq!(starts.len(), 1);
    let gumloop_testkit::RecordedBody::Json(body) = &starts[0].body else { panic!("{:?}", starts[0].body) };
    assert_eq!(body, &json!({"saved_item_id": "flow_pricing", "user_id": "user_test", "pipeline_inputs": [{"input_name": "target_company", "value": "Acme"}]}));
    // Its inputs are checked as a direct call checks them.
    let bad = call_at(&h.client, &url, "call_tool", json!({"name": pricing, "arguments": {}})).await;
    let direct = call_at(&h.client, &url, pricing, json!({})).await;
    assert_eq!(bad.body["result"], direct.body["result"]);
    assert_eq!(bad.body["result"]["isError"], true);
    let calls = common::admin(&h.client, &h.base, &h.admin_token, "GET", &format!("/integrated-account/{}/mcp/{id}/calls", h.account), None).await;
    let audited: Vec<&str> = calls.body["result"].as_array().unwrap().iter().map(|c| c["tool"].as_str().unwrap()).collect();
    assert_eq!(audited, [pricing, pricing, pricing], "{}", calls.body);
}

#[tokio::test]
async fn a_bad_tool_exposure_is_refused_by_the_admin_api_and_the_cli() {
    let h = common::start_managed(HttpConfig::default()).await;
    let path = format!("/integrated-account/{}/mcp", h.account);
    let r = common::admin(&h.client, &h.base, &h.admin_token, "POST", &path, Some(json!({"name": "x", "config": {"tool_exposure": "search"}}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("`config.tool_exposure`") && message.contains("unknown variant `search`, expected `all` or `discovery`"), "{message}");
    let (id, _) = managed_server(&h, json!({})).await;
    let patch = common::admin(&h.client, &h.base, &h.admin_token, "PATCH", &format!("{path}/{id}"), Some(json!({"config": {"tool_exposure": 1}}))).await;
    assert_eq!(patch.status, 400, "{}", patch.body);
    let patched =
        common::admin(&h.client, &h.base, &h.admin_token, "PATCH", &format!("{path}/{id}"), Some(json!({"config": {"tool_exposure": "discovery"}}))).await;
    assert_eq!(patched.body["config"]["tool_exposure"], "discovery", "{}", patched.body);

    use gumloop_mcp::config::{Cli, Command, ServerCommand};
    let err = Cli::try_parse_from(["gumloop-mcp", "server", "create", "--account", "acct_1", "--tool-exposure", "search"]).unwrap_err().to_string();
    assert!(err.contains("invalid value 'search' for '--tool-exposure") && err.contains("[possible values: all, discovery]"), "{err}");
    let cli = Cli::try_parse_from(["gumloop-mcp", "server", "create", "--account", "acct_1", "--tool-exposure", "discovery"]).unwrap();
    let Command::Server(ServerCommand::Create { tool_exposure, .. }) = cli.command else { panic!("server create") };
    assert_eq!(tool_exposure, ToolExposure::Discovery);
    let Command::Stdio(args) = Cli::try_parse_from(["gumloop-mcp", "stdio", "--tool-exposure", "discovery"]).unwrap().command else { panic!("stdio") };
    assert_eq!(args.exposure.tool_exposure, ToolExposure::Discovery);
    let Command::Serve(args) = Cli::try_parse_from(["gumloop-mcp", "serve"]).unwrap().command else { panic!("serve") };
    assert_eq!(args.exposure.tool_exposure, ToolExposure::All, "all by default");
    assert!(Cli::try_parse_from(["gumloop-mcp", "serve", "--tool-exposure", "Discovery"]).is_err());
}

#[derive(serde::Deserialize)]
struct SeedRequest {
    #[serde(default)]
    source: String,
    prompt: String,
    expect: Vec<String>,
}

/// The requests in the top 3 of `search_tools` of a right tool, and a line per miss.
async fn top_three(h: &Harness, requests: &[SeedRequest]) -> (usize, Vec<String>) {
    let mut misses = Vec::new();
    for s in requests {
        let top = search(&h.client, &h.url, &s.prompt, 3).await;
        if !s.expect.iter().any(|e| top.contains(e)) {
            misses.push(format!("{} {:?}: expected one of {:?}, got {top:?}", s.source, s.prompt, s.expect));
        }
    }
    (requests.len() - misses.len(), misses)
}

#[tokio::test]
async fn the_seeds_requests_find_their_tools_in_the_top_three() {
    let seeds: Vec<SeedRequest> = serde_yaml::from_str(include_str!("fixtures/seed_requests.yaml")).unwrap();
    assert_eq!(seeds.len(), 17, "every quoted request of the seeds");
    let h = discovery().await;
    let (hits, misses) = top_three(&h, &seeds).await;
    let rate = hits as f64 / seeds.len() as f64;
    println!("seed requests: {hits}/{} with a right tool in search_tools' top 3 ({:.0}%)", seeds.len(), rate * 100.0);
    for m in &misses {
        println!("miss: {m}");
    }
    assert!(rate >= 0.9, "top-3 hit rate {:.0}% is under 90%:\n{}", rate * 100.0, misses.join("\n"));
}

#[tokio::test]
async fn short_queries_find_their_tools_in_the_top_three() {
    let queries: Vec<SeedRequest> = serde_yaml::from_str(include_str!("fixtures/search_queries.yaml")).unwrap();
    let h = discovery().await;
    let (hits, misses) = top_three(&h, &queries).await;
    println!("short queries: {hits}/{} with a right tool in search_tools' top 3", queries.len());
    for m in &misses {
        println!("miss: {m}");
    }
    assert!(hits * 10 >= queries.len() * 9, "{hits}/{}:\n{}", queries.len(), misses.join("\n"));
}

#[tokio::test]
async fn discovery_tools_list_is_at_least_ten_times_smaller_in_tokens() {
    let (all, disc) = (start(ToolExposure::All, FakeConfig::default()).await, discovery().await);
    let every = Value::Array(list(&all.client, &all.url).await);
    let meta = Value::Array(list(&disc.client, &disc.url).await);
    let (a, d) = (o200k_json(&every), o200k_json(&meta));
    assert_eq!(meta, serde_json::to_value(gumloop_mcp::mcp::discovery::meta_tools()).unwrap(), "the list is meta_tools()");
    let ratio = a as f64 / d as f64;
    println!(
        "tools/list on /mcp, o200k_base tokens of the compact tools array: all {a} ({} bytes), discovery {d} ({} bytes): {ratio:.1}x",
        every.to_string().len(),
        meta.to_string().len()
    );
    assert!(ratio >= 10.0, "all {a} vs discovery {d} tokens: only {ratio:.1}x");
}
