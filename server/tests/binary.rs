//! The `gumloop-mcp` binary: `serve` listens where it is told and exits cleanly on
//! SIGTERM; `stdio` writes only JSON-RPC to stdout and exits when stdin closes.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The address `serve` logs once it listens (read from its stderr, which is then drained).
fn listening_addr(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("the server exited before listening");
        }
        if let Some(rest) = line.split("at http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    addr
}

/// Waits up to 10 s for `child` to exit after `cause`.
fn wait_exit(child: &mut std::process::Child, cause: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no exit after {cause}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path().join("data");
    // Port 0, then read the bound address from the log: no race with other tests for a port.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
        .env_remove("GUMLOOP_API_KEY")
        .env("GUMLOOP_MCP_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = listening_addr(&mut child);
    assert!(std::net::TcpStream::connect(&addr).is_ok(), "listening at {addr}");
    assert!(data.is_dir(), "the data directory is created");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = wait_exit(&mut child, "SIGTERM");
    assert!(exit.success(), "{exit:?}");
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    // Stdout carries only the one-time admin token of a first start; logs go to stderr.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains("created the admin API token"), "{out}");
    assert!(lines[1].starts_with("gmat_"), "{out}");
}

#[test]
fn sigterm_still_shuts_down_once_nobody_reads_the_log() {
    // A supervisor that died leaves the server's stderr a pipe with no reader: every log
    // line fails to write, and that must not stop SIGTERM from working.
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir", data.path().join("data").to_str().unwrap()])
        .env_remove("GUMLOOP_API_KEY")
        .env("GUMLOOP_MCP_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = {
        use std::io::BufRead;
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        loop {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "the server exited before listening");
            if let Some(rest) = line.split("at http://").nth(1) {
                break rest.split('/').next().unwrap().to_owned();
            }
        }
        // The reader is dropped here: the pipe has no reader from now on.
    };
    // Something that logs, so a write has failed before the signal.
    let _ = std::net::TcpStream::connect(&addr).map(|mut s| std::io::Write::write_all(&mut s, b"GET /mcp HTTP/1.1\r\nhost: x\r\n\r\n"));
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = wait_exit(&mut child, "SIGTERM with a closed stderr");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn stdio_speaks_json_rpc_on_stdout_only() {
    use std::io::{BufRead, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["stdio", "--gumloop-base-url", "http://127.0.0.1:9/api/v1", "--gumloop-ws-base-url", "http://127.0.0.1:9/ws/api/v1"])
        .env_remove("GUMLOOP_API_KEY")
        .env("GUMLOOP_MCP_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let messages = [
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_all_gumloop_models","arguments":{}}}"#,
    ];
    for m in messages {
        writeln!(stdin, "{m}").unwrap();
    }
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // Requests run concurrently, so answers are matched by id.
    let mut replies = std::collections::BTreeMap::new();
    while replies.len() < 3 {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "stdout closed early");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout carries only JSON-RPC, got {line:?}: {e}"));
        replies.insert(v["id"].as_u64().unwrap(), v);
    }
    assert_eq!(replies[&1]["result"]["tools"].as_array().unwrap().len(), gumloop_mcp_generated::resources::ALL_TOOLS.len());
    assert_eq!(replies[&2]["result"]["isError"], true, "{}", replies[&2]);
    assert!(replies[&2]["result"]["content"][0]["text"].as_str().unwrap().contains("GUMLOOP_API_KEY"));
    drop(stdin);
    let exit = wait_exit(&mut child, "stdin closed");
    assert!(exit.success(), "{exit:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.trim().is_empty(), "nothing else on stdout: {rest}");
    let mut logs = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut logs).unwrap();
    assert!(logs.contains("stdin/stdout"), "logs go to stderr: {logs}");
}

/// A `gumloop-mcp serve` child on port 0, with its address and first-start output.
struct Served {
    child: std::process::Child,
    addr: String,
    stdout: String,
}

fn serve(data: &std::path::Path, fake_api: &str) -> Served {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir", data.to_str().unwrap(), "--gumloop-base-url", fake_api])
        .env_remove("GUMLOOP_API_KEY")
        .env_remove("GUMLOOP_MCP_SECRET_KEY")
        .env("GUMLOOP_MCP_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = listening_addr(&mut child);
    // Whatever the first start printed comes before the listening line.
    let mut stdout = child.stdout.take().unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    set_nonblocking(&stdout);
    while let Ok(n) = stdout.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Served { child, addr, stdout: String::from_utf8(out).unwrap() }
}

impl Served {
    /// SIGKILL: no graceful shutdown.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    // A failing test must not leave a server running.
    fn drop(&mut self) {
        self.kill();
    }
}

fn set_nonblocking(f: &std::process::ChildStdout) {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe {
        let fd = f.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

#[tokio::test]
async fn managed_state_survives_sigkill_and_expiries_passed_while_down_are_swept_at_start() {
    use gumloop_mcp::managed::store::Store as _;
    let fake = gumloop_testkit::FakeGumloop::start(gumloop_testkit::FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut first = serve(dir.path(), &fake.api_base());
    let token = first.stdout.lines().nth(1).expect("the first start prints the admin token").to_owned();
    assert!(token.starts_with("gmat_"), "{}", first.stdout);
    let client = reqwest::Client::new();
    let base = format!("http://{}", first.addr);
    let post = |path: String, body: serde_json::Value| client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send();
    let acct: serde_json::Value =
        post("/integrated-account".into(), serde_json::json!({"name": "ops", "gumloop": {"api_key": "test-key", "user_id": "user_test"}}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let acct = acct["id"].as_str().unwrap().to_owned();
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    let later: serde_json::Value =
        post(format!("/integrated-account/{acct}/mcp"), serde_json::json!({"name": "later", "expires_at": expires, "config": {"methods": ["read"]}}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let forever: serde_json::Value =
        post(format!("/integrated-account/{acct}/mcp"), serde_json::json!({"name": "forever"})).await.unwrap().json().await.unwrap();
    first.kill();

    // While it is down, a server's expiry passes (written as the server itself would have).
    {
        let (store, _) = gumloop_mcp::managed::cli::open_store(dir.path()).unwrap();
        let now = jiff::Timestamp::now();
        let config = gumloop_mcp::managed::filter::McpServerConfig::default();
        store.create_server(&acct, "stale", &config, Some(now - jiff::SignedDuration::from_secs(1)), now - jiff::SignedDuration::from_secs(120)).await.unwrap();
        assert_eq!(store.list_servers(&acct).await.unwrap().len(), 3);
    }

    let mut second = serve(dir.path(), &fake.api_base());
    assert_eq!(second.stdout, "", "no second admin token");
    let base = format!("http://{}", second.addr);
    let listed: serde_json::Value = client.get(format!("{base}/integrated-account/{acct}/mcp")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = listed["result"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["later", "forever"], "{listed}");
    let mut later_after = listed["result"][0].clone();
    let mut later_before = later.clone();
    later_before.as_object_mut().unwrap().remove("url");
    later_after.as_object_mut().unwrap().remove("url");
    assert_eq!(later_after, later_before, "the server, its config and its expiry are intact");
    // The URL issued before the crash still works.
    let url = forever["url"].as_str().unwrap().replace(&first.addr, &second.addr);
    let resp = client
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    second.kill();
    let (store, _) = gumloop_mcp::managed::cli::open_store(dir.path()).unwrap();
    assert_eq!(store.list_servers(&acct).await.unwrap().len(), 2, "the stale server was deleted from the store, not just hidden");
}

fn cli(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("OPS_KEY", "gl_ops_key")
        .env_remove("GUMLOOP_MCP_SECRET_KEY")
        .output()
        .unwrap()
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_cli_manages_tokens_accounts_and_servers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = json_of(&cli(d, &["api-token", "create", "--name", "laptop", "--json"]));
    assert!(token["token"].as_str().unwrap().starts_with("gmat_"));
    let acct = json_of(&cli(d, &["account", "add", "--name", "ops", "--api-key-env", "OPS_KEY", "--user-id", "u1", "--json"]));
    let acct_id = acct["id"].as_str().unwrap();
    assert!(!acct.to_string().contains("gl_ops_key"));
    let text = cli(
        d,
        &[
            "server",
            "create",
            "--account",
            acct_id,
            "--methods",
            "read",
            "--tags",
            "flows",
            "--expires-in",
            "24h",
            "--require-api-token",
            "--public-url",
            "https://mcp.example.com/",
        ],
    );
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    let printed = String::from_utf8(text.stdout).unwrap();
    let url = printed.lines().last().unwrap();
    assert!(url.starts_with("https://mcp.example.com/mcp/gmcp_"), "{printed}");
    let listed = json_of(&cli(d, &["server", "list", "--json"]));
    let server = &listed[0];
    assert_eq!(server["config"], serde_json::json!({"methods": ["read"], "tags": ["flows"], "require_api_token_auth": true, "flow_tools": false}));
    // Flow tools are runs: a filter that hides the run tool refuses them.
    let refused = cli(d, &["server", "create", "--account", acct_id, "--methods", "read", "--flow-tools"]);
    assert!(
        !refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("config.flow_tools:"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(server["expires_at"].is_string());
    let listing = String::from_utf8(cli(d, &["server", "list"]).stdout).unwrap();
    assert!(listing.contains("read") && listing.contains("required") && !listing.contains("gmcp_"), "{listing}");
    let revoked = cli(d, &["server", "revoke", server["id"].as_str().unwrap()]);
    assert!(revoked.status.success());
    assert_eq!(json_of(&cli(d, &["server", "list", "--json"])), serde_json::json!([]));
    let tokens = json_of(&cli(d, &["api-token", "list", "--json"]));
    assert!(!tokens.to_string().contains("gmat_"), "no token values: {tokens}");
    assert!(cli(d, &["api-token", "revoke", tokens[0]["id"].as_str().unwrap()]).status.success());
    assert!(json_of(&cli(d, &["api-token", "list", "--json"]))[0]["revoked_at"].is_string());

    // Mistakes say what is wrong and change nothing.
    let errors: [(&[&str], &str); 5] = [
        (&["account", "add", "--name", "x", "--api-key-env", "NOT_SET_ANYWHERE"], "`NOT_SET_ANYWHERE` is not set"),
        (&["server", "create", "--account", acct_id, "--methods", "reed"], "did you mean `read`"),
        (&["server", "create", "--account", acct_id, "--expires-in", "10s"], "minimum of 60 s"),
        (&["server", "create", "--account", "acct_nope"], "integrated account not found"),
        (&["server", "revoke", "mcp_nope"], "MCP server not found"),
    ];
    for (args, expect) in errors {
        let out = cli(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expect), "{args:?}: expected `{expect}` in: {err}");
    }
    assert_eq!(json_of(&cli(d, &["server", "list", "--json"])), serde_json::json!([]));
    assert_eq!(json_of(&cli(d, &["account", "list", "--json"])).as_array().unwrap().len(), 1);
}

/// Sends one raw HTTP/1.1 POST to `addr` and returns the whole answer.
fn raw_post(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn client_text_never_starts_a_log_line() {
    use std::io::Read;
    let data = tempfile::tempdir().unwrap();
    // The default log level (no GUMLOOP_MCP_LOG): rmcp's WARN "response error id=…" is shown.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir", data.path().join("d").to_str().unwrap()])
        .env_remove("GUMLOOP_API_KEY")
        .env_remove("GUMLOOP_MCP_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut log = Vec::new();
    let addr = loop {
        let mut byte = [0u8; 1];
        assert_eq!(stderr.read(&mut byte).unwrap(), 1, "the server exited before listening");
        log.push(byte[0]);
        let text = String::from_utf8_lossy(&log);
        if let Some(rest) = text.split("at http://").nth(1).filter(|r| r.contains('/')) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    let forged = "2026-12-01T09:00:00Z  INFO gumloop_mcp: FORGED";
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":"x\n{forged}\r\u001b[2J","method":"no/such","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
    );
    let answer = raw_post(
        &addr,
        "/mcp",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "no/such"),
        ],
        &body,
    );
    assert!(answer.contains("-32601"), "{answer}");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    wait_exit(&mut child, "SIGTERM");
    stderr.read_to_end(&mut log).unwrap();
    let log = String::from_utf8(log).unwrap();
    // The event is logged, with the client's text escaped inside its own line.
    let event = log.lines().find(|l| l.contains("response error")).unwrap_or_else(|| panic!("rmcp's warning is logged:\n{log}"));
    assert!(event.contains(r"x\n2026-12-01T09:00:00Z  INFO gumloop_mcp: FORGED\r\u{1b}[2J"), "{event}");
    for line in log.lines() {
        assert!(!line.starts_with("2026-12-01T09:00:00Z"), "a client forged a log line:\n{log}");
        assert!(!line.contains('\r') && !line.contains('\u{1b}'), "control characters reached the log:\n{log}");
    }
}

#[test]
fn the_default_data_directory_is_per_user_not_the_working_directory() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(cwd.path())
        .env("HOME", home.path())
        .env_remove("XDG_DATA_HOME")
        .env_remove("GUMLOOP_MCP_DATA_DIR")
        .env_remove("GUMLOOP_API_KEY")
        .env("GUMLOOP_MCP_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _addr = listening_addr(&mut child);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    wait_exit(&mut child, "SIGTERM");
    let data = home.path().join(".local/share/gumloop-mcp");
    assert!(data.join("secret.key").is_file() && data.join("gumloop-mcp.sqlite3").is_file(), "the store and key are in {}", data.display());
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "nothing is written to the working directory");
}
