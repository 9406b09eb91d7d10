//! `cargo xtask import-openapi FILE --resource-map MAP [--out DIR] [--name NAME] [--force]`
//! drafts spec files from an OpenAPI 3.0 document; `--compare FILE...` lists the
//! differences between our spec and published OpenAPI documents.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use gumloop_mcp_codegen::import::{compare, import_openapi, missing_from_documents, parse_resource_map};
use gumloop_mcp_codegen::{SpecFiles, load};

use crate::project_root;

pub fn run(args: &[&str]) -> Result<()> {
    if let ["--compare", files @ ..] = args {
        return compare_cmd(files);
    }
    let (mut file, mut map, mut out, mut name, mut force) = (None, None, None, "gumloop".to_owned(), false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--resource-map" => map = it.next().copied(),
            "--out" => out = it.next().map(PathBuf::from),
            "--name" => name = it.next().context("--name needs a value")?.to_string(),
            "--force" => force = true,
            f if file.is_none() && !f.starts_with("--") => file = Some(f),
            other => bail!("unexpected argument `{other}`"),
        }
    }
    let (Some(file), Some(map)) = (file, map) else {
        bail!("usage: cargo xtask import-openapi FILE --resource-map MAP [--out DIR] [--name NAME] [--force]\n       cargo xtask import-openapi --compare FILE...");
    };
    let doc = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    let map = parse_resource_map(&std::fs::read_to_string(map).with_context(|| format!("reading {map}"))?)?;
    let draft = import_openapi(&doc, &map, &name)?;
    let out = out.unwrap_or_else(|| project_root().join("target/openapi-draft"));
    for (rel, text) in &draft.files {
        let path = out.join(rel);
        if path.exists() && !force {
            bail!("{} exists; pass --force to overwrite", path.display());
        }
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, text)?;
        eprintln!("wrote {}", path.display());
    }
    for s in &draft.skipped {
        eprintln!("skipped (not in the resource map): {s}");
    }
    for n in &draft.notes {
        eprintln!("note: {n}");
    }
    Ok(())
}

fn compare_cmd(files: &[&str]) -> Result<()> {
    let spec = load::load(&SpecFiles::read_dir(&project_root().join("spec"), "spec")?)?;
    let texts: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).with_context(|| format!("reading {f}"))).collect::<Result<_>>()?;
    for (f, t) in files.iter().zip(&texts) {
        for line in compare(&spec, t)? {
            println!("{f}: {line}");
        }
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for line in missing_from_documents(&spec, &refs)? {
        println!("{line}");
    }
    Ok(())
}
