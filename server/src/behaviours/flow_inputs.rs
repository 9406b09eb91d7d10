//! Saved flows' dynamic inputs. Gumloop lists a flow's inputs as `{name, data_type,
//! description}`; the server shows them as a JSON Schema next to the flow, and checks a
//! run's `inputs` (name → value) against them before anything starts, then sends them
//! in the wire form, `pipeline_inputs: [{input_name, value}]`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::text::closest;
use crate::upstream::credential::Credential;

/// The tool that runs flows (it takes `inputs`).
pub const RUN_TOOL: &str = "create_a_gumloop_flow_run";
/// The tool that reads a flow's inputs (its result gains `inputs_schema`).
pub const INPUTS_TOOL: &str = "get_single_gumloop_automation_by_id";
/// How long a flow's inputs are trusted before they are fetched again.
pub const TTL: Duration = Duration::from_secs(60);

/// One declared input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInput {
    /// The input name (`input_name` on the wire).
    pub name: String,
    /// `string` or `file`.
    pub data_type: String,
    /// Gumloop's description, if any.
    pub description: Option<String>,
}

/// The inputs out of a `get_inputs` answer, `None` when it has no `inputs` list.
pub fn parse(record: &Value) -> Option<Vec<FlowInput>> {
    let list = record.get("inputs")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|i| {
                Some(FlowInput {
                    name: i.get("name")?.as_str()?.to_owned(),
                    data_type: i.get("data_type").and_then(Value::as_str).unwrap_or("string").to_owned(),
                    description: i.get("description").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect(),
    )
}

fn describe(i: &FlowInput) -> String {
    let own = i.description.clone().unwrap_or_default();
    if i.data_type == "file" {
        let how = "A file input: upload the file with create_a_gumloop_file and pass the file_name it returns.";
        if own.is_empty() { how.to_owned() } else { format!("{own}. {how}") }
    } else {
        own
    }
}

/// The inputs as the JSON Schema of `create_a_gumloop_flow_run`'s `inputs`.
pub fn json_schema(inputs: &[FlowInput]) -> Value {
    let mut properties = Map::new();
    for i in inputs {
        let mut p = json!({"type": "string"});
        let d = describe(i);
        if !d.is_empty() {
            p["description"] = json!(d);
        }
        if i.data_type == "file" {
            p["x-gumloop-data-type"] = json!("file");
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

/// Every problem with `given` against the flow's inputs: unknown names (with a hint),
/// tool arguments put inside `inputs`, values that are not text, and missing inputs.
pub fn problems(given: &Map<String, Value>, inputs: &[FlowInput], tool_args: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in given {
        let shown = crate::text::clip(name, crate::text::QUOTE_CHARS);
        if tool_args.contains(&name.as_str()) && !inputs.iter().any(|i| &i.name == name) {
            out.push(format!("/inputs/{name}: `{name}` is an argument of {RUN_TOOL}, not a flow input; pass it next to `inputs`, not inside"));
        } else if !inputs.iter().any(|i| &i.name == name) {
            let hint = closest(name, inputs.iter().map(|i| i.name.as_str())).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
            out.push(format!("/inputs/{shown}: the flow has no input `{shown}`{hint}"));
        } else if !value.is_string() {
            out.push(format!("/inputs/{shown}: must be text (a string), got {}", kind(value)));
        }
    }
    for i in inputs {
        if !given.contains_key(&i.name) {
            let d = describe(i);
            let about = if d.is_empty() { String::new() } else { format!(" ({d})") };
            out.push(format!("/inputs/{}: missing{about}", i.name));
        }
    }
    out
}

/// The wire form, in the flow's order.
pub fn wire(given: &Map<String, Value>, inputs: &[FlowInput]) -> Value {
    Value::Array(inputs.iter().filter_map(|i| given.get(&i.name).and_then(Value::as_str).map(|v| json!({"input_name": i.name, "value": v}))).collect())
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

    fn pricing() -> Vec<FlowInput> {
        parse(&json!({"inputs": [
            {"name": "target_company", "data_type": "string", "description": "The competitor to research"},
            {"name": "brief", "data_type": "file", "description": null}
        ]}))
        .unwrap()
    }

    #[test]
    fn inputs_become_a_schema() {
        let s = json_schema(&pricing());
        assert_eq!(s["required"], json!(["target_company", "brief"]));
        assert_eq!(s["properties"]["target_company"], json!({"type": "string", "description": "The competitor to research"}));
        assert!(s["properties"]["brief"]["description"].as_str().unwrap().contains("create_a_gumloop_file"));
        assert_eq!(s["additionalProperties"], false);
    }

    #[test]
    fn every_problem_at_once() {
        let given = json!({"target_compny": "X", "saved_item_id": "flow_1", "brief": 5}).as_object().unwrap().clone();
        let p = problems(&given, &pricing(), &["saved_item_id", "wait"]);
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p.iter().any(|l| l.contains("no input `target_compny`; did you mean `target_company`?")));
        assert!(p.iter().any(|l| l.starts_with("/inputs/saved_item_id: `saved_item_id` is an argument")));
        assert!(p.iter().any(|l| l == "/inputs/brief: must be text (a string), got a number"));
        assert!(p.iter().any(|l| l.starts_with("/inputs/target_company: missing (The competitor to research)")));
        let ok = json!({"target_company": "Acme", "brief": "brief.pdf"}).as_object().unwrap().clone();
        assert!(problems(&ok, &pricing(), &[]).is_empty());
        assert_eq!(wire(&ok, &pricing()), json!([{"input_name": "target_company", "value": "Acme"}, {"input_name": "brief", "value": "brief.pdf"}]));
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
