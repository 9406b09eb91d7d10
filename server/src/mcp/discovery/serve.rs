//! The meta-tools' answers, under the request's scope: what it may see is all they find,
//! describe or call.

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResponse, CallToolResult, Tool};
use serde_json::{Value, json};

use super::index::{Doc, SearchIndex, summary};
use super::{MetaCall, ToolExposure, meta_call};
use crate::mcp::GumloopServer;
use crate::mcp::scope::Scope;

/// A `tools/call` after discovery mode had its look.
pub(crate) enum Routed {
    /// Run this tool with these arguments, on the one call path (a direct call, or what
    /// `call_tool` named).
    Call(String, Value),
    /// Answered already (a search, a schema, or refused meta-tool arguments).
    Answered(Result<CallToolResponse, McpError>),
}

impl GumloopServer {
    /// How the request's endpoint shows its tools: a managed URL as its config says,
    /// `/mcp` and stdio as `--tool-exposure` says (whoever signed in to `/mcp`).
    pub(crate) fn exposure(&self, scope: Option<&Scope>) -> ToolExposure {
        match (&self.scoped, scope) {
            (Some(_), Some(scope)) => scope.access.exposure(),
            _ => self.exposure,
        }
    }

    /// A `tools/call` of `name`: in discovery mode a meta-tool is answered here, and
    /// `call_tool` becomes the call of the tool it names; anything else goes on as it came.
    pub(crate) async fn route(&self, name: String, args: Value, scope: Option<&Scope>) -> Routed {
        if self.exposure(scope) != ToolExposure::Discovery {
            return Routed::Call(name, args);
        }
        match meta_call(&name, &args) {
            None => Routed::Call(name, args),
            Some(Err(refused)) => Routed::Answered(Ok(refused.into())),
            Some(Ok(MetaCall::Call { name, args })) => Routed::Call(name, args),
            Some(Ok(MetaCall::Search { query, limit })) => Routed::Answered(Ok(self.search_tools(&query, limit, scope).await.into())),
            Some(Ok(MetaCall::Schema { name })) => Routed::Answered(self.tool_schema(&name, scope).await.map(Into::into)),
        }
    }

    /// The catalogue's search index (built on first use, then kept).
    fn search_index(&self) -> &SearchIndex {
        self.state.catalog.search_index()
    }

    /// The scope's own tools (a managed server's per-flow tools), as `tools/list` has them.
    async fn own_tools(&self, scope: Option<&Scope>) -> Vec<Tool> {
        match (&self.scoped, scope) {
            (Some(own), Some(scope)) => own.list(self, scope, None).await,
            _ => Vec::new(),
        }
    }

    /// `search_tools`: the best tools the scope may see for `query`.
    async fn search_tools(&self, query: &str, limit: usize, scope: Option<&Scope>) -> CallToolResult {
        let catalog = &self.state.catalog;
        let visible = catalog.tools();
        let visible = visible.iter().map(|t| t.name.as_ref()).filter(|n| catalog.get(n).is_some_and(|e| scope.is_none_or(|sc| sc.access.allows(e.descriptor))));
        let own = self.own_tools(scope).await;
        // A scope's own tool is searched as the catalogue tool it runs as, too.
        let docs: Vec<Doc<'_>> = own
            .iter()
            .map(|t| {
                let runs_as = self.runs_as(&t.name, scope).and_then(|n| catalog.get(n)).map(|e| e.descriptor);
                Doc {
                    name: &t.name,
                    title: t.title.as_deref().unwrap_or_default(),
                    tags: runs_as.map_or(&[], |d| d.tags),
                    description: t.description.as_deref().unwrap_or_default(),
                    kind: runs_as.map(|d| d.kind),
                    path: runs_as.map_or("", |d| d.path_template),
                }
            })
            .collect();
        let hits: Vec<Value> = self
            .search_index()
            .rank(query, visible, &docs, limit)
            .iter()
            .filter_map(|name| catalog.get(name).map(|e| &e.tool).or_else(|| own.iter().find(|t| t.name == name.as_str())))
            .map(|t| json!({"name": t.name, "title": t.title, "summary": summary(t.description.as_deref().unwrap_or_default())}))
            .collect();
        CallToolResult::structured(json!({ "tools": hits }))
    }

    /// `get_tool_schema`: the tool as `tools/list` in `all` mode shows it; a tool the scope
    /// cannot see is answered exactly as a call of it would be.
    async fn tool_schema(&self, name: &str, scope: Option<&Scope>) -> Result<CallToolResult, McpError> {
        let tool = match self.entry(name, scope) {
            Ok(entry) => entry.tool.clone(),
            Err(unknown) => self.own_tools(scope).await.into_iter().find(|t| t.name == name).ok_or(unknown)?,
        };
        Ok(CallToolResult::structured(serde_json::to_value(&tool).expect("a tool is JSON")))
    }
}
