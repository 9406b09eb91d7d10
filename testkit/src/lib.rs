//! A faithful fake of the Gumloop API for tests, benchmarks and offline demos.
//!
//! One listener serves the REST host under `/api/v1` and the streaming host under
//! `/ws/api/v1`, with the documented auth headers, error envelopes, async session states,
//! multipart skills, signed artifact URLs, pagination styles and injectable faults
//! (429s, 5xx, slow and invalid responses). Every request is recorded, before any check,
//! so tests can assert exactly what a client sent.

mod data;
pub use data::TINY_PNG_BASE64;
mod envelope;
mod faults;
pub mod idp;
mod layers;
pub mod postgres;
mod record;
mod routes;
mod state;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;

pub use faults::{Fault, FaultKind, RateLimitStyle};
pub use record::{RecordedBody, RecordedPart, RecordedRequest};
use state::Inner;

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The only accepted API key.
    pub api_key: String,
    /// The user id personal keys must send as `x-auth-key`.
    pub user_id: String,
    /// When set, a `team_id` query parameter equal to it authenticates a team key.
    pub team_id: Option<String>,
    /// Polls of a running session (or run, or export) before it completes.
    pub session_polls: u32,
    /// Key for signing download URLs.
    pub signing_secret: String,
    /// How many audit log entries the organization has.
    pub audit_logs: usize,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            api_key: "test-key".into(),
            user_id: "user_test".into(),
            team_id: None,
            session_polls: 2,
            signing_secret: "fake-signing-secret".into(),
            audit_logs: 120,
        }
    }
}

/// A running fake; it stops when dropped.
pub struct FakeGumloop {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeGumloop {
    /// Starts on `127.0.0.1:0`.
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeGumloop> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts on `addr`.
    pub async fn start_on(addr: SocketAddr, config: FakeConfig) -> std::io::Result<FakeGumloop> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::new(config, format!("http://{addr}")));
        let app = routes::router(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeGumloop { addr, inner, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The REST base URL.
    pub fn api_base(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// The streaming base URL.
    pub fn ws_base(&self) -> String {
        format!("http://{}/ws/api/v1", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// Returns and forgets the requests received so far.
    pub fn take_requests(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut *self.inner.requests.lock().unwrap())
    }

    /// Queues a fault for the next matching request.
    pub fn push_fault(&self, fault: Fault) {
        self.inner.faults.lock().unwrap().push_back(fault);
    }

    /// Saves a flow at run time, as a user would in Gumloop: it appears in
    /// `list_saved_items` and `list_workbooks`, and `get_inputs` answers `inputs` (a list
    /// of `{name, data_type, description}`). An existing id is replaced (e.g. to change
    /// its inputs).
    pub fn add_flow(&self, id: &str, name: &str, description: Option<&str>, inputs: serde_json::Value) {
        let mut st = self.inner.store.lock().unwrap();
        let record = serde_json::json!({"saved_item_id": id, "name": name, "description": description, "created_ts": "2026-11-02T12:00:00Z"});
        match st.flows.iter_mut().find(|f| f["saved_item_id"] == id) {
            Some(f) => *f = record,
            None => st.flows.push(record),
        }
        st.added_inputs.insert(id.to_owned(), inputs);
    }

    /// Renames a saved flow; `false` when there is no flow `id`.
    pub fn rename_flow(&self, id: &str, name: &str) -> bool {
        let mut st = self.inner.store.lock().unwrap();
        let Some(f) = st.flows.iter_mut().find(|f| f["saved_item_id"] == id) else { return false };
        f["name"] = name.into();
        true
    }

    /// Deletes a saved flow; `false` when there is no flow `id`.
    pub fn remove_flow(&self, id: &str) -> bool {
        let mut st = self.inner.store.lock().unwrap();
        let before = st.flows.len();
        st.flows.retain(|f| f["saved_item_id"] != id);
        st.flows.len() < before
    }

    /// Waits until the server task ends (used by the binary).
    pub async fn wait(self) {
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for FakeGumloop {
    fn drop(&mut self) {
        self.task.abort();
    }
}
