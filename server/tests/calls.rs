//! tools/call end to end against the fake Gumloop: validation, request shape, upstream
//! errors, rate limits, timeouts.

mod common;

use std::time::Duration;

use common::{Setup, start, start_with, text_of};
use gumloop_testkit::{Fault, FaultKind, RateLimitStyle, RecordedBody};
use serde_json::json;

#[tokio::test]
async fn tools_list_is_the_committed_tools_json() {
    let h = start().await;
    let r = h.rpc("tools/list", json!({})).await;
    let served = &r.body["result"]["tools"];
    let committed: serde_json::Value = serde_json::from_str(gumloop_mcp_generated::TOOLS_JSON).unwrap();
    assert_eq!(served, &committed);
    assert!(r.body["result"].get("nextCursor").is_none_or(|c| c.is_null()));
}

#[tokio::test]
async fn schema_violations_are_all_listed_and_never_sent() {
    let h = start().await;
    let result = h.call("list_all_gumloop_sessions", json!({"agentid": "agent_1", "page_size": 500, "cursor": 3})).await;
    assert_eq!(result["isError"], true);
    let text = text_of(&result);
    assert!(text.contains("/agentid: unknown argument `agentid`; did you mean `agent_id`?"), "{text}");
    assert!(text.contains("/page_size: 500 is greater than the maximum of 100"), "{text}");
    assert!(text.contains("/cursor: 3 is not of type \"string\""), "{text}");
    assert!(text.contains("\"agent_id\" is a required property"), "{text}");
    assert!(h.fake.requests().is_empty(), "nothing may reach Gumloop");
}

#[tokio::test]
async fn unknown_tool_is_a_protocol_error_with_a_suggestion() {
    let h = start().await;
    let r = h.rpc("tools/call", json!({"name": "list_all_gumloop_flow", "arguments": {}})).await;
    let err = &r.body["error"];
    assert_eq!(err["code"], -32602, "{}", r.body);
    assert!(err["message"].as_str().unwrap().contains("did you mean `list_all_gumloop_flows`?"), "{}", r.body);
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn path_traversal_stays_one_segment() {
    let h = start().await;
    let result = h.call("get_single_gumloop_session_by_id", json!({"id": "../../admin"})).await;
    assert_eq!(result["structuredContent"]["status"], 404);
    let reqs = h.fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/api/v1/sessions/%2E%2E%2F%2E%2E%2Fadmin");
}

#[tokio::test]
async fn credential_headers_and_context_are_sent() {
    let h = start().await;
    let result = h.call("list_all_gumloop_flows", json!({})).await;
    assert!(result.get("isError").is_none_or(|e| e == false), "{result}");
    assert_eq!(result["structuredContent"]["saved_items"][0]["saved_item_id"], "flow_1");
    let r = &h.fake.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/api/v1/list_saved_items");
    assert_eq!(r.headers["authorization"], "Bearer test-key");
    assert_eq!(r.headers["x-auth-key"], "user_test");
    assert_eq!(r.query, vec![("user_id".to_owned(), "user_test".to_owned())], "user_id filled from the credential");
    // A caller's own value wins.
    h.fake.take_requests();
    h.call("list_all_gumloop_flows", json!({"project_id": "ws_9", "user_id": "someone"})).await;
    assert_eq!(h.fake.requests()[0].query, vec![("user_id".into(), "someone".into()), ("project_id".into(), "ws_9".into())]);
}

#[tokio::test]
async fn upstream_errors_pass_through_unchanged() {
    let h = start().await;
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Status(503) });
    let result = h.call("list_all_gumloop_models", json!({})).await;
    assert_eq!(result["isError"], true);
    assert_eq!(result["structuredContent"]["status"], 503);
    assert_eq!(result["structuredContent"]["error"]["error"]["message"], "injected upstream failure");
    // A 409 keeps the documented code.
    let created = h.call("create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hi"})).await;
    let id = created["structuredContent"]["session"]["id"].as_str().unwrap().to_owned();
    let busy = h.call("send_gumloop_session_message", json!({"id": id, "input": "again"})).await;
    assert_eq!(busy["structuredContent"]["status"], 409);
    assert_eq!(busy["structuredContent"]["error"]["error"]["code"], "interaction_not_in_terminal_state");
}

#[tokio::test]
async fn rate_limits_pass_through_normalised_and_never_retried() {
    let h = start().await;
    h.fake.push_fault(Fault {
        path_contains: Some("/sessions".into()),
        kind: FaultKind::RateLimited { limit: 25, remaining: 0, reset_secs: 30, retry_after: Some(12), style: RateLimitStyle::Ietf },
    });
    let r = h.rpc("tools/call", json!({"name": "list_all_gumloop_sessions", "arguments": {"agent_id": "agent_1"}})).await;
    let result = &r.body["result"];
    assert_eq!(result["isError"], true);
    assert_eq!(result["structuredContent"]["status"], 429);
    assert_eq!(result["structuredContent"]["rate_limit"], json!({"limit": 25, "remaining": 0, "reset": 12}), "Retry-After wins for reset");
    assert_eq!(r.headers["ratelimit-limit"], "25");
    assert_eq!(r.headers["ratelimit-remaining"], "0");
    assert_eq!(r.headers["ratelimit-reset"], "12");
    assert_eq!(h.fake.requests().len(), 1, "a 429 is never retried");

    h.fake.push_fault(Fault {
        path_contains: None,
        kind: FaultKind::RateLimited { limit: 5, remaining: 1, reset_secs: 40, retry_after: None, style: RateLimitStyle::XRateLimit },
    });
    let result = h.call("list_all_gumloop_models", json!({})).await;
    let rl = &result["structuredContent"]["rate_limit"];
    assert_eq!((rl["limit"].as_u64(), rl["remaining"].as_u64()), (Some(5), Some(1)));
    assert!((38..=40).contains(&rl["reset"].as_u64().unwrap()), "epoch reset becomes delta-seconds: {rl}");
}

#[tokio::test]
async fn timeouts_and_invalid_json_say_which() {
    let h = start_with(Duration::from_millis(300)).await;
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Delay(Duration::from_secs(2)) });
    let result = h.call("list_all_gumloop_teams", json!({})).await;
    assert_eq!(result["isError"], true);
    assert!(text_of(&result).contains("did not answer within"), "{result}");

    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::InvalidJson });
    let result = h.call("list_all_gumloop_teams", json!({})).await;
    assert!(text_of(&result).contains("invalid JSON"), "{result}");
}

#[tokio::test]
async fn connection_refused_says_so() {
    let h = start().await;
    let port = h.fake.addr().port();
    drop(h);
    // A fresh server pointed at a port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = listener.local_addr().unwrap().port();
    drop(listener);
    assert_ne!(port, dead);
    let upstream = gumloop_mcp::UpstreamConfig {
        connect_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(2),
        ..gumloop_mcp::UpstreamConfig::new(format!("http://127.0.0.1:{dead}/api/v1"), format!("http://127.0.0.1:{dead}/ws/api/v1"))
    };
    let credential = gumloop_mcp::Credential { api_key: Some(gumloop_mcp::Secret::new("k-secret")), ..Default::default() };
    let server = gumloop_mcp::gumloop_server(upstream, credential).unwrap();
    let result = server.call("list_all_gumloop_teams", json!({}), None).await.unwrap();
    assert_eq!(result.is_error, Some(true));
    let text = serde_json::to_string(&result.content).unwrap();
    assert!(text.contains("could not connect to Gumloop"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{dead}")), "{text}");
    assert!(!text.contains("k-secret"), "the key never appears");
}

#[tokio::test]
async fn session_lifecycle_through_mcp() {
    let h = start().await;
    let created = h.call("create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "Summarise my week"})).await;
    assert_eq!(created["structuredContent"]["session"]["state"], "processing");
    let id = created["structuredContent"]["session"]["id"].as_str().unwrap().to_owned();
    let mut state = String::new();
    for _ in 0..5 {
        let r = h.call("get_single_gumloop_session_by_id", json!({"id": id})).await;
        state = r["structuredContent"]["session"]["state"].as_str().unwrap().to_owned();
        if state == "completed" {
            break;
        }
    }
    assert_eq!(state, "completed");
    let cancelled = h.call("delete_a_gumloop_session_by_id", json!({"id": id})).await;
    assert_eq!(cancelled["structuredContent"]["session"]["state"], "completed", "a finished session is unchanged");
}

#[tokio::test]
async fn skills_upload_as_multipart_and_binary_downloads_are_resources() {
    let h = start().await;
    let md = "---\nname: triage\ndescription: Sort tickets\n---\n# Triage\n";
    let result = h.call("create_a_gumloop_skill", json!({"skill_markdown": md})).await;
    assert_eq!(result["structuredContent"]["skill"]["name"], "triage", "{result}");
    let r = &h.fake.requests()[0];
    let RecordedBody::Multipart(parts) = &r.body else { panic!("not multipart: {:?}", r.body) };
    assert_eq!(parts[0].name, "files");
    assert_eq!(parts[0].filename.as_deref(), Some("SKILL.md"));
    assert_eq!(parts[0].bytes, md.as_bytes());

    let bad = h.call("create_a_gumloop_skill", json!({"skill_markdown": "no frontmatter"})).await;
    assert!(text_of(&bad).contains("`skill_markdown` has no frontmatter"), "{bad}");
    assert_eq!(h.fake.requests().len(), 1, "refused before upload");

    let zip = h.call("download_many_gumloop_files", json!({"file_names": ["a.txt"], "run_id": "run_seed"})).await;
    assert_eq!(zip["content"][1]["type"], "resource", "{zip}");
    assert_eq!(zip["content"][1]["resource"]["mimeType"], "application/zip");
}

#[tokio::test]
async fn without_a_key_calls_explain_and_never_reach_gumloop() {
    let h = Setup { credential: gumloop_mcp::Credential::default(), ..Setup::default() }.start().await;
    let listed = h.rpc("tools/list", json!({})).await;
    assert_eq!(listed.body["result"]["tools"].as_array().unwrap().len(), gumloop_mcp_generated::resources::ALL_TOOLS.len());
    let result = h.call("list_all_gumloop_flows", json!({})).await;
    assert_eq!(result["isError"], true);
    assert!(text_of(&result).contains("GUMLOOP_API_KEY"), "{result}");
    // Validation still comes first, so the model can fix its arguments meanwhile.
    let invalid = h.call("list_all_gumloop_flows", json!({"bogus": 1})).await;
    assert!(text_of(&invalid).contains("/bogus: unknown argument"), "{invalid}");
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn team_keys_send_team_id_once() {
    let credential = gumloop_mcp::Credential { api_key: Some(gumloop_mcp::Secret::new("test-key")), team_id: Some("team_1".into()), ..Default::default() };
    let fake = gumloop_testkit::FakeConfig { team_id: Some("team_1".into()), ..Default::default() };
    let h = Setup { credential, fake, ..Setup::default() }.start().await;
    let result = h.call("list_all_gumloop_models", json!({})).await;
    assert!(result.get("isError").is_none_or(|e| e == false), "{result}");
    let r = &h.fake.take_requests()[0];
    assert_eq!(r.query_value("team_id"), Some("team_1"));
    assert!(!r.headers.contains_key("x-auth-key"), "no user id, no x-auth-key");
    // A caller's own team_id is not doubled.
    h.call("list_all_gumloop_agents", json!({"team_id": "team_1"})).await;
    let r = &h.fake.take_requests()[0];
    assert_eq!(r.query.iter().filter(|(k, _)| k == "team_id").count(), 1, "{:?}", r.query);
}

#[tokio::test]
async fn lists_resources_prompts_and_answers_ping_and_discover() {
    let h = start().await;
    assert_eq!(h.rpc("resources/list", json!({})).await.body["result"]["resources"], json!([]));
    assert_eq!(h.rpc("prompts/list", json!({})).await.body["result"]["prompts"], json!([]));
    let discover = h.rpc("server/discover", json!({})).await;
    assert!(discover.body["result"]["capabilities"]["tools"].is_object(), "{}", discover.body);
    let legacy = h.legacy_session().await;
    let pong = legacy.rpc(1, "ping", json!({})).await;
    assert_eq!(pong.body["result"], json!({}), "{}", pong.body);
}

#[tokio::test]
async fn an_oversized_answer_is_a_tool_error_naming_its_size_and_the_cap() {
    let cap = 1024 * 1024;
    // The upstream cap, not the result budget (tests/budget.rs), is what this checks.
    let budget = gumloop_mcp::mcp::pipeline::budget::ResultBudget { max_bytes: usize::MAX, ..Default::default() };
    let h = Setup { max_response_bytes: cap, budget, ..Setup::default() }.start().await;
    // Declared up front: refused before any of it is read.
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::HugeBody { bytes: 200 * 1024 * 1024, declared: true } });
    let r = h.call("list_all_gumloop_flows", json!({})).await;
    assert_eq!(r["isError"], true, "{r}");
    let text = text_of(&r);
    assert!(text.contains("(209715200 bytes) is over the 1048576-byte limit on upstream answers (--max-response-bytes)"), "{text}");
    assert!(text.len() < 1000, "the error is short: {} bytes", text.len());
    // Streamed without a length: reading stops at the cap.
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::HugeBody { bytes: 8 * 1024 * 1024, declared: false } });
    let r = h.call("list_all_gumloop_flows", json!({})).await;
    assert_eq!(r["isError"], true, "{r}");
    assert!(text_of(&r).contains("(larger than that) is over the 1048576-byte limit"), "{}", text_of(&r));
    // Under the cap, a large answer passes.
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::HugeBody { bytes: 512 * 1024, declared: false } });
    let r = h.call("list_all_gumloop_flows", json!({})).await;
    assert!(r.get("isError").is_none_or(|e| e == false), "{}", text_of(&r));
    assert_eq!(r["structuredContent"]["items"][0].as_str().unwrap().len(), 512 * 1024 - 14);
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let h = start().await;
    let elsewhere = gumloop_testkit::FakeGumloop::start(gumloop_testkit::FakeConfig::default()).await.unwrap();
    let location = format!("{}/list_saved_items", elsewhere.api_base());
    for status in [301, 302, 307, 308] {
        h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Redirect { status, location: location.clone() } });
        let r = h.call("list_all_gumloop_flows", json!({})).await;
        assert_eq!(r["isError"], true, "{status}: {r}");
        let text = text_of(&r);
        assert!(text.contains(&format!("HTTP {status}, redirecting to another origin")), "{text}");
        assert!(text.contains("not followed, so the credentials were not sent there"), "{text}");
    }
    assert!(elsewhere.requests().is_empty(), "the other origin saw nothing, so no x-auth-key or key either");
    // Within the same origin the redirect is followed, credentials and all.
    h.fake.take_requests();
    let same = format!("{}/list_saved_items?user_id=user_test", h.fake.api_base());
    h.fake.push_fault(Fault { path_contains: None, kind: FaultKind::Redirect { status: 307, location: same } });
    let r = h.call("list_all_gumloop_flows", json!({})).await;
    assert!(r.get("isError").is_none_or(|e| e == false), "{}", text_of(&r));
    let reqs = h.fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].headers["x-auth-key"], "user_test");
}

#[tokio::test]
async fn a_huge_invalid_value_is_quoted_in_part() {
    let h = start().await;
    let huge = "x".repeat(6 * 1024 * 1024);
    let r = h.call("list_all_gumloop_sessions", json!({"agent_id": "agent_1", "page_size": huge.clone(), huge.clone(): 1})).await;
    assert_eq!(r["isError"], true);
    let text = text_of(&r);
    assert!(text.len() < 2000, "the error is {} bytes", text.len());
    assert!(text.contains("(a string of 6291456 characters) is not of type \"integer\""), "{}", &text[..text.len().min(2000)]);
    assert!(text.contains("… (6291456 characters in all)`"), "the unknown name is cut too: {text}");
    // A name that long cannot travel in the Mcp-Name header of a stateless request.
    let r = h.legacy_session().await.rpc(2, "tools/call", json!({"name": huge, "arguments": {}})).await;
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.len() < 1000 && message.contains("(6291456 characters in all)"), "{}", &message[..message.len().min(1000)]);
    assert!(h.fake.requests().is_empty());
}
