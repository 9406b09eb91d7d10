//! Sending generated request descriptions to Gumloop with one pooled reqwest client,
//! and classifying what comes back.

use std::time::Duration;

use gumloop_mcp_runtime::{Base, Body, HttpMethod, Integration, PartValue, ResponseFormat, UpstreamRequest};
use serde_json::Value;

use crate::telemetry::metrics;
use crate::upstream::credential::Credential;
use crate::upstream::ratelimit::{self, RateLimit};

/// Where and how to reach Gumloop.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The REST base URL.
    pub api_base_url: String,
    /// The streaming base URL (chat completions).
    pub ws_base_url: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Overall timeout of one call.
    pub call_timeout: Duration,
    /// The most bytes `resources/read` fetches from a signed download URL.
    pub max_download_bytes: u64,
    /// The most bytes read of one API answer; a larger one is a tool error, not a result.
    pub max_response_bytes: u64,
}

/// The default of [`UpstreamConfig::max_response_bytes`]: far above any documented
/// answer (a 1,000-item page of audit logs is about 350 KB) and the size of the largest
/// MCP request this server takes, yet small enough that a runaway answer cannot take
/// the process's memory or a client's context with it.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

impl UpstreamConfig {
    /// These base URLs with the default timeouts (connect 10 s, call 60 s).
    pub fn new(api_base_url: impl Into<String>, ws_base_url: impl Into<String>) -> Self {
        Self {
            api_base_url: api_base_url.into(),
            ws_base_url: ws_base_url.into(),
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            max_download_bytes: 5 * 1024 * 1024,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// What an upstream call produced.
#[derive(Debug)]
pub enum Outcome {
    /// A 2xx JSON body (`null` for an empty one, e.g. a 204).
    Json { status: u16, body: Value },
    /// A 2xx body that is not JSON (a zip, a CSV, a file), or any body of a binary method.
    Bytes { status: u16, media_type: String, bytes: Vec<u8> },
    /// A 4xx or 5xx; the body is passed through unchanged.
    Status { status: u16, body: Value, rate_limit: Option<RateLimit> },
    /// No usable answer: timeout, refused connection, invalid JSON.
    Failed(String),
}

/// Why a signed download could not be fetched.
#[derive(Debug)]
pub enum FetchError {
    /// 401, 403 or 410: the signature expired (or never was valid).
    Expired(u16),
    /// Larger than the cap.
    TooLarge { size: Option<u64>, cap: u64 },
    /// Anything else.
    Failed(String),
}

/// The Gumloop client.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// API calls: carries the credential, so it follows redirects only within one origin.
    client: reqwest::Client,
    /// Signed downloads: no credential, so a redirect to a storage host is followed.
    downloads: reqwest::Client,
    config: UpstreamConfig,
    integration: &'static Integration,
    /// The base URLs parsed once: each call only sets the path, so the host is not
    /// parsed (IDNA and all) again per request.
    api_base: reqwest::Url,
    ws_base: reqwest::Url,
}

/// Parses a base URL given on the command line, saying which flag is wrong.
fn base_url(url: &str, flag: &str) -> anyhow::Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("{flag} `{url}` is not a URL: {e}"))?;
    anyhow::ensure!(matches!(parsed.scheme(), "http" | "https"), "{flag} `{url}` must be an http:// or https:// URL");
    anyhow::ensure!(parsed.query().is_none() && parsed.fragment().is_none(), "{flag} `{url}` must not carry a query or fragment");
    Ok(parsed)
}

impl Upstream {
    /// Builds the pooled client.
    pub fn new(config: UpstreamConfig, integration: &'static Integration) -> anyhow::Result<Self> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .timeout(config.call_timeout)
                .user_agent(concat!("gumloop-mcp/", env!("CARGO_PKG_VERSION")))
        };
        // reqwest drops `Authorization` on a cross-origin redirect but not `x-auth-key`;
        // not following those at all keeps every credential header with Gumloop.
        let client = builder().redirect(reqwest::redirect::Policy::custom(same_origin_only)).build()?;
        let downloads = builder().build()?;
        let api_base = base_url(&config.api_base_url, "--gumloop-base-url")?;
        let ws_base = base_url(&config.ws_base_url, "--gumloop-ws-base-url")?;
        Ok(Self { client, downloads, config, integration, api_base, ws_base })
    }

    /// The integration-wide facts the spec gives (auth scheme, instructions).
    pub fn integration(&self) -> &'static Integration {
        self.integration
    }

    /// Sends one request with the credential's headers (and the call's trace context, if
    /// its caller sent one); `format` is what the method documents a success to carry.
    /// Counted and timed by status class.
    pub async fn send(&self, req: UpstreamRequest, cred: &Credential, format: ResponseFormat) -> Outcome {
        let base = match req.base {
            Base::Api => &self.api_base,
            Base::Ws => &self.ws_base,
        };
        let mut url = base.clone();
        url.set_path(&format!("{}{}", base.path().trim_end_matches('/'), req.path));
        let method = match req.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        };
        let mut query = req.query;
        if let (Some(param), Some(team)) = (self.integration.team_query, &cred.team_id)
            && !query.iter().any(|(k, _)| k == param)
        {
            query.push((param.to_owned(), team.clone()));
        }
        let mut rb = self.client.request(method, url).header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            rb = rb.query(&query);
        }
        if let (true, Some(key)) = (self.integration.bearer, &cred.api_key) {
            rb = rb.bearer_auth(key.expose());
        }
        if let (Some(header), Some(user)) = (self.integration.user_header, &cred.user_id) {
            rb = rb.header(header, user);
        }
        if let Some(trace) = crate::telemetry::trace_context::current() {
            rb = rb.header("traceparent", trace.child_traceparent());
            if let Some(state) = trace.tracestate() {
                rb = rb.header("tracestate", state);
            }
        }
        rb = match req.body {
            Body::Empty => rb,
            Body::Json(v) => rb.json(&v),
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                for p in parts {
                    form = match p.value {
                        PartValue::Text(t) => form.text(p.name, t),
                        PartValue::File { filename, media_type, bytes } => {
                            let mut part = reqwest::multipart::Part::bytes(bytes).file_name(filename);
                            if let Some(mt) = media_type {
                                part = match part.mime_str(&mt) {
                                    Ok(p) => p,
                                    Err(_) => return Outcome::Failed(format!("invalid media type `{mt}`")),
                                };
                            }
                            form.part(p.name, part)
                        }
                    };
                }
                rb.multipart(form)
            }
        };
        let started = std::time::Instant::now();
        let (status, outcome) = match rb.send().await {
            Ok(resp) => (Some(resp.status().as_u16()), self.read(resp, format).await),
            Err(e) => (None, Outcome::Failed(self.describe(&e))),
        };
        // Timed to the end of the body: a slow body is a slow answer.
        metrics::upstream_response(status, started.elapsed());
        outcome
    }

    async fn read(&self, resp: reqwest::Response, format: ResponseFormat) -> Outcome {
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            // Only a cross-origin redirect reaches here (same-origin ones are followed).
            let to = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?");
            let to = reqwest::Url::parse(to).map_or_else(|_| to.to_owned(), |u| u.origin().ascii_serialization());
            return Outcome::Failed(format!(
                "Gumloop answered HTTP {status}, redirecting to another origin ({}); it was not followed, so the credentials were not sent there",
                crate::text::clip(&to, 200)
            ));
        }
        let rate_limit = (status == 429).then(|| ratelimit::from_headers(resp.headers())).flatten();
        let media_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream").to_owned();
        let bytes = match self.body_within_cap(resp).await {
            Ok(b) => b,
            Err(message) => return Outcome::Failed(message),
        };
        if (200..300).contains(&status) {
            if format == ResponseFormat::Binary {
                return Outcome::Bytes { status, media_type, bytes };
            }
            if bytes.is_empty() {
                return Outcome::Json { status, body: Value::Null };
            }
            return match serde_json::from_slice(&bytes) {
                Ok(body) => Outcome::Json { status, body },
                Err(e) if is_json(&media_type) => Outcome::Failed(format!("Gumloop returned invalid JSON (HTTP {status}): {e}")),
                // Not labelled JSON and not JSON: hand the bytes over rather than guess.
                Err(_) => Outcome::Bytes { status, media_type, bytes },
            };
        }
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Outcome::Status { status, body, rate_limit }
    }

    /// The body of an API answer, read up to `max_response_bytes`; over it, the message
    /// that says so (a declared size is refused before any of it is read).
    async fn body_within_cap(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
        let cap = self.config.max_response_bytes;
        let too_large = |size: Option<u64>| {
            let size = size.map_or_else(|| "larger than that".to_owned(), |s| format!("{s} bytes"));
            format!(
                "Gumloop's answer ({size}) is over the {cap}-byte limit on upstream answers (--max-response-bytes), so it was not read; the call itself reached Gumloop. Ask for less (a smaller page_size or max_items, narrower filters)"
            )
        };
        if let Some(len) = resp.content_length().filter(|l| *l > cap) {
            return Err(too_large(Some(len)));
        }
        let mut bytes = Vec::with_capacity(resp.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.describe(&e))? {
            if (bytes.len() + chunk.len()) as u64 > cap {
                return Err(too_large(None));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Fetches a signed download URL: no Gumloop credentials (the URL carries its own
    /// signature, and may point at a storage host that must never see the key), at most
    /// `max_download_bytes`.
    pub async fn fetch_signed(&self, url: &str) -> Result<(String, Vec<u8>), FetchError> {
        let cap = self.config.max_download_bytes;
        let mut resp = self.downloads.get(url).send().await.map_err(|e| FetchError::Failed(self.describe(&e)))?;
        let status = resp.status().as_u16();
        if matches!(status, 401 | 403 | 410) {
            return Err(FetchError::Expired(status));
        }
        if !resp.status().is_success() {
            return Err(FetchError::Failed(format!("the download answered HTTP {status}")));
        }
        if let Some(len) = resp.content_length().filter(|l| *l > cap) {
            return Err(FetchError::TooLarge { size: Some(len), cap });
        }
        let media_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| FetchError::Failed(self.describe(&e)))? {
            if (bytes.len() + chunk.len()) as u64 > cap {
                return Err(FetchError::TooLarge { size: None, cap });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((media_type, bytes))
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        // reqwest errors carry the URL but never headers, so no secret leaks here.
        if e.is_timeout() {
            format!("Gumloop did not answer within {} (the call timeout); the request may still complete upstream", seconds(self.config.call_timeout))
        } else if e.is_connect() {
            format!("could not connect to Gumloop at {}: {}", e.url().map_or("?".into(), |u| u.origin().ascii_serialization()), root_cause(e))
        } else {
            format!("the request to Gumloop failed: {}", root_cause(e))
        }
    }
}

/// Follows a redirect only within the origin the request started at (at most 5 hops).
fn same_origin_only(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let first = attempt.previous().first().map(reqwest::Url::origin);
    if attempt.previous().len() > 5 {
        attempt.error("more than 5 redirects")
    } else if first.is_some_and(|o| o == attempt.url().origin()) {
        attempt.follow()
    } else {
        attempt.stop()
    }
}

/// `60 s`, or `0.3 s` for the short timeouts tests use.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{} s", d.as_secs()) } else { format!("{:.1} s", d.as_secs_f64()) }
}

/// A media type without its parameters, lowercased (`Text/CSV; charset=utf-8` → `text/csv`).
pub fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// `application/json`, `application/problem+json`, … (parameters ignored).
pub fn is_json(media_type: &str) -> bool {
    let essence = essence(media_type);
    essence == "application/json" || essence.ends_with("+json")
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_base_urls_are_refused_at_start_naming_the_flag() {
        let integration = &gumloop_mcp_generated::resources::INTEGRATION;
        let err = Upstream::new(UpstreamConfig::new("api.gumloop.com/api/v1", "https://ws.gumloop.com/api/v1"), integration).unwrap_err().to_string();
        assert!(err.contains("--gumloop-base-url `api.gumloop.com/api/v1` is not a URL"), "{err}");
        let err = Upstream::new(UpstreamConfig::new("https://api.gumloop.com/api/v1", "ftp://ws.gumloop.com"), integration).unwrap_err().to_string();
        assert!(err.contains("--gumloop-ws-base-url") && err.contains("http:// or https://"), "{err}");
        assert!(Upstream::new(UpstreamConfig::new("http://127.0.0.1:9/api/v1/", "http://127.0.0.1:9/ws"), integration).is_ok());
    }
}
