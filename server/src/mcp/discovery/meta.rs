//! The three meta-tools as MCP tools, with the validators of their own arguments.

use std::sync::{Arc, LazyLock};

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

/// Ranks the tools for a request.
pub const SEARCH_TOOLS: &str = "search_tools";
/// One tool's full descriptor.
pub const GET_TOOL_SCHEMA: &str = "get_tool_schema";
/// Runs a tool by name.
pub const CALL_TOOL: &str = "call_tool";

/// Results `search_tools` returns unless asked for another number.
pub const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: u64 = 25;

pub(super) struct Meta {
    pub tool: Tool,
    pub validator: jsonschema::Validator,
    pub properties: Vec<String>,
}

fn meta(name: &'static str, title: &'static str, description: &'static str, input: Value, output: Option<Value>, hints: ToolAnnotations) -> Meta {
    let Value::Object(input) = input else { unreachable!("a literal object") };
    let validator = jsonschema::validator_for(&Value::Object(input.clone())).expect("the meta-tools' schemas compile");
    let properties = input.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default();
    let mut tool = Tool::new(name, description, Arc::new(input)).with_title(title).with_annotations(hints);
    if let Some(Value::Object(out)) = output {
        tool = tool.with_raw_output_schema(Arc::new(out as JsonObject));
    }
    Meta { tool, validator, properties }
}

/// In name order, as `tools/list` shows them.
pub(super) static METAS: LazyLock<[Meta; 3]> = LazyLock::new(|| {
    let read = |title: &str| ToolAnnotations::with_title(title).read_only(true).destructive(false).idempotent(true).open_world(false);
    [
        meta(
            CALL_TOOL,
            "Call tool",
            "Run one of this server's tools by name, exactly as calling it directly would. Find it with search_tools and read its \
             arguments with get_tool_schema first. It can run any tool, including ones that change or delete data.",
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "description": "The tool's name, as search_tools returned it."},
                    "arguments": {"type": "object", "description": "The tool's arguments, matching its inputSchema."}
                },
                "required": ["name"],
                "additionalProperties": false
            }),
            None,
            // It runs whatever it is given: nothing about it is read-only or idempotent.
            ToolAnnotations::with_title("Call tool").read_only(false).destructive(true).idempotent(false).open_world(true),
        ),
        meta(
            GET_TOOL_SCHEMA,
            "Get tool schema",
            "Read one tool's full description: its title, what it does, its inputSchema (the arguments call_tool takes for it), \
             its outputSchema and its hints.",
            json!({
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 1, "description": "The tool's name, as search_tools returned it."}},
                "required": ["name"],
                "additionalProperties": false
            }),
            Some(json!({"type": "object", "properties": {"name": {"type": "string"}, "inputSchema": {"type": "object"}}, "required": ["name", "inputSchema"]})),
            read("Get tool schema"),
        ),
        meta(
            SEARCH_TOOLS,
            "Search tools",
            "Find the tools for a task. Describe what you want to do in a few words; the best-matching tools come first, each \
             with its name, title and a one-line summary. Then read one with get_tool_schema and run it with call_tool.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1, "description": "What you want to do, e.g. \"run a saved flow\"."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT, "description": "Most tools to return."}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
            Some(json!({
                "type": "object",
                "properties": {"tools": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "title": {"type": "string"}, "summary": {"type": "string"}
                }, "required": ["name"]}}},
                "required": ["tools"]
            })),
            read("Search tools"),
        ),
    ]
});
