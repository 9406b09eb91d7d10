//! Elicitation at the two moments a person decides, against the fake Gumloop: a flow run
//! missing inputs asks for exactly those (2026-07-28 input-required rounds with a sealed
//! state, 2025-11-25 `elicitation/create` in a session), and a managed server with
//! `confirm_destructive` asks before a destructive call. Every refusal sends nothing.

mod common;

use std::time::Duration;

use common::{Reply, rpc_at, start, start_managed, text_of};
use gumloop_mcp::http::HttpConfig;
use gumloop_testkit::RecordedBody;
use serde_json::{Value, json};

const ELICIT: &str = r#"{"elicitation": {"form": {}}}"#;
const TASKS: &str = "io.modelcontextprotocol/tasks";

fn elicit() -> Value {
    serde_json::from_str(ELICIT).unwrap()
}

/// The runs the fake was asked to start, as their bodies.
fn starts(fake: &gumloop_testkit::FakeGumloop) -> Vec<Value> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/start_pipeline"))
        .map(|r| match r.body {
            RecordedBody::Json(b) => b,
            other => panic!("{other:?}"),
        })
        .collect()
}

fn sent(fake: &gumloop_testkit::FakeGumloop, suffix: &str) -> usize {
    fake.requests().iter().filter(|r| r.path.ends_with(suffix)).count()
}

const PRICING_RUN: &str = "create_a_gumloop_flow_run";

fn missing_run() -> Value {
    json!({"name": PRICING_RUN, "arguments": {"saved_item_id": "flow_pricing", "inputs": {}, "wait": true}})
}

/// The retry of `call` answering the input-required `asked` with `answer` for `key`.
fn retry(call: &Value, asked: &Reply, key: &str, answer: Value) -> Value {
    let mut next = call.clone();
    next["inputResponses"] = json!({ key: answer });
    next["requestState"] = asked.body["result"]["requestState"].clone();
    next
}

fn input_required(r: &Reply) -> &Value {
    assert_eq!(r.body["result"]["resultType"], "input_required", "{}", r.body);
    &r.body["result"]
}

#[tokio::test]
async fn a_run_missing_inputs_asks_for_exactly_those_then_runs_with_the_answers() {
    let h = start().await;
    let call = missing_run();
    let asked = h.rpc_with("tools/call", call.clone(), elicit()).await;
    let result = input_required(&asked);
    let request = &result["inputRequests"]["inputs"];
    assert_eq!(request["method"], "elicitation/create", "{result}");
    assert_eq!(request["params"]["mode"], "form", "{result}");
    assert!(request["params"]["message"].as_str().unwrap().contains("target_company"), "{result}");
    assert_eq!(
        request["params"]["requestedSchema"],
        json!({"type": "object", "required": ["target_company"],
            "properties": {"target_company": {"type": "string", "title": "target_company", "description": "The competitor to research"}}})
    );
    assert!(starts(&h.fake).is_empty(), "nothing starts before the answer");
    let done = h.rpc_with("tools/call", retry(&call, &asked, "inputs", json!({"action": "accept", "content": {"target_company": "Acme"}})), elicit()).await;
    assert_eq!(done.body["result"]["structuredContent"]["state"], "DONE", "{}", done.body);
    let sent = starts(&h.fake);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["saved_item_id"], "flow_pricing");
    assert_eq!(sent[0]["pipeline_inputs"], json!([{"input_name": "target_company", "value": "Acme"}]));
}

#[tokio::test]
async fn decline_and_cancel_send_nothing_and_say_so() {
    let h = start().await;
    let call = missing_run();
    for (action, says) in [("decline", "declined"), ("cancel", "cancelled")] {
        let asked = h.rpc_with("tools/call", call.clone(), elicit()).await;
        input_required(&asked);
        let r = h.rpc_with("tools/call", retry(&call, &asked, "inputs", json!({"action": action})), elicit()).await;
        let result = &r.body["result"];
        assert_eq!(result["isError"], true, "{result}");
        let text = text_of(result);
        assert!(text.contains(says) && text.contains("nothing was sent"), "{text}");
    }
    assert!(starts(&h.fake).is_empty());
}

#[tokio::test]
async fn a_wrong_answer_is_asked_again_once_with_the_problems_named() {
    let h = start().await;
    let call = missing_run();
    let asked = h.rpc_with("tools/call", call.clone(), elicit()).await;
    let wrong = json!({"action": "accept", "content": {"target_company": 42, "extra": "x"}});
    let again = h.rpc_with("tools/call", retry(&call, &asked, "inputs", wrong.clone()), elicit()).await;
    let message = input_required(&again)["inputRequests"]["inputs"]["params"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("/target_company: must be text (a string), got a number"), "{message}");
    assert!(message.contains("/extra: the flow has no input `extra`"), "{message}");
    assert!(starts(&h.fake).is_empty());
    // Right the second time: it runs.
    let done = h.rpc_with("tools/call", retry(&call, &again, "inputs", json!({"action": "accept", "content": {"target_company": "Acme"}})), elicit()).await;
    assert_eq!(done.body["result"]["structuredContent"]["state"], "DONE", "{}", done.body);
    assert_eq!(starts(&h.fake).len(), 1);
    // Wrong twice: refused, nothing sent.
    let asked = h.rpc_with("tools/call", call.clone(), elicit()).await;
    let again = h.rpc_with("tools/call", retry(&call, &asked, "inputs", wrong.clone()), elicit()).await;
    input_required(&again);
    let refused = h.rpc_with("tools/call", retry(&call, &again, "inputs", json!({"action": "accept", "content": {}})), elicit()).await;
    let text = text_of(&refused.body["result"]);
    assert_eq!(refused.body["result"]["isError"], true, "{}", refused.body);
    assert!(text.contains("still wrong after asking again") && text.contains("/target_company: missing"), "{text}");
    assert_eq!(starts(&h.fake).len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn without_the_capability_the_error_is_todays() {
    let h = start().await;
    let r = h.rpc("tools/call", missing_run()).await;
    let text = text_of(&r.body["result"]);
    assert!(text.starts_with("the inputs do not match flow `flow_pricing` (nothing was started)"), "{text}");
    assert!(text.contains("/inputs/target_company: missing (The competitor to research)"), "{text}");
    // Other mistakes are the model's to fix, not the person's: not asked.
    let typo = json!({"name": PRICING_RUN, "arguments": {"saved_item_id": "flow_pricing", "inputs": {"target_compny": "X"}}});
    let r = h.rpc_with("tools/call", typo, elicit()).await;
    assert!(text_of(&r.body["result"]).contains("did you mean `target_company`"), "{}", r.body);
    // A file input cannot be asked for in a form: today's error.
    let file = json!({"name": PRICING_RUN, "arguments": {"saved_item_id": "flow_1", "inputs": {"topic": "AI"}}});
    let r = h.rpc_with("tools/call", file, elicit()).await;
    assert!(text_of(&r.body["result"]).contains("/inputs/attachment: missing"), "{}", r.body);
    assert!(starts(&h.fake).is_empty());
}

#[tokio::test]
async fn a_forged_or_altered_request_state_is_refused() {
    let h = start().await;
    let call = missing_run();
    let asked = h.rpc_with("tools/call", call.clone(), elicit()).await;
    let accept = json!({"action": "accept", "content": {"target_company": "Acme"}});
    let good = retry(&call, &asked, "inputs", accept.clone());
    let mut forged = good.clone();
    forged["requestState"] = json!("rs1.forged.state");
    let mut flipped = good.clone();
    let state = good["requestState"].as_str().unwrap();
    // Not the last character: its low bits may be padding that decodes the same.
    let i = (state.len() / 2..state.len()).find(|&i| &state[i..=i] != ".").unwrap();
    let swapped = if &state[i..=i] == "A" { "B" } else { "A" };
    flipped["requestState"] = json!(format!("{}{swapped}{}", &state[..i], &state[i + 1..]));
    // The same state on other arguments (another flow's run, or the same with more).
    let mut moved = good.clone();
    moved["arguments"]["wait"] = json!(false);
    let mut bare = call.clone();
    bare["inputResponses"] = json!({"inputs": accept});
    for bad in [forged, flipped, moved, bare] {
        let r = h.rpc_with("tools/call", bad.clone(), elicit()).await;
        let text = text_of(&r.body["result"]);
        assert_eq!(r.body["result"]["isError"], true, "{bad}: {}", r.body);
        assert!(text.starts_with("refused the answer for the missing inputs of flow `flow_pricing`"), "{text}");
        assert!(text.contains("nothing was sent"), "{text}");
    }
    assert!(starts(&h.fake).is_empty());
    // The genuine retry still works.
    let done = h.rpc_with("tools/call", good, elicit()).await;
    assert_eq!(done.body["result"]["structuredContent"]["state"], "DONE", "{}", done.body);
}

/// A 2025-11-25 session that declared elicitation; its id.
async fn eliciting_session(client: &reqwest::Client, url: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": elicit(), "clientInfo": {"name": "test", "version": "1"}}});
    let resp = client.post(url).header("accept", "application/json, text/event-stream").json(&init).send().await.unwrap();
    let session = resp.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    resp.text().await.unwrap();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = client.post(url).header("accept", "application/json, text/event-stream").header("mcp-session-id", &session).json(&note).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    session
}

/// Calls a tool in a legacy session and answers each `elicitation/create` on the call's
/// stream with the next of `answers`; the questions asked and the call's result.
async fn legacy_call(client: &reqwest::Client, url: &str, session: &str, params: Value, answers: &[Value]) -> (Vec<Value>, Value) {
    let post = |body: Value| {
        client
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25")
            .json(&body)
    };
    let mut stream = post(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params})).send().await.unwrap();
    let (mut buf, mut asked) = (String::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let chunk =
            tokio::time::timeout_at(deadline, stream.chunk()).await.expect("the call answers in time").unwrap().expect("the stream ends with the result");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let Some(msg) = event.lines().filter_map(|l| l.strip_prefix("data:")).find_map(|d| serde_json::from_str::<Value>(d.trim()).ok()) else { continue };
            if msg["method"] == "elicitation/create" {
                let answer = answers.get(asked.len()).cloned().expect("no more questions than answers");
                asked.push(msg["params"].clone());
                let r = post(json!({"jsonrpc": "2.0", "id": msg["id"], "result": answer})).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 202);
            } else if msg["id"] == 7 {
                return (asked, msg["result"].clone());
            }
        }
    }
}

#[tokio::test]
async fn a_legacy_session_is_asked_with_elicitation_create() {
    let h = start().await;
    let session = eliciting_session(&h.client, &h.url).await;
    let params = missing_run();
    // Wrong, then right.
    let answers = [json!({"action": "accept", "content": {"target_company": 7}}), json!({"action": "accept", "content": {"target_company": "Acme"}})];
    let (asked, result) = legacy_call(&h.client, &h.url, &session, params.clone(), &answers).await;
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0]["requestedSchema"]["required"], json!(["target_company"]));
    assert!(asked[1]["message"].as_str().unwrap().contains("/target_company: must be text (a string), got a number"), "{asked:?}");
    assert_eq!(result["structuredContent"]["state"], "DONE", "{result}");
    assert_eq!(starts(&h.fake)[0]["pipeline_inputs"], json!([{"input_name": "target_company", "value": "Acme"}]));
    // Declined: nothing more starts.
    let (_, result) = legacy_call(&h.client, &h.url, &session, params.clone(), &[json!({"action": "decline"})]).await;
    assert!(text_of(&result).contains("declined"), "{result}");
    // Wrong twice: refused.
    let wrong = json!({"action": "accept", "content": {}});
    let (asked, result) = legacy_call(&h.client, &h.url, &session, params, &[wrong.clone(), wrong]).await;
    assert_eq!(asked.len(), 2);
    assert!(text_of(&result).contains("still wrong"), "{result}");
    assert_eq!(starts(&h.fake).len(), 1);
}

async fn managed(config: Value) -> (common::ManagedHarness, String) {
    let h = start_managed(HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }).await;
    let url = h.server(config).await;
    (h, url)
}

fn cancel_session() -> Value {
    json!({"name": "delete_a_gumloop_session_by_id", "arguments": {"id": "ses_998"}})
}

#[tokio::test]
async fn confirm_destructive_asks_naming_the_tool_and_its_target() {
    let (h, url) = managed(json!({"confirm_destructive": true})).await;
    let call = cancel_session();
    let asked = rpc_at(&h.client, &url, "tools/call", call.clone(), elicit()).await;
    let params = &input_required(&asked)["inputRequests"]["confirm"]["params"];
    assert!(params["message"].as_str().unwrap().contains("Cancel session on id ses_998"), "{params}");
    assert_eq!(params["requestedSchema"]["properties"]["confirm"]["type"], "boolean", "{params}");
    assert_eq!(sent(&h.fake, "/cancel"), 0);
    for answer in [json!({"action": "decline"}), json!({"action": "cancel"}), json!({"action": "accept", "content": {"confirm": false}})] {
        let asked = rpc_at(&h.client, &url, "tools/call", call.clone(), elicit()).await;
        let r = rpc_at(&h.client, &url, "tools/call", retry(&call, &asked, "confirm", answer.clone()), elicit()).await;
        assert_eq!(r.body["result"]["isError"], true, "{answer}: {}", r.body);
        assert!(text_of(&r.body["result"]).contains("nothing was sent"), "{}", r.body);
    }
    assert_eq!(sent(&h.fake, "/cancel"), 0, "declines send nothing");
    let yes = rpc_at(&h.client, &url, "tools/call", retry(&call, &asked, "confirm", json!({"action": "accept", "content": {"confirm": true}})), elicit()).await;
    assert_eq!(yes.body["result"]["structuredContent"]["session"]["state"], "failed", "{}", yes.body);
    assert_eq!(sent(&h.fake, "/sessions/ses_998/cancel"), 1);
    // Read-only tools are not asked about.
    let read = rpc_at(&h.client, &url, "tools/call", json!({"name": "get_single_gumloop_session_by_id", "arguments": {"id": "ses_998"}}), elicit()).await;
    assert!(read.body["result"]["structuredContent"].is_object(), "{}", read.body);
}

#[tokio::test]
async fn confirm_destructive_refuses_a_client_that_cannot_be_asked() {
    let (h, url) = managed(json!({"confirm_destructive": true})).await;
    let r = rpc_at(&h.client, &url, "tools/call", cancel_session(), json!({})).await;
    let text = text_of(&r.body["result"]);
    assert_eq!(r.body["result"]["isError"], true, "{}", r.body);
    assert!(text.contains("needs the person's confirmation") && text.contains("elicitation") && text.contains("turn confirm_destructive off"), "{text}");
    assert_eq!(sent(&h.fake, "/cancel"), 0);
    // Off (the default): no question.
    let off = h.server(json!({})).await;
    let r = rpc_at(&h.client, &off, "tools/call", cancel_session(), elicit()).await;
    assert!(r.body["result"]["structuredContent"].is_object(), "{}", r.body);
    assert_eq!(sent(&h.fake, "/cancel"), 1);
}

#[tokio::test]
async fn a_task_augmented_destructive_call_is_confirmed_before_anything() {
    let (h, url) = managed(json!({"confirm_destructive": true})).await;
    let both = json!({"elicitation": {"form": {}}, "extensions": {TASKS: {}}});
    let call = cancel_session();
    let asked = rpc_at(&h.client, &url, "tools/call", call.clone(), both.clone()).await;
    input_required(&asked);
    let yes = rpc_at(&h.client, &url, "tools/call", retry(&call, &asked, "confirm", json!({"action": "accept", "content": {"confirm": true}})), both).await;
    // Not long-running: answered inline, once confirmed.
    assert!(yes.body["result"]["structuredContent"].is_object(), "{}", yes.body);
    let tasks_only = rpc_at(&h.client, &url, "tools/call", call, json!({"extensions": {TASKS: {}}})).await;
    assert!(text_of(&tasks_only.body["result"]).contains("needs the person's confirmation"), "{}", tasks_only.body);
    assert_eq!(sent(&h.fake, "/cancel"), 1);
}

#[tokio::test]
async fn a_flow_tool_missing_inputs_asks_too() {
    let (h, url) = managed(json!({"flow_tools": true})).await;
    let list = rpc_at(&h.client, &url, "tools/list", json!({}), json!({})).await;
    let name = "run_gumloop_flow_competitor_pricing_scraper";
    assert!(list.body["result"]["tools"].as_array().unwrap().iter().any(|t| t["name"] == name), "{}", list.body);
    let call = json!({"name": name, "arguments": {"wait": true}});
    // No capability: today's per-flow message.
    let r = rpc_at(&h.client, &url, "tools/call", call.clone(), json!({})).await;
    assert!(
        text_of(&r.body["result"]).starts_with(&format!("invalid arguments for `{name}` (nothing was sent to Gumloop):\n- /target_company: missing")),
        "{}",
        r.body
    );
    let asked = rpc_at(&h.client, &url, "tools/call", call.clone(), elicit()).await;
    assert_eq!(input_required(&asked)["inputRequests"]["inputs"]["params"]["requestedSchema"]["required"], json!(["target_company"]));
    let done =
        rpc_at(&h.client, &url, "tools/call", retry(&call, &asked, "inputs", json!({"action": "accept", "content": {"target_company": "Acme"}})), elicit())
            .await;
    assert_eq!(done.body["result"]["structuredContent"]["state"], "DONE", "{}", done.body);
    assert_eq!(starts(&h.fake).len(), 1);
    assert_eq!(starts(&h.fake)[0]["pipeline_inputs"], json!([{"input_name": "target_company", "value": "Acme"}]));
}

#[tokio::test]
async fn the_admin_api_takes_and_returns_confirm_destructive() {
    let (h, _) = managed(json!({"confirm_destructive": true})).await;
    let r = common::admin(&h.client, &h.base, &h.admin_token, "GET", &format!("/integrated-account/{}/mcp", h.account), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let text = r.body.to_string();
    assert!(text.contains("\"confirm_destructive\":true"), "{text}");
    let bad = common::admin(
        &h.client,
        &h.base,
        &h.admin_token,
        "POST",
        &format!("/integrated-account/{}/mcp", h.account),
        Some(json!({"name": "s", "config": {"confirm_destructive": "yes"}})),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}
