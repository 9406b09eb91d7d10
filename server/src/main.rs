//! `gumloop-mcp`: every Gumloop tool over MCP. `serve` speaks streamable HTTP, `stdio`
//! speaks stdin/stdout for desktop clients. Logs always go to stderr.

use anyhow::{Context, Result};
use clap::Parser;
use gumloop_mcp::config::{Cli, Command, UpstreamArgs};
use gumloop_mcp::{Credential, GumloopServer, http, stdio};
use gumloop_mcp_generated::resources::ALL_TOOLS;
use tokio_util::sync::CancellationToken;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn build_server(args: &UpstreamArgs) -> Result<GumloopServer> {
    let credential = Credential::from_env();
    if credential.api_key.is_none() {
        tracing::warn!("GUMLOOP_API_KEY is not set: tools/list works, tools/call will report the missing key");
    }
    gumloop_mcp::gumloop_server(args.upstream_config(), credential)
}

/// Fires `token` on SIGTERM or Ctrl-C.
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

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = cli.worker_threads {
        runtime.worker_threads(usize::from(n));
    }
    runtime.build().context("starting the async runtime")?.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    // stdout belongs to JSON-RPC in stdio mode, so logs go to stderr in both modes.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("GUMLOOP_MCP_LOG").unwrap_or_else(|_| "info,rmcp=warn".into()))
        .init();
    let token = CancellationToken::new();
    tokio::spawn(shutdown_signal(token.clone()));
    match cli.command {
        Command::Serve(args) => {
            std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
            let server = build_server(&args.upstream)?;
            let listener = tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("binding {}", args.bind))?;
            tracing::info!("serving {} tools over MCP at http://{}/mcp", ALL_TOOLS.len(), listener.local_addr()?);
            http::serve(server, listener, args.http_config(), token).await
        }
        Command::Stdio(args) => {
            let server = build_server(&args)?;
            tracing::info!("serving {} tools over MCP on stdin/stdout", ALL_TOOLS.len());
            stdio::serve(server, token).await
        }
    }
}
