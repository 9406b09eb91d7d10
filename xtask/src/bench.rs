//! Generator benchmarks: `cargo xtask bench-codegen` prints timings and tools.json sizes;
//! `cargo xtask synth-spec N --out DIR` writes a synthetic spec to look at.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gumloop_mcp_codegen::{SpecFiles, generate, synth::synth};

use crate::codegen::{Mode, sync};
use crate::project_root;

pub fn synth_cmd(args: &[&str]) -> Result<()> {
    let (Some(n), ["--out", out]) = (args.first().and_then(|n| n.parse::<usize>().ok()), args.get(1..).unwrap_or_default()) else {
        bail!("usage: cargo xtask synth-spec N --out DIR");
    };
    write_spec(&synth(n), Path::new(out))?;
    eprintln!("wrote a synthetic spec of {n} operations to {out}");
    Ok(())
}

fn write_spec(files: &SpecFiles, out: &Path) -> Result<()> {
    for (path, text) in &files.files {
        let rel = path.strip_prefix(&format!("{}/", files.root)).unwrap_or(path);
        let p = out.join(rel);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(Duration, T)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f()?);
        times.push(start.elapsed());
    }
    Ok((median(times), last.unwrap()))
}

pub fn bench_codegen(args: &[&str]) -> Result<()> {
    let compile = args.contains(&"--compile");
    let rest: Vec<&str> = args.iter().copied().filter(|a| *a != "--compile").collect();
    let ops = match rest.as_slice() {
        [] => 2000,
        ["--ops", n] => n.parse()?,
        _ => bail!("usage: cargo xtask bench-codegen [--ops N] [--compile]"),
    };
    let root = project_root();

    // 1. The full spec, as `cargo xtask codegen --check` runs it: read, generate, compare.
    let (full, report) = time(10, || sync(&root.join("spec"), &root.join("generated"), Mode::Check))?;
    println!("full spec: codegen (read + generate + compare, {} files): median of 10 = {:.1} ms", report.total, ms(full));

    // 2. A synthetic spec of `ops` operations, in memory and written to a scratch crate.
    let files = synth(ops);
    let (syn, out) = time(3, || Ok(generate(&files)?))?;
    println!("synthetic spec: {ops} operations -> {} files: generate median of 3 = {:.1} ms", out.files.len(), ms(syn));
    let scratch = root.join("target/synth-bench");
    let _ = std::fs::remove_dir_all(&scratch);
    write_spec(&files, &scratch.join("spec"))?;
    write_scratch_crate(&scratch)?;
    let (syn_sync, _) = time(1, || sync(&scratch.join("spec"), &scratch.join("generated"), Mode::Write))?;
    println!("synthetic spec: cargo xtask codegen equivalent (read + generate + write) = {:.1} ms", ms(syn_sync));
    if compile {
        let start = Instant::now();
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--manifest-path"])
            .arg(scratch.join("generated/Cargo.toml"))
            .env("CARGO_TARGET_DIR", root.join("target"))
            .status()?;
        anyhow::ensure!(status.success(), "the synthetic generated crate did not compile");
        println!("synthetic spec: cargo build of the generated crate (dependencies already built) = {:.1} s", start.elapsed().as_secs_f64());
    }

    // 3. tools.json size.
    let tools: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(root.join("generated/mcp/tools.json"))?)?;
    let bytes = std::fs::read(root.join("generated/mcp/tools.json"))?.len();
    let mut per: Vec<(usize, String)> = tools.iter().map(|t| (serde_json::to_string(t).unwrap().len(), t["name"].as_str().unwrap_or("").to_owned())).collect();
    per.sort();
    if !per.is_empty() {
        let (median, _) = &per[per.len() / 2];
        let (max, name) = per.last().unwrap();
        println!(
            "tools.json: {} tools, {bytes} bytes pretty (~{} tokens); compact per tool: median {median} bytes (~{} tokens), largest {name} {max} bytes (~{} tokens); compact total {} bytes (~{} tokens)",
            tools.len(),
            bytes / 4,
            median / 4,
            max / 4,
            per.iter().map(|p| p.0).sum::<usize>(),
            per.iter().map(|p| p.0).sum::<usize>() / 4,
        );
    }
    Ok(())
}

fn write_scratch_crate(scratch: &Path) -> Result<()> {
    let runtime = project_root().join("runtime");
    let g = scratch.join("generated");
    std::fs::create_dir_all(g.join("src/resources"))?;
    std::fs::write(
        g.join("Cargo.toml"),
        format!(
            "[package]\nname = \"synth-generated\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[dependencies]\ngumloop-mcp-runtime = {{ path = {:?} }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = {{ version = \"1\", features = [\"preserve_order\"] }}\n",
            runtime.display().to_string()
        ),
    )?;
    std::fs::write(g.join("src/lib.rs"), "//! Synthetic generated crate.\n#[rustfmt::skip]\npub mod resources;\n")?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Builds the release server and runs `server/examples/bench.rs`, which prints the figures.
/// (xtask runs it as a separate build so it never depends on the server crate.)
pub fn bench_server() -> Result<()> {
    let cargo = env!("CARGO");
    let root = project_root();
    let status = std::process::Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "-p", "gumloop-mcp", "--bins", "--example", "bench"])
        .status()?;
    anyhow::ensure!(status.success(), "building the release server failed");
    let status = std::process::Command::new(root.join("target/release/examples/bench")).status()?;
    anyhow::ensure!(status.success(), "the benchmark failed");
    Ok(())
}

/// Builds the release server and runs `server/examples/bench_replicas.rs` (replicas on
/// one throwaway PostgreSQL: admission cost, throughput with 1 and 3 replicas, revocation,
/// RSS).
pub fn bench_replicas() -> Result<()> {
    let root = project_root();
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "-p", "gumloop-mcp", "--bins", "--example", "bench_replicas"])
        .status()?;
    anyhow::ensure!(status.success(), "building the release server failed");
    let status = std::process::Command::new(root.join("target/release/examples/bench_replicas")).status()?;
    anyhow::ensure!(status.success(), "the benchmark failed");
    Ok(())
}

/// Runs `server/examples/bench_oauth.rs` (release): access-token validation plus grant
/// lookup per call, and the cost of one password check.
pub fn bench_oauth() -> Result<()> {
    let root = project_root();
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["run", "--release", "--quiet", "-p", "gumloop-mcp", "--example", "bench_oauth"])
        .status()?;
    anyhow::ensure!(status.success(), "the benchmark failed");
    Ok(())
}

/// Builds the release server and runs `server/examples/bench_sessions.rs` (the legacy
/// session flood); `--server PATH` floods another build instead, for a before/after.
pub fn bench_sessions(args: &[&str]) -> Result<()> {
    let server = match args {
        [] => None,
        ["--server", path] => Some(*path),
        _ => bail!("usage: cargo xtask bench-sessions [--server PATH]"),
    };
    let root = project_root();
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "-p", "gumloop-mcp", "--bins", "--example", "bench_sessions"])
        .status()?;
    anyhow::ensure!(status.success(), "building the release server failed");
    let mut bench = std::process::Command::new(root.join("target/release/examples/bench_sessions"));
    if let Some(path) = server {
        bench.args(["--server", path]);
    }
    anyhow::ensure!(bench.status()?.success(), "the benchmark failed");
    Ok(())
}

/// Runs `server/examples/tokens.rs`: the tools/list `tools` array as `/mcp` serves it,
/// counted in `o200k_base` tokens (totals, median, mean, p90, and a per-tool table). A
/// dev build: counting needs no optimisation, and the test builds share it.
pub fn tokens() -> Result<()> {
    let status =
        std::process::Command::new(env!("CARGO")).current_dir(project_root()).args(["run", "--quiet", "-p", "gumloop-mcp", "--example", "tokens"]).status()?;
    anyhow::ensure!(status.success(), "the token report failed");
    Ok(())
}
