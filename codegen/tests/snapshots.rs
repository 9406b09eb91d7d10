//! Snapshot tests: each fixture spec under `tests/fixtures/` is generated and compared
//! with `tests/output/<fixture>.rs` and `<fixture>.tools.json`.
//! Run with `EXPECTORATE=overwrite` to accept changes. `tests/compile.rs` compiles the
//! `.rs` snapshots, so a snapshot that does not build fails the test suite.

use std::path::Path;

use gumloop_mcp_codegen::{SpecFiles, emit, generate, load, lower, validate};

fn fixture(name: &str) -> SpecFiles {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    SpecFiles::read_dir(&dir, "spec").unwrap()
}

fn check(name: &str) {
    let files = fixture(name);
    let spec = load::load(&files).unwrap();
    validate::validate(&spec).unwrap();
    let model = lower::lower(&spec).unwrap();
    let rust = emit::single_file(&model).unwrap();
    expectorate::assert_contents(format!("tests/output/{name}.rs"), &rust);

    // tools.json is compared as parsed JSON, so formatting alone never fails it.
    let out = generate(&files).unwrap();
    let json = &out.files.iter().find(|f| f.path == "mcp/tools.json").unwrap().contents;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/output/{name}.tools.json"));
    let actual: serde_json::Value = serde_json::from_str(json).unwrap();
    if std::env::var("EXPECTORATE").as_deref() == Ok("overwrite") {
        std::fs::write(&path, json).unwrap();
    }
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("snapshot exists; run with EXPECTORATE=overwrite")).unwrap();
    assert_eq!(actual, expected, "tools.json of fixture `{name}` changed; run with EXPECTORATE=overwrite to accept");
}

#[test]
fn basic() {
    check("basic");
}

#[test]
fn multipart() {
    check("multipart");
}

#[test]
fn behaviours() {
    check("behaviours");
}

#[test]
fn generation_is_deterministic() {
    let a = generate(&fixture("basic")).unwrap().files;
    let b = generate(&fixture("basic")).unwrap().files;
    assert_eq!(a, b);
}

#[test]
fn undocumented_method_is_skipped_with_a_warning() {
    let out = generate(&fixture("basic")).unwrap();
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].contains("method `undocumented` has no documentation record"), "{}", out.warnings[0]);
    assert!(out.files.iter().all(|f| !f.contents.contains("undocumented_acme_widget")));
}

#[test]
fn every_generated_file_has_the_header() {
    for f in generate(&fixture("basic")).unwrap().files {
        if f.path.ends_with(".rs") {
            assert!(f.contents.starts_with(emit::MARKER), "{} lacks the header", f.path);
            assert!(f.contents.contains("run `cargo xtask codegen`"), "{}", f.path);
        }
    }
}

#[test]
fn editing_one_record_changes_only_that_tools_files() {
    let files = fixture("basic");
    let before = generate(&files).unwrap().files;
    let docs = files.files["spec/docs/widgets.yaml"].replace("Read one widget.", "Read one widget by its id.");
    let after = generate(&files.clone().with("docs/widgets.yaml", docs)).unwrap().files;
    let changed: Vec<&str> = before.iter().zip(&after).filter(|(a, b)| a != b).map(|(a, _)| a.path.as_str()).collect();
    assert_eq!(before.len(), after.len());
    assert_eq!(changed, ["mcp/tools.json", "src/resources/widgets/get_single_acme_widget_by_id.rs"]);
    let old: Vec<serde_json::Value> = serde_json::from_str(&before[0].contents).unwrap();
    let new: Vec<serde_json::Value> = serde_json::from_str(&after[0].contents).unwrap();
    let differing: Vec<&str> = old.iter().zip(&new).filter(|(a, b)| a != b).map(|(a, _)| a["name"].as_str().unwrap()).collect();
    assert_eq!(differing, ["get_single_acme_widget_by_id"]);
}

#[test]
fn every_tool_has_a_title_and_the_hints_a_directory_wants() {
    for name in ["basic", "multipart", "behaviours"] {
        let out = generate(&fixture(name)).unwrap();
        let json = &out.files.iter().find(|f| f.path == "mcp/tools.json").unwrap().contents;
        let tools: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
        for t in tools {
            let title = t["title"].as_str().unwrap_or_default();
            assert!(!title.is_empty() && t["annotations"].get("title").is_none(), "{t}");
            let hints = &t["annotations"];
            let read_only = hints["readOnlyHint"].as_bool().unwrap_or_else(|| panic!("{} lacks readOnlyHint", t["name"]));
            // A tool that writes says whether it destroys; a read-only one carries neither
            // write hint (MCP: they mean nothing there).
            assert_eq!(hints["destructiveHint"].is_boolean(), !read_only, "{t}");
            assert!(!read_only || hints.get("idempotentHint").is_none(), "{t}");
            // Hints equal to MCP's defaults are left out.
            assert_ne!(hints.get("idempotentHint"), Some(&serde_json::json!(false)), "{t}");
            assert_ne!(hints.get("openWorldHint"), Some(&serde_json::json!(true)), "{t}");
        }
    }
}
