//! The OIDC option wired into the authorization server, end to end: gumloop-mcp
//! in-process (SQLite, OAuth only, sign-in delegated) against a real OpenID provider
//! (node-oidc-provider, `clients/idp`) and the fake Gumloop. A headless browser goes
//! from an MCP client's authorization request through the login page's "Sign in with
//! your company account" link, the provider's dev login and consent, the callback, and
//! gumloop-mcp's own consent page; the code is redeemed and the token calls `/mcp`.
//! Who gets in: group rules (`group:<g>` users) and a user's own rules; an unknown
//! identity without group rules, a local user's name, a disabled user are refused; a
//! group's rules removed stop its members' tokens at once.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use gumloop_mcp::http::{self, HttpConfig, Running};
use gumloop_mcp::managed::admin::Admin;
use gumloop_mcp::managed::secrets::SealingKey;
use gumloop_mcp::managed::store::oauth::{AccessRule, ClientKind, NewClient, NewUser, UserPatch, UserSource};
use gumloop_mcp::managed::store::{SqliteStore, Store};
use gumloop_mcp::managed::{AuditLog, Clock, Managed};
use gumloop_mcp::oauth::oidc::{OidcConfig, Upstream};
use gumloop_mcp::oauth::{AuthMode, OAuth, OAuthConfig};
use gumloop_mcp::{Credential, UpstreamConfig};
use gumloop_mcp_generated::resources::ALL_TOOLS;
use gumloop_testkit::idp::{Consent, CookieJar, IdpClient, IdpOptions, TestIdp};
use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::{Value, json};
use sha2::Digest as _;

const CLIENT: &str = "gmcl_test_client";
const CLIENT_REDIRECT: &str = "http://127.0.0.1:9/callback";
const IDP_SECRET: &str = "idp-client-secret-77a1";

struct H {
    idp: TestIdp,
    base: String,
    store: Arc<dyn Store>,
    account: String,
    http: reqwest::Client,
    _fake: FakeGumloop,
    _dir: tempfile::TempDir,
    _running: Running,
}

async fn start() -> H {
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), SealingKey::from_bytes([7; 32])).unwrap());
    let clock = Clock::system();
    let (_, admin_token) = store.create_api_token("admin", clock.now()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let idp = TestIdp::start(IdpOptions {
        client: IdpClient { client_id: "gumloop-mcp".into(), client_secret: IDP_SECRET.into(), redirect_uri: format!("{base}/oauth/upstream/callback") },
        claims_in_id_token: false,
    });
    let upstream = Upstream::discover(OidcConfig {
        issuer: idp.issuer().into(),
        client_id: "gumloop-mcp".into(),
        client_secret: IDP_SECRET.into(),
        redirect_url: format!("{base}/oauth/upstream/callback"),
        user_claim: "email".into(),
        groups_claim: Some("groups".into()),
    })
    .await
    .expect("discovery");

    let gumloop = UpstreamConfig { call_timeout: Duration::from_secs(10), ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
    let server = gumloop_mcp::gumloop_server(gumloop, Credential::default()).unwrap();
    let managed = Managed {
        store: store.clone(),
        clock,
        public_url: base.clone(),
        audit: AuditLog::start(store.clone()),
        flow_tools_ttl: gumloop_mcp::managed::flow_tools::DEFAULT_TTL,
        changes: Arc::new(gumloop_mcp::managed::changes::LocalBus::default()),
        sessions: None,
    };
    let oauth = OAuth::new(OAuthConfig { mode: AuthMode::OAuth, ..OAuthConfig::default() }, managed.clone(), [9; 32], ALL_TOOLS, Some(upstream));
    let admin = Admin { managed, tools: ALL_TOOLS, body_limit: 64 * 1024 };
    let config = HttpConfig { shutdown_grace: Duration::from_secs(1), oauth: Some(oauth), ..HttpConfig::default() };
    let running = http::spawn_managed(server, listener, config, Some(admin)).unwrap();

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http
        .post(format!("{base}/integrated-account"))
        .bearer_auth(admin_token.reveal())
        .json(&json!({"name": "ops", "gumloop": {"api_key": "test-key", "user_id": "user_test"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let account = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    store
        .put_client(
            NewClient {
                client_id: CLIENT.into(),
                name: "Test client".into(),
                redirect_uris: vec![CLIENT_REDIRECT.into()],
                kind: ClientKind::Registered,
                token_endpoint_auth_method: "none".into(),
                secret: None,
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    H { idp, base, store, account, http, _fake: fake, _dir: dir, _running: running }
}

/// What the browser ends on.
#[derive(Debug)]
enum End {
    /// The client's redirect URI was reached with this query.
    Client(Vec<(String, String)>),
    /// A page of gumloop-mcp (status, HTML).
    Page(u16, String),
}

fn between<'a>(html: &'a str, before: &str, after: &str) -> Option<&'a str> {
    let at = html.find(before)? + before.len();
    Some(&html[at..at + html[at..].find(after)?])
}

impl H {
    async fn get(&self, jar: &mut CookieJar, url: &str) -> reqwest::Response {
        let r = self.http.get(url).header("cookie", jar.header()).send().await.unwrap();
        jar.take(r.headers());
        r
    }

    /// An MCP client's sign-in as `login` at the provider; approves gumloop-mcp's
    /// consent for the first account offered when it is shown.
    async fn sign_in(&self, login: &str, verifier: &str) -> End {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        let mut jar = CookieJar::default();
        let authorize = format!(
            "{}/oauth/authorize?response_type=code&client_id={CLIENT}&redirect_uri={}&state=st-1&code_challenge={challenge}&code_challenge_method=S256",
            self.base,
            urlencode(CLIENT_REDIRECT),
        );
        let r = self.get(&mut jar, &authorize).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        let link = between(&html, "<a id=\"oidc\" href=\"", "\"").unwrap_or_else(|| panic!("no OIDC link on the login page:\n{html}")).replace("&amp;", "&");
        let r = self.get(&mut jar, &format!("{}{link}", self.base)).await;
        assert_eq!(r.status(), 303, "{:?}", r.text().await);
        let at_idp = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(at_idp.starts_with(self.idp.issuer()), "{at_idp}");
        assert!(jar.0.contains_key("__Host-gmcp_oidc"), "the sealed pending sign-in: {jar:?}");
        let callback = self.idp.sign_in(&at_idp, login, Consent::Approve).await;
        let r = self.get(&mut jar, &callback).await;
        assert!(!jar.0.contains_key("__Host-gmcp_oidc"), "the pending sign-in cookie is single use");
        if r.status() != 303 {
            return End::Page(r.status().as_u16(), r.text().await.unwrap());
        }
        let consent = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(consent.starts_with("/oauth/authorize?request="), "{consent}");
        let r = self.get(&mut jar, &format!("{}{consent}", self.base)).await;
        let status = r.status().as_u16();
        let html = r.text().await.unwrap();
        if status != 200 || !html.contains("action=\"/oauth/consent\"") {
            return End::Page(status, html);
        }
        let csrf = between(&html, "name=\"csrf\" value=\"", "\"").unwrap().to_owned();
        let request = between(&html, "name=\"request\" value=\"", "\"").unwrap().to_owned();
        let account = between(&html, "<option value=\"", "\"").unwrap_or_else(|| panic!("no account offered:\n{html}")).to_owned();
        let body = format!("csrf={csrf}&request={request}&account={account}&scope=tools%3Aread&scope=tools%3Awrite&scope=tools%3Acustom&decision=approve");
        let r = self
            .http
            .post(format!("{}/oauth/consent", self.base))
            .header("cookie", jar.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        if r.status() != 303 {
            return End::Page(r.status().as_u16(), r.text().await.unwrap());
        }
        let back = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert!(back.as_str().starts_with(CLIENT_REDIRECT), "{back}");
        End::Client(back.query_pairs().into_owned().collect())
    }

    /// The code of a successful sign-in, redeemed; the access token.
    async fn token(&self, end: End, verifier: &str) -> String {
        let End::Client(q) = end else { panic!("the sign-in did not reach the client: {end:?}") };
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("state").as_deref(), Some("st-1"));
        assert_eq!(get("iss").as_deref(), Some(self.base.as_str()));
        let code = get("code").unwrap_or_else(|| panic!("no code: {q:?}"));
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&client_id={CLIENT}&code_verifier={verifier}",
            urlencode(&code),
            urlencode(CLIENT_REDIRECT)
        );
        let r =
            self.http.post(format!("{}/oauth/token", self.base)).header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{v}");
        v["access_token"].as_str().unwrap().to_owned()
    }

    /// `tools/list` on `/mcp` with a bearer token: (status, tool count).
    async fn tools(&self, token: &str) -> (u16, usize) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
        let r = self
            .http
            .post(format!("{}/mcp", self.base))
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        (status, v["result"]["tools"].as_array().map_or(0, Vec::len))
    }

    async fn user(&self, name: &str, access: Vec<AccessRule>) -> String {
        let u = NewUser { username: name.into(), source: UserSource::Oidc, password_hash: None, access };
        self.store.create_user(u, jiff::Timestamp::now()).await.unwrap().id
    }

    fn rule(&self, tags: Option<Vec<&str>>) -> AccessRule {
        AccessRule { account_id: self.account.clone(), methods: None, tags: tags.map(|t| t.into_iter().map(String::from).collect()) }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const VERIFIER: &str = "a-test-code-verifier-of-at-least-forty-three-characters-0123";

#[tokio::test]
async fn a_group_member_signs_in_through_the_provider_and_calls_tools() {
    let h = start().await;
    h.user("group:engineering", vec![h.rule(None)]).await;
    let end = h.sign_in("eng-bob@example.test", VERIFIER).await;
    let token = h.token(end, VERIFIER).await;
    let (status, n) = h.tools(&token).await;
    assert_eq!(status, 200);
    assert!(n > 10, "the group's rule opens the account's tools ({n})");

    // The user was created at the first sign-in, with the provider's groups.
    let (user, hash) = h.store.find_user("eng-bob@example.test").await.unwrap().expect("provisioned");
    assert_eq!((user.source, user.groups.as_slice(), user.access.len(), hash), (UserSource::Oidc, ["engineering".to_string()].as_slice(), 0, None));

    // Removing the group's rules stops the member's token at the next request.
    let (group, _) = h.store.find_user("group:engineering").await.unwrap().unwrap();
    h.store.update_user(&group.id, &UserPatch { access: Some(vec![]), ..UserPatch::default() }, jiff::Timestamp::now()).await.unwrap();
    assert_eq!(h.tools(&token).await.0, 401, "no rule left for the account");
    // Restoring a narrower group rule narrows the same token's tools.
    h.store
        .update_user(&group.id, &UserPatch { access: Some(vec![h.rule(Some(vec!["skills"]))]), ..UserPatch::default() }, jiff::Timestamp::now())
        .await
        .unwrap();
    let (status, narrow) = h.tools(&token).await;
    assert_eq!(status, 200);
    assert!(narrow > 0 && narrow < n, "{narrow} of {n}");
}

#[tokio::test]
async fn own_rules_and_group_rules_add_up() {
    let h = start().await;
    // Carol has her own narrow rule; her group adds another tag.
    h.user("eng-carol@example.test", vec![h.rule(Some(vec!["skills"]))]).await;
    let end = h.sign_in("eng-carol@example.test", VERIFIER).await;
    let token = h.token(end, VERIFIER).await;
    let (_, own) = h.tools(&token).await;
    assert!(own > 0);
    h.user("group:engineering", vec![h.rule(Some(vec!["flows"]))]).await;
    let (_, both) = h.tools(&token).await;
    assert!(both > own, "the group's rule adds tools to the same grant's view ({own} → {both})");
}

#[tokio::test]
async fn identities_without_access_are_refused() {
    let h = start().await;
    // Unknown, and no group with rules: a clear page, and no user is created.
    let End::Page(status, html) = h.sign_in("alice@example.test", VERIFIER).await else { panic!("signed in") };
    assert_eq!(status, 403);
    assert!(html.contains("you are signed in as alice@example.test but have no access"), "{html}");
    assert!(h.store.find_user("alice@example.test").await.unwrap().is_none(), "nobody is provisioned without access");

    // A group user exists but has no rules: still no access.
    h.user("group:engineering", vec![]).await;
    let End::Page(status, _) = h.sign_in("eng-dan@example.test", VERIFIER).await else { panic!("signed in") };
    assert_eq!(status, 403);

    // A local user's name is not taken over by an identity of the same name.
    let local =
        NewUser { username: "erin@example.test".into(), source: UserSource::Local, password_hash: Some("$argon2id$x".into()), access: vec![h.rule(None)] };
    h.store.create_user(local, jiff::Timestamp::now()).await.unwrap();
    let End::Page(status, html) = h.sign_in("erin@example.test", VERIFIER).await else { panic!("signed in") };
    assert_eq!(status, 403);
    assert!(html.contains("belongs to a local user"), "{html}");

    // A disabled OIDC user is refused.
    let id = h.user("frank@example.test", vec![h.rule(None)]).await;
    h.store.update_user(&id, &UserPatch { disabled: Some(true), ..UserPatch::default() }, jiff::Timestamp::now()).await.unwrap();
    let End::Page(status, html) = h.sign_in("frank@example.test", VERIFIER).await else { panic!("signed in") };
    assert_eq!(status, 403);
    assert!(html.contains("disabled"), "{html}");

    // An existing user with their own rule gets in without any group.
    h.user("gina@example.test", vec![h.rule(None)]).await;
    let end = h.sign_in("gina@example.test", VERIFIER).await;
    let token = h.token(end, VERIFIER).await;
    assert_eq!(h.tools(&token).await.0, 200);
}

#[tokio::test]
async fn the_callback_needs_the_sealed_pending_sign_in() {
    let h = start().await;
    h.user("gina@example.test", vec![h.rule(None)]).await;
    let mut jar = CookieJar::default();
    // No cookie at all.
    let r = h.get(&mut jar, &format!("{}/oauth/upstream/callback?code=x&state=y&iss={}", h.base, urlencode(h.idp.issuer()))).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Sign-in expired"));
    // A forged cookie.
    jar.0.insert("__Host-gmcp_oidc".into(), "AAAA".repeat(20));
    let r = h.get(&mut jar, &format!("{}/oauth/upstream/callback?code=x&state=y", h.base)).await;
    assert_eq!(r.status(), 400);
    // Start without a session cookie.
    let r = h.get(&mut CookieJar::default(), &format!("{}/oauth/upstream/start?request=gmpr_nothing", h.base)).await;
    assert_eq!(r.status(), 400);
}

/// `gumloop-mcp serve` with the OIDC flags: it discovers the provider at start-up, and a
/// missing secret or a wrong issuer stops the start with a message that names the fault
/// and never shows the secret.
#[test]
fn serve_takes_the_oidc_flags() {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    // Nobody signs in here, so the redirect URI registered at the provider does not matter
    // and serve binds any free port (no port is picked ahead, none can be taken meanwhile).
    let idp = TestIdp::start(IdpOptions {
        client: IdpClient {
            client_id: "gumloop-mcp".into(),
            client_secret: IDP_SECRET.into(),
            redirect_uri: "http://127.0.0.1:9/oauth/upstream/callback".into(),
        },
        claims_in_id_token: false,
    });
    let data = tempfile::tempdir().unwrap();
    let secret_file = data.path().join("oidc-secret");
    std::fs::write(&secret_file, format!("{IDP_SECRET}\n")).unwrap();
    let run = |issuer: &str, secret: Option<(&str, &str)>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"));
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--auth", "oauth", "--data-dir"]).arg(data.path().join("data")).args([
            "--oidc-issuer",
            issuer,
            "--oidc-client-id",
            "gumloop-mcp",
            "--oidc-groups-claim",
            "groups",
        ]);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("GUMLOOP_")) {
            cmd.env_remove(k);
        }
        match secret {
            Some(("env", s)) => {
                cmd.env("GUMLOOP_MCP_OIDC_CLIENT_SECRET", s);
            }
            Some((_, path)) => {
                cmd.args(["--oidc-client-secret-file", path]);
            }
            None => {}
        }
        cmd.env("GUMLOOP_MCP_LOG", "info").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
    };
    let output_of = |mut child: std::process::Child| {
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        (child.wait().unwrap(), err)
    };

    // No secret: refused before anything is fetched.
    let (status, err) = output_of(run(idp.issuer(), None));
    assert!(!status.success() && err.contains("GUMLOOP_MCP_OIDC_CLIENT_SECRET"), "{err}");
    // A wrong issuer: discovery fails, the start stops.
    let (status, err) = output_of(run(&format!("{}/", idp.issuer()), Some(("env", IDP_SECRET))));
    assert!(!status.success() && err.contains("OIDC discovery at") && !err.contains(IDP_SECRET), "{err}");
    // The secret from a file: it starts, having discovered the provider.
    let mut child = run(idp.issuer(), Some(("file", secret_file.to_str().unwrap())));
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.push_str(&String::from_utf8_lossy(&buf[..n]));
            let _ = tx.send(all.clone());
        }
    });
    let mut logs = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !logs.contains("serving") && std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            logs = l;
        }
        if let Ok(Some(s)) = child.try_wait() {
            panic!("serve exited ({s}):\n{logs}");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(logs.contains(&format!("sign-in is delegated to the OpenID provider {}", idp.issuer())), "{logs}");
    let redirect = logs.split("redirect URI ").nth(1).and_then(|r| r.split(')').next()).unwrap_or_default();
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/oauth/upstream/callback"), "{logs}");
    assert!(!logs.contains(IDP_SECRET), "the secret is never logged:\n{logs}");

    // Both a file and the variable: ambiguous, refused.
    let mut cmd_both = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"));
    cmd_both
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path().join("data"))
        .args(["--oidc-issuer", idp.issuer(), "--oidc-client-id", "c", "--oidc-client-secret-file"])
        .arg(&secret_file)
        .env("GUMLOOP_MCP_OIDC_CLIENT_SECRET", IDP_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (status, err) = output_of(cmd_both.spawn().unwrap());
    assert!(!status.success() && err.contains("not both") && !err.contains(IDP_SECRET), "{err}");
}

/// The grants page offers the provider too; after it the browser lands on its grants.
#[tokio::test]
async fn the_grants_page_signs_in_through_the_provider() {
    let h = start().await;
    h.user("gina@example.test", vec![h.rule(None)]).await;
    let mut jar = CookieJar::default();
    let r = h.get(&mut jar, &format!("{}/oauth/grants", h.base)).await;
    let html = r.text().await.unwrap();
    let link = between(&html, "<a id=\"oidc\" href=\"", "\"").unwrap_or_else(|| panic!("no OIDC link on the grants sign-in:\n{html}")).to_owned();
    assert_eq!(link, "/oauth/upstream/start");
    let r = h.get(&mut jar, &format!("{}{link}", h.base)).await;
    assert_eq!(r.status(), 303);
    let at_idp = r.headers()["location"].to_str().unwrap().to_owned();
    let callback = h.idp.sign_in(&at_idp, "gina@example.test", Consent::Approve).await;
    let r = h.get(&mut jar, &callback).await;
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/oauth/grants"));
    let html = h.get(&mut jar, &format!("{}/oauth/grants", h.base)).await.text().await.unwrap();
    assert!(html.contains("gina@example.test"), "signed in on the grants page:\n{html}");
}
