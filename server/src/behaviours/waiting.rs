//! Long-running Gumloop work (sessions, flow runs, agent runs, data exports): the
//! server-side `wait` with backoff and progress, and the plain "still running" guidance
//! a model gets when it does not wait, so it never assumes work has finished.

use std::time::Duration;

use gumloop_mcp_runtime::{AsyncSpec, rules};
use serde_json::{Map, Value, json};

/// The waiting arguments of one call, taken out of the arguments before the request is
/// built (they never go upstream).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wait {
    /// Poll until a terminal state.
    pub wait: bool,
    /// How long polling may take.
    pub timeout: Duration,
}

/// The server arguments codegen gives every `async` method: whether to wait, and for how
/// many seconds (1 to 600).
pub const ARGS: [&str; 2] = [rules::WAIT, rules::WAIT_TIMEOUT_SECONDS];

/// The default and the maximum of `wait_timeout_seconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(rules::WAIT_TIMEOUT_DEFAULT);

/// Takes `wait` and `wait_timeout_seconds` out of a call's server arguments (already
/// schema-validated); absent, they mean "do not wait".
pub fn take(own: &mut Map<String, Value>) -> Wait {
    let (wait, secs) = (own.remove(ARGS[0]), own.remove(ARGS[1]));
    Wait {
        wait: wait.and_then(|v| v.as_bool()).unwrap_or(false),
        timeout: secs
            .and_then(|v| v.as_u64())
            .map_or(DEFAULT_TIMEOUT, |s| Duration::from_secs(s.clamp(*rules::WAIT_TIMEOUT_RANGE.start(), *rules::WAIT_TIMEOUT_RANGE.end()))),
    }
}

/// How long a poll in flight at the deadline may still take before the wait gives up on
/// it: the wait ends at `wait_timeout_seconds` plus at most this.
pub const POLL_GRACE: Duration = Duration::from_millis(500);

/// The pause before poll `n` (0-based): 0.5 s, 1 s, 1.5 s, 2 s, 3 s, 4 s, then 5 s.
/// Short at first, because many jobs finish in seconds; capped, so a finished job is
/// noticed within 5 s. A 30 s job takes 10 polls.
pub fn backoff(n: u32) -> Duration {
    const STEPS_MS: [u64; 6] = [500, 1000, 1500, 2000, 3000, 4000];
    Duration::from_millis(STEPS_MS.get(n as usize).copied().unwrap_or(5000))
}

/// A state read out of a record.
pub fn state_of(record: &Value, spec: &AsyncSpec) -> Option<String> {
    record.pointer(spec.state_pointer).and_then(Value::as_str).map(str::to_owned)
}

/// Whether `state` ends the work.
pub fn is_terminal(state: Option<&str>, spec: &AsyncSpec) -> bool {
    state.is_some_and(|s| spec.terminal.contains(&s))
}

/// The id to poll with, out of the first response.
pub fn id_of(record: &Value, spec: &AsyncSpec) -> Option<String> {
    match record.pointer(spec.id_pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The work's place in a queue, where the spec says upstream reports one.
pub fn queue_position(record: &Value, spec: &AsyncSpec) -> Option<u64> {
    record.pointer(spec.queue_pointer?).and_then(Value::as_u64)
}

/// The sentence a model reads when work is not finished: it names the state, says that
/// nothing has completed, and names the tool and arguments to poll with.
pub fn still_running(tool: &str, spec: &AsyncSpec, id: Option<&str>, state: Option<&str>, queue: Option<u64>) -> String {
    let state = state.map_or("not finished".to_owned(), |s| format!("`{s}`"));
    let queue = queue.map_or(String::new(), |q| format!(" (queue position {q})"));
    let poll = match id {
        Some(id) => format!("call `{}` with {}", spec.status_tool, json!({ "id": id })),
        None => format!("call `{}` with its id", spec.status_tool),
    };
    format!(
        "Not finished: the work is {state}{queue} and still running in Gumloop; no result exists yet. To follow it, {poll} until the state is {}. (Or call `{tool}` with `wait: true` next time to let the server wait; do not call `{tool}` again just to check, that would start new work.)",
        spec.terminal.join(" or ")
    )
}

/// The key of a waited call's summary (polls, elapsed time, whether it finished), which
/// the server adds to the record.
pub const SUMMARY: &str = "wait";

/// The final record of a waited call: the first response's fields, then the last status
/// record's over them, then what the wait came to under `wait`.
pub fn merged(first: &Value, last: &Value, summary: Value) -> Value {
    let mut out = Map::new();
    for v in [first, last] {
        if let Value::Object(o) = v {
            for (k, v) in o {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert(SUMMARY.into(), summary);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSIONS: AsyncSpec = AsyncSpec {
        status_tool: "get_single_gumloop_session_by_id",
        id_pointer: "/session/id",
        state_pointer: "/session/state",
        terminal: &["completed", "failed"],
        cancel_tool: Some("delete_a_gumloop_session_by_id"),
        queue_pointer: Some("/queue_position"),
    };

    #[test]
    fn wait_arguments_are_taken_out() {
        let mut own = json!({"wait": true, "wait_timeout_seconds": 5}).as_object().unwrap().clone();
        assert_eq!(take(&mut own), Wait { wait: true, timeout: Duration::from_secs(5) });
        assert!(own.is_empty());
        assert_eq!(take(&mut Map::new()), Wait { wait: false, timeout: DEFAULT_TIMEOUT });
    }

    #[test]
    fn a_thirty_second_job_costs_at_most_fifteen_polls() {
        let mut elapsed = Duration::ZERO;
        let mut polls = 0;
        while elapsed < Duration::from_secs(30) {
            elapsed += backoff(polls);
            polls += 1;
        }
        assert!(polls <= 15, "{polls} polls");
        assert_eq!(polls, 10);
        // A finished job is noticed within 5 s, however long it ran.
        assert!((0..100).all(|n| backoff(n) <= Duration::from_secs(5)));
    }

    #[test]
    fn states_ids_and_guidance() {
        let record = json!({"session": {"id": "ses_1", "state": "queued"}, "queue_position": 3});
        assert_eq!(state_of(&record, &SESSIONS).as_deref(), Some("queued"));
        assert!(!is_terminal(Some("queued"), &SESSIONS));
        assert!(is_terminal(Some("failed"), &SESSIONS));
        assert_eq!(id_of(&record, &SESSIONS).as_deref(), Some("ses_1"));
        let text = still_running("create_a_gumloop_session", &SESSIONS, Some("ses_1"), Some("queued"), queue_position(&record, &SESSIONS));
        assert!(text.starts_with("Not finished: the work is `queued` (queue position 3)"), "{text}");
        assert!(text.contains(r#"call `get_single_gumloop_session_by_id` with {"id":"ses_1"} until the state is completed or failed"#), "{text}");
        let m = merged(&json!({"run_id": "r", "url": "u"}), &json!({"state": "DONE", "url": "u2"}), json!({"polls": 2}));
        assert_eq!(m, json!({"run_id": "r", "url": "u2", "state": "DONE", "wait": {"polls": 2}}));
    }
}
