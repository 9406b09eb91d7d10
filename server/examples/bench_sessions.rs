//! The legacy-session flood benchmark (run `cargo xtask bench-sessions`): RSS of a
//! `gumloop-mcp serve` process before and after 20,000 2025-11-25 `initialize`s (each of
//! which opens a session) on `/mcp`, and again on a read-only managed URL, each on a fresh
//! process, with the answers counted by status. `--server PATH` runs the same load against
//! another build (e.g. one from before the session cap) to compare.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gumloop_mcp::managed::filter::McpServerConfig;
use gumloop_mcp::managed::store::{NewAccount, Store};
use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::json;

const FLOOD: usize = 20_000;
const CONCURRENCY: usize = 32;

fn server_bin() -> std::path::PathBuf {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--server") {
        Some(i) => args.get(i + 1).expect("--server PATH").into(),
        None => std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("gumloop-mcp"),
    }
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// A server on a fresh data directory holding one read-only managed server; its process
/// and that server's URL.
async fn start(fake: &FakeGumloop, data: &std::path::Path) -> (Child, String, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (store, _) = gumloop_mcp::managed::cli::open_store(data).unwrap();
    let now = jiff::Timestamp::now();
    let credential = gumloop_mcp::Credential { api_key: Some(gumloop_mcp::Secret::new("test-key")), user_id: Some("user_test".into()), ..Default::default() };
    let acct = store.create_account(NewAccount { name: "bench".into(), credential }, now).await.unwrap();
    let read_only = McpServerConfig { methods: Some(vec!["read".into()]), ..McpServerConfig::default() };
    let (_, token) = store.create_server(&acct.id, "read-only", &read_only, None, now).await.unwrap();
    drop(store);
    let child = Command::new(server_bin())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data-dir", data.to_str().unwrap()])
        .args(["--gumloop-base-url", &fake.api_base(), "--gumloop-ws-base-url", &fake.ws_base()])
        .env("GUMLOOP_API_KEY", "test-key")
        .env("GUMLOOP_USER_ID", "user_test")
        .env("GUMLOOP_MCP_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("build the server first: cargo build --release -p gumloop-mcp");
    (child, format!("http://127.0.0.1:{port}/mcp"), format!("http://127.0.0.1:{port}/mcp/{}", token.reveal()))
}

fn initialize(client: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}}});
    client.post(url).header("content-type", "application/json").header("accept", "application/json, text/event-stream").json(&body)
}

/// Whether a new client still gets a working session: initialize, then tools/list in it.
async fn session_works(client: &reqwest::Client, url: &str) -> bool {
    let Ok(resp) = initialize(client, url).send().await else { return false };
    let Some(id) = resp.headers().get("mcp-session-id").cloned() else { return false };
    let _ = resp.bytes().await;
    let list = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", id)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}))
        .send()
        .await;
    match list {
        Ok(r) if r.status().is_success() => r.text().await.is_ok_and(|t| t.contains("\"tools\"")),
        _ => false,
    }
}

struct Flood {
    idle_kb: u64,
    peak_kb: u64,
    after_kb: u64,
    secs: f64,
    by_status: Vec<(u16, usize)>,
    works_after: bool,
}

async fn flood(client: &reqwest::Client, pid: u32, url: &str) -> Flood {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_kb = rss_kb(pid);
    let peak = Arc::new(AtomicU64::new(idle_kb));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, url, next) = (client.clone(), url.to_owned(), next.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < FLOOD {
                    let status = match initialize(&client, &url).send().await {
                        Ok(resp) => {
                            let s = resp.status().as_u16();
                            let _ = resp.bytes().await;
                            s
                        }
                        Err(_) => 0,
                    };
                    statuses.push(status);
                }
                statuses
            })
        })
        .collect();
    let mut by_status = std::collections::BTreeMap::new();
    for w in workers {
        for s in w.await.unwrap() {
            *by_status.entry(s).or_insert(0) += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sampler.abort();
    let after_kb = rss_kb(pid);
    let works_after = session_works(client, url).await;
    Flood { idle_kb, peak_kb: peak.load(Ordering::Relaxed).max(after_kb), after_kb, secs, by_status: by_status.into_iter().collect(), works_after }
}

#[tokio::main]
async fn main() {
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().unwrap();
    println!("gumloop-mcp session flood: {FLOOD} initializes, {CONCURRENCY} at a time, server {}", server_bin().display());
    for target in ["/mcp", "a read-only managed URL"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, plain, managed) = start(&fake, dir.path()).await;
        let url = if target == "/mcp" { plain.clone() } else { managed };
        let ready = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
        loop {
            let up = client
                .post(&plain)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/list")
                .json(&ready)
                .send()
                .await;
            if up.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let f = flood(&client, child.id(), &url).await;
        child.kill().ok();
        child.wait().ok();
        let statuses: Vec<String> = f.by_status.iter().map(|(s, n)| format!("{n} × {}", if *s == 0 { "failed".to_owned() } else { s.to_string() })).collect();
        println!(
            "sessions  {FLOOD} initializes on {target}: RSS {:.1} MB idle -> {:.1} MB after (peak {:.1} MB, +{:.1} MB); {:.1} s ({:.0}/s); answers {}; a new session afterwards works: {}",
            mb(f.idle_kb),
            mb(f.after_kb),
            mb(f.peak_kb),
            mb(f.peak_kb.saturating_sub(f.idle_kb)),
            f.secs,
            FLOOD as f64 / f.secs,
            statuses.join(", "),
            if f.works_after { "yes" } else { "no" },
        );
    }
}
