//! What a model pays for the tool list (run `cargo xtask tokens`): the `tools` array of
//! tools/list as `/mcp` serves it, counted in `o200k_base` tokens. Prints one line of
//! figures per exposure mode, then each mode's tools, the most expensive first, with
//! where their tokens go.

use gumloop_mcp::http::{self, HttpConfig};
use gumloop_mcp::mcp::discovery::ToolExposure;
use gumloop_mcp::{Credential, UpstreamConfig};
use gumloop_testkit::tokens::tools::Summary;
use gumloop_testkit::{FakeConfig, FakeGumloop};
use serde_json::{Value, json};

/// One way of exposing the catalogue, and the tools a client lists in it.
struct Exposure {
    name: &'static str,
    tools: Vec<Value>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let fake = FakeGumloop::start(FakeConfig::default()).await?;
    let mut exposures = Vec::new();
    for (name, exposure) in [("all", ToolExposure::All), ("discovery", ToolExposure::Discovery)] {
        let server = gumloop_mcp::gumloop_server(UpstreamConfig::new(fake.api_base(), fake.ws_base()), Credential::default())?.with_tool_exposure(exposure);
        let running = http::spawn(server, tokio::net::TcpListener::bind("127.0.0.1:0").await?, HttpConfig::default())?;
        exposures.push(Exposure { name, tools: served_tools(&running.url()).await? });
        running.shutdown().await?;
    }

    for e in &exposures {
        println!("{:<10} {}", e.name, Summary::of(&e.tools).line());
    }
    for e in &exposures {
        let s = Summary::of(&e.tools);
        println!("\n{} ({} tools): tokens per tool, the most expensive first", e.name, s.count);
        println!("{:>6} {:>6} {:>6} {:>6} {:>6}  tool", "total", "descr", "input", "output", "rest");
        for t in &s.tools {
            println!("{:>6} {:>6} {:>6} {:>6} {:>6}  {}", t.total, t.description, t.input_schema, t.output_schema, t.rest(), t.name);
        }
        let sum = |f: fn(&gumloop_testkit::tokens::tools::ToolTokens) -> usize| s.tools.iter().map(f).sum::<usize>();
        println!(
            "{:>6} {:>6} {:>6} {:>6} {:>6}  (sum over tools)",
            sum(|t| t.total),
            sum(|t| t.description),
            sum(|t| t.input_schema),
            sum(|t| t.output_schema),
            sum(|t| t.rest())
        );
    }
    Ok(())
}

/// The `tools` array of one stateless (2026-07-28) tools/list at `url`, as a client gets it.
async fn served_tools(url: &str) -> anyhow::Result<Vec<Value>> {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let body: Value = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    match body.pointer("/result/tools") {
        Some(Value::Array(tools)) => Ok(tools.clone()),
        _ => anyhow::bail!("tools/list answered without a tools array: {body}"),
    }
}
