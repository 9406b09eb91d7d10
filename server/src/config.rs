//! Command-line flags of `gumloop-mcp`; every flag can also come from the environment.
//! The Gumloop credential is read from the environment only (see [`crate::upstream::credential`]),
//! so a key never appears in a process listing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gumloop_mcp_generated::resources::INTEGRATION;

use crate::http::HttpConfig;
use crate::http::probes::{MetricsAt, Probes};
use crate::http::sessions::SessionLimits;
use crate::logging::LogFormat;
use crate::managed::store::DatabaseUrl;
use crate::mcp::discovery::ToolExposure;
use crate::upstream::UpstreamConfig;

/// The per-user data directory: `$XDG_DATA_HOME/gumloop-mcp`, else
/// `~/.local/share/gumloop-mcp` (the XDG base-directory default); only without a home
/// directory at all, `./gumloop-mcp-data`.
pub fn default_data_dir() -> PathBuf {
    data_dir_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

fn data_dir_from(xdg_data_home: Option<std::ffi::OsString>, home: Option<std::ffi::OsString>) -> PathBuf {
    // The XDG spec ignores a relative XDG_DATA_HOME.
    let xdg = xdg_data_home.map(PathBuf::from).filter(|p| p.is_absolute());
    let home = || home.map(PathBuf::from).filter(|p| p.is_absolute()).map(|h| h.join(".local").join("share"));
    xdg.or_else(home).map_or_else(|| PathBuf::from("gumloop-mcp-data"), |base| base.join("gumloop-mcp"))
}

/// Serves every documented Gumloop endpoint as an MCP tool.
#[derive(Debug, Parser)]
#[command(
    name = "gumloop-mcp",
    version,
    after_help = "Credential (environment only):\n  \
        GUMLOOP_API_KEY     Gumloop API key (without it tools/list works and tools/call reports the missing key)\n  \
        GUMLOOP_USER_ID     your Gumloop user id (sent in the user header the spec names; filled into user_id parameters)\n  \
        GUMLOOP_TEAM_ID     team id, for team keys (sent as the team_id query parameter)\n  \
        GUMLOOP_PROJECT_ID  legacy workspace id (filled into project_id parameters)\n\
        Managed servers (environment only):\n  \
        GUMLOOP_MCP_SECRET_KEY  32-byte key (64 hex digits or base64) that encrypts connected accounts' Gumloop keys at rest;\n                          default: <data-dir>/secret.key, created (mode 0600) on first start; required (the same on\n                          every replica) with --database-url\n\
        Logging goes to stderr; filter it with GUMLOOP_MCP_LOG (default: info,rmcp=warn)."
)]
pub struct Cli {
    /// Threads that run requests (default: one per CPU core). On a small machine shared
    /// with other busy processes, fewer threads mean fewer cross-thread hand-offs per call
    #[arg(long, global = true, env = "GUMLOOP_MCP_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: Option<u16>,
    /// Log line format on stderr: text (one escaped line per event) or json (one JSON object per line)
    #[arg(long, global = true, env = "GUMLOOP_MCP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to serve on.
    #[command(subcommand)]
    pub command: Command,
}

/// The transports.
// Parsed once at start-up: the size of `serve`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over streamable HTTP at /mcp (2025-11-25 sessions and 2026-07-28 stateless requests on one endpoint)
    Serve(ServeArgs),
    /// Serve MCP over stdin/stdout (desktop clients launch the server this way)
    Stdio(StdioArgs),
    /// Manage API tokens, the credentials of the admin API and of servers that require one
    #[command(subcommand)]
    ApiToken(ApiTokenCommand),
    /// Manage connected Gumloop accounts
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage managed MCP servers (scoped URLs for one account)
    #[command(subcommand)]
    Server(ServerCommand),
    /// Manage the users who sign in to approve OAuth clients, and what they may grant
    #[command(subcommand)]
    User(UserCommand),
    /// Manage pre-registered OAuth clients
    #[command(subcommand)]
    Client(ClientCommand),
    /// List and revoke OAuth grants (what a user let a client do)
    #[command(subcommand)]
    Grant(GrantCommand),
}

/// Parses `--database-url` with an error that never repeats the value (clap's own would
/// print it, password and all).
#[derive(Clone)]
pub struct DatabaseUrlParser;

impl clap::builder::TypedValueParser for DatabaseUrlParser {
    type Value = DatabaseUrl;

    fn parse_ref(&self, cmd: &clap::Command, _: Option<&clap::Arg>, value: &std::ffi::OsStr) -> Result<DatabaseUrl, clap::Error> {
        let fail = |m: String| clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("--database-url: {m}\n")).with_cmd(cmd);
        value.to_str().ok_or_else(|| fail("the URL is not valid UTF-8".into()))?.parse().map_err(fail)
    }
}

/// Where the store lives (the same directory `serve` uses; the commands work whether or
/// not a server is running, and a running server sees their changes at once).
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory for the server's data: the SQLite store and, unless GUMLOOP_MCP_SECRET_KEY is set, the key file that encrypts Gumloop API keys. Default: $XDG_DATA_HOME/gumloop-mcp, else ~/.local/share/gumloop-mcp
    #[arg(long, env = "GUMLOOP_MCP_DATA_DIR", default_value_os_t = default_data_dir(), hide_default_value = true)]
    pub data_dir: PathBuf,
    /// PostgreSQL URL of a store shared by several replicas (postgres://user:password@host:5432/db, or over a unix socket: postgres://user@/db?host=/run/postgresql). Needs GUMLOOP_MCP_SECRET_KEY, the same on every replica and command. Without it: SQLite in --data-dir
    #[arg(long, env = "GUMLOOP_MCP_DATABASE_URL", value_name = "URL", value_parser = DatabaseUrlParser)]
    pub database_url: Option<DatabaseUrl>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// `gumloop-mcp api-token …`.
#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Issue a token (printed once; only its hash is stored)
    Create {
        /// What the token is for
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tokens (never their values)
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token; it stops working at once
    Revoke {
        /// The token's id (`tok_…`)
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `gumloop-mcp account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Connect a Gumloop account; its key is read from an environment variable, never a flag
    Add {
        /// A label
        #[arg(long)]
        name: String,
        /// The environment variable holding the Gumloop API key
        #[arg(long, value_name = "VAR")]
        api_key_env: String,
        /// Gumloop user id (sent as x-auth-key)
        #[arg(long)]
        user_id: Option<String>,
        /// Team id, for team keys
        #[arg(long)]
        team_id: Option<String>,
        /// Legacy workspace id
        #[arg(long)]
        project_id: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List connected accounts
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove an account and every MCP server scoped to it
    Remove {
        /// The account's id (`acct_…`)
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `gumloop-mcp server …`.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Create a managed MCP server and print its URL (shown once)
    Create {
        /// The account it acts as (`acct_…`)
        #[arg(long)]
        account: String,
        /// A label
        #[arg(long, default_value = "cli")]
        name: String,
        /// Methods to expose: read, write, custom or exact method names (comma-separated)
        #[arg(long, value_delimiter = ',')]
        methods: Vec<String>,
        /// Tags to expose (comma-separated); a tool needs one of them
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// Lifetime, e.g. 90s, 30m, 24h, 7d (at least 60 s)
        #[arg(long, value_name = "DURATION", conflicts_with = "expires_at")]
        expires_in: Option<String>,
        /// Expiry instant, ISO-8601 (e.g. 2026-12-01T09:00:00Z)
        #[arg(long, value_name = "INSTANT")]
        expires_at: Option<String>,
        /// Require `Authorization: Bearer <API token>` on MCP requests too
        #[arg(long)]
        require_api_token: bool,
        /// Add one tool per saved flow of the account, run_gumloop_flow_<name>, taking the flow's inputs as its arguments (needs create_a_gumloop_flow_run in the filters)
        #[arg(long)]
        flow_tools: bool,
        /// Ask the person to confirm (MCP elicitation) each call of a destructive tool, naming the tool and its target; clients that cannot be asked are refused
        #[arg(long)]
        confirm_destructive: bool,
        /// Who may reach it, overriding serve's --auth: url-token (its secret URL), oauth (signing in at <public URL>/mcp/servers/<id>), or both
        #[arg(long, value_enum)]
        auth: Option<crate::managed::filter::AuthMode>,
        /// How its tools/list shows tools: all (every tool it exposes) or discovery (only search_tools, get_tool_schema and call_tool, through which the same tools are found and called)
        #[arg(long, value_enum, default_value_t = ToolExposure::All)]
        tool_exposure: ToolExposure,
        /// The server's public base URL, for the printed URL
        #[arg(long, env = "GUMLOOP_MCP_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List managed servers
    List {
        /// Only this account's
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete a managed server; its URL stops working at once
    Revoke {
        /// The server's id (`mcp_…`)
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `gumloop-mcp user …`. A user is named by username (or `usr_…` id).
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; a local user's password is read from stdin (never a flag)
    Add {
        /// The sign-in name (for --oidc: the value of the matched claim)
        username: String,
        /// Read the password from the first line of stdin
        #[arg(long, conflicts_with = "oidc")]
        password_stdin: bool,
        /// The user signs in through the OpenID Connect provider (no password here)
        #[arg(long)]
        oidc: bool,
        /// What they may grant: ACCOUNT[:methods=M,M…][:tags=T,T…], e.g. acct_1234:methods=read:tags=flows; repeatable
        #[arg(long = "allow", value_name = "RULE")]
        allow: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List users (never their passwords)
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a local user's password, read from stdin
    Passwd {
        /// The user
        username: String,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change what a user may grant: --allow adds or replaces an account's rule, --deny removes one
    Allow {
        /// The user
        username: String,
        /// ACCOUNT[:methods=M,M…][:tags=T,T…]; replaces the rule for that account if there is one; repeatable
        #[arg(long = "allow", value_name = "RULE")]
        allow: Vec<String>,
        /// An account they may no longer grant; repeatable
        #[arg(long = "deny", value_name = "ACCOUNT")]
        deny: Vec<String>,
        /// Drop every current rule first, so the --allow rules are all they may grant
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable a user: they cannot sign in and their grants stop working
    Disable {
        /// The user
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled user again
    Enable {
        /// The user
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a user and revoke their grants
    Remove {
        /// The user
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `gumloop-mcp client …`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an OAuth client; a confidential one's secret is printed once
    Add {
        /// The name the consent page shows
        #[arg(long)]
        name: String,
        /// An exact redirect URI (https, or http on localhost, 127.0.0.1 or [::1]); repeatable
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// Give the client a secret (client_secret_basic) instead of making it public (PKCE only)
        #[arg(long)]
        confidential: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List clients: registered, dynamic and metadata-document ones (never secrets)
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a client and its grants
    Remove {
        /// The client's id (`gmcl_…`, or a metadata document's URL)
        client_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `gumloop-mcp grant …`.
#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// List grants, newest first
    List {
        /// Only this user's (username or `usr_…` id)
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a grant; every token issued under it stops working at once
    Revoke {
        /// The grant's id (`grt_…`)
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `gumloop-mcp stdio`.
#[derive(Debug, Clone, Args)]
pub struct StdioArgs {
    #[command(flatten)]
    pub exposure: ExposureArgs,
    #[command(flatten)]
    pub upstream: UpstreamArgs,
}

/// How `/mcp` and stdio show their tools.
#[derive(Debug, Clone, Copy, Args)]
pub struct ExposureArgs {
    /// How tools/list shows the tools on /mcp and stdio: all (every tool with its schema) or discovery (only search_tools, get_tool_schema and call_tool, through which the model finds and calls the same tools; a much shorter list). Managed servers take it from their config
    #[arg(long, env = "GUMLOOP_MCP_TOOL_EXPOSURE", value_enum, default_value_t = ToolExposure::All)]
    pub tool_exposure: ToolExposure,
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
    /// Most bytes resources/read returns from a signed download (larger files get an error with the URL)
    #[arg(long, env = "GUMLOOP_MCP_MAX_RESOURCE_BYTES", default_value_t = 5 * 1024 * 1024)]
    pub max_resource_bytes: u64,
    /// Most bytes read of one Gumloop API answer; a larger answer becomes a tool error naming its size, and is never passed on
    #[arg(long, env = "GUMLOOP_MCP_MAX_RESPONSE_BYTES", default_value_t = crate::upstream::DEFAULT_MAX_RESPONSE_BYTES, value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_response_bytes: u64,
    /// Timeout for connecting to Gumloop, in seconds
    #[arg(long, env = "GUMLOOP_MCP_CONNECT_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout_secs: u64,
    /// Most bytes of text one tool result gives the model (its JSON, the JSON's text copy and notes); the default keeps a result under Claude Code's 25,000-token limit. A longer list is cut at an item boundary with the exact continuation; any other result becomes a summary and a resource link to the whole JSON
    #[arg(long, env = "GUMLOOP_MCP_MAX_RESULT_BYTES", default_value_t = crate::behaviours::budget::DEFAULT_MAX_RESULT_BYTES as u64, value_parser = clap::value_parser!(u64).range(2048..))]
    pub max_result_bytes: u64,
    /// Seconds the whole JSON of a result over --max-result-bytes stays readable with resources/read
    #[arg(long, env = "GUMLOOP_MCP_RESULT_LINK_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub result_link_secs: u64,
}

impl UpstreamArgs {
    /// The upstream client's settings.
    pub fn upstream_config(&self) -> UpstreamConfig {
        UpstreamConfig {
            api_base_url: self.gumloop_base_url.clone(),
            ws_base_url: self.gumloop_ws_base_url.clone(),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            call_timeout: Duration::from_secs(self.call_timeout_secs),
            max_download_bytes: self.max_resource_bytes,
            max_response_bytes: self.max_response_bytes,
        }
    }
}

impl UpstreamArgs {
    /// How much of a result the model is given.
    pub fn result_budget(&self) -> crate::mcp::pipeline::budget::ResultBudget {
        crate::mcp::pipeline::budget::ResultBudget {
            max_bytes: usize::try_from(self.max_result_bytes).unwrap_or(usize::MAX),
            keep_for: Duration::from_secs(self.result_link_secs),
        }
    }
}

/// `gumloop-mcp serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "GUMLOOP_MCP_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Directory for the server's data (created if missing, mode 0700): the SQLite store of API tokens, accounts, managed servers and the audit trail, and, unless GUMLOOP_MCP_SECRET_KEY is set, the key file that encrypts Gumloop API keys. Default: $XDG_DATA_HOME/gumloop-mcp, else ~/.local/share/gumloop-mcp (never the current directory, so a checkout never holds a key)
    #[arg(long, env = "GUMLOOP_MCP_DATA_DIR", default_value_os_t = default_data_dir(), hide_default_value = true)]
    pub data_dir: PathBuf,
    /// PostgreSQL URL of a store shared by several replicas (postgres://user:password@host:5432/db, or over a unix socket: postgres://user@/db?host=/run/postgresql). Needs GUMLOOP_MCP_SECRET_KEY, the same on every replica and command. Without it: SQLite in --data-dir
    #[arg(long, env = "GUMLOOP_MCP_DATABASE_URL", value_name = "URL", value_parser = DatabaseUrlParser)]
    pub database_url: Option<DatabaseUrl>,
    /// The public base URL clients reach this server at (behind a proxy, e.g. https://mcp.example.com); managed server URLs are <it>/mcp/<token>. Default: http://<bound address>
    #[arg(long, env = "GUMLOOP_MCP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest admin API request body, in bytes (larger ones get 413)
    #[arg(long, env = "GUMLOOP_MCP_ADMIN_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub admin_body_limit: usize,
    /// Days to keep the audit trail of tool calls on managed servers
    #[arg(long, env = "GUMLOOP_MCP_AUDIT_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub audit_retention_days: u32,
    /// Seconds a managed server's flow tools (config.flow_tools) are trusted before the account's flows are listed again; sessions are sent notifications/tools/list_changed when they change
    #[arg(long, env = "GUMLOOP_MCP_FLOW_TOOLS_TTL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub flow_tools_ttl_secs: u64,
    /// Seconds between sweeps that delete expired servers and old audit records (one also runs at start-up)
    #[arg(long, env = "GUMLOOP_MCP_SWEEP_INTERVAL_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub sweep_interval_secs: u64,
    /// Host header value to accept besides localhost, 127.0.0.1, ::1 and the bind address, for deployments behind a proxy or on a public name; repeatable, comma-separated in the environment. `host` accepts any port, `host:port` only that one. Other hosts get 403 (DNS-rebinding protection)
    #[arg(long = "allowed-host", value_name = "HOST", env = "GUMLOOP_MCP_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Origin header value to accept besides loopback pages, for browser-based clients (e.g. https://app.example.com); repeatable, comma-separated in the environment. Requests with any other Origin get 403; requests without one are unaffected
    #[arg(long = "allowed-origin", value_name = "ORIGIN", env = "GUMLOOP_MCP_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Seconds calls in flight may run after SIGTERM or Ctrl-C before the server exits anyway
    #[arg(long, env = "GUMLOOP_MCP_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Most live MCP sessions, on /mcp and every managed URL together (2025-11-25 clients open one each; 2026-07-28 requests need none), about 100 KB each. At the limit a new session evicts the least recently active one that has no request in flight; if every session is busy, the initialize gets HTTP 503 with a JSON-RPC error
    #[arg(long, env = "GUMLOOP_MCP_MAX_SESSIONS", default_value_t = SessionLimits::DEFAULT_MAX_SESSIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_sessions: usize,
    /// Most live MCP sessions on one managed server's URL; at the limit a new one evicts that server's least recently active idle session, never another server's
    #[arg(long, env = "GUMLOOP_MCP_MAX_SESSIONS_PER_SERVER", default_value_t = SessionLimits::DEFAULT_MAX_PER_SERVER, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_sessions_per_server: usize,
    /// Seconds an MCP session lives with no request in flight and no open GET stream; a client that comes back later gets 404 and initializes again
    #[arg(long, env = "GUMLOOP_MCP_SESSION_IDLE_SECS", default_value_t = SessionLimits::DEFAULT_IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_secs: u64,
    /// Serve /metrics (Prometheus text) on this address instead of the main listener, which then answers 404 there (e.g. 127.0.0.1:9464); /livez and /readyz stay on the main listener
    #[arg(long, env = "GUMLOOP_MCP_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Who may reach MCP endpoints: url-token (a managed server's secret URL; /mcp open to whoever reaches it), oauth (sign in: /mcp and /mcp/servers/<id> need an access token), or both. A managed server's config may override it
    #[arg(long, env = "GUMLOOP_MCP_AUTH", value_enum, default_value_t = crate::managed::filter::AuthMode::UrlToken)]
    pub auth: crate::managed::filter::AuthMode,
    /// How long an OAuth access token lives, in seconds (refresh tokens rotate on each use and live 30 days)
    #[arg(long, env = "GUMLOOP_MCP_OAUTH_ACCESS_TOKEN_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub oauth_access_token_secs: u64,
    /// Tests only, never in production: fetch OAuth Client ID Metadata Documents over http and from loopback and private addresses (the SSRF guards are off)
    #[arg(long, env = "GUMLOOP_MCP_OAUTH_ALLOW_PRIVATE_METADATA", hide = true)]
    pub oauth_allow_private_metadata: bool,
    #[command(flatten)]
    pub oidc: OidcArgs,
    #[command(flatten)]
    pub exposure: ExposureArgs,
    #[command(flatten)]
    pub upstream: UpstreamArgs,
}

/// Sign-in delegated to the company's OpenID provider (`serve`).
#[derive(Debug, Clone, Args)]
pub struct OidcArgs {
    /// Sign people in through this OpenID Connect provider (its issuer URL, e.g. https://login.example.com/realms/corp) instead of local passwords; gumloop-mcp still issues its own MCP tokens. Register <public URL>/oauth/upstream/callback as the redirect URI of a confidential client there. The client secret comes from GUMLOOP_MCP_OIDC_CLIENT_SECRET or --oidc-client-secret-file, never from the command line
    #[arg(long, env = "GUMLOOP_MCP_OIDC_ISSUER", value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// The client id at the provider (with --oidc-issuer)
    #[arg(long, env = "GUMLOOP_MCP_OIDC_CLIENT_ID", value_name = "ID")]
    pub oidc_client_id: Option<String>,
    /// A file holding the client secret (with --oidc-issuer; surrounding whitespace is ignored). Otherwise GUMLOOP_MCP_OIDC_CLIENT_SECRET
    #[arg(long, env = "GUMLOOP_MCP_OIDC_CLIENT_SECRET_FILE", value_name = "PATH")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The claim that names a user: email, sub, preferred_username, or a non-standard string claim; it is matched against the names of users with source oidc
    #[arg(long, env = "GUMLOOP_MCP_OIDC_USER_CLAIM", value_name = "CLAIM", default_value = crate::oauth::oidc::OidcConfig::DEFAULT_USER_CLAIM)]
    pub oidc_user_claim: String,
    /// The claim listing a user's groups (e.g. groups); each group <g> adds the rules of the user named group:<g>
    #[arg(long, env = "GUMLOOP_MCP_OIDC_GROUPS_CLAIM", value_name = "CLAIM")]
    pub oidc_groups_claim: Option<String>,
}

/// The environment variable the OIDC client secret may come from.
pub const OIDC_CLIENT_SECRET_ENV: &str = "GUMLOOP_MCP_OIDC_CLIENT_SECRET";

impl OidcArgs {
    /// The relying party's settings, if sign-in is delegated; `secret_env` is
    /// [`OIDC_CLIENT_SECRET_ENV`]'s value. Errors name the flag or variable at fault and
    /// never show the secret.
    pub fn oidc_config(&self, public_url: &str, secret_env: Option<&str>) -> Result<Option<crate::oauth::oidc::OidcConfig>, String> {
        let secret_env = secret_env.filter(|s| !s.trim().is_empty());
        let Some(issuer) = self.oidc_issuer.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            if self.oidc_client_id.is_some() || self.oidc_client_secret_file.is_some() || secret_env.is_some() || self.oidc_groups_claim.is_some() {
                return Err("--oidc-client-id, --oidc-client-secret-file, GUMLOOP_MCP_OIDC_CLIENT_SECRET and --oidc-groups-claim need --oidc-issuer".into());
            }
            return Ok(None);
        };
        let client_id = self.oidc_client_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or("--oidc-issuer needs --oidc-client-id")?;
        let client_secret = match (&self.oidc_client_secret_file, secret_env) {
            (Some(_), Some(_)) => return Err(format!("give the OIDC client secret once: --oidc-client-secret-file or {OIDC_CLIENT_SECRET_ENV}, not both")),
            (Some(path), None) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("--oidc-client-secret-file {}: {e}", path.display()))?;
                let t = text.trim();
                if t.is_empty() {
                    return Err(format!("--oidc-client-secret-file {} is empty", path.display()));
                }
                t.to_owned()
            }
            (None, Some(s)) => s.trim().to_owned(),
            (None, None) => return Err(format!("--oidc-issuer needs the client secret: set {OIDC_CLIENT_SECRET_ENV} or --oidc-client-secret-file")),
        };
        Ok(Some(crate::oauth::oidc::OidcConfig {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            redirect_url: format!("{}/oauth/upstream/callback", public_url.trim_end_matches('/')),
            user_claim: self.oidc_user_claim.trim().to_owned(),
            groups_claim: self.oidc_groups_claim.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
        }))
    }
}

impl ServeArgs {
    /// The authorization server's settings.
    pub fn oauth_config(&self) -> crate::oauth::OAuthConfig {
        crate::oauth::OAuthConfig {
            mode: self.auth,
            access_ttl: Duration::from_secs(self.oauth_access_token_secs),
            cimd_allow_private: self.oauth_allow_private_metadata,
            ..crate::oauth::OAuthConfig::default()
        }
    }

    /// The HTTP settings these flags give (OAuth is wired by `serve`, which has the store).
    pub fn http_config(&self) -> HttpConfig {
        HttpConfig {
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            sessions: SessionLimits {
                max_sessions: self.max_sessions,
                max_per_server: self.max_sessions_per_server,
                idle_timeout: Duration::from_secs(self.session_idle_secs),
            },
            probes: Probes { metrics: if self.metrics_addr.is_some() { MetricsAt::Separate } else { MetricsAt::Main }, ..Probes::default() },
            oauth: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_data_directory_is_per_user() {
        let os = |s: &str| Some(std::ffi::OsString::from(s));
        assert_eq!(data_dir_from(os("/x/data"), os("/home/u")), PathBuf::from("/x/data/gumloop-mcp"));
        assert_eq!(data_dir_from(None, os("/home/u")), PathBuf::from("/home/u/.local/share/gumloop-mcp"));
        assert_eq!(data_dir_from(os("relative"), os("/home/u")), PathBuf::from("/home/u/.local/share/gumloop-mcp"));
        assert_eq!(data_dir_from(None, None), PathBuf::from("gumloop-mcp-data"));
    }

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

    #[test]
    fn result_budget_flags() {
        let budget = |args: &[&str]| match Cli::try_parse_from(["gumloop-mcp"].iter().chain(args)).map(|c| c.command) {
            Ok(Command::Serve(a)) => Ok(a.upstream.result_budget()),
            Ok(Command::Stdio(a)) => Ok(a.upstream.result_budget()),
            Ok(_) => panic!("neither serve nor stdio"),
            Err(e) => Err(e.to_string()),
        };
        let default = crate::mcp::pipeline::budget::ResultBudget::default();
        assert_eq!(budget(&["serve"]), Ok(default));
        let small = budget(&["stdio", "--max-result-bytes", "6000", "--result-link-secs", "60"]).unwrap();
        assert_eq!((small.max_bytes, small.keep_for), (6000, Duration::from_secs(60)));
        assert_eq!(budget(&["serve", "--max-result-bytes", "9000"]).unwrap().max_bytes, 9000);
        let err = budget(&["serve", "--max-result-bytes", "100"]).unwrap_err();
        assert!(err.contains("--max-result-bytes") && err.contains("2048"), "{err}");
    }

    #[test]
    fn database_url_flags_never_echo_the_password() {
        let cli = Cli::try_parse_from(["gumloop-mcp", "serve", "--database-url", "postgres://gm@/gm?host=/tmp/pg"]).unwrap();
        let Command::Serve(args) = cli.command else { panic!("not serve") };
        assert_eq!(args.database_url.unwrap().config().get_dbname(), Some("gm"));
        let cli = Cli::try_parse_from(["gumloop-mcp", "server", "list", "--database-url", "postgresql://gm:pw@db/gm"]).unwrap();
        let Command::Server(ServerCommand::List { store, .. }) = cli.command else { panic!("not server list") };
        assert!(store.database_url.is_some());
        for bad in ["mysql://gm:hunter2@db/gm", "postgres://gm:hunter2@db:port/gm"] {
            let err = Cli::try_parse_from(["gumloop-mcp", "serve", "--database-url", bad]).unwrap_err().to_string();
            assert!(err.contains("--database-url") && !err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn private_metadata_fetching_is_a_hidden_test_only_flag() {
        let serve = |args: &[&str]| match Cli::try_parse_from(["gumloop-mcp", "serve"].iter().chain(args)).unwrap().command {
            Command::Serve(args) => args.oauth_config(),
            _ => panic!("not serve"),
        };
        assert!(!serve(&[]).cimd_allow_private);
        assert!(serve(&["--oauth-allow-private-metadata"]).cimd_allow_private);
        let mut cmd = Cli::command();
        let help = cmd.find_subcommand_mut("serve").unwrap().render_long_help().to_string();
        assert!(!help.contains("allow-private-metadata"), "hidden from --help");
    }

    #[test]
    fn flow_tools_flags() {
        let cli = Cli::try_parse_from(["gumloop-mcp", "server", "create", "--account", "acct_1", "--flow-tools"]).unwrap();
        let Command::Server(ServerCommand::Create { flow_tools, .. }) = cli.command else { panic!("not server create") };
        assert!(flow_tools);
        let cli = Cli::try_parse_from(["gumloop-mcp", "server", "create", "--account", "acct_1", "--confirm-destructive"]).unwrap();
        let Command::Server(ServerCommand::Create { confirm_destructive, flow_tools, .. }) = cli.command else { panic!("not server create") };
        assert!(confirm_destructive && !flow_tools);
        let cli = Cli::try_parse_from(["gumloop-mcp", "serve", "--flow-tools-ttl-secs", "5"]).unwrap();
        let Command::Serve(args) = cli.command else { panic!("not serve") };
        assert_eq!(args.flow_tools_ttl_secs, 5);
        assert!(Cli::try_parse_from(["gumloop-mcp", "serve", "--flow-tools-ttl-secs", "0"]).is_err());
    }

    #[test]
    fn session_flags() {
        let serve = |args: &[&str]| match Cli::try_parse_from(["gumloop-mcp", "serve"].iter().chain(args)).map(|c| c.command) {
            Ok(Command::Serve(args)) => Ok(args.http_config().sessions),
            Ok(_) => panic!("not serve"),
            Err(e) => Err(e),
        };
        assert_eq!(serve(&[]).unwrap(), SessionLimits::default());
        let set = serve(&["--max-sessions", "50", "--max-sessions-per-server", "5", "--session-idle-secs", "30"]).unwrap();
        assert_eq!(set, SessionLimits { max_sessions: 50, max_per_server: 5, idle_timeout: Duration::from_secs(30) });
        for zero in ["--max-sessions", "--max-sessions-per-server", "--session-idle-secs"] {
            assert!(serve(&[zero, "0"]).is_err(), "{zero} 0");
        }
    }

    #[test]
    fn ops_flags() {
        let cli = Cli::try_parse_from(["gumloop-mcp", "serve", "--metrics-addr", "127.0.0.1:9464", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
        let Command::Serve(args) = cli.command else { panic!("not serve") };
        assert_eq!(args.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(args.http_config().probes.metrics, MetricsAt::Separate);
        let Command::Serve(args) = Cli::try_parse_from(["gumloop-mcp", "serve"]).unwrap().command else { panic!("not serve") };
        assert_eq!(args.http_config().probes.metrics, MetricsAt::Main);
        assert_eq!(Cli::try_parse_from(["gumloop-mcp", "stdio", "--log-format", "json"]).unwrap().log_format, LogFormat::Json);
        assert!(Cli::try_parse_from(["gumloop-mcp", "stdio", "--log-format", "xml"]).is_err());
        assert!(Cli::try_parse_from(["gumloop-mcp", "serve", "--metrics-addr", "nowhere"]).is_err());
    }
}
