//! Organization admin (legacy endpoints): audit logs by page, workspace and permission
//! group membership, and data exports that complete after polling.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::input::{Q, S, field, json_body};
use super::reply::ok;
use crate::data::{self, Polled};
use crate::envelope::legacy;

pub async fn audit_logs(State(s): S, Query(q): Q) -> Response {
    for k in ["organization_id", "user_id", "start_time", "end_time"] {
        if q.get(k).is_none_or(|v| v.is_empty()) {
            return legacy(400, &format!("{k} is required"));
        }
    }
    let total = s.config.audit_logs;
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let size: usize = q.get("page_size").and_then(|p| p.parse().ok()).unwrap_or(50).max(1);
    let logs: Vec<Value> = ((page - 1) * size..(page * size).min(total)).map(data::audit_log).collect();
    ok(json!({"audit_logs": logs, "total_count": total, "page": page, "page_size": size, "total_pages": total.div_ceil(size)}))
}

pub async fn manage_users(body: Bytes) -> Response {
    let b = json_body(&body);
    if field(&b, "organization_id").is_none() || field(&b, "user_id").is_none() || field(&b, "user_email").is_none() {
        return legacy(400, "organization_id, user_id and user_email are required");
    }
    match field(&b, "action") {
        Some("add" | "remove") => ok(json!({"success": true, "message": "membership updated"})),
        _ => legacy(400, "action must be add or remove"),
    }
}

pub async fn export_data(State(s): S, body: Bytes) -> Response {
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

pub async fn export_status(State(s): S, Query(q): Q) -> Response {
    let (Some(_), Some(id)) = (q.get("user_id"), q.get("data_export_id")) else { return legacy(400, "user_id and data_export_id are required") };
    let polls = s.config.session_polls;
    let mut st = s.store.lock().unwrap();
    let Some(e) = st.exports.get_mut(id) else { return legacy(404, "export not found") };
    if e.value["state"] != "COMPLETED" && e.poll(polls) {
        e.value["state"] = json!("COMPLETED");
    }
    if q.get("download").is_some_and(|d| d == "true") && e.value["state"] == "COMPLETED" {
        return ([("content-type", "text/csv")], "date,credits\n2026-11-01,10\n").into_response();
    }
    ok(e.value.clone())
}
