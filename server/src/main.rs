//! `gumloop-mcp`: every Gumloop tool over MCP. `serve` speaks streamable HTTP, `stdio`
//! speaks stdin/stdout for desktop clients. Logs always go to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use gumloop_mcp::{Catalog, Credential, GumloopServer, Upstream, UpstreamConfig, handler::State, http};
use gumloop_mcp_generated::resources::{ALL_TOOLS, INTEGRATION};
use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

/// Serves every documented Gumloop endpoint as an MCP tool.
///
/// The Gumloop credential comes from the environment: GUMLOOP_API_KEY (the API key),
/// GUMLOOP_USER_ID (your user id; sent as x-auth-key for personal keys), and optionally
/// GUMLOOP_TEAM_ID (team keys) and GUMLOOP_PROJECT_ID (legacy workspace id).
#[derive(Parser)]
#[command(name = "gumloop-mcp", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP over streamable HTTP at /mcp (both protocol eras: 2025-11-25 sessions and 2026-07-28 stateless)
    Serve(ServeArgs),
    /// Serve MCP over stdin/stdout (for Claude Desktop and other desktop clients)
    Stdio(UpstreamArgs),
}

#[derive(Args)]
struct UpstreamArgs {
    /// Gumloop REST base URL
    #[arg(long, env = "GUMLOOP_BASE_URL", default_value = INTEGRATION.api_base_url)]
    gumloop_base_url: String,
    /// Gumloop streaming base URL (serves chat completions)
    #[arg(long, env = "GUMLOOP_WS_BASE_URL", default_value = INTEGRATION.ws_base_url)]
    gumloop_ws_base_url: String,
    /// Overall timeout of one upstream call, in seconds
    #[arg(long, env = "GUMLOOP_MCP_CALL_TIMEOUT_SECS", default_value_t = 60)]
    call_timeout_secs: u64,
    /// Timeout for connecting to Gumloop, in seconds
    #[arg(long, env = "GUMLOOP_MCP_CONNECT_TIMEOUT_SECS", default_value_t = 10)]
    connect_timeout_secs: u64,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "GUMLOOP_MCP_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Directory for the server's data (created if missing)
    #[arg(long, env = "GUMLOOP_MCP_DATA_DIR", default_value = "gumloop-mcp-data")]
    data_dir: PathBuf,
    /// Extra Host header values to accept, for deployments behind a proxy (DNS-rebinding protection rejects others); comma-separated in the environment
    #[arg(long = "allowed-host", env = "GUMLOOP_MCP_ALLOWED_HOSTS", value_delimiter = ',')]
    allowed_hosts: Vec<String>,
    /// Extra Origin header values to accept (browser-based clients); comma-separated in the environment
    #[arg(long = "allowed-origin", env = "GUMLOOP_MCP_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Seconds in-flight calls may run after SIGTERM or Ctrl-C
    #[arg(long, env = "GUMLOOP_MCP_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    #[command(flatten)]
    upstream: UpstreamArgs,
}

fn build_server(args: &UpstreamArgs) -> Result<GumloopServer> {
    let credential = Credential::from_env();
    if credential.api_key.is_none() {
        tracing::warn!("GUMLOOP_API_KEY is not set: tools/list works, tools/call will report the missing key");
    }
    let upstream = Upstream::new(
        UpstreamConfig {
            api_base_url: args.gumloop_base_url.clone(),
            ws_base_url: args.gumloop_ws_base_url.clone(),
            connect_timeout: Duration::from_secs(args.connect_timeout_secs),
            call_timeout: Duration::from_secs(args.call_timeout_secs),
        },
        &INTEGRATION,
    )?;
    Ok(GumloopServer::new(State { catalog: Catalog::new(ALL_TOOLS)?, upstream, credential }))
}

async fn shutdown_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
    token.cancel();
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("GUMLOOP_MCP_LOG").unwrap_or_else(|_| "info,rmcp=warn".into()))
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
            let server = build_server(&args.upstream)?;
            let listener = tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("binding {}", args.bind))?;
            tracing::info!("serving MCP on http://{}/mcp ({} tools)", listener.local_addr()?, ALL_TOOLS.len());
            let token = CancellationToken::new();
            tokio::spawn(shutdown_signal(token.clone()));
            let config = http::HttpConfig {
                allowed_hosts: args.allowed_hosts,
                allowed_origins: args.allowed_origins,
                shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
            };
            http::serve(server, listener, config, token).await
        }
        Command::Stdio(args) => {
            let server = build_server(&args)?;
            let running = server.serve(rmcp::transport::stdio()).await?;
            running.waiting().await?;
            Ok(())
        }
    }
}
