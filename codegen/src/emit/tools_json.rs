//! `mcp/tools.json`: the `tools` array of an unfiltered `tools/list`, pretty-printed.

use serde_json::{Map, Value, json};

use crate::model::{Model, ToolIr};

/// The MCP Tool object of one tool, as the server serves it. The title is at the top level
/// only; the hints say only what MCP's defaults do not: `readOnlyHint` always (connector
/// directories want it or `destructiveHint` on every tool), `destructiveHint` and a true
/// `idempotentHint` only on tools that write, a false `openWorldHint` only.
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
    let mut hints = Map::new();
    hints.insert("readOnlyHint".into(), json!(a.read_only));
    if !a.read_only {
        hints.insert("destructiveHint".into(), json!(a.destructive));
        if a.idempotent {
            hints.insert("idempotentHint".into(), json!(true));
        }
    }
    if !a.open_world {
        hints.insert("openWorldHint".into(), json!(false));
    }
    o.insert("annotations".into(), Value::Object(hints));
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
