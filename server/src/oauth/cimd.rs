//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP
//! 2025-11-25): a client whose `client_id` is an https URL publishes its metadata at
//! that URL, and the authorization server fetches it.
//!
//! Fetching a URL a stranger chose is a server-side request forgery risk, so the fetch
//! follows node-oidc-provider's hardening:
//! - the URL must be https, with a path, and no fragment, userinfo or dot segments;
//! - the host's addresses must be public: loopback, private (RFC 1918, ULA),
//!   link-local, CGNAT, multicast, unspecified, documentation and other special-use
//!   addresses are refused, IPv4 and IPv6 alike (v4-mapped ones by their IPv4 part).
//!   The check runs in the HTTP client's resolver, so the address connected to is an
//!   address that was checked (a DNS answer that changes between a check and the
//!   connection cannot slip past), and the connected peer is checked again;
//! - no proxy, no redirects (a 3xx is an error), 2.5 s for the whole fetch, and at most
//!   5 KiB of body (a larger declared `Content-Length` is refused before reading, and
//!   the stream is cut at the cap);
//! - the document must be a JSON object whose `client_id` equals the URL exactly, with
//!   a `client_name` and non-empty `redirect_uris` (each an absolute https URL or an
//!   http loopback one), and no shared secret (`token_endpoint_auth_method` absent or
//!   `none`; no `client_secret`).
//!
//! Every refusal is a [`CimdError`] whose `Display` is one sentence fit for an OAuth
//! `error_description`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::{Map, Value};

/// The whole fetch (resolve, connect, TLS, request, body) must finish within this.
pub const FETCH_TIMEOUT: Duration = Duration::from_millis(2500);

/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;

/// A client's metadata document, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDocument {
    /// The document's URL, which is the client's id.
    pub client_id: String,
    /// The name the consent page shows.
    pub client_name: String,
    /// Exact redirect URIs (https, or http loopback).
    pub redirect_uris: Vec<String>,
    /// Always `none`: a public document cannot hold a secret.
    pub token_endpoint_auth_method: String,
    /// The client's home page, if given (https).
    pub client_uri: Option<String>,
    /// Its logo, if given (https).
    pub logo_uri: Option<String>,
}

/// Why a client metadata document was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CimdError {
    /// The `client_id` is not a URL a metadata document may live at.
    #[error("the client_id `{client_id}` is not a valid client metadata document URL: {reason}")]
    InvalidUrl {
        /// The client id as given.
        client_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host is, or resolves to, an address that is not public.
    #[error("the client metadata document at {url} is not fetched: its host `{host}` resolves to {addr}, a {kind} address; only public addresses are fetched")]
    ForbiddenAddress {
        /// The document URL.
        url: String,
        /// Its host.
        host: String,
        /// The refused address.
        addr: IpAddr,
        /// What kind of address it is.
        kind: &'static str,
    },
    /// The host could not be resolved or connected to.
    #[error("the client metadata document at {url} could not be fetched: {detail}")]
    Unreachable {
        /// The document URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The fetch took too long.
    #[error("the client metadata document at {url} did not arrive within {} s", FETCH_TIMEOUT.as_secs_f64())]
    Timeout {
        /// The document URL.
        url: String,
    },
    /// The server answered with a redirect, which is not followed.
    #[error(
        "the client metadata document at {url} answered {status} redirecting to {location}; redirects are not followed, so the client_id must be the document's own URL"
    )]
    Redirect {
        /// The document URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Where it pointed (`(none)` if it did not say).
        location: String,
    },
    /// The server answered with another status than 200.
    #[error("the client metadata document at {url} answered HTTP {status}; it must answer 200 with the document")]
    Status {
        /// The document URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The document is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("the client metadata document at {url} is larger than the {limit} bytes accepted{}", declared.map(|d| format!(" (it declares {d} bytes)")).unwrap_or_default())]
    TooLarge {
        /// The document URL.
        url: String,
        /// The cap.
        limit: usize,
        /// The `Content-Length` it declared, if that is how it was found out.
        declared: Option<u64>,
    },
    /// The body is not JSON.
    #[error("the client metadata document at {url} is not JSON: {detail}")]
    NotJson {
        /// The document URL.
        url: String,
        /// The parser's complaint.
        detail: String,
    },
    /// The body is JSON but not an object.
    #[error("the client metadata document at {url} is not a JSON object")]
    NotObject {
        /// The document URL.
        url: String,
    },
    /// The document's `client_id` is not its URL.
    #[error("the client metadata document at {url} says client_id `{found}`; it must equal its own URL")]
    ClientIdMismatch {
        /// The document URL.
        url: String,
        /// What it says instead.
        found: String,
    },
    /// A required field is absent.
    #[error("the client metadata document at {url} has no `{field}`; it is required")]
    MissingField {
        /// The document URL.
        url: String,
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong type or value.
    #[error("the client metadata document at {url} has an invalid `{field}`: {reason}")]
    InvalidField {
        /// The document URL.
        url: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A redirect URI is neither https nor http loopback.
    #[error("the client metadata document at {url} lists the redirect URI `{uri}`, which is not accepted: {reason}")]
    BadRedirectUri {
        /// The document URL.
        url: String,
        /// The URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// The document asks for an authentication method other than `none`.
    #[error("the client metadata document at {url} asks for token_endpoint_auth_method `{method}`; {}", if method.starts_with("client_secret") {
        "a public document cannot hold a shared secret, so it must be `none` or absent"
    } else {
        "only `none` is supported for metadata-document clients"
    })]
    AuthMethod {
        /// The document URL.
        url: String,
        /// The method asked for.
        method: String,
    },
    /// The document carries a `client_secret`.
    #[error("the client metadata document at {url} contains a `client_secret`; a public document cannot hold a secret")]
    SecretField {
        /// The document URL.
        url: String,
    },
}

/// Fetches and checks client metadata documents.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    allow_private: bool,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("allow_private", &self.allow_private).finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher. `allow_private` (tests only) permits http URLs and loopback and
    /// private addresses.
    pub fn new(allow_private: bool) -> Self {
        let client = reqwest::Client::builder()
            // A proxy would resolve the host itself, past the address check.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .pool_max_idle_per_host(0)
            .https_only(!allow_private)
            .user_agent(concat!("gumloop-mcp/", env!("CARGO_PKG_VERSION"), " (client metadata fetch)"))
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()
            .expect("the HTTP client for client metadata documents builds");
        Self { client, allow_private }
    }

    /// Fetches the document at `client_id` and checks it.
    pub async fn fetch(&self, client_id: &str) -> Result<ClientDocument, CimdError> {
        let url = check_url(client_id, self.allow_private)?;
        match tokio::time::timeout(FETCH_TIMEOUT, self.fetch_body(client_id, url)).await {
            Ok(body) => parse_document(client_id, &body?, self.allow_private),
            Err(_) => Err(CimdError::Timeout { url: client_id.to_owned() }),
        }
    }

    async fn fetch_body(&self, client_id: &str, url: Url) -> Result<Vec<u8>, CimdError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        // An address literal is never resolved, so it is checked here.
        if let Some(ip) = literal_ip(&host)
            && !self.allow_private
            && let Some(kind) = special_use(ip)
        {
            return Err(CimdError::ForbiddenAddress { url: client_id.to_owned(), host, addr: ip, kind });
        }
        let resp = self.client.get(url).header(reqwest::header::ACCEPT, "application/json").send().await.map_err(|e| request_error(client_id, e))?;
        if let Some(peer) = resp.remote_addr()
            && let Err(kind) = check_connected(peer, self.allow_private)
        {
            return Err(CimdError::ForbiddenAddress { url: client_id.to_owned(), host, addr: peer.ip(), kind });
        }
        let status = resp.status();
        if status.is_redirection() {
            let location = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("(none)");
            return Err(CimdError::Redirect { url: client_id.to_owned(), status: status.as_u16(), location: crate::text::clip(location, 200).into_owned() });
        }
        if status != reqwest::StatusCode::OK {
            return Err(CimdError::Status { url: client_id.to_owned(), status: status.as_u16() });
        }
        let too_large = |declared| CimdError::TooLarge { url: client_id.to_owned(), limit: MAX_DOCUMENT_BYTES, declared };
        if let Some(declared) = resp.content_length()
            && declared > MAX_DOCUMENT_BYTES as u64
        {
            return Err(too_large(Some(declared)));
        }
        let mut resp = resp;
        let mut body = Vec::with_capacity(1024);
        while let Some(chunk) = resp.chunk().await.map_err(|e| request_error(client_id, e))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large(None));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Whether `client_id` names a metadata document rather than a registered client: an
/// https URL with a path other than `/`, or an http URL on a loopback host
/// (`localhost`, `127.0.0.1`, `[::1]`) with one (such ids are fetched only by a
/// [`Fetcher`] built with `allow_private`, in tests). Registered and dynamic clients'
/// ids (`gmcl_…`) are never URLs.
pub fn is_metadata_client_id(client_id: &str) -> bool {
    let Ok(url) = Url::parse(client_id) else { return false };
    let has_path = !matches!(url.path(), "" | "/");
    match url.scheme() {
        "https" => has_path && url.host_str().is_some(),
        "http" => has_path && url.host_str().is_some_and(is_loopback_host),
        _ => false,
    }
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || literal_ip(host).is_some_and(|ip| ip.is_loopback())
}

/// Why `uri` cannot be a redirect URI, if it cannot: it must be an absolute https URL,
/// or http on a loopback host (`localhost`, `127.0.0.1`, `[::1]`, any port), without a
/// fragment or userinfo. Redirect URIs are compared as exact strings, so the text is
/// also required to be the URL's normal form.
pub fn redirect_uri_problem(uri: &str) -> Option<String> {
    let url = match Url::parse(uri) {
        Ok(u) => u,
        Err(e) => return Some(format!("it is not an absolute URL ({e})")),
    };
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => {}
        "https" => return Some("it has no host".into()),
        "http" if url.host_str().is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]") => {}
        "http" => return Some("http is accepted only on a loopback host (localhost, 127.0.0.1 or [::1]); use https".into()),
        other => return Some(format!("its scheme is `{other}`; it must be https, or http on a loopback host")),
    }
    if url.fragment().is_some() {
        return Some("it has a fragment (`#…`), which redirect URIs must not have".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("it has userinfo (`user@`), which redirect URIs must not have".into());
    }
    if url.as_str() != uri {
        return Some(format!("it is not in its normal form, which is `{url}` (redirect URIs are compared exactly)"));
    }
    None
}

/// Checks the shape of a metadata document URL and parses it.
fn check_url(client_id: &str, allow_private: bool) -> Result<Url, CimdError> {
    let invalid = |reason: String| CimdError::InvalidUrl { client_id: crate::text::clip(client_id, 300).into_owned(), reason };
    let url = Url::parse(client_id).map_err(|e| invalid(format!("it is not an absolute URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        other => return Err(invalid(format!("its scheme is `{other}`; it must be https"))),
    }
    if url.fragment().is_some() {
        return Err(invalid("it has a fragment (`#…`)".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it has userinfo (`user:password@`)".into()));
    }
    if let Some(segment) = dot_segment(client_id) {
        return Err(invalid(format!("its path has the dot segment `{segment}`")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".into()));
    }
    if matches!(url.path(), "" | "/") {
        return Err(invalid("it has no path; the document must live at a path such as /client.json".into()));
    }
    if url.as_str() != client_id {
        return Err(invalid(format!("it is not in its normal form, which is `{}`", crate::text::clip(url.as_str(), 300).into_owned())));
    }
    Ok(url)
}

/// The first `.` or `..` path segment (plain or percent-encoded) of a raw URL. The URL
/// parser resolves these away, so the raw text is read.
fn dot_segment(raw: &str) -> Option<String> {
    let after_scheme = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let end = after_scheme.find(['?', '#']).unwrap_or(after_scheme.len());
    let before_query = &after_scheme[..end];
    let path = before_query.find(['/', '\\']).map_or("", |i| &before_query[i..]);
    path.split(['/', '\\']).find(|s| matches!(s.to_ascii_lowercase().as_str(), "." | ".." | "%2e" | ".%2e" | "%2e." | "%2e%2e")).map(str::to_owned)
}

/// An IP address written as a URL host (`10.0.0.1`, `[::1]`).
fn literal_ip(host: &str) -> Option<IpAddr> {
    let h = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    h.parse().ok()
}

/// Whether a connection to `peer` is allowed; the address kind if not.
fn check_connected(peer: SocketAddr, allow_private: bool) -> Result<(), &'static str> {
    match special_use(peer.ip()) {
        Some(kind) if !allow_private => Err(kind),
        _ => Ok(()),
    }
}

/// What kind of non-public address `ip` is, or `None` for a public one.
///
/// IPv4: this network (0/8), private (RFC 1918), CGNAT (100.64/10), loopback,
/// link-local, IETF protocol assignments (192.0.0/24), documentation, 6to4 relay,
/// benchmarking (198.18/15), multicast, reserved (240/4) and broadcast. IPv6: only
/// global unicast (2000::/3) can be public, less documentation, IETF protocol
/// assignments (2001::/23, Teredo among them), 6to4 and SRv6; v4-mapped and NAT64
/// addresses are judged by their IPv4 part.
pub fn special_use(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const TABLE: [([u8; 4], u32, &str); 17] = [
        ([0, 0, 0, 0], 32, "unspecified"),
        ([255, 255, 255, 255], 32, "broadcast"),
        ([0, 0, 0, 0], 8, "\"this network\" (0.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "private (RFC 1918)"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (RFC 6598)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([172, 16, 0, 0], 12, "private (RFC 1918)"),
        ([192, 0, 0, 0], 24, "IETF protocol assignment (192.0.0.0/24)"),
        ([192, 0, 2, 0], 24, "documentation (TEST-NET-1)"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast"),
        ([192, 168, 0, 0], 16, "private (RFC 1918)"),
        ([198, 18, 0, 0], 15, "benchmarking (RFC 2544)"),
        ([198, 51, 100, 0], 24, "documentation (TEST-NET-2)"),
        ([203, 0, 113, 0], 24, "documentation (TEST-NET-3)"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
    ];
    let n = u32::from(ip);
    TABLE.iter().find(|(base, bits, _)| n >> (32 - bits) == u32::from(Ipv4Addr::from(*base)) >> (32 - bits)).map(|(_, _, kind)| *kind)
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    let n = u128::from(ip);
    let within = |base: u128, bits: u32| n >> (128 - bits) == base >> (128 - bits);
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if within(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        return special_v4(Ipv4Addr::from(n as u32));
    }
    const TABLE: [(u128, u32, &str); 12] = [
        (0, 96, "IPv4-compatible (deprecated)"),
        (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48, "local-use NAT64 (RFC 8215)"),
        (0x0100_0000_0000_0000_0000_0000_0000_0000, 64, "discard-only (RFC 6666)"),
        (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32, "documentation (2001:db8::/32)"),
        (0x2001_0000_0000_0000_0000_0000_0000_0000, 23, "IETF protocol assignment (2001::/23, Teredo among them)"),
        (0x2002_0000_0000_0000_0000_0000_0000_0000, 16, "6to4 (2002::/16)"),
        (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20, "documentation (3fff::/20)"),
        (0x5f00_0000_0000_0000_0000_0000_0000_0000, 16, "SRv6 SID (5f00::/16)"),
        (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7, "unique local (ULA, fc00::/7)"),
        (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, "link-local"),
        (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10, "site-local (deprecated)"),
        (0xff00_0000_0000_0000_0000_0000_0000_0000, 8, "multicast"),
    ];
    if let Some((_, _, kind)) = TABLE.iter().find(|(base, bits, _)| within(*base, *bits)) {
        return Some(kind);
    }
    (!within(0x2000_0000_0000_0000_0000_0000_0000_0000, 3)).then_some("reserved (outside global unicast 2000::/3)")
}

/// The HTTP client's resolver: the system's answer, less every address that is not
/// public. The client connects only to what this returns, so the address connected to
/// is always a checked one.
struct GuardedResolver {
    allow_private: bool,
}

/// A name whose every address was refused.
#[derive(Debug)]
struct Refused {
    host: String,
    addr: IpAddr,
    kind: &'static str,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves only to non-public addresses ({}, {})", self.host, self.addr, self.kind)
    }
}

impl std::error::Error for Refused {}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if allow_private {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let mut refused = None;
            let public: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match special_use(a.ip()) {
                    Some(kind) => {
                        refused.get_or_insert((a.ip(), kind));
                        false
                    }
                    None => true,
                })
                .collect();
            if public.is_empty() {
                return Err(match refused {
                    Some((addr, kind)) => Box::new(Refused { host, addr, kind }) as Box<dyn std::error::Error + Send + Sync>,
                    None => format!("{host} has no addresses").into(),
                });
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// A reqwest failure as a [`CimdError`]: a refusal of the resolver's is found in the
/// error's sources.
fn request_error(url: &str, e: reqwest::Error) -> CimdError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return CimdError::ForbiddenAddress { url: url.to_owned(), host: r.host.clone(), addr: r.addr, kind: r.kind };
        }
        source = s.source();
    }
    if e.is_timeout() {
        return CimdError::Timeout { url: url.to_owned() };
    }
    let mut detail = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = source {
        if !detail.is_empty() {
            detail.push_str(": ");
        }
        detail.push_str(&s.to_string());
        source = s.source();
    }
    if detail.is_empty() {
        detail = e.to_string();
    }
    CimdError::Unreachable { url: url.to_owned(), detail: crate::text::clip(&detail, 300).into_owned() }
}

/// Checks a fetched body and reads the document from it.
fn parse_document(url: &str, body: &[u8], allow_private: bool) -> Result<ClientDocument, CimdError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| CimdError::NotJson { url: url.to_owned(), detail: e.to_string() })?;
    let Value::Object(doc) = value else { return Err(CimdError::NotObject { url: url.to_owned() }) };
    let invalid = |field: &'static str, reason: &str| CimdError::InvalidField { url: url.to_owned(), field, reason: reason.to_owned() };
    let string = |doc: &Map<String, Value>, field: &'static str| -> Result<Option<String>, CimdError> {
        match doc.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(field, "it must be a string")),
        }
    };
    let missing = |field: &'static str| CimdError::MissingField { url: url.to_owned(), field };

    let client_id = string(&doc, "client_id")?.ok_or_else(|| missing("client_id"))?;
    if client_id != url {
        return Err(CimdError::ClientIdMismatch { url: url.to_owned(), found: crate::text::clip(&client_id, 300).into_owned() });
    }
    if doc.contains_key("client_secret") {
        return Err(CimdError::SecretField { url: url.to_owned() });
    }
    let method = string(&doc, "token_endpoint_auth_method")?.unwrap_or_else(|| "none".to_owned());
    if method != "none" {
        return Err(CimdError::AuthMethod { url: url.to_owned(), method: crate::text::clip(&method, 100).into_owned() });
    }
    let client_name = string(&doc, "client_name")?.ok_or_else(|| missing("client_name"))?;
    if client_name.trim().is_empty() {
        return Err(invalid("client_name", "it is empty"));
    }
    if client_name.chars().count() > 200 || client_name.chars().any(char::is_control) {
        return Err(invalid("client_name", "it must be at most 200 characters, without control characters"));
    }
    let redirect_uris = match doc.get("redirect_uris") {
        None | Some(Value::Null) => return Err(missing("redirect_uris")),
        Some(Value::Array(items)) if items.is_empty() => return Err(invalid("redirect_uris", "it is empty; list at least one redirect URI")),
        Some(Value::Array(items)) => {
            let mut uris = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(uri) = item else { return Err(invalid("redirect_uris", "every entry must be a string")) };
                if let Some(reason) = redirect_uri_problem(uri) {
                    return Err(CimdError::BadRedirectUri { url: url.to_owned(), uri: crate::text::clip(uri, 300).into_owned(), reason });
                }
                uris.push(uri.clone());
            }
            uris
        }
        Some(_) => return Err(invalid("redirect_uris", "it must be an array of strings")),
    };
    let web_uri = |field: &'static str| -> Result<Option<String>, CimdError> {
        let Some(uri) = string(&doc, field)? else { return Ok(None) };
        let ok = Url::parse(&uri).is_ok_and(|u| u.scheme() == "https" || (allow_private && u.scheme() == "http"));
        if !ok {
            return Err(invalid(field, "it must be an absolute https URL"));
        }
        Ok(Some(uri))
    };
    let client_uri = web_uri("client_uri")?;
    let logo_uri = web_uri("logo_uri")?;
    Ok(ClientDocument { client_id, client_name, redirect_uris, token_endpoint_auth_method: method, client_uri, logo_uri })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What the test server sends for a request to `url` (the base URL it listens on).
    type Respond = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

    /// A raw HTTP/1.1 server on 127.0.0.1 answering every request with `respond(base)`,
    /// after `delay`.
    async fn server(delay: Duration, respond: Respond) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let b = base.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let (respond, base) = (respond.clone(), b.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    tokio::time::sleep(delay).await;
                    let _ = sock.write_all(&respond(&base)).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        base
    }

    fn ok_json(body: &str) -> Vec<u8> {
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).into_bytes()
    }

    /// A server whose document at /client.json is `doc(url)`.
    async fn serving(doc: impl Fn(&str) -> Value + Send + Sync + 'static) -> String {
        let base = server(Duration::ZERO, Arc::new(move |base| ok_json(&doc(&format!("{base}/client.json")).to_string()))).await;
        format!("{base}/client.json")
    }

    fn good(url: &str) -> Value {
        serde_json::json!({
            "client_id": url,
            "client_name": "Test Client",
            "redirect_uris": ["https://client.example/callback", "http://127.0.0.1/callback", "http://localhost:3000/cb", "http://[::1]:8080/cb"],
            "client_uri": "https://client.example/",
            "logo_uri": "https://client.example/logo.png",
            "grant_types": ["authorization_code", "refresh_token"],
        })
    }

    async fn fetch(url: &str) -> Result<ClientDocument, CimdError> {
        Fetcher::new(true).fetch(url).await
    }

    #[tokio::test]
    async fn a_good_document_is_read() {
        let url = serving(good).await;
        let doc = fetch(&url).await.unwrap();
        assert_eq!(doc.client_id, url);
        assert_eq!(doc.client_name, "Test Client");
        assert_eq!(doc.redirect_uris.len(), 4);
        assert_eq!(doc.token_endpoint_auth_method, "none");
        assert_eq!(doc.client_uri.as_deref(), Some("https://client.example/"));
        assert_eq!(doc.logo_uri.as_deref(), Some("https://client.example/logo.png"));
        // An explicit `none` is fine too.
        let url = serving(|u| {
            let mut d = good(u);
            d["token_endpoint_auth_method"] = "none".into();
            d
        })
        .await;
        assert!(fetch(&url).await.is_ok());
    }

    #[tokio::test]
    async fn a_document_naming_another_client_id_is_refused() {
        let url = serving(|u| {
            let mut d = good(u);
            d["client_id"] = format!("{}/other.json", u.rsplit_once('/').unwrap().0).into();
            d
        })
        .await;
        let e = fetch(&url).await.unwrap_err();
        assert!(matches!(e, CimdError::ClientIdMismatch { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.starts_with(&format!("the client metadata document at {url} says client_id `")), "{text}");
        assert!(text.ends_with("/other.json`; it must equal its own URL"), "{text}");
        // A trailing slash is another URL.
        let url = serving(|u| {
            let mut d = good(u);
            d["client_id"] = format!("{u}/").into();
            d
        })
        .await;
        assert!(matches!(fetch(&url).await.unwrap_err(), CimdError::ClientIdMismatch { .. }));
    }

    #[tokio::test]
    async fn missing_and_mistyped_fields_are_named() {
        type Change = fn(&mut Value);
        let cases: [(&str, Change, &str); 8] = [
            ("client_id", |d| drop(d.as_object_mut().unwrap().remove("client_id")), "has no `client_id`; it is required"),
            ("client_name", |d| drop(d.as_object_mut().unwrap().remove("client_name")), "has no `client_name`; it is required"),
            ("redirect_uris", |d| drop(d.as_object_mut().unwrap().remove("redirect_uris")), "has no `redirect_uris`; it is required"),
            ("empty redirect_uris", |d| d["redirect_uris"] = serde_json::json!([]), "invalid `redirect_uris`: it is empty"),
            ("string redirect_uris", |d| d["redirect_uris"] = "https://x.example/cb".into(), "invalid `redirect_uris`: it must be an array"),
            ("numeric client_name", |d| d["client_name"] = 5.into(), "invalid `client_name`: it must be a string"),
            ("blank client_name", |d| d["client_name"] = " ".into(), "invalid `client_name`: it is empty"),
            ("http logo", |d| d["logo_uri"] = "javascript:alert(1)".into(), "invalid `logo_uri`: it must be an absolute https URL"),
        ];
        for (what, change, expect) in cases {
            let url = serving(move |u| {
                let mut d = good(u);
                change(&mut d);
                d
            })
            .await;
            let e = fetch(&url).await.unwrap_err().to_string();
            assert!(e.contains(expect), "{what}: {e}");
            assert!(e.starts_with(&format!("the client metadata document at {url} ")), "{what}: {e}");
        }
    }

    #[tokio::test]
    async fn bad_redirect_uris_are_refused() {
        for (uri, expect) in [
            ("http://client.example/cb", "http is accepted only on a loopback host"),
            ("ftp://client.example/cb", "its scheme is `ftp`"),
            ("/relative/cb", "not an absolute URL"),
            ("https://client.example/cb#frag", "fragment"),
            ("https://user@client.example/cb", "userinfo"),
            ("http://127.0.0.2/cb", "loopback host"),
            ("HTTPS://client.example/cb", "normal form"),
            ("myapp://callback", "its scheme is `myapp`"),
        ] {
            let url = serving(move |u| {
                let mut d = good(u);
                d["redirect_uris"] = serde_json::json!(["https://ok.example/cb", uri]);
                d
            })
            .await;
            let e = fetch(&url).await.unwrap_err();
            assert!(matches!(e, CimdError::BadRedirectUri { .. }), "{uri}: {e:?}");
            let text = e.to_string();
            assert!(text.contains(&format!("lists the redirect URI `{uri}`")) && text.contains(expect), "{uri}: {text}");
        }
    }

    #[tokio::test]
    async fn secrets_are_refused() {
        for method in ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"] {
            let url = serving(move |u| {
                let mut d = good(u);
                d["token_endpoint_auth_method"] = method.into();
                d
            })
            .await;
            let e = fetch(&url).await.unwrap_err();
            assert!(matches!(&e, CimdError::AuthMethod { method: m, .. } if m == method), "{method}: {e:?}");
            let text = e.to_string();
            assert!(text.contains(&format!("token_endpoint_auth_method `{method}`")), "{text}");
            if method.starts_with("client_secret") {
                assert!(text.contains("cannot hold a shared secret"), "{text}");
            }
        }
        let url = serving(|u| {
            let mut d = good(u);
            d["client_secret"] = "s3cret".into();
            d
        })
        .await;
        let e = fetch(&url).await.unwrap_err();
        assert!(matches!(e, CimdError::SecretField { .. }), "{e:?}");
        assert!(!e.to_string().contains("s3cret"));
    }

    #[tokio::test]
    async fn non_json_and_non_objects_are_refused() {
        let base = server(Duration::ZERO, Arc::new(|_| ok_json("<html>hello</html>"))).await;
        let e = fetch(&format!("{base}/client.json")).await.unwrap_err();
        assert!(matches!(e, CimdError::NotJson { .. }), "{e:?}");
        assert!(e.to_string().contains("is not JSON"), "{e}");
        let base = server(Duration::ZERO, Arc::new(|_| ok_json("[1, 2]"))).await;
        let e = fetch(&format!("{base}/client.json")).await.unwrap_err();
        assert!(matches!(e, CimdError::NotObject { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn too_large_documents_are_refused_declared_or_streamed() {
        // Declared: refused from the header, before any body is read (none is sent).
        let base = server(
            Duration::ZERO,
            Arc::new(|_| b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\nconnection: close\r\n\r\n{".to_vec()),
        )
        .await;
        let e = fetch(&format!("{base}/client.json")).await.unwrap_err();
        assert!(matches!(e, CimdError::TooLarge { declared: Some(100_000), .. }), "{e:?}");
        assert!(e.to_string().contains("larger than the 5120 bytes accepted (it declares 100000 bytes)"), "{e}");
        // Streamed (chunked, no length): cut at the cap.
        let base = server(
            Duration::ZERO,
            Arc::new(|_| {
                let mut out = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
                let chunk = format!("{{\"pad\": \"{}\"", "x".repeat(1000));
                out.extend(format!("{:x}\r\n{chunk}\r\n", chunk.len()).bytes());
                for _ in 0..10 {
                    let more = "y".repeat(1000);
                    out.extend(format!("{:x}\r\n{more}\r\n", more.len()).bytes());
                }
                out.extend(b"0\r\n\r\n");
                out
            }),
        )
        .await;
        let e = fetch(&format!("{base}/client.json")).await.unwrap_err();
        assert!(matches!(e, CimdError::TooLarge { declared: None, .. }), "{e:?}");
        // Exactly at the cap is fine (a valid document padded to 5120 bytes).
        let url = serving(|u| {
            let mut d = good(u);
            let len = d.to_string().len();
            d["pad"] = "p".repeat(MAX_DOCUMENT_BYTES - len - ",\"pad\":\"\"".len()).into();
            assert_eq!(d.to_string().len(), MAX_DOCUMENT_BYTES);
            d
        })
        .await;
        assert!(fetch(&url).await.is_ok());
    }

    #[tokio::test]
    async fn a_slow_server_times_out() {
        let base = server(Duration::from_secs(3), Arc::new(|base| ok_json(&good(&format!("{base}/client.json")).to_string()))).await;
        let url = format!("{base}/client.json");
        let started = std::time::Instant::now();
        let e = fetch(&url).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(e, CimdError::Timeout { .. }), "{e:?}");
        assert!(took >= Duration::from_millis(2400) && took < Duration::from_secs(3), "{took:?}");
        assert_eq!(e.to_string(), format!("the client metadata document at {url} did not arrive within 2.5 s"));
    }

    #[tokio::test]
    async fn redirects_and_other_statuses_are_refused_not_followed() {
        let target = serving(good).await;
        let t = target.clone();
        let base = server(
            Duration::ZERO,
            Arc::new(move |_| format!("HTTP/1.1 302 Found\r\nlocation: {t}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").into_bytes()),
        )
        .await;
        let e = fetch(&format!("{base}/client.json")).await.unwrap_err();
        assert!(matches!(&e, CimdError::Redirect { status: 302, location, .. } if *location == target), "{e:?}");
        assert!(e.to_string().contains("redirects are not followed"), "{e}");
        let base = server(Duration::ZERO, Arc::new(|_| b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec())).await;
        let e = fetch(&format!("{base}/client.json")).await.unwrap_err();
        assert!(matches!(e, CimdError::Status { status: 404, .. }), "{e:?}");
    }

    #[tokio::test]
    async fn without_allow_private_http_loopback_and_private_hosts_are_refused() {
        let strict = Fetcher::new(false);
        // A live local server, so a refusal is the guard's and not a failed connection.
        let local = serving(good).await;
        let port = local.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
        let e = strict.fetch(&local).await.unwrap_err();
        assert!(matches!(&e, CimdError::InvalidUrl { reason, .. } if reason.contains("its scheme is `http`; it must be https")), "{e:?}");
        for (url, addr) in [
            (format!("https://127.0.0.1:{port}/client.json"), "127.0.0.1"),
            ("https://10.1.2.3/client.json".to_owned(), "10.1.2.3"),
            ("https://192.168.1.1/client.json".to_owned(), "192.168.1.1"),
            ("https://169.254.169.254/latest/meta-data".to_owned(), "169.254.169.254"),
            ("https://100.64.0.1/client.json".to_owned(), "100.64.0.1"),
            ("https://[::1]/client.json".to_owned(), "::1"),
            ("https://[::ffff:7f00:1]/client.json".to_owned(), "::ffff:127.0.0.1"),
            ("https://[fd00::1]/client.json".to_owned(), "fd00::1"),
            ("https://0.0.0.0/client.json".to_owned(), "0.0.0.0"),
        ] {
            let e = strict.fetch(&url).await.unwrap_err();
            assert!(matches!(&e, CimdError::ForbiddenAddress { addr: a, .. } if a.to_string() == addr), "{url}: {e:?}");
            assert!(e.to_string().contains("only public addresses are fetched"), "{e}");
        }
        // A name is resolved, and its addresses checked where the client connects.
        let url = format!("https://localhost:{port}/client.json");
        let e = strict.fetch(&url).await.unwrap_err();
        assert!(
            matches!(&e, CimdError::ForbiddenAddress { addr, kind, host, .. } if addr.is_loopback() && *kind == "loopback" && host == "localhost"),
            "{e:?}"
        );
        assert!(e.to_string().starts_with(&format!("the client metadata document at {url} is not fetched: its host `localhost` resolves to ")), "{e}");
        // The peer check refuses a non-public connected address too.
        assert_eq!(check_connected("127.0.0.1:443".parse().unwrap(), false), Err("loopback"));
        assert_eq!(check_connected("127.0.0.1:443".parse().unwrap(), true), Ok(()));
        assert_eq!(check_connected("[2606:4700::1111]:443".parse().unwrap(), false), Ok(()));
    }

    #[tokio::test]
    async fn url_shapes_are_checked_before_any_fetch() {
        let strict = Fetcher::new(false);
        for (url, expect) in [
            ("https://client.example", "it has no path"),
            ("https://client.example/", "it has no path"),
            ("https://client.example/client.json#x", "fragment"),
            ("https://client.example/client.json#", "fragment"),
            ("https://user@client.example/client.json", "userinfo"),
            ("https://user:pw@client.example/client.json", "userinfo"),
            ("https://client.example/a/../client.json", "dot segment `..`"),
            ("https://client.example/./client.json", "dot segment `.`"),
            ("https://client.example/a/%2E%2E/client.json", "dot segment `%2E%2E`"),
            ("https://client.example/a/.%2e/client.json", "dot segment `.%2e`"),
            ("https://client.example/a/..", "dot segment `..`"),
            ("https://client.example\\a\\..\\b", "dot segment `..`"),
            ("https://CLIENT.example/client.json", "normal form, which is `https://client.example/client.json`"),
            ("https://client.example:443/client.json", "normal form"),
            ("http://client.example/client.json", "it must be https"),
            ("gmcl_0123456789abcdef", "not an absolute URL"),
            ("file:///etc/passwd", "its scheme is `file`"),
        ] {
            let e = strict.fetch(url).await.unwrap_err();
            assert!(matches!(e, CimdError::InvalidUrl { .. }), "{url}: {e:?}");
            let text = e.to_string();
            assert!(text.contains(expect), "{url}: {text}");
            assert!(text.starts_with(&format!("the client_id `{url}` is not a valid client metadata document URL: ")), "{text}");
        }
        // Dots inside a segment are fine.
        assert_eq!(dot_segment("https://x.example/.well-known/a..b/c.json"), None);
        assert_eq!(dot_segment("https://x.example/a?x=/../"), None);
    }

    #[test]
    fn metadata_client_ids_are_told_from_registered_ones() {
        for yes in [
            "https://claude.ai/oauth/client-metadata.json",
            "https://x.example/c",
            "http://localhost:3000/client.json",
            "http://127.0.0.1:9/c",
            "http://[::1]/c",
        ] {
            assert!(is_metadata_client_id(yes), "{yes}");
        }
        for no in
            ["gmcl_0123456789abcdef", "https://x.example", "https://x.example/", "http://x.example/c", "http://10.0.0.1/c", "ftp://x.example/c", "", "client"]
        {
            assert!(!is_metadata_client_id(no), "{no}");
        }
    }

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://localhost:33418/callback",
            "http://127.0.0.1/cb",
            "http://[::1]:1/cb",
            "https://x.example/cb?a=1",
        ] {
            assert_eq!(redirect_uri_problem(ok), None, "{ok}");
        }
        for bad in ["http://example.com/cb", "https://x.example/cb#f", "x", "javascript:alert(1)", "https://u:p@x.example/cb", "https://x.example"] {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn the_address_classifier_knows_special_use_ranges() {
        let refused = [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "this network"),
            ("10.0.0.1", "private"),
            ("10.255.255.255", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("169.254.169.254", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.8", "IETF protocol assignment"),
            ("192.0.2.1", "documentation"),
            ("192.88.99.1", "6to4 relay"),
            ("192.168.0.1", "private"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.1.1", "link-local"),
            ("::127.0.0.1", "IPv4-compatible"),
            ("64:ff9b::a00:1", "private"),
            ("64:ff9b::7f00:1", "loopback"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("100::1", "discard-only"),
            ("2001:db8::1", "documentation"),
            ("2001::1", "IETF protocol assignment"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
            ("2002:c000:0204::1", "6to4"),
            ("3fff::1", "documentation"),
            ("5f00::1", "SRv6"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("ff0e::1", "multicast"),
            ("4000::1", "reserved"),
            ("::2", "IPv4-compatible"),
        ];
        for (ip, kind) in refused {
            let got = special_use(ip.parse().unwrap());
            assert!(got.is_some_and(|k| k.contains(kind)), "{ip}: expected {kind}, got {got:?}");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81c::200e",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2c0f:fb50:4003::1",
        ];
        for ip in public {
            assert_eq!(special_use(ip.parse().unwrap()), None, "{ip}");
        }
    }
}
