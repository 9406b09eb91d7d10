//! Saved flows and their runs (legacy endpoints): list flows and workbooks, read a flow's
//! inputs, start, poll and kill a run, and a flow's run history.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::input::{Q, S, field, json_body, owner};
use super::reply::ok;
use crate::data::{self, Polled};
use crate::envelope::legacy;

pub async fn list_saved_items(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    ok(json!({"saved_items": s.store.lock().unwrap().flows}))
}

pub async fn get_inputs(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let Some(id) = q.get("saved_item_id") else { return legacy(400, "saved_item_id is required") };
    let st = s.store.lock().unwrap();
    if !st.flows.iter().any(|f| f["saved_item_id"] == id.as_str()) {
        return legacy(404, "saved item not found");
    }
    ok(json!({ "inputs": st.inputs_of(id) }))
}

pub async fn start_pipeline(State(s): S, body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    let Some(flow) = field(&b, "saved_item_id") else { return legacy(400, "saved_item_id is required") };
    let mut st = s.store.lock().unwrap();
    if !st.flows.iter().any(|f| f["saved_item_id"] == flow) {
        return legacy(404, "saved item not found");
    }
    let id = st.id("run");
    st.runs.insert(id.clone(), Polled { value: data::run(&id, flow, "RUNNING"), polls: 0, stuck: false });
    if let Some(inputs) = b.get("pipeline_inputs") {
        st.run_inputs.insert(id.clone(), inputs.clone());
    }
    ok(json!({"run_id": id, "saved_item_id": flow, "workbook_id": "wb_1", "url": format!("https://www.gumloop.com/pipeline?run_id={id}")}))
}

pub async fn get_pl_run(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let Some(id) = q.get("run_id") else { return legacy(400, "run_id is required") };
    let polls = s.config.session_polls;
    let mut st = s.store.lock().unwrap();
    let Some(run) = st.runs.get_mut(id) else { return legacy(404, "run not found") };
    if run.value["state"] == "RUNNING" && run.poll(polls) {
        let flow = run.value["log"][0].as_str().unwrap_or_default().rsplit(' ').next().unwrap_or_default().to_owned();
        run.value = data::run(id, &flow, "DONE");
        let value = run.value.clone();
        st.finish_run(id, &flow);
        return ok(value);
    }
    ok(run.value.clone())
}

pub async fn kill_pipeline(State(s): S, body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    let Some(id) = field(&b, "run_id") else { return legacy(400, "run_id is required") };
    let mut st = s.store.lock().unwrap();
    let Some(run) = st.runs.get_mut(id) else { return legacy(404, "run not found") };
    if run.value["state"] == "RUNNING" {
        run.value["state"] = json!("TERMINATED");
    }
    ok(json!({"success": true, "run_id": id}))
}

pub async fn run_history(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let key = q.get("saved_item_id").or_else(|| q.get("workbook_id"));
    let Some(key) = key else { return legacy(400, "workbook_id or saved_item_id is required") };
    let st = s.store.lock().unwrap();
    let runs: Vec<Value> = st.runs.iter().map(|(id, r)| json!({"run_id": id, "state": r.value["state"]})).collect();
    ok(json!({ key.clone(): runs }))
}

pub async fn list_workbooks(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let flows = s.store.lock().unwrap().flows.clone();
    ok(json!({"workbooks": [{"workbook_id": "wb_1", "name": "Main", "description": null, "created_ts": "2026-11-01T12:00:00Z", "saved_items": flows}]}))
}
