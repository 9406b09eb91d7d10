//! Signed downloads as MCP resources, where the spec's `download_link` behaviour says a
//! result (or each item of it) carries one. Each gains a `resource_link` whose URI names
//! the tool, the arguments and the place in the result that produced it and the URL
//! itself, sealed with an HMAC so a client can neither point the server at another URL
//! nor at another tool. `resources/read` fetches
//! the URL (without Gumloop credentials: signed URLs carry their own), up to a size cap,
//! and on an expired URL asks the tool for a fresh one, once.

use base64::Engine as _;
use gumloop_mcp_runtime::behaviour::DownloadLink;
use gumloop_mcp_runtime::pointer;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const SCHEME: &str = "gumloop://download/";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What a link stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The tool that produced the URL (and can produce a fresh one).
    pub tool: String,
    /// Its arguments.
    pub args: Value,
    /// Where in the tool's result the object with the URL is (`""`, `/artifacts/3`).
    pub at: String,
    /// The signed URL.
    pub url: String,
}

/// The key links are sealed with. `serve` derives it from the secret every replica of a
/// deployment shares (see `SealingKey::derive`), so a link minted by one replica reads on
/// another and after a restart; stdio without `GUMLOOP_MCP_SECRET_KEY` uses a random
/// per-process key (`Default`: its links die with the process, and a client that keeps
/// one calls the tool again). Each link names its key by id, so a deployment can move to
/// a new key while links sealed with older ones it still [`accept`](Self::accept)s read.
#[derive(Clone)]
pub struct LinkKey {
    /// The key new links are sealed with first, then older ones still accepted.
    keys: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

impl Default for LinkKey {
    fn default() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source failed");
        Self::from_key(key)
    }
}

/// A key's id: the first 8 bytes of its SHA-256, which says which key to check with and
/// nothing about the key.
fn key_id(key: &[u8; 32]) -> String {
    use sha2::Digest as _;
    B64.encode(&Sha256::digest(key)[..8])
}

impl LinkKey {
    /// Links sealed with `key` (32 bytes derived from the deployment's secret).
    pub fn from_key(key: [u8; 32]) -> Self {
        Self { keys: vec![(key_id(&key), key)] }
    }

    /// Also reads links sealed with `older` (after a move to a new key).
    pub fn accept(mut self, older: [u8; 32]) -> Self {
        self.keys.push((key_id(&older), older));
        self
    }

    /// A key for another purpose (`label`), derived from the one new links are sealed
    /// with: it is shared by every replica as that one is, and tells nothing about it.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.keys[0].1).expect("any key length");
        m.update(label.as_bytes());
        m.finalize().into_bytes().into()
    }

    fn mac(key: &[u8; 32], id: &str, tool: &str, args: &str, at: &str, url: &str) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
        for part in [id, tool, args, at, url] {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part.as_bytes());
        }
        m
    }

    /// The link's URI.
    pub fn encode(&self, link: &Link) -> String {
        let (id, key) = &self.keys[0];
        let args = link.args.to_string();
        let tag = Self::mac(key, id, &link.tool, &args, &link.at, &link.url).finalize().into_bytes();
        format!("{SCHEME}{}?k={id}&a={}&p={}&u={}&m={}", link.tool, B64.encode(&args), B64.encode(&link.at), B64.encode(&link.url), B64.encode(tag))
    }

    /// The link a URI stands for, if it was sealed with one of these keys.
    pub fn decode(&self, uri: &str) -> Option<Link> {
        let rest = uri.strip_prefix(SCHEME)?;
        let (tool, query) = rest.split_once('?')?;
        let mut parts = std::collections::HashMap::new();
        for kv in query.split('&') {
            let (k, v) = kv.split_once('=')?;
            parts.insert(k, v);
        }
        let text = |v: &str| B64.decode(v).ok().and_then(|b| String::from_utf8(b).ok());
        let id = parts.remove("k")?;
        let (_, key) = self.keys.iter().find(|(k, _)| k == id)?;
        let (args, at, url) = (text(parts.remove("a")?)?, text(parts.remove("p")?)?, text(parts.remove("u")?)?);
        Self::mac(key, id, tool, &args, &at, &url).verify_slice(&B64.decode(parts.remove("m")?).ok()?).ok()?;
        Some(Link { tool: tool.to_owned(), args: serde_json::from_str(&args).ok()?, at, url })
    }
}

/// Every object `spec` points at in `body` that carries an http(s) URL: its concrete
/// pointer (`""`, `/artifacts/3`) and the URL.
pub fn targets<'v>(body: &'v Value, spec: &DownloadLink) -> Vec<(String, &'v Value, &'v str)> {
    let mut out = Vec::new();
    for (at, object) in pointer::each_at(body, spec.at) {
        if let Some(url) = url_of(object, spec) {
            out.push((at, object, url));
        }
    }
    out
}

/// The signed URL in one object, when it is an http(s) URL.
pub fn url_of<'v>(object: &'v Value, spec: &DownloadLink) -> Option<&'v str> {
    pointer::str_at(object, spec.url).filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// Whether bytes of this media type are shown as text.
pub fn is_text(media_type: &str) -> bool {
    let essence = crate::upstream::essence(media_type);
    crate::upstream::is_json(&essence)
        || essence.starts_with("text/")
        || essence.ends_with("+xml")
        || matches!(essence.as_str(), "application/xml" | "application/csv" | "application/x-ndjson" | "application/yaml" | "application/x-yaml")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn links_round_trip_and_resist_tampering() {
        let key = LinkKey::default();
        let link = Link {
            tool: "get_single_gumloop_artifact_by_id".into(),
            args: json!({"id": "art_1"}),
            at: "/items/2".into(),
            url: "https://x.test/signed/a?sig=1".into(),
        };
        let uri = key.encode(&link);
        assert!(uri.starts_with("gumloop://download/get_single_gumloop_artifact_by_id?"));
        assert_eq!(key.decode(&uri), Some(link.clone()));
        let other_url = uri.replace(&B64.encode(&link.url), &B64.encode("http://169.254.169.254/"));
        assert_eq!(key.decode(&other_url), None, "a different URL is refused");
        let other_tool = uri.replace("get_single_gumloop_artifact_by_id", "delete_a_gumloop_agent_by_id");
        assert_eq!(key.decode(&other_tool), None, "a different tool is refused");
        assert_eq!(LinkKey::default().decode(&uri), None, "another process's link is refused");
        assert_eq!(key.decode("gumloop://download/x"), None);
    }

    #[test]
    fn links_from_one_derived_key_read_on_every_replica_and_name_their_key() {
        let link = Link { tool: "t".into(), args: json!({}), at: String::new(), url: "https://x.test/s".into() };
        let replica_a = LinkKey::from_key([5; 32]);
        let replica_b = LinkKey::from_key([5; 32]);
        let uri = replica_a.encode(&link);
        assert_eq!(replica_b.decode(&uri), Some(link.clone()), "another replica (or a restart) reads it");
        assert_eq!(LinkKey::from_key([6; 32]).decode(&uri), None, "another deployment's key does not");
        // After a move to a new key, links sealed with the old one still read, and new ones
        // carry the new key's id.
        let rotated = LinkKey::from_key([6; 32]).accept([5; 32]);
        assert_eq!(rotated.decode(&uri), Some(link.clone()));
        let fresh = rotated.encode(&link);
        assert_ne!(fresh, uri);
        assert_eq!(replica_a.decode(&fresh), None, "the old key alone does not read the new key's links");
        // The key id is bound by the MAC and must name a known key.
        let id = &replica_a.keys[0].0;
        assert_eq!(replica_a.decode(&uri.replace(&format!("k={id}"), "k=AAAAAAAAAAA")), None);
        assert_eq!(replica_a.decode(&uri.replace(&format!("k={id}&"), "")), None, "a link without a key id is refused");
    }

    #[test]
    fn every_item_with_a_url_is_a_target() {
        const ITEMS: DownloadLink = DownloadLink { at: "/page/items/*", url: "/file/link", filename: None, media_type: None, size: None };
        let body = json!({"page": {"items": [{"file": {"link": "https://a"}}, {"file": {}}, {"file": {"link": "ftp://x"}}, {"file": {"link": "http://b"}}]}});
        let t: Vec<(String, &str)> = targets(&body, &ITEMS).into_iter().map(|(at, _, u)| (at, u)).collect();
        assert_eq!(t, [("/page/items/0".to_owned(), "https://a"), ("/page/items/3".to_owned(), "http://b")]);
        const RECORD: DownloadLink = DownloadLink { at: "", url: "/link", filename: None, media_type: None, size: None };
        assert_eq!(targets(&json!({"link": "https://c"}), &RECORD).len(), 1);
    }

    #[test]
    fn text_media_types() {
        assert!(is_text("text/csv; charset=utf-8") && is_text("application/json") && is_text("application/vnd.api+json"));
        assert!(!is_text("application/zip") && !is_text("image/png"));
    }
}
