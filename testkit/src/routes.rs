//! The endpoints, and the gate every request passes: record, fault, auth.

// Handlers return `Response` errors directly, as axum does.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::data::{self, Polled};
use crate::faults::{FaultKind, RateLimitStyle};
use crate::record::{RecordedBody, RecordedPart, RecordedRequest};
use crate::state::Inner;

type S = State<Arc<Inner>>;
type Q = Query<HashMap<String, String>>;

const LEGACY: &[&str] = &[
    "/list_saved_items",
    "/get_inputs",
    "/start_pipeline",
    "/get_pl_run",
    "/kill_pipeline",
    "/get_plrun_saved_item_map",
    "/list_workbooks",
    "/upload_file",
    "/upload_files",
    "/download_file",
    "/download_files",
    "/start_agent",
    "/agent_status",
    "/get_audit_logs",
    "/manage_workspace_users",
    "/manage_permission_group_users",
    "/export_data",
    "/export_status",
];
const MAX_SKILL_BYTES: usize = 10 * 1024 * 1024;

fn is_legacy(path: &str) -> bool {
    let p = path.trim_start_matches("/ws").trim_start_matches("/api/v1");
    LEGACY.iter().any(|l| p == *l || p.starts_with(&format!("{l}/")))
}

/// The v1 error envelope.
fn v1(status: u16, code: &str, message: &str) -> Response {
    let s = StatusCode::from_u16(status).unwrap();
    (s, axum::Json(json!({"error": {"message": message, "code": code, "type": "invalid_request_error", "param": null, "details": null}}))).into_response()
}

/// The legacy error envelope.
fn legacy(status: u16, message: &str) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"error": message}))).into_response()
}

fn error_for(path: &str, status: u16, code: &str, message: &str) -> Response {
    if is_legacy(path) { legacy(status, message) } else { v1(status, code, message) }
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn with_status(status: u16, v: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(v)).into_response()
}

pub fn router(inner: Arc<Inner>) -> Router {
    let api = Router::new()
        // Legacy flows and files.
        .route("/list_saved_items", get(list_saved_items))
        .route("/get_inputs", get(get_inputs))
        .route("/start_pipeline", post(start_pipeline))
        .route("/get_pl_run", get(get_pl_run))
        .route("/kill_pipeline", post(kill_pipeline))
        .route("/get_plrun_saved_item_map", get(run_history))
        .route("/list_workbooks", get(list_workbooks))
        .route("/upload_file", post(upload_file))
        .route("/upload_files", post(upload_files))
        .route("/download_file", post(download_file))
        .route("/download_files", post(download_files))
        .route("/start_agent", post(start_agent))
        .route("/agent_status/{id}", get(agent_status))
        // Organization admin.
        .route("/get_audit_logs", get(audit_logs))
        .route("/manage_workspace_users", post(manage_users))
        .route("/manage_permission_group_users", post(manage_users))
        .route("/export_data", post(export_data))
        .route("/export_status", get(export_status))
        // Agents.
        .route("/agents", get(list_agents).post(create_agent))
        .route("/agents/{id}", get(get_agent).patch(update_agent))
        .route("/agents/{id}/skills", axum::routing::patch(agent_skills))
        .route("/agents/{id}/mcp-servers", get(agent_mcp_list))
        .route("/agents/{id}/mcp-servers/{sid}", put(agent_mcp_put).delete(agent_mcp_delete))
        .route("/agents/{id}/evaluations", get(evaluations))
        .route("/agents/{id}/evaluations/metrics", get(evaluation_metrics))
        .route("/agents/{id}/evaluations/{eid}", get(evaluation))
        .route("/agents/{id}/evaluation-config", get(eval_config_get).patch(eval_config_patch))
        .route("/agents/{id}/versions", get(versions))
        .route("/agents/{id}/versions/{vid}", get(version))
        .route("/agents/{id}/triggers", get(triggers))
        .route("/agents/{id}/triggers/{tid}", axum::routing::delete(delete_trigger))
        .route("/agents/{id}/triggers/{tid}/webhook-url", get(webhook_url))
        // Sessions.
        .route("/agents/{id}/sessions", get(list_sessions).post(create_session))
        .route("/sessions/{id}", get(get_session))
        .route("/sessions/{id}/messages", post(send_message))
        .route("/sessions/{id}/cancel", post(cancel_session))
        // Artifacts and skills.
        .route("/agents/{id}/artifacts", get(list_artifacts))
        .route("/artifacts/{id}/download", get(download_artifact))
        .route("/skills", get(list_skills).post(create_skill))
        .route("/skills/{id}", axum::routing::patch(update_skill).delete(delete_skill))
        .route("/skills/{id}/download", get(download_skill))
        // Catalogue, MCP, brain.
        .route("/models", get(|| async { ok(data::models()) }))
        .route("/teams", get(|| async { ok(json!({"teams": [{"id": "team_1", "name": "Team One"}]})) }))
        .route("/organizations", get(|| async { ok(json!({"organizations": [{"id": "org_1", "name": "Org One"}]})) }))
        .route("/mcp/servers", get(|| async { ok(json!({"servers": data::mcp_servers()})) }))
        .route("/mcp/servers/{id}", get(mcp_server))
        .route("/mcp/servers/{id}/tools", get(mcp_server_tools))
        .route("/mcp/tools/call", post(mcp_call))
        .route("/brain/search", post(brain_search))
        .route(
            "/chat/completions",
            post(|| async { v1(404, "not_found", "chat completions are served by the streaming host https://ws.gumloop.com/api/v1, not api.gumloop.com") }),
        );
    let ws = Router::new().route("/chat/completions", post(chat_completion));
    Router::new()
        .nest("/api/v1", api)
        .nest("/ws/api/v1", ws)
        .route("/signed/{kind}/{id}", get(signed_download))
        .route("/__fake/requests", get(recorded))
        .fallback(|req: Request| async move { error_for(req.uri().path(), 404, "not_found", "no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(inner.clone(), gate))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(inner)
}

/// Records the request, applies a queued fault, then checks auth.
async fn gate(State(inner): S, req: Request, next: Next) -> Response {
    // The fake's own inspection endpoint is neither recorded nor authenticated.
    if req.uri().path().starts_with("/__fake/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> = parts.uri.query().map(|q| serde_urlencoded::from_str(q).unwrap_or_default()).unwrap_or_default();
    let headers: BTreeMap<String, String> =
        parts.headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let ctype = headers.get("content-type").cloned().unwrap_or_default();
    let recorded_body = if bytes.is_empty() {
        RecordedBody::Empty
    } else if ctype.contains("json") {
        serde_json::from_slice(&bytes).map(RecordedBody::Json).unwrap_or_else(|_| RecordedBody::Raw(bytes.to_vec()))
    } else if ctype.starts_with("multipart/form-data") {
        RecordedBody::Multipart(parse_multipart(&parts.headers, bytes.clone()).await)
    } else {
        RecordedBody::Raw(bytes.to_vec())
    };
    inner.requests.lock().unwrap().push(RecordedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: recorded_body,
    });

    if let Some(fault) = inner.take_fault(&path) {
        match fault.kind {
            FaultKind::RateLimited { limit, remaining, reset_secs, retry_after, style } => {
                let mut resp = error_for(&path, 429, "rate_limited", "too many concurrent agent interactions for this plan");
                let h = resp.headers_mut();
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
                let mut set = |k: &'static str, v: u64| {
                    h.insert(k, HeaderValue::from(v));
                };
                match style {
                    RateLimitStyle::Ietf => {
                        set("ratelimit-limit", limit);
                        set("ratelimit-remaining", remaining);
                        set("ratelimit-reset", reset_secs);
                    }
                    RateLimitStyle::XRateLimit => {
                        set("x-ratelimit-limit", limit);
                        set("x-ratelimit-remaining", remaining);
                        set("x-ratelimit-reset", now + reset_secs);
                    }
                    RateLimitStyle::RetryAfterOnly => {}
                }
                if let Some(s) = retry_after {
                    set("retry-after", s);
                }
                return resp;
            }
            FaultKind::Status(code) => return error_for(&path, code, "fault", "injected upstream failure"),
            FaultKind::Delay(d) => tokio::time::sleep(d).await,
            FaultKind::InvalidJson => {
                return ([("content-type", "application/json")], "{\"not json").into_response();
            }
            FaultKind::Hang => std::future::pending::<()>().await,
            FaultKind::HugeBody { bytes, declared } => return huge_body(bytes, declared),
            FaultKind::Redirect { status, location } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
                return (status, [("location", location)]).into_response();
            }
        }
    }

    if !path.starts_with("/signed/") {
        let cfg = &inner.config;
        let bearer = headers.get("authorization").and_then(|a| a.strip_prefix("Bearer "));
        if bearer != Some(cfg.api_key.as_str()) {
            return error_for(&path, 401, "unauthorized", "missing or invalid API key (send Authorization: Bearer <key>)");
        }
        let team_ok = cfg.team_id.as_deref().is_some_and(|t| query.iter().any(|(k, v)| k == "team_id" && v == t));
        match headers.get("x-auth-key") {
            Some(u) if u != &cfg.user_id => return error_for(&path, 403, "forbidden", "x-auth-key does not match the API key's user"),
            None if !team_ok => return error_for(&path, 401, "unauthorized", "personal API keys need the x-auth-key header with your user id"),
            _ => {}
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// `{"items":["xxxx…"]}` of `bytes` bytes in 64 KiB chunks, built as it is sent.
fn huge_body(bytes: usize, declared: bool) -> Response {
    const CHUNK: usize = 64 * 1024;
    let (head, tail) = (&b"{\"items\":[\""[..], &b"\"]}"[..]);
    let filler = bytes.saturating_sub(head.len() + tail.len());
    let chunks = std::iter::once(Bytes::from_static(head))
        .chain((0..filler.div_ceil(CHUNK)).map(move |i| Bytes::from(vec![b'x'; CHUNK.min(filler - i * CHUNK)])))
        .chain(std::iter::once(Bytes::from_static(tail)))
        .map(Ok::<_, std::convert::Infallible>);
    let mut resp = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
    resp.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    if declared {
        resp.headers_mut().insert("content-length", HeaderValue::from(head.len() + filler + tail.len()));
    }
    resp
}

async fn parse_multipart(headers: &HeaderMap, bytes: Bytes) -> Vec<RecordedPart> {
    let mut req = Request::new(Body::from(bytes));
    *req.headers_mut() = headers.clone();
    let Ok(mut mp) = Multipart::from_request(req, &()).await else { return Vec::new() };
    let mut out = Vec::new();
    while let Ok(Some(field)) = mp.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        out.push(RecordedPart { name, filename, content_type, bytes });
    }
    out
}

fn json_body(bytes: &Bytes) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Legacy endpoints need a user or workspace id.
fn owner(q: Option<&HashMap<String, String>>, body: Option<&Value>) -> Result<(), Response> {
    let has = |k: &str| q.is_some_and(|q| q.get(k).is_some_and(|v| !v.is_empty())) || body.is_some_and(|b| field(b, k).is_some());
    if has("user_id") || has("project_id") { Ok(()) } else { Err(legacy(400, "user_id or project_id is required")) }
}

/// Cursor pagination over `items`: `page_size` 1–100 (default 20), opaque `cursor`.
fn page(items: Vec<Value>, q: &HashMap<String, String>, key: &str) -> Response {
    let size = match q.get("page_size").map(|s| s.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return v1(400, "invalid_page_size", "page_size must be between 1 and 100"),
    };
    let start = match q.get("cursor") {
        None => 0,
        Some(c) => match c.strip_prefix("cur_").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= items.len() => n,
            _ => return v1(400, "invalid_cursor", "cursor is not valid; pass next_cursor back exactly as received"),
        },
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| format!("cur_{end}"));
    let mut out = json!({ key: items[start..end].to_vec(), "next_cursor": next });
    if key == "skills" {
        out["total_count"] = json!(items.len());
    }
    ok(out)
}

/// Advances a polled record; returns true when it has just been polled enough to finish.
fn poll(p: &mut Polled, needed: u32) -> bool {
    if p.stuck {
        return false;
    }
    p.polls += 1;
    p.polls >= needed
}

/// What the fake has received, for out-of-process tests: `[{method, path, query}]`.
async fn recorded(State(s): S) -> Response {
    let reqs = s.requests.lock().unwrap();
    // Headers included, so out-of-process clients can check auth as in-process tests do
    // (the fake only ever sees its own test key).
    ok(Value::Array(reqs.iter().map(|r| json!({"method": r.method, "path": r.path, "query": r.query, "headers": r.headers})).collect()))
}

// ---- legacy flows -------------------------------------------------------------------

async fn list_saved_items(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    ok(json!({"saved_items": s.store.lock().unwrap().flows}))
}

async fn get_inputs(State(s): S, Query(q): Q) -> Response {
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

async fn start_pipeline(State(s): S, body: Bytes) -> Response {
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

async fn get_pl_run(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let Some(id) = q.get("run_id") else { return legacy(400, "run_id is required") };
    let polls = s.config.session_polls;
    let mut st = s.store.lock().unwrap();
    let Some(run) = st.runs.get_mut(id) else { return legacy(404, "run not found") };
    if run.value["state"] == "RUNNING" && poll(run, polls) {
        let flow = run.value["log"][0].as_str().unwrap_or_default().rsplit(' ').next().unwrap_or_default().to_owned();
        run.value = data::run(id, &flow, "DONE");
        let value = run.value.clone();
        st.finish_run(id, &flow);
        return ok(value);
    }
    ok(run.value.clone())
}

async fn kill_pipeline(State(s): S, body: Bytes) -> Response {
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

async fn run_history(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let key = q.get("saved_item_id").or_else(|| q.get("workbook_id"));
    let Some(key) = key else { return legacy(400, "workbook_id or saved_item_id is required") };
    let st = s.store.lock().unwrap();
    let runs: Vec<Value> = st.runs.iter().map(|(id, r)| json!({"run_id": id, "state": r.value["state"]})).collect();
    ok(json!({ key.clone(): runs }))
}

async fn list_workbooks(State(s): S, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let flows = s.store.lock().unwrap().flows.clone();
    ok(json!({"workbooks": [{"workbook_id": "wb_1", "name": "Main", "description": null, "created_ts": "2026-11-01T12:00:00Z", "saved_items": flows}]}))
}

async fn upload_file(body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    match (field(&b, "file_name"), field(&b, "file_content")) {
        (Some(name), Some(content)) if base64_ok(content) => ok(json!({"success": true, "file_name": name})),
        (Some(_), Some(_)) => legacy(400, "file_content must be base64"),
        _ => legacy(400, "file_name and file_content are required"),
    }
}

fn base64_ok(s: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

async fn upload_files(body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    let Some(files) = b.get("files").and_then(Value::as_array) else { return legacy(400, "files is required") };
    let (good, bad): (Vec<&Value>, Vec<&Value>) = files.iter().partition(|f| field(f, "file_content").is_some_and(base64_ok));
    let names = |v: Vec<&Value>| v.iter().filter_map(|f| field(f, "file_name").map(str::to_owned)).collect::<Vec<_>>();
    if bad.is_empty() {
        ok(json!({"success": true, "uploaded_files": names(good)}))
    } else {
        with_status(207, json!({"partial_success": true, "uploaded_files": names(good), "failed_files": names(bad)}))
    }
}

async fn download_file(body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    match (field(&b, "file_name"), field(&b, "run_id"), field(&b, "saved_item_id")) {
        (Some(name), Some(_), Some(_)) => ([("content-type", "application/octet-stream")], format!("contents of {name}")).into_response(),
        _ => legacy(400, "file_name, run_id and saved_item_id are required"),
    }
}

/// An empty but valid zip archive.
const EMPTY_ZIP: &[u8] = &[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

async fn download_files(body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    if b.get("file_names").and_then(Value::as_array).is_none_or(|a| a.is_empty()) || field(&b, "run_id").is_none() {
        return legacy(400, "file_names and run_id are required");
    }
    ([("content-type", "application/zip")], EMPTY_ZIP).into_response()
}

async fn start_agent(State(s): S, body: Bytes) -> Response {
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

async fn agent_status(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = owner(Some(&q), None) {
        return r;
    }
    let polls = s.config.session_polls;
    let mut st = s.store.lock().unwrap();
    let Some(r) = st.agent_runs.get_mut(&id) else { return legacy(404, "interaction_not_found") };
    if r.value["state"] == "ASYNC_PROCESSING" && poll(r, polls) {
        r.value["state"] = json!("COMPLETED");
        r.value["response"] = json!("Done.");
    }
    ok(r.value.clone())
}

// ---- organization admin --------------------------------------------------------------

async fn audit_logs(Query(q): Q) -> Response {
    for k in ["organization_id", "user_id", "start_time", "end_time"] {
        if q.get(k).is_none_or(|v| v.is_empty()) {
            return legacy(400, &format!("{k} is required"));
        }
    }
    let total = 120usize;
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let size: usize = q.get("page_size").and_then(|p| p.parse().ok()).unwrap_or(50).max(1);
    let logs: Vec<Value> = ((page - 1) * size..(page * size).min(total)).map(data::audit_log).collect();
    ok(json!({"audit_logs": logs, "total_count": total, "page": page, "page_size": size, "total_pages": total.div_ceil(size)}))
}

async fn manage_users(body: Bytes) -> Response {
    let b = json_body(&body);
    if field(&b, "organization_id").is_none() || field(&b, "user_id").is_none() || field(&b, "user_email").is_none() {
        return legacy(400, "organization_id, user_id and user_email are required");
    }
    match field(&b, "action") {
        Some("add" | "remove") => ok(json!({"success": true, "message": "membership updated"})),
        _ => legacy(400, "action must be add or remove"),
    }
}

async fn export_data(State(s): S, body: Bytes) -> Response {
    let b = json_body(&body);
    if field(&b, "user_id").is_none() || b.get("export_fields").is_none() {
        return legacy(400, "user_id, export_fields, start_date and end_date are required");
    }
    let mut st = s.store.lock().unwrap();
    let id = st.id("export");
    st.exports.insert(
        id.clone(),
        Polled {
            value: json!({"data_export_id": id, "state": "REQUESTED", "created_ts": "2026-11-01T12:00:00Z", "finished_ts": null}),
            polls: 0,
            stuck: false,
        },
    );
    ok(json!({"success": true, "data_export_id": id, "state": "REQUESTED", "created_ts": "2026-11-01T12:00:00Z"}))
}

async fn export_status(State(s): S, Query(q): Q) -> Response {
    let (Some(_), Some(id)) = (q.get("user_id"), q.get("data_export_id")) else { return legacy(400, "user_id and data_export_id are required") };
    let polls = s.config.session_polls;
    let mut st = s.store.lock().unwrap();
    let Some(e) = st.exports.get_mut(id) else { return legacy(404, "export not found") };
    if e.value["state"] != "COMPLETED" && poll(e, polls) {
        e.value["state"] = json!("COMPLETED");
    }
    if q.get("download").is_some_and(|d| d == "true") && e.value["state"] == "COMPLETED" {
        return ([("content-type", "text/csv")], "date,credits\n2026-11-01,10\n").into_response();
    }
    ok(e.value.clone())
}

// ---- agents --------------------------------------------------------------------------

async fn list_agents(State(s): S, Query(q): Q) -> Response {
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

async fn create_agent(State(s): S, body: Bytes) -> Response {
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

fn agent_exists(s: &Inner, id: &str) -> Result<(), Response> {
    if s.store.lock().unwrap().agents.contains_key(id) { Ok(()) } else { Err(v1(404, "agent_not_found", "agent not found")) }
}

async fn get_agent(State(s): S, Path(id): Path<String>) -> Response {
    match s.store.lock().unwrap().agents.get(&id) {
        Some(a) => ok(json!({"agent": a})),
        None => v1(404, "agent_not_found", "agent not found"),
    }
}

async fn update_agent(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    let b = json_body(&body);
    let mut st = s.store.lock().unwrap();
    let Some(a) = st.agents.get_mut(&id) else { return v1(404, "agent_not_found", "agent not found") };
    for (k, v) in b.as_object().into_iter().flatten() {
        a[k] = v.clone();
    }
    ok(json!({"agent": a}))
}

async fn agent_skills(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
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

async fn agent_mcp_list(State(s): S, Path(id): Path<String>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let st = s.store.lock().unwrap();
    let servers: Vec<Value> = st.agent_mcp.iter().filter(|((a, _), _)| *a == id).map(|(_, v)| v.clone()).collect();
    ok(json!({"mcp_servers": servers}))
}

async fn agent_mcp_put(State(s): S, Path((id, sid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let Some(server) = data::mcp_servers().into_iter().find(|m| m["id"] == sid.as_str()) else {
        return v1(404, "mcp_server_not_found", "MCP server not found");
    };
    let created = s.store.lock().unwrap().agent_mcp.insert((id.clone(), sid), server.clone()).is_none();
    ok(json!({"agent_id": id, "mcp_server": server, "created": created, "auth_status": "connected"}))
}

async fn agent_mcp_delete(State(s): S, Path((id, sid)): Path<(String, String)>) -> Response {
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

async fn evaluations(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let items: Vec<Value> = evals(&id).into_iter().filter(|e| q.get("grade").is_none_or(|g| e["grade"] == g.as_str())).collect();
    page(items, &q, "evaluations")
}

async fn evaluation_metrics(State(s): S, Path(id): Path<String>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    ok(json!({"metrics": {"pass": 1, "needs_review": 1, "needs_attention": 1}}))
}

async fn evaluation(State(s): S, Path((id, eid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    match evals(&id).into_iter().find(|e| e["id"] == eid.as_str()) {
        Some(e) => ok(json!({"evaluation": e})),
        None => v1(404, "not_found", "evaluation not found"),
    }
}

async fn eval_config_get(State(s): S, Path(id): Path<String>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let c = s.store.lock().unwrap().eval_config.get(&id).cloned().unwrap_or(json!({"enabled": false, "criteria": null, "sample_rate": 1.0}));
    ok(json!({"evaluation_config": c}))
}

async fn eval_config_patch(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
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

async fn versions(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    page((1..=2).map(|i| json!({"id": format!("ver_{i}"), "agent_id": id, "created_at": "2026-11-01T12:00:00Z"})).collect(), &q, "versions")
}

async fn version(State(s): S, Path((id, vid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    if vid != "ver_1" && vid != "ver_2" {
        return v1(404, "not_found", "version not found");
    }
    ok(json!({"version": {"id": vid, "agent_id": id, "config": {"model_name": "gpt-4.1"}}}))
}

async fn triggers(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    page(vec![json!({"id": "trig_1", "type": "schedule", "cron": "0 9 * * *"}), json!({"id": "trig_2", "type": "webhook"})], &q, "triggers")
}

async fn delete_trigger(State(s): S, Path((id, tid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    if !tid.starts_with("trig_") {
        return v1(404, "not_found", "trigger not found");
    }
    ok(json!({"deleted": true}))
}

async fn webhook_url(State(s): S, Path((id, tid)): Path<(String, String)>) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    ok(json!({"webhook_url": format!("https://api.gumloop.com/api/v1/webhooks/{tid}")}))
}

// ---- sessions ------------------------------------------------------------------------

async fn list_sessions(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
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

async fn create_session(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
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

async fn get_session(State(s): S, Path(id): Path<String>) -> Response {
    let polls = s.config.session_polls;
    let mut st = s.store.lock().unwrap();
    let Some(p) = st.sessions.get_mut(&id) else { return v1(404, "session_not_found", "session not found") };
    let running = matches!(p.value["state"].as_str(), Some("processing" | "queued"));
    if running && poll(p, polls) {
        p.value["state"] = json!("completed");
        let reply = data::message("assistant", "Here is the answer.");
        p.value["messages"].as_array_mut().unwrap().push(reply);
    }
    ok(envelope(&p.value))
}

async fn send_message(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
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

async fn cancel_session(State(s): S, Path(id): Path<String>) -> Response {
    let mut st = s.store.lock().unwrap();
    let Some(p) = st.sessions.get_mut(&id) else { return v1(404, "session_not_found", "session not found") };
    if matches!(p.value["state"].as_str(), Some("processing" | "queued")) {
        p.value["state"] = json!("failed");
    }
    ok(json!({"session": {"id": id, "agent_id": p.value["agent_id"], "state": p.value["state"]}, "queue_position": null}))
}

// ---- artifacts and skills ------------------------------------------------------------

fn sign(secret: &str, path: &str, expires: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{path}?{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn signed_url(s: &Inner, kind: &str, id: &str) -> String {
    let path = format!("/signed/{kind}/{id}");
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 300;
    format!("{}{path}?expires={expires}&signature={}", s.origin, sign(&s.config.signing_secret, &path, expires))
}

async fn list_artifacts(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
    if let Err(r) = agent_exists(&s, &id) {
        return r;
    }
    let st = s.store.lock().unwrap();
    let search = q.get("search_query").map(|s| s.to_lowercase());
    let items: Vec<Value> = st
        .artifacts
        .iter()
        .filter(|a| a["agent_id"] == id.as_str())
        .filter(|a| q.get("session_id").is_none_or(|sid| a["session_id"] == sid.as_str()))
        .filter(|a| search.as_ref().is_none_or(|s| a["filename"].as_str().unwrap_or_default().to_lowercase().contains(s)))
        .cloned()
        .collect();
    page(items, &q, "artifacts")
}

async fn download_artifact(State(s): S, Path(id): Path<String>) -> Response {
    let art = s.store.lock().unwrap().artifacts.iter().find(|a| a["id"] == id.as_str()).cloned();
    let Some(a) = art else { return v1(404, "artifact_not_found", "artifact not found") };
    let (media_type, size) = (&a["metadata"]["media_type"], &a["metadata"]["size"]);
    ok(json!({"download_url": signed_url(&s, "artifacts", &id), "filename": a["filename"], "media_type": media_type, "size": size}))
}

async fn signed_download(State(s): S, Path((kind, id)): Path<(String, String)>, Query(q): Q) -> Response {
    let path = format!("/signed/{kind}/{id}");
    let (Some(expires), Some(sig)) = (q.get("expires").and_then(|e| e.parse::<u64>().ok()), q.get("signature")) else {
        return (StatusCode::FORBIDDEN, "missing signature").into_response();
    };
    if sign(&s.config.signing_secret, &path, expires) != *sig {
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    if expires < SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() {
        return (StatusCode::FORBIDDEN, "expired").into_response();
    }
    match kind.as_str() {
        "artifacts" => match s.store.lock().unwrap().artifact_bodies.get(&id) {
            Some((media_type, body)) => ([("content-type", media_type.clone())], body.clone()).into_response(),
            None => ([("content-type", "text/csv".to_owned())], "a,b\n1,2\n3,4\n".to_owned()).into_response(),
        },
        _ => ([("content-type", "application/zip")], EMPTY_ZIP).into_response(),
    }
}

async fn list_skills(State(s): S, Query(q): Q) -> Response {
    let items: Vec<Value> = s.store.lock().unwrap().skills.values().filter(|k| k.get("deleted").is_none()).cloned().collect();
    page(items, &q, "skills")
}

/// Reads the `files` parts as Gumloop does: one `.md` file (stored as SKILL.md), one
/// `.zip`/`.skill` archive with SKILL.md at its root, or loose files including a
/// SKILL.md. Refuses unsafe paths (400), more than 10 MB sent or unpacked (413), and a
/// SKILL.md without frontmatter naming the skill (400). Returns (name, description).
async fn skill_files(req: Request) -> Result<(String, String), Response> {
    let mut mp = Multipart::from_request(req, &()).await.map_err(|_| v1(400, "invalid_request", "expected multipart/form-data with files parts"))?;
    let (mut total, mut files) = (0usize, Vec::new());
    while let Ok(Some(f)) = mp.next_field().await {
        if f.name() != Some("files") {
            continue;
        }
        let name = f.file_name().unwrap_or_default().to_owned();
        let bytes = f.bytes().await.map_err(|_| v1(400, "invalid_request", "unreadable part"))?;
        total += bytes.len();
        if total > MAX_SKILL_BYTES {
            return Err(v1(413, "payload_too_large", "skill uploads are limited to 10 MB"));
        }
        files.push((name, bytes));
    }
    let text = match &files[..] {
        [] => return Err(v1(400, "invalid_request", "files is required")),
        [(name, bytes)] if name.ends_with(".zip") || name.ends_with(".skill") => skill_md_in_archive(bytes)?,
        [(name, bytes)] if name.ends_with(".md") => bytes.to_vec(),
        loose => {
            if let Some((name, _)) = loose.iter().find(|(n, _)| !safe_path(n)) {
                return Err(v1(400, "unsafe_path", &format!("unsafe file name `{name}`")));
            }
            loose.iter().find(|(n, _)| n == "SKILL.md").map(|(_, b)| b.to_vec()).ok_or_else(|| v1(400, "invalid_skill_md", "no SKILL.md found"))?
        }
    };
    skill_frontmatter(&String::from_utf8_lossy(&text))
}

/// A relative path that stays inside the skill when unpacked.
fn safe_path(p: &str) -> bool {
    let b = p.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    !p.is_empty() && !p.starts_with('/') && !p.contains('\\') && !drive && p.split('/').all(|s| s != ".." && s != ".")
}

/// The SKILL.md at an archive's root, after checking every entry's path and the sizes
/// the entries declare.
fn skill_md_in_archive(bytes: &[u8]) -> Result<Vec<u8>, Response> {
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| v1(400, "invalid_archive", "the archive is not a zip file"))?;
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let e = zip.by_index_raw(i).map_err(|_| v1(400, "invalid_archive", "unreadable archive entry"))?;
        let name = e.name().map(|n| n.into_owned()).unwrap_or_default();
        if !safe_path(name.strip_suffix('/').unwrap_or(&name)) || e.is_symlink() {
            return Err(v1(400, "unsafe_archive", &format!("unsafe archive entry `{name}`")));
        }
        declared += e.size();
    }
    if declared > MAX_SKILL_BYTES as u64 {
        return Err(v1(413, "payload_too_large", "the archive unpacks to more than 10 MB"));
    }
    let mut out = Vec::new();
    let entry = zip.by_name("SKILL.md").map_err(|_| v1(400, "invalid_skill_md", "no SKILL.md at the archive's root"))?;
    entry.take(MAX_SKILL_BYTES as u64).read_to_end(&mut out).map_err(|_| v1(400, "invalid_archive", "SKILL.md cannot be unpacked"))?;
    Ok(out)
}

/// Name and description out of SKILL.md's YAML frontmatter.
fn skill_frontmatter(text: &str) -> Result<(String, String), Response> {
    let bad = |m: &str| v1(400, "invalid_skill_md", m);
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")).ok_or_else(|| bad("SKILL.md must start with YAML frontmatter (---)"))?;
    let end = rest.find("\n---").ok_or_else(|| bad("SKILL.md frontmatter is not closed (---)"))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&rest[..end]).map_err(|_| bad("SKILL.md frontmatter is not valid YAML"))?;
    let get = |k: &str| yaml.get(k).and_then(serde_yaml::Value::as_str).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    match (get("name"), get("description")) {
        (Some(n), Some(d)) => Ok((n, d)),
        _ => Err(bad("SKILL.md frontmatter needs name and description")),
    }
}

async fn create_skill(State(s): S, req: Request) -> Response {
    let (name, description) = match skill_files(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut st = s.store.lock().unwrap();
    let id = st.id("skill");
    let skill = json!({"id": id, "name": name, "description": description, "team_id": "team_1", "created_at": "2026-11-01T12:00:00Z",
        "updated_at": "2026-11-01T12:00:00Z", "metadata": {}, "usage_count": 0, "version_id": format!("{id}_v1"), "major_version": 1, "is_deployed": false, "creator": null});
    st.skills.insert(id, skill.clone());
    with_status(201, json!({"skill": skill}))
}

async fn update_skill(State(s): S, Path(id): Path<String>, req: Request) -> Response {
    if s.store.lock().unwrap().skills.get(&id).is_none_or(|k| k.get("deleted").is_some()) {
        return v1(404, "skill_not_found", "skill not found");
    }
    let (name, description) = match skill_files(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut st = s.store.lock().unwrap();
    let k = st.skills.get_mut(&id).unwrap();
    k["name"] = json!(name);
    k["description"] = json!(description);
    k["major_version"] = json!(k["major_version"].as_i64().unwrap_or(1) + 1);
    ok(json!({"skill": k}))
}

async fn delete_skill(State(s): S, Path(id): Path<String>) -> Response {
    let mut st = s.store.lock().unwrap();
    match st.skills.get_mut(&id) {
        Some(k) if k.get("deleted").is_none() => {
            k["deleted"] = json!(true);
            ok(json!({"deleted": true}))
        }
        _ => v1(404, "skill_not_found", "skill not found"),
    }
}

async fn download_skill(State(s): S, Path(id): Path<String>) -> Response {
    let skill = s.store.lock().unwrap().skills.get(&id).filter(|k| k.get("deleted").is_none()).cloned();
    let Some(k) = skill else { return v1(404, "skill_not_found", "skill not found") };
    ok(json!({"download_url": signed_url(&s, "skills", &id), "filename": format!("{}.skill", k["name"].as_str().unwrap_or("skill")),
        "media_type": "application/zip", "size": EMPTY_ZIP.len(), "id": id, "version_id": k["version_id"], "major_version": k["major_version"]}))
}

// ---- MCP, brain, chat ----------------------------------------------------------------

async fn mcp_server(Path(id): Path<String>) -> Response {
    match data::mcp_servers().into_iter().find(|m| m["id"] == id.as_str()) {
        Some(m) => ok(json!({"server": m})),
        None => v1(404, "mcp_server_not_found", "MCP server not found"),
    }
}

async fn mcp_server_tools(Path(id): Path<String>) -> Response {
    if !data::mcp_servers().iter().any(|m| m["id"] == id.as_str()) {
        return v1(404, "mcp_server_not_found", "MCP server not found");
    }
    ok(
        json!({"tools": [{"name": "send_message", "description": "Send a message", "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}}]}),
    )
}

async fn mcp_call(body: Bytes) -> Response {
    let b = json_body(&body);
    let Some(calls) = b.get("calls").and_then(Value::as_array).filter(|c| (1..=5).contains(&c.len())) else {
        return v1(400, "invalid_request", "calls must hold 1 to 5 entries");
    };
    let servers = data::mcp_servers();
    let results: Vec<Value> = calls
        .iter()
        .map(|c| {
            let known = servers.iter().any(|m| m["id"] == c["server_id"]);
            if known {
                json!({"ref": c.get("ref"), "status": "success", "content": [{"type": "text", "text": format!("called {}", c["tool_name"].as_str().unwrap_or("?"))}], "error": null})
            } else {
                json!({"ref": c.get("ref"), "status": "error", "content": null, "error": {"code": "mcp_server_not_found", "message": "MCP server not found"}})
            }
        })
        .collect();
    let ok_count = results.iter().filter(|r| r["status"] == "success").count();
    let status = if ok_count == 0 || ok_count == results.len() { 200 } else { 207 };
    with_status(status, json!({"results": results}))
}

async fn brain_search(body: Bytes) -> Response {
    let b = json_body(&body);
    let Some(q) = field(&b, "query") else { return v1(400, "invalid_request", "query is required") };
    let limit = b.get("limit").and_then(Value::as_u64).unwrap_or(8);
    if !(1..=50).contains(&limit) {
        return v1(400, "invalid_request", "limit must be between 1 and 50");
    }
    ok(json!({"results": [{"id": "doc_1", "title": format!("About {q}"), "snippet": "seed passage", "source_type": "doc"}]}))
}

async fn chat_completion(body: Bytes) -> Response {
    let b = json_body(&body);
    let (Some(model), Some(messages)) = (field(&b, "model"), b.get("messages").and_then(Value::as_array)) else {
        return v1(400, "invalid_request", "model and messages are required");
    };
    if !["gpt-4.1", "claude-sonnet-4"].contains(&model) {
        return v1(404, "model_not_found", "unknown model");
    }
    if b.get("stream") == Some(&json!(true)) {
        return v1(501, "not_implemented", "this fake serves non-streaming completions only");
    }
    // User content is text, or (multi-modal) an array of text and image_url parts.
    let last = messages.iter().rev().find(|m| m["role"] == "user").map(|m| &m["content"]);
    let (text, images_in) = match last {
        Some(Value::String(s)) => (s.clone(), 0),
        Some(Value::Array(parts)) => {
            let text: Vec<&str> = parts.iter().filter(|p| p["type"] == "text").filter_map(|p| p["text"].as_str()).collect();
            (text.join(" "), parts.iter().filter(|p| p["type"] == "image_url").count())
        }
        _ => (String::new(), 0),
    };
    let seen = if images_in > 0 { format!(" (and {images_in} image(s))") } else { String::new() };
    let mut message = json!({"role": "assistant", "content": format!("echo: {text}{seen}")});
    // With modalities [text, image], one generated image comes back as a data URL.
    let wants_image = b.get("modalities").and_then(Value::as_array).is_some_and(|m| m.iter().any(|x| x == "image"));
    if wants_image {
        message["images"] = json!([{"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", data::TINY_PNG_BASE64)}}]);
    }
    ok(json!({"id": "chatcmpl_1", "object": "chat.completion", "created": 1_793_534_400, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}))
}
