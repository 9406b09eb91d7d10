//! The `gumloop-mcp` binary: it serves on the address it is given and exits cleanly on
//! SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_shuts_down_gracefully() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = std::env::temp_dir().join(format!("gumloop-mcp-sigterm-{port}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumloop-mcp"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data-dir", data.to_str().unwrap()])
        .env_remove("GUMLOOP_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
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
    assert!(out.is_empty(), "serve writes logs to stderr only, got stdout: {out}");
}
