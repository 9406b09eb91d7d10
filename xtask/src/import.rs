//! `cargo xtask import-openapi FILE --resource-map MAP [--out DIR] [--name NAME] [--force]`
//! drafts spec files from an OpenAPI 3.0 document (default output `target/openapi-draft/`);
//! `cargo xtask import-openapi --compare FILE...` lists how `spec/` differs from published
//! OpenAPI documents (informative: it always exits 0 once the files load).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use gumloop_mcp_codegen::import::{ImportOptions, compare, import_openapi_with, parse_resource_map};
use gumloop_mcp_codegen::{SpecFiles, load};

use crate::project_root;

const USAGE: &str =
    "usage:\n  cargo xtask import-openapi FILE --resource-map MAP [--out DIR] [--name NAME] [--force]\n  cargo xtask import-openapi --compare FILE...";

/// The parsed command line of the draft mode.
#[derive(Debug, Default, PartialEq)]
struct Args {
    file: String,
    map: String,
    out: Option<PathBuf>,
    name: Option<String>,
    force: bool,
}

pub fn run(args: &[&str]) -> Result<()> {
    match args {
        ["--compare"] => bail!("--compare needs at least one OpenAPI file\n{USAGE}"),
        ["--compare", files @ ..] => compare_cmd(files),
        ["--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => draft_cmd(&parse_args(args)?),
    }
}

fn parse_args(args: &[&str]) -> Result<Args> {
    let (mut file, mut map, mut a) = (None, None, Args::default());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().map(|s| s.to_string()).with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match *arg {
            "--resource-map" => map = Some(value("--resource-map")?),
            "--out" => a.out = Some(PathBuf::from(value("--out")?)),
            "--name" => a.name = Some(value("--name")?),
            "--force" => a.force = true,
            f if !f.starts_with("--") && file.is_none() => file = Some(f.to_owned()),
            other => bail!("unexpected argument `{other}`\n{USAGE}"),
        }
    }
    match (file, map) {
        (Some(file), Some(map)) => Ok(Args { file, map, ..a }),
        (None, _) => bail!("no OpenAPI file given\n{USAGE}"),
        (_, None) => bail!("--resource-map is required (a file with `\"*\": auto` drafts everything)\n{USAGE}"),
    }
}

fn draft_cmd(a: &Args) -> Result<()> {
    let doc = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file))?;
    let map_text = std::fs::read_to_string(&a.map).with_context(|| format!("reading {}", a.map))?;
    let map = parse_resource_map(&map_text).with_context(|| a.map.clone())?;
    let draft = import_openapi_with(&doc, &map, &ImportOptions { name: a.name.clone() }).with_context(|| a.file.clone())?;
    let out = a.out.clone().unwrap_or_else(|| project_root().join("target/openapi-draft"));
    let targets: Vec<(PathBuf, &String)> = draft.files.iter().map(|(rel, text)| (out.join(rel), text)).collect();
    let existing: Vec<String> = targets.iter().filter(|(p, _)| p.exists()).map(|(p, _)| p.display().to_string()).collect();
    if !existing.is_empty() && !a.force {
        bail!("not overwriting existing files (pass --force to replace them):\n  {}", existing.join("\n  "));
    }
    for (path, text) in &targets {
        write(path, text)?;
        println!("wrote {}", path.display());
    }
    for s in &draft.skipped {
        println!("skipped: {s}");
    }
    for n in &draft.notes {
        println!("note: {n}");
    }
    println!(
        "{} files in {}; {} operations skipped, {} notes. Review them, then merge into spec/ and run `cargo xtask codegen`.",
        targets.len(),
        out.display(),
        draft.skipped.len(),
        draft.notes.len()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn compare_cmd(files: &[&str]) -> Result<()> {
    let spec_dir = project_root().join("spec");
    let spec = load::load(&SpecFiles::read_dir(&spec_dir, "spec")?).context("loading spec/")?;
    let texts: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).with_context(|| format!("reading {f}"))).collect::<Result<_>>()?;
    let labelled: Vec<(&str, &str)> = files.iter().zip(&texts).map(|(f, t)| (label(f), t.as_str())).collect();
    let c = compare(&spec, &labelled)?;
    for line in c.lines() {
        println!("{line}");
    }
    println!("{} operations matched, {} not in the spec, {} spec methods not in these documents", c.matched.len(), c.not_in_spec.len(), c.not_in_openapi.len());
    Ok(())
}

/// A file's name without directories, for short output lines.
fn label(f: &str) -> &str {
    Path::new(f).file_name().and_then(|n| n.to_str()).unwrap_or(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let a = parse_args(&["api.yml", "--resource-map", "map.yaml", "--out", "d", "--name", "acme", "--force"]).unwrap();
        assert_eq!(a, Args { file: "api.yml".into(), map: "map.yaml".into(), out: Some("d".into()), name: Some("acme".into()), force: true });
        assert!(parse_args(&["api.yml"]).unwrap_err().to_string().contains("--resource-map is required"));
        assert!(parse_args(&["api.yml", "--resource-map"]).unwrap_err().to_string().contains("needs a value"));
        assert!(parse_args(&["a", "b", "--resource-map", "m"]).unwrap_err().to_string().contains("unexpected argument `b`"));
    }

    #[test]
    fn drafts_without_overwriting() {
        let dir = std::env::temp_dir().join(format!("xtask-import-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let doc = dir.join("api.yml");
        std::fs::write(&doc, "openapi: 3.0.0\ninfo: {title: Acme, version: '1'}\nservers: [{url: 'https://acme.test'}]\npaths:\n  /things:\n    get:\n      responses: {'200': {description: ok}}\n").unwrap();
        let map = dir.join("map.yaml");
        std::fs::write(&map, "\"*\": auto\n").unwrap();
        let out = dir.join("out");
        let a = Args { file: doc.display().to_string(), map: map.display().to_string(), out: Some(out.clone()), name: None, force: false };
        draft_cmd(&a).unwrap();
        assert!(out.join("resources/things.yaml").is_file() && out.join("integration.yaml").is_file());
        std::fs::write(out.join("integration.yaml"), "edited").unwrap();
        assert!(draft_cmd(&a).unwrap_err().to_string().contains("--force"));
        assert_eq!(std::fs::read_to_string(out.join("integration.yaml")).unwrap(), "edited");
        draft_cmd(&Args { force: true, ..a }).unwrap();
        assert!(std::fs::read_to_string(out.join("integration.yaml")).unwrap().contains("name: acme"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
