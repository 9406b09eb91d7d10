//! Agents and what hangs off them: create, list, read, update; attached skills and MCP
//! servers; evaluations and their config; versions; triggers. Also the legacy agent run
//! (`start_agent`, `agent_status`), which completes after polling.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::input::{Q, S, field, json_body, owner};
use super::reply::{ok, page, with_status};
use crate::data::{self, Polled};
use crate::envelope::{legacy, v1};
use crate::state::Inner;

pub async fn list_agents(State(s): S, Query(q): Q) -> Response {
    let st = s.store.lock().unwrap();
    let search = q.get("search").map(|s| s.to_lowercase());
    let agents: Vec<Value> = st
        .agents
        .values()
        .filter(|a| search.as_ref().is_none_or(|s| a["name"].as_str().unwrap_or_default().to_lowercase().contains(s)))
        .map(|a| {
            let mut a = a.clone();
            a["skill_ids"] = Value::Null;
            a
        })
        .collect();
    ok(json!({"agents": agents, "next_cursor": null}))
}

pub async fn create_agent(State(s): S, body: Bytes) -> Response {
    let b = json_body(&body);
    let (Some(name), Some(model)) = (field(&b, "name"), field(&b, "model_name")) else { return v1(400, "invalid_request", "name and model_name are required") };
    let mut st = s.store.lock().unwrap();
    for sk in b.get("skill_ids").and_then(Value::as_array).into_iter().flatten() {
        if !st.skills.contains_key(sk.as_str().unwrap_or_default()) {
            return v1(400, "invalid_skill_ids", "unknown skill id");
        }
    }
    let id = field(&b, "agent_id").map(str::to_owned).unwrap_or_else(|| st.id("agent"));
    let agent = json!({"id": id, "name": name, "description": b.get("description"), "team_id": b.get("team_id").cloned().unwrap_or(json!("team_1")),
        "is_active": b.get("is_active").cloned().unwrap_or(json!(true)), "model_name": model, "system_prompt": b.get("system_prompt"),
        "tools": b.get("tools").cloned().unwrap_or(json!([])), "resources": b.get("resources").cloned().unwrap_or(json!([])),
        "skill_ids": b.get("skill_ids").cloned().unwrap_or(json!([])), "metadata": b.get("metadata").cloned().unwrap_or(json!({})),
        "folder_id": null, "type": null, "created_at": "2026-11-01T12:00:00Z", "active_trigger_count": 0, "creator": null});
    st.agents.insert(id, agent.clone());
    with_status(201, json!({"agent": agent}))
}

/// A 404 unless agent `id` exists; its sub-resources (sessions, artifacts, …) check first.
pub fn agent_exists(s: &Inner, id: &str) -> Result<(), Response> {
    if s.store.lock().unwrap().agents.contains_key(id) { Ok(()) } else { Err(v1(404, "agent_not_found", "agent not found")) }
}

pub async fn get_agent(State(s): S, Path(id): Path<String>) -> Response {
    match s.store.lock().unwrap().agents.get(&id) {
        Some(a) => ok(json!({"agent": a})),
        None => v1(404, "agent_not_found", "agent not found"),
    }
}

pub async fn update_agent(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    let b = json_body(&body);
    let mut st = s.store.lock().unwrap();
    let Some(a) = st.agents.get_mut(&id) else { return v1(404, "agent_not_found", "agent not found") };
    for (k, v) in b.as_object().into_iter().flatten() {
        a[k] = v.clone();
    }
    ok(json!({"agent": a}))
}

pub async fn agent_skills(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    let b = json_body(&body);
    let mut st = s.store.lock().unwrap();
    let Some(a) = st.agents.get_mut(&id) else { return v1(404, "agent_not_found", "agent not found") };
    let mut ids: Vec<String> = a["skill_ids"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    let list = |k: &str| b.get(k).and_then(Value::as_array).into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect::<Vec<_>>();
    let (mut attached, mut already_attached, mut detached, mut already_detached) = (vec![], vec![], vec![], vec![]);
    for s in list("attach") {
        if ids.contains(&s) {
            already_attached.push(s)
        } else {
            ids.push(s.clone());
            attached.push(s)
        }
    }
    for s in list("detach") {
        if let Some(i) = ids.iter().position(|x| *x == s) {
            ids.remove(i);
            detached.push(s)
        } else {
            already_detached.push(s)
        }
    }
    a["skill_ids"] = json!(ids);
    ok(
        json!({"agent_id": id, "skill_ids": ids, "attached": attached, "detached": detached, "already_attached": already_attached, "already_detached": already_detached}),
    )
}

pub async fn agent_mcp_list(State(s): S, Path(id): Path<String>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let st = s.store.lock().unwrap();
    let servers: Vec<Value> = st.agent_mcp.iter().filter(|((a, _), _)| *a == id).map(|(_, v)| v.clone()).collect();
    ok(json!({"mcp_servers": servers}))
}

pub async fn agent_mcp_put(State(s): S, Path((id, sid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let Some(server) = data::mcp_servers().into_iter().find(|m| m["id"] == sid.as_str()) else {
        return v1(404, "mcp_server_not_found", "MCP server not found");
    };
    let created = s.store.lock().unwrap().agent_mcp.insert((id.clone(), sid), server.clone()).is_none();
    ok(json!({"agent_id": id, "mcp_server": server, "created": created, "auth_status": "connected"}))
}

pub async fn agent_mcp_delete(State(s): S, Path((id, sid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let detached = s.store.lock().unwrap().agent_mcp.remove(&(id.clone(), sid.clone())).is_some();
    ok(json!({"agent_id": id, "server_id": sid, "detached": detached}))
}

fn evals(agent: &str) -> Vec<Value> {
    ["pass", "needs_review", "needs_attention"]
        .iter()
        .enumerate()
        .map(|(i, g)| json!({"id": format!("eval_{}", i + 1), "agent_id": agent, "session_id": format!("sess_{:02}", i + 1), "grade": g, "reasoning": "seed"}))
        .collect()
}

pub async fn evaluations(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let items: Vec<Value> = evals(&id).into_iter().filter(|e| q.get("grade").is_none_or(|g| e["grade"] == g.as_str())).collect();
    page(items, &q, "evaluations")
}

pub async fn evaluation_metrics(State(s): S, Path(id): Path<String>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    ok(json!({"metrics": {"pass": 1, "needs_review": 1, "needs_attention": 1}}))
}

pub async fn evaluation(State(s): S, Path((id, eid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    match evals(&id).into_iter().find(|e| e["id"] == eid.as_str()) {
        Some(e) => ok(json!({"evaluation": e})),
        None => v1(404, "not_found", "evaluation not found"),
    }
}

pub async fn eval_config_get(State(s): S, Path(id): Path<String>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let c = s.store.lock().unwrap().eval_config.get(&id).cloned().unwrap_or(json!({"enabled": false, "criteria": null, "sample_rate": 1.0}));
    ok(json!({"evaluation_config": c}))
}

pub async fn eval_config_patch(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let mut st = s.store.lock().unwrap();
    let c = st.eval_config.entry(id).or_insert(json!({"enabled": false, "criteria": null, "sample_rate": 1.0}));
    for (k, v) in json_body(&body).as_object().into_iter().flatten() {
        c[k] = v.clone();
    }
    ok(json!({"evaluation_config": c}))
}

pub async fn versions(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    page((1..=2).map(|i| json!({"id": format!("ver_{i}"), "agent_id": id, "created_at": "2026-11-01T12:00:00Z"})).collect(), &q, "versions")
}

pub async fn version(State(s): S, Path((id, vid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    if vid != "ver_1" && vid != "ver_2" {
        return v1(404, "not_found", "version not found");
    }
    ok(json!({"version": {"id": vid, "agent_id": id, "config": {"model_name": "gpt-4.1"}}}))
}

pub async fn triggers(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    page(vec![json!({"id": "trig_1", "type": "schedule", "cron": "0 9 * * *"}), json!({"id": "trig_2", "type": "webhook"})], &q, "triggers")
}

pub async fn delete_trigger(State(s): S, Path((id, tid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    if !tid.starts_with("trig_") {
        return v1(404, "not_found", "trigger not found");
    }
    ok(json!({"deleted": true}))
}

pub async fn webhook_url(State(s): S, Path((id, tid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    ok(json!({"webhook_url": format!("https://api.gumloop.com/api/v1/webhooks/{tid}")}))
}

// ---- legacy agent runs --------------------------------------------------------------

pub async fn start_agent(State(s): S, body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    let (Some(agent), Some(_)) = (field(&b, "gummie_id"), field(&b, "message")) else { return legacy(400, "gummie_id and message are required") };
    let mut st = s.store.lock().unwrap();
    if !st.agents.contains_key(agent) {
        return legacy(404, "gummie_not_found");
    }
    let id = st.id("int");
    st.agent_runs.insert(
        id.clone(),
        Polled {
            value: json!({"interaction_id": id, "gummie_id": agent, "state": "ASYNC_PROCESSING", "created_ts": "2026-11-01T12:00:00Z"}),
            polls: 0,
            stuck: false,
        },
    );
    with_status(202, json!({"interaction_id": id, "status": "processing"}))
}

pub async fn agent_status(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let polls = s.config.session_polls;
    let mut st = s.store.lock().unwrap();
    let Some(r) = st.agent_runs.get_mut(&id) else { return legacy(404, "interaction_not_found") };
    if r.value["state"] == "ASYNC_PROCESSING" && r.poll(polls) {
        r.value["state"] = json!("COMPLETED");
        r.value["response"] = json!("Done.");
    }
    ok(r.value.clone())
}
