//! Rate-limit information from an upstream 429, normalised to IETF-style
//! `{limit, remaining, reset}` with `reset` in delta-seconds (never an epoch).

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use serde::Serialize;

/// Normalised rate-limit fields; absent ones were not reported upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    /// Requests allowed in the window.
    pub limit: Option<u64>,
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// Seconds until the window resets (or until a retry is allowed).
    pub reset: Option<u64>,
}

/// Values above this are epoch timestamps, not delta-seconds (about 2001-09-09).
const EPOCH_THRESHOLD: u64 = 1_000_000_000;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    let v = headers.get(name)?.to_str().ok()?.trim();
    // IETF RateLimit fields may carry parameters (`10;w=60`); take the leading number.
    // Whole numbers are read exactly; a fraction is rounded up. Anything else (negative,
    // not a number, beyond u64) is dropped rather than clamped into a made-up value.
    let n = v.split([';', ',']).next()?.trim();
    n.parse::<u64>().ok().or_else(|| {
        let f = n.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0)?.ceil();
        (f < u64::MAX as f64).then_some(f as u64)
    })
}

fn delta(value: u64) -> u64 {
    if value > EPOCH_THRESHOLD { value.saturating_sub(now()) } else { value }
}

/// The single-field IETF forms: draft -06 `RateLimit: limit=10, remaining=0, reset=30`
/// and draft -07+ `RateLimit: "default";r=0;t=30` (with the limit, `q`, in
/// `RateLimit-Policy`). Returns `(name, value)` pairs with the names spelled as in the
/// separate fields.
fn combined(headers: &HeaderMap) -> Vec<(&'static str, u64)> {
    let mut out = Vec::new();
    for (field, names) in [
        ("ratelimit", [("limit", "limit"), ("remaining", "remaining"), ("reset", "reset"), ("r", "remaining"), ("t", "reset")].as_slice()),
        ("ratelimit-policy", &[("q", "limit")]),
    ] {
        let Some(v) = headers.get(field).and_then(|v| v.to_str().ok()) else { continue };
        // Only the first policy or item counts; items are comma-separated in -07+, keys in -06.
        for param in v.split([',', ';']) {
            let Some((k, val)) = param.split_once('=') else { continue };
            let k = k.trim().to_ascii_lowercase();
            if let (Some((_, name)), Ok(n)) = (names.iter().find(|(key, _)| *key == k), val.trim().parse::<u64>())
                && !out.iter().any(|(seen, _)| seen == name)
            {
                out.push((*name, n));
            }
        }
    }
    out
}

/// Reads `Retry-After`, `RateLimit-*`, `RateLimit`/`RateLimit-Policy` or `X-RateLimit-*`;
/// `Retry-After` wins for `reset`.
pub fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
    let single = combined(headers);
    let pick = |suffix: &str| {
        number(headers, &format!("ratelimit-{suffix}"))
            .or_else(|| single.iter().find(|(n, _)| *n == suffix).map(|(_, v)| *v))
            .or_else(|| number(headers, &format!("x-ratelimit-{suffix}")))
    };
    let retry_after = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| {
        let v = v.trim();
        v.parse::<u64>().ok().or_else(|| httpdate(v).map(|t| t.saturating_sub(now())))
    });
    let rl = RateLimit { limit: pick("limit"), remaining: pick("remaining"), reset: retry_after.or_else(|| pick("reset").map(delta)) };
    (rl != RateLimit::default()).then_some(rl)
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to epoch seconds.
fn httpdate(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m = months.iter().position(|x| x == month)? as i64 + 1;
    let (d, y): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, mi, se] = hms.as_slice() else { return None };
    // Days from civil (Howard Hinnant's algorithm).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()
}

/// A per-HTTP-request slot the tool handler fills, so the HTTP layer can add
/// `ratelimit-*` headers to a single call's response.
#[derive(Debug, Clone, Default)]
pub struct RateLimitSlot(pub Arc<Mutex<Option<RateLimit>>>);

impl RateLimitSlot {
    /// Records the rate limit of this request's upstream 429.
    pub fn set(&self, rl: RateLimit) {
        *self.0.lock().unwrap() = Some(rl);
    }

    /// What was recorded, if anything.
    pub fn get(&self) -> Option<RateLimit> {
        *self.0.lock().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn h(pairs: &[(&'static str, String)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (reqwest::header::HeaderName::from_static(k), HeaderValue::from_str(v).unwrap())).collect()
    }

    #[test]
    fn ietf_headers() {
        let rl = from_headers(&h(&[("ratelimit-limit", "10".into()), ("ratelimit-remaining", "0".into()), ("ratelimit-reset", "30".into())]));
        assert_eq!(rl, Some(RateLimit { limit: Some(10), remaining: Some(0), reset: Some(30) }));
    }

    #[test]
    fn x_ratelimit_epoch_reset_becomes_delta() {
        let reset = now() + 42;
        let rl = from_headers(&h(&[("x-ratelimit-limit", "5".into()), ("x-ratelimit-reset", reset.to_string())])).unwrap();
        assert!((40..=42).contains(&rl.reset.unwrap()), "{rl:?}");
        assert_eq!(rl.limit, Some(5));
    }

    #[test]
    fn single_field_forms() {
        let draft6 = from_headers(&h(&[("ratelimit", "limit=100, remaining=4, reset=9".into())])).unwrap();
        assert_eq!(draft6, RateLimit { limit: Some(100), remaining: Some(4), reset: Some(9) });
        let draft9 = from_headers(&h(&[("ratelimit", "\"default\";r=0;t=30".into()), ("ratelimit-policy", "\"default\";q=100;w=60".into())])).unwrap();
        assert_eq!(draft9, RateLimit { limit: Some(100), remaining: Some(0), reset: Some(30) });
    }

    #[test]
    fn unparseable_values_are_dropped_not_clamped() {
        let huge = "18446744073709551616"; // u64::MAX + 1
        let rl = from_headers(&h(&[("ratelimit-limit", huge.into()), ("ratelimit-remaining", "-3".into()), ("ratelimit-reset", "1.2".into())])).unwrap();
        assert_eq!(rl, RateLimit { limit: None, remaining: None, reset: Some(2) });
        let rl = from_headers(&h(&[("ratelimit-limit", "1e30".into()), ("ratelimit-remaining", "NaN".into()), ("ratelimit-reset", "inf".into())]));
        assert_eq!(rl, None);
        let rl = from_headers(&h(&[("ratelimit", format!("limit={huge}, remaining=1"))])).unwrap();
        assert_eq!(rl, RateLimit { limit: None, remaining: Some(1), reset: None });
    }

    #[test]
    fn retry_after_wins() {
        let rl = from_headers(&h(&[("retry-after", "7".into()), ("ratelimit-reset", "30".into())])).unwrap();
        assert_eq!(rl.reset, Some(7));
        assert_eq!(httpdate("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(from_headers(&HeaderMap::new()), None);
    }
}
