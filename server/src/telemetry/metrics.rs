//! The metrics this server exports, in one place: their names, their bounded labels, and
//! the process's Prometheus recorder (rendered by the `/metrics` route in
//! [`crate::http::probes`]).
//!
//! Labels only ever take values from a closed set: a catalogue tool's name (anything else
//! is [`UNKNOWN_TOOL`]), a call outcome, a status class, a task state, a refusal reason.
//! No label or value carries a token, a key, a URL or an argument.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Tool calls by `tool` and `outcome` (`ok`, `tool_error`, `rejected`: the audit's words).
pub const TOOL_CALLS: &str = "gumloop_mcp_tool_calls_total";
/// How long a tool call took, by `tool` (a task's call: until the task settled).
pub const TOOL_CALL_SECONDS: &str = "gumloop_mcp_tool_call_seconds";
/// How long one Gumloop API request took, by `class`.
pub const UPSTREAM_REQUEST_SECONDS: &str = "gumloop_mcp_upstream_request_seconds";
/// Gumloop API responses by `class` (`2xx`, `3xx`, `4xx`, `5xx`, `error` for none).
pub const UPSTREAM_RESPONSES: &str = "gumloop_mcp_upstream_responses_total";
/// Upstream 429s passed through to the caller (never retried), by `tool`.
pub const RATE_LIMITED: &str = "gumloop_mcp_rate_limited_total";
/// MCP tasks by `state`: `created`, then one of `completed`, `failed`, `cancelled`.
pub const TASKS: &str = "gumloop_mcp_tasks_total";
/// MCP tasks whose operation is still running.
pub const TASKS_RUNNING: &str = "gumloop_mcp_tasks_running";
/// Requests on managed URLs refused before any MCP handling, by `reason`.
pub const ADMISSIONS_REFUSED: &str = "gumloop_mcp_admissions_refused_total";

/// The `tool` label of a name that is no catalogue tool (a client's typo, or a name it
/// made up): client-chosen text never becomes a label value.
pub const UNKNOWN_TOOL: &str = "unknown";

/// Bucket bounds, in seconds, of every `*_seconds` histogram, the store's included: from
/// a cached answer (milliseconds) to a long `wait` (minutes).
const SECONDS_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed as the global `metrics` recorder on first
/// use, so every `metrics` macro in the process (any module's) is exported.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only what this one records");
        }
        describe();
        handle
    })
}

/// Drains histogram samples into their buckets now and then, so memory stays flat when
/// nobody scrapes.
pub async fn upkeep(stop: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = every.tick() => handle().run_upkeep(),
            () = stop.cancelled() => return,
        }
    }
}

fn describe() {
    describe_counter!(TOOL_CALLS, Unit::Count, "Tool calls by tool and outcome (ok, tool_error, rejected)");
    describe_histogram!(TOOL_CALL_SECONDS, Unit::Seconds, "Duration of tool calls, by tool");
    describe_histogram!(UPSTREAM_REQUEST_SECONDS, Unit::Seconds, "Duration of Gumloop API requests, by status class");
    describe_counter!(UPSTREAM_RESPONSES, Unit::Count, "Gumloop API responses by status class (error: no response)");
    describe_counter!(RATE_LIMITED, Unit::Count, "Gumloop 429s passed through to the caller, by tool");
    describe_counter!(TASKS, Unit::Count, "MCP tasks by state (created, completed, failed, cancelled)");
    describe_gauge!(TASKS_RUNNING, Unit::Count, "MCP tasks still running");
    describe_counter!(ADMISSIONS_REFUSED, Unit::Count, "Managed-URL requests refused, by reason");
}

/// One finished tool call of the catalogue tool `tool`.
pub fn tool_call(tool: &'static str, outcome: &'static str, took: Duration) {
    counter!(TOOL_CALLS, "tool" => tool, "outcome" => outcome).increment(1);
    histogram!(TOOL_CALL_SECONDS, "tool" => tool).record(took.as_secs_f64());
}

/// One Gumloop API request: its status, or `None` when no response came.
pub fn upstream_response(status: Option<u16>, took: Duration) {
    let class = status_class(status);
    counter!(UPSTREAM_RESPONSES, "class" => class).increment(1);
    histogram!(UPSTREAM_REQUEST_SECONDS, "class" => class).record(took.as_secs_f64());
}

/// `2xx` … `5xx`; `error` for no response (or a status outside 100-599).
pub fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(100..=199) => "1xx",
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        _ => "error",
    }
}

/// An upstream 429 handed to the caller of `tool`.
pub fn rate_limited(tool: &'static str) {
    counter!(RATE_LIMITED, "tool" => tool).increment(1);
}

/// What became of an MCP task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Started.
    Created,
    /// Settled with a result (a tool error included).
    Completed,
    /// Settled with a protocol error, or ended by its TTL.
    Failed,
    /// Stopped by `tasks/cancel`.
    Cancelled,
}

impl TaskState {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskState::Created => "created",
            TaskState::Completed => "completed",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
        }
    }
}

/// A task reached `state` (created here, or settled by this replica's wait).
pub fn task(state: TaskState) {
    counter!(TASKS, "state" => state.as_str()).increment(1);
}

/// A task's wait started (`true`) or ended (`false`) on this replica: adopted tasks count
/// where they run, so the gauge is per replica.
pub fn task_wait(running: bool) {
    match running {
        true => gauge!(TASKS_RUNNING).increment(1.0),
        false => gauge!(TASKS_RUNNING).decrement(1.0),
    }
}

/// A managed-URL request refused for `reason` (a fixed word, never the token).
pub fn admission_refused(reason: &'static str) {
    counter!(ADMISSIONS_REFUSED, "reason" => reason).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        let classes: Vec<_> = [Some(200), Some(204), Some(307), Some(404), Some(429), Some(503), None, Some(999)].map(status_class).into();
        assert_eq!(classes, ["2xx", "2xx", "3xx", "4xx", "4xx", "5xx", "error", "error"]);
    }

    #[test]
    fn every_name_is_prefixed_and_carries_its_unit() {
        for name in [TOOL_CALLS, TOOL_CALL_SECONDS, UPSTREAM_REQUEST_SECONDS, UPSTREAM_RESPONSES, RATE_LIMITED, TASKS, TASKS_RUNNING, ADMISSIONS_REFUSED] {
            assert!(name.starts_with("gumloop_mcp_"), "{name}");
            assert!(name.ends_with("_total") || name.ends_with("_seconds") || name == TASKS_RUNNING, "{name}");
        }
    }
}
