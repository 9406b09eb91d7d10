//! The management commands (`api-token`, `account`, `server`, and in [`oauth`] `user`,
//! `client` and `grant`): the admin API's operations for people at a terminal. They open the same store as `serve`, so they
//! work with or without a running server, and a running server sees their effect on its
//! next request.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::config::{AccountCommand, ApiTokenCommand, ServerCommand, StoreArgs};
use crate::http::sessions::SessionRows;
use crate::managed::admin::{MIN_LIFETIME, parse_expiry};
use crate::managed::changes::{ChangeBus, LocalBus};
use crate::managed::filter::McpServerConfig;
use crate::managed::secrets::{KeySource, SealingKey};
use crate::managed::store::{DatabaseUrl, NewAccount, PgBus, PostgresStore, SqliteStore, Store};
use crate::mcp::tasks::store::TaskStore;
use crate::upstream::credential::{Credential, Secret};

pub mod oauth;
pub use oauth::{client, grant, user};

/// Opens (creating if needed) the data directory, its key and its SQLite store.
pub fn open_store(data_dir: &Path) -> Result<(SqliteStore, KeySource)> {
    open_sqlite(data_dir).map(|(store, _, source)| (store, source))
}

fn open_sqlite(data_dir: &Path) -> Result<(SqliteStore, SealingKey, KeySource)> {
    create_private_dir(data_dir)?;
    let env_key = std::env::var("GUMLOOP_MCP_SECRET_KEY").ok();
    let (key, source) = SealingKey::load(data_dir, env_key.as_deref())?;
    let store = SqliteStore::open(data_dir, key.clone()).with_context(|| format!("opening the store in {}", data_dir.display()))?;
    Ok((store, key, source))
}

/// An open store and the secret it seals with.
pub struct Opened {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The secret (download links are sealed with a key derived from it).
    pub key: SealingKey,
    /// Where the secret came from.
    pub source: KeySource,
    /// Where legacy sessions are kept for other processes to restore.
    pub session_rows: Option<Arc<dyn SessionRows>>,
    /// Where MCP tasks are kept (every replica on the database answers them).
    pub tasks: Arc<dyn TaskStore>,
    /// How tool changes reach the listeners of every process serving a server.
    pub changes: Arc<dyn ChangeBus>,
}

/// Opens the store `serve` and the commands use: PostgreSQL at `database_url` (with the
/// secret from `GUMLOOP_MCP_SECRET_KEY` only, since every replica must share it), else
/// SQLite in `data_dir`. Errors name the database with its password removed.
pub async fn open(data_dir: &Path, database_url: Option<&DatabaseUrl>) -> Result<Opened> {
    open_until(data_dir, database_url, tokio_util::sync::CancellationToken::new()).await
}

/// [`open`], with the PostgreSQL change listener running until `stop` fires.
pub async fn open_until(data_dir: &Path, database_url: Option<&DatabaseUrl>, stop: tokio_util::sync::CancellationToken) -> Result<Opened> {
    let Some(url) = database_url else {
        let (store, key, source) = open_sqlite(data_dir)?;
        let changes = Arc::new(LocalBus::default());
        return Ok(Opened { store: Arc::new(store.clone()), key, source, session_rows: Some(Arc::new(store.clone())), tasks: Arc::new(store), changes });
    };
    let key = SealingKey::require_env(std::env::var("GUMLOOP_MCP_SECRET_KEY").ok().as_deref())?;
    let store = PostgresStore::connect(url, key.clone()).await.with_context(|| format!("opening the store at {url}"))?;
    let store = Arc::new(store);
    let changes = Arc::new(PgBus::start(store.clone(), url, stop));
    Ok(Opened { store: store.clone(), key, source: KeySource::Environment, session_rows: Some(store.clone()), tasks: store, changes })
}

async fn open_args(args: &StoreArgs) -> Result<Arc<dyn Store>> {
    Ok(open(&args.data_dir, args.database_url.as_ref()).await?.store)
}

/// Creates `dir` (mode 0700 on Unix: it holds the key file and the store).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("creating the data directory {}", dir.display()))
}

fn out(json: bool, value: &Value, text: impl FnOnce() -> String) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(value)?)?;
    } else {
        writeln!(stdout, "{}", text())?;
    }
    Ok(())
}

fn or_dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// `gumloop-mcp api-token …`.
pub async fn api_token(cmd: ApiTokenCommand) -> Result<()> {
    match cmd {
        ApiTokenCommand::Create { name, store } => {
            let db = open_args(&store).await?;
            let (record, token) = db.create_api_token(&name, Timestamp::now()).await?;
            let mut v = serde_json::to_value(&record)?;
            v["token"] = json!(token.reveal());
            out(store.json, &v, || format!("created API token {} ({name}); it is shown only now:\n{}", record.id, token.reveal()))
        }
        ApiTokenCommand::List { store } => {
            let db = open_args(&store).await?;
            let tokens = db.list_api_tokens().await?;
            out(store.json, &serde_json::to_value(&tokens)?, || {
                let mut s = String::from("ID\tNAME\tCREATED\tREVOKED");
                for t in &tokens {
                    s += &format!("\n{}\t{}\t{}\t{}", t.id, t.name, t.created_at, t.revoked_at.map_or("-".into(), |r| r.to_string()));
                }
                s
            })
        }
        ApiTokenCommand::Revoke { id, store } => {
            let db = open_args(&store).await?;
            let t = db.revoke_api_token(&id, Timestamp::now()).await.with_context(|| format!("revoking API token `{id}`"))?;
            out(store.json, &serde_json::to_value(&t)?, || format!("revoked API token {} ({})", t.id, t.name))
        }
    }
}

/// `gumloop-mcp account …`.
pub async fn account(cmd: AccountCommand) -> Result<()> {
    match cmd {
        AccountCommand::Add { name, api_key_env, user_id, team_id, project_id, store } => {
            let Some(key) = std::env::var(&api_key_env).ok().filter(|k| !k.trim().is_empty()) else {
                bail!("--api-key-env {api_key_env}: the environment variable `{api_key_env}` is not set or empty");
            };
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let db = open_args(&store).await?;
            let credential = Credential { api_key: Some(Secret::new(key)), user_id, team_id, project_id };
            let a = db.create_account(NewAccount { name, credential }, Timestamp::now()).await?;
            out(store.json, &serde_json::to_value(&a)?, || format!("connected account {} ({})", a.id, a.name))
        }
        AccountCommand::List { store } => {
            let db = open_args(&store).await?;
            let accounts = db.list_accounts().await?;
            out(store.json, &serde_json::to_value(&accounts)?, || {
                let mut s = String::from("ID\tNAME\tUSER\tTEAM\tCREATED");
                for a in &accounts {
                    s += &format!("\n{}\t{}\t{}\t{}\t{}", a.id, a.name, or_dash(&a.gumloop.user_id), or_dash(&a.gumloop.team_id), a.created_at);
                }
                s
            })
        }
        AccountCommand::Remove { id, store } => {
            let db = open_args(&store).await?;
            db.delete_account(&id).await.with_context(|| format!("removing account `{id}`"))?;
            out(store.json, &json!({"removed": id}), || format!("removed account {id} and its MCP servers"))
        }
    }
}

/// Parses `--expires-in` (`90s`, `30m`, `24h`, `7d`, or ISO-8601 `PT24H`).
pub fn parse_lifetime(text: &str) -> Result<SignedDuration> {
    let t = text.trim();
    let parsed = match t.strip_suffix('d').and_then(|n| n.trim().parse::<i64>().ok()) {
        Some(days) => SignedDuration::from_hours(days * 24),
        None => t.parse::<SignedDuration>().map_err(|e| anyhow::anyhow!("--expires-in `{text}` is not a duration such as 90s, 30m, 24h or 7d ({e})"))?,
    };
    if parsed < MIN_LIFETIME {
        bail!("--expires-in `{text}` is shorter than the minimum of 60 s");
    }
    Ok(parsed)
}

/// `gumloop-mcp server …`.
pub async fn server(cmd: ServerCommand) -> Result<()> {
    match cmd {
        ServerCommand::Create {
            account,
            name,
            methods,
            tags,
            expires_in,
            expires_at,
            require_api_token,
            flow_tools,
            confirm_destructive,
            auth,
            tool_exposure,
            public_url,
            store,
        } => {
            let config = McpServerConfig {
                methods: (!methods.is_empty()).then_some(methods),
                tags: (!tags.is_empty()).then_some(tags),
                require_api_token_auth: require_api_token,
                flow_tools,
                auth,
                tool_exposure,
                confirm_destructive,
            };
            let problems = config.problems(gumloop_mcp_generated::resources::ALL_TOOLS);
            if !problems.is_empty() {
                bail!("the server's filters are not usable:\n- {}", problems.join("\n- "));
            }
            let now = Timestamp::now();
            let expires = match (expires_in, expires_at) {
                (Some(d), _) => Some(now + parse_lifetime(&d)?),
                (None, Some(at)) => Some(parse_expiry(&at, now).map_err(|e| anyhow::anyhow!("--expires-at: {}", e.message()))?),
                (None, None) => None,
            };
            let db = open_args(&store).await?;
            let (server, token) =
                db.create_server(&account, &name, &config, expires, now).await.with_context(|| format!("creating a server for account `{account}`"))?;
            let url = format!("{}/mcp/{}", public_url.trim_end_matches('/'), token.reveal());
            let mut v = serde_json::to_value(&server)?;
            v["url"] = json!(url);
            out(store.json, &v, || {
                let expiry = server.expires_at.map_or("never expires".to_owned(), |at| format!("expires {at}"));
                format!("created MCP server {} ({name}, {expiry}); its URL is shown only now:\n{url}", server.id)
            })
        }
        ServerCommand::List { account, store } => {
            let db = open_args(&store).await?;
            let servers = match &account {
                Some(a) => {
                    db.get_account(a).await.with_context(|| format!("account `{a}`"))?;
                    db.list_servers(a).await?
                }
                None => db.list_all_servers().await?,
            };
            out(store.json, &serde_json::to_value(&servers)?, || {
                let mut s = String::from("ID\tNAME\tACCOUNT\tMETHODS\tTAGS\tAPI TOKEN\tFLOW TOOLS\tEXPIRES");
                for x in &servers {
                    let join = |v: &Option<Vec<String>>| v.as_ref().map_or("*".to_owned(), |v| v.join(","));
                    s += &format!(
                        "\n{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        x.id,
                        x.name,
                        x.integrated_account_id,
                        join(&x.config.methods),
                        join(&x.config.tags),
                        if x.config.require_api_token_auth { "required" } else { "-" },
                        if x.config.flow_tools { "on" } else { "-" },
                        x.expires_at.map_or("-".into(), |e| e.to_string())
                    );
                }
                s
            })
        }
        ServerCommand::Revoke { id, store } => {
            let db = open_args(&store).await?;
            db.delete_server_by_id(&id).await.with_context(|| format!("revoking MCP server `{id}`"))?;
            out(store.json, &json!({"revoked": id}), || format!("revoked MCP server {id}; its URL no longer works"))
        }
    }
}

/// Used by `serve`: the one-time admin token on first start, printed to stdout (logs go
/// to stderr, so it never lands in a log pipeline that only collects those).
pub async fn first_start_token(store: &dyn Store) -> Result<()> {
    if store.count_api_tokens().await? > 0 {
        return Ok(());
    }
    let (record, token) = store.create_api_token("admin", Timestamp::now()).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "gumloop-mcp: first start: created the admin API token {} (shown only now; only its hash is stored):", record.id)?;
    writeln!(stdout, "{}", token.reveal())?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("24h").unwrap(), SignedDuration::from_hours(24));
        assert_eq!(parse_lifetime("7d").unwrap(), SignedDuration::from_hours(168));
        assert_eq!(parse_lifetime("90s").unwrap(), SignedDuration::from_secs(90));
        assert!(parse_lifetime("30s").unwrap_err().to_string().contains("minimum of 60 s"));
        assert!(parse_lifetime("soon").unwrap_err().to_string().contains("not a duration"));
    }
}
