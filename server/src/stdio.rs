//! MCP over stdin/stdout. Stdout carries only JSON-RPC; logs go to stderr.

use rmcp::ServiceExt as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use crate::mcp::handler::GumloopServer;

/// Serves on the process's stdin/stdout until stdin closes or `shutdown` fires.
pub async fn serve(server: GumloopServer, shutdown: CancellationToken) -> anyhow::Result<()> {
    // Non-blocking pipes when a client launched us (the usual case); plain stdio otherwise.
    let (read, write) = rmcp::transport::stdio_pipes();
    serve_io(server, read, write, shutdown).await
}

/// Serves on any byte streams (tests use an in-memory pipe). A client's
/// `notifications/cancelled` cancels that call's upstream request.
pub async fn serve_io<R, W>(server: GumloopServer, read: R, write: W, shutdown: CancellationToken) -> anyhow::Result<()>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let running = tokio::select! {
        r = server.serve((read, write)) => r?,
        () = shutdown.cancelled() => return Ok(()),
    };
    let stop = running.cancellation_token();
    let waiting = running.waiting();
    tokio::pin!(waiting);
    tokio::select! {
        r = &mut waiting => { r?; }
        () = shutdown.cancelled() => {
            stop.cancel();
            waiting.await?;
        }
    }
    Ok(())
}
