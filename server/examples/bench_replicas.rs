//! Replicas on one PostgreSQL (run `cargo xtask bench-replicas`): admission and filter
//! cost per managed call on PostgreSQL over a local socket, managed tools/call
//! throughput with 1 and with 3 replicas against the same fake, how many requests a
//! revoked URL still gets through on another replica, and a replica's RSS under the
//! 32-client load. A throwaway cluster (unix socket, durability off) and the fake run
//! beside the release server processes.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gumloop_mcp::managed::filter::McpServerConfig;
use gumloop_mcp::managed::secrets::SealingKey;
use gumloop_mcp::managed::store::{DatabaseUrl, NewAccount, PostgresStore, Store};
use gumloop_mcp::managed::{AuditLog, Clock, Managed, admit};
use gumloop_testkit::postgres::TempPostgres;
use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::{Value, json};

const CONCURRENCY: usize = 32;
const LOAD_SECS: u64 = 5;
const SECRET: &str = "6d0f6c5c3f0e9b1a2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a3b";

fn server_bin() -> std::path::PathBuf {
    std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("gumloop-mcp")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

fn spawn_replica(fake: &FakeGumloop, db: &str, port: u16, dir: &std::path::Path) -> Child {
    Command::new(server_bin())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data-dir", dir.to_str().unwrap(), "--database-url", db])
        .args(["--gumloop-base-url", &fake.api_base(), "--gumloop-ws-base-url", &fake.ws_base()])
        .env("GUMLOOP_MCP_SECRET_KEY", SECRET)
        .env("GUMLOOP_MCP_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("build the server first: cargo build --release -p gumloop-mcp")
}

async fn call(client: &reqwest::Client, url: &str, method: &str, params: Value) -> Result<u16, String> {
    let mut params = params;
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let mut req =
        client.post(url).header("accept", "application/json, text/event-stream").header("mcp-protocol-version", "2026-07-28").header("mcp-method", method);
    if let Some(name) = params.get("name").and_then(Value::as_str) {
        req = req.header("mcp-name", name);
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let resp = req.json(&body).send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if status == 200 && (v.get("error").is_some() || v["result"]["isError"] == true) {
        return Err(v.to_string());
    }
    Ok(status)
}

/// Calls per second from 32 clients spread round robin over `urls`, and the highest RSS
/// of `watch` seen meanwhile.
async fn throughput(client: &reqwest::Client, urls: &[String], watch: u32) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let urls = Arc::new(urls.to_vec());
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECS);
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, done, next, urls) = (client.clone(), done.clone(), next.clone(), urls.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let url = &urls[next.fetch_add(1, Ordering::Relaxed) % urls.len()];
                    let status = call(&client, url, "tools/call", json!({"name": "list_all_gumloop_flows", "arguments": {}})).await.unwrap();
                    assert_eq!(status, 200);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut peak = 0;
    while Instant::now() < deadline {
        peak = peak.max(rss_kb(watch));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    (done.load(Ordering::Relaxed) as f64 / LOAD_SECS as f64, peak)
}

#[tokio::main]
async fn main() {
    let pg = TempPostgres::start();
    let db = pg.create_database();
    let url: DatabaseUrl = db.url.parse().unwrap();
    let key = SealingKey::parse(SECRET, "GUMLOOP_MCP_SECRET_KEY").unwrap();
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url, key).await.unwrap());
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let now = jiff::Timestamp::now();
    let credential = gumloop_mcp::Credential { api_key: Some(gumloop_mcp::Secret::new("test-key")), user_id: Some("user_test".into()), ..Default::default() };
    let acct = store.create_account(NewAccount { name: "bench".into(), credential }, now).await.unwrap();
    let filtered = McpServerConfig { methods: Some(vec!["read".into()]), tags: Some(vec!["flows".into()]), ..McpServerConfig::default() };
    let (_, token) = store.create_server(&acct.id, "bench", &filtered, None, now).await.unwrap();

    // 1. Admission + filter per call, in process, on PostgreSQL over its unix socket.
    let m = Managed {
        store: store.clone(),
        clock: Clock::system(),
        public_url: String::new(),
        audit: AuditLog::start(store.clone()),
        flow_tools_ttl: gumloop_mcp::managed::flow_tools::DEFAULT_TTL,
        changes: Arc::new(gumloop_mcp::managed::changes::LocalBus::default()),
        sessions: None,
    };
    let tool = gumloop_mcp_generated::resources::find("list_all_gumloop_flows").unwrap();
    for _ in 0..200 {
        admit(&m, token.reveal(), None).await.unwrap();
    }
    let mut each: Vec<Duration> = Vec::with_capacity(5000);
    for _ in 0..5000 {
        let t = Instant::now();
        let scope = admit(&m, std::hint::black_box(token.reveal()), None).await.unwrap();
        std::hint::black_box(scope.config.allows(tool));
        each.push(t.elapsed());
    }
    each.sort();
    let pct = |p: f64| each[((each.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    println!("admission + filter per managed call, PostgreSQL over a unix socket: p50 {:.1} µs, p99 {:.1} µs (5,000 calls)", pct(0.5), pct(0.99));

    // 2. Three replicas on the database.
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut children: Vec<Child> = ports.iter().zip(&dirs).map(|(p, d)| spawn_replica(&fake, &db.url, *p, d.path())).collect();
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let urls: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}/mcp/{}", token.reveal())).collect();
    for u in &urls {
        let deadline = Instant::now() + Duration::from_secs(30);
        while call(&client, u, "tools/list", json!({})).await != Ok(200) {
            assert!(Instant::now() < deadline, "a replica did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let pid = children[0].id();
    let idle = rss_kb(pid);
    // Warm every replica's connections first.
    throughput(&client, &urls, pid).await;
    let (one, peak_one) = throughput(&client, &urls[..1], pid).await;
    let (three, peak_three) = throughput(&client, &urls, pid).await;
    println!("managed tools/call throughput, {CONCURRENCY} clients, one PostgreSQL: 1 replica {one:.0}/s, 3 replicas {three:.0}/s (ratio {:.2})", three / one);
    println!(
        "RSS of one replica: idle {:.1} MB, peak under the 32-client load {:.1} MB (serving alone), {:.1} MB (one of three)",
        idle as f64 / 1024.0,
        peak_one as f64 / 1024.0,
        peak_three as f64 / 1024.0
    );

    // 3. Revocation through the store (as the admin API of any replica does it): how many
    // requests another replica still serves afterwards, over 50 revocations.
    let mut served_after = 0;
    for i in 0..50 {
        let (server, t) = store.create_server(&acct.id, &format!("r{i}"), &filtered, None, jiff::Timestamp::now()).await.unwrap();
        let other = format!("http://127.0.0.1:{}/mcp/{}", ports[1 + i % 2], t.reveal());
        assert_eq!(call(&client, &other, "tools/list", json!({})).await, Ok(200), "served before the revocation");
        store.delete_server_by_id(&server.id).await.unwrap();
        if call(&client, &other, "tools/list", json!({})).await == Ok(200) {
            served_after += 1;
        }
    }
    println!("revocation: requests a revoked URL still got through on another replica: {served_after} in 50 revocations (each checked on its next request)");

    for c in &mut children {
        c.kill().ok();
        c.wait().ok();
    }
}
