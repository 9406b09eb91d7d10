//! Sign-in with OAuth 2.1 over HTTP, as a browser and an MCP client do it: discovery,
//! sign-in and consent pages, code with PKCE, tokens, calls under the grant, refresh
//! rotation and revocation; and every bad input the issue names, each refused with the
//! right OAuth error and nothing issued.

mod common;

use std::collections::HashMap;

use base64::Engine as _;
use common::browser::{Browser, Page, field, query};
use common::{ManagedHarness, rpc_at, start_managed_with};
use gumloop_mcp::http::HttpConfig;
use gumloop_mcp::managed::filter::AuthMode;
use gumloop_mcp::managed::secrets::TokenHash;
use gumloop_mcp::managed::store::oauth::{AccessRule, ClientKind, NewClient, NewUser, UserSource};
use gumloop_mcp::oauth::OAuthConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn start(mode: AuthMode) -> ManagedHarness {
    start_with(OAuthConfig { mode, ..OAuthConfig::default() }).await
}

/// gumloop-mcp with sign-in under `config`, a user `alice` allowed the account, and the
/// public client `gmcl_test`.
async fn start_with(config: OAuthConfig) -> ManagedHarness {
    let h = start_managed_with(HttpConfig::default(), Some(config)).await;
    let now = jiff::Timestamp::now();
    let rule = AccessRule { account_id: h.account.clone(), methods: None, tags: None };
    let user = NewUser {
        username: "alice".into(),
        source: UserSource::Local,
        password_hash: Some(gumloop_mcp::managed::password::hash(PASSWORD)),
        access: vec![rule],
    };
    h.store.create_user(user, now).await.unwrap();
    let client = NewClient {
        client_id: "gmcl_test".into(),
        name: "Test client".into(),
        redirect_uris: vec![REDIRECT.into()],
        kind: ClientKind::Registered,
        token_endpoint_auth_method: "none".into(),
        secret: None,
    };
    h.store.put_client(client, now).await.unwrap();
    h
}

fn pkce() -> (String, String) {
    let verifier = format!("v{}", "x".repeat(50));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// An authorization request for `gmcl_test`, with `extra` replacing or adding parameters.
fn authorize_url(base: &str, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", "gmcl_test"),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("resource", &format!("{base}/mcp")),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push(((*k).to_owned(), (*v).to_owned()));
        }
    }
    let mut url = url::Url::parse(&format!("{base}/oauth/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// Signs in on the page `first` and returns the consent page.
async fn sign_in(b: &mut Browser, base: &str, first: Page) -> Page {
    assert_eq!(first.status, 200, "{}", first.html);
    assert!(first.html.contains("Sign in"), "{}", first.html);
    let login = b
        .post(
            &format!("{base}/oauth/login"),
            &[("csrf", &field(&first.html, "csrf")), ("request", &field(&first.html, "request")), ("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(login.status, 303, "{}", login.html);
    let consent = b.get(&format!("{base}{}", login.location.unwrap())).await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    assert!(consent.html.contains("Allow access"), "{}", consent.html);
    consent
}

/// Approves `consent` with `scopes`; the redirect's query.
async fn approve(b: &mut Browser, base: &str, consent: &Page, account: &str, scopes: &[&str]) -> HashMap<String, String> {
    let csrf = field(&consent.html, "csrf");
    let request = field(&consent.html, "request");
    let mut form = vec![("csrf", csrf.as_str()), ("request", request.as_str()), ("decision", "approve"), ("account", account)];
    form.extend(scopes.iter().map(|s| ("scope", *s)));
    let done = b.post(&format!("{base}/oauth/consent"), &form).await;
    assert_eq!(done.status, 303, "{}", done.html);
    let location = done.location.unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    query(&location)
}

async fn token(h: &ManagedHarness, form: &[(&str, &str)]) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = h.client.post(format!("{}/oauth/token", h.base)).form(form).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.json().await.unwrap(), headers)
}

/// The whole browser part: a code for `gmcl_test` with `scopes`, and its verifier.
async fn code(h: &ManagedHarness, scopes: &[&str], extra: &[(&str, &str)]) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut b = Browser::new();
    let first = b.get(&authorize_url(&h.base, &challenge, extra)).await;
    let consent = sign_in(&mut b, &h.base, first).await;
    let q = approve(&mut b, &h.base, &consent, &h.account, scopes).await;
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], h.base, "RFC 9207: the issuer comes back with the code");
    (q["code"].clone(), verifier)
}

async fn tokens(h: &ManagedHarness, scopes: &[&str]) -> Value {
    let (code, verifier) = code(h, scopes, &[]).await;
    let (status, body, headers) = token(
        h,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", "gmcl_test"),
            ("redirect_uri", REDIRECT),
            ("resource", &format!("{}/mcp", h.base)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    body
}

async fn list_with(h: &ManagedHarness, url: &str, access: Option<&str>) -> common::Reply {
    let client = match access {
        Some(t) => reqwest::Client::builder()
            .default_headers([(reqwest::header::AUTHORIZATION, format!("Bearer {t}").parse().unwrap())].into_iter().collect())
            .build()
            .unwrap(),
        None => reqwest::Client::new(),
    };
    let _ = h;
    rpc_at(&client, url, "tools/list", json!({}), json!({})).await
}

#[tokio::test]
async fn discovery_metadata_names_everything_a_client_needs() {
    let h = start(AuthMode::Both).await;
    let meta: Value = h.client.get(format!("{}/.well-known/oauth-authorization-server", h.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(meta["issuer"], h.base);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert!(meta["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("none")));
    let prm: Value = h.client.get(format!("{}/.well-known/oauth-protected-resource/mcp", h.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(prm["resource"], format!("{}/mcp", h.base));
    assert_eq!(prm["authorization_servers"], json!([h.base]));
    assert_eq!(prm["bearer_methods_supported"], json!(["header"]));

    // Without a token, `/mcp` says where to sign in (RFC 9728 §5.1), with no error code.
    let r = list_with(&h, &format!("{}/mcp", h.base), None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let challenge = r.headers["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"", h.base)), "{challenge}");
    assert!(challenge.contains("scope=\"tools:read tools:write tools:custom\""), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");
}

#[tokio::test]
async fn a_signed_in_client_calls_tools_as_the_grant_and_refresh_rotates() {
    let h = start(AuthMode::Both).await;
    let t = tokens(&h, &["tools:read"]).await;
    let access = t["access_token"].as_str().unwrap();
    assert!(access.starts_with("gmoa_"));
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "tools:read");

    // The grant's scope filters tools/list: reads only.
    let r = list_with(&h, &format!("{}/mcp", h.base), Some(access)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<&str> = r.body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"list_all_gumloop_flows"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("create_") || n.starts_with("delete_")), "{names:?}");

    // A call acts as the grant's account and is audited under the grant.
    let bearer_client = reqwest::Client::builder()
        .default_headers([(reqwest::header::AUTHORIZATION, format!("Bearer {access}").parse().unwrap())].into_iter().collect())
        .build()
        .unwrap();
    let r = rpc_at(&bearer_client, &format!("{}/mcp", h.base), "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {}}), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(r.body["result"]["isError"], true, "{}", r.body);
    assert!(
        h.fake.requests().iter().any(|req| req.headers.get("authorization").is_some_and(|v| v == "Bearer test-key")),
        "the grant's account key is sent upstream"
    );
    assert!(!h.fake.requests().iter().any(|req| format!("{:?}", req.headers).contains(access)), "the access token never goes upstream");
    let grants = h.store.list_grants(None).await.unwrap();
    let calls = h.store.list_calls(&grants[0].id, None, 10).await.unwrap();
    assert_eq!(calls.result.len(), 1);
    assert_eq!(calls.result[0].tool, "list_all_gumloop_flows");

    // Refresh rotates; the old refresh token is spent, and reusing it revokes the family.
    let old = t["refresh_token"].as_str().unwrap();
    let (status, t2, _) = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", old), ("client_id", "gmcl_test")]).await;
    assert_eq!(status, 200, "{t2}");
    let access2 = t2["access_token"].as_str().unwrap();
    assert_ne!(access2, access);
    assert_eq!(list_with(&h, &format!("{}/mcp", h.base), Some(access2)).await.status, 200);
    let (status, err, _) = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", old), ("client_id", "gmcl_test")]).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_grant")), "{err}");
    for dead in [access, access2] {
        let r = list_with(&h, &format!("{}/mcp", h.base), Some(dead)).await;
        assert_eq!(r.status, 401, "every token of the family is revoked: {}", r.body);
        assert!(r.headers["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
    }
    let (status, _, _) =
        token(&h, &[("grant_type", "refresh_token"), ("refresh_token", t2["refresh_token"].as_str().unwrap()), ("client_id", "gmcl_test")]).await;
    assert_eq!(status, 400, "the newest refresh token died with its family");
}

#[tokio::test]
async fn a_call_beyond_the_granted_scope_is_a_step_up_challenge() {
    let h = start(AuthMode::OAuth).await;
    let t = tokens(&h, &["tools:read"]).await;
    let access = t["access_token"].as_str().unwrap();
    let client = reqwest::Client::builder()
        .default_headers([(reqwest::header::AUTHORIZATION, format!("Bearer {access}").parse().unwrap())].into_iter().collect())
        .build()
        .unwrap();
    let before = h.fake.requests().len();
    let r =
        rpc_at(&client, &format!("{}/mcp", h.base), "tools/call", json!({"name": "delete_a_gumloop_skill_by_id", "arguments": {"skill_id": "s1"}}), json!({}))
            .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"tools:read tools:write\""), "the challenge lists what is held and what is needed: {challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    assert_eq!(h.fake.requests().len(), before, "nothing reached Gumloop");
    // A tool no scope could show stays unknown, as for URL tokens.
    let r = rpc_at(&client, &format!("{}/mcp", h.base), "tools/call", json!({"name": "no_such_tool", "arguments": {}}), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn revocation_ends_an_access_token_or_a_whole_grant() {
    let h = start(AuthMode::OAuth).await;
    let t = tokens(&h, &["tools:read", "tools:write"]).await;
    let access = t["access_token"].as_str().unwrap();
    let revoke = |token: String| {
        let (client, base) = (h.client.clone(), h.base.clone());
        async move {
            client.post(format!("{base}/oauth/revoke")).form(&[("token", token.as_str()), ("client_id", "gmcl_test")]).send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(revoke(access.to_owned()).await, 200);
    assert_eq!(list_with(&h, &format!("{}/mcp", h.base), Some(access)).await.status, 401);
    assert_eq!(revoke("gmoa_unknown".into()).await, 200, "an unknown token is no error (RFC 7009 §2.2)");
    // Revoking the refresh token revokes the grant.
    let refresh = t["refresh_token"].as_str().unwrap();
    assert_eq!(revoke(refresh.to_owned()).await, 200);
    assert!(h.store.list_grants(None).await.unwrap()[0].revoked_at.is_some());
    let (status, _, _) = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "gmcl_test")]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn oauth_off_leaves_mcp_open_and_on_requires_a_grant() {
    let h = start(AuthMode::UrlToken).await;
    assert_eq!(list_with(&h, &format!("{}/mcp", h.base), None).await.status, 200, "url-token mode: /mcp is what it was");
    let h = start(AuthMode::OAuth).await;
    assert_eq!(list_with(&h, &format!("{}/mcp", h.base), None).await.status, 401);
    let r = list_with(&h, &format!("{}/mcp", h.base), Some(&h.admin_token)).await;
    assert_eq!(r.status, 401, "an API token is not an access token: {}", r.body);
}

#[tokio::test]
async fn a_managed_server_signs_in_by_its_public_id_and_keeps_its_filters() {
    let h = start(AuthMode::UrlToken).await;
    // A server that opts in to OAuth, reading only.
    let url = h.server(json!({"methods": ["read"], "auth": "oauth"})).await;
    let servers = h.store.list_all_servers().await.unwrap();
    let id = servers[0].id.clone();
    let oauth_url = format!("{}/mcp/servers/{id}", h.base);
    // Its secret URL no longer opens it.
    assert_eq!(list_with(&h, &url, None).await.status, 403);
    let r = list_with(&h, &oauth_url, None).await;
    assert_eq!(r.status, 401);
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains(&format!("/.well-known/oauth-protected-resource/mcp/servers/{id}\"")), "{challenge}");
    let token_part = url.rsplit('/').next().unwrap();
    let prm = h.client.get(format!("{}/.well-known/oauth-protected-resource/mcp/servers/{id}", h.base)).send().await.unwrap().text().await.unwrap();
    assert!(prm.contains(&oauth_url) && !prm.contains(token_part), "the metadata names the public id, never the URL secret: {prm}");

    let (code, verifier) = code(&h, &["tools:read", "tools:write"], &[("resource", &oauth_url)]).await;
    let (status, t, _) =
        token(&h, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &verifier), ("client_id", "gmcl_test"), ("resource", &oauth_url)])
            .await;
    assert_eq!(status, 200, "{t}");
    let access = t["access_token"].as_str().unwrap();
    let r = list_with(&h, &oauth_url, Some(access)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<&str> = r.body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(!names.is_empty() && !names.iter().any(|n| n.starts_with("create_")), "the server's own read-only filter still applies: {names:?}");
    // The token is for this server only.
    assert_eq!(list_with(&h, &format!("{}/mcp", h.base), Some(access)).await.status, 200, "url-token mode: /mcp does not look at tokens");
    let other = h.server(json!({"auth": "oauth"})).await;
    let _ = other;
    let other_id = h.store.list_all_servers().await.unwrap().into_iter().find(|s| s.id != id).unwrap().id;
    let r = list_with(&h, &format!("{}/mcp/servers/{other_id}", h.base), Some(access)).await;
    assert_eq!(r.status, 401, "a token for another audience is refused: {}", r.body);
}

// ---- bad input: each refused with the right error, nothing issued ----

/// Nothing was issued: no grant exists.
async fn nothing_issued(h: &ManagedHarness) {
    assert!(h.store.list_grants(None).await.unwrap().is_empty(), "no grant may exist");
}

#[tokio::test]
async fn a_wrong_or_unregistered_redirect_uri_is_a_page_never_a_redirect() {
    let h = start(AuthMode::Both).await;
    let (_, challenge) = pkce();
    let mut b = Browser::new();
    for extra in [[("redirect_uri", "https://evil.example/cb")], [("redirect_uri", "http://127.0.0.1:9/callback/x")], [("client_id", "gmcl_nobody")]] {
        let p = b.get(&authorize_url(&h.base, &challenge, &extra)).await;
        assert_eq!(p.status, 400, "{}", p.html);
        assert!(p.location.is_none(), "never redirected to an unverified URI");
    }
    nothing_issued(&h).await;
}

#[tokio::test]
async fn pkce_is_required_s256_only_and_checked() {
    let h = start(AuthMode::Both).await;
    let (_, challenge) = pkce();
    let mut b = Browser::new();
    for (extra, needle) in [
        (vec![("code_challenge", "")], "PKCE is required"),
        (vec![("code_challenge_method", "plain")], "only S256"),
        (vec![("code_challenge_method", "")], "only S256"),
    ] {
        let p = b.get(&authorize_url(&h.base, &challenge, &extra)).await;
        assert_eq!(p.status, 303, "{}", p.html);
        let q = query(&p.location.unwrap());
        assert_eq!(q["error"], "invalid_request");
        assert!(q["error_description"].contains(needle), "{q:?}");
        assert_eq!(q["state"], "st-1");
        assert_eq!(q["iss"], h.base);
    }
    nothing_issued(&h).await;
    // A wrong verifier.
    let (code, _) = code(&h, &["tools:read"], &[]).await;
    let (status, err, _) =
        token(&h, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &"w".repeat(50)), ("client_id", "gmcl_test")]).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_grant")), "{err}");
    assert!(err["error_description"].as_str().unwrap().contains("PKCE"), "{err}");
    assert_eq!(h.store.resolve_access_token(&TokenHash::of("x"), jiff::Timestamp::now()).await.unwrap().map(|_| ()), None);
}

#[tokio::test]
async fn a_code_works_once_for_its_own_client_and_a_second_use_revokes_the_first() {
    let h = start(AuthMode::Both).await;
    let now = jiff::Timestamp::now();
    h.store
        .put_client(
            NewClient {
                client_id: "gmcl_other".into(),
                name: "Other".into(),
                redirect_uris: vec![REDIRECT.into()],
                kind: ClientKind::Registered,
                token_endpoint_auth_method: "none".into(),
                secret: None,
            },
            now,
        )
        .await
        .unwrap();
    // Another client cannot redeem it.
    let (code1, verifier1) = code(&h, &["tools:read"], &[]).await;
    let (status, err, _) =
        token(&h, &[("grant_type", "authorization_code"), ("code", &code1), ("code_verifier", &verifier1), ("client_id", "gmcl_other")]).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_grant")), "{err}");
    assert!(err["error_description"].as_str().unwrap().contains("another client"), "{err}");
    // A reused code.
    let (code2, verifier2) = code(&h, &["tools:read"], &[]).await;
    let form = [("grant_type", "authorization_code"), ("code", code2.as_str()), ("code_verifier", verifier2.as_str()), ("client_id", "gmcl_test")];
    let (status, t, _) = token(&h, &form).await;
    assert_eq!(status, 200, "{t}");
    let (status, err, _) = token(&h, &form).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_grant")), "{err}");
    assert_eq!(list_with(&h, &format!("{}/mcp", h.base), Some(t["access_token"].as_str().unwrap())).await.status, 401, "the first use's tokens are revoked");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let h = start_with(OAuthConfig { mode: AuthMode::Both, code_ttl: std::time::Duration::from_millis(1), ..OAuthConfig::default() }).await;
    let (code, verifier) = code(&h, &["tools:read"], &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, err, _) = token(&h, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &verifier), ("client_id", "gmcl_test")]).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_grant")), "{err}");
}

#[tokio::test]
async fn a_resource_for_another_server_is_invalid_target() {
    let h = start(AuthMode::Both).await;
    let (_, challenge) = pkce();
    let mut b = Browser::new();
    for resource in ["https://other.example/mcp", &format!("{}/mcp/servers/mcp_nosuchserver", h.base)] {
        let p = b.get(&authorize_url(&h.base, &challenge, &[("resource", resource)])).await;
        assert_eq!(p.status, 303, "{}", p.html);
        assert_eq!(query(&p.location.unwrap())["error"], "invalid_target");
    }
    // At the token endpoint too: the code is spent, nothing issued.
    let (code, verifier) = code(&h, &["tools:read"], &[]).await;
    let (status, err, _) = token(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", "gmcl_test"),
            ("resource", "https://other.example/mcp"),
        ],
    )
    .await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_target")), "{err}");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let h = start_with(OAuthConfig { mode: AuthMode::OAuth, access_ttl: std::time::Duration::from_secs(1), ..OAuthConfig::default() }).await;
    let t = tokens(&h, &["tools:read"]).await;
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(list_with(&h, &format!("{}/mcp", h.base), Some(access)).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = list_with(&h, &format!("{}/mcp", h.base), Some(access)).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn dynamic_registration_refuses_non_https_redirects_and_issues_public_clients() {
    let h = start(AuthMode::Both).await;
    let register = |body: Value| {
        let (client, base) = (h.client.clone(), h.base.clone());
        async move {
            let resp = client.post(format!("{base}/oauth/register")).json(&body).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let before = h.store.list_clients().await.unwrap().len();
    for uris in [json!(["http://example.com/cb"]), json!(["myapp://cb"]), json!([]), json!(["https://ok.example/cb", "http://evil.example/cb"])] {
        let (status, err) = register(json!({"client_name": "x", "redirect_uris": uris, "token_endpoint_auth_method": "none"})).await;
        assert_eq!((status, err["error"].as_str()), (400, Some("invalid_redirect_uri")), "{err}");
    }
    assert_eq!(h.store.list_clients().await.unwrap().len(), before, "nothing registered");
    let (status, c) = register(json!({"client_name": "Claude", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"]})).await;
    assert_eq!(status, 201, "{c}");
    assert!(c.get("client_secret").is_none());
    let (status, c) =
        register(json!({"client_name": "Confidential", "redirect_uris": ["http://localhost:3000/cb"], "token_endpoint_auth_method": "client_secret_post"}))
            .await;
    assert_eq!(status, 201, "{c}");
    assert!(c["client_secret"].as_str().unwrap().starts_with("gmcs_"));
}

#[tokio::test]
async fn sign_in_is_rate_limited_and_consent_needs_its_csrf_token() {
    let h = start(AuthMode::Both).await;
    let (_, challenge) = pkce();
    let mut b = Browser::new();
    let first = b.get(&authorize_url(&h.base, &challenge, &[])).await;
    let csrf = field(&first.html, "csrf");
    let request = field(&first.html, "request");
    // A form without the CSRF token, or with another, is refused.
    for bad in ["", "forged"] {
        let p = b.post(&format!("{}/oauth/login", h.base), &[("csrf", bad), ("request", &request), ("username", "alice"), ("password", PASSWORD)]).await;
        assert_eq!(p.status, 403, "{}", p.html);
    }
    for _ in 0..gumloop_mcp::oauth::limiter::PER_USER {
        let p =
            b.post(&format!("{}/oauth/login", h.base), &[("csrf", &csrf), ("request", &request), ("username", "alice"), ("password", "wrong password")]).await;
        assert_eq!(p.status, 401, "{}", p.html);
        assert!(p.html.contains("wrong user name or password"));
    }
    let p = b.post(&format!("{}/oauth/login", h.base), &[("csrf", &csrf), ("request", &request), ("username", "alice"), ("password", PASSWORD)]).await;
    assert_eq!(p.status, 429, "even the right password waits once the attempts are used up: {}", p.html);
    assert!(p.headers.contains_key("retry-after"));

    // Consent: a CSRF token of another session is refused, and the page cannot be framed.
    let h = start(AuthMode::Both).await;
    let mut b = Browser::new();
    let first = b.get(&authorize_url(&h.base, &challenge, &[])).await;
    assert_eq!(first.headers["x-frame-options"], "DENY");
    assert!(first.headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let cookie = first.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-gmcp_session=") && cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"), "{cookie}");
    let consent = sign_in(&mut b, &h.base, first).await;
    let mut other = Browser::new();
    let theirs = other.get(&authorize_url(&h.base, &challenge, &[])).await;
    let p = b
        .post(
            &format!("{}/oauth/consent", h.base),
            &[
                ("csrf", &field(&theirs.html, "csrf")),
                ("request", &field(&consent.html, "request")),
                ("decision", "approve"),
                ("account", &h.account),
                ("scope", "tools:read"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.html);
    nothing_issued(&h).await;
    // Deny sends access_denied and the request cannot be approved afterwards.
    let form = [("csrf", field(&consent.html, "csrf")), ("request", field(&consent.html, "request")), ("decision", "deny".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = b.post(&format!("{}/oauth/consent", h.base), &form).await;
    assert_eq!(query(&p.location.unwrap())["error"], "access_denied");
    let again = approve_raw(&mut b, &h.base, &consent, &h.account).await;
    assert_eq!(again, 400, "single use: a decided request is gone");
    nothing_issued(&h).await;
}

async fn approve_raw(b: &mut Browser, base: &str, consent: &Page, account: &str) -> u16 {
    let csrf = field(&consent.html, "csrf");
    let request = field(&consent.html, "request");
    b.post(&format!("{base}/oauth/consent"), &[("csrf", &csrf), ("request", &request), ("decision", "approve"), ("account", account), ("scope", "tools:read")])
        .await
        .status
}

#[tokio::test]
async fn a_task_under_a_grant_is_resumed_as_the_grant_and_not_after_revocation() {
    use gumloop_mcp::mcp::tasks::Owners;
    let h = start(AuthMode::OAuth).await;
    let _ = tokens(&h, &["tools:read"]).await;
    let grant = h.store.list_grants(None).await.unwrap().remove(0);
    let m = gumloop_mcp::managed::Managed {
        store: h.store.clone(),
        clock: gumloop_mcp::managed::Clock::system(),
        public_url: h.base.clone(),
        audit: gumloop_mcp::managed::AuditLog::start(h.store.clone()),
        flow_tools_ttl: gumloop_mcp::managed::flow_tools::DEFAULT_TTL,
        changes: std::sync::Arc::new(gumloop_mcp::managed::changes::LocalBus::default()),
        sessions: None,
    };
    // Another replica adopting the task resolves its owner, the grant, from the store.
    let Some(scope) = m.scope(&grant.id).await.unwrap() else {
        let user = h.store.get_user(&grant.user_id).await;
        let credential = h.store.account_credential(&grant.account_id).await.map(|c| c.is_some());
        panic!("a live grant acts: {grant:?}; user {user:?}; account credential {credential:?}");
    };
    assert_eq!(scope.server_id, grant.id);
    assert_eq!(scope.credential.api_key.as_ref().map(|k| k.expose().to_owned()).as_deref(), Some("test-key"));
    let hidden = gumloop_mcp_generated::resources::find("delete_a_gumloop_skill_by_id").unwrap();
    assert!(!scope.access.allows(hidden), "the grant's scope still applies");
    h.store.revoke_grant(&grant.id, jiff::Timestamp::now()).await.unwrap();
    assert!(m.scope(&grant.id).await.unwrap().is_none(), "a revoked grant acts for nobody");
}

#[tokio::test]
async fn a_challenge_sent_before_the_body_is_read_says_the_connection_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = start(AuthMode::OAuth).await;
    let addr = h.base.strip_prefix("http://").unwrap();
    // Headers first, the body later, as HTTP clients send them: the 401 comes before the
    // body is read, so the server cannot keep the connection; it must say so, or a client
    // that reuses the connection for its discovery request fails ("server disconnected").
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0; 8192];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut buf)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).to_lowercase();
    assert!(text.starts_with("http/1.1 401"), "{text}");
    assert!(text.contains("\r\nwww-authenticate: bearer "), "{text}");
    assert!(text.contains("\r\nconnection: close\r\n"), "the 401 must say the connection ends: {text}");
}
