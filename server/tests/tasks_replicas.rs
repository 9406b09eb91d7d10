//! MCP tasks kept in the SQLite store: they survive a restart, every replica on the same
//! store answers and cancels them for their owner only, and a replica adopts the wait of
//! one that died (its lease ran out) by polling the stored upstream id, never starting the
//! work again.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, personal_key, rpc_at};
use gumloop_mcp::http::{self, HttpConfig, Running};
use gumloop_mcp::managed::admin::Admin;
use gumloop_mcp::managed::secrets::SealingKey;
use gumloop_mcp::managed::store::{SqliteStore, Store};
use gumloop_mcp::managed::{AuditLog, Clock, Managed};
use gumloop_mcp::mcp::tasks::{Leases, TaskRecord, TaskStore, Tasks};
use gumloop_mcp::{Credential, GumloopServer, UpstreamConfig};
use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::{Value, json};

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// Leases short enough that a dead replica's tasks are adopted within two seconds (and
/// renewed often enough that a busy test machine never lets a live one lapse).
const FAST: Leases = Leases { lease: Duration::from_millis(1500), renew_every: Duration::from_millis(200), claim_every: Duration::from_millis(100) };

/// One gumloop-mcp process: `/mcp` as `credential`, managed servers, the admin API, and
/// tasks in the SQLite store of `dir`.
struct Replica {
    base: String,
    server: GumloopServer,
    store: Arc<SqliteStore>,
    running: Option<Running>,
}

async fn replica(fake: &FakeGumloop, dir: &Path, leases: Leases, credential: Credential) -> Replica {
    let store = Arc::new(SqliteStore::open(dir, SealingKey::from_bytes([7; 32])).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let audit = AuditLog::start(store.clone());
    let changes = Arc::new(gumloop_mcp::managed::changes::LocalBus::default());
    let managed = Managed {
        store: store.clone(),
        clock: Clock::system(),
        public_url: base.clone(),
        audit,
        flow_tools_ttl: Duration::from_secs(60),
        changes,
        sessions: None,
    };
    let tasks = Tasks::new(store.clone(), Duration::from_secs(120), leases).with_owners(Arc::new(managed.clone()));
    let upstream = UpstreamConfig { call_timeout: Duration::from_secs(5), ..UpstreamConfig::new(fake.api_base(), fake.ws_base()) };
    let server = gumloop_mcp::gumloop_server(upstream, credential).unwrap().with_tasks(tasks);
    let admin = Admin { managed, tools: gumloop_mcp_generated::resources::ALL_TOOLS, body_limit: 64 * 1024 };
    let config = HttpConfig { shutdown_grace: Duration::from_millis(200), ..HttpConfig::default() };
    let running = http::spawn_managed(server.clone(), listener, config, Some(admin)).unwrap();
    Replica { base, server, store, running: Some(running) }
}

impl Replica {
    fn mcp(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// The process dies: its waits stop unsettled, its leases are no longer renewed.
    async fn kill(mut self) {
        self.server.tasks().abandon();
        self.running.take().unwrap().shutdown().await.unwrap();
    }
}

async fn rpc(url: &str, method: &str, params: Value) -> Reply {
    rpc_at(&reqwest::Client::new(), url, method, params, json!({"extensions": {TASKS: {}}})).await
}

async fn start(url: &str, tool: &str, args: Value) -> String {
    let r = rpc(url, "tools/call", json!({"name": tool, "arguments": args})).await;
    assert_eq!(r.body["result"]["resultType"], "task", "{}", r.body);
    r.body["result"]["taskId"].as_str().unwrap().to_owned()
}

async fn get(url: &str, task: &str) -> Reply {
    rpc(url, "tasks/get", json!({"taskId": task})).await
}

async fn task(url: &str, task: &str) -> Value {
    let r = get(url, task).await;
    r.body.get("result").cloned().unwrap_or_else(|| panic!("tasks/get failed: {}", r.body))
}

/// Polls `tasks/get` at `url` until `done` holds of the task.
async fn until(url: &str, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = task(url, id).await;
        if done(&t) {
            return t;
        }
        assert!(Instant::now() < deadline, "{what} never happened: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn polled(url: &str, id: &str) -> Value {
    until(url, id, "a poll", |t| t["statusMessage"].as_str().unwrap_or_default().contains("state:")).await
}

async fn settled(url: &str, id: &str) -> Value {
    until(url, id, "settling", |t| t["status"] != "working").await
}

fn count(fake: &FakeGumloop, method: &str, path_part: &str) -> usize {
    fake.requests().iter().filter(|r| r.method == method && r.path.contains(path_part)).count()
}

fn unknown(r: &Reply) -> bool {
    r.body["error"]["message"].as_str().is_some_and(|m| m.contains("unknown task"))
}

#[tokio::test]
async fn a_task_survives_a_restart_and_the_new_process_answers_it() {
    let fake = FakeGumloop::start(FakeConfig { session_polls: 2, ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = replica(&fake, dir.path(), Leases::default(), personal_key()).await;
    let id = start(&a.mcp(), "create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hello"})).await;
    let done = settled(&a.mcp(), &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    a.kill().await;

    let b = replica(&fake, dir.path(), Leases::default(), personal_key()).await;
    let after = task(&b.mcp(), &id).await;
    assert_eq!(after, done, "the same record after the restart");
    assert_eq!(after["result"]["structuredContent"]["session"]["state"], "completed");
}

#[tokio::test]
async fn another_replica_answers_and_cancels_a_task_with_one_upstream_cancel() {
    let fake = FakeGumloop::start(FakeConfig { session_polls: 1000, ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (replica(&fake, dir.path(), Leases::default(), personal_key()).await, replica(&fake, dir.path(), Leases::default(), personal_key()).await);
    let id = start(&a.mcp(), "create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "a long job"})).await;
    // B sees A's progress.
    polled(&b.mcp(), &id).await;
    assert_eq!((a.server.tasks().running(), b.server.tasks().running()), (1, 0), "A runs the wait");

    let r = rpc(&b.mcp(), "tasks/cancel", json!({"taskId": id})).await;
    assert!(r.body.get("error").is_none(), "{}", r.body);
    assert_eq!(count(&fake, "POST", "/cancel"), 1, "B stopped the session in Gumloop");
    // A notices at its next poll (within the 5 s backoff cap) and settles the task.
    let t = settled(&a.mcp(), &id).await;
    assert_eq!(t["status"], "cancelled", "{t}");
    assert_eq!(task(&b.mcp(), &id).await["status"], "cancelled");
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.server.tasks().running() > 0 {
        assert!(Instant::now() < deadline, "A never stopped its wait");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let polls = count(&fake, "GET", "/sessions/");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(count(&fake, "GET", "/sessions/"), polls, "no polling after the cancel");
    // Cancelling again, on either replica, calls nothing.
    for url in [a.mcp(), b.mcp()] {
        let again = rpc(&url, "tasks/cancel", json!({"taskId": id})).await;
        assert!(again.body.get("error").is_none(), "{}", again.body);
    }
    assert_eq!(count(&fake, "POST", "/cancel"), 1, "exactly one upstream cancel");
}

#[tokio::test]
async fn a_dead_replicas_wait_is_adopted_and_completed_without_new_work() {
    let fake = FakeGumloop::start(FakeConfig { session_polls: 4, ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (replica(&fake, dir.path(), FAST, personal_key()).await, replica(&fake, dir.path(), FAST, personal_key()).await);
    let id = start(&a.mcp(), "create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hello"})).await;
    polled(&b.mcp(), &id).await;
    let polls_by_a = count(&fake, "GET", "/sessions/");
    assert!(polls_by_a < 4, "A was killed before the session finished ({polls_by_a} polls)");
    a.kill().await;

    let done = settled(&b.mcp(), &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let result = &done["result"];
    assert_ne!(result["isError"], true, "{result}");
    assert_eq!(result["structuredContent"]["session"]["state"], "completed", "{result}");
    assert_eq!(result["structuredContent"]["wait"]["finished"], true, "{result}");
    assert_eq!(count(&fake, "POST", "/sessions"), 1, "the session was started once");
    assert_eq!(count(&fake, "GET", "/sessions/"), 4, "B polled on until it completed");
    assert_eq!(b.server.tasks().running(), 0);
}

#[tokio::test]
async fn a_task_whose_start_never_answered_fails_when_its_lease_runs_out() {
    let fake = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = replica(&fake, dir.path(), FAST, personal_key()).await;
    // What a replica that died mid-start leaves behind: no upstream id, an expired lease.
    let now = jiff::Timestamp::from_millisecond(jiff::Timestamp::now().as_millisecond()).unwrap();
    let orphan = TaskRecord {
        id: "orphan_1".into(),
        owner: None,
        tool: "create_a_gumloop_session".into(),
        called_as: "create_a_gumloop_session".into(),
        status: rmcp::model::TaskStatus::Working,
        status_message: Some("starting".into()),
        outcome: None,
        upstream_id: None,
        cancel_tool: None,
        cancel_requested: false,
        lease_owner: Some("replica-dead".into()),
        lease_until: Some(now - Duration::from_secs(1)),
        created_at: now,
        ttl_ms: 60_000,
        last_updated: now,
    };
    b.store.create(&orphan).await.unwrap();
    let t = settled(&b.mcp(), "orphan_1").await;
    assert_eq!(t["status"], "failed", "{t}");
    let message = t["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no id to follow") && message.contains("get_single_gumloop_session_by_id"), "{t}");
    assert!(fake.requests().is_empty(), "nothing was sent: {:?}", fake.requests());
}

#[tokio::test]
async fn managed_tasks_are_their_servers_alone_on_every_replica_and_adopted_with_its_account() {
    let fake = FakeGumloop::start(FakeConfig { session_polls: 4, ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // No credential on /mcp: an adopted managed task can only poll with its account's key.
    let (a, b) = (replica(&fake, dir.path(), FAST, Credential::default()).await, replica(&fake, dir.path(), FAST, Credential::default()).await);
    let (_, admin) = a.store.create_api_token("admin", jiff::Timestamp::now()).await.unwrap();
    let (client, admin) = (reqwest::Client::new(), admin.reveal().to_owned());
    let account = common::account(&client, &a.base, &admin).await;
    let mut servers = Vec::new();
    for name in ["one", "two"] {
        let path = format!("/integrated-account/{account}/mcp");
        let r = common::admin(&client, &a.base, &admin, "POST", &path, Some(json!({"name": name, "config": {}}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let token = r.body["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        servers.push((r.body["id"].as_str().unwrap().to_owned(), token));
    }
    let at = |r: &Replica, token: &str| format!("{}/mcp/{token}", r.base);
    let (one, two) = (&servers[0].1, &servers[1].1);
    let id = start(&at(&a, one), "create_a_gumloop_session", json!({"agent_id": "agent_1", "input": "hello"})).await;
    polled(&at(&b, one), &id).await;
    // Another server, or /mcp, is told the task does not exist, on either replica.
    for url in [at(&b, two), b.mcp(), at(&a, two), a.mcp()] {
        assert!(unknown(&get(&url, &id).await), "{url} saw the task");
        assert!(unknown(&rpc(&url, "tasks/cancel", json!({"taskId": id})).await), "{url} could cancel the task");
    }

    a.kill().await;
    let done = settled(&at(&b, one), &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_ne!(done["result"]["isError"], true, "polled with the account's key: {done}");
    assert_eq!(done["result"]["structuredContent"]["session"]["state"], "completed", "{done}");
    assert_eq!(count(&fake, "POST", "/cancel"), 0);
    // The adopter audited the call in the server's trail.
    let calls = format!("/integrated-account/{account}/mcp/{}/calls", servers[0].0);
    let r = common::admin(&client, &b.base, &admin, "GET", &calls, None).await;
    let tools: Vec<_> = r.body["result"].as_array().unwrap().iter().map(|c| c["tool"].clone()).collect();
    assert_eq!(tools, [json!("create_a_gumloop_session")], "{}", r.body);
}
