//! Benchmarks of the generator (filled in later).
use anyhow::Result;
pub fn synth_cmd(_args: &[&str]) -> Result<()> { anyhow::bail!("not yet") }
pub fn bench_codegen(_args: &[&str]) -> Result<()> { anyhow::bail!("not yet") }
