//! `fake-gumloop --bind ADDR`: the fake Gumloop as a process, for demos and client tests.

use clap::Parser;
use gumloop_testkit::{FakeConfig, FakeGumloop};

/// A fake Gumloop API on loopback (REST under /api/v1, streaming host under /ws/api/v1).
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: std::net::SocketAddr,
    /// The API key to accept
    #[arg(long, default_value = "test-key")]
    api_key: String,
    /// The user id personal keys must send as x-auth-key
    #[arg(long, default_value = "user_test")]
    user_id: String,
    /// Polls before a running session, run or export completes
    #[arg(long, default_value_t = 2)]
    session_polls: u32,
    /// Audit log entries the organization has
    #[arg(long, default_value_t = 120)]
    audit_logs: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let fake = FakeGumloop::start_on(
        a.bind,
        FakeConfig { api_key: a.api_key, user_id: a.user_id, session_polls: a.session_polls, audit_logs: a.audit_logs, ..FakeConfig::default() },
    )
    .await?;
    println!("api {}", fake.api_base());
    println!("ws {}", fake.ws_base());
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            #[cfg(unix)]
            if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) { s.recv().await; }
        } => {}
        _ = fake.wait() => {}
    }
    Ok(())
}
