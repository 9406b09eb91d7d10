//! Files (legacy endpoints): base64 uploads, one or several (207 when some fail), and
//! downloads of a run's files.

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::input::{field, json_body, owner};
use super::reply::{ok, with_status};
use crate::data::EMPTY_ZIP;
use crate::envelope::legacy;

pub async fn upload_file(body: Bytes) -> Response {
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

pub async fn upload_files(body: Bytes) -> Response {
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

pub async fn download_file(body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    match (field(&b, "file_name"), field(&b, "run_id"), field(&b, "saved_item_id")) {
        (Some(name), Some(_), Some(_)) => ([("content-type", "application/octet-stream")], format!("contents of {name}")).into_response(),
        _ => legacy(400, "file_name, run_id and saved_item_id are required"),
    }
}

pub async fn download_files(body: Bytes) -> Response {
    let b = json_body(&body);
    if let Err(r) = owner(None, Some(&b)) {
        return r;
    }
    if b.get("file_names").and_then(Value::as_array).is_none_or(|a| a.is_empty()) || field(&b, "run_id").is_none() {
        return legacy(400, "file_names and run_id are required");
    }
    ([("content-type", "application/zip")], EMPTY_ZIP).into_response()
}
