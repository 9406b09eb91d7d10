//! Saved flows' dynamic inputs against the fake Gumloop: the inputs as a JSON Schema,
//! runs with named inputs checked before anything starts, the wire form, the cache.

mod common;

use common::{start, text_of};
use gumloop_testkit::RecordedBody;
use serde_json::json;

fn count(h: &common::Harness, path: &str) -> usize {
    h.fake.requests().iter().filter(|r| r.path.ends_with(path)).count()
}

#[tokio::test]
async fn a_flow_shows_its_inputs_as_a_schema() {
    let h = start().await;
    let r = h.call("get_single_gumloop_automation_by_id", json!({"id": "flow_pricing"})).await;
    let s = &r["structuredContent"];
    assert_eq!(s["inputs"][0]["name"], "target_company", "the raw record stays: {r}");
    assert_eq!(
        s["inputs_schema"],
        json!({"type": "object", "properties": {"target_company": {"type": "string", "description": "The competitor to research"}},
            "required": ["target_company"], "additionalProperties": false})
    );
    let other = h.call("get_single_gumloop_automation_by_id", json!({"id": "flow_1"})).await;
    let file = &other["structuredContent"]["inputs_schema"]["properties"]["attachment"];
    assert!(file["description"].as_str().unwrap().contains("create_a_gumloop_file"), "file inputs are explained: {file}");
}

#[tokio::test]
async fn a_run_with_named_inputs_is_checked_then_sent_in_wire_form() {
    let h = start().await;
    let r = h.call("create_a_gumloop_flow_run", json!({"saved_item_id": "flow_pricing", "inputs": {"target_company": "Competitor X"}, "wait": true})).await;
    assert_eq!(r["structuredContent"]["state"], "DONE", "{r}");
    let start = h.fake.requests().into_iter().find(|r| r.path.ends_with("/start_pipeline")).unwrap();
    let RecordedBody::Json(body) = &start.body else { panic!("{:?}", start.body) };
    assert_eq!(body["pipeline_inputs"], json!([{"input_name": "target_company", "value": "Competitor X"}]));
    assert!(body.get("inputs").is_none(), "{body}");
    assert_eq!(count(&h, "/get_inputs"), 1);
    // The second run uses the cached inputs.
    h.call("create_a_gumloop_flow_run", json!({"saved_item_id": "flow_pricing", "inputs": {"target_company": "Competitor Y"}})).await;
    assert_eq!(count(&h, "/get_inputs"), 1, "cached per account and flow");
    assert_eq!(count(&h, "/start_pipeline"), 2);
}

#[tokio::test]
async fn bad_inputs_are_all_named_and_nothing_starts() {
    let h = start().await;
    let r = h.call("create_a_gumloop_flow_run", json!({"saved_item_id": "flow_1", "inputs": {"topc": "AI", "wait": true}})).await;
    assert_eq!(r["isError"], true);
    let text = text_of(&r);
    assert!(text.starts_with("the inputs do not match flow `flow_1` (nothing was started)"), "{text}");
    assert!(text.contains("/inputs/topc: the flow has no input `topc`; did you mean `topic`?"), "{text}");
    assert!(text.contains("/inputs/wait: `wait` is an argument of create_a_gumloop_flow_run, not a flow input"), "{text}");
    assert!(text.contains("/inputs/topic: missing (What to write about)"), "{text}");
    assert!(text.contains("/inputs/attachment: missing (A file input"), "{text}");
    let typed = h.call("create_a_gumloop_flow_run", json!({"saved_item_id": "flow_pricing", "inputs": {"target_company": 42}})).await;
    assert!(text_of(&typed).contains("/inputs/target_company: must be text (a string), got a number"), "{typed}");
    let both = h.call("create_a_gumloop_flow_run", json!({"saved_item_id": "flow_pricing", "inputs": {"target_company": "X"}, "pipeline_inputs": []})).await;
    assert!(text_of(&both).contains("not both"), "{both}");
    let unknown = h.call("create_a_gumloop_flow_run", json!({"saved_item_id": "flow_nope", "inputs": {}})).await;
    assert_eq!(unknown["structuredContent"]["status"], 404, "{unknown}");
    assert_eq!(count(&h, "/start_pipeline"), 0, "the fake saw no start_pipeline");
}
