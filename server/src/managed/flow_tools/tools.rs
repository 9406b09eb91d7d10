//! A managed server's flow tools as data: the flows of a list answer, their tool names
//! (unique ASCII slugs under the prefix) and tools (the flow's inputs as the schema), and
//! a flow tool's arguments turned into the run tool's.

use std::collections::HashSet;
use std::sync::Arc;

use heck::ToSnakeCase as _;
use rmcp::model::Tool;
use serde_json::{Map, Value, json};

use gumloop_mcp_runtime::behaviour::FlowTools as Listing;
use gumloop_mcp_runtime::{pointer, rules};

use crate::behaviours::flow_inputs::{self, FlowInput, Flows};
use crate::behaviours::waiting;

/// The longest tool name (what MCP clients commonly accept).
pub const MAX_NAME: usize = gumloop_mcp_runtime::rules::MAX_TOOL_NAME;

/// One saved flow, as `list_all_gumloop_flows` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// `saved_item_id`.
    pub id: String,
    /// Its name in Gumloop.
    pub name: String,
    /// Its description, if it has one.
    pub description: Option<String>,
    /// `created_ts`, which orders flows so older ones keep the plain name.
    pub created: Option<String>,
}

/// The flows of a list answer, where the spec's `flow_tools` says they are; `None` when
/// the answer has no such list.
pub fn parse_flows(body: &Value, spec: &Listing) -> Option<Vec<Flow>> {
    let items = pointer::get(body, spec.items)?.as_array()?;
    let text = |v: &Value, p: &str| pointer::str_at(v, p).map(str::to_owned);
    Some(
        items
            .iter()
            .filter_map(|f| {
                Some(Flow {
                    id: text(f, spec.id)?,
                    name: text(f, spec.name).unwrap_or_default(),
                    description: text(f, spec.description).filter(|d| !d.trim().is_empty()),
                    created: spec.created.and_then(|p| text(f, p)),
                })
            })
            .collect(),
    )
}

/// A flow name as a tool-name slug: heck's snake case reduced to ASCII letters, digits
/// and single underscores (other characters become separators).
pub fn slug(name: &str) -> String {
    let snake = name.to_snake_case();
    let mut out = String::with_capacity(snake.len());
    for c in snake.chars() {
        let c = if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' };
        if c != '_' || !(out.is_empty() || out.ends_with('_')) {
            out.push(c);
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// Unique tool names for `flows`, in their order: `prefix` + slug, at most [`MAX_NAME`]
/// characters, `_2`, `_3`… on a collision, and never a name `taken` claims (the catalogue).
pub fn names(flows: &[Flow], prefix: &str, taken: impl Fn(&str) -> bool) -> Vec<String> {
    let room = MAX_NAME - prefix.len();
    let mut used = HashSet::new();
    flows
        .iter()
        .map(|f| {
            let base = [slug(&f.name), slug(&f.id)].into_iter().find(|s| !s.is_empty()).unwrap_or_else(|| "flow".to_owned());
            (1usize..)
                .map(|n| {
                    let suffix = if n == 1 { String::new() } else { format!("_{n}") };
                    let stem = base[..base.len().min(room - suffix.len())].trim_end_matches('_');
                    format!("{prefix}{stem}{suffix}")
                })
                .find(|name| !taken(name) && !used.contains(name))
                .inspect(|name| {
                    used.insert(name.clone());
                })
                .expect("an unbounded range finds a free name")
        })
        .collect()
}

/// One flow's tool.
#[derive(Debug, Clone)]
pub struct FlowTool {
    /// The flow.
    pub flow: Flow,
    /// Its inputs, as the tool's schema shows them.
    pub inputs: Arc<Vec<FlowInput>>,
    /// The MCP tool.
    pub tool: Tool,
}

/// The tool of `flow`, named `name`: the flow's inputs as its schema plus the run tool's
/// `wait` and `fields` arguments (unless an input has that name), the run tool's annotations and
/// output schema, and the flow's description.
pub fn flow_tool(flow: Flow, inputs: Arc<Vec<FlowInput>>, name: String, run: &Tool, flows: &Flows, title: &str) -> FlowTool {
    let mut schema = flow_inputs::json_schema(&inputs);
    let run_props = run.input_schema.get("properties");
    for arg in passed_on() {
        if let Some(p) = run_props.and_then(|p| p.get(arg)).filter(|_| !inputs.iter().any(|i| i.name == arg)) {
            schema["properties"][arg] = p.clone();
        }
    }
    let Value::Object(schema) = schema else { unreachable!("json_schema returns an object") };
    let description = flow.description.clone().unwrap_or_else(|| format!("Runs the {title} flow “{}” ({} {}).", flow.name, flows.inputs.flow_arg, flow.id));
    let mut tool = run.clone();
    tool.name = name.into();
    tool.title = Some(flow.name.clone()).filter(|t| !t.is_empty());
    tool.description = Some(description.into());
    tool.input_schema = Arc::new(schema);
    FlowTool { flow, inputs, tool }
}

/// The run tool's server arguments a flow tool takes too (unless an input has the name).
fn passed_on() -> impl Iterator<Item = &'static str> {
    waiting::ARGS.into_iter().chain([rules::FIELDS])
}

/// A server's flow tools, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct FlowSet {
    /// The tools.
    pub tools: Vec<FlowTool>,
    /// The catalogue tool they run as.
    pub runs_as: &'static str,
}

impl FlowSet {
    /// A tool by name.
    pub fn get(&self, name: &str) -> Option<&FlowTool> {
        self.tools.iter().find(|t| t.tool.name == name)
    }

    /// Whether a client would see the same tools (names, descriptions, schemas).
    pub fn same_as(&self, other: &FlowSet) -> bool {
        let key = |t: &FlowTool| (t.tool.name.clone(), t.tool.title.clone(), t.tool.description.clone(), t.tool.input_schema.clone());
        self.tools.len() == other.tools.len() && self.tools.iter().map(key).eq(other.tools.iter().map(key))
    }
}

/// A flow tool's arguments as `create_a_gumloop_flow_run` arguments, or every problem
/// with them (the run tool's input checks, pointers at the top level).
pub fn run_args(t: &FlowTool, args: &Value, flows: &Flows) -> Result<Value, Vec<String>> {
    let Value::Object(given) = args else { return Err(vec!["/: the arguments must be an object of input name to value".into()]) };
    let mut given = given.clone();
    let mut run = Map::new();
    run.insert(flows.inputs.flow_arg.into(), json!(t.flow.id));
    let mut problems = Vec::new();
    for arg in passed_on().filter(|a| !t.inputs.iter().any(|i| i.name == *a)) {
        let Some(v) = given.remove(arg) else { continue };
        if arg == rules::FIELDS {
            // The run tool checks it against its output schema.
            run.insert(arg.into(), v);
            continue;
        }
        let flag = arg == waiting::ARGS[0];
        let ok = if flag { v.is_boolean() } else { v.as_u64().is_some_and(|s| rules::WAIT_TIMEOUT_RANGE.contains(&s)) };
        if !ok {
            let quoted = crate::text::quote(&v);
            problems.push(if flag {
                format!("/{arg}: must be true or false, got {quoted}")
            } else {
                format!("/{arg}: must be a whole number of seconds from 1 to 600, got {quoted}")
            });
        }
        run.insert(arg.into(), v);
    }
    problems.extend(flow_inputs::problems(&given, &t.inputs, "", flows.run.name, &[]));
    if !problems.is_empty() {
        return Err(problems);
    }
    run.insert(flows.inputs.wire_arg.into(), flow_inputs::wire(&given, &t.inputs, &flows.inputs));
    Ok(Value::Object(run))
}

/// When the `problems` (their number) of a flow tool's arguments are exactly its missing
/// inputs: the run tool's arguments with the given inputs by name (its `inputs` server
/// argument), so the run asks the person for the rest.
pub fn asking_args(t: &FlowTool, args: &Value, flows: &Flows, problems: usize) -> Option<Value> {
    let Value::Object(given) = args else { return None };
    let inputs: Map<String, Value> = given.iter().filter(|(k, _)| t.inputs.iter().any(|i| &i.name == *k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if problems == 0 || flow_inputs::missing(&inputs, &t.inputs).len() != problems || inputs.len() + waiting_args(t, given) != given.len() {
        return None;
    }
    let mut run: Map<String, Value> = given.iter().filter(|(k, _)| !inputs.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    run.insert(flows.inputs.flow_arg.into(), json!(t.flow.id));
    run.insert(flows.inputs.arg.into(), Value::Object(inputs));
    Some(Value::Object(run))
}

/// How many of `given` are the run tool's `wait` arguments (not shadowed by an input).
fn waiting_args(t: &FlowTool, given: &Map<String, Value>) -> usize {
    waiting::ARGS.into_iter().filter(|a| given.contains_key(*a) && !t.inputs.iter().any(|i| i.name == *a)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: &str, name: &str) -> Flow {
        Flow { id: id.into(), name: name.into(), description: None, created: None }
    }

    #[test]
    fn slugs_are_ascii_snake_case() {
        assert_eq!(slug("Competitor Pricing Scraper"), "competitor_pricing_scraper");
        assert_eq!(slug("  CSV -> Sheet (v2)!! "), "csv_sheet_v2");
        assert_eq!(slug("Café Übersicht"), "caf_bersicht");
        assert_eq!(slug("日本語"), "");
        assert_eq!(slug("HTTPRequest"), "http_request");
    }

    #[test]
    fn names_are_unique_short_and_clear_of_the_catalogue() {
        let long = "a very long flow name that goes on and on well past the limit of tool names";
        let flows =
            [flow("f1", "Report"), flow("f2", "report"), flow("f3", "REPORT!"), flow("f4", "日本語"), flow("f5", "Taken"), flow("f6", long), flow("f7", long)];
        let n = names(&flows, "run_gumloop_flow_", |n| n == "run_gumloop_flow_taken");
        assert_eq!(
            &n[..5],
            ["run_gumloop_flow_report", "run_gumloop_flow_report_2", "run_gumloop_flow_report_3", "run_gumloop_flow_f4", "run_gumloop_flow_taken_2"]
        );
        assert!(n.iter().all(|x| x.len() <= MAX_NAME && x.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')), "{n:?}");
        assert_ne!(n[5], n[6]);
        assert!(n[6].ends_with("_2") && n[6].len() <= MAX_NAME, "{n:?}");
    }

    #[test]
    fn arguments_become_a_run() {
        let run = Tool::new(
            "create_a_gumloop_flow_run",
            "run",
            Arc::new(serde_json::from_str(r#"{"type":"object","properties":{"wait":{"type":"boolean"},"wait_timeout_seconds":{"type":"integer"}}}"#).unwrap()),
        );
        let inputs = Arc::new(vec![FlowInput { name: "target_company".into(), data_type: "string".into(), description: Some("Who".into()), file_hint: None }]);
        let flows = Flows::of(gumloop_mcp_generated::resources::ALL_TOOLS).expect("the spec declares flows");
        let t = flow_tool(flow("flow_pricing", "Pricing"), inputs, "run_gumloop_flow_pricing".into(), &run, &flows, "Gumloop");
        assert_eq!(t.tool.description.as_deref(), Some("Runs the Gumloop flow “Pricing” (saved_item_id flow_pricing)."));
        assert_eq!(t.tool.input_schema["required"], json!(["target_company"]));
        assert!(t.tool.input_schema["properties"].get("wait").is_some());
        let ok = run_args(&t, &json!({"target_company": "Acme", "wait": true}), &flows).unwrap();
        assert_eq!(ok, json!({"saved_item_id": "flow_pricing", "wait": true, "pipeline_inputs": [{"input_name": "target_company", "value": "Acme"}]}));
        let bad = run_args(&t, &json!({"target_compny": "Acme", "wait": "yes", "wait_timeout_seconds": 0}), &flows).unwrap_err();
        assert_eq!(bad.len(), 4, "{bad:#?}");
        assert!(bad.contains(&"/target_compny: the flow has no input `target_compny`; did you mean `target_company`?".to_owned()), "{bad:#?}");
        assert!(bad.contains(&"/target_company: missing (Who)".to_owned()), "{bad:#?}");
        assert!(bad.iter().any(|p| p.starts_with("/wait: must be true or false")), "{bad:#?}");
        assert!(bad.iter().any(|p| p.starts_with("/wait_timeout_seconds: must be a whole number")), "{bad:#?}");
    }
}
