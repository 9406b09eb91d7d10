//! The tool catalogue, built once at start-up: MCP `Tool` objects and compiled argument
//! validators. Listing and calling never rebuild a schema.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use gumloop_mcp_runtime::{ToolDescriptor, rules};

use crate::behaviours::flow_inputs::Flows;
use crate::behaviours::projection::Paths;
use crate::behaviours::{pages, waiting};
use crate::mcp::discovery::SearchIndex;
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
    /// The paths `fields` may name, for a tool that takes it.
    pub fields: Option<Paths>,
}

/// Every tool, in name order.
pub struct Catalog {
    tools: Arc<Vec<Tool>>,
    entries: HashMap<&'static str, Entry>,
    flows: Option<Flows>,
    /// `search_tools`' index, built on first use (only discovery mode needs it).
    search: OnceLock<SearchIndex>,
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
    /// A tool takes `fields` but its output schema declares none.
    #[error("`{tool}` takes `fields` but its output schema declares no field")]
    NoFields { tool: &'static str },
    /// Two descriptors share a name.
    #[error("two tools are named `{tool}`")]
    Duplicate { tool: &'static str },
}

/// The paths `fields` may name on `d`: its output's, and a long-running tool's status
/// tool's (a wait merges the status record in). A projection keeps the top-level keys
/// the server adds to the record: a walk's or a wait's summary, a flow's inputs schema.
fn fields_of(d: &'static ToolDescriptor, out: &JsonObject, all: &[&'static ToolDescriptor]) -> Result<Paths, CatalogError> {
    let own = serde_json::Value::Object(out.clone());
    let status = d.async_spec.and_then(|a| all.iter().find(|s| s.name == a.status_tool)).and_then(|s| s.output_schema);
    let status: Option<serde_json::Value> = status.map(|s| object(s, "output schema", d.name)).transpose()?.map(serde_json::Value::Object);
    let mut added = Vec::new();
    if d.server_args.contains(&rules::MAX_ITEMS) {
        added.push(pages::WALK.to_owned());
    }
    if d.async_spec.is_some() {
        added.push(waiting::SUMMARY.to_owned());
    }
    added.extend(d.behaviours.inputs_schema.map(|s| s.into.to_owned()));
    let schemas: Vec<&serde_json::Value> = std::iter::once(&own).chain(status.as_ref()).collect();
    Paths::of(&schemas, added).ok_or(CatalogError::NoFields { tool: d.name })
}

/// The behaviour hints, each only where it says something beyond the protocol's default:
/// `readOnlyHint` always (a connector directory wants it or `destructiveHint` on every
/// tool); `destructiveHint` and `idempotentHint` mean something only for a tool that
/// writes, so a read-only tool carries neither, and `idempotentHint` only when true (the
/// default is false); `openWorldHint` only when false (the default is true). Every tool
/// pays for these in every listing.
fn hints(a: gumloop_mcp_runtime::Annotations) -> ToolAnnotations {
    let mut h = ToolAnnotations::new().read_only(a.read_only);
    if !a.read_only {
        h = h.destructive(a.destructive);
        if a.idempotent {
            h = h.idempotent(true);
        }
    }
    if !a.open_world {
        h = h.open_world(false);
    }
    h
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
            // The title once, at the top level: `annotations.title` would repeat it in every
            // listing, and the protocol versions served read the top-level one.
            let mut tool = Tool::new(d.name, d.description, Arc::new(input)).with_title(d.title).with_annotations(hints(d.annotations));
            let mut fields = None;
            if let Some(out) = d.output_schema {
                let out = object(out, "output schema", d.name)?;
                if d.server_args.contains(&rules::FIELDS) {
                    fields = Some(fields_of(d, &out, descriptors)?);
                }
                tool = tool.with_raw_output_schema(Arc::new(out));
            }
            tools.push(tool.clone());
            if entries.insert(d.name, Entry { descriptor: d, validator, properties, tool, fields }).is_some() {
                return Err(CatalogError::Duplicate { tool: d.name });
            }
        }
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { tools: Arc::new(tools), entries, flows: Flows::of(descriptors), search: OnceLock::new() })
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

    /// The search index over every tool (each search keeps only those its caller may see).
    pub fn search_index(&self) -> &SearchIndex {
        self.search.get_or_init(|| {
            SearchIndex::new(self.entries.values().map(|e| {
                let d = e.descriptor;
                crate::mcp::discovery::Doc { name: d.name, title: d.title, tags: d.tags, description: d.description, kind: Some(d.kind), path: d.path_template }
            }))
        })
    }

    /// The closest tool name, for "did you mean" hints.
    pub fn suggest(&self, name: &str) -> Option<&'static str> {
        crate::text::closest(name, self.entries.keys().copied())
    }
}
