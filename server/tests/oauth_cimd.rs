//! A client known only by its Client ID Metadata Document signs in end to end: the
//! authorization server fetches the document from the `client_id` URL (here a local
//! server, so the test build allows private addresses), shows its name, and issues a
//! code and tokens to it. A refused document is an error page naming why, with nothing
//! stored; without `cimd_allow_private` a loopback document is never fetched.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use common::browser::{Browser, field, query};
use common::{ManagedHarness, start_managed_with};
use gumloop_mcp::http::HttpConfig;
use gumloop_mcp::managed::filter::AuthMode;
use gumloop_mcp::managed::store::oauth::{AccessRule, ClientKind, NewUser, UserSource};
use gumloop_mcp::oauth::OAuthConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn start(allow_private: bool) -> ManagedHarness {
    let config = OAuthConfig { mode: AuthMode::Both, cimd_allow_private: allow_private, ..OAuthConfig::default() };
    let h = start_managed_with(HttpConfig::default(), Some(config)).await;
    let rule = AccessRule { account_id: h.account.clone(), methods: None, tags: None };
    let user = NewUser {
        username: "alice".into(),
        source: UserSource::Local,
        password_hash: Some(gumloop_mcp::managed::password::hash(PASSWORD)),
        access: vec![rule],
    };
    h.store.create_user(user, jiff::Timestamp::now()).await.unwrap();
    h
}

/// Serves `doc(url)` as JSON at `<base>/client.json`; its URL and a fetch counter.
async fn document(doc: impl Fn(&str) -> Value + Send + Sync + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/client.json", listener.local_addr().unwrap());
    let fetches = Arc::new(AtomicUsize::new(0));
    let (u, f, doc) = (url.clone(), fetches.clone(), Arc::new(doc));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (u, f, doc) = (u.clone(), f.clone(), doc.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                f.fetch_add(1, Ordering::SeqCst);
                let body = doc(&u).to_string();
                let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, fetches)
}

fn good(url: &str) -> Value {
    json!({"client_id": url, "client_name": "Metadata Test Client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"})
}

fn authorize_url(base: &str, client_id: &str, challenge: &str) -> String {
    let mut url = url::Url::parse(&format!("{base}/oauth/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("resource", &format!("{base}/mcp")),
    ]);
    url.to_string()
}

fn pkce() -> (String, String) {
    let verifier = format!("v{}", "m".repeat(50));
    (verifier.clone(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())))
}

#[tokio::test]
async fn a_metadata_document_client_signs_in_and_gets_tokens() {
    let h = start(true).await;
    let (url, fetches) = document(good).await;
    let (verifier, challenge) = pkce();
    let mut b = Browser::new();
    let first = b.get(&authorize_url(&h.base, &url, &challenge)).await;
    assert_eq!(first.status, 200, "{}", first.html);
    assert!(first.html.contains("Sign in"), "{}", first.html);
    let stored = h.store.get_client(&url).await.unwrap().expect("the fetched document is cached as a client");
    assert_eq!((stored.kind, stored.name.as_str(), stored.token_endpoint_auth_method.as_str()), (ClientKind::Metadata, "Metadata Test Client", "none"));
    assert_eq!(stored.redirect_uris, [REDIRECT]);

    let login = b
        .post(
            &format!("{}/oauth/login", h.base),
            &[("csrf", &field(&first.html, "csrf")), ("request", &field(&first.html, "request")), ("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(login.status, 303, "{}", login.html);
    let consent = b.get(&format!("{}{}", h.base, login.location.unwrap())).await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    assert!(consent.html.contains("Metadata Test Client"), "the consent page names the client: {}", consent.html);
    let form = [
        ("csrf", field(&consent.html, "csrf")),
        ("request", field(&consent.html, "request")),
        ("decision", "approve".to_owned()),
        ("account", h.account.clone()),
        ("scope", "tools:read".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = b.post(&format!("{}/oauth/consent", h.base), &form).await;
    assert_eq!(done.status, 303, "{}", done.html);
    let q = query(&done.location.unwrap());
    assert_eq!(q["state"], "st-1");

    let resp = h
        .client
        .post(format!("{}/oauth/token", h.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("code_verifier", verifier.as_str()),
            ("client_id", url.as_str()),
            ("redirect_uri", REDIRECT),
            ("resource", &format!("{}/mcp", h.base)),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().unwrap().starts_with("gmoa_"), "{body}");
    let grants = h.store.list_grants(None).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].client_id, url);
    assert!(fetches.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn a_refused_document_is_an_error_page_naming_why_and_nothing_is_stored() {
    let h = start(true).await;
    let (url, _) = document(|u| {
        let mut d = good(u);
        d["client_id"] = "https://elsewhere.example/client.json".into();
        d
    })
    .await;
    let (_, challenge) = pkce();
    let mut b = Browser::new();
    let p = b.get(&authorize_url(&h.base, &url, &challenge)).await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert!(p.location.is_none(), "never redirected to a URI from a refused document");
    assert!(p.html.contains("https://elsewhere.example/client.json") && p.html.contains("it must equal its own URL"), "{}", p.html);
    let (url2, _) = document(|u| {
        let mut d = good(u);
        d["token_endpoint_auth_method"] = "client_secret_basic".into();
        d
    })
    .await;
    let p = b.get(&authorize_url(&h.base, &url2, &challenge)).await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert!(p.html.contains("cannot hold a shared secret"), "{}", p.html);
    assert!(h.store.list_clients().await.unwrap().is_empty(), "no client was cached");
}

#[tokio::test]
async fn without_allow_private_a_loopback_document_is_never_fetched() {
    let h = start(false).await;
    let (url, fetches) = document(good).await;
    let (_, challenge) = pkce();
    let mut b = Browser::new();
    let p = b.get(&authorize_url(&h.base, &url, &challenge)).await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert!(p.html.contains("it must be https"), "{}", p.html);
    let https = url.replacen("http://", "https://", 1);
    let p = b.get(&authorize_url(&h.base, &https, &challenge)).await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert!(p.html.contains("a loopback address; only public addresses are fetched"), "{}", p.html);
    assert_eq!(fetches.load(Ordering::SeqCst), 0, "nothing reached the document server");
    assert!(h.store.list_clients().await.unwrap().is_empty());
}
