//! The tool catalogue, built once at start-up: MCP `Tool` objects and compiled argument
//! validators. Listing and calling never rebuild a schema.

use std::collections::HashMap;
use std::sync::Arc;

use gumloop_mcp_runtime::ToolDescriptor;

use crate::behaviours::flow_inputs::Flows;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};

/// One tool, ready to list and call.
pub struct Entry {
    /// The generated descriptor.
    pub descriptor: &'static ToolDescriptor,
    /// The compiled input schema.
    pub validator: jsonschema::Validator,
    /// Declared argument names, for "did you mean" hints.
    pub properties: Vec<String>,
    /// The MCP tool (rmcp's HTTP layer asks for it on every call to check `Mcp-Param-*` headers).
    pub tool: Tool,
}

/// Every tool, in name order.
pub struct Catalog {
    tools: Arc<Vec<Tool>>,
    entries: HashMap<&'static str, Entry>,
    flows: Option<Flows>,
}

/// A generated descriptor the server cannot serve (a codegen bug, caught at start-up).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A schema is not JSON.
    #[error("{what} of `{tool}` is not JSON: {source}")]
    NotJson { tool: &'static str, what: &'static str, source: serde_json::Error },
    /// A schema is JSON but not an object.
    #[error("{what} of `{tool}` is not a JSON object")]
    NotObject { tool: &'static str, what: &'static str },
    /// The input schema does not compile.
    #[error("input schema of `{tool}` does not compile: {message}")]
    Invalid { tool: &'static str, message: String },
    /// Two descriptors share a name.
    #[error("two tools are named `{tool}`")]
    Duplicate { tool: &'static str },
}

fn object(text: &str, what: &'static str, tool: &'static str) -> Result<JsonObject, CatalogError> {
    match serde_json::from_str(text).map_err(|source| CatalogError::NotJson { tool, what, source })? {
        serde_json::Value::Object(o) => Ok(o),
        _ => Err(CatalogError::NotObject { tool, what }),
    }
}

impl Catalog {
    /// Builds MCP tools and validators for `descriptors`.
    pub fn new(descriptors: &[&'static ToolDescriptor]) -> Result<Self, CatalogError> {
        let mut tools = Vec::with_capacity(descriptors.len());
        let mut entries = HashMap::new();
        for d in descriptors {
            let input = object(d.input_schema, "input schema", d.name)?;
            let schema = serde_json::Value::Object(input.clone());
            let validator = jsonschema::validator_for(&schema).map_err(|e| CatalogError::Invalid { tool: d.name, message: e.to_string() })?;
            let properties = input.get("properties").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()).unwrap_or_default();
            let a = d.annotations;
            // The title once, at the top level: `annotations.title` would repeat it in every
            // listing, and the protocol versions served read the top-level one.
            let mut tool = Tool::new(d.name, d.description, Arc::new(input))
                .with_title(d.title)
                .with_annotations(ToolAnnotations::new().read_only(a.read_only).destructive(a.destructive).idempotent(a.idempotent).open_world(a.open_world));
            if let Some(out) = d.output_schema {
                tool = tool.with_raw_output_schema(Arc::new(object(out, "output schema", d.name)?));
            }
            tools.push(tool.clone());
            if entries.insert(d.name, Entry { descriptor: d, validator, properties, tool }).is_some() {
                return Err(CatalogError::Duplicate { tool: d.name });
            }
        }
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { tools: Arc::new(tools), entries, flows: Flows::of(descriptors) })
    }

    /// The tools behind saved flows, if the spec declares them.
    pub fn flows(&self) -> Option<&Flows> {
        self.flows.as_ref()
    }

    /// The MCP tools, sorted by name (shared, never rebuilt).
    pub fn tools(&self) -> Arc<Vec<Tool>> {
        self.tools.clone()
    }

    /// A tool by name.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    /// The tools `keep` admits, sorted by name (a managed server's view).
    pub fn visible(&self, keep: impl Fn(&ToolDescriptor) -> bool) -> Vec<Tool> {
        self.tools.iter().filter(|t| self.entries.get(t.name.as_ref()).is_some_and(|e| keep(e.descriptor))).cloned().collect()
    }

    /// The closest name among the tools `keep` admits.
    pub fn suggest_among(&self, name: &str, keep: impl Fn(&ToolDescriptor) -> bool) -> Option<&'static str> {
        crate::text::closest(name, self.entries.values().filter(|e| keep(e.descriptor)).map(|e| e.descriptor.name))
    }

    /// The closest tool name, for "did you mean" hints.
    pub fn suggest(&self, name: &str) -> Option<&'static str> {
        crate::text::closest(name, self.entries.keys().copied())
    }
}
