//! Agent sessions: created idle or processing, polled until completed, sent further
//! messages once finished, cancelled; listed per agent by page.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::agents::agent_exists;
use super::input::{Q, S, field, json_body};
use super::reply::{ok, page, with_status};
use crate::data::{self, Polled};
use crate::envelope::v1;

pub async fn list_sessions(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let st = s.store.lock().unwrap();
    let items: Vec<Value> = st
        .sessions
        .values()
        .filter(|p| p.value["agent_id"] == id.as_str() && q.get("state").is_none_or(|w| p.value["state"] == w.as_str()))
        .map(|p| {
            let mut v = p.value.clone();
            v.as_object_mut().unwrap().remove("messages");
            v
        })
        .collect();
    page(items, &q, "sessions")
}

fn envelope(session: &Value) -> Value {
    let queued = session["state"] == "queued";
    json!({"session": session, "queue_position": if queued { json!(1) } else { Value::Null }})
}

pub async fn create_session(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let b = json_body(&body);
    if b.get("stream") == Some(&json!(true)) {
        return v1(400, "streaming_not_supported", "streaming is served by https://ws.gumloop.com/api/v1; use that host for stream: true");
    }
    let mut st = s.store.lock().unwrap();
    let sid = match field(&b, "session_id") {
        Some(sid) if st.sessions.contains_key(sid) => return v1(409, "session_already_exists", "a session with this id already exists"),
        Some(sid) => sid.to_owned(),
        None => st.id("sess"),
    };
    let input = field(&b, "input").or_else(|| field(&b, "message"));
    let (state, status, messages) = match input {
        Some(text) => ("processing", 202, vec![data::message("user", text)]),
        None => ("idle", 201, vec![]),
    };
    let session = data::session(&sid, &id, state, messages);
    st.sessions.insert(sid, Polled { value: session.clone(), polls: 0, stuck: false });
    with_status(status, envelope(&session))
}

pub async fn get_session(State(s): S, Path(id): Path<String>) -> Response {
    let polls = s.config.session_polls;
    let mut st = s.store.lock().unwrap();
    let Some(p) = st.sessions.get_mut(&id) else { return v1(404, "session_not_found", "session not found") };
    let running = matches!(p.value["state"].as_str(), Some("processing" | "queued"));
    if running && p.poll(polls) {
        p.value["state"] = json!("completed");
        let reply = data::message("assistant", "Here is the answer.");
        p.value["messages"].as_array_mut().unwrap().push(reply);
    }
    ok(envelope(&p.value))
}

pub async fn send_message(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    let b = json_body(&body);
    let Some(text) = field(&b, "input").or_else(|| field(&b, "message")) else { return v1(400, "invalid_request", "input is required") };
    let mut st = s.store.lock().unwrap();
    let Some(p) = st.sessions.get_mut(&id) else { return v1(404, "session_not_found", "session not found") };
    if !matches!(p.value["state"].as_str(), Some("idle" | "completed" | "failed")) {
        return v1(409, "interaction_not_in_terminal_state", "the session is still working; wait until it is completed or failed");
    }
    p.value["state"] = json!("processing");
    p.value["messages"].as_array_mut().unwrap().push(data::message("user", text));
    p.polls = 0;
    with_status(202, envelope(&p.value))
}

pub async fn cancel_session(State(s): S, Path(id): Path<String>) -> Response {
    let mut st = s.store.lock().unwrap();
    let Some(p) = st.sessions.get_mut(&id) else { return v1(404, "session_not_found", "session not found") };
    if matches!(p.value["state"].as_str(), Some("processing" | "queued")) {
        p.value["state"] = json!("failed");
    }
    ok(json!({"session": {"id": id, "agent_id": p.value["agent_id"], "state": p.value["state"]}, "queue_position": null}))
}
