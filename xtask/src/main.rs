//! Project automation, run as `cargo xtask <command>`.
//!
//! - `codegen [--check]`: regenerate `generated/` from `spec/` (or check it is fresh)
//! - `import-openapi FILE --resource-map MAP [--out DIR]`: draft spec files from OpenAPI 3.0
//! - `synth-spec N --out DIR`: write a synthetic spec of N operations (for benchmarks)
//! - `bench-codegen`: time the generator on the full spec and on a synthetic one
//! - `bench`: the server benchmarks (latency, throughput, memory, start-up) against the fake
//! - `bench-sessions [--server PATH]`: RSS under a flood of legacy-session `initialize`s
//! - `bench-replicas`: replicas on one PostgreSQL (admission, throughput 1 vs 3, revocation, RSS)
//! - `bench-oauth`: access-token validation plus grant lookup per call, and one password check
//! - `mcpb [--out PATH] [--profile release|dev | --binary PATH] [--server-json OUT]`: the one-click MCP Bundle
//! - `tokens`: what tools/list costs a model in `o200k_base` tokens, per exposure and per tool

mod bench;
mod codegen;
mod import;
mod mcpb;
mod tidy;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => codegen::run(codegen::Mode::Write),
        ["codegen", "--check"] => codegen::run(codegen::Mode::Check),
        ["import-openapi", rest @ ..] => import::run(rest),
        ["synth-spec", rest @ ..] => bench::synth_cmd(rest),
        ["bench-codegen", rest @ ..] => bench::bench_codegen(rest),
        ["bench"] => bench::bench_server(),
        ["bench-sessions", rest @ ..] => bench::bench_sessions(rest),
        ["bench-replicas"] => bench::bench_replicas(),
        ["bench-oauth"] => bench::bench_oauth(),
        ["tokens"] => bench::tokens(),
        ["mcpb", rest @ ..] => mcpb::run(rest),
        _ => bail!(
            "usage:\n  cargo xtask codegen [--check]\n  cargo xtask import-openapi FILE --resource-map MAP [--out DIR]\n  cargo xtask synth-spec N --out DIR\n  cargo xtask bench-codegen [--ops N] [--compile]\n  cargo xtask bench\n  cargo xtask bench-sessions [--server PATH]\n  cargo xtask bench-replicas\n  cargo xtask bench-oauth\n  cargo xtask mcpb [--out PATH] [--profile release|dev | --binary PATH] [--server-json OUT]\n  cargo xtask tokens"
        ),
    }
}

/// The workspace root (xtask lives one level below it).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}
