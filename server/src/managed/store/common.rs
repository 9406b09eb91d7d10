//! What both backends store the same way: instants as milliseconds, the audit trail's
//! cursors and limits.

use jiff::Timestamp;

use super::StoreError;

/// Milliseconds since the epoch: the precision the store keeps.
pub(super) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// `t` at the precision the store keeps, so what a write returns equals what a later
/// read returns.
pub(super) fn stored(t: Timestamp) -> Timestamp {
    ts(ms(t))
}

pub(super) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The audit id a `list_calls` cursor stands for; only what this store issued (a
/// positive id) is accepted.
pub(super) fn parse_cursor(cursor: Option<&str>) -> Result<i64, StoreError> {
    match cursor {
        None => Ok(i64::MAX),
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| StoreError::Invalid(format!("cursor `{c}` was not issued by this server; pass back next_cursor unchanged"))),
    }
}

/// A tool name as the audit trail keeps it (128 characters at most).
pub(super) fn audit_tool(tool: &str) -> String {
    tool.chars().take(128).collect()
}

/// Latency as stored: whole microseconds.
pub(super) fn latency_us(ms: f64) -> i64 {
    (ms * 1000.0).round() as i64
}

/// The instant `max_age` ago, in stored milliseconds (legacy-session rows older than it
/// are neither restored nor kept).
pub(super) fn cutoff(max_age: std::time::Duration) -> i64 {
    ms(Timestamp::now()) - i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX)
}
