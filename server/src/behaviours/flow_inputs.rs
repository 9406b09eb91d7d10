//! Saved flows' dynamic inputs, as the spec's `inputs_schema` and `flow_inputs`
//! behaviours locate them: a flow's inputs are shown as a JSON Schema next to the flow,
//! and a run's inputs by name are checked against them before anything starts, then sent
//! in the wire form the spec names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gumloop_mcp_runtime::behaviour::{FlowInputs, FlowTools, InputsSchema};
use gumloop_mcp_runtime::{ToolDescriptor, pointer};
use serde_json::{Map, Value, json};

use crate::text::{QUOTE_CHARS, clip, closest};
use crate::upstream::credential::Credential;

/// How long a flow's inputs are trusted before they are fetched again.
pub const TTL: Duration = Duration::from_secs(60);

/// The tools behind saved flows, linked by their behaviours: the list tool that declares
/// `flow_tools`, the run tool it names (declaring `flow_inputs`), and the tool that reads
/// a flow's inputs (declaring `inputs_schema`). Codegen checks the links.
#[derive(Debug, Clone, Copy)]
pub struct Flows {
    /// The tool that lists flows.
    pub list: &'static ToolDescriptor,
    /// Where the flows are in its result.
    pub listing: FlowTools,
    /// The tool that runs a flow.
    pub run: &'static ToolDescriptor,
    /// How it takes inputs.
    pub inputs: FlowInputs,
    /// The tool that reads a flow's inputs.
    pub reader: &'static ToolDescriptor,
    /// Where the inputs are in its result.
    pub schema: InputsSchema,
}

impl Flows {
    /// The flows of `tools`, if the spec declares them.
    pub fn of(tools: &[&'static ToolDescriptor]) -> Option<Flows> {
        let find = |name: &str| tools.iter().copied().find(|d| d.name == name);
        let list = tools.iter().copied().find(|d| d.behaviours.flow_tools.is_some())?;
        let listing = list.behaviours.flow_tools?;
        let run = find(listing.run_tool)?;
        let inputs = run.behaviours.flow_inputs?;
        let reader = find(inputs.schema_tool)?;
        let schema = reader.behaviours.inputs_schema?;
        Some(Flows { list, listing, run, inputs, reader, schema })
    }
}

/// One declared input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInput {
    /// The input name.
    pub name: String,
    /// Its data type as upstream says it (text when absent).
    pub data_type: String,
    /// Upstream's description, if any.
    pub description: Option<String>,
    /// What a model is told of a file input (the spec's `file_hint`), for file inputs.
    pub file_hint: Option<&'static str>,
}

/// The inputs in a record of the flow, `None` when it has no inputs list.
pub fn parse(record: &Value, spec: &InputsSchema) -> Option<Vec<FlowInput>> {
    let list = pointer::get(record, spec.inputs)?.as_array()?;
    Some(
        list.iter()
            .filter_map(|i| {
                let data_type = pointer::str_at(i, spec.data_type).unwrap_or("string").to_owned();
                Some(FlowInput {
                    name: pointer::str_at(i, spec.name)?.to_owned(),
                    file_hint: (data_type == spec.file_type).then_some(spec.file_hint),
                    data_type,
                    description: pointer::str_at(i, spec.description).map(str::to_owned),
                })
            })
            .collect(),
    )
}

fn describe(i: &FlowInput) -> String {
    let own = i.description.clone().unwrap_or_default();
    match i.file_hint {
        Some(how) if own.is_empty() => how.to_owned(),
        Some(how) => format!("{own}. {how}"),
        None => own,
    }
}

/// The inputs as a JSON Schema of an object of input name to value.
pub fn json_schema(inputs: &[FlowInput]) -> Value {
    let mut properties = Map::new();
    for i in inputs {
        let mut p = json!({"type": "string"});
        let d = describe(i);
        if !d.is_empty() {
            p["description"] = json!(d);
        }
        if i.file_hint.is_some() {
            p["x-gumloop-data-type"] = json!(i.data_type);
        }
        properties.insert(i.name.clone(), p);
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": inputs.iter().map(|i| i.name.clone()).collect::<Vec<_>>(),
        "additionalProperties": false,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every problem with `given` (at `at`, e.g. `/inputs`) against the flow's inputs:
/// unknown names (with a hint), arguments of `tool` put inside, values that are not
/// text, and missing inputs.
pub fn problems(given: &Map<String, Value>, inputs: &[FlowInput], at: &str, tool: &str, tool_args: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in given {
        let shown = clip(name, QUOTE_CHARS);
        if tool_args.contains(&name.as_str()) && !inputs.iter().any(|i| &i.name == name) {
            out.push(format!(
                "{at}/{shown}: `{shown}` is an argument of {tool}, not a flow input; pass it next to `{}`, not inside",
                at.trim_start_matches('/')
            ));
        } else if !inputs.iter().any(|i| &i.name == name) {
            let hint = closest(name, inputs.iter().map(|i| i.name.as_str())).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
            out.push(format!("{at}/{shown}: the flow has no input `{shown}`{hint}"));
        } else if !value.is_string() {
            out.push(format!("{at}/{shown}: must be text (a string), got {}", kind(value)));
        }
    }
    for i in inputs {
        if !given.contains_key(&i.name) {
            let d = describe(i);
            let about = if d.is_empty() { String::new() } else { format!(" ({d})") };
            out.push(format!("{at}/{}: missing{about}", i.name));
        }
    }
    out
}

/// The flow's inputs `given` lacks, in the flow's order.
pub fn missing<'a>(given: &Map<String, Value>, inputs: &'a [FlowInput]) -> Vec<&'a FlowInput> {
    inputs.iter().filter(|i| !given.contains_key(&i.name)).collect()
}

/// The elicitation form that asks a person for `missing` inputs: a flat object of
/// text fields with their names and descriptions (every input's value is text). `None`
/// when one of them cannot be asked for in a form: a file input needs an upload first.
pub fn form(missing: &[&FlowInput]) -> Option<Value> {
    let mut properties = Map::new();
    for i in missing {
        if i.file_hint.is_some() {
            return None;
        }
        let mut p = json!({"type": "string", "title": i.name});
        if let Some(d) = i.description.as_deref().filter(|d| !d.is_empty()) {
            p["description"] = json!(d);
        }
        properties.insert(i.name.clone(), p);
    }
    Some(json!({"type": "object", "properties": properties, "required": missing.iter().map(|i| i.name.clone()).collect::<Vec<_>>()}))
}

/// The wire form the spec names, in the flow's order.
pub fn wire(given: &Map<String, Value>, inputs: &[FlowInput], spec: &FlowInputs) -> Value {
    Value::Array(
        inputs
            .iter()
            .filter_map(|i| {
                let v = given.get(&i.name).and_then(Value::as_str)?;
                let mut entry = Map::new();
                entry.insert(spec.wire_name.to_owned(), json!(i.name));
                entry.insert(spec.wire_value.to_owned(), json!(v));
                Some(Value::Object(entry))
            })
            .collect(),
    )
}

/// A one-line summary of the flow's inputs, for error messages.
pub fn summary(inputs: &[FlowInput]) -> String {
    if inputs.is_empty() {
        return "the flow takes no inputs".to_owned();
    }
    let parts: Vec<String> = inputs.iter().map(|i| format!("{} ({})", i.name, i.data_type)).collect();
    format!("the flow's inputs: {}", parts.join(", "))
}

/// Flows' inputs per account and flow, kept for [`TTL`].
#[derive(Debug, Default)]
pub struct InputCache {
    entries: Mutex<HashMap<CacheKey, Cached>>,
}

/// When an entry was fetched, and the inputs.
type Cached = (Instant, Arc<Vec<FlowInput>>);

/// (account fingerprint, flow id).
type CacheKey = ([u8; 32], String);

/// Which account a cache entry belongs to (a hash: the cache never holds a key).
fn account(c: &Credential) -> [u8; 32] {
    c.fingerprint()
}

impl InputCache {
    /// A fresh entry, if there is one.
    pub fn get(&self, c: &Credential, flow: &str) -> Option<Arc<Vec<FlowInput>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&(account(c), flow.to_owned())).filter(|(at, _)| at.elapsed() < TTL).map(|(_, v)| v.clone())
    }

    /// Remembers a flow's inputs.
    pub fn put(&self, c: &Credential, flow: &str, inputs: Vec<FlowInput>) -> Arc<Vec<FlowInput>> {
        let inputs = Arc::new(inputs);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: expired entries go whenever the map grows large.
        if entries.len() > 10_000 {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
        }
        entries.insert((account(c), flow.to_owned()), (Instant::now(), inputs.clone()));
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A made-up API shape: the stage reads wherever the spec points.
    const SCHEMA: InputsSchema = InputsSchema {
        id_arg: "id",
        id: "/flow/key",
        inputs: "/flow/fields",
        name: "/label",
        data_type: "/kind",
        description: "/help",
        file_type: "upload",
        file_hint: "Upload the file first and pass its name.",
        into: "fields_schema",
    };
    const RUN: FlowInputs = FlowInputs { arg: "values", flow_arg: "flow", wire_arg: "wire", wire_name: "n", wire_value: "v", schema_tool: "read_flow" };

    fn pricing() -> Vec<FlowInput> {
        parse(
            &json!({"flow": {"fields": [
                {"label": "target_company", "kind": "string", "help": "The competitor to research"},
                {"label": "brief", "kind": "upload", "help": null}
            ]}}),
            &SCHEMA,
        )
        .unwrap()
    }

    #[test]
    fn inputs_become_a_schema() {
        let s = json_schema(&pricing());
        assert_eq!(s["required"], json!(["target_company", "brief"]));
        assert_eq!(s["properties"]["target_company"], json!({"type": "string", "description": "The competitor to research"}));
        assert_eq!(s["properties"]["brief"]["description"], "Upload the file first and pass its name.");
        assert_eq!(s["additionalProperties"], false);
    }

    #[test]
    fn every_problem_at_once() {
        let given = json!({"target_compny": "X", "flow": "flow_1", "brief": 5}).as_object().unwrap().clone();
        let p = problems(&given, &pricing(), "/values", "run_flow", &["flow", "wait"]);
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p.iter().any(|l| l.contains("no input `target_compny`; did you mean `target_company`?")));
        assert!(p.iter().any(|l| l.starts_with("/values/flow: `flow` is an argument of run_flow")));
        assert!(p.iter().any(|l| l == "/values/brief: must be text (a string), got a number"));
        assert!(p.iter().any(|l| l.starts_with("/values/target_company: missing (The competitor to research)")));
        let ok = json!({"target_company": "Acme", "brief": "brief.pdf"}).as_object().unwrap().clone();
        assert!(problems(&ok, &pricing(), "", "run_flow", &[]).is_empty());
        assert_eq!(wire(&ok, &pricing(), &RUN), json!([{"n": "target_company", "v": "Acme"}, {"n": "brief", "v": "brief.pdf"}]));
    }

    #[test]
    fn missing_inputs_become_a_form_unless_one_is_a_file() {
        let inputs = pricing();
        let given = json!({"brief": "b.pdf"}).as_object().unwrap().clone();
        let missing = missing(&given, &inputs);
        assert_eq!(missing.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["target_company"]);
        assert_eq!(
            form(&missing).unwrap(),
            json!({"type": "object", "required": ["target_company"],
                "properties": {"target_company": {"type": "string", "title": "target_company", "description": "The competitor to research"}}})
        );
        let none = Map::new();
        assert!(form(&super::missing(&none, &inputs)).is_none(), "a file input cannot be asked for");
    }

    #[test]
    fn the_cache_is_per_account_and_flow() {
        let cache = InputCache::default();
        let a = Credential { api_key: Some(crate::upstream::credential::Secret::new("k1")), ..Credential::default() };
        let b = Credential { api_key: Some(crate::upstream::credential::Secret::new("k2")), ..Credential::default() };
        cache.put(&a, "flow_1", pricing());
        assert!(cache.get(&a, "flow_1").is_some());
        assert!(cache.get(&b, "flow_1").is_none());
        assert!(cache.get(&a, "flow_2").is_none());
    }
}
