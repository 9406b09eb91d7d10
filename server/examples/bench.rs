//! Server benchmarks against the fake Gumloop on loopback (run `cargo xtask bench`).
//!
//! Prints: tools/call latency through gumloop-mcp vs the same request sent straight to
//! the fake, throughput at 32 concurrent clients, tools/list latency, RSS idle and under
//! load, and start-up time to the first successful tools/list. The server runs as its
//! own release process (so RSS is its own); the fake runs in this process.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::{Value, json};

const CONCURRENCY: usize = 32;
const LATENCY_SAMPLES: usize = 2000;
const LOAD_SECS: u64 = 5;

fn server_bin() -> std::path::PathBuf {
    std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("gumloop-mcp")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn_server(fake: &FakeGumloop, port: u16) -> Child {
    Command::new(server_bin())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data-dir", std::env::temp_dir().join("gumloop-mcp-bench").to_str().unwrap()])
        .args(["--gumloop-base-url", &fake.api_base(), "--gumloop-ws-base-url", &fake.ws_base()])
        .env("GUMLOOP_API_KEY", "test-key")
        .env("GUMLOOP_USER_ID", "user_test")
        .env("GUMLOOP_MCP_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("build the server first: cargo build --release -p gumloop-mcp")
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

fn rpc_body(method: &str, params: Value) -> (String, Value) {
    let mut params = params;
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    (method.to_owned(), json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
}

async fn mcp(client: &reqwest::Client, url: &str, method: &str, params: Value) -> Result<Value, String> {
    let name = params.get("name").and_then(Value::as_str).map(str::to_owned);
    let (method, body) = rpc_body(method, params);
    let mut req = client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", &method);
    if let Some(n) = name {
        req = req.header("mcp-name", n);
    }
    let resp = req.json(&body).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
    if v.get("error").is_some() || v["result"]["isError"] == true {
        return Err(v.to_string());
    }
    Ok(v)
}

async fn direct(client: &reqwest::Client, fake: &str) -> Result<(), String> {
    let resp = client
        .get(format!("{fake}/list_saved_items"))
        .query(&[("user_id", "user_test")])
        .bearer_auth("test-key")
        .header("x-auth-key", "user_test")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let _: Value = resp.json().await.map_err(|e| e.to_string())?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn latencies<F, Fut>(n: usize, mut f: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    for _ in 0..200 {
        f().await.unwrap(); // warm-up: connections, caches
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await.unwrap();
        v.push(t.elapsed());
    }
    v.sort();
    (percentile(&v, 0.5), percentile(&v, 0.99))
}

async fn throughput<F, Fut>(f: F) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let f = Arc::new(f);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECS);
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (f, done) = (f.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    f().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / LOAD_SECS as f64
}

#[tokio::main]
async fn main() {
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();

    // Start-up: exec to first successful tools/list, median of 10.
    let mut startups = Vec::new();
    for _ in 0..10 {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/mcp");
        let t = Instant::now();
        let mut child = spawn_server(&fake, port);
        while mcp(&client, &url, "tools/list", json!({})).await.is_err() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        startups.push(t.elapsed());
        child.kill().ok();
        child.wait().ok();
    }
    startups.sort();

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut child = spawn_server(&fake, port);
    while mcp(&client, &url, "tools/list", json!({})).await.is_err() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_idle = rss_kb(child.id());

    let api = fake.api_base();
    let (d50, d99) = latencies(LATENCY_SAMPLES, || direct(&client, &api)).await;
    let call = || mcp(&client, &url, "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {}}));
    let (p50, p99) = latencies(LATENCY_SAMPLES, || async { call().await.map(|_| ()) }).await;
    let (l50, l99) = latencies(LATENCY_SAMPLES, || async { mcp(&client, &url, "tools/list", json!({})).await.map(|_| ()) }).await;

    let (c2, api2) = (client.clone(), api.clone());
    let direct_rps = throughput(move || {
        let (c, a) = (c2.clone(), api2.clone());
        async move { direct(&c, &a).await }
    })
    .await;
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let (c3, u3) = (client.clone(), url.clone());
    let proxied_rps = throughput(move || {
        let (c, u) = (c3.clone(), u3.clone());
        async move { mcp(&c, &u, "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {}})).await.map(|_| ()) }
    })
    .await;
    sampler.abort();
    child.kill().ok();
    child.wait().ok();

    println!("gumloop-mcp benchmarks (release build, fake Gumloop on loopback, stateless 2026-07-28 JSON requests)");
    println!("latency   tools/call via gumloop-mcp: p50 {:.0} µs, p99 {:.0} µs ({LATENCY_SAMPLES} sequential calls)", us(p50), us(p99));
    println!("latency   same request straight to fake: p50 {:.0} µs, p99 {:.0} µs", us(d50), us(d99));
    println!("overhead  p50 {:.0} µs (target <= 200 µs)", us(p50) - us(d50));
    println!("latency   tools/list: p50 {:.0} µs, p99 {:.0} µs", us(l50), us(l99));
    println!("throughput at {CONCURRENCY} clients: proxied {proxied_rps:.0} calls/s, direct {direct_rps:.0} req/s, ratio {:.2} (target >= 0.5)", proxied_rps / direct_rps);
    println!("memory    RSS idle {:.1} MB, peak under load {:.1} MB (target <= 40 MB)", rss_idle as f64 / 1024.0, peak.load(Ordering::Relaxed) as f64 / 1024.0);
    println!("start-up  exec to first tools/list: median {:.1} ms, max {:.1} ms over 10 starts (target <= 100 ms)", startups[5].as_secs_f64() * 1e3, startups[9].as_secs_f64() * 1e3);
}
