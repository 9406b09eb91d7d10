//! The router: every endpoint by host and resource, behind the layers every request
//! passes (see [`crate::layers`]). Handlers live in one module per resource.

// Handlers return `Response` errors directly, as axum does.
#![allow(clippy::result_large_err)]

mod admin;
mod agents;
mod artifacts;
mod catalog;
mod chat;
mod files;
mod flows;
mod input;
mod inspect;
mod reply;
mod sessions;
mod signed;
mod skills;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};

use crate::layers::{self, MAX_BODY_BYTES};
use crate::state::Inner;

pub fn router(inner: Arc<Inner>) -> Router {
    let api = Router::new()
        // Legacy flows and files.
        .route("/list_saved_items", get(flows::list_saved_items))
        .route("/get_inputs", get(flows::get_inputs))
        .route("/start_pipeline", post(flows::start_pipeline))
        .route("/get_pl_run", get(flows::get_pl_run))
        .route("/kill_pipeline", post(flows::kill_pipeline))
        .route("/get_plrun_saved_item_map", get(flows::run_history))
        .route("/list_workbooks", get(flows::list_workbooks))
        .route("/upload_file", post(files::upload_file))
        .route("/upload_files", post(files::upload_files))
        .route("/download_file", post(files::download_file))
        .route("/download_files", post(files::download_files))
        .route("/start_agent", post(agents::start_agent))
        .route("/agent_status/{id}", get(agents::agent_status))
        // Organization admin.
        .route("/get_audit_logs", get(admin::audit_logs))
        .route("/manage_workspace_users", post(admin::manage_users))
        .route("/manage_permission_group_users", post(admin::manage_users))
        .route("/export_data", post(admin::export_data))
        .route("/export_status", get(admin::export_status))
        // Agents.
        .route("/agents", get(agents::list_agents).post(agents::create_agent))
        .route("/agents/{id}", get(agents::get_agent).patch(agents::update_agent))
        .route("/agents/{id}/skills", patch(agents::agent_skills))
        .route("/agents/{id}/mcp-servers", get(agents::agent_mcp_list))
        .route("/agents/{id}/mcp-servers/{sid}", put(agents::agent_mcp_put).delete(agents::agent_mcp_delete))
        .route("/agents/{id}/evaluations", get(agents::evaluations))
        .route("/agents/{id}/evaluations/metrics", get(agents::evaluation_metrics))
        .route("/agents/{id}/evaluations/{eid}", get(agents::evaluation))
        .route("/agents/{id}/evaluation-config", get(agents::eval_config_get).patch(agents::eval_config_patch))
        .route("/agents/{id}/versions", get(agents::versions))
        .route("/agents/{id}/versions/{vid}", get(agents::version))
        .route("/agents/{id}/triggers", get(agents::triggers))
        .route("/agents/{id}/triggers/{tid}", delete(agents::delete_trigger))
        .route("/agents/{id}/triggers/{tid}/webhook-url", get(agents::webhook_url))
        // Sessions.
        .route("/agents/{id}/sessions", get(sessions::list_sessions).post(sessions::create_session))
        .route("/sessions/{id}", get(sessions::get_session))
        .route("/sessions/{id}/messages", post(sessions::send_message))
        .route("/sessions/{id}/cancel", post(sessions::cancel_session))
        // Artifacts and skills.
        .route("/agents/{id}/artifacts", get(artifacts::list_artifacts))
        .route("/artifacts/{id}/download", get(artifacts::download_artifact))
        .route("/skills", get(skills::list_skills).post(skills::create_skill))
        .route("/skills/{id}", patch(skills::update_skill).delete(skills::delete_skill))
        .route("/skills/{id}/download", get(skills::download_skill))
        // Catalogue, MCP, brain.
        .route("/models", get(catalog::models))
        .route("/teams", get(catalog::teams))
        .route("/organizations", get(catalog::organizations))
        .route("/mcp/servers", get(catalog::mcp_servers))
        .route("/mcp/servers/{id}", get(catalog::mcp_server))
        .route("/mcp/servers/{id}/tools", get(catalog::mcp_server_tools))
        .route("/mcp/tools/call", post(catalog::mcp_call))
        .route("/brain/search", post(catalog::brain_search))
        .route("/chat/completions", post(chat::not_on_this_host));
    let ws = Router::new().route("/chat/completions", post(chat::chat_completion));
    let app = Router::new()
        .nest("/api/v1", api)
        .nest("/ws/api/v1", ws)
        .route("/signed/{kind}/{id}", get(signed::signed_download))
        .route("/__fake/requests", get(inspect::recorded))
        .fallback(reply::no_such_endpoint);
    // The body limit is outermost, as before: it is a request extension the body
    // extractors read, so it must be set before any handler runs.
    layers::around(app, inner.clone()).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(inner)
}
