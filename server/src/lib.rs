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

pub mod behaviours;
pub mod config;
pub mod http;
pub mod logging;
pub mod managed;
pub mod mcp;
pub mod oauth;
pub mod stdio;
pub mod telemetry;
pub mod text;
pub mod upstream;

pub use mcp::GumloopServer;
pub use mcp::catalog::{Catalog, CatalogError};
pub use upstream::credential::{Credential, Secret};
pub use upstream::{Upstream, UpstreamConfig};

use gumloop_mcp_generated::resources::{ALL_TOOLS, INTEGRATION};

/// A handler serving every generated tool, calling Gumloop as `credential`.
pub fn gumloop_server(upstream: UpstreamConfig, credential: Credential) -> anyhow::Result<GumloopServer> {
    server_for(ALL_TOOLS, &INTEGRATION, upstream, credential)
}

/// [`gumloop_server`] sealing download links with `links` (derived from the deployment's
/// secret by `serve`, so a link reads on every replica and after a restart).
pub fn gumloop_server_with_links(upstream: UpstreamConfig, credential: Credential, links: behaviours::downloads::LinkKey) -> anyhow::Result<GumloopServer> {
    let mut state = state_for(ALL_TOOLS, &INTEGRATION, upstream, credential)?;
    state.links = links;
    Ok(GumloopServer::new(state))
}

/// A handler serving `tools` of `integration` (any spec's generated descriptors: tests
/// serve fixture specs this way).
pub fn server_for(
    tools: &[&'static gumloop_mcp_runtime::ToolDescriptor],
    integration: &'static gumloop_mcp_runtime::Integration,
    upstream: UpstreamConfig,
    credential: Credential,
) -> anyhow::Result<GumloopServer> {
    Ok(GumloopServer::new(state_for(tools, integration, upstream, credential)?))
}

fn state_for(
    tools: &[&'static gumloop_mcp_runtime::ToolDescriptor],
    integration: &'static gumloop_mcp_runtime::Integration,
    upstream: UpstreamConfig,
    credential: Credential,
) -> anyhow::Result<mcp::handler::State> {
    Ok(mcp::handler::State {
        catalog: Catalog::new(tools)?,
        upstream: Upstream::new(upstream, integration)?,
        credential,
        flow_inputs: Default::default(),
        links: Default::default(),
        tasks: Default::default(),
        budget: Default::default(),
    })
}
