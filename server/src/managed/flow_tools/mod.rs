//! Per-flow tools of a managed server (`config.flow_tools`): one `run_gumloop_flow_<slug>`
//! per saved flow of the account, whose arguments are the flow's inputs (plus `wait`).
//! A call is a `create_a_gumloop_flow_run` with those inputs, so it passes the same
//! filter, checks, wait and audit.
//!
//! The list is kept per managed server for a TTL. Legacy sessions that listed tools, and
//! 2026-07-28 `subscriptions/listen` subscribers, are remembered; while any is live a
//! background task refreshes the list every TTL (re-reading the server from the store, so
//! a revoked server stops), and a refresh that changes it sends
//! `notifications/tools/list_changed`. An upstream failure keeps the last good list.
//!
//! Changes travel on the [`ChangeBus`], so listeners on every replica hear them: a refresh
//! that finds a change, and the admin API changing a server, publish the server's id, and
//! each process (this one included) tells its own listeners and forgets its cached list.
//! Listeners of servers without flow tools hear config changes too.

mod tools;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use rmcp::ErrorData as McpError;
use rmcp::model::Tool;
use rmcp::service::{Peer, RoleServer, SubscriptionContext, SubscriptionSink};
use serde_json::{Value, json};

use crate::behaviours::flow_inputs::{self, Flows};
use crate::managed::changes::{self, Change, ChangeBus};
use crate::managed::store::Store;
use crate::managed::{Admission, Clock};
use crate::mcp::pipeline::result::json_of;
use crate::mcp::{GumloopServer, Resolved, Scope, ScopedTools};
use crate::upstream::credential::Credential;

pub use tools::{Flow, FlowSet, FlowTool, MAX_NAME, asking_args, flow_tool, names, parse_flows, run_args, slug};

/// How long a server's flow list is trusted by default (`--flow-tools-ttl-secs`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Flows beyond this many (oldest first) get no tool: each costs an inputs request per refresh.
pub const MAX_FLOWS: usize = 200;
/// How long one notification may take before its session is dropped as dead.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// Inputs requests in flight at once during a refresh.
const CONCURRENT_INPUTS: usize = 8;

/// One managed server's flow tools and listeners.
struct ServerFlows {
    /// The latest scope seen (the refresher acts with it, after re-reading the store).
    scope: Scope,
    /// The last good list.
    set: Option<Arc<FlowSet>>,
    /// When the list was last fetched (or a fetch failed).
    checked: Option<Instant>,
    /// One refresh at a time per server.
    refreshing: Arc<tokio::sync::Mutex<()>>,
    /// Legacy sessions (by `Mcp-Session-Id`) that listed tools.
    sessions: HashMap<String, Peer<RoleServer>>,
    /// 2026-07-28 subscriptions.
    subscribers: HashMap<u64, SubscriptionSink>,
    /// A background refresher runs.
    refresher: bool,
    /// This process heard of a change it has not fetched yet: the fetch that finds it
    /// must not announce it again.
    heard: bool,
}

impl ServerFlows {
    fn new(scope: Scope) -> Self {
        Self {
            scope,
            set: None,
            checked: None,
            refreshing: Arc::default(),
            sessions: HashMap::new(),
            subscribers: HashMap::new(),
            refresher: false,
            heard: false,
        }
    }

    fn listened(&self) -> bool {
        !self.sessions.is_empty() || !self.subscribers.is_empty()
    }
}

/// The flow tools of every managed server this process serves: a cheap handle.
#[derive(Clone)]
pub struct FlowTools(Arc<Shared>);

struct Shared {
    ttl: Duration,
    servers: Mutex<HashMap<String, ServerFlows>>,
    /// Where the refresher re-reads a server, and the clock its expiry is judged by.
    store: Arc<dyn Store>,
    clock: Clock,
    next_subscriber: AtomicU64,
    bus: Arc<dyn ChangeBus>,
    /// Changes this process published and has not heard back yet, by server: hearing
    /// its own news, a process tells its listeners but keeps the list it just fetched.
    published: Mutex<HashMap<String, usize>>,
}

/// The spec's flows when the scope's server shows flow tools: the option is on, the spec
/// declares them, and the run tool passes the server's filters.
fn on<'c>(core: &'c GumloopServer, scope: &Scope) -> Option<&'c Flows> {
    let flows = core.catalog().flows()?;
    (Admission::of(scope).is_some_and(|a| a.config.flow_tools) && scope.access.allows(flows.run)).then_some(flows)
}

impl FlowTools {
    /// Lists are trusted for `ttl`; the refresher re-reads servers from `store`; changes
    /// travel on `bus` (call [`FlowTools::follow`] to hear them).
    pub fn new(ttl: Duration, store: Arc<dyn Store>, clock: Clock, bus: Arc<dyn ChangeBus>) -> Self {
        Self(Arc::new(Shared { ttl, servers: Mutex::default(), store, clock, next_subscriber: AtomicU64::new(0), bus, published: Mutex::default() }))
    }

    /// Hears the bus until it closes: each change is told to this process's listeners.
    pub fn follow(&self, core: GumloopServer) {
        let mut rx = self.0.bus.subscribe();
        let this = self.clone();
        tokio::spawn(async move {
            while let Some(change) = changes::next(&mut rx).await {
                let servers = match change {
                    Change::Server(id) => vec![id],
                    Change::Resync => this.lock().iter().filter(|(_, s)| s.listened()).map(|(id, _)| id.clone()).collect(),
                };
                for server in servers {
                    tokio::spawn(this.clone().heard(core.clone(), server));
                }
            }
        });
    }

    /// A change to `server` was heard: re-read it, forget its list unless this process
    /// just fetched it, and tell its listeners.
    async fn heard(self, core: GumloopServer, server: String) {
        let own = {
            let mut published = self.0.published.lock().unwrap_or_else(|e| e.into_inner());
            match published.get_mut(&server) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    if *n == 0 {
                        published.remove(&server);
                    }
                    true
                }
                _ => false,
            }
        };
        let Some(scope) = self.lock().get(&server).filter(|s| s.listened()).map(|s| s.scope.clone()) else { return };
        let fresh = self.reread(scope).await;
        let listeners = {
            let mut servers = self.lock();
            let Some(s) = servers.get_mut(&server) else { return };
            match &fresh {
                Some(scope) => s.scope = scope.clone(),
                None => s.refresher = false,
            }
            if !own {
                s.checked = None;
                s.heard = true;
            }
            (s.sessions.clone(), s.subscribers.clone())
        };
        self.notify_changed(&server, listeners.0, listeners.1).await;
        if fresh.is_none() {
            tracing::info!(server, "the managed server is gone or expired; its listeners were told");
            self.lock().remove(&server);
        } else if let Some(scope) = fresh.filter(|scope| on(&core, scope).is_some()) {
            self.ensure_refresher(&core, &scope.server_id);
        }
    }

    /// Forgets one change this process published (it will not be heard back).
    fn unpublish(&self, server: &str) {
        let mut published = self.0.published.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = published.get_mut(server) {
            *n = n.saturating_sub(1);
        }
    }

    /// Tells every process that `server`'s tools changed; when the bus fails, at least
    /// this process's listeners hear it.
    pub async fn announce(&self, server: &str) {
        {
            *self.0.published.lock().unwrap_or_else(|e| e.into_inner()).entry(server.to_owned()).or_default() += 1;
        }
        if let Err(e) = self.0.bus.publish(server).await {
            tracing::warn!(server, "announcing a tools change to the other replicas failed: {e}");
            let listeners = self.lock().get(server).map(|s| (s.sessions.clone(), s.subscribers.clone()));
            self.unpublish(server);
            if let Some((sessions, subscribers)) = listeners {
                self.notify_changed(server, sessions, subscribers).await;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ServerFlows>> {
        self.0.servers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached list of a server, fresh or not, if there is one.
    fn cached(&self, server: &str) -> Option<Arc<FlowSet>> {
        self.lock().get(server).and_then(|s| s.set.clone())
    }

    /// The server's current list when it is fresh, else its refresh lock.
    fn fresh_or_lock(&self, scope: &Scope) -> Result<Arc<FlowSet>, Arc<tokio::sync::Mutex<()>>> {
        let mut servers = self.lock();
        if !servers.contains_key(&scope.server_id) {
            // Entries nobody listens to and nobody asked for in a while go.
            let keep = self.0.ttl * 10;
            servers.retain(|_, s| s.listened() || s.refresher || s.checked.is_none_or(|at| at.elapsed() < keep));
        }
        let s = servers.entry(scope.server_id.clone()).or_insert_with(|| ServerFlows::new(scope.clone()));
        s.scope = scope.clone();
        match (&s.set, s.checked) {
            (Some(set), Some(at)) if at.elapsed() < self.0.ttl => Ok(set.clone()),
            _ => Err(s.refreshing.clone()),
        }
    }

    /// A list to tell changes from and the listener registered; the refresher started.
    async fn list(&self, core: &GumloopServer, scope: &Scope, session: Option<(String, Peer<RoleServer>)>) -> Vec<Tool> {
        let flows = on(core, scope).is_some();
        if let Some((id, peer)) = session {
            let mut servers = self.lock();
            let s = servers.entry(scope.server_id.clone()).or_insert_with(|| ServerFlows::new(scope.clone()));
            s.sessions.retain(|_, p| !p.is_transport_closed());
            s.sessions.insert(id, peer);
        }
        if !flows {
            return Vec::new();
        }
        let set = self.flow_set(core, scope).await;
        self.ensure_refresher(core, &scope.server_id);
        set.tools.iter().map(|t| t.tool.clone()).collect()
    }

    /// A call by name under a scope: a flow tool's run, its refusal, or anything else.
    async fn resolve(&self, core: &GumloopServer, scope: &Scope, name: &str, args: Value) -> Resolved {
        let Some(flows) = on(core, scope).filter(|f| name.starts_with(f.listing.prefix)) else { return Resolved::Catalogue(args) };
        let set = self.flow_set(core, scope).await;
        // Not one of this server's flow tools: answered like any unknown tool.
        let Some(t) = set.get(name) else { return Resolved::Catalogue(args) };
        let refused = |problems: Vec<String>| {
            format!("invalid arguments for `{name}` (nothing was sent to Gumloop):\n- {}\n{}", problems.join("\n- "), flow_inputs::summary(&t.inputs))
        };
        match run_args(t, &args, flows) {
            Ok(args) => Resolved::As { tool: flows.run.name, args },
            // Only inputs missing: the run tool asks the person for them, if it can.
            Err(problems) => match asking_args(t, &args, flows, problems.len()) {
                Some(run) => Resolved::Asking { tool: flows.run.name, args: run, refused: refused(problems) },
                None => Resolved::Refused(refused(problems)),
            },
        }
    }

    /// `subscriptions/listen` on a managed URL: the subscriber hears of flow-tool changes
    /// until it goes away.
    async fn listen(&self, core: &GumloopServer, scope: Scope, ctx: SubscriptionContext) -> Result<(), McpError> {
        let id = self.0.next_subscriber.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(scope.server_id.clone()).or_insert_with(|| ServerFlows::new(scope.clone())).subscribers.insert(id, ctx.sink().clone());
        if on(core, &scope).is_some() {
            // A list to tell changes from (registered first, so a change it finds is told).
            self.flow_set(core, &scope).await;
            self.ensure_refresher(core, &scope.server_id);
        }
        ctx.cancelled().await;
        if let Some(s) = self.lock().get_mut(&scope.server_id) {
            s.subscribers.remove(&id);
        }
        Ok(())
    }

    /// The server's flow tools, fetched again when older than the TTL. A failed fetch
    /// keeps the last good list (empty if there never was one).
    async fn flow_set(&self, core: &GumloopServer, scope: &Scope) -> Arc<FlowSet> {
        let lock = match self.fresh_or_lock(scope) {
            Ok(set) => return set,
            Err(lock) => lock,
        };
        let _one = lock.lock().await;
        // Someone else may have refreshed while this waited.
        if let Ok(set) = self.fresh_or_lock(scope) {
            return set;
        }
        let previous = self.cached(&scope.server_id);
        let fetched = match on(core, scope) {
            Some(flows) => fetch_flow_set(core, flows, &scope.credential, previous.as_deref()).await,
            None => Ok(FlowSet::default()),
        };
        let (set, changed) = {
            let mut servers = self.lock();
            let s = servers.entry(scope.server_id.clone()).or_insert_with(|| ServerFlows::new(scope.clone()));
            s.checked = Some(Instant::now());
            let mut changed = false;
            match fetched {
                Ok(new) => {
                    // A change this process already heard of was told with the news.
                    changed = previous.as_ref().is_some_and(|p| !p.same_as(&new)) && !s.heard;
                    s.heard = false;
                    s.set = Some(Arc::new(new));
                }
                Err(e) => tracing::warn!(server = scope.server_id, "listing the account's flows failed; keeping the last good flow tools: {e}"),
            }
            (s.set.get_or_insert_with(Arc::default).clone(), changed)
        };
        // Slow listeners never hold up the next refresh or list.
        drop(_one);
        if changed {
            self.announce(&scope.server_id).await;
        }
        set
    }

    /// Sends `notifications/tools/list_changed` to a server's listeners, forgetting those
    /// that are gone.
    async fn notify_changed(&self, server: &str, sessions: HashMap<String, Peer<RoleServer>>, subscribers: HashMap<u64, SubscriptionSink>) {
        let mut dead = Vec::new();
        for (id, peer) in &sessions {
            let sent = !peer.is_transport_closed() && matches!(tokio::time::timeout(NOTIFY_TIMEOUT, peer.notify_tool_list_changed()).await, Ok(Ok(())));
            if !sent {
                dead.push(id.clone());
            }
        }
        let mut gone = Vec::new();
        for (id, sink) in &subscribers {
            if !matches!(tokio::time::timeout(NOTIFY_TIMEOUT, sink.notify_tool_list_changed()).await, Ok(Ok(()))) {
                gone.push(*id);
            }
        }
        tracing::info!(
            server,
            sessions = sessions.len() - dead.len(),
            subscribers = subscribers.len() - gone.len(),
            "tools changed; sent notifications/tools/list_changed"
        );
        if let Some(s) = self.lock().get_mut(server) {
            dead.iter().for_each(|id| drop(s.sessions.remove(id)));
            gone.iter().for_each(|id| drop(s.subscribers.remove(id)));
        }
    }

    /// Starts the server's background refresher unless one runs.
    fn ensure_refresher(&self, core: &GumloopServer, server: &str) {
        let mut servers = self.lock();
        let Some(s) = servers.get_mut(server).filter(|s| !s.refresher) else { return };
        s.refresher = true;
        tokio::spawn(self.clone().refresh_loop(core.clone(), server.to_owned()));
    }

    /// Every TTL while the server has live listeners: re-read the server (gone or expired
    /// ends it; a new config applies) and refresh its list, notifying on a change.
    async fn refresh_loop(self, core: GumloopServer, server: String) {
        loop {
            tokio::time::sleep(self.0.ttl).await;
            let scope = {
                let mut servers = self.lock();
                let Some(s) = servers.get_mut(&server) else { return };
                s.sessions.retain(|_, p| !p.is_transport_closed());
                if !s.listened() {
                    s.refresher = false;
                    return;
                }
                s.scope.clone()
            };
            let Some(scope) = self.reread(scope).await else {
                tracing::info!(server, "the managed server is gone or expired; its flow tools stop refreshing");
                self.lock().remove(&server);
                return;
            };
            self.flow_set(&core, &scope).await;
        }
    }

    /// The scope as the store has it now: `None` when the server was deleted or expired.
    /// When the store fails, the scope as it was.
    async fn reread(&self, scope: Scope) -> Option<Scope> {
        let Some(admission) = Admission::of(&scope) else { return Some(scope) };
        match self.0.store.resolve_token(&admission.token.0).await {
            Ok(Some(r)) if !r.server.expired(self.0.clock.now()) && r.server.id == scope.server_id => {
                Some(Admission { config: Arc::new(r.server.config), credential: Arc::new(r.credential), ..admission.clone() }.into_scope())
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(server = scope.server_id, "re-reading a managed server failed: {e}");
                Some(scope)
            }
        }
    }
}

impl ScopedTools for FlowTools {
    fn list<'a>(&'a self, core: &'a GumloopServer, scope: &'a Scope, session: Option<(String, Peer<RoleServer>)>) -> BoxFuture<'a, Vec<Tool>> {
        Box::pin(FlowTools::list(self, core, scope, session))
    }

    fn resolve<'a>(&'a self, core: &'a GumloopServer, scope: &'a Scope, name: &'a str, args: Value) -> BoxFuture<'a, Resolved> {
        Box::pin(FlowTools::resolve(self, core, scope, name, args))
    }

    fn listen<'a>(&'a self, core: &'a GumloopServer, scope: Scope, ctx: SubscriptionContext) -> BoxFuture<'a, Result<(), McpError>> {
        Box::pin(FlowTools::listen(self, core, scope, ctx))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.lock().values().find_map(|s| s.set.as_ref()?.get(name).map(|t| t.tool.clone()))
    }

    fn runs_as(&self, scope: &Scope, name: &str) -> Option<&'static str> {
        let on = Admission::of(scope).is_some_and(|a| a.config.flow_tools);
        let run = self.cached(&scope.server_id).filter(|set| on && set.get(name).is_some())?.runs_as;
        Some(run)
    }
}

/// Lists the account's flows and reads each one's inputs (a flow whose inputs cannot
/// be read keeps its previous tool, or has none until they can).
async fn fetch_flow_set(core: &GumloopServer, flows: &Flows, credential: &Credential, previous: Option<&FlowSet>) -> Result<FlowSet, String> {
    let catalog = core.catalog();
    let run = catalog.get(flows.run.name).ok_or("the run tool is missing")?;
    let outcome = core.send_as(flows.list, json!({}), credential).await.map_err(|e| e.to_string())?;
    let body = json_of(outcome).map_err(|e| e.to_string())?;
    let mut listed = parse_flows(&body, &flows.listing).ok_or_else(|| format!("the answer has no {}", flows.listing.items))?;
    listed.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
    if listed.len() > MAX_FLOWS {
        tracing::warn!(flows = listed.len(), "the account has more than {MAX_FLOWS} flows; only the oldest {MAX_FLOWS} get flow tools");
        listed.truncate(MAX_FLOWS);
    }
    // Owned ids: a stream of futures borrowing its items trips the Send check of callers.
    let ids: Vec<String> = listed.iter().map(|f| f.id.clone()).collect();
    let inputs: Vec<_> = futures_util::stream::iter(ids)
        .map(|id| async move { core.read_flow_inputs(&flows.inputs, &id, credential).await.map_err(|r| crate::mcp::pipeline::result::text_of(&r)) })
        .buffered(CONCURRENT_INPUTS)
        .collect()
        .await;
    let mut kept = Vec::with_capacity(listed.len());
    for (flow, got) in listed.into_iter().zip(inputs) {
        match got {
            Ok(i) => kept.push((flow, i)),
            Err(e) => match previous.and_then(|p| p.tools.iter().find(|t| t.flow.id == flow.id)) {
                Some(old) => kept.push((flow, old.inputs.clone())),
                None => tracing::warn!(flow = flow.id, "reading a flow's inputs failed; it has no flow tool until they can be read: {e}"),
            },
        }
    }
    let found: Vec<Flow> = kept.iter().map(|(f, _)| f.clone()).collect();
    let names = names(&found, flows.listing.prefix, |n| catalog.get(n).is_some());
    let title = core.integration().title;
    let mut tools: Vec<FlowTool> = kept.into_iter().zip(names).map(|((f, i), name)| flow_tool(f, i, name, &run.tool, flows, title)).collect();
    tools.sort_by(|a, b| a.tool.name.cmp(&b.tool.name));
    Ok(FlowSet { tools, runs_as: flows.run.name })
}
