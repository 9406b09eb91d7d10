//! `mcp/tools.json`: the `tools` array of an unfiltered `tools/list`, pretty-printed.

use serde_json::{Map, Value, json};

use crate::model::{Model, ToolIr};

/// The MCP Tool object of one tool. The title is at the top level and in the annotations,
/// and every hint is explicit (clients' directories require `readOnlyHint` and
/// `destructiveHint` on every tool; the spec's defaults differ from MCP's).
pub fn tool_json(t: &ToolIr) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(t.name));
    o.insert("title".into(), json!(t.title));
    o.insert("description".into(), json!(t.description));
    o.insert("inputSchema".into(), t.input_schema.clone());
    if let Some(s) = &t.output_schema {
        o.insert("outputSchema".into(), s.clone());
    }
    let a = t.annotations;
    o.insert(
        "annotations".into(),
        json!({
            "title": t.title,
            "readOnlyHint": a.read_only,
            "destructiveHint": a.destructive,
            "idempotentHint": a.idempotent,
            "openWorldHint": a.open_world,
        }),
    );
    Value::Object(o)
}

/// Every tool, sorted by name, as pretty JSON with a trailing newline.
pub fn emit_tools_json(model: &Model) -> String {
    let mut tools: Vec<&ToolIr> = model.resources.iter().flat_map(|r| &r.tools).collect();
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    let arr = Value::Array(tools.into_iter().map(tool_json).collect());
    let mut s = serde_json::to_string_pretty(&arr).expect("JSON values serialise");
    s.push('\n');
    s
}
