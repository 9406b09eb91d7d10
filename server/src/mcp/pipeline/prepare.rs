//! Stages between validation and building the request: the server arguments are taken
//! out, a run's flow inputs are checked and placed (`flow_inputs`), and a skill upload is
//! packaged (`skill_package`). Each refuses with a message and nothing sent.

use std::sync::Arc;

use gumloop_mcp_runtime::ToolDescriptor;
use gumloop_mcp_runtime::behaviour::FlowInputs;
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

use super::result::{json_of, tool_error};
use crate::behaviours::flow_inputs::{self, FlowInput};
use crate::mcp::GumloopServer;
use crate::mcp::ask::{Ask, Asked, Question};
use crate::mcp::catalog::Entry;
use crate::mcp::scope::CallOutcome;
use crate::upstream::credential::Credential;

/// The arguments the server consumes itself, as the descriptor lists them, taken out of
/// `args`; the rest are the upstream request's.
pub fn take_server_args(d: &ToolDescriptor, args: &mut Value) -> Map<String, Value> {
    let mut own = Map::new();
    if let Some(o) = args.as_object_mut() {
        for k in d.server_args {
            if let Some(v) = o.remove(*k) {
                own.insert((*k).to_owned(), v);
            }
        }
    }
    own
}

impl GumloopServer {
    /// The flow's inputs: cached, else read. An upstream failure comes back as the tool
    /// result to return.
    pub(crate) async fn fetch_flow_inputs(&self, spec: &FlowInputs, flow: &str, credential: &Credential) -> Result<Arc<Vec<FlowInput>>, CallToolResult> {
        match self.state.flow_inputs.get(credential, flow) {
            Some(hit) => Ok(hit),
            None => self.read_flow_inputs(spec, flow, credential).await,
        }
    }

    /// The flow's inputs read now with the spec's schema tool (and cached for the runs
    /// that follow).
    pub(crate) async fn read_flow_inputs(&self, spec: &FlowInputs, flow: &str, credential: &Credential) -> Result<Arc<Vec<FlowInput>>, CallToolResult> {
        let reader = self.state.catalog.get(spec.schema_tool).map(|e| e.descriptor);
        let Some((reader, schema)) = reader.and_then(|d| Some((d, d.behaviours.inputs_schema?))) else {
            return Err(tool_error(format!("cannot check flow inputs: `{}` does not describe them", spec.schema_tool)));
        };
        let mut args = Map::new();
        args.insert(schema.id_arg.to_owned(), json!(flow));
        let outcome = self.send_as(reader, Value::Object(args), credential).await.map_err(|e| tool_error(format!("cannot read the flow's inputs: {e}")))?;
        let doing = format!("reading the inputs of flow `{flow}` (nothing was started)");
        let body = json_of(outcome).map_err(|e| e.into_tool_error(&doing, json!({ "while": doing })))?;
        match flow_inputs::parse(&body, &schema) {
            Some(inputs) => Ok(self.state.flow_inputs.put(credential, flow, inputs)),
            None => Err(tool_error(format!("Gumloop listed no inputs for flow `{flow}`"))),
        }
    }

    /// Checks a run's inputs by name against the flow and puts them in the wire argument.
    pub(super) async fn place_flow_inputs(
        &self,
        entry: &Entry,
        spec: &FlowInputs,
        args: &mut Value,
        given: Value,
        credential: &Credential,
        ask: Option<&Ask>,
    ) -> Result<(), (CallToolResult, CallOutcome)> {
        let (d, properties) = (entry.descriptor, &entry.properties);
        let reject = |text: String| (tool_error(text), CallOutcome::Rejected);
        let Value::Object(given) = given else { return Err(reject(format!("`{}` must be an object of input name to value", spec.arg))) };
        if args.get(spec.wire_arg).is_some() {
            return Err(reject(format!("give `{}` or `{}` to {}, not both (nothing was started)", spec.arg, spec.wire_arg, d.name)));
        }
        let flow = args.get(spec.flow_arg).and_then(Value::as_str).unwrap_or_default().to_owned();
        let inputs = self.fetch_flow_inputs(spec, &flow, credential).await.map_err(|r| (r, CallOutcome::ToolError))?;
        let tool_args: Vec<&str> = properties.iter().map(String::as_str).collect();
        let mut given = given;
        let mut problems = flow_inputs::problems(&given, &inputs, &format!("/{}", spec.arg), d.name, &tool_args);
        let missing = flow_inputs::missing(&given, &inputs);
        // Only inputs missing, and a person to ask: they are asked for exactly those.
        if let (Some(ask), Some(schema)) = (ask.filter(|a| a.can() && !problems.is_empty() && problems.len() == missing.len()), flow_inputs::form(&missing)) {
            let names: Vec<&str> = missing.iter().map(|i| i.name.as_str()).collect();
            let question = Question {
                key: "inputs",
                message: format!("The flow `{flow}` needs {} to run: {}.", if names.len() == 1 { "an input" } else { "inputs" }, names.join(", ")),
                schema,
                what: format!("the missing inputs of flow `{flow}`"),
            };
            let check = |answer: &Map<String, Value>| {
                let mut all = given.clone();
                all.extend(answer.clone());
                flow_inputs::problems(&all, &inputs, "", d.name, &[])
            };
            match ask.ask(&question, check).await {
                Asked::Answer(answer) => {
                    given.extend(answer);
                    problems.clear();
                }
                Asked::Stop(result) => return Err((result, CallOutcome::Rejected)),
                Asked::Pending => return Err((tool_error("input required"), CallOutcome::Rejected)),
            }
        }
        if !problems.is_empty() {
            return Err(reject(format!(
                "the inputs do not match flow `{flow}` (nothing was started):\n- {}\n{}",
                problems.join("\n- "),
                flow_inputs::summary(&inputs)
            )));
        }
        args[spec.wire_arg] = flow_inputs::wire(&given, &inputs, spec);
        Ok(())
    }
}
