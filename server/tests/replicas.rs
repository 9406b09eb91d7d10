//! `gumloop-mcp serve --database-url`: replicas on one PostgreSQL (the test binary's
//! throwaway cluster, over its unix socket) share tokens and servers at once; a missing
//! or wrong secret and an unreachable database are clear start-up errors that never
//! print the secret or the database password.

use std::io::{BufRead as _, Read as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gumloop_testkit::postgres::TempPostgres;
use serde_json::{Value, json};

const SECRET: &str = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988";

fn gumloop_mcp(args: &[&str], secret: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"));
    cmd.args(args).env_remove("GUMLOOP_API_KEY").env_remove("GUMLOOP_MCP_DATABASE_URL").env("GUMLOOP_MCP_LOG", "info");
    match secret {
        Some(s) => cmd.env("GUMLOOP_MCP_SECRET_KEY", s),
        None => cmd.env_remove("GUMLOOP_MCP_SECRET_KEY"),
    };
    cmd
}

/// A replica: its address and what it printed on stdout before listening.
struct Replica {
    child: Child,
    base: String,
    stdout: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replica(url: &str, fake_api: &str) -> Replica {
    let data = tempfile::tempdir().unwrap();
    let mut child = gumloop_mcp(
        &["serve", "--bind", "127.0.0.1:0", "--data-dir", data.path().to_str().unwrap(), "--database-url", url, "--gumloop-base-url", fake_api],
        Some(SECRET),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the replica exited before listening");
        if let Some(rest) = line.split("at http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    // The first start's admin token is printed (and flushed) before the listening line.
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stdout = Vec::new();
    while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(300)) {
        stdout.extend(chunk);
    }
    Replica { child, base: format!("http://{addr}"), stdout: String::from_utf8(stdout).unwrap() }
}

/// Runs `cmd` to its end (at most 20 s); its exit status and stderr.
fn finish(mut cmd: Command) -> (std::process::ExitStatus, String) {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status, err)
}

#[test]
fn a_missing_secret_or_an_unreachable_database_is_a_clear_start_up_error() {
    let nowhere = tempfile::tempdir().unwrap();
    let url = format!("postgres://gm:hunter2pw@/gm?host={}", nowhere.path().display());
    let data = tempfile::tempdir().unwrap();
    let serve = ["serve", "--bind", "127.0.0.1:0", "--data-dir", data.path().to_str().unwrap(), "--database-url", &url];
    let (status, err) = finish(gumloop_mcp(&serve, None));
    assert!(!status.success());
    assert!(err.contains("GUMLOOP_MCP_SECRET_KEY is not set") && err.contains("every replica"), "{err}");
    assert!(!data.path().join("secret.key").exists(), "no per-data-dir key is made");

    let (status, err) = finish(gumloop_mcp(&serve, Some(SECRET)));
    assert!(!status.success());
    let shown = format!("postgres://gm:***@/gm?host={}", nowhere.path().display());
    assert!(err.contains(&shown) && err.contains("cannot be reached"), "names the database without its password: {err}");
    assert!(!err.contains("hunter2pw") && !err.contains(SECRET), "{err}");
    // The management commands take the same flag, with the same errors.
    let (status, err) = finish(gumloop_mcp(&["server", "list", "--database-url", &url], Some(SECRET)));
    assert!(!status.success() && err.contains(&shown), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_tokens_and_servers_at_once_and_a_wrong_secret_is_refused() {
    let fake = gumloop_testkit::FakeGumloop::start(gumloop_testkit::FakeConfig::default()).await.unwrap();
    let url = TempPostgres::shared().create_database().url;
    let a = replica(&url, &fake.api_base());
    let token = a.stdout.lines().nth(1).unwrap_or_else(|| panic!("the first replica prints the admin token: {:?}", a.stdout)).to_owned();
    let b = replica(&url, &fake.api_base());
    assert_eq!(b.stdout, "", "the second replica finds the admin token already there");
    let client = reqwest::Client::new();
    let admin = |base: &str, method: &str, path: &str, body: Option<Value>| {
        let mut req = client.request(method.parse().unwrap(), format!("{base}{path}")).bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, acct) =
        admin(&a.base, "POST", "/integrated-account", Some(json!({"name": "ops", "gumloop": {"api_key": "test-key", "user_id": "user_test"}}))).await;
    assert_eq!(status, 201, "{acct}");
    let acct = acct["id"].as_str().unwrap().to_owned();
    let (status, server) = admin(&a.base, "POST", &format!("/integrated-account/{acct}/mcp"), Some(json!({"name": "s"}))).await;
    assert_eq!(status, 201, "{server}");
    let path = server["url"].as_str().unwrap().strip_prefix(&a.base).unwrap().to_owned();
    let list = |base: String| {
        let req = client
            .post(format!("{base}{path}"))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(list(b.base.clone()).await, 200, "a URL made on one replica works on the other");
    let (status, _) = admin(&b.base, "DELETE", &format!("/integrated-account/{acct}/mcp/{}", server["id"].as_str().unwrap()), None).await;
    assert_eq!(status, 204);
    assert_eq!(list(a.base.clone()).await, 404, "revoked on one replica, refused on the other at once");

    let other = "aa".repeat(32);
    let data = tempfile::tempdir().unwrap();
    let (status, err) =
        finish(gumloop_mcp(&["serve", "--bind", "127.0.0.1:0", "--data-dir", data.path().to_str().unwrap(), "--database-url", &url], Some(&other)));
    assert!(!status.success());
    assert!(err.contains("does not match the key check") && !err.contains(&other) && !err.contains(SECRET), "{err}");
}
