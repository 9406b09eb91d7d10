//! What a model pays for the tool list, counted in `o200k_base` tokens on the `tools`
//! array tools/list serves on `/mcp`: the median tool stays within budget, and trimming
//! descriptions never drops the guidance a model needs to call tools in the right order
//! (the figures: `cargo xtask tokens`).

mod common;

use gumloop_testkit::tokens::tools::Summary;
use serde_json::{Value, json};

/// The most tokens the median served tool may cost (issue 14: it was about 266).
const MEDIAN_BUDGET: usize = 250;

/// The guidance each tool must keep, as phrases its served text contains (its description
/// or a description inside its schemas): the tools it says to call first or next, and the
/// states of long-running work and what to do in them. Reword freely; keep these.
const GUIDANCE: &[(&str, &[&str])] = &[
    ("create_a_gumloop_agent", &["list_all_gumloop_models", "create_a_gumloop_session"]),
    ("create_a_gumloop_agent_run", &["create_a_gumloop_session", "get_single_gumloop_agent_run_by_id", "COMPLETED", "FAILED", "wait: true", "interaction_id"]),
    ("create_a_gumloop_chat_completion", &["list_all_gumloop_models"]),
    ("create_a_gumloop_data_export", &["get_single_gumloop_data_export_by_id", "COMPLETED", "FAILED", "wait: true"]),
    ("create_a_gumloop_file", &["create_a_gumloop_flow_run", "file_name"]),
    (
        "create_a_gumloop_flow_run",
        &[
            "get_single_gumloop_automation_by_id",
            "first",
            "get_single_gumloop_flow_run_by_id",
            "DONE",
            "FAILED",
            "TERMINATED",
            "wait: true",
            "create_a_gumloop_file",
        ],
    ),
    ("create_a_gumloop_mcp_tool_call", &["list_gumloop_mcp_server_tools"]),
    (
        "create_a_gumloop_session",
        &["get_single_gumloop_session_by_id", "queued", "processing", "completed", "failed", "send_gumloop_session_message", "wait: true"],
    ),
    ("create_a_gumloop_skill", &["manage_gumloop_agent_skills"]),
    ("delete_a_gumloop_agent_trigger_by_id", &["list_all_gumloop_agent_triggers"]),
    ("delete_a_gumloop_flow_run_by_id", &["get_single_gumloop_flow_run_by_id", "TERMINATED"]),
    ("delete_a_gumloop_session_by_id", &["processing", "queued", "failed"]),
    ("delete_a_gumloop_skill_by_id", &["list_all_gumloop_skills", "manage_gumloop_agent_skills"]),
    ("download_gumloop_file", &["create_a_gumloop_flow_run", "saved_item_id"]),
    ("get_single_gumloop_agent_evaluation_by_id", &["list_all_gumloop_agent_evaluations"]),
    ("get_single_gumloop_agent_run_by_id", &["ASYNC_PROCESSING", "COMPLETED", "FAILED", "error_message"]),
    ("get_single_gumloop_agent_version_by_id", &["get_single_gumloop_agent_by_id"]),
    ("get_single_gumloop_automation_by_id", &["before create_a_gumloop_flow_run", "list_all_gumloop_flows"]),
    ("get_single_gumloop_data_export_by_id", &["IN_PROGRESS", "COMPLETED", "FAILED"]),
    ("get_single_gumloop_flow_run_by_id", &["create_a_gumloop_flow_run", "RUNNING", "DONE", "FAILED", "TERMINATED"]),
    ("get_single_gumloop_mcp_server_by_id", &["list_gumloop_mcp_server_tools"]),
    ("get_single_gumloop_session_by_id", &["create_a_gumloop_session", "send_gumloop_session_message", "queued", "processing", "completed", "failed"]),
    ("list_all_gumloop_agents", &["create_a_gumloop_session"]),
    ("list_all_gumloop_artifacts", &["get_single_gumloop_artifact_by_id"]),
    ("list_all_gumloop_audit_logs", &["total_pages"]),
    ("list_all_gumloop_flows", &["saved_item_id", "get_single_gumloop_automation_by_id", "create_a_gumloop_flow_run"]),
    ("list_all_gumloop_mcp_servers", &["list_gumloop_mcp_server_tools", "create_a_gumloop_mcp_tool_call"]),
    ("list_all_gumloop_models", &["create_a_gumloop_agent", "create_a_gumloop_chat_completion"]),
    ("list_all_gumloop_sessions", &["get_single_gumloop_session_by_id"]),
    ("list_all_gumloop_skills", &["manage_gumloop_agent_skills"]),
    ("list_all_gumloop_teams", &["list_all_gumloop_agents"]),
    ("list_all_gumloop_workbooks", &["list_gumloop_flow_run_history"]),
    ("list_gumloop_mcp_server_tools", &["create_a_gumloop_mcp_tool_call"]),
    ("manage_gumloop_agent_skills", &["list_all_gumloop_skills"]),
    ("send_gumloop_session_message", &["idle", "completed", "failed", "409", "get_single_gumloop_session_by_id", "wait: true"]),
    ("update_a_gumloop_agent_by_id", &["get_single_gumloop_agent_by_id first", "manage_gumloop_agent_skills"]),
    ("update_a_gumloop_agent_evaluation_config_by_id", &["get_single_gumloop_agent_evaluation_config_by_id first"]),
    ("update_a_gumloop_agent_mcp_server_by_id", &["list_all_gumloop_mcp_servers"]),
    ("update_a_gumloop_skill_by_id", &["new version"]),
];

async fn served_tools() -> Vec<Value> {
    let mut h = common::start().await;
    let r = h.rpc("tools/list", json!({})).await;
    h.shutdown().await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["result"]["tools"].as_array().unwrap_or_else(|| panic!("no tools: {}", r.body)).clone()
}

/// Every description in `v` (the tool's own and those inside its schemas), joined.
fn descriptions(v: &Value, out: &mut String) {
    match v {
        Value::Object(o) => o.iter().for_each(|(k, v)| match (k.as_str(), v) {
            ("description", Value::String(s)) => {
                out.push_str(s);
                out.push('\n');
            }
            _ => descriptions(v, out),
        }),
        Value::Array(a) => a.iter().for_each(|v| descriptions(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_median_served_tool_is_within_budget() {
    let tools = served_tools().await;
    let s = Summary::of(&tools);
    assert!(s.count > 40, "the whole catalogue is served: {}", s.line());
    assert!(s.median <= MEDIAN_BUDGET, "median tool {} tokens > {MEDIAN_BUDGET} ({}); the most expensive: {:?}", s.median, s.line(), &s.tools[..5]);
}

#[tokio::test]
async fn every_tool_keeps_its_call_order_and_state_guidance() {
    let tools = served_tools().await;
    let mut missing = Vec::new();
    for (name, phrases) in GUIDANCE {
        let Some(tool) = tools.iter().find(|t| t["name"] == *name) else {
            missing.push(format!("{name}: not served"));
            continue;
        };
        let mut text = String::new();
        descriptions(tool, &mut text);
        missing.extend(phrases.iter().filter(|p| !text.contains(*p)).map(|p| format!("{name}: lost {p:?}")));
    }
    assert!(missing.is_empty(), "guidance a model needs was dropped:\n{}", missing.join("\n"));
}

#[test]
fn the_guidance_check_finds_schema_descriptions_and_misses_names() {
    let tool = json!({"name": "a_tool", "description": "Call b first.", "inputSchema": {"properties": {"x": {"description": "From c."}}}});
    let mut text = String::new();
    descriptions(&tool, &mut text);
    assert!(text.contains("Call b first.") && text.contains("From c."));
    assert!(!text.contains("a_tool"), "a tool's own name is not guidance");
}
