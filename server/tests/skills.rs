//! Skill uploads against the fake Gumloop: the three forms (`skill_markdown` with
//! name/description, `files`, `archive_base64`) packaged by the server into the
//! multipart Gumloop expects, and every bad skill refused before any upload.

mod common;

use std::io::{Cursor, Read, Write};

use base64::Engine as _;
use common::{start, text_of};
use gumloop_testkit::{RecordedBody, RecordedPart, RecordedRequest};
use serde_json::{Value, json};

const CREATE: &str = "create_a_gumloop_skill";
const UPDATE: &str = "update_a_gumloop_skill_by_id";
const MD: &str = "---\nname: triage\ndescription: Sort tickets by urgency\n---\n# Triage\n";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A zip of `entries`, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The only upload the fake received, and its parts.
fn upload(requests: Vec<RecordedRequest>) -> (RecordedRequest, Vec<RecordedPart>) {
    let uploads: Vec<_> = requests.into_iter().filter(|r| r.path.contains("/skills")).collect();
    assert_eq!(uploads.len(), 1, "exactly one upload: {uploads:?}");
    let r = uploads.into_iter().next().unwrap();
    let RecordedBody::Multipart(parts) = r.body.clone() else { panic!("not multipart: {:?}", r.body) };
    (r, parts)
}

fn ok(result: &Value) -> &Value {
    assert!(result.get("isError").is_none_or(|e| e == false), "{result}");
    &result["structuredContent"]["skill"]
}

#[tokio::test]
async fn markdown_with_name_and_description_gets_its_frontmatter_written() {
    let h = start().await;
    let r = h
        .call(
            CREATE,
            json!({"skill_markdown": "# Triage\nSort the queue.\n", "name": "triage", "description": "Sort tickets: by urgency", "team_id": "team_9"}),
        )
        .await;
    assert_eq!(ok(&r)["name"], "triage");
    assert_eq!(ok(&r)["description"], "Sort tickets: by urgency", "YAML-quoted as needed and read back by the fake");
    let (req, parts) = upload(h.fake.take_requests());
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/api/v1/skills"));
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!((parts[0].name.as_str(), parts[0].filename.as_deref(), parts[0].content_type.as_deref()), ("files", Some("SKILL.md"), Some("text/markdown")));
    assert_eq!(
        String::from_utf8(parts[0].bytes.clone()).unwrap(),
        "---\nname: triage\ndescription: 'Sort tickets: by urgency'\n---\n\n# Triage\nSort the queue.\n"
    );
    assert_eq!((parts[1].name.as_str(), parts[1].bytes.as_slice()), ("team_id", b"team_9".as_slice()), "team_id still passes through");
}

#[tokio::test]
async fn markdown_with_its_own_frontmatter_is_checked_against_the_arguments() {
    let h = start().await;
    let r = h.call(CREATE, json!({"skill_markdown": MD, "name": "triage"})).await;
    assert_eq!(ok(&r)["name"], "triage");
    let (_, parts) = upload(h.fake.take_requests());
    assert_eq!(parts[0].bytes, MD.as_bytes(), "sent unchanged");

    let r = h.call(CREATE, json!({"skill_markdown": MD, "name": "routing", "description": "Sort tickets by urgency"})).await;
    assert_eq!(r["isError"], true);
    assert_eq!(
        text_of(&r),
        "invalid skill for `create_a_gumloop_skill` (nothing was sent to Gumloop): the frontmatter of `skill_markdown` says name `triage` but the `name` argument is `routing`; make them agree, or leave `name` out"
    );
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn loose_files_go_as_parts_and_nested_ones_as_one_archive() {
    let h = start().await;
    let r = h.call(CREATE, json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "notes.md", "content": "# Notes"}, {"path": "logo.png", "content_base64": b64(b"\x89PNG")}]})).await;
    assert_eq!(ok(&r)["name"], "triage");
    let (_, parts) = upload(h.fake.take_requests());
    let names: Vec<_> = parts.iter().map(|p| (p.name.as_str(), p.filename.as_deref().unwrap())).collect();
    assert_eq!(names, [("files", "SKILL.md"), ("files", "notes.md"), ("files", "logo.png")]);
    assert_eq!(parts[2].bytes, b"\x89PNG");

    let r = h.call(CREATE, json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "scripts/run.py", "content": "print('hi')"}]})).await;
    assert_eq!(ok(&r)["name"], "triage");
    let (_, parts) = upload(h.fake.take_requests());
    assert_eq!(parts.len(), 1);
    assert_eq!((parts[0].filename.as_deref(), parts[0].content_type.as_deref()), (Some("triage.skill"), Some("application/zip")));
    let mut zip = zip::ZipArchive::new(Cursor::new(parts[0].bytes.clone())).unwrap();
    let names: Vec<String> = (0..zip.len()).map(|i| zip.name_for_index(i).unwrap().unwrap().into_owned()).collect();
    assert_eq!(names, ["SKILL.md", "scripts/run.py"]);
    let mut script = String::new();
    zip.by_name("scripts/run.py").unwrap().read_to_string(&mut script).unwrap();
    assert_eq!(script, "print('hi')");
}

#[tokio::test]
async fn an_archive_goes_as_one_skill_file() {
    let h = start().await;
    let bytes = zip_of(&[("SKILL.md", MD.as_bytes()), ("reference/api.md", b"# API")]);
    let r = h.call(CREATE, json!({"archive_base64": b64(&bytes)})).await;
    assert_eq!(ok(&r)["name"], "triage");
    let (_, parts) = upload(h.fake.take_requests());
    assert_eq!(parts.len(), 1);
    assert_eq!(
        (parts[0].name.as_str(), parts[0].filename.as_deref(), parts[0].content_type.as_deref()),
        ("files", Some("triage.skill"), Some("application/zip"))
    );
    assert_eq!(parts[0].bytes, bytes, "sent as given");
}

#[tokio::test]
async fn update_goes_through_the_same_packaging() {
    let h = start().await;
    let md = "---\nname: renamed\ndescription: New text\n---\n";
    let r = h.call(UPDATE, json!({"id": "skill_1", "files": [{"path": "SKILL.md", "content": md}]})).await;
    assert_eq!(ok(&r)["name"], "renamed");
    let (req, parts) = upload(h.fake.take_requests());
    assert_eq!((req.method.as_str(), req.path.as_str()), ("PATCH", "/api/v1/skills/skill_1"));
    assert_eq!((parts.len(), parts[0].filename.as_deref(), parts[0].bytes.as_slice()), (1, Some("SKILL.md"), md.as_bytes()));

    let r = h.call(UPDATE, json!({"id": "skill_1", "skill_markdown": "# No frontmatter"})).await;
    assert!(text_of(&r).starts_with("invalid skill for `update_a_gumloop_skill_by_id` (nothing was sent to Gumloop): `skill_markdown` has no frontmatter, so give `name` and `description`"), "{r}");
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn bad_skills_are_refused_by_name_and_nothing_is_uploaded() {
    let h = start().await;
    let ten_mb = 10 * 1024 * 1024;
    let big = "a".repeat(ten_mb);
    // A zip bomb: 11 MB of zeros deflates to a few kilobytes.
    let bomb = zip_of(&[("SKILL.md", MD.as_bytes()), ("zeros.bin", &vec![0u8; ten_mb + 1024 * 1024])]);
    assert!(bomb.len() < 100_000);
    let cases: [(Value, &str); 19] = [
        (json!({"skill_markdown": "# Triage\n"}), "`skill_markdown` has no frontmatter, so give `name` and `description` (the server writes the frontmatter)"),
        (json!({"files": [{"path": "SKILL.md", "content": "# Triage"}]}), "/files/0 (SKILL.md): SKILL.md must start with YAML frontmatter"),
        (json!({"files": [{"path": "SKILL.md", "content": "---\nname: ''\ndescription: d\n---\n"}]}), "/files/0 (SKILL.md): the frontmatter's `name` is empty"),
        (json!({"skill_markdown": "# T", "name": "", "description": "d"}), "`name` is empty"),
        (
            json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "../evil", "content": "x"}]}),
            "/files/1/path (`../evil`): unsafe path: it has a `..` segment",
        ),
        (
            json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "C:\\evil", "content": "x"}]}),
            "/files/1/path (`C:\\evil`): unsafe path: it contains a backslash",
        ),
        (
            json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "SKILL.md", "content": MD}]}),
            "/files/1/path (`SKILL.md`): the same path as `/files/0`",
        ),
        (json!({"files": [{"path": "notes.md", "content": MD}]}), "`files` has no SKILL.md at its root"),
        (
            json!({"archive_base64": b64(&zip_of(&[("SKILL.md", MD.as_bytes()), ("../evil", b"x")]))}),
            "/archive_base64: entry `../evil`: unsafe path: it has a `..` segment",
        ),
        (
            json!({"archive_base64": b64(&zip_of(&[("SKILL.md", MD.as_bytes()), ("/etc/passwd", b"x")]))}),
            "/archive_base64: entry `/etc/passwd`: unsafe path: it is absolute",
        ),
        (
            json!({"archive_base64": b64(&zip_of(&[("skill/SKILL.md", MD.as_bytes())]))}),
            "`archive_base64` has no SKILL.md at its root; it has `skill/SKILL.md`",
        ),
        (
            json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "big.txt", "content": big}]}),
            &format!("`files` is {} bytes (decoded, all files together); a skill may be 10 MB (10485760 bytes) at most", MD.len() + ten_mb),
        ),
        (
            json!({"archive_base64": b64(&bomb)}),
            &format!("`archive_base64` is {} bytes (unpacked, as its entries declare); a skill may be 10 MB", MD.len() + ten_mb + 1024 * 1024),
        ),
        (
            json!({"skill_markdown": MD, "files": [{"path": "SKILL.md", "content": MD}]}),
            "exactly one of `skill_markdown`, `files` or `archive_base64`, not both `skill_markdown` and `files`",
        ),
        (
            json!({"team_id": "team_9"}),
            "exactly one of `skill_markdown` (SKILL.md text), `files` (a list of {path, content}) or `archive_base64` (a .zip or .skill archive); none was given",
        ),
        (json!({"files": [{"path": "SKILL.md", "content": MD}], "description": "d"}), "`description` goes with `skill_markdown` only"),
        (json!({"archive_base64": "not base64!"}), "/archive_base64: not valid base64"),
        (json!({"files": [{"path": "SKILL.md", "content_base64": "%%%"}]}), "/files/0/content_base64: not valid base64"),
        (json!({"archive_base64": b64(b"just some text, not a zip")}), "`archive_base64` is not a zip archive"),
    ];
    for (args, expected) in cases {
        let r = h.call(CREATE, args).await;
        let text = text_of(&r);
        assert_eq!(r["isError"], true, "{text}");
        assert!(text.starts_with("invalid skill for `create_a_gumloop_skill` (nothing was sent to Gumloop): "), "{text}");
        assert!(text.contains(expected), "{text}\nwanted: {expected}");
    }
    assert!(h.fake.requests().is_empty(), "the fake saw no upload: {:?}", h.fake.requests());
}
