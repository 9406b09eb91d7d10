//! Discovery exposure: instead of every tool, `tools/list` shows three meta-tools
//! (`search_tools`, `get_tool_schema`, `call_tool`, the names and roles of Truto's
//! `tool_exposure: discovery`), and the model finds the real tools through them. A list
//! of three costs a model a small fraction of the full one on every turn.
//!
//! `call_tool` is unwrapped into the named tool and its arguments before anything else
//! (`handler.rs`), so a call through it is the one existing call path: the same checks,
//! filters, audit record, waits, tasks, pages and links as a direct `tools/call`. Direct
//! calls of real tools keep working in discovery mode, for clients that cached a list.

mod index;
mod meta;
mod serve;

use std::sync::LazyLock;

use rmcp::model::{CallToolResult, Tool};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use index::{Doc, SearchIndex, summary};
pub use meta::{CALL_TOOL, GET_TOOL_SCHEMA, SEARCH_TOOLS};
pub(crate) use serve::Routed;

use crate::mcp::pipeline::result::invalid_arguments;

/// How an endpoint shows its tools on `tools/list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ToolExposure {
    /// Every tool the endpoint may call, with its full schema.
    #[default]
    All,
    /// Only `search_tools`, `get_tool_schema` and `call_tool`.
    Discovery,
}

impl ToolExposure {
    /// Whether it is the default (stored configs leave it out).
    pub fn is_all(&self) -> bool {
        *self == ToolExposure::All
    }
}

/// The meta-tools discovery mode lists, in name order (for `tools/list`, and for reports
/// that count what a model pays).
pub fn meta_tools() -> Vec<Tool> {
    static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| meta::METAS.iter().map(|m| m.tool.clone()).collect());
    TOOLS.clone()
}

/// One meta-tool call, its arguments checked.
pub(crate) enum MetaCall {
    /// `search_tools`.
    Search { query: String, limit: usize },
    /// `get_tool_schema`.
    Schema { name: String },
    /// `call_tool`: the real tool and its arguments.
    Call { name: String, args: Value },
}

/// What a `tools/call` of `name` is in discovery mode: `None` when it is no meta-tool (a
/// direct call of a real tool); a refusal names every problem with the arguments.
pub(crate) fn meta_call(name: &str, args: &Value) -> Option<Result<MetaCall, CallToolResult>> {
    let meta = meta::METAS.iter().find(|m| m.tool.name == name)?;
    let problems = crate::mcp::validate::violations_of(&meta.validator, &meta.properties, args);
    if !problems.is_empty() {
        return Some(Err(invalid_arguments(name, &problems)));
    }
    let text = |key: &str| args.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    Some(Ok(match name {
        SEARCH_TOOLS => {
            let limit = args.get("limit").and_then(Value::as_u64).map_or(meta::DEFAULT_LIMIT, |l| l as usize);
            MetaCall::Search { query: text("query"), limit }
        }
        GET_TOOL_SCHEMA => MetaCall::Schema { name: text("name") },
        _ => MetaCall::Call { name: text("name"), args: args.get("arguments").cloned().unwrap_or_else(|| serde_json::json!({})) },
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn exposure_reads_and_writes_snake_case_and_defaults_to_all() {
        assert_eq!(serde_json::from_value::<ToolExposure>(json!("discovery")).unwrap(), ToolExposure::Discovery);
        assert_eq!(serde_json::to_value(ToolExposure::All).unwrap(), json!("all"));
        let bad = serde_json::from_value::<ToolExposure>(json!("Discovery")).unwrap_err().to_string();
        assert!(bad.contains("unknown variant `Discovery`, expected `all` or `discovery`"), "{bad}");
        assert!(ToolExposure::default().is_all());
    }

    #[test]
    fn meta_arguments_are_checked_with_every_problem_named() {
        let Some(Ok(MetaCall::Search { query, limit })) = meta_call(SEARCH_TOOLS, &json!({"query": "run a flow"})) else { panic!("a search") };
        assert_eq!((query.as_str(), limit), ("run a flow", meta::DEFAULT_LIMIT));
        let Some(Ok(MetaCall::Call { name, args })) = meta_call(CALL_TOOL, &json!({"name": "x"})) else { panic!("a call") };
        assert_eq!((name.as_str(), args), ("x", json!({})));
        let Some(Err(refused)) = meta_call(SEARCH_TOOLS, &json!({"limit": 0, "qurey": "x"})) else { panic!("refused") };
        let text = serde_json::to_value(&refused).unwrap()["content"][0]["text"].as_str().unwrap().to_owned();
        assert!(text.starts_with("invalid arguments for `search_tools`"), "{text}");
        for part in ["\"query\" is a required property", "/limit: 0 is less than the minimum of 1", "/qurey: unknown argument `qurey`; did you mean `query`?"] {
            assert!(text.contains(part), "{part} in {text}");
        }
        let Some(Err(_)) = meta_call(CALL_TOOL, &json!({"name": "x", "arguments": []})) else { panic!("arguments must be an object") };
        assert!(meta_call("list_all_gumloop_flows", &json!({})).is_none());
    }

    #[test]
    fn meta_tools_have_titles_and_honest_hints() {
        let tools = meta_tools();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, [CALL_TOOL, GET_TOOL_SCHEMA, SEARCH_TOOLS]);
        for t in &tools {
            let a = t.annotations.as_ref().expect("annotations");
            assert!(t.title.is_some() && a.read_only_hint.is_some() && a.destructive_hint.is_some(), "{}", t.name);
        }
        let call = tools[0].annotations.as_ref().unwrap();
        assert_eq!((call.read_only_hint, call.destructive_hint), (Some(false), Some(true)), "call_tool can run anything");
        assert!(tools[1..].iter().all(|t| t.annotations.as_ref().unwrap().read_only_hint == Some(true)));
    }
}
