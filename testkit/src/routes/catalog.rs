//! Lookups over seed data that keep no state: models, teams, organizations, MCP servers
//! and their tools, MCP tool calls (207 when some fail), and brain search.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use serde_json::{Value, json};

use super::input::{field, json_body};
use super::reply::{ok, with_status};
use crate::data;
use crate::envelope::v1;

pub async fn models() -> Response {
    ok(data::models())
}

pub async fn teams() -> Response {
    ok(json!({"teams": [{"id": "team_1", "name": "Team One"}]}))
}

pub async fn organizations() -> Response {
    ok(json!({"organizations": [{"id": "org_1", "name": "Org One"}]}))
}

pub async fn mcp_servers() -> Response {
    ok(json!({"servers": data::mcp_servers()}))
}

pub async fn mcp_server(Path(id): Path<String>) -> Response {
    match data::mcp_servers().into_iter().find(|m| m["id"] == id.as_str()) {
        Some(m) => ok(json!({"server": m})),
        None => v1(404, "mcp_server_not_found", "MCP server not found"),
    }
}

pub async fn mcp_server_tools(Path(id): Path<String>) -> Response {
    if !data::mcp_servers().iter().any(|m| m["id"] == id.as_str()) {
        return v1(404, "mcp_server_not_found", "MCP server not found");
    }
    ok(
        json!({"tools": [{"name": "send_message", "description": "Send a message", "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}}]}),
    )
}

pub async fn mcp_call(body: Bytes) -> Response {
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

pub async fn brain_search(body: Bytes) -> Response {
    let b = json_body(&body);
    let Some(q) = field(&b, "query") else { return v1(400, "invalid_request", "query is required") };
    let limit = b.get("limit").and_then(Value::as_u64).unwrap_or(8);
    if !(1..=50).contains(&limit) {
        return v1(400, "invalid_request", "limit must be between 1 and 50");
    }
    ok(json!({"results": [{"id": "doc_1", "title": format!("About {q}"), "snippet": "seed passage", "source_type": "doc"}]}))
}
