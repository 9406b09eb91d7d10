//! `gumloop-mcp`: every Gumloop tool over MCP. `serve` speaks streamable HTTP, `stdio`
//! speaks stdin/stdout for desktop clients. Logs always go to stderr.

use anyhow::{Context, Result};
use clap::Parser;
use std::sync::Arc;
use std::time::Duration;

use gumloop_mcp::behaviours::downloads::LinkKey;
use gumloop_mcp::config::{Cli, Command, ExposureArgs, ServeArgs, UpstreamArgs};
use gumloop_mcp::managed::admin::Admin;
use gumloop_mcp::managed::cli;
use gumloop_mcp::managed::secrets::{self, KeySource};
use gumloop_mcp::managed::store::Store;
use gumloop_mcp::managed::{self, AuditLog, Clock, Managed};
use gumloop_mcp::mcp::tasks::{self, Leases, Tasks};
use gumloop_mcp::{Credential, GumloopServer, http, stdio};
use gumloop_mcp_generated::resources::ALL_TOOLS;
use tokio_util::sync::CancellationToken;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn build_server(args: &UpstreamArgs, exposure: ExposureArgs, links: LinkKey) -> Result<GumloopServer> {
    let credential = Credential::from_env();
    if credential.api_key.is_none() {
        tracing::warn!("GUMLOOP_API_KEY is not set: tools/list works, tools/call will report the missing key");
    }
    Ok(gumloop_mcp::gumloop_server_with_links(args.upstream_config(), credential, links)?
        .with_tool_exposure(exposure.tool_exposure)
        .with_result_budget(args.result_budget()))
}

/// stdio's link key: derived from GUMLOOP_MCP_SECRET_KEY when it is set (links then
/// survive a restart of the desktop client's server), else random per process.
fn stdio_links() -> Result<LinkKey> {
    match std::env::var("GUMLOOP_MCP_SECRET_KEY").ok().filter(|k| !k.trim().is_empty()) {
        Some(text) => Ok(secrets::SealingKey::parse(&text, "GUMLOOP_MCP_SECRET_KEY")?.link_key()),
        None => Ok(LinkKey::default()),
    }
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
    gumloop_mcp::logging::init(cli.log_format);
    let token = CancellationToken::new();
    tokio::spawn(shutdown_signal(token.clone()));
    match cli.command {
        Command::Serve(args) => serve(args, token).await,
        Command::Stdio(args) => {
            let server = build_server(&args.upstream, args.exposure, stdio_links()?)?;
            tracing::info!("serving {} tools over MCP on stdin/stdout", ALL_TOOLS.len());
            stdio::serve(server, token).await
        }
        Command::ApiToken(cmd) => cli::api_token(cmd).await,
        Command::Account(cmd) => cli::account(cmd).await,
        Command::Server(cmd) => cli::server(cmd).await,
        Command::User(cmd) => cli::user(cmd).await,
        Command::Client(cmd) => cli::client(cmd).await,
        Command::Grant(cmd) => cli::grant(cmd).await,
    }
}

async fn serve(args: ServeArgs, token: CancellationToken) -> Result<()> {
    let opened = cli::open_until(&args.data_dir, args.database_url.as_ref(), token.child_token()).await?;
    match &args.database_url {
        Some(url) => tracing::info!("store: PostgreSQL at {url}, shared with every replica that has the same GUMLOOP_MCP_SECRET_KEY"),
        None => tracing::info!("store: SQLite in {}", args.data_dir.display()),
    }
    match opened.source {
        KeySource::Environment => tracing::info!("connected accounts' keys are sealed with GUMLOOP_MCP_SECRET_KEY"),
        KeySource::File => tracing::info!("connected accounts' keys are sealed with {}", args.data_dir.join(secrets::KEY_FILE).display()),
        KeySource::Created => tracing::warn!(
            "created {} to seal connected accounts' keys; back it up with the store, or set GUMLOOP_MCP_SECRET_KEY",
            args.data_dir.join(secrets::KEY_FILE).display()
        ),
    }
    let store: Arc<dyn Store> = opened.store;
    cli::first_start_token(store.as_ref()).await?;
    let listener = tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    let metrics_listener = match args.metrics_addr {
        Some(a) => Some(tokio::net::TcpListener::bind(a).await.with_context(|| format!("binding --metrics-addr {a}"))?),
        None => None,
    };
    let mut http_config = args.http_config();
    // store readiness
    http_config.probes.readiness = store_readiness(store.clone());
    let addr = listener.local_addr()?;
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{addr}")).trim_end_matches('/').to_owned();
    let clock = Clock::system();
    let retention = Duration::from_secs(u64::from(args.audit_retention_days) * 86_400);
    // Expiries that passed while the server was down are cleaned before it serves.
    managed::sweep_once(store.as_ref(), &clock, retention).await;
    tokio::spawn(managed::sweep(store.clone(), clock.clone(), retention, Duration::from_secs(args.sweep_interval_secs), token.child_token()));
    let audit = AuditLog::start(store.clone());
    let managed = Managed {
        store,
        clock,
        public_url: public_url.clone(),
        audit,
        flow_tools_ttl: Duration::from_secs(args.flow_tools_ttl_secs),
        changes: opened.changes,
        sessions: opened.session_rows,
    };
    // Tasks live in the store too, so they survive a restart and every replica serves them.
    let tasks = Tasks::new(opened.tasks, tasks::DEFAULT_TTL, Leases::default()).with_owners(Arc::new(managed.clone()));
    let server = build_server(&args.upstream, args.exposure, opened.key.link_key())?.with_tasks(tasks);
    // Sign-in delegated to an OpenID provider: its metadata and keys are fetched now, so a
    // wrong issuer or an unreachable provider stops the start rather than every sign-in.
    let secret_env = std::env::var(gumloop_mcp::config::OIDC_CLIENT_SECRET_ENV).ok();
    let upstream = match args.oidc.oidc_config(&public_url, secret_env.as_deref()).map_err(anyhow::Error::msg)? {
        Some(config) => {
            let issuer = config.issuer.clone();
            let upstream = gumloop_mcp::oauth::oidc::Upstream::discover(config).await?;
            tracing::info!("sign-in is delegated to the OpenID provider {issuer} (redirect URI {public_url}/oauth/upstream/callback)");
            Some(upstream)
        }
        None => None,
    };
    // Sign-in is always offered (a managed server may opt in to OAuth whatever --auth says).
    http_config.oauth =
        Some(gumloop_mcp::oauth::OAuth::new(args.oauth_config(), managed.clone(), opened.key.derive(gumloop_mcp::oauth::KEY_LABEL), ALL_TOOLS, upstream));
    let admin = Admin { managed, tools: ALL_TOOLS, body_limit: args.admin_body_limit };
    tracing::info!(
        "serving {} tools over MCP at http://{addr}/mcp; managed servers at {public_url}/mcp/<token>; admin API at {public_url}/integrated-account",
        ALL_TOOLS.len()
    );
    // The metrics listener outlives the drain: it stops once the main one has.
    let stop_metrics = CancellationToken::new();
    let metrics = match metrics_listener {
        Some(l) => {
            tracing::info!("serving Prometheus metrics on http://{}/metrics", l.local_addr()?);
            Some(tokio::spawn(http::probes::serve_metrics(l, stop_metrics.clone())))
        }
        None => None,
    };
    let served = http::serve(server, listener, http_config, Some(admin), token).await;
    stop_metrics.cancel();
    if let Some(m) = metrics {
        m.await??;
    }
    served
}

/// `/readyz`'s check: the store answers and its schema is current. The reason shown is
/// generic; the store's own error is logged.
fn store_readiness(store: Arc<dyn Store>) -> http::probes::Readiness {
    http::probes::Readiness::new(move || {
        let store = store.clone();
        Box::pin(async move {
            store.ping().await.map_err(|e| {
                tracing::warn!("readiness: the store failed: {e}");
                "the store is not reachable or not migrated".to_owned()
            })
        })
    })
}
