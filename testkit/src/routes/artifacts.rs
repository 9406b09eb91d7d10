//! Artifacts: an agent's files by page (filtered by session or name), and a download
//! answered with a signed URL.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::agents::agent_exists;
use super::input::{Q, S};
use super::reply::{ok, page};
use super::signed::signed_url;
use crate::envelope::v1;

pub async fn list_artifacts(State(s): S, Path(id): Path<String>, Query(q): Q) -> Response {
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

pub async fn download_artifact(State(s): S, Path(id): Path<String>) -> Response {
    let art = s.store.lock().unwrap().artifacts.iter().find(|a| a["id"] == id.as_str()).cloned();
    let Some(a) = art else { return v1(404, "artifact_not_found", "artifact not found") };
    let (media_type, size) = (&a["metadata"]["media_type"], &a["metadata"]["size"]);
    ok(json!({"download_url": signed_url(&s, "artifacts", &id), "filename": a["filename"], "media_type": media_type, "size": size}))
}
