//! The admin API and the CLI for sign-in with OAuth: users and what they may grant,
//! pre-registered clients (a confidential one's secret shown once), and grants (listed,
//! revoked, their calls audited). Bad input is a 4xx JSON error naming the problem and
//! changes nothing; passwords are never echoed and stored only as argon2id hashes.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gumloop_mcp::http::{self, HttpConfig, Running};
use gumloop_mcp::managed::admin::Admin;
use gumloop_mcp::managed::secrets::{SealingKey, TokenHash};
use gumloop_mcp::managed::store::oauth::{ClientKind, CodeRecord, NewClient, NewGrant};
use gumloop_mcp::managed::store::{CallOutcome, CallRecord, OAuthStore, SqliteStore, Store};
use gumloop_mcp::managed::{AuditLog, Clock, Managed};
use gumloop_mcp::{Credential, UpstreamConfig};
use gumloop_mcp_generated::resources::ALL_TOOLS;
use gumloop_testkit::{FakeConfig, FakeGumloop};
use jiff::Timestamp;
use serde_json::{Value, json};

use common::{Reply as R, reply};

struct H {
    _fake: FakeGumloop,
    base: String,
    client: reqwest::Client,
    admin_token: String,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
    _running: Running,
}

async fn start() -> H {
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), SealingKey::from_bytes([7; 32])).unwrap());
    let clock = Clock::system();
    let (_, token) = store.create_api_token("admin", clock.now()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let upstream = UpstreamConfig { call_timeout: Duration::from_secs(5), ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
    let server = gumloop_mcp::gumloop_server(upstream, Credential::default()).unwrap();
    let managed = Managed {
        store: store.clone(),
        clock,
        public_url: base.clone(),
        audit: AuditLog::start(store.clone()),
        flow_tools_ttl: gumloop_mcp::managed::flow_tools::DEFAULT_TTL,
        changes: Arc::new(gumloop_mcp::managed::changes::LocalBus::default()),
        sessions: None,
    };
    let admin = Admin { managed, tools: ALL_TOOLS, body_limit: 64 * 1024 };
    let running = http::spawn_managed(server, listener, HttpConfig { shutdown_grace: Duration::from_secs(1), ..HttpConfig::default() }, Some(admin)).unwrap();
    H { _fake: fake, base, client: reqwest::Client::new(), admin_token: token.reveal().to_owned(), store, _dir: dir, _running: running }
}

impl H {
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> R {
        common::admin(&self.client, &self.base, &self.admin_token, method, path, body).await
    }

    async fn raw(&self, method: &str, path: &str, body: &str) -> R {
        let req = self.client.request(method.parse().unwrap(), format!("{}{path}", self.base)).bearer_auth(&self.admin_token);
        reply(req.header("content-type", "application/json").body(body.to_owned()).send().await.unwrap()).await
    }

    async fn account(&self) -> String {
        common::account(&self.client, &self.base, &self.admin_token).await
    }

    async fn count(&self, path: &str) -> usize {
        let r = self.admin("GET", path, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["result"].as_array().unwrap().len()
    }
}

fn message(r: &R) -> String {
    r.body["error"]["message"].as_str().unwrap_or_default().to_owned()
}

/// The message and every listed problem, for matching.
fn all_text(r: &R) -> String {
    let mut s = message(r);
    for p in r.body["error"]["problems"].as_array().into_iter().flatten() {
        s += "\n";
        s += p.as_str().unwrap_or_default();
    }
    s
}

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn users_are_created_listed_patched_and_deleted_and_passwords_are_only_hashed() {
    let h = start().await;
    let acct = h.account().await;
    let created = h
        .admin(
            "POST",
            "/user",
            Some(json!({"username": "alice", "password": PASSWORD, "access": [{"account_id": acct, "methods": ["read"], "tags": ["flows"]}]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let user = &created.body;
    let id = user["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("usr_"), "{user}");
    assert_eq!(user["username"], "alice");
    assert_eq!(user["source"], "local");
    assert_eq!(user["disabled"], false);
    assert_eq!(user["access"], json!([{"account_id": acct, "methods": ["read"], "tags": ["flows"]}]));
    assert!(user.get("password").is_none() && user.get("password_hash").is_none(), "{user}");
    assert!(!created.body.to_string().contains(PASSWORD));

    let listed = h.admin("GET", "/user", None).await;
    assert_eq!(listed.body["result"].as_array().unwrap().len(), 1, "{}", listed.body);
    assert_eq!(listed.body["result"][0]["id"], id.as_str());
    let got = h.admin("GET", &format!("/user/{id}"), None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, created.body);
    assert!(!listed.body.to_string().contains("argon2") && !got.body.to_string().contains("argon2"));

    // Stored as argon2id, never as the password.
    let (_, hash) = h.store.find_user("alice").await.unwrap().unwrap();
    let hash = hash.unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD), "{hash}");
    assert!(gumloop_mcp::managed::password::verify(PASSWORD, &hash));

    // PATCH: password, access, disabled; each alone leaves the rest.
    let new_password = "a different long password";
    let patched = h.admin("PATCH", &format!("/user/{id}"), Some(json!({"password": new_password}))).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert!(!patched.body.to_string().contains(new_password));
    assert_eq!(patched.body["access"], created.body["access"]);
    let (_, hash) = h.store.find_user("alice").await.unwrap().unwrap();
    assert!(gumloop_mcp::managed::password::verify(new_password, hash.as_deref().unwrap()));
    assert!(!gumloop_mcp::managed::password::verify(PASSWORD, hash.as_deref().unwrap()));
    let patched = h.admin("PATCH", &format!("/user/{id}"), Some(json!({"access": [{"account_id": acct, "methods": []}], "disabled": true}))).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["access"], json!([{"account_id": acct}]), "an empty list means all, stored as absent");
    assert_eq!(patched.body["disabled"], true);
    let enabled = h.admin("PATCH", &format!("/user/{id}"), Some(json!({"disabled": false}))).await;
    assert_eq!(enabled.body["disabled"], false);

    // An OIDC user has no password.
    let oidc = h.admin("POST", "/user", Some(json!({"username": "bob@example.com", "source": "oidc", "access": []}))).await;
    assert_eq!(oidc.status, 201, "{}", oidc.body);
    assert_eq!(oidc.body["source"], "oidc");
    assert_eq!(h.store.find_user("bob@example.com").await.unwrap().unwrap().1, None);
    assert_eq!(h.count("/user").await, 2);

    assert_eq!(h.admin("DELETE", &format!("/user/{id}"), None).await.status, 204);
    assert_eq!(h.admin("GET", &format!("/user/{id}"), None).await.status, 404);
    let again = h.admin("DELETE", &format!("/user/{id}"), None).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body["error"]["code"], "not_found");
    assert_eq!(h.count("/user").await, 1);
}

#[tokio::test]
async fn bad_user_requests_are_4xx_json_naming_the_problem_and_create_or_change_nothing() {
    let h = start().await;
    let acct = h.account().await;
    let ok_rule = json!({"account_id": acct});
    let short = "tiny-pass1";
    let cases = [
        (json!({"username": "u", "password": PASSWORD, "access": [{"account_id": "acct_nope"}]}), "access[0].account_id: no connected account `acct_nope`"),
        (json!({"username": "u", "password": PASSWORD, "access": [{"account_id": acct, "methods": ["reed"]}]}), "access[0].methods[0]: `reed` is neither"),
        (json!({"username": "u", "password": PASSWORD, "access": [{"account_id": acct, "methods": ["reed"]}]}), "did you mean `read`"),
        (json!({"username": "u", "password": PASSWORD, "access": [{"account_id": acct, "tags": ["flowz"]}]}), "access[0].tags[0]: unknown tag `flowz`"),
        (
            json!({"username": "u", "password": PASSWORD, "access": [ok_rule, {"account_id": acct, "methods": ["send_message"], "tags": ["flows"]}]}),
            "access[1]: methods [send_message] AND tags [flows] match no tool",
        ),
        (json!({"username": "u", "password": PASSWORD, "access": [ok_rule, ok_rule]}), "access[1].account_id: `acct_"),
        (json!({"username": "u", "password": PASSWORD, "access": [{"account_id": acct, "verbs": ["read"]}]}), "unknown field `verbs`"),
        (json!({"username": "u", "password": short, "access": []}), "`password` is 10 characters; it must be at least 12"),
        (json!({"username": "u", "access": []}), "`password` is required for a local user"),
        (json!({"username": "u", "password": PASSWORD, "source": "oidc", "access": []}), "`password` is not accepted for an OIDC user"),
        (json!({"username": "u", "password": PASSWORD, "source": "ldap", "access": []}), "`source`: unknown variant `ldap`, expected `local` or `oidc`"),
        (json!({"username": "u", "password": PASSWORD}), "missing field `access`"),
        (json!({"username": "u", "password": PASSWORD, "access": [], "role": "admin"}), "unknown field `role`"),
        (json!({"username": " ", "password": PASSWORD, "access": []}), "`username` must not be empty"),
        (json!({"username": " u", "password": PASSWORD, "access": []}), "must not start or end with whitespace"),
        (json!({"username": "u", "password": 123456789012_u64, "access": []}), "`password`: must be a string"),
        (json!({"username": "u", "password": ["correct", "horse"], "access": []}), "`password`: must be a string"),
    ];
    for (body, expect) in &cases {
        let r = h.admin("POST", "/user", Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "bad_request", "{}", r.body);
        assert!(all_text(&r).contains(expect), "{body}: expected {expect}, got {}", r.body);
        for secret in [PASSWORD, short, "123456789012", "horse"] {
            assert!(!r.body.to_string().contains(secret), "the password is never echoed: {}", r.body);
        }
    }
    // Several problems at once are all listed.
    let r = h.admin("POST", "/user", Some(json!({"username": "", "password": short, "access": [{"account_id": "acct_nope", "methods": ["reed"]}]}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["problems"].as_array().unwrap().len(), 4, "{}", r.body);
    assert_eq!(message(&r), "the user has 4 problems");
    // Trailing data after the body: refused whole.
    for body in
        [format!(r#"{{"username":"t","password":"{PASSWORD}","access":[]}} junk"#), format!(r#"{{"username":"t","password":"{PASSWORD}","access":[]}}{{}}"#)]
    {
        let r = h.raw("POST", "/user", &body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(message(&r).contains("must be one JSON value, with nothing after it"), "{}", r.body);
    }
    assert_eq!(h.count("/user").await, 0, "nothing was created");

    // A taken username.
    let first = h.admin("POST", "/user", Some(json!({"username": "carol", "password": PASSWORD, "access": [ok_rule]}))).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let id = first.body["id"].as_str().unwrap().to_owned();
    let taken = h.admin("POST", "/user", Some(json!({"username": "carol", "source": "oidc", "access": []}))).await;
    assert_eq!(taken.status, 400, "{}", taken.body);
    assert!(message(&taken).contains("carol"), "{}", taken.body);
    assert_eq!(h.count("/user").await, 1);

    // Bad patches change nothing.
    let oidc = h.admin("POST", "/user", Some(json!({"username": "dave", "source": "oidc", "access": []}))).await;
    let oidc_id = oidc.body["id"].as_str().unwrap().to_owned();
    let patches = [
        (&id, json!({}), "the patch changes nothing"),
        (&id, json!({"password": short}), "`password` is 10 characters"),
        (&id, json!({"password": PASSWORD, "access": [{"account_id": "acct_nope"}]}), "no connected account `acct_nope`"),
        (&id, json!({"access": [{"account_id": acct, "methods": ["reed"]}]}), "did you mean `read`"),
        (&id, json!({"username": "mallory"}), "unknown field `username`"),
        (&id, json!({"disabled": "yes"}), "`disabled`: invalid type"),
        (&oidc_id, json!({"password": PASSWORD}), "`dave` is an OIDC user"),
    ];
    let (_, hash_before) = h.store.find_user("carol").await.unwrap().unwrap();
    for (target, body, expect) in patches {
        let r = h.admin("PATCH", &format!("/user/{target}"), Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(all_text(&r).contains(expect), "{body}: expected {expect}, got {}", r.body);
        assert!(!r.body.to_string().contains(PASSWORD) && !r.body.to_string().contains(short));
    }
    let r = h.raw("PATCH", &format!("/user/{id}"), r#"{"disabled":true} {"disabled":false}"#).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(h.admin("PATCH", "/user/usr_nope", Some(json!({"disabled": true}))).await.status, 404);
    let after = h.admin("GET", &format!("/user/{id}"), None).await;
    assert_eq!(after.body, first.body, "nothing changed, updated_at included");
    assert_eq!(h.store.find_user("carol").await.unwrap().unwrap().1, hash_before);
    assert_eq!(h.store.find_user("dave").await.unwrap().unwrap().1, None);

    // Every route needs the API token.
    for path in ["/user", "/oauth-client", "/oauth-grant", &format!("/user/{id}")] {
        let r = reply(h.client.get(format!("{}{path}", h.base)).send().await.unwrap()).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.body["error"]["code"], "unauthorized");
    }
}

#[tokio::test]
async fn clients_are_registered_listed_and_removed_and_a_secret_is_shown_once() {
    let h = start().await;
    let public = h.admin("POST", "/oauth-client", Some(json!({"name": "Claude Code", "redirect_uris": ["http://localhost:33418/callback"]}))).await;
    assert_eq!(public.status, 201, "{}", public.body);
    let public_id = public.body["client_id"].as_str().unwrap().to_owned();
    assert!(public_id.starts_with("gmcl_"), "{}", public.body);
    assert_eq!(public.body["kind"], "registered");
    assert_eq!(public.body["token_endpoint_auth_method"], "none");
    assert!(public.body.get("client_secret").is_none());

    let uris = ["https://chatgpt.com/connector_platform_oauth_redirect", "http://127.0.0.1:8976/callback", "http://[::1]/cb"];
    let conf = h.admin("POST", "/oauth-client", Some(json!({"name": "ChatGPT", "redirect_uris": uris, "confidential": true}))).await;
    assert_eq!(conf.status, 201, "{}", conf.body);
    let conf_id = conf.body["client_id"].as_str().unwrap().to_owned();
    let secret = conf.body["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("gmcs_") && secret.len() > 40, "{secret}");
    assert_eq!(conf.body["redirect_uris"], json!(uris), "exact strings, in order");
    assert_eq!(conf.body["token_endpoint_auth_method"], "client_secret_basic");
    assert!(h.store.verify_client_secret(&conf_id, &TokenHash::of(&secret)).await.unwrap(), "stored as its hash");
    assert!(!h.store.verify_client_secret(&conf_id, &TokenHash::of("gmcs_wrong")).await.unwrap());
    assert!(!h.store.verify_client_secret(&public_id, &TokenHash::of(&secret)).await.unwrap());
    let got = h.admin("GET", &format!("/oauth-client/{conf_id}"), None).await;
    let listed = h.admin("GET", "/oauth-client", None).await;
    for r in [&got, &listed] {
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.to_string().contains(&secret) && !r.body.to_string().contains("client_secret\""), "never shown again: {}", r.body);
    }
    assert_eq!(got.body["name"], "ChatGPT");
    assert_eq!(listed.body["result"].as_array().unwrap().len(), 2);
    // A client secret in a query string is refused as a credential.
    let q = reply(h.client.get(format!("{}/oauth-client?x={secret}", h.base)).bearer_auth(&h.admin_token).send().await.unwrap()).await;
    assert_eq!(q.status, 400);
    assert_eq!(q.body["error"]["code"], "token_in_query");

    // A metadata client's id is its URL: percent-encoded in the path, or as is.
    let url = "https://client.example/oauth/metadata.json";
    let meta = NewClient {
        client_id: url.into(),
        name: "Metadata".into(),
        redirect_uris: vec!["https://client.example/cb".into()],
        kind: ClientKind::Metadata,
        token_endpoint_auth_method: "none".into(),
        secret: None,
    };
    h.store.put_client(meta, Timestamp::now()).await.unwrap();
    let encoded = "https%3A%2F%2Fclient.example%2Foauth%2Fmetadata.json";
    let got = h.admin("GET", &format!("/oauth-client/{encoded}"), None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["client_id"], url);
    assert_eq!(got.body["kind"], "metadata");
    assert_eq!(h.admin("GET", &format!("/oauth-client/{url}"), None).await.body["client_id"], url);
    assert_eq!(h.admin("DELETE", &format!("/oauth-client/{encoded}"), None).await.status, 204);
    assert_eq!(h.admin("GET", &format!("/oauth-client/{encoded}"), None).await.status, 404);

    assert_eq!(h.admin("DELETE", &format!("/oauth-client/{public_id}"), None).await.status, 204);
    let gone = h.admin("GET", &format!("/oauth-client/{public_id}"), None).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["error"]["message"], "OAuth client not found");
    assert_eq!(h.admin("DELETE", &format!("/oauth-client/{public_id}"), None).await.status, 404);
    assert_eq!(h.count("/oauth-client").await, 1);
}

#[tokio::test]
async fn bad_client_requests_are_refused_and_register_nothing() {
    let h = start().await;
    let cases = [
        (
            json!({"name": "x", "redirect_uris": ["http://example.com/cb"]}),
            "redirect_uris[0]: `http://example.com/cb` is not accepted: http is accepted only on a loopback host",
        ),
        (json!({"name": "x", "redirect_uris": ["https://ok.example/cb", "ftp://x.example/cb"]}), "redirect_uris[1]: `ftp://x.example/cb` is not accepted"),
        (json!({"name": "x", "redirect_uris": ["https://x.example/cb#frag"]}), "fragment"),
        (json!({"name": "x", "redirect_uris": ["/cb"]}), "not an absolute URL"),
        (json!({"name": "x", "redirect_uris": ["https://x.example/cb", "https://x.example/cb"]}), "redirect_uris[1]: `https://x.example/cb` is listed twice"),
        (json!({"name": "x", "redirect_uris": []}), "`redirect_uris` must list at least one redirect URI"),
        (json!({"name": "", "redirect_uris": ["https://x.example/cb"]}), "`name` must not be empty"),
        (json!({"redirect_uris": ["https://x.example/cb"]}), "missing field `name`"),
        (json!({"name": "x", "redirect_uris": ["https://x.example/cb"], "secret": "mine"}), "unknown field `secret`"),
        (json!({"name": "x", "redirect_uris": "https://x.example/cb"}), "`redirect_uris`: invalid type"),
        (json!({"name": "x", "redirect_uris": ["https://x.example/cb"], "confidential": "yes"}), "`confidential`: invalid type"),
    ];
    for (body, expect) in cases {
        let r = h.admin("POST", "/oauth-client", Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(all_text(&r).contains(expect), "{body}: expected {expect}, got {}", r.body);
    }
    let r = h.raw("POST", "/oauth-client", r#"{"name":"x","redirect_uris":["https://x.example/cb"]} junk"#).await;
    assert_eq!(r.status, 400);
    assert!(message(&r).contains("must be one JSON value"), "{}", r.body);
    assert_eq!(h.count("/oauth-client").await, 0, "nothing was registered");
    assert_eq!(h.admin("PATCH", "/oauth-client/gmcl_x", Some(json!({}))).await.status, 405);
}

#[tokio::test]
async fn grants_are_listed_revoked_and_their_calls_are_audited_under_the_grant() {
    let h = start().await;
    let acct = h.account().await;
    let user = h.admin("POST", "/user", Some(json!({"username": "erin", "source": "oidc", "access": [{"account_id": acct}]}))).await;
    let user_id = user.body["id"].as_str().unwrap().to_owned();
    let client = h.admin("POST", "/oauth-client", Some(json!({"name": "c", "redirect_uris": ["https://c.example/cb"]}))).await;
    let client_id = client.body["client_id"].as_str().unwrap().to_owned();
    let now = Timestamp::now();
    let new_grant = || NewGrant {
        user_id: user_id.clone(),
        client_id: client_id.clone(),
        resource: format!("{}/mcp", h.base),
        account_id: acct.clone(),
        server_id: None,
        scope: "read".into(),
        methods: Some(vec!["read".into()]),
        tags: None,
    };
    // The store fills in the grant's id.
    let record = || CodeRecord {
        grant_id: String::new(),
        client_id: client_id.clone(),
        redirect_uri: "https://c.example/cb".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGrSecRo5c".into(),
        expires_at: now + jiff::SignedDuration::from_secs(60),
    };
    let grant = h.store.create_grant(new_grant(), &TokenHash::of("code-1"), &record(), now).await.unwrap();
    let other = h.store.create_grant(new_grant(), &TokenHash::of("code-2"), &record(), now).await.unwrap();
    h.store
        .record_calls(&[
            CallRecord { at: now, mcp_server_id: grant.id.clone(), tool: "list_all_gumloop_flows".into(), outcome: CallOutcome::Ok, latency_ms: 1.5 },
            CallRecord {
                at: now,
                mcp_server_id: other.id.clone(),
                tool: "get_single_gumloop_agent_by_id".into(),
                outcome: CallOutcome::Rejected,
                latency_ms: 0.5,
            },
        ])
        .await
        .unwrap();

    let all = h.admin("GET", "/oauth-grant", None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["result"].as_array().unwrap().len(), 2);
    let mine = h.admin("GET", &format!("/oauth-grant?user={user_id}"), None).await;
    assert_eq!(mine.body["result"].as_array().unwrap().len(), 2, "{}", mine.body);
    assert_eq!(mine.body["result"][0]["user_id"], user_id.as_str());
    assert_eq!(mine.body["result"][0]["account_id"], acct.as_str());
    assert_eq!(h.admin("GET", "/oauth-grant?user=usr_nope", None).await.status, 404);
    let bad = h.admin("GET", "/oauth-grant?usr=x", None).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let one = h.admin("GET", &format!("/oauth-grant/{}", grant.id), None).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["scope"], "read");
    assert!(one.body["revoked_at"].is_null());

    let calls = h.admin("GET", &format!("/oauth-grant/{}/calls", grant.id), None).await;
    assert_eq!(calls.status, 200, "{}", calls.body);
    let records = calls.body["result"].as_array().unwrap();
    assert_eq!(records.len(), 1, "only this grant's: {}", calls.body);
    assert_eq!(records[0]["tool"], "list_all_gumloop_flows");
    assert_eq!(records[0]["outcome"], "ok");
    assert_eq!(h.admin("GET", &format!("/oauth-grant/{}/calls?limit=0", grant.id), None).await.status, 400);
    assert_eq!(h.admin("GET", "/oauth-grant/grt_nope/calls", None).await.status, 404);

    let revoked = h.admin("DELETE", &format!("/oauth-grant/{}", grant.id), None).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string(), "{}", revoked.body);
    assert!(h.admin("GET", &format!("/oauth-grant/{}", grant.id), None).await.body["revoked_at"].is_string());
    assert_eq!(h.admin("DELETE", &format!("/oauth-grant/{}", grant.id), None).await.status, 200, "idempotent");
    assert_eq!(h.admin("DELETE", "/oauth-grant/grt_nope", None).await.status, 404);
    assert_eq!(h.admin("GET", &format!("/oauth-grant/{}/calls", grant.id), None).await.body["result"].as_array().unwrap().len(), 1, "the trail stays");

    // Removing the user takes their grants.
    assert_eq!(h.admin("DELETE", &format!("/user/{user_id}"), None).await.status, 204);
    assert_eq!(h.count("/oauth-grant").await, 0);
}

fn cli(data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("OPS_KEY", "gl_ops_key")
        .env_remove("GUMLOOP_MCP_SECRET_KEY")
        .env_remove("GUMLOOP_MCP_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn fails(out: &std::process::Output, expect: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains(expect), "expected failure with {expect}: {stderr}");
}

#[tokio::test]
async fn the_cli_manages_users_clients_and_grants() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let acct = json_of(&cli(d, &["account", "add", "--name", "ops", "--api-key-env", "OPS_KEY", "--json"], None));
    let acct = acct["id"].as_str().unwrap().to_owned();

    let rule = format!("{acct}:methods=read:tags=flows");
    let added = json_of(&cli(d, &["user", "add", "alice", "--password-stdin", "--allow", &rule, "--json"], Some(&format!("{PASSWORD}\n"))));
    assert_eq!(added["username"], "alice");
    assert_eq!(added["access"], json!([{"account_id": acct, "methods": ["read"], "tags": ["flows"]}]));
    assert!(!added.to_string().contains(PASSWORD));
    let text = cli(d, &["user", "add", "bob@example.com", "--oidc"], None);
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("added user bob@example.com (usr_"), "{}", String::from_utf8_lossy(&text.stdout));

    // Refusals, each naming the problem; nothing is created.
    fails(&cli(d, &["user", "add", "carol", "--allow", &acct], None), "--password-stdin");
    fails(&cli(d, &["user", "add", "carol", "--password-stdin"], Some("too short\n")), "the password is 9 characters; it must be at least 12");
    fails(&cli(d, &["user", "add", "carol", "--password-stdin"], Some("")), "stdin is empty");
    fails(
        &cli(d, &["user", "add", "carol", "--password-stdin", "--allow", "acct_nope"], Some(PASSWORD)),
        "--allow acct_nope.account_id: no connected account `acct_nope`",
    );
    fails(&cli(d, &["user", "add", "carol", "--password-stdin", "--allow", &format!("{acct}:methods=reed")], Some(PASSWORD)), "did you mean `read`");
    fails(&cli(d, &["user", "add", "carol", "--password-stdin", "--allow", &format!("{acct}:verbs=read")], Some(PASSWORD)), "unknown key `verbs`");
    fails(&cli(d, &["user", "add", "alice", "--oidc"], None), "alice");
    let users = json_of(&cli(d, &["user", "list", "--json"], None));
    assert_eq!(users.as_array().unwrap().len(), 2, "{users}");
    let listing = String::from_utf8(cli(d, &["user", "list"], None).stdout).unwrap();
    assert!(listing.contains(&format!("alice\tlocal\tactive\t{rule}")), "{listing}");

    // passwd, allow, disable, enable.
    let new_password = "another long password";
    json_of(&cli(d, &["user", "passwd", "alice", "--password-stdin", "--json"], Some(&format!("{new_password}\r\n"))));
    fails(&cli(d, &["user", "passwd", "alice"], None), "--password-stdin");
    fails(&cli(d, &["user", "passwd", "bob@example.com", "--password-stdin"], Some(PASSWORD)), "is an OIDC user");
    fails(&cli(d, &["user", "passwd", "nobody", "--password-stdin"], Some(PASSWORD)), "no user `nobody`");
    {
        let (store, _) = gumloop_mcp::managed::cli::open_store(d).unwrap();
        let (_, hash) = store.find_user("alice").await.unwrap().unwrap();
        let hash = hash.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(gumloop_mcp::managed::password::verify(new_password, &hash), "the line ending is not part of the password");
    }
    let allowed = json_of(&cli(d, &["user", "allow", "alice", "--allow", &format!("{acct}:tags=agents"), "--json"], None));
    assert_eq!(allowed["access"], json!([{"account_id": acct, "tags": ["agents"]}]), "the account's rule is replaced");
    let cleared = json_of(&cli(d, &["user", "allow", "alice", "--deny", &acct, "--json"], None));
    assert_eq!(cleared["access"], json!([]));
    fails(&cli(d, &["user", "allow", "alice", "--deny", &acct], None), "may not grant that account now");
    fails(&cli(d, &["user", "allow", "alice"], None), "nothing to change");
    fails(&cli(d, &["user", "allow", "alice", "--allow", "acct_nope"], None), "no connected account");
    assert_eq!(json_of(&cli(d, &["user", "disable", "alice", "--json"], None))["disabled"], true);
    assert_eq!(json_of(&cli(d, &["user", "enable", "alice", "--json"], None))["disabled"], false);

    // Clients.
    let public = json_of(&cli(d, &["client", "add", "--name", "Claude Code", "--redirect-uri", "http://localhost:33418/callback", "--json"], None));
    assert!(public["client_id"].as_str().unwrap().starts_with("gmcl_") && public.get("client_secret").is_none(), "{public}");
    let conf = cli(d, &["client", "add", "--name", "Svc", "--redirect-uri", "https://svc.example/cb", "--confidential"], None);
    assert!(conf.status.success(), "{}", String::from_utf8_lossy(&conf.stderr));
    let printed = String::from_utf8(conf.stdout).unwrap();
    let secret = printed.lines().last().unwrap().to_owned();
    assert!(secret.starts_with("gmcs_") && printed.contains("shown only now"), "{printed}");
    fails(&cli(d, &["client", "add", "--name", "X", "--redirect-uri", "http://example.com/cb"], None), "http is accepted only on a loopback host");
    fails(&cli(d, &["client", "add", "--name", "X"], None), "--redirect-uri");
    let clients = json_of(&cli(d, &["client", "list", "--json"], None));
    assert_eq!(clients.as_array().unwrap().len(), 2);
    let listing = String::from_utf8(cli(d, &["client", "list"], None).stdout).unwrap();
    assert!(!clients.to_string().contains(&secret) && !listing.contains(&secret), "{listing}");
    let public_id = public["client_id"].as_str().unwrap();
    assert!(cli(d, &["client", "remove", public_id], None).status.success());
    fails(&cli(d, &["client", "remove", public_id], None), "client not found");

    // Grants.
    assert_eq!(json_of(&cli(d, &["grant", "list", "--json"], None)), json!([]));
    assert_eq!(json_of(&cli(d, &["grant", "list", "--user", "alice", "--json"], None)), json!([]));
    fails(&cli(d, &["grant", "list", "--user", "nobody"], None), "no user `nobody`");
    fails(&cli(d, &["grant", "revoke", "grt_nope"], None), "grant not found");

    assert_eq!(json_of(&cli(d, &["user", "remove", "alice", "--json"], None))["removed"], added["id"]);
    fails(&cli(d, &["user", "remove", "alice"], None), "no user `alice`");
    assert_eq!(json_of(&cli(d, &["user", "list", "--json"], None)).as_array().unwrap().len(), 1);
}
