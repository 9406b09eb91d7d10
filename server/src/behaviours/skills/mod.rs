//! Skill uploads, packaged by the server. `create_a_gumloop_skill` and
//! `update_a_gumloop_skill_by_id` take one of three forms (`skill_markdown` with
//! `name`/`description`, loose `files`, or `archive_base64`) as server arguments; this
//! module checks the form completely (frontmatter, paths, sizes, base64, zip) and turns
//! it into the multipart `files` parts Gumloop expects, so a bad skill never leaves
//! the server.

mod archive;
pub mod frontmatter;
pub mod paths;

use std::collections::HashMap;

use base64::Engine as _;
use gumloop_mcp_runtime::behaviour::SkillPackage;
use gumloop_mcp_runtime::{Body, Part, PartValue, ToolDescriptor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Gumloop's cap on one skill upload (it answers 413 above it).
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The file every skill has at its root.
pub const SKILL_MD: &str = "SKILL.md";
/// The three input forms, exactly one per call.
pub const FORMS: [&str; 3] = ["skill_markdown", "files", "archive_base64"];
/// The part name of a packaged file until [`with_files`] gives it the spec's field.
const FIELD: &str = "file";

/// Why a skill was refused; each names the argument (and path or entry) to fix.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkillError {
    /// No form given.
    #[error(
        "give the skill as exactly one of `skill_markdown` (SKILL.md text), `files` (a list of {{path, content}}) or `archive_base64` (a .zip or .skill archive); none was given"
    )]
    NoForm,
    /// Two forms given.
    #[error("give the skill as exactly one of `skill_markdown`, `files` or `archive_base64`, not both `{0}` and `{1}`")]
    TwoForms(&'static str, &'static str),
    /// `name` or `description` beside `files` or `archive_base64`.
    #[error("`{arg}` goes with `skill_markdown` only; with `{form}` the SKILL.md frontmatter gives the name and description")]
    StrayMeta { arg: &'static str, form: &'static str },
    /// `skill_markdown` without frontmatter and without both `name` and `description`.
    #[error(
        "`skill_markdown` has no frontmatter, so give {missing} (the server writes the frontmatter), or start the text with `---`, `name: ...`, `description: ...`, `---`"
    )]
    NeedsMeta { missing: &'static str },
    /// An empty `name` or `description` argument.
    #[error("`{0}` is empty; say in a few words {1}")]
    EmptyMeta(&'static str, &'static str),
    /// The frontmatter and the arguments disagree.
    #[error("the frontmatter of `skill_markdown` says {field} `{in_text}` but the `{field}` argument is `{given}`; make them agree, or leave `{field}` out")]
    Mismatch { field: &'static str, in_text: String, given: String },
    /// Missing, malformed or incomplete frontmatter.
    #[error("{at}: {problem}")]
    Frontmatter { at: String, problem: String },
    /// An absolute, `..`, backslash or drive-letter path.
    #[error("{at}: unsafe path: {why}; use a relative path inside the skill, such as `scripts/run.py`")]
    UnsafePath { at: String, why: &'static str },
    /// Two files with the same path.
    #[error("{at}: the same path as `{first}` (paths must be unique, ignoring case)")]
    Duplicate { at: String, first: String },
    /// No SKILL.md at the root.
    #[error("`{arg}` has no SKILL.md at its root{hint}")]
    NoSkillMd { arg: &'static str, hint: String },
    /// Neither or both of `content` and `content_base64`.
    #[error("{at}: give `content` (text) or `content_base64` (bytes), exactly one")]
    Content { at: String },
    /// Corrupt base64.
    #[error("{at}: not valid base64 ({error}); encode the bytes with standard base64")]
    Base64 { at: String, error: String },
    /// Over [`MAX_BYTES`].
    #[error("`{arg}` is {size} bytes ({what}); a skill may be 10 MB ({MAX_BYTES} bytes) at most")]
    TooLarge { arg: &'static str, size: u64, what: &'static str },
    /// Not a readable zip.
    #[error("`archive_base64` is not a zip archive ({0}); pass a .zip or .skill file, base64-encoded")]
    NotZip(String),
    /// An entry that cannot be used.
    #[error("{at} {problem}")]
    Archive { at: String, problem: String },
}

/// One loose file of the `files` form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LooseFile {
    path: String,
    content: Option<String>,
    content_base64: Option<String>,
}

/// The server arguments of a skill upload.
#[derive(Debug, Default, Deserialize)]
struct Forms {
    skill_markdown: Option<String>,
    name: Option<String>,
    description: Option<String>,
    files: Option<Vec<LooseFile>>,
    archive_base64: Option<String>,
}

/// Whether a tool uploads skills (its spec declares `skill_package`).
pub fn is_upload(d: &ToolDescriptor) -> bool {
    d.behaviours.skill_package.is_some()
}

/// Takes the skill arguments the spec names out of `own`, checks them, and returns the
/// parts to send (named by [`with_files`]).
pub fn package(own: &mut Map<String, Value>, spec: &SkillPackage) -> Result<Vec<Part>, SkillError> {
    let mut taken = Map::new();
    let names = [spec.markdown, spec.name, spec.description, spec.files, spec.archive];
    for (arg, k) in names.into_iter().zip(["skill_markdown", "name", "description", "files", "archive_base64"]) {
        if let Some(v) = own.remove(arg) {
            taken.insert(k.to_owned(), v);
        }
    }
    // The input schema has already checked the shapes, so this only fails on a wiring bug.
    let forms: Forms = serde_json::from_value(Value::Object(taken)).map_err(|e| SkillError::Frontmatter { at: "arguments".into(), problem: e.to_string() })?;
    let given: Vec<&'static str> = FORMS
        .into_iter()
        .zip([forms.skill_markdown.is_some(), forms.files.is_some(), forms.archive_base64.is_some()])
        .filter_map(|(f, g)| g.then_some(f))
        .collect();
    let form = match given[..] {
        [] => return Err(SkillError::NoForm),
        [one] => one,
        [a, b, ..] => return Err(SkillError::TwoForms(a, b)),
    };
    if form != "skill_markdown" {
        for (arg, v) in [("name", &forms.name), ("description", &forms.description)] {
            if v.is_some() {
                return Err(SkillError::StrayMeta { arg, form });
            }
        }
    }
    match (forms.skill_markdown, forms.files, forms.archive_base64) {
        (Some(text), _, _) => from_markdown(text, forms.name, forms.description),
        (_, Some(files), _) => from_files(files),
        (_, _, Some(b64)) => from_archive(&b64),
        _ => unreachable!("exactly one form was given"),
    }
}

/// The request body with the packaged files as `field` parts, in front of the generated
/// parts (`team_id`).
pub fn with_files(body: Body, files: Vec<Part>, field: &str) -> Body {
    let files = files.into_iter().map(|p| Part { name: field.to_owned(), ..p });
    match body {
        Body::Multipart(rest) => Body::Multipart(files.into_iter().chain(rest).collect()),
        _ => Body::Multipart(files.collect()),
    }
}

fn file_part(filename: &str, media_type: &str, bytes: Vec<u8>) -> Part {
    Part { name: FIELD.into(), value: PartValue::File { filename: filename.into(), media_type: Some(media_type.into()), bytes } }
}

fn check_size(arg: &'static str, size: usize, what: &'static str) -> Result<(), SkillError> {
    let size = size as u64;
    if size > MAX_BYTES { Err(SkillError::TooLarge { arg, size, what }) } else { Ok(()) }
}

fn decode(b64: &str, at: impl FnOnce() -> String) -> Result<Vec<u8>, SkillError> {
    base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| SkillError::Base64 { at: at(), error: e.to_string() })
}

/// Form 1: one SKILL.md, its frontmatter validated or written from `name` and `description`.
fn from_markdown(text: String, name: Option<String>, description: Option<String>) -> Result<Vec<Part>, SkillError> {
    for (arg, v, what) in [("name", &name, "what the skill is called"), ("description", &description, "what the skill does and when to use it")] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(SkillError::EmptyMeta(arg, what));
        }
    }
    let at = || "/skill_markdown".to_owned();
    let text = match frontmatter::split(&text).map_err(|problem| SkillError::Frontmatter { at: at(), problem })? {
        Some(yaml) => {
            let found = frontmatter::parse(yaml).map_err(|problem| SkillError::Frontmatter { at: at(), problem })?;
            for (field, in_text, given) in [("name", &found.name, &name), ("description", &found.description, &description)] {
                if let Some(given) = given
                    && given.trim() != in_text
                {
                    return Err(SkillError::Mismatch { field, in_text: in_text.clone(), given: given.clone() });
                }
            }
            text
        }
        None => match (name, description) {
            (Some(n), Some(d)) => frontmatter::write(n.trim(), d.trim(), &text),
            (None, None) => return Err(SkillError::NeedsMeta { missing: "`name` and `description`" }),
            (None, _) => return Err(SkillError::NeedsMeta { missing: "`name` too" }),
            (_, None) => return Err(SkillError::NeedsMeta { missing: "`description` too" }),
        },
    };
    check_size("skill_markdown", text.len(), "as UTF-8 with its frontmatter")?;
    Ok(vec![file_part(SKILL_MD, "text/markdown", text.into_bytes())])
}

/// Form 2: loose files. Flat ones go as one `files` part each, as Gumloop documents;
/// with folders they go as one `.skill` archive, because a multipart file name is a
/// base name to most servers (folders are stripped or mangled), so nesting would be lost.
fn from_files(files: Vec<LooseFile>) -> Result<Vec<Part>, SkillError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut total, mut skill_md) = (0usize, None);
    let mut checked = Vec::with_capacity(files.len());
    for (i, f) in files.into_iter().enumerate() {
        let at = |field: &str| format!("/files/{i}/{field}");
        paths::check(&f.path)
            .map_err(|why| SkillError::UnsafePath { at: format!("{} (`{}`)", at("path"), crate::text::clip(&f.path, crate::text::QUOTE_CHARS)), why })?;
        if let Some(first) = seen.insert(paths::collision_key(&f.path), i) {
            return Err(SkillError::Duplicate {
                at: format!("{} (`{}`)", at("path"), crate::text::clip(&f.path, crate::text::QUOTE_CHARS)),
                first: format!("/files/{first}"),
            });
        }
        let bytes = match (f.content, f.content_base64) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(b64)) => decode(&b64, || at("content_base64"))?,
            _ => return Err(SkillError::Content { at: format!("/files/{i}") }),
        };
        total += bytes.len();
        check_size("files", total, "decoded, all files together")?;
        if f.path == SKILL_MD {
            let text =
                std::str::from_utf8(&bytes).map_err(|_| SkillError::Frontmatter { at: format!("/files/{i}"), problem: "SKILL.md is not UTF-8 text".into() })?;
            let found = frontmatter::of(text).map_err(|problem| SkillError::Frontmatter { at: format!("/files/{i} (SKILL.md)"), problem })?;
            skill_md = Some(found);
        }
        checked.push((f.path, bytes));
    }
    let Some(found) = skill_md else {
        let near = checked.iter().find(|(p, _)| p.eq_ignore_ascii_case(SKILL_MD) || p.ends_with("/SKILL.md"));
        let hint = near.map(|(p, _)| format!("; `{p}` must be exactly `SKILL.md`, at the top")).unwrap_or_default();
        return Err(SkillError::NoSkillMd { arg: "files", hint });
    };
    if checked.iter().all(|(p, _)| !p.contains('/')) {
        return Ok(checked.into_iter().map(|(p, bytes)| file_part(&p, media_type(&p), bytes)).collect());
    }
    let zip = archive::pack(&checked);
    check_size("files", zip.len(), "packed as a .skill archive")?;
    Ok(vec![file_part(&archive_name(&found.name), "application/zip", zip)])
}

/// Form 3: an archive, checked entry by entry and sent as it is.
fn from_archive(b64: &str) -> Result<Vec<Part>, SkillError> {
    // A quick bound before decoding: base64 is 4 characters per 3 bytes.
    check_size("archive_base64", b64.trim().len() / 4 * 3, "decoded")?;
    let bytes = decode(b64, || "/archive_base64".to_owned())?;
    check_size("archive_base64", bytes.len(), "decoded")?;
    let found = archive::inspect(&bytes)?;
    Ok(vec![file_part(&archive_name(&found.name), "application/zip", bytes)])
}

/// `<name>.skill`, the name reduced to `[a-z0-9-]` (it is only a file name).
fn archive_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    format!("{}.skill", if slug.is_empty() { "skill" } else { slug })
}

fn media_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "md" => "text/markdown",
        "txt" => "text/plain",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "py" => "text/x-python",
        "js" => "text/javascript",
        "sh" => "text/x-shellscript",
        "csv" => "text/csv",
        "html" => "text/html",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MD: &str = "---\nname: triage\ndescription: Sort tickets\n---\n# Triage\n";

    const SPEC: SkillPackage = SkillPackage {
        markdown: "skill_markdown",
        name: "name",
        description: "description",
        files: "files",
        archive: "archive_base64",
        field: "files",
        max_bytes: MAX_BYTES,
    };

    fn run(args: Value) -> Result<Vec<Part>, SkillError> {
        package(args.as_object().cloned().as_mut().unwrap(), &SPEC)
    }

    fn file(p: &Part) -> (&str, &[u8]) {
        match &p.value {
            PartValue::File { filename, bytes, .. } => (filename.as_str(), bytes.as_slice()),
            PartValue::Text(_) => panic!("a text part"),
        }
    }

    #[test]
    fn forms_are_exclusive_and_required() {
        assert_eq!(run(json!({})), Err(SkillError::NoForm));
        assert_eq!(run(json!({"skill_markdown": MD, "archive_base64": "UEs="})), Err(SkillError::TwoForms("skill_markdown", "archive_base64")));
        assert_eq!(run(json!({"files": [], "name": "x"})), Err(SkillError::StrayMeta { arg: "name", form: "files" }));
    }

    #[test]
    fn markdown_frontmatter_is_written_or_checked() {
        let parts = run(json!({"skill_markdown": "# Triage\n", "name": "triage", "description": "Sort tickets"})).unwrap();
        let (name, bytes) = file(&parts[0]);
        assert_eq!((name, std::str::from_utf8(bytes).unwrap()), ("SKILL.md", "---\nname: triage\ndescription: Sort tickets\n---\n\n# Triage\n"));
        assert_eq!(file(&run(json!({"skill_markdown": MD, "name": "triage"})).unwrap()[0]).1, MD.as_bytes(), "agreeing arguments change nothing");
        let e = run(json!({"skill_markdown": MD, "name": "other"})).unwrap_err().to_string();
        assert!(e.contains("says name `triage` but the `name` argument is `other`"), "{e}");
        assert_eq!(run(json!({"skill_markdown": "# T", "name": "t"})), Err(SkillError::NeedsMeta { missing: "`description` too" }));
        assert!(matches!(run(json!({"skill_markdown": "# T", "name": " ", "description": "d"})), Err(SkillError::EmptyMeta("name", _))));
    }

    #[test]
    fn flat_files_go_loose_and_nested_ones_as_an_archive() {
        let flat = run(json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "logo.png", "content_base64": "aGk="}]})).unwrap();
        assert_eq!(flat.iter().map(|p| file(p).0).collect::<Vec<_>>(), ["SKILL.md", "logo.png"]);
        assert_eq!(file(&flat[1]).1, b"hi");
        let nested = run(json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "scripts/run.py", "content": "print(1)"}]})).unwrap();
        assert_eq!(nested.len(), 1);
        assert_eq!(file(&nested[0]).0, "triage.skill");
        assert_eq!(archive::inspect(file(&nested[0]).1).unwrap().name, "triage");
    }

    #[test]
    fn files_are_checked_one_by_one() {
        let e = run(json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "../evil", "content": "x"}]})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/files/1/path (`../evil`): unsafe path: it has a `..` segment; use a relative path inside the skill, such as `scripts/run.py`"
        );
        let e = run(json!({"files": [{"path": "SKILL.md", "content": MD}, {"path": "skill.md", "content": MD}]})).unwrap_err();
        assert!(matches!(e, SkillError::Duplicate { ref first, .. } if first == "/files/0"), "{e}");
        let e = run(json!({"files": [{"path": "skill.md", "content": MD}]})).unwrap_err().to_string();
        assert!(e.contains("no SKILL.md at its root; `skill.md` must be exactly `SKILL.md`"), "{e}");
        let e = run(json!({"files": [{"path": "SKILL.md"}]})).unwrap_err();
        assert_eq!(e, SkillError::Content { at: "/files/0".into() });
        let e = run(json!({"files": [{"path": "SKILL.md", "content_base64": "!!"}]})).unwrap_err();
        assert!(matches!(e, SkillError::Base64 { ref at, .. } if at == "/files/0/content_base64"), "{e}");
    }

    #[test]
    fn archive_names_are_slugs() {
        assert_eq!(archive_name("Ticket Triage!"), "ticket-triage.skill");
        assert_eq!(archive_name("../"), "skill.skill");
    }
}
