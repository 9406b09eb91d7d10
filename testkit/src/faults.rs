//! Injectable faults: rate limits, error statuses, slow, hanging, huge and invalid
//! responses, and redirects.

use std::time::Duration;

/// A fault applied to the next request whose path contains `path_contains`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Only requests whose path contains this (any request when `None`).
    pub path_contains: Option<String>,
    /// What happens.
    pub kind: FaultKind,
}

/// Which rate-limit headers a 429 carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitStyle {
    /// `RateLimit-Limit/-Remaining/-Reset` (reset in delta-seconds).
    Ietf,
    /// `X-RateLimit-Limit/-Remaining/-Reset` (reset as an epoch timestamp).
    XRateLimit,
    /// Only `Retry-After`.
    RetryAfterOnly,
}

/// A fault.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// A 429 with rate-limit headers.
    RateLimited {
        /// Requests per window.
        limit: u64,
        /// Requests left.
        remaining: u64,
        /// Seconds until reset.
        reset_secs: u64,
        /// `Retry-After` seconds, if sent.
        retry_after: Option<u64>,
        /// Which headers.
        style: RateLimitStyle,
    },
    /// This status with the v1 error envelope.
    Status(u16),
    /// Sleep, then answer normally.
    Delay(Duration),
    /// 200 with `content-type: application/json` and a body that is not JSON.
    InvalidJson,
    /// Never answers (the request stays open until the client gives up).
    Hang,
    /// 200 with a valid JSON object of about `bytes` bytes, streamed in chunks; with
    /// `declared`, a `Content-Length` says its size up front.
    HugeBody {
        /// The body's size.
        bytes: usize,
        /// Whether `Content-Length` is sent.
        declared: bool,
    },
    /// This 3xx status with `Location: location`.
    Redirect {
        /// The status, e.g. 307.
        status: u16,
        /// Where to.
        location: String,
    },
}
