//! `cargo xtask import-openapi` (filled in later).
use anyhow::Result;
pub fn run(_args: &[&str]) -> Result<()> { anyhow::bail!("not yet") }
