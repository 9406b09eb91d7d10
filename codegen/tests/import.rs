//! The OpenAPI importer: a hand-written fixture drafted with an explicit resource map is
//! snapshotted under `tests/output/openapi/` (run with `EXPECTORATE=overwrite` to
//! accept changes); every published Gumloop OpenAPI file (in `../shared/reference/`
//! beside the repository) drafts a spec the generator accepts; and `compare` checks our
//! committed spec against those files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gumloop_mcp_codegen::import::{Draft, ImportOptions, ResourceMap, compare, import_openapi, import_openapi_with, parse_resource_map};
use gumloop_mcp_codegen::{SpecFiles, generate, load};

const GUMLOOP_OPENAPI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/gumloop-openapi");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi").join(name)).unwrap()
}

fn gumloop_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(GUMLOOP_OPENAPI)
        .expect("the published OpenAPI files in ../shared/reference/gumloop-openapi beside the repository")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    v.sort();
    v
}

fn as_spec(draft: &Draft) -> SpecFiles {
    draft.files.iter().fold(SpecFiles::new("draft"), |s, (p, t)| s.with(p, t.clone()))
}

fn tool_names(draft: &Draft) -> Vec<String> {
    let out = generate(&as_spec(draft)).unwrap_or_else(|e| panic!("the draft does not generate: {e}\n{:#?}", draft.files));
    let tools = &out.files.iter().find(|f| f.path == "mcp/tools.json").unwrap().contents;
    let tools: serde_json::Value = serde_json::from_str(tools).unwrap();
    let list = tools.as_array().or_else(|| tools["tools"].as_array()).expect("tools.json lists tools");
    list.iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn petstore_snapshot() {
    let map = parse_resource_map(&fixture("petstore.map.yaml")).unwrap();
    let draft = import_openapi(&fixture("petstore.yaml"), &map).unwrap();
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/openapi/petstore");
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for (rel, text) in &draft.files {
        let path = out_dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        expectorate::assert_contents(&path, text);
        expected.insert(rel.clone());
    }
    let mut report = String::from("# skipped\n");
    draft.skipped.iter().for_each(|s| report.push_str(&format!("{s}\n")));
    report.push_str("\n# notes\n");
    draft.notes.iter().for_each(|n| report.push_str(&format!("{n}\n")));
    expectorate::assert_contents(out_dir.join("REPORT.txt"), &report);
    expected.insert("REPORT.txt".into());

    let mut found = BTreeSet::new();
    for sub in ["", "resources", "docs"] {
        for e in std::fs::read_dir(out_dir.join(sub)).unwrap().flatten().filter(|e| e.path().is_file()) {
            let name = e.file_name().to_string_lossy().into_owned();
            found.insert(if sub.is_empty() { name } else { format!("{sub}/{name}") });
        }
    }
    assert_eq!(found, expected, "stale snapshot files in {}", out_dir.display());

    let names = tool_names(&draft);
    for n in ["list_all_petstore_pets", "get_single_petstore_pet_by_id", "delete_a_petstore_pet_by_id", "get_single_petstore_owner_by_id"] {
        assert!(names.contains(&n.to_owned()), "{n} missing from {names:?}");
    }
    assert!(names.iter().all(|n| n.len() <= 64), "{names:?}");
    assert!(draft.skipped.iter().any(|s| s.contains("getInventory")), "{:?}", draft.skipped);
    assert!(draft.notes.iter().any(|n| n.contains("`listVeterinarians` matches no operation")), "{:#?}", draft.notes);
    let pets = &draft.files["resources/pets.yaml"];
    for want in ["http: GET /pets/{id}", "pagination: cursor", "body_format: multipart", "- photo\n", "- extra\n", "response: binary", "base: ws"] {
        assert!(pets.contains(want), "`{want}` missing:\n{pets}");
    }
    let defs = &draft.files["definitions.yaml"];
    assert!(!defs.contains("Unused") && !defs.contains("#/components") && !defs.contains("example"), "{defs}");
}

#[test]
fn petstore_with_an_auto_map_drafts_every_operation() {
    let draft = import_openapi(&fixture("petstore.yaml"), &ResourceMap::auto()).unwrap();
    assert_eq!(draft.skipped, ["GET /pets/{pet_id}.pdf (getPetRecordPdf) (a path parameter is not a whole segment)"]);
    let names = tool_names(&draft);
    assert_eq!(names.len(), 11, "{names:?}");
    let pets = &draft.files["resources/pets.yaml"];
    assert!(pets.contains("  list:\n    http: GET /pets\n") && pets.contains("  get:\n    http: GET /pets/{id}\n"), "{pets}");
    assert!(pets.contains("upload_pet_photos:"), "custom keys come from the operationId:\n{pets}");
    assert_eq!(draft, import_openapi(&fixture("petstore.yaml"), &ResourceMap::auto()).unwrap(), "drafting is deterministic");
}

#[test]
fn every_published_gumloop_openapi_file_drafts_a_valid_spec() {
    let files = gumloop_files();
    assert_eq!(files.len(), 14, "{files:?}");
    let map = parse_resource_map("\"*\": auto\n").unwrap();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for options in [ImportOptions::default(), ImportOptions { name: Some("gumloop".into()) }] {
            let draft = import_openapi_with(&text, &map, &options).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let out = generate(&as_spec(&draft)).unwrap_or_else(|e| panic!("{} ({options:?}): {e}", f.display()));
            assert!(out.files.len() > 2, "{}: no tools drafted", f.display());
            assert!(draft.skipped.is_empty(), "{}: {:?}", f.display(), draft.skipped);
            assert!(out.warnings.is_empty(), "{}: {:?}", f.display(), out.warnings);
        }
    }
}

#[test]
fn an_explicit_map_drafts_only_what_it_names() {
    let text = std::fs::read_to_string(Path::new(GUMLOOP_OPENAPI).join("gumloop-sessions-api-openapi.yml")).unwrap();
    let map = parse_resource_map("listSessions: sessions.list\n\"GET /sessions/{session_id}\": sessions.get\n").unwrap();
    let draft = import_openapi_with(&text, &map, &ImportOptions { name: Some("gumloop".into()) }).unwrap();
    let resource = &draft.files["resources/sessions.yaml"];
    assert!(resource.contains("http: GET /sessions/{id}"), "the by-id parameter becomes `id`:\n{resource}");
    assert!(resource.contains("pagination: cursor"), "{resource}");
    assert!(!draft.skipped.is_empty(), "unmapped operations are reported as skipped");
    let names = tool_names(&draft);
    assert_eq!(names, ["get_single_gumloop_session_by_id", "list_all_gumloop_sessions"]);
    assert!(draft.files["docs/sessions.yaml"].contains("TODO: rewrite in your own words"));
}

#[test]
fn clashing_and_long_tool_names_are_made_valid() {
    let doc = fixture("petstore.yaml");
    // `pets.export` and `pet.export` both name `export_petstore_pet`.
    let map = parse_resource_map("exportPetRecord: pets.export\ngetPet: pet.export\n").unwrap();
    let draft = import_openapi(&doc, &map).unwrap();
    let names = tool_names(&draft);
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"export_petstore_pet".to_owned()) && names.contains(&"export_petstore_pet_2".to_owned()), "{names:?}");
    assert!(draft.notes.iter().any(|n| n.contains("is already taken")), "{:#?}", draft.notes);
}

#[test]
fn json_documents_import_too() {
    let yaml: serde_json::Value = serde_yaml::from_str(&fixture("petstore.yaml")).unwrap();
    let json = serde_json::to_string_pretty(&yaml).unwrap();
    let map = parse_resource_map(&fixture("petstore.map.yaml")).unwrap();
    assert_eq!(import_openapi(&json, &map).unwrap(), import_openapi(&fixture("petstore.yaml"), &map).unwrap());
}

#[test]
fn bad_input_is_rejected() {
    assert!(parse_resource_map("listSessions: sessions\n").unwrap_err().to_string().contains("resource.method"));
    let swagger = "swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n";
    assert!(import_openapi(swagger, &ResourceMap::auto()).unwrap_err().to_string().contains("2.0 is not supported"));
    let v31 = "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\n";
    assert!(import_openapi(v31, &ResourceMap::auto()).unwrap_err().to_string().contains("3.1.0 is not supported"));
    let bad_name = import_openapi_with(&fixture("petstore.yaml"), &ResourceMap::auto(), &ImportOptions { name: Some("Pet-Store".into()) });
    assert!(bad_name.unwrap_err().to_string().contains("bad integration name"));
}

#[test]
fn compare_finds_what_the_spec_covers() {
    let data_access = std::fs::read_to_string(Path::new(GUMLOOP_OPENAPI).join("gumloop-data-access-api-openapi.yml")).unwrap();
    let docs = [("data-access", data_access.as_str())];

    // A spec without it reports it missing ...
    let petstore = import_openapi(&fixture("petstore.yaml"), &ResourceMap::auto()).unwrap();
    let spec = load::load(&as_spec(&petstore)).unwrap();
    let c = compare(&spec, &docs).unwrap();
    assert!(c.not_in_spec.iter().any(|l| l.starts_with("data-access: GET /list_saved_items")), "{c:#?}");
    assert!(c.not_in_openapi.iter().any(|l| l == "pets.list: GET /pets"), "{c:#?}");
    assert!(c.matched.is_empty());

    // ... and our committed spec describes it (`flows.list`).
    let spec_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let spec = load::load(&SpecFiles::read_dir(&spec_dir, "spec").unwrap()).unwrap();
    let c = compare(&spec, &docs).unwrap();
    assert!(c.matched.iter().any(|l| l.starts_with("GET /list_saved_items = ")), "{c:#?}");
    assert!(!c.not_in_spec.iter().any(|l| l.contains("GET /list_saved_items")), "{c:#?}");
}

#[test]
fn our_spec_covers_every_published_operation() {
    let spec_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let spec = load::load(&SpecFiles::read_dir(&spec_dir, "spec").unwrap()).unwrap();
    let texts: Vec<(String, String)> =
        gumloop_files().iter().map(|f| (f.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(f).unwrap())).collect();
    let docs: Vec<(&str, &str)> = texts.iter().map(|(l, t)| (l.as_str(), t.as_str())).collect();
    let c = compare(&spec, &docs).unwrap();
    assert!(c.not_in_spec.is_empty(), "published operations the spec does not describe: {:#?}", c.not_in_spec);
    // These come from docs.gumloop.com pages that the OpenAPI snapshot lacks (start-agent,
    // retrieve-agent-status, agent triggers and versions, list-organizations). Anything
    // else missing from the documents is a spec mistake.
    let docs_only = [
        "agent_runs.create",
        "agent_runs.get",
        "agent_triggers.delete",
        "agent_triggers.get_webhook_url",
        "agent_triggers.list",
        "agent_versions.get",
        "agent_versions.list",
        "organizations.list",
    ];
    let missing: Vec<&str> = c.not_in_openapi.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(missing, docs_only, "spec methods the published OpenAPI does not list");
}
