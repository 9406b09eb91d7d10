//! W3C Trace Context: a caller's `traceparent` (and `tracestate`), taken from the
//! request's `params._meta` (SEP-414) or else its HTTP headers, continues on the Gumloop
//! requests its call makes: same trace id, a new parent (span) id per request, the
//! caller's flags, its `tracestate` passed through.
//!
//! Parsing is strict (version `00` only, lowercase hex, ids not all zero); anything else is
//! ignored, never an error, and a call whose caller sent none sends none upstream: the
//! server starts no traces of its own (it exports no spans).
//!
//! The context travels as a task-local set around one call ([`scope`]), so every request
//! the call makes (the call itself, polls, pages, a flow's inputs) reads it in
//! [`crate::upstream`] without each signature carrying it.

use std::future::Future;

/// A caller's valid trace context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: String,
    flags: String,
    state: Option<String>,
}

/// The most `tracestate` list members the W3C recommendation allows.
const MAX_STATE_MEMBERS: usize = 32;
/// The most `tracestate` bytes propagated (the recommendation's minimum to keep).
const MAX_STATE_BYTES: usize = 512;

impl TraceContext {
    /// `traceparent` as `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, with an
    /// optional `tracestate` (kept only if it is well-formed). `None` for anything else.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let mut fields = traceparent.split('-');
        let (version, trace_id, parent_id, flags) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
        let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let zero = |s: &str| s.bytes().all(|b| b == b'0');
        let valid =
            fields.next().is_none() && version == "00" && hex(trace_id, 32) && !zero(trace_id) && hex(parent_id, 16) && !zero(parent_id) && hex(flags, 2);
        valid.then(|| Self { trace_id: trace_id.to_owned(), flags: flags.to_owned(), state: tracestate.filter(|s| state_is_valid(s)).map(str::to_owned) })
    }

    /// The first valid context of `_meta` (SEP-414's keys) and then of the headers.
    pub fn from_request(meta: Option<(Option<&str>, Option<&str>)>, headers: Option<&axum::http::HeaderMap>) -> Option<Self> {
        let from_meta = meta.and_then(|(parent, state)| Self::parse(parent?, state));
        from_meta.or_else(|| {
            let headers = headers?;
            // Two `traceparent` headers are no valid context; `tracestate` headers combine.
            let mut parents = headers.get_all("traceparent").iter();
            let parent = parents.next()?.to_str().ok()?;
            if parents.next().is_some() {
                return None;
            }
            let states: Vec<&str> = headers.get_all("tracestate").iter().filter_map(|v| v.to_str().ok()).collect();
            let state = states.join(",");
            Self::parse(parent, (!states.is_empty()).then_some(state.as_str()))
        })
    }

    /// The trace id (32 lowercase hex digits).
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The caller's `tracestate`, if it sent a well-formed one.
    pub fn tracestate(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The `traceparent` of one request this server makes: the same trace and flags, a
    /// new random parent id.
    pub fn child_traceparent(&self) -> String {
        let mut span = [0u8; 8];
        while span == [0; 8] {
            getrandom::fill(&mut span).expect("the OS random source");
        }
        let span: String = span.iter().map(|b| format!("{b:02x}")).collect();
        format!("00-{}-{span}-{}", self.trace_id, self.flags)
    }
}

/// Whether `tracestate` is a list of at most 32 `key=value` members in at most 512
/// printable ASCII bytes (so it is also a valid header value).
fn state_is_valid(state: &str) -> bool {
    let members: Vec<&str> = state.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
    state.len() <= MAX_STATE_BYTES
        && state.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !members.is_empty()
        && members.len() <= MAX_STATE_MEMBERS
        && members.iter().all(|m| m.split_once('=').is_some_and(|(k, v)| !k.is_empty() && !v.is_empty()))
}

tokio::task_local! {
    static CURRENT: Option<TraceContext>;
}

/// Runs `f` with `context` as the current call's trace context.
pub async fn scope<F: Future>(context: Option<TraceContext>, f: F) -> F::Output {
    CURRENT.scope(context, f).await
}

/// The current call's trace context, if its caller sent one.
pub fn current() -> Option<TraceContext> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn only_a_well_formed_version_00_traceparent_is_taken() {
        let t = TraceContext::parse(VALID, Some("congo=t61rcWkgMzE")).unwrap();
        assert_eq!(t.trace_id(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(t.tracestate(), Some("congo=t61rcWkgMzE"));
        for bad in [
            "",
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033zz-01",
        ] {
            assert_eq!(TraceContext::parse(bad, None), None, "{bad}");
        }
    }

    #[test]
    fn a_malformed_tracestate_is_dropped_and_the_traceparent_kept() {
        for bad in ["", "novalue", "a=b\nc=d", &format!("a={}", "x".repeat(600)), &vec!["k=v"; 33].join(",")] {
            let t = TraceContext::parse(VALID, Some(bad)).unwrap();
            assert_eq!(t.tracestate(), None, "{bad:?}");
        }
        assert_eq!(TraceContext::parse(VALID, Some("a=1, b=2")).unwrap().tracestate(), Some("a=1, b=2"));
    }

    #[test]
    fn a_child_keeps_the_trace_and_flags_with_a_new_parent() {
        let t = TraceContext::parse(VALID, None).unwrap();
        let (a, b) = (t.child_traceparent(), t.child_traceparent());
        assert_ne!(a, b);
        for child in [a, b] {
            let c = TraceContext::parse(&child, None).expect("a valid traceparent");
            assert_eq!(c.trace_id(), t.trace_id());
            assert!(child.ends_with("-01") && !child.contains("b7ad6b7169203331"), "{child}");
        }
    }

    #[test]
    fn meta_comes_first_then_the_headers() {
        let other = "00-11111111111111111111111111111111-2222222222222222-00";
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("traceparent", other.parse().unwrap());
        headers.append("tracestate", "a=1".parse().unwrap());
        headers.append("tracestate", "b=2".parse().unwrap());
        let from_meta = TraceContext::from_request(Some((Some(VALID), None)), Some(&headers)).unwrap();
        assert_eq!(from_meta.trace_id(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(from_meta.tracestate(), None, "tracestate comes with its traceparent");
        // An invalid one in _meta falls back to the headers.
        let fallback = TraceContext::from_request(Some((Some("junk"), Some("x=1"))), Some(&headers)).unwrap();
        assert_eq!(fallback.trace_id(), "11111111111111111111111111111111");
        assert_eq!(fallback.tracestate(), Some("a=1,b=2"));
        headers.append("traceparent", VALID.parse().unwrap());
        assert_eq!(TraceContext::from_request(None, Some(&headers)), None, "two traceparent headers");
        assert_eq!(TraceContext::from_request(None, None), None);
    }

    #[tokio::test]
    async fn the_context_is_the_calls_own() {
        assert_eq!(current(), None);
        let t = TraceContext::parse(VALID, None);
        let seen = scope(t.clone(), async { current() }).await;
        assert_eq!(seen, t);
        assert_eq!(current(), None);
    }
}
