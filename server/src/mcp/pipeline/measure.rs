//! What a call is counted and traced as: its catalogue tool (the `tool` label), its
//! outcome in the audit's words, its duration, and its tracing span with the caller's
//! trace id.

use std::time::Instant;

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ErrorCode};

use crate::mcp::GumloopServer;
use crate::mcp::scope::{CallOutcome, Scope};
use crate::telemetry::metrics::{self, UNKNOWN_TOOL};
use crate::telemetry::trace_context;

/// What a call came to, as the audit records it: a protocol error for the arguments is a
/// rejection, any other (a cancellation included) a tool error.
pub fn outcome_of(result: &Result<(CallToolResult, CallOutcome), McpError>) -> CallOutcome {
    match result {
        Ok((_, outcome)) => *outcome,
        Err(e) if e.code == ErrorCode::INVALID_PARAMS => CallOutcome::Rejected,
        Err(_) => CallOutcome::ToolError,
    }
}

/// Counts one call exactly once: when it finishes, or, if its future is dropped (the
/// client cancelled, a task's TTL ended it), as a tool error.
pub struct CallMeter {
    tool: &'static str,
    started: Instant,
    done: bool,
}

impl CallMeter {
    /// A call of `tool` (a catalogue name or [`UNKNOWN_TOOL`]) that started at `started`.
    pub fn start(tool: &'static str, started: Instant) -> Self {
        Self { tool, started, done: false }
    }

    /// The label the call is counted under.
    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// Counts the call as `outcome`.
    pub fn finish(mut self, outcome: CallOutcome) {
        self.done = true;
        metrics::tool_call(self.tool, outcome.as_str(), self.started.elapsed());
    }
}

impl Drop for CallMeter {
    fn drop(&mut self) {
        if !self.done {
            metrics::tool_call(self.tool, CallOutcome::ToolError.as_str(), self.started.elapsed());
        }
    }
}

impl GumloopServer {
    /// The `tool` label of a call of `name`: the catalogue tool it is or runs as (a managed
    /// server's flow tool counts as the flow run it becomes), else [`UNKNOWN_TOOL`]. So the
    /// label's values are the catalogue's names, however many flows or typos there are.
    pub(crate) fn tool_label(&self, name: &str, scope: Option<&Scope>) -> &'static str {
        let catalog = &self.state.catalog;
        catalog.get(name).or_else(|| self.runs_as(name, scope).and_then(|t| catalog.get(t))).map_or(UNKNOWN_TOOL, |e| e.descriptor.name)
    }
}

/// The call's span: its tool label and, when the caller sent a valid `traceparent`, its
/// trace id (so every log line of the call carries it).
pub fn span(tool: &'static str) -> tracing::Span {
    let span = tracing::info_span!("call", tool, trace_id = tracing::field::Empty);
    if let Some(trace) = trace_context::current() {
        span.record("trace_id", trace.trace_id());
    }
    span
}
