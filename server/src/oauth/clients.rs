//! Which client is asking: registered and dynamic clients from the store, metadata
//! clients fetched from their `client_id` URL (and cached in the store); exact
//! redirect-URI matching; client authentication at the token and revocation endpoints.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use jiff::SignedDuration;

use crate::managed::secrets::TokenHash;
use crate::managed::store::oauth::{Client, ClientKind, NewClient};
use crate::oauth::OAuth;
use crate::oauth::cimd;
use crate::oauth::errors::OAuthError;

/// How long a fetched metadata document is trusted before it is fetched again.
pub const METADATA_TTL: SignedDuration = SignedDuration::from_secs(3600);

/// Why a client could not be found.
#[derive(Debug)]
pub enum Unknown {
    /// Not registered, and not a metadata URL.
    NotRegistered,
    /// A metadata document that was refused.
    Document(cimd::CimdError),
    /// The store failed.
    Store(OAuthError),
}

impl Unknown {
    /// A sentence for the error page.
    pub fn describe(&self, client_id: &str) -> String {
        let id = crate::text::clip(client_id, 200);
        match self {
            Unknown::NotRegistered => format!("the client `{id}` is not registered with this server"),
            Unknown::Document(e) => format!("the client `{id}` cannot be used: {e}"),
            Unknown::Store(e) => e.description.clone(),
        }
    }
}

impl OAuth {
    /// The client `client_id`, fetching (or re-fetching) a metadata document.
    pub async fn client(&self, client_id: &str) -> Result<Client, Unknown> {
        let stored = self.managed.store.get_client(client_id).await.map_err(|e| Unknown::Store(OAuthError::server(e)))?;
        let now = self.managed.clock.now();
        match stored {
            Some(c) if c.kind != ClientKind::Metadata || now.duration_since(c.created_at) < METADATA_TTL => Ok(c),
            _ if cimd::is_metadata_client_id(client_id) => {
                let doc = self.cimd.fetch(client_id).await.map_err(Unknown::Document)?;
                let new = NewClient {
                    client_id: doc.client_id,
                    name: doc.client_name,
                    redirect_uris: doc.redirect_uris,
                    kind: ClientKind::Metadata,
                    token_endpoint_auth_method: "none".into(),
                    secret: None,
                };
                self.managed.store.put_client(new, now).await.map_err(|e| Unknown::Store(OAuthError::server(e)))
            }
            Some(c) => Ok(c),
            None => Err(Unknown::NotRegistered),
        }
    }

    /// Authenticates the client of a token or revocation request: HTTP Basic, or
    /// `client_id` (and `client_secret`) in the form. A confidential client must prove
    /// its secret; a public one names itself.
    pub async fn authenticate(&self, headers: &HeaderMap, form: &Form) -> Result<Client, OAuthError> {
        let (id, secret) = match basic(headers) {
            Some(Ok(pair)) => (pair.0, Some(pair.1)),
            Some(Err(())) => return Err(OAuthError::invalid_client("the Authorization header is not valid HTTP Basic client authentication")),
            None => {
                let id = form.one("client_id").map_err(|e| OAuthError::bad("invalid_request", e))?;
                (
                    id.ok_or_else(|| {
                        OAuthError::invalid_client("client authentication is missing: send client_id (and client_secret, for a confidential client)")
                    })?
                    .to_owned(),
                    form.one("client_secret").ok().flatten().map(str::to_owned),
                )
            }
        };
        let client = self.managed.store.get_client(&id).await.map_err(OAuthError::server)?;
        let client =
            client.ok_or_else(|| OAuthError::invalid_client(format!("the client `{}` is not registered with this server", crate::text::clip(&id, 200))))?;
        if client.token_endpoint_auth_method != "none" {
            let ok = match &secret {
                Some(s) => self.managed.store.verify_client_secret(&client.client_id, &TokenHash::of(s)).await.map_err(OAuthError::server)?,
                None => false,
            };
            if !ok {
                return Err(OAuthError::invalid_client("the client's secret is missing or wrong"));
            }
        }
        Ok(client)
    }
}

/// `Authorization: Basic` client credentials (RFC 6749 §2.3.1: each part form-encoded).
fn basic(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).map_err(|_| ());
    Some(decoded.and_then(|b| String::from_utf8(b).map_err(|_| ())).and_then(|s| {
        let (id, secret) = s.split_once(':').ok_or(())?;
        let dec = |t: &str| percent_encoding::percent_decode_str(&t.replace('+', " ")).decode_utf8().map(|c| c.into_owned()).map_err(|_| ());
        Ok((dec(id)?, dec(secret)?))
    }))
}

/// Whether `requested` is one of `registered`: exact string match, except that a
/// loopback redirect (`http://127.0.0.1`, `http://[::1]`, `http://localhost`) matches
/// on any port, as native apps pick theirs at run time (RFC 8252 §7.3).
pub fn redirect_matches(registered: &[String], requested: &str) -> bool {
    registered.iter().any(|r| r == requested || loopback_equal(r, requested))
}

fn loopback_equal(registered: &str, requested: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(registered), url::Url::parse(requested)) else { return false };
    a.scheme() == "http"
        && b.scheme() == "http"
        && is_loopback(&a)
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
        && a.fragment().is_none()
        && b.fragment().is_none()
        && b.username().is_empty()
        && b.password().is_none()
}

/// Whether a URL's host is a loopback name or address.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// Whether `uri` may be registered as a redirect (dynamic registration, the admin API
/// and metadata documents share [`cimd::redirect_uri_problem`]): an absolute https URL, or
/// http on loopback; never a fragment or credentials; in normal form, as it is compared
/// exactly.
pub fn redirect_allowed(uri: &str) -> Result<(), String> {
    match cimd::redirect_uri_problem(uri) {
        Some(problem) => Err(format!("`{}`: {problem}", crate::text::clip(uri, 200))),
        None => Ok(()),
    }
}

/// A decoded `application/x-www-form-urlencoded` body (or query): repeated names kept.
#[derive(Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// Parses `body`.
    pub fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The single value of `name`; an error names a repeated parameter (RFC 6749 §3.1:
    /// parameters must not be included more than once).
    pub fn one(&self, name: &str) -> Result<Option<&str>, String> {
        let mut it = self.0.iter().filter(|(k, _)| k == name);
        let first = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(format!("`{name}` is given more than once"));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_match_exactly_except_loopback_ports() {
        let reg = vec!["https://claude.ai/api/mcp/auth_callback".to_owned(), "http://127.0.0.1:3000/callback".to_owned(), "http://localhost/cb".to_owned()];
        assert!(redirect_matches(&reg, "https://claude.ai/api/mcp/auth_callback"));
        assert!(!redirect_matches(&reg, "https://claude.ai/api/mcp/auth_callback/"));
        assert!(!redirect_matches(&reg, "https://claude.ai/api/mcp/auth_callback?x=1"));
        assert!(!redirect_matches(&reg, "https://claude.ai:444/api/mcp/auth_callback"));
        assert!(redirect_matches(&reg, "http://127.0.0.1:51234/callback"));
        assert!(!redirect_matches(&reg, "http://127.0.0.1:51234/other"));
        assert!(!redirect_matches(&reg, "http://localhost:3000/callback"), "another loopback host is another URI");
        assert!(redirect_matches(&reg, "http://localhost:8123/cb"));
        assert!(!redirect_matches(&reg, "https://127.0.0.1:3000/callback"));
    }

    #[test]
    fn only_https_or_loopback_redirects_register() {
        assert!(redirect_allowed("https://chatgpt.com/connector_platform_oauth_redirect").is_ok());
        assert!(redirect_allowed("http://localhost:3030/callback").is_ok());
        assert!(redirect_allowed("http://[::1]:3030/callback").is_ok());
        for bad in ["http://example.com/cb", "myapp://cb", "https://a/cb#frag", "https://user:pw@a/cb", "/relative"] {
            assert!(redirect_allowed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forms_keep_repeats_and_refuse_duplicates_of_single_values() {
        let f = Form::parse(b"scope=a&scope=b&code=x&code=y&state=s");
        assert_eq!(f.all("scope"), ["a", "b"]);
        assert!(f.one("code").is_err());
        assert_eq!(f.one("state"), Ok(Some("s")));
        assert_eq!(f.one("missing"), Ok(None));
    }
}
