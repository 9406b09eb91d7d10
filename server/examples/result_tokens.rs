//! What the seed workflows' calls put before the model, in `o200k_base` tokens, without a
//! result budget and with the default one (`--max-result-bytes`), against the fake: the
//! text blocks and structuredContent of each result. Also the bytes per token of each
//! result, from which the default budget is chosen (BENCHMARKS.md, "Results that fit").
//!
//! `cargo run -p gumloop-mcp --example result_tokens`

use gumloop_mcp::mcp::pipeline::budget::ResultBudget;
use gumloop_mcp::{Credential, GumloopServer, Secret, UpstreamConfig};
use gumloop_testkit::tokens::o200k;
use gumloop_testkit::{FakeConfig, FakeGumloop};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

fn server(fake: &FakeGumloop, budget: ResultBudget) -> GumloopServer {
    let credential = Credential { api_key: Some(Secret::new("test-key")), user_id: Some("user_test".into()), ..Credential::default() };
    gumloop_mcp::gumloop_server(UpstreamConfig::new(fake.api_base(), fake.ws_base()), credential).unwrap().with_result_budget(budget)
}

/// The bytes and tokens of what the model reads of `r`: its text blocks and its
/// structuredContent.
fn measure(r: &CallToolResult) -> (usize, usize) {
    let mut text: Vec<String> = r.content.iter().filter_map(|b| b.as_text()).map(|t| t.text.clone()).collect();
    text.extend(r.structured_content.as_ref().map(Value::to_string));
    (text.iter().map(String::len).sum(), text.iter().map(|t| o200k(t)).sum())
}

#[tokio::main]
async fn main() {
    let audit = |max: u64| json!({"organization_id": "org_1", "user_id": "user_test", "start_time": "2026-11-29T12:00:00Z", "end_time": "2026-12-01T12:00:00Z", "max_items": max});
    let calls: Vec<(&str, usize, &str, Value)> = vec![
        ("audit logs, 48 h, max_items 1000 (120 entries)", 120, "list_all_gumloop_audit_logs", audit(1000)),
        ("audit logs, 48 h, max_items 1000 (1000 entries)", 1000, "list_all_gumloop_audit_logs", audit(1000)),
        ("audit logs, 48 h, max_items 1000 (5000 entries)", 5000, "list_all_gumloop_audit_logs", audit(1000)),
        ("list artifacts (.csv, max_items 100)", 120, "list_all_gumloop_artifacts", json!({"agent_id": "agent_1", "search_query": ".csv", "max_items": 100})),
        ("list flows", 120, "list_all_gumloop_flows", json!({})),
        ("list sessions (max_items 100)", 120, "list_all_gumloop_sessions", json!({"agent_id": "agent_1", "max_items": 100})),
        ("get session ses_998", 120, "get_single_gumloop_session_by_id", json!({"id": "ses_998"})),
        ("get an agent with a 60,000-character prompt", 120, "get_single_gumloop_agent_by_id", json!({"id": "agent_big"})),
    ];
    let default = ResultBudget::default();
    println!("budget: {} bytes\n", default.max_bytes);
    println!("| call | before: bytes | before: tokens | bytes/token | after: bytes | after: tokens | after |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
    for (label, entries, tool, args) in calls {
        let fake = FakeGumloop::start(FakeConfig { audit_logs: entries, ..FakeConfig::default() }).await.unwrap();
        let big = json!({"agent_id": "agent_big", "name": "big", "model_name": "gpt-5", "system_prompt": "Answer in the customer's language. ".repeat(1_700)});
        server(&fake, default).call("create_a_gumloop_agent", big, None).await.unwrap();
        let before = server(&fake, ResultBudget { max_bytes: usize::MAX, ..default }).call(tool, args.clone(), None).await.unwrap();
        let after = server(&fake, default).call(tool, args, None).await.unwrap();
        let ((bb, bt), (ab, at)) = (measure(&before), measure(&after));
        let how = match after.meta.as_ref().and_then(|m| m.0.get(gumloop_mcp::mcp::pipeline::budget::META_KEY)) {
            Some(a) if a.get("items").is_some() => format!("cut: {} of {} items, continue with {}", a["items"], a["items_read"], a["continue_with"]),
            Some(_) => "summary + resource link".to_owned(),
            None => "unchanged".to_owned(),
        };
        println!("| {label} | {bb} | {bt} | {:.2} | {ab} | {at} | {how} |", bb as f64 / bt.max(1) as f64);
    }
}
