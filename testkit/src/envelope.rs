//! Gumloop's two error envelopes, and which paths answer in which: the v1 API's
//! `{"error": {message, code, …}}` and the legacy endpoints' flat `{"error": message}`.
//! Routes, faults and auth all answer in them, so they live beside both.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The legacy endpoints (under either host's `/api/v1`); everything else is v1.
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

fn is_legacy(path: &str) -> bool {
    let p = path.trim_start_matches("/ws").trim_start_matches("/api/v1");
    LEGACY.iter().any(|l| p == *l || p.starts_with(&format!("{l}/")))
}

/// The v1 error envelope.
pub fn v1(status: u16, code: &str, message: &str) -> Response {
    let s = StatusCode::from_u16(status).unwrap();
    (s, axum::Json(json!({"error": {"message": message, "code": code, "type": "invalid_request_error", "param": null, "details": null}}))).into_response()
}

/// The legacy error envelope.
pub fn legacy(status: u16, message: &str) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"error": message}))).into_response()
}

/// An error in the envelope of `path`.
pub fn error_for(path: &str, status: u16, code: &str, message: &str) -> Response {
    if is_legacy(path) { legacy(status, message) } else { v1(status, code, message) }
}
