//! Command-line flags of `gumloop-mcp`; every flag can also come from the environment.
//! The Gumloop credential is read from the environment only (see [`crate::credential`]),
//! so a key never appears in a process listing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gumloop_mcp_generated::resources::INTEGRATION;

use crate::http::HttpConfig;
use crate::upstream::UpstreamConfig;

/// Serves every documented Gumloop endpoint as an MCP tool.
#[derive(Debug, Parser)]
#[command(
    name = "gumloop-mcp",
    version,
    after_help = "Credential (environment only):\n  \
        GUMLOOP_API_KEY     Gumloop API key (without it tools/list works and tools/call reports the missing key)\n  \
        GUMLOOP_USER_ID     your Gumloop user id (sent as x-auth-key; filled into user_id parameters)\n  \
        GUMLOOP_TEAM_ID     team id, for team keys (sent as the team_id query parameter)\n  \
        GUMLOOP_PROJECT_ID  legacy workspace id (filled into project_id parameters)\n\
        Logging goes to stderr; filter it with GUMLOOP_MCP_LOG (default: info,rmcp=warn)."
)]
pub struct Cli {
    /// Threads that run requests (default: one per CPU core). On a small machine shared
    /// with other busy processes, fewer threads mean fewer cross-thread hand-offs per call
    #[arg(long, global = true, env = "GUMLOOP_MCP_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: Option<u16>,
    /// What to serve on.
    #[command(subcommand)]
    pub command: Command,
}

/// The transports.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over streamable HTTP at /mcp (2025-11-25 sessions and 2026-07-28 stateless requests on one endpoint)
    Serve(ServeArgs),
    /// Serve MCP over stdin/stdout (desktop clients launch the server this way)
    Stdio(UpstreamArgs),
}

/// Where Gumloop is and how long to wait for it.
#[derive(Debug, Clone, Args)]
pub struct UpstreamArgs {
    /// Gumloop REST base URL
    #[arg(long, env = "GUMLOOP_BASE_URL", default_value = INTEGRATION.api_base_url)]
    pub gumloop_base_url: String,
    /// Gumloop streaming base URL (serves chat completions)
    #[arg(long, env = "GUMLOOP_WS_BASE_URL", default_value = INTEGRATION.ws_base_url)]
    pub gumloop_ws_base_url: String,
    /// Overall timeout of one upstream call, in seconds
    #[arg(long, env = "GUMLOOP_MCP_CALL_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub call_timeout_secs: u64,
    /// Timeout for connecting to Gumloop, in seconds
    #[arg(long, env = "GUMLOOP_MCP_CONNECT_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout_secs: u64,
}

impl UpstreamArgs {
    /// The upstream client's settings.
    pub fn upstream_config(&self) -> UpstreamConfig {
        UpstreamConfig {
            api_base_url: self.gumloop_base_url.clone(),
            ws_base_url: self.gumloop_ws_base_url.clone(),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            call_timeout: Duration::from_secs(self.call_timeout_secs),
        }
    }
}

/// `gumloop-mcp serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "GUMLOOP_MCP_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Directory for the server's data (created if missing)
    #[arg(long, env = "GUMLOOP_MCP_DATA_DIR", default_value = "./gumloop-mcp-data")]
    pub data_dir: PathBuf,
    /// Host header value to accept besides localhost, 127.0.0.1, ::1 and the bind address, for deployments behind a proxy or on a public name; repeatable, comma-separated in the environment. `host` accepts any port, `host:port` only that one. Other hosts get 403 (DNS-rebinding protection)
    #[arg(long = "allowed-host", value_name = "HOST", env = "GUMLOOP_MCP_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Origin header value to accept besides loopback pages, for browser-based clients (e.g. https://app.example.com); repeatable, comma-separated in the environment. Requests with any other Origin get 403; requests without one are unaffected
    #[arg(long = "allowed-origin", value_name = "ORIGIN", env = "GUMLOOP_MCP_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Seconds calls in flight may run after SIGTERM or Ctrl-C before the server exits anyway
    #[arg(long, env = "GUMLOOP_MCP_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    #[command(flatten)]
    pub upstream: UpstreamArgs,
}

impl ServeArgs {
    /// The HTTP layer's settings.
    pub fn http_config(&self) -> HttpConfig {
        HttpConfig {
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags() {
        let cli = Cli::try_parse_from([
            "gumloop-mcp",
            "serve",
            "--bind",
            "0.0.0.0:9000",
            "--allowed-host",
            "mcp.example.com",
            "--allowed-host",
            "proxy.internal:8443",
            "--call-timeout-secs",
            "5",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else { panic!("not serve") };
        assert_eq!(args.bind, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(args.http_config().allowed_hosts, ["mcp.example.com", "proxy.internal:8443"]);
        assert_eq!(args.upstream.upstream_config().call_timeout, Duration::from_secs(5));
        assert!(Cli::try_parse_from(["gumloop-mcp", "stdio", "--call-timeout-secs", "0"]).is_err());
    }
}
