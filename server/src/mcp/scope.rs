//! What the core knows of a managed server: whom a request acts as, which tools it may
//! see, where its calls are recorded, and which tools it has beyond the catalogue. The
//! managed-servers side implements these; the core names none of its types.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use gumloop_mcp_runtime::ToolDescriptor;
use rmcp::ErrorData as McpError;
use rmcp::model::Tool;
use rmcp::service::{Peer, RoleServer, SubscriptionContext};
use serde_json::Value;

use crate::mcp::GumloopServer;
use crate::mcp::discovery::ToolExposure;
use crate::upstream::credential::Credential;

/// A request on a managed URL, as the core serves it.
#[derive(Clone)]
pub struct Scope {
    /// The managed server's id: tasks and audit records belong to it.
    pub server_id: String,
    /// The account calls are made as.
    pub credential: Arc<Credential>,
    /// Its filters and audit trail.
    pub access: Arc<dyn Access>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").field("server_id", &self.server_id).finish_non_exhaustive()
    }
}

/// What a call came to, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Upstream answered and the result is not an error.
    Ok,
    /// The result is an error (upstream failure, timeout, protocol error).
    ToolError,
    /// Refused before anything was sent (invalid arguments, hidden tool).
    Rejected,
}

impl CallOutcome {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::ToolError => "tool_error",
            CallOutcome::Rejected => "rejected",
        }
    }

    /// Reads the stored spelling (anything unknown reads as `rejected`).
    pub fn parse(s: &str) -> Self {
        match s {
            "ok" => CallOutcome::Ok,
            "tool_error" => CallOutcome::ToolError,
            _ => CallOutcome::Rejected,
        }
    }
}

/// A managed server's rules, as the core applies them.
pub trait Access: Send + Sync {
    /// Whether its filters show `tool`.
    fn allows(&self, tool: &ToolDescriptor) -> bool;
    /// How its `tools/list` shows tools: all of them, or discovery's meta-tools.
    fn exposure(&self) -> ToolExposure {
        ToolExposure::All
    }
    /// Records one call; the call answers only once this resolves (the record is durable).
    fn record<'a>(&'a self, server_id: &'a str, tool: &'a str, outcome: CallOutcome, started: Instant) -> BoxFuture<'a, ()>;
    /// The implementation itself, for the managed side's [`ScopedTools`] to read back.
    fn as_any(&self) -> &dyn Any;
    /// Whether a destructive tool's call must first be confirmed by the person.
    fn confirm_destructive(&self) -> bool {
        false
    }
}

/// How a scoped tool call is to be run.
pub enum Resolved {
    /// Not one of the scope's own tools: a catalogue tool, arguments untouched.
    Catalogue(Value),
    /// One of its tools, run as the catalogue tool `tool` with these arguments.
    As {
        /// The catalogue tool.
        tool: &'static str,
        /// Its arguments.
        args: Value,
    },
    /// Refused before anything was sent: the message.
    Refused(String),
    /// One of its tools with inputs missing that the person may be asked for: run as
    /// `tool` with `args` (the inputs by name) when the client can be asked, else
    /// refused with `refused`.
    Asking {
        /// The catalogue tool.
        tool: &'static str,
        /// Its arguments.
        args: Value,
        /// The message when nobody can be asked.
        refused: String,
    },
}

/// Tools a scoped handler has beyond the catalogue (a managed server's per-flow tools),
/// each run as a catalogue tool.
pub trait ScopedTools: Send + Sync {
    /// The scope's own tools for `tools/list`; `session` is the legacy session asking,
    /// which then hears `notifications/tools/list_changed`.
    fn list<'a>(&'a self, core: &'a GumloopServer, scope: &'a Scope, session: Option<(String, Peer<RoleServer>)>) -> BoxFuture<'a, Vec<Tool>>;
    /// What a call of `name` is.
    fn resolve<'a>(&'a self, core: &'a GumloopServer, scope: &'a Scope, name: &'a str, args: Value) -> BoxFuture<'a, Resolved>;
    /// Serves a `subscriptions/listen` until the subscriber goes away.
    fn listen<'a>(&'a self, core: &'a GumloopServer, scope: Scope, ctx: SubscriptionContext) -> BoxFuture<'a, Result<(), McpError>>;
    /// A tool of any scope, by name (rmcp asks without a request).
    fn get_tool(&self, name: &str) -> Option<Tool>;
    /// The catalogue tool that `name`, one of the scope's tools as last listed, runs as.
    fn runs_as(&self, scope: &Scope, name: &str) -> Option<&'static str>;
}
