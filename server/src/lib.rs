//! gumloop-mcp: serves every generated Gumloop tool over MCP (streamable HTTP and stdio)
//! and calls Gumloop with reqwest.
//!
//! `main.rs` only installs logging and signal handling; everything else is here so tests
//! can run the server in-process against `gumloop-testkit`'s fake Gumloop:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use gumloop_mcp::{Credential, UpstreamConfig, http};
//! let server = gumloop_mcp::gumloop_server(UpstreamConfig::new("http://127.0.0.1:9/api/v1", "http://127.0.0.1:9/ws/api/v1"), Credential::from_env())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let running = http::spawn(server, listener, http::HttpConfig::default())?;
//! println!("MCP at {}", running.url());
//! running.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod catalog;
pub mod cli;
pub mod clip;
pub mod config;
pub mod credential;
pub mod downloads;
pub mod filter;
pub mod flow_inputs;
pub mod flow_tools;
pub mod handler;
pub mod http;
pub mod images;
pub mod logging;
pub mod managed;
pub mod pages;
pub mod ratelimit;
pub mod secrets;
pub mod skills;
pub mod stdio;
pub mod store;
pub mod tasks;
pub mod upstream;
pub mod validate;
pub mod waiting;

pub use catalog::{Catalog, CatalogError};
pub use credential::{Credential, Secret};
pub use handler::GumloopServer;
pub use upstream::{Upstream, UpstreamConfig};

use gumloop_mcp_generated::resources::{ALL_TOOLS, INTEGRATION};

/// A handler serving every generated tool, calling Gumloop as `credential`.
pub fn gumloop_server(upstream: UpstreamConfig, credential: Credential) -> anyhow::Result<GumloopServer> {
    gumloop_server_with(upstream, credential, flow_tools::DEFAULT_TTL)
}

/// [`gumloop_server`] whose managed servers' flow tools are refreshed every `flow_tools_ttl`.
pub fn gumloop_server_with(upstream: UpstreamConfig, credential: Credential, flow_tools_ttl: std::time::Duration) -> anyhow::Result<GumloopServer> {
    let catalog = Catalog::new(ALL_TOOLS)?;
    let upstream = Upstream::new(upstream, &INTEGRATION)?;
    Ok(GumloopServer::new(handler::State {
        catalog,
        upstream,
        credential,
        clock: managed::Clock::system(),
        flow_inputs: Default::default(),
        links: Default::default(),
        flow_tools: flow_tools::FlowTools::new(flow_tools_ttl),
        tasks: Default::default(),
    }))
}
