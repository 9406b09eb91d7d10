//! `fields`: every JSON tool takes the result fields to keep, as dotted paths checked
//! against its output schema before anything is sent; the projected record still matches
//! the served output schema, for plain calls, walked lists, waits and tasks.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Harness, start, text_of};
use serde_json::{Value, json};

const AUDIT: &str = "list_all_gumloop_audit_logs";

/// 48 hours of audit logs, every page.
fn audit_args(fields: Option<Value>) -> Value {
    let mut args = json!({"organization_id": "org_1", "start_time": "2026-11-20T00:00:00Z", "end_time": "2026-11-22T00:00:00Z", "max_items": 1000});
    if let Some(f) = fields {
        args["fields"] = f;
    }
    args
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

/// The JSON copy of the structured result in the text blocks (the one that parses).
fn json_copy(result: &Value) -> Value {
    result["content"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).find_map(|t| serde_json::from_str(t).ok()).expect("a JSON copy")
}

async fn tools(h: &Harness) -> Vec<Value> {
    let r = h.rpc("tools/list", json!({})).await;
    r.body["result"]["tools"].as_array().unwrap().clone()
}

fn output_validator(tools: &[Value], name: &str) -> jsonschema::Validator {
    let tool = tools.iter().find(|t| t["name"] == name).unwrap();
    jsonschema::validator_for(&tool["outputSchema"]).unwrap()
}

#[tokio::test]
async fn a_walked_list_keeps_only_the_fields_asked_for_in_every_item() {
    let h = start().await;
    let r = h.call(AUDIT, audit_args(Some(json!(["audit_logs.event_type", "audit_logs.timestamp"])))).await;
    assert_ne!(r["isError"], true, "{r}");
    let s = &r["structuredContent"];
    // The walk's summary is the server's own, and stays.
    assert_eq!(keys(s), set(&["audit_logs", "walk"]), "{s}");
    assert_eq!(s["walk"]["complete"], true);
    let items = s["audit_logs"].as_array().unwrap();
    assert_eq!(items.len(), 120, "every page was walked");
    for item in items {
        assert_eq!(keys(item), set(&["event_type", "timestamp"]), "{item}");
    }
    // The text copy is the projected record too.
    assert_eq!(&json_copy(&r), s);
    // Three pages read, and `fields` never went upstream.
    let sent = h.fake.take_requests();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|q| q.query_value("fields").is_none()), "{:?}", sent.iter().map(|q| &q.path).collect::<Vec<_>>());

    // Without `fields`, the same call keeps everything.
    let whole = h.call(AUDIT, audit_args(None)).await;
    let s = &whole["structuredContent"];
    assert!(keys(s).is_superset(&set(&["audit_logs", "total_count", "walk"])), "{s}");
    assert!(keys(&s["audit_logs"][0]).len() > 2, "{s}");
}

#[tokio::test]
async fn nested_paths_keep_their_ancestors_and_a_whole_field_stays_whole() {
    let h = start().await;
    let r = h.call("list_all_gumloop_workbooks", json!({"fields": ["workbooks.saved_items.name", "workbooks.workbook_id"]})).await;
    let s = &r["structuredContent"];
    assert_eq!(keys(s), set(&["workbooks"]), "{s}");
    let wb = &s["workbooks"][0];
    assert_eq!(keys(wb), set(&["saved_items", "workbook_id"]), "{wb}");
    let flows = wb["saved_items"].as_array().unwrap();
    assert!(!flows.is_empty());
    for f in flows {
        assert_eq!(keys(f), set(&["name"]), "{f}");
    }
    // A parent named beside one of its fields keeps all of it.
    let whole = h.call("list_all_gumloop_workbooks", json!({"fields": ["workbooks.saved_items.name", "workbooks.saved_items"]})).await;
    let items = &whole["structuredContent"]["workbooks"][0]["saved_items"][0];
    assert!(keys(items).len() > 1, "{items}");
}

#[tokio::test]
async fn bad_paths_and_malformed_entries_are_named_together_and_nothing_is_sent() {
    let h = start().await;
    let mut args =
        audit_args(Some(json!(["audit_logs.event_type", "audit_logs.usr_id", "audit_logs..timestamp", "", "audit_logs.details.ip", "nothing_here"])));
    args["page_size"] = json!(0);
    let r = h.call(AUDIT, args).await;
    assert_eq!(r["isError"], true, "{r}");
    let text = text_of(&r);
    assert!(text.starts_with(&format!("invalid arguments for `{AUDIT}` (nothing was sent to Gumloop):")), "{text}");
    for line in [
        "/page_size: 0 is less than the minimum of 1",
        "/fields/1: `audit_logs.usr_id` names nothing in the result; did you mean `audit_logs.user_id`?",
        "/fields/2: `audit_logs..timestamp` has an empty segment; join field names with single `.`",
        "/fields/3: an empty path; name a field, e.g. `audit_logs.",
        "/fields/4: `audit_logs.details.ip` names nothing in the result: `audit_logs.details` declares no fields of its own; ask for `audit_logs.details` whole",
        "/fields/5: `nothing_here` names nothing in the result; the result has audit_logs, page, page_size, total_count, total_pages",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("/fields/0"), "a good entry is not a problem: {text}");

    // An empty list, and entries that are not strings.
    let empty = h.call(AUDIT, audit_args(Some(json!([])))).await;
    assert!(text_of(&empty).contains("/fields: an empty list keeps nothing"), "{}", text_of(&empty));
    let typed = h.call(AUDIT, audit_args(Some(json!(["audit_logs", 3])))).await;
    assert!(text_of(&typed).contains("/fields/1: 3 is not of type \"string\""), "{}", text_of(&typed));
    let too_many: Vec<&str> = vec!["page"; 65];
    let many = h.call(AUDIT, audit_args(Some(json!(too_many)))).await;
    assert!(text_of(&many).contains("/fields: 65 paths; at most 64"), "{}", text_of(&many));
    assert!(h.fake.requests().is_empty(), "nothing reached Gumloop: {:?}", h.fake.requests().iter().map(|r| &r.path).collect::<Vec<_>>());
}

#[tokio::test]
async fn projected_results_validate_against_the_served_output_schema() {
    let h = start().await;
    let tools = tools(&h).await;
    // Every tool whose output schema declares fields takes `fields`, and nothing in that
    // schema is required (a projected record lacks fields).
    for t in &tools {
        let out = t.get("outputSchema").filter(|o| o.get("properties").is_some_and(|p| p.as_object().is_some_and(|p| !p.is_empty())));
        let takes = t["inputSchema"]["properties"].get("fields").is_some();
        assert_eq!(out.is_some(), takes, "{}", t["name"]);
        if let Some(out) = out {
            assert!(!out.to_string().contains("\"required\""), "{}: {out}", t["name"]);
        }
    }
    let calls = [
        (AUDIT, audit_args(Some(json!(["audit_logs.event_type", "page"])))),
        ("list_all_gumloop_workbooks", json!({"fields": ["workbooks.saved_items.name"]})),
        ("list_all_gumloop_artifacts", json!({"agent_id": "agent_1", "max_items": 5, "fields": ["artifacts.id", "artifacts.creator.email"]})),
        ("list_all_gumloop_flows", json!({"fields": ["saved_items.saved_item_id"]})),
        ("get_single_gumloop_automation_by_id", json!({"id": "flow_1", "fields": ["inputs.name"]})),
    ];
    for (tool, args) in calls {
        let r = h.call(tool, args).await;
        assert_ne!(r["isError"], true, "{tool}: {r}");
        let s = &r["structuredContent"];
        let v = output_validator(&tools, tool);
        let errors: Vec<String> = v.iter_errors(s).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{tool}: {errors:?} for {s}");
    }
    // A flow's inputs schema is the server's own addition to the record, and stays.
    let r = h.call("get_single_gumloop_automation_by_id", json!({"id": "flow_1", "fields": ["inputs.name"]})).await;
    assert_eq!(keys(&r["structuredContent"]), set(&["inputs", "inputs_schema"]), "{r}");
}

#[tokio::test]
async fn tools_without_json_output_take_no_fields() {
    let h = start().await;
    let tools = tools(&h).await;
    let download = tools.iter().find(|t| t["name"] == "download_gumloop_file").unwrap();
    assert!(download.get("outputSchema").is_none());
    assert!(download["inputSchema"]["properties"].get("fields").is_none(), "{download}");
    let r = h.call("download_gumloop_file", json!({"file_name": "a.txt", "run_id": "run_1", "fields": ["x"]})).await;
    assert!(text_of(&r).contains("/fields: unknown argument `fields`"), "{}", text_of(&r));
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn a_waited_run_keeps_the_status_fields_asked_for() {
    let h = start().await;
    // A wait merges the status tool's record in, so its fields can be named too.
    let args = json!({"saved_item_id": "flow_pricing", "inputs": {"target_company": "Acme"}, "wait": true, "fields": ["state", "outputs"]});
    let r = h.call("create_a_gumloop_flow_run", args).await;
    let s = &r["structuredContent"];
    assert_eq!(keys(s), set(&["outputs", "state", "wait"]), "{r}");
    assert_eq!(s["state"], "DONE");
    assert_eq!(s["wait"]["finished"], true);
}

#[tokio::test]
async fn a_task_settles_with_the_projected_record() {
    let h = start().await;
    let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let args = json!({"agent_id": "agent_1", "input": "hello", "fields": ["session.state"]});
    let created = h.rpc_with("tools/call", json!({"name": "create_a_gumloop_session", "arguments": args}), tasks.clone()).await;
    let task = created.body["result"]["taskId"].as_str().unwrap_or_else(|| panic!("{}", created.body)).to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let done = loop {
        let t = h.rpc_with("tasks/get", json!({"taskId": task}), tasks.clone()).await.body["result"].clone();
        if t["status"] != "working" {
            break t;
        }
        assert!(Instant::now() < deadline, "{t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let s = &done["result"]["structuredContent"];
    assert_eq!(keys(s), set(&["session", "wait"]), "{done}");
    assert_eq!(keys(&s["session"]), set(&["state"]), "{done}");
    assert_eq!(s["session"]["state"], "completed");
}

/// The figures in BENCHMARKS.md ("Results kept to the fields asked for"): the seed
/// workflows' list calls with and without a projection, in o200k_base tokens of the whole
/// result (structuredContent and its text copy), and what `fields` adds to tools/list.
/// `cargo test -p gumloop-mcp --test projection tokens -- --nocapture`
#[tokio::test]
async fn tokens_of_the_seed_workflows_list_calls_with_and_without_fields() {
    use gumloop_testkit::tokens::o200k_json;
    let h = start().await;
    let calls = [
        ("audit logs, 48 h, max_items 1000", AUDIT, audit_args(None), json!(["audit_logs.timestamp", "audit_logs.event_type", "audit_logs.user_id"])),
        (
            "artifacts of an agent",
            "list_all_gumloop_artifacts",
            json!({"agent_id": "agent_1", "max_items": 100}),
            json!(["artifacts.id", "artifacts.filename"]),
        ),
        ("flows", "list_all_gumloop_flows", json!({}), json!(["saved_items.saved_item_id", "saved_items.name"])),
    ];
    println!("| call | fields | tokens without | tokens with | saved |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for (label, tool, args, fields) in calls {
        let whole = o200k_json(&h.call(tool, args.clone()).await);
        let mut projected_args = args;
        projected_args["fields"] = fields.clone();
        let projected = h.call(tool, projected_args).await;
        assert_ne!(projected["isError"], true, "{projected}");
        let projected = o200k_json(&projected);
        assert!(projected < whole, "{label}: {projected} >= {whole}");
        println!("| {label} | `{fields}` | {whole} | {projected} | {:.0}% |", 100.0 * (whole - projected) as f64 / whole as f64);
    }
    // What the argument costs every conversation turn.
    let tools = tools(&h).await;
    let with: usize = tools.iter().map(o200k_json).sum();
    let without: usize = tools
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t["inputSchema"]["properties"].as_object_mut().unwrap().remove("fields");
            o200k_json(&t)
        })
        .sum();
    let taking = tools.iter().filter(|t| t["inputSchema"]["properties"].get("fields").is_some()).count();
    let each = (with - without) / taking;
    println!("tools/list: {with} tokens, {} of them `fields` on {taking} tools ({each} a tool)", with - without);
    assert!(each <= 40, "keep the argument short: {each} tokens a tool");
}
