//! `cargo xtask codegen [--check]`: the one writer of `generated/`.
//!
//! Write mode writes only files whose bytes changed and deletes orphans (generated files
//! whose source is gone). Check mode writes nothing and fails listing every stale file
//! and orphan with the command that fixes them.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use gumloop_mcp_codegen::{SpecFiles, emit::MARKER, generate};

use crate::project_root;

/// Write or check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write changed files, delete orphans.
    Write,
    /// Change nothing; fail if anything would change.
    Check,
}

/// The directories whose files the generator owns.
const OWNED_DIRS: &[&str] = &["src/resources", "mcp"];

pub fn run(mode: Mode) -> Result<()> {
    let root = project_root();
    let report = sync(&root.join("spec"), &root.join("generated"), mode)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match mode {
        Mode::Write => {
            for p in &report.written {
                eprintln!("wrote generated/{p}");
            }
            for p in &report.orphans {
                eprintln!("removed orphan generated/{p}");
            }
            if report.written.is_empty() && report.orphans.is_empty() {
                eprintln!("generated/ is up to date ({} files)", report.total);
            }
            Ok(())
        }
        Mode::Check if report.written.is_empty() && report.orphans.is_empty() => {
            eprintln!("generated/ is up to date ({} files)", report.total);
            Ok(())
        }
        Mode::Check => {
            let mut msg = String::from("generated/ is stale:\n");
            for p in &report.written {
                msg.push_str(&format!("  stale:  generated/{p}\n"));
            }
            for p in &report.orphans {
                msg.push_str(&format!("  orphan: generated/{p} (its source is gone)\n"));
            }
            msg.push_str("run `cargo xtask codegen` and commit the result");
            bail!(msg)
        }
    }
}

/// What a sync changed (or, in check mode, would change).
#[derive(Debug, Default)]
pub struct Report {
    pub written: Vec<String>,
    pub orphans: Vec<String>,
    pub warnings: Vec<String>,
    pub total: usize,
}

/// Generates from `spec_dir` and brings `out_dir` in line (or compares, in check mode).
pub fn sync(spec_dir: &Path, out_dir: &Path, mode: Mode) -> Result<Report> {
    let files = SpecFiles::read_dir(spec_dir, "spec")?;
    let generated = generate(&files)?;
    let mut report = Report { warnings: generated.warnings, total: generated.files.len(), ..Report::default() };
    let mut expected = BTreeSet::new();
    for f in &generated.files {
        expected.insert(f.path.clone());
        let path = out_dir.join(&f.path);
        let current = std::fs::read_to_string(&path).ok().map(|s| s.replace("\r\n", "\n"));
        if current.as_deref() != Some(f.contents.as_str()) {
            report.written.push(f.path.clone());
            if mode == Mode::Write {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                }
                std::fs::write(&path, &f.contents).with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    for dir in OWNED_DIRS {
        for rel in owned_files(out_dir, dir)? {
            if !expected.contains(&rel) {
                report.orphans.push(rel.clone());
                if mode == Mode::Write {
                    std::fs::remove_file(out_dir.join(&rel)).with_context(|| format!("removing {rel}"))?;
                }
            }
        }
    }
    if mode == Mode::Write {
        remove_empty_dirs(&out_dir.join("src/resources"));
    }
    Ok(report)
}

/// Files under `dir` that the generator owns: every `.rs` file carrying the marker, and
/// every file under `mcp/` (JSON has no comments to carry one).
fn owned_files(out_dir: &Path, dir: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![out_dir.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let path = e?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(out_dir).unwrap().to_string_lossy().replace('\\', "/");
            let owned = dir == "mcp" || std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with(MARKER));
            if owned {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                remove_empty_dirs(&e.path());
                let _ = std::fs::remove_dir(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// `cargo test` fails when generated/ is not what spec/ produces.
    #[test]
    fn codegen_is_fresh() {
        if let Err(e) = super::run(super::Mode::Check) {
            panic!("{e:#}");
        }
    }
}
