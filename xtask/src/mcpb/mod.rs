//! `cargo xtask mcpb [--out PATH] [--profile release|dev | --binary PATH] [--server-json OUT]`:
//! builds the `gumloop-mcp` binary (or takes a built one) and packs it as an MCP Bundle (`.mcpb`, a zip the desktop apps
//! install with one click): `manifest.json` (see `manifest.rs`), `icon.png`
//! (`deploy/mcpb/`), and the binary under `server/`. The zip is deterministic: entries in
//! sorted order, one fixed timestamp, fixed modes. `--server-json OUT` also writes the
//! repository's `server.json` with this bundle's SHA-256 filled in (see `server_json.rs`).

mod manifest;
mod server_json;

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zip::write::{SimpleFileOptions, ZipWriter};
use zip::{CompressionMethod, DateTime};

use crate::project_root;

const USAGE: &str = "usage: cargo xtask mcpb [--out PATH] [--profile release|dev | --binary PATH] [--server-json OUT]";

#[derive(Debug, Clone, PartialEq)]
enum Source {
    Build(Profile),
    /// A binary built already, for this host: the test command packs the one its other
    /// checks ran. (Building `-p gumloop-mcp` alone would compile it again: the test
    /// command builds it with `-p gumloop-testkit`, whose dependency features differ.)
    Binary(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Profile {
    Release,
    Dev,
}

#[derive(Debug)]
struct Args {
    out: Option<PathBuf>,
    source: Source,
    server_json: Option<PathBuf>,
}

fn parse(args: &[&str]) -> Result<Args> {
    let (mut out, mut profile, mut binary, mut server_json) = (None, None, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().copied().with_context(|| format!("{arg} needs a value\n{USAGE}"));
        match *arg {
            "--out" => out = Some(value()?.into()),
            "--server-json" => server_json = Some(value()?.into()),
            "--binary" => binary = Some(PathBuf::from(value()?)),
            "--profile" => {
                profile = Some(match value()? {
                    "release" => Profile::Release,
                    "dev" => Profile::Dev,
                    other => bail!("--profile {other}: expected release or dev\n{USAGE}"),
                })
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    let source = match (profile, binary) {
        (Some(_), Some(_)) => bail!("--profile and --binary: give one (--binary packs a binary built already)\n{USAGE}"),
        (_, Some(path)) => Source::Binary(path),
        (profile, None) => Source::Build(profile.unwrap_or(Profile::Release)),
    };
    Ok(Args { out, source, server_json })
}

pub fn run(args: &[&str]) -> Result<()> {
    let args = parse(args)?;
    let root = project_root();
    let pkg = package_metadata(&root)?;
    let tools: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("generated/mcp/tools.json"))?).context("reading generated/mcp/tools.json")?;
    let (os, arch, exe) = (std::env::consts::OS, std::env::consts::ARCH, std::env::consts::EXE_SUFFIX);
    let manifest = manifest::build(&pkg, &tools, os, exe)?;

    let (binary, kind) = match &args.source {
        Source::Build(profile) => (build_binary(*profile)?, if *profile == Profile::Release { "release" } else { "dev" }),
        Source::Binary(path) => {
            ensure!(path.is_file(), "--binary {}: no such file", path.display());
            (path.clone(), "given")
        }
    };
    let file_name = bundle_file_name(&pkg.version, manifest::platform(os)?, arch);
    let out = match args.out {
        Some(out) => out,
        // <target dir>/<profile dir>/gumloop-mcp → <target dir>/mcpb/
        None => binary.parent().and_then(Path::parent).context("the binary has no target directory")?.join("mcpb").join(&file_name),
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let icon = std::fs::read(root.join("deploy/mcpb/icon.png")).context("reading deploy/mcpb/icon.png")?;
    let manifest_text = serde_json::to_string_pretty(&manifest)? + "\n";
    let packing = std::time::Instant::now();
    write_bundle(&out, &manifest_text, &icon, &binary, &manifest::entry_point(exe))?;

    let sha = sha256_file(&out)?;
    println!("{}", out.display());
    eprintln!(
        "mcpb: {} ({:.1} MB from a {:.1} MB binary, packed and hashed in {:.1} s, sha256 {sha}): {} tools, {} binary for {os}-{arch}",
        out.display(),
        std::fs::metadata(&out)?.len() as f64 / 1e6,
        std::fs::metadata(&binary)?.len() as f64 / 1e6,
        packing.elapsed().as_secs_f64(),
        tools.len(),
        kind,
    );
    if let Some(path) = args.server_json {
        let template = std::fs::read_to_string(root.join("server.json")).context("reading server.json")?;
        let stamped = server_json::stamp(&serde_json::from_str(&template).context("parsing server.json")?, &file_name, &sha)?;
        std::fs::write(&path, serde_json::to_string_pretty(&stamped)? + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("mcpb: wrote {} with this bundle's fileSha256", path.display());
    }
    Ok(())
}

/// `gumloop-mcp-0.1.0-linux-x86_64.mcpb`: the binary inside is for one platform and CPU.
fn bundle_file_name(version: &str, platform: &str, arch: &str) -> String {
    format!("gumloop-mcp-{version}-{platform}-{arch}.mcpb")
}

/// Builds the binary and returns its path, as Cargo reports it (so CARGO_TARGET_DIR and
/// the profile directory are whatever Cargo used).
fn build_binary(profile: Profile) -> Result<PathBuf> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--locked", "-p", "gumloop-mcp", "--bin", "gumloop-mcp", "--message-format=json-render-diagnostics"]);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    let output = cmd.current_dir(project_root()).stderr(Stdio::inherit()).output().context("running cargo build")?;
    ensure!(output.status.success(), "cargo build -p gumloop-mcp failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "gumloop-mcp")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .context("cargo build reported no gumloop-mcp executable")
}

/// The `gumloop-mcp` package's metadata as Cargo resolves it (the workspace's values).
fn package_metadata(root: &Path) -> Result<manifest::Package> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo metadata")?;
    ensure!(output.status.success(), "cargo metadata failed");
    let meta: Value = serde_json::from_slice(&output.stdout)?;
    let pkg =
        meta["packages"].as_array().and_then(|ps| ps.iter().find(|p| p["name"] == "gumloop-mcp")).context("cargo metadata lists no gumloop-mcp package")?;
    let field =
        |name: &str| pkg[name].as_str().map(str::to_owned).with_context(|| format!("the gumloop-mcp package has no {name} (set it in [workspace.package])"));
    Ok(manifest::Package {
        version: field("version")?,
        license: field("license")?,
        author: pkg["authors"]
            .get(0)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .context("the gumloop-mcp package has no authors (set them in [workspace.package])")?,
        homepage: field("homepage")?,
        repository: field("repository")?,
    })
}

/// Writes the zip: files only (no directory entries), sorted by path, all dated 1980-01-01
/// (the zip epoch), the binary executable and the rest read-only to others.
fn write_bundle(out: &Path, manifest: &str, icon: &[u8], binary: &Path, entry: &str) -> Result<()> {
    let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).last_modified_time(DateTime::default());
    let mut entries: Vec<(&str, u32)> = vec![("icon.png", 0o644), ("manifest.json", 0o644), (entry, 0o755)];
    entries.sort();
    for (name, mode) in entries {
        zip.start_file(name, options.unix_permissions(mode))?;
        match name {
            "icon.png" => zip.write_all(icon)?,
            "manifest.json" => zip.write_all(manifest.as_bytes())?,
            _ => {
                let mut bin = BufReader::new(File::open(binary).with_context(|| format!("opening {}", binary.display()))?);
                std::io::copy(&mut bin, &mut zip)?;
            }
        }
    }
    zip.finish()?.flush()?;
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut BufReader::new(File::open(path)?), &mut hasher)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn arguments_are_parsed_and_bad_ones_named() {
        let a = parse(&["--profile", "dev", "--out", "x.mcpb"]).unwrap();
        assert_eq!((a.source, a.out.as_deref()), (Source::Build(Profile::Dev), Some(Path::new("x.mcpb"))));
        assert_eq!(parse(&[]).unwrap().source, Source::Build(Profile::Release));
        assert_eq!(parse(&["--binary", "b"]).unwrap().source, Source::Binary("b".into()));
        for (args, names) in [
            (&["--profile", "fast"][..], "--profile fast"),
            (&["--bogus"], "--bogus"),
            (&["--out"], "--out needs a value"),
            (&["--profile", "dev", "--binary", "b"], "--profile and --binary"),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(names) && err.contains("usage:"), "{err}");
        }
    }

    #[test]
    fn the_zip_is_deterministic_sorted_and_keeps_the_binary_executable() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"\x7fELF fake binary").unwrap();
        let (a, b) = (dir.path().join("a.mcpb"), dir.path().join("b.mcpb"));
        write_bundle(&a, "{}\n", b"png", &bin, "server/gumloop-mcp").unwrap();
        write_bundle(&b, "{}\n", b"png", &bin, "server/gumloop-mcp").unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "two builds differ");

        let mut zip = zip::ZipArchive::new(File::open(&a).unwrap()).unwrap();
        let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
        assert_eq!(names, ["icon.png", "manifest.json", "server/gumloop-mcp"]);
        for i in 0..zip.len() {
            // Not the clock: the same inputs give the same bytes on any day.
            assert_eq!(zip.by_index(i).unwrap().last_modified(), Some(DateTime::default()));
        }
        let mut entry = zip.by_name("server/gumloop-mcp").unwrap();
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        assert_eq!(body, b"\x7fELF fake binary");
    }

    #[test]
    fn the_file_name_says_version_platform_and_cpu() {
        assert_eq!(bundle_file_name("0.1.0", "darwin", "aarch64"), "gumloop-mcp-0.1.0-darwin-aarch64.mcpb");
    }
}
