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

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use heck::ToSnakeCase as _;
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock, Tool};
use rmcp::service::{Peer, RequestContext, RoleServer, SubscriptionContext, SubscriptionSink};
use serde_json::{Map, Value, json};

use crate::behaviours::flow_inputs::{self, FlowInput, INPUTS_TOOL, RUN_TOOL};
use crate::managed::store::{CallOutcome, Store};
use crate::managed::{Clock, Scope};
use crate::mcp::handler::GumloopServer;
use crate::upstream::Outcome;
use crate::upstream::credential::Credential;

/// Every flow tool's name starts with this.
pub const PREFIX: &str = "run_gumloop_flow_";
/// The longest tool name (what MCP clients commonly accept).
pub const MAX_NAME: usize = 64;
/// How long a server's flow list is trusted by default (`--flow-tools-ttl-secs`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Flows beyond this many (oldest first) get no tool: each costs an inputs request per refresh.
pub const MAX_FLOWS: usize = 200;
/// The tool that lists the account's flows.
const LIST_TOOL: &str = "list_all_gumloop_flows";
/// The run tool's server arguments a flow tool takes beside the inputs.
const WAIT_ARGS: [&str; 2] = ["wait", "wait_timeout_seconds"];
/// How long one notification may take before its session is dropped as dead.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// Inputs requests in flight at once during a refresh.
const CONCURRENT_INPUTS: usize = 8;

/// One saved flow, as `list_all_gumloop_flows` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// `saved_item_id`.
    pub id: String,
    /// Its name in Gumloop.
    pub name: String,
    /// Its description, if it has one.
    pub description: Option<String>,
    /// `created_ts`, which orders flows so older ones keep the plain name.
    pub created: Option<String>,
}

/// The flows of a `list_all_gumloop_flows` answer, `None` when it has no `saved_items`.
pub fn parse_flows(body: &Value) -> Option<Vec<Flow>> {
    let items = body.get("saved_items")?.as_array()?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(
        items
            .iter()
            .filter_map(|f| {
                Some(Flow {
                    id: text(f, "saved_item_id")?,
                    name: text(f, "name").unwrap_or_default(),
                    description: text(f, "description").filter(|d| !d.trim().is_empty()),
                    created: text(f, "created_ts"),
                })
            })
            .collect(),
    )
}

/// A flow name as a tool-name slug: heck's snake case reduced to ASCII letters, digits
/// and single underscores (other characters become separators).
pub fn slug(name: &str) -> String {
    let snake = name.to_snake_case();
    let mut out = String::with_capacity(snake.len());
    for c in snake.chars() {
        let c = if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' };
        if c != '_' || !(out.is_empty() || out.ends_with('_')) {
            out.push(c);
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// Unique tool names for `flows`, in their order: [`PREFIX`] + slug, at most [`MAX_NAME`]
/// characters, `_2`, `_3`… on a collision, and never a name `taken` claims (the catalogue).
pub fn names(flows: &[Flow], taken: impl Fn(&str) -> bool) -> Vec<String> {
    let room = MAX_NAME - PREFIX.len();
    let mut used = HashSet::new();
    flows
        .iter()
        .map(|f| {
            let base = [slug(&f.name), slug(&f.id)].into_iter().find(|s| !s.is_empty()).unwrap_or_else(|| "flow".to_owned());
            (1usize..)
                .map(|n| {
                    let suffix = if n == 1 { String::new() } else { format!("_{n}") };
                    let stem = base[..base.len().min(room - suffix.len())].trim_end_matches('_');
                    format!("{PREFIX}{stem}{suffix}")
                })
                .find(|name| !taken(name) && !used.contains(name))
                .inspect(|name| {
                    used.insert(name.clone());
                })
                .expect("an unbounded range finds a free name")
        })
        .collect()
}

/// One flow's tool.
#[derive(Debug, Clone)]
pub struct FlowTool {
    /// The flow.
    pub flow: Flow,
    /// Its inputs, as the tool's schema shows them.
    pub inputs: Arc<Vec<FlowInput>>,
    /// The MCP tool.
    pub tool: Tool,
}

/// The tool of `flow`, named `name`: the flow's inputs as its schema plus the run tool's
/// `wait` arguments (unless an input has that name), the run tool's annotations and
/// output schema, and the flow's description.
pub fn flow_tool(flow: Flow, inputs: Arc<Vec<FlowInput>>, name: String, run: &Tool) -> FlowTool {
    let mut schema = flow_inputs::json_schema(&inputs);
    let run_props = run.input_schema.get("properties");
    for arg in WAIT_ARGS {
        if let Some(p) = run_props.and_then(|p| p.get(arg)).filter(|_| !inputs.iter().any(|i| i.name == arg)) {
            schema["properties"][arg] = p.clone();
        }
    }
    let Value::Object(schema) = schema else { unreachable!("json_schema returns an object") };
    let description = flow.description.clone().unwrap_or_else(|| format!("Runs the Gumloop flow “{}” (saved_item_id {}).", flow.name, flow.id));
    let mut tool = run.clone();
    tool.name = name.into();
    tool.title = Some(flow.name.clone()).filter(|t| !t.is_empty());
    tool.description = Some(description.into());
    tool.input_schema = Arc::new(schema);
    FlowTool { flow, inputs, tool }
}

/// A server's flow tools, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct FlowSet {
    /// The tools.
    pub tools: Vec<FlowTool>,
}

impl FlowSet {
    /// A tool by name.
    pub fn get(&self, name: &str) -> Option<&FlowTool> {
        self.tools.iter().find(|t| t.tool.name == name)
    }

    /// Whether a client would see the same tools (names, descriptions, schemas).
    pub fn same_as(&self, other: &FlowSet) -> bool {
        let key = |t: &FlowTool| (t.tool.name.clone(), t.tool.title.clone(), t.tool.description.clone(), t.tool.input_schema.clone());
        self.tools.len() == other.tools.len() && self.tools.iter().map(key).eq(other.tools.iter().map(key))
    }
}

/// A flow tool's arguments as `create_a_gumloop_flow_run` arguments, or every problem
/// with them (the run tool's input checks, pointers at the top level).
pub fn run_args(t: &FlowTool, args: &Value) -> Result<Value, Vec<String>> {
    let Value::Object(given) = args else { return Err(vec!["/: the arguments must be an object of input name to value".into()]) };
    let mut given = given.clone();
    let mut run = Map::new();
    run.insert("saved_item_id".into(), json!(t.flow.id));
    let mut problems = Vec::new();
    for arg in WAIT_ARGS.into_iter().filter(|a| !t.inputs.iter().any(|i| i.name == *a)) {
        let Some(v) = given.remove(arg) else { continue };
        let ok = match arg {
            "wait" => v.is_boolean(),
            _ => v.as_u64().is_some_and(|s| (1..=600).contains(&s)),
        };
        if !ok {
            problems.push(match arg {
                "wait" => format!("/wait: must be true or false, got {}", crate::mcp::clip::quote(&v)),
                _ => format!("/wait_timeout_seconds: must be a whole number of seconds from 1 to 600, got {}", crate::mcp::clip::quote(&v)),
            });
        }
        run.insert(arg.into(), v);
    }
    let own = flow_inputs::problems(&given, &t.inputs, &[]);
    problems.extend(own.into_iter().map(|p| p.strip_prefix("/inputs").map(str::to_owned).unwrap_or(p)));
    if !problems.is_empty() {
        return Err(problems);
    }
    run.insert("pipeline_inputs".into(), flow_inputs::wire(&given, &t.inputs));
    Ok(Value::Object(run))
}

/// What `run` does with a call: run the flow, refuse it, or treat it as any other tool.
pub(crate) enum Call {
    /// Not a flow tool of this scope: the arguments, untouched.
    Other(Value),
    /// `create_a_gumloop_flow_run` with these arguments.
    Run(Value),
    /// Refused before anything was sent.
    Refused(CallToolResult, CallOutcome),
}

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
}

impl ServerFlows {
    fn new(scope: Scope) -> Self {
        Self { scope, set: None, checked: None, refreshing: Arc::default(), sessions: HashMap::new(), subscribers: HashMap::new(), refresher: false }
    }

    fn listened(&self) -> bool {
        !self.sessions.is_empty() || !self.subscribers.is_empty()
    }
}

/// The flow tools of every managed server this process serves.
pub struct FlowTools {
    ttl: Duration,
    servers: Mutex<HashMap<String, ServerFlows>>,
    /// Where the refresher re-reads a server (set when managed servers are mounted).
    store: OnceLock<(Arc<dyn Store>, Clock)>,
    next_subscriber: AtomicU64,
}

impl Default for FlowTools {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl FlowTools {
    /// Lists are trusted for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, servers: Mutex::default(), store: OnceLock::new(), next_subscriber: AtomicU64::new(0) }
    }

    /// Lets the refresher re-read servers from `store` (expiry by `clock`).
    pub fn attach(&self, store: Arc<dyn Store>, clock: Clock) {
        let _ = self.store.set((store, clock));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ServerFlows>> {
        self.servers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A flow tool of any cached list (rmcp's HTTP layer asks synchronously, without a scope).
    pub fn get_tool(&self, name: &str) -> Option<Tool> {
        if !name.starts_with(PREFIX) {
            return None;
        }
        self.lock().values().find_map(|s| s.set.as_ref()?.get(name).map(|t| t.tool.clone()))
    }

    /// Whether `name` is a flow tool in the server's cached list (fresh or not).
    pub fn is_cached_tool(&self, server: &str, name: &str) -> bool {
        name.starts_with(PREFIX) && self.cached(server).is_some_and(|set| set.get(name).is_some())
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
            let keep = self.ttl * 10;
            servers.retain(|_, s| s.listened() || s.refresher || s.checked.is_none_or(|at| at.elapsed() < keep));
        }
        let s = servers.entry(scope.server_id.clone()).or_insert_with(|| ServerFlows::new(scope.clone()));
        s.scope = scope.clone();
        match (&s.set, s.checked) {
            (Some(set), Some(at)) if at.elapsed() < self.ttl => Ok(set.clone()),
            _ => Err(s.refreshing.clone()),
        }
    }
}

/// The legacy session a request belongs to, if any.
fn session_id(ctx: &RequestContext<RoleServer>) -> Option<String> {
    let parts = ctx.extensions.get::<axum::http::request::Parts>()?;
    parts.headers.get("mcp-session-id")?.to_str().ok().map(str::to_owned)
}

impl GumloopServer {
    /// Whether `scope` shows flow tools: the option is on and the run tool is visible.
    fn flow_tools_on(&self, scope: &Scope) -> bool {
        scope.config.flow_tools && self.state.catalog.get(RUN_TOOL).is_some_and(|e| scope.config.allows(e.descriptor))
    }

    /// The flow tools of a scope for `tools/list`, remembering a legacy session as a
    /// listener of its server.
    pub(crate) async fn list_flow_tools(&self, scope: &Scope, ctx: &RequestContext<RoleServer>) -> Vec<Tool> {
        if !self.flow_tools_on(scope) {
            return Vec::new();
        }
        let set = self.flow_set(scope).await;
        if let Some(id) = session_id(ctx) {
            let mut servers = self.state.flow_tools.lock();
            if let Some(s) = servers.get_mut(&scope.server_id) {
                s.sessions.insert(id, ctx.peer.clone());
            }
            drop(servers);
            self.ensure_refresher(&scope.server_id);
        }
        set.tools.iter().map(|t| t.tool.clone()).collect()
    }

    /// A call by name under a scope: a flow tool's run, its refusal, or anything else.
    pub(crate) async fn flow_tool_call(&self, name: &str, args: Value, scope: &Scope) -> Call {
        if !name.starts_with(PREFIX) || !self.flow_tools_on(scope) {
            return Call::Other(args);
        }
        let set = self.flow_set(scope).await;
        // Not one of this server's flow tools: answered like any unknown tool.
        let Some(t) = set.get(name) else { return Call::Other(args) };
        match run_args(t, &args) {
            Ok(run) => Call::Run(run),
            Err(problems) => {
                let text =
                    format!("invalid arguments for `{name}` (nothing was sent to Gumloop):\n- {}\n{}", problems.join("\n- "), flow_inputs::summary(&t.inputs));
                Call::Refused(CallToolResult::error(vec![ContentBlock::text(text)]), CallOutcome::Rejected)
            }
        }
    }

    /// `subscriptions/listen` on a managed URL: the subscriber hears of flow-tool changes
    /// until it goes away.
    pub(crate) async fn listen_flow_tools(&self, ctx: SubscriptionContext) -> Result<(), McpError> {
        let scope = ctx.request_context().extensions.get::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Scope>()).cloned();
        let Some(scope) = scope else { return Err(McpError::internal_error("managed MCP request without a scope", None)) };
        if !self.flow_tools_on(&scope) {
            ctx.cancelled().await;
            return Ok(());
        }
        let id = self.state.flow_tools.next_subscriber.fetch_add(1, Ordering::Relaxed);
        {
            let mut servers = self.state.flow_tools.lock();
            let s = servers.entry(scope.server_id.clone()).or_insert_with(|| ServerFlows::new(scope.clone()));
            s.subscribers.insert(id, ctx.sink().clone());
        }
        // A list to tell changes from (registered first, so a change it finds is told).
        self.flow_set(&scope).await;
        self.ensure_refresher(&scope.server_id);
        ctx.cancelled().await;
        if let Some(s) = self.state.flow_tools.lock().get_mut(&scope.server_id) {
            s.subscribers.remove(&id);
        }
        Ok(())
    }

    /// The server's flow tools, fetched again when older than the TTL. A failed fetch
    /// keeps the last good list (empty if there never was one).
    async fn flow_set(&self, scope: &Scope) -> Arc<FlowSet> {
        let ft = &self.state.flow_tools;
        let lock = match ft.fresh_or_lock(scope) {
            Ok(set) => return set,
            Err(lock) => lock,
        };
        let _one = lock.lock().await;
        // Someone else may have refreshed while this waited.
        if let Ok(set) = ft.fresh_or_lock(scope) {
            return set;
        }
        let previous = ft.cached(&scope.server_id);
        let fetched = if self.flow_tools_on(scope) { self.fetch_flow_set(&scope.credential, previous.as_deref()).await } else { Ok(FlowSet::default()) };
        let (set, listeners) = {
            let mut servers = ft.lock();
            let s = servers.entry(scope.server_id.clone()).or_insert_with(|| ServerFlows::new(scope.clone()));
            s.checked = Some(Instant::now());
            let mut changed = false;
            match fetched {
                Ok(new) => {
                    changed = previous.as_ref().is_some_and(|p| !p.same_as(&new));
                    s.set = Some(Arc::new(new));
                }
                Err(e) => tracing::warn!(server = scope.server_id, "listing the account's flows failed; keeping the last good flow tools: {e}"),
            }
            let set = s.set.get_or_insert_with(Arc::default).clone();
            let listeners = changed.then(|| (s.sessions.clone(), s.subscribers.clone()));
            (set, listeners)
        };
        // Slow listeners never hold up the next refresh or list.
        drop(_one);
        if let Some((sessions, subscribers)) = listeners {
            self.notify_changed(&scope.server_id, sessions, subscribers).await;
        }
        set
    }

    /// Lists the account's flows and reads each one's inputs (a flow whose inputs cannot
    /// be read keeps its previous tool, or has none until they can).
    async fn fetch_flow_set(&self, credential: &Credential, previous: Option<&FlowSet>) -> Result<FlowSet, String> {
        let catalog = &self.state.catalog;
        let (Some(list), Some(run)) = (catalog.get(LIST_TOOL), catalog.get(RUN_TOOL)) else { return Err(format!("{LIST_TOOL} or {RUN_TOOL} is missing")) };
        let body = match self.send_as(list.descriptor, json!({}), credential).await.map_err(|e| e.to_string())? {
            Outcome::Json { body, .. } => body,
            Outcome::Status { status, body, .. } => return Err(format!("Gumloop answered {status}: {body}")),
            Outcome::Failed(message) => return Err(message),
            Outcome::Bytes { media_type, .. } => return Err(format!("Gumloop answered with {media_type}")),
        };
        let mut flows = parse_flows(&body).ok_or("the answer has no saved_items")?;
        flows.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        if flows.len() > MAX_FLOWS {
            tracing::warn!(flows = flows.len(), "the account has more than {MAX_FLOWS} flows; only the oldest {MAX_FLOWS} get flow tools");
            flows.truncate(MAX_FLOWS);
        }
        // Owned ids: a stream of futures borrowing its items trips the Send check of callers.
        let ids: Vec<String> = flows.iter().map(|f| f.id.clone()).collect();
        let inputs: Vec<_> =
            futures_util::stream::iter(ids).map(|id| async move { self.fresh_flow_inputs(&id, credential).await }).buffered(CONCURRENT_INPUTS).collect().await;
        let mut kept = Vec::with_capacity(flows.len());
        for (flow, got) in flows.into_iter().zip(inputs) {
            match got {
                Ok(i) => kept.push((flow, i)),
                Err(e) => match previous.and_then(|p| p.tools.iter().find(|t| t.flow.id == flow.id)) {
                    Some(old) => kept.push((flow, old.inputs.clone())),
                    None => tracing::warn!(flow = flow.id, "reading a flow's inputs failed; it has no flow tool until they can be read: {e}"),
                },
            }
        }
        let flows: Vec<Flow> = kept.iter().map(|(f, _)| f.clone()).collect();
        let names = names(&flows, |n| catalog.get(n).is_some());
        let mut tools: Vec<FlowTool> = kept.into_iter().zip(names).map(|((f, i), name)| flow_tool(f, i, name, &run.tool)).collect();
        tools.sort_by(|a, b| a.tool.name.cmp(&b.tool.name));
        Ok(FlowSet { tools })
    }

    /// A flow's inputs read now (and put in the inputs cache runs use).
    async fn fresh_flow_inputs(&self, flow: &str, credential: &Credential) -> Result<Arc<Vec<FlowInput>>, String> {
        let tool = self.state.catalog.get(INPUTS_TOOL).ok_or("the inputs tool is missing")?;
        match self.send_as(tool.descriptor, json!({ "id": flow }), credential).await.map_err(|e| e.to_string())? {
            Outcome::Json { body, .. } => {
                flow_inputs::parse(&body).map(|i| self.state.flow_inputs.put(credential, flow, i)).ok_or_else(|| "no inputs list".to_owned())
            }
            Outcome::Status { status, body, .. } => Err(format!("Gumloop answered {status}: {body}")),
            Outcome::Failed(message) => Err(message),
            Outcome::Bytes { media_type, .. } => Err(format!("Gumloop answered with {media_type}")),
        }
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
            "flow tools changed; sent notifications/tools/list_changed"
        );
        if let Some(s) = self.state.flow_tools.lock().get_mut(server) {
            dead.iter().for_each(|id| drop(s.sessions.remove(id)));
            gone.iter().for_each(|id| drop(s.subscribers.remove(id)));
        }
    }

    /// Starts the server's background refresher unless one runs.
    fn ensure_refresher(&self, server: &str) {
        let mut servers = self.state.flow_tools.lock();
        let Some(s) = servers.get_mut(server).filter(|s| !s.refresher) else { return };
        s.refresher = true;
        tokio::spawn(self.clone().refresh_loop(server.to_owned()));
    }

    /// Every TTL while the server has live listeners: re-read the server (gone or expired
    /// ends it; a new config applies) and refresh its list, notifying on a change.
    async fn refresh_loop(self, server: String) {
        let ft = &self.state.flow_tools;
        loop {
            tokio::time::sleep(ft.ttl).await;
            let scope = {
                let mut servers = ft.lock();
                let Some(s) = servers.get_mut(&server) else { return };
                s.sessions.retain(|_, p| !p.is_transport_closed());
                if !s.listened() {
                    s.refresher = false;
                    return;
                }
                s.scope.clone()
            };
            let Some(scope) = self.reread(scope) else {
                tracing::info!(server, "the managed server is gone or expired; its flow tools stop refreshing");
                ft.lock().remove(&server);
                return;
            };
            self.flow_set(&scope).await;
        }
    }

    /// The scope as the store has it now: `None` when the server was deleted or expired.
    /// Without a store, or when it fails, the scope as it was.
    fn reread(&self, scope: Scope) -> Option<Scope> {
        let Some((store, clock)) = self.state.flow_tools.store.get() else { return Some(scope) };
        match store.resolve_token(&scope.token.0) {
            Ok(Some(r)) if !r.server.expired(clock.now()) && r.server.id == scope.server_id => {
                Some(Scope { config: Arc::new(r.server.config), credential: Arc::new(r.credential), ..scope })
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(server = scope.server_id, "re-reading a managed server failed: {e}");
                Some(scope)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: &str, name: &str) -> Flow {
        Flow { id: id.into(), name: name.into(), description: None, created: None }
    }

    #[test]
    fn slugs_are_ascii_snake_case() {
        assert_eq!(slug("Competitor Pricing Scraper"), "competitor_pricing_scraper");
        assert_eq!(slug("  CSV -> Sheet (v2)!! "), "csv_sheet_v2");
        assert_eq!(slug("Café Übersicht"), "caf_bersicht");
        assert_eq!(slug("日本語"), "");
        assert_eq!(slug("HTTPRequest"), "http_request");
    }

    #[test]
    fn names_are_unique_short_and_clear_of_the_catalogue() {
        let long = "a very long flow name that goes on and on well past the limit of tool names";
        let flows =
            [flow("f1", "Report"), flow("f2", "report"), flow("f3", "REPORT!"), flow("f4", "日本語"), flow("f5", "Taken"), flow("f6", long), flow("f7", long)];
        let n = names(&flows, |n| n == "run_gumloop_flow_taken");
        assert_eq!(
            &n[..5],
            ["run_gumloop_flow_report", "run_gumloop_flow_report_2", "run_gumloop_flow_report_3", "run_gumloop_flow_f4", "run_gumloop_flow_taken_2"]
        );
        assert!(n.iter().all(|x| x.len() <= MAX_NAME && x.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')), "{n:?}");
        assert_ne!(n[5], n[6]);
        assert!(n[6].ends_with("_2") && n[6].len() <= MAX_NAME, "{n:?}");
    }

    #[test]
    fn arguments_become_a_run() {
        let run = Tool::new(
            "create_a_gumloop_flow_run",
            "run",
            Arc::new(serde_json::from_str(r#"{"type":"object","properties":{"wait":{"type":"boolean"},"wait_timeout_seconds":{"type":"integer"}}}"#).unwrap()),
        );
        let inputs = Arc::new(vec![FlowInput { name: "target_company".into(), data_type: "string".into(), description: Some("Who".into()) }]);
        let t = flow_tool(flow("flow_pricing", "Pricing"), inputs, "run_gumloop_flow_pricing".into(), &run);
        assert_eq!(t.tool.description.as_deref(), Some("Runs the Gumloop flow “Pricing” (saved_item_id flow_pricing)."));
        assert_eq!(t.tool.input_schema["required"], json!(["target_company"]));
        assert!(t.tool.input_schema["properties"].get("wait").is_some());
        let ok = run_args(&t, &json!({"target_company": "Acme", "wait": true})).unwrap();
        assert_eq!(ok, json!({"saved_item_id": "flow_pricing", "wait": true, "pipeline_inputs": [{"input_name": "target_company", "value": "Acme"}]}));
        let bad = run_args(&t, &json!({"target_compny": "Acme", "wait": "yes", "wait_timeout_seconds": 0})).unwrap_err();
        assert_eq!(bad.len(), 4, "{bad:#?}");
        assert!(bad.contains(&"/target_compny: the flow has no input `target_compny`; did you mean `target_company`?".to_owned()), "{bad:#?}");
        assert!(bad.contains(&"/target_company: missing (Who)".to_owned()), "{bad:#?}");
        assert!(bad.iter().any(|p| p.starts_with("/wait: must be true or false")), "{bad:#?}");
        assert!(bad.iter().any(|p| p.starts_with("/wait_timeout_seconds: must be a whole number")), "{bad:#?}");
    }
}
