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

/// The refusal of a second user with a taken name.
pub(super) fn username_taken(username: &str) -> StoreError {
    StoreError::Invalid(format!("a user named `{username}` already exists"))
}

/// The refusal of a second client with a taken id (only a metadata client's cached copy
/// is replaced).
pub(super) fn client_taken(client_id: &str) -> StoreError {
    StoreError::Invalid(format!("a client with id `{client_id}` already exists"))
}

/// The refusal of a code whose client is not its grant's.
pub(super) fn code_client_mismatch() -> StoreError {
    StoreError::Invalid("an authorization code must be issued to its grant's client".into())
}

/// The refusal of tokens for a revoked grant.
pub(super) fn grant_revoked(id: &str) -> StoreError {
    StoreError::Invalid(format!("grant `{id}` is revoked"))
}

/// The refusal of a grant for a server of another account.
pub(super) fn server_not_of_account(server_id: &str, account_id: &str) -> StoreError {
    StoreError::Invalid(format!("MCP server `{server_id}` does not belong to integrated account `{account_id}`"))
}
