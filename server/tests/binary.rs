//! The `gumloop-mcp` binary: `serve` listens where it is told and exits cleanly on
//! SIGTERM; `stdio` writes only JSON-RPC to stdout and exits when stdin closes.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_shuts_down_gracefully() {
    use std::io::BufRead;
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
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the server exited before listening");
        if let Some(rest) = line.split("at http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    assert!(std::net::TcpStream::connect(&addr).is_ok(), "listening at {addr}");
    assert!(data.is_dir(), "the data directory is created");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
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
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no exit after stdin closed");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.trim().is_empty(), "nothing else on stdout: {rest}");
    let mut logs = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut logs).unwrap();
    assert!(logs.contains("stdin/stdout"), "logs go to stderr: {logs}");
}
