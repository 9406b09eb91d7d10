//! Skill uploads, packaged by the server. A tool whose spec declares `skill_package`
//! takes one of three forms as server arguments, under the names the spec gives: the
//! manifest's text (with a name and description), loose files, or a base64 archive.
//! This module checks the form completely (frontmatter, paths, sizes, base64, zip)
//! against the spec's manifest name and size limit, and turns it into the multipart
//! parts upstream expects, so a bad skill never leaves the server.

mod archive;
mod error;
pub mod frontmatter;
pub mod paths;

use std::collections::HashMap;

use base64::Engine as _;
use gumloop_mcp_runtime::behaviour::SkillPackage;
use gumloop_mcp_runtime::rules::media_type;
use gumloop_mcp_runtime::{Body, Part, PartValue, ToolDescriptor};
use serde::Deserialize;
use serde_json::{Map, Value};

pub use error::SkillError;

/// The part name of a packaged file until [`with_files`] gives it the spec's field.
const FIELD: &str = "file";

/// One loose file of the files form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LooseFile {
    path: String,
    content: Option<String>,
    content_base64: Option<String>,
}

/// The server arguments of a skill upload, by their role (the spec names them).
#[derive(Debug, Default, Deserialize)]
struct Forms {
    markdown: Option<String>,
    name: Option<String>,
    description: Option<String>,
    files: Option<Vec<LooseFile>>,
    archive: Option<String>,
}

/// Whether a tool uploads skills (its spec declares `skill_package`).
pub fn is_upload(d: &ToolDescriptor) -> bool {
    d.behaviours.skill_package.is_some()
}

/// Takes the skill arguments the spec names out of `own`, checks them, and returns the
/// parts to send (named by [`with_files`]).
pub fn package(own: &mut Map<String, Value>, spec: &SkillPackage) -> Result<Vec<Part>, SkillError> {
    let mut taken = Map::new();
    let roles = [("markdown", spec.markdown), ("name", spec.name), ("description", spec.description), ("files", spec.files), ("archive", spec.archive)];
    for (role, arg) in roles {
        if let Some(v) = own.remove(arg) {
            taken.insert(role.to_owned(), v);
        }
    }
    // The input schema has already checked the shapes, so this only fails on a wiring bug.
    let forms: Forms = serde_json::from_value(Value::Object(taken)).map_err(|e| SkillError::Frontmatter { at: "arguments".into(), problem: e.to_string() })?;
    let given: Vec<&'static str> = [(spec.markdown, forms.markdown.is_some()), (spec.files, forms.files.is_some()), (spec.archive, forms.archive.is_some())]
        .into_iter()
        .filter_map(|(f, g)| g.then_some(f))
        .collect();
    let form = match given[..] {
        [] => return Err(SkillError::NoForm { forms: form_names(spec), manifest: spec.manifest }),
        [one] => one,
        [a, b, ..] => return Err(SkillError::TwoForms { forms: form_names(spec), a, b }),
    };
    if forms.markdown.is_none() {
        for (arg, v) in [(spec.name, &forms.name), (spec.description, &forms.description)] {
            if v.is_some() {
                return Err(SkillError::StrayMeta { markdown: spec.markdown, manifest: spec.manifest, arg, form });
            }
        }
    }
    match (forms.markdown, forms.files, forms.archive) {
        (Some(text), _, _) => from_markdown(spec, text, forms.name, forms.description),
        (_, Some(files), _) => from_files(spec, files),
        (_, _, Some(b64)) => from_archive(spec, &b64),
        _ => unreachable!("exactly one form was given"),
    }
}

/// The arguments of the three forms, in the order messages list them.
fn form_names(spec: &SkillPackage) -> [&'static str; 3] {
    [spec.markdown, spec.files, spec.archive]
}

/// The request body with the packaged files as `field` parts, in front of the generated
/// parts.
pub fn with_files(body: Body, files: Vec<Part>, field: &str) -> Body {
    let files = files.into_iter().map(|p| Part { name: field.to_owned(), ..p });
    match body {
        Body::Multipart(rest) => Body::Multipart(files.into_iter().chain(rest).collect()),
        _ => Body::Multipart(files.collect()),
    }
}

/// A packaged file, its media type by its name's extension.
fn file_part(filename: &str, bytes: Vec<u8>) -> Part {
    let media_type = media_type(filename).unwrap_or("application/octet-stream");
    Part { name: FIELD.into(), value: PartValue::File { filename: filename.into(), media_type: Some(media_type.into()), bytes } }
}

fn check_size(spec: &SkillPackage, arg: &'static str, size: usize, what: &'static str) -> Result<(), SkillError> {
    let size = size as u64;
    if size > spec.max_bytes { Err(SkillError::TooLarge { arg, size, what, max: spec.max_bytes }) } else { Ok(()) }
}

fn decode(b64: &str, at: impl FnOnce() -> String) -> Result<Vec<u8>, SkillError> {
    base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| SkillError::Base64 { at: at(), error: e.to_string() })
}

/// Form 1: the manifest alone, its frontmatter validated or written from the name and
/// description arguments.
fn from_markdown(spec: &SkillPackage, text: String, name: Option<String>, description: Option<String>) -> Result<Vec<Part>, SkillError> {
    for (arg, v, what) in [(spec.name, &name, "what the skill is called"), (spec.description, &description, "what the skill does and when to use it")] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(SkillError::EmptyMeta(arg, what));
        }
    }
    let at = || format!("/{}", spec.markdown);
    let text = match frontmatter::split(&text).map_err(|problem| SkillError::Frontmatter { at: at(), problem })? {
        Some(yaml) => {
            let found = frontmatter::parse(yaml).map_err(|problem| SkillError::Frontmatter { at: at(), problem })?;
            for (field, arg, in_text, given) in [("name", spec.name, &found.name, &name), ("description", spec.description, &found.description, &description)] {
                if let Some(given) = given
                    && given.trim() != in_text
                {
                    return Err(SkillError::Mismatch { markdown: spec.markdown, field, arg, in_text: in_text.clone(), given: given.clone() });
                }
            }
            text
        }
        None => match (name, description) {
            (Some(n), Some(d)) => frontmatter::write(n.trim(), d.trim(), &text),
            (n, d) => {
                let missing = match (n, d) {
                    (None, None) => format!("`{}` and `{}`", spec.name, spec.description),
                    (None, _) => format!("`{}` too", spec.name),
                    _ => format!("`{}` too", spec.description),
                };
                return Err(SkillError::NeedsMeta { markdown: spec.markdown, missing });
            }
        },
    };
    check_size(spec, spec.markdown, text.len(), "as UTF-8 with its frontmatter")?;
    Ok(vec![file_part(spec.manifest, text.into_bytes())])
}

/// Form 2: loose files. Flat ones go as one part each, as Gumloop documents; with
/// folders they go as one `.skill` archive, because a multipart file name is a base name
/// to most servers (folders are stripped or mangled), so nesting would be lost.
fn from_files(spec: &SkillPackage, files: Vec<LooseFile>) -> Result<Vec<Part>, SkillError> {
    let arg = spec.files;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut total, mut manifest) = (0usize, None);
    let mut checked = Vec::with_capacity(files.len());
    for (i, f) in files.into_iter().enumerate() {
        let at = |field: &str| format!("/{arg}/{i}/{field}");
        let quoted = || format!("{} (`{}`)", at("path"), crate::text::clip(&f.path, crate::text::QUOTE_CHARS));
        paths::check(&f.path).map_err(|why| SkillError::UnsafePath { at: quoted(), why })?;
        if let Some(first) = seen.insert(paths::collision_key(&f.path), i) {
            return Err(SkillError::Duplicate { at: quoted(), first: format!("/{arg}/{first}") });
        }
        let bytes = match (f.content, f.content_base64) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(b64)) => decode(&b64, || at("content_base64"))?,
            _ => return Err(SkillError::Content { at: format!("/{arg}/{i}") }),
        };
        total += bytes.len();
        check_size(spec, arg, total, "decoded, all files together")?;
        if f.path == spec.manifest {
            let not_text = || SkillError::Frontmatter { at: format!("/{arg}/{i}"), problem: format!("{} is not UTF-8 text", spec.manifest) };
            let text = std::str::from_utf8(&bytes).map_err(|_| not_text())?;
            let found =
                frontmatter::of(text, spec.manifest).map_err(|problem| SkillError::Frontmatter { at: format!("/{arg}/{i} ({})", spec.manifest), problem })?;
            manifest = Some(found);
        }
        checked.push((f.path, bytes));
    }
    let Some(found) = manifest else {
        let nested = format!("/{}", spec.manifest);
        let near = checked.iter().find(|(p, _)| p.eq_ignore_ascii_case(spec.manifest) || p.ends_with(&nested));
        let hint = near.map(|(p, _)| format!("; `{p}` must be exactly `{}`, at the top", spec.manifest)).unwrap_or_default();
        return Err(SkillError::NoManifest { arg, manifest: spec.manifest, hint });
    };
    if checked.iter().all(|(p, _)| !p.contains('/')) {
        return Ok(checked.into_iter().map(|(p, bytes)| file_part(&p, bytes)).collect());
    }
    let zip = archive::pack(&checked);
    check_size(spec, arg, zip.len(), "packed as a .skill archive")?;
    Ok(vec![file_part(&archive_name(&found.name), zip)])
}

/// Form 3: an archive, checked entry by entry and sent as it is.
fn from_archive(spec: &SkillPackage, b64: &str) -> Result<Vec<Part>, SkillError> {
    // A quick bound before decoding: base64 is 4 characters per 3 bytes.
    check_size(spec, spec.archive, b64.trim().len() / 4 * 3, "decoded")?;
    let bytes = decode(b64, || format!("/{}", spec.archive))?;
    check_size(spec, spec.archive, bytes.len(), "decoded")?;
    let found = archive::inspect(&bytes, spec)?;
    Ok(vec![file_part(&archive_name(&found.name), bytes)])
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MD: &str = "---\nname: triage\ndescription: Sort tickets\n---\n# Triage\n";

    /// Gumloop's declaration, as `spec/resources/skills.yaml` gives it.
    pub(super) const SPEC: SkillPackage = SkillPackage {
        markdown: "skill_markdown",
        name: "name",
        description: "description",
        files: "files",
        archive: "archive_base64",
        field: "files",
        manifest: "SKILL.md",
        max_bytes: 10 * 1024 * 1024,
    };

    fn run(args: Value) -> Result<Vec<Part>, SkillError> {
        run_with(&SPEC, args)
    }

    fn run_with(spec: &SkillPackage, args: Value) -> Result<Vec<Part>, SkillError> {
        package(args.as_object().cloned().as_mut().unwrap(), spec)
    }

    fn file(p: &Part) -> (&str, &[u8]) {
        match &p.value {
            PartValue::File { filename, bytes, .. } => (filename.as_str(), bytes.as_slice()),
            PartValue::Text(_) => panic!("a text part"),
        }
    }

    #[test]
    fn forms_are_exclusive_and_required() {
        let forms = ["skill_markdown", "files", "archive_base64"];
        assert_eq!(run(json!({})), Err(SkillError::NoForm { forms, manifest: "SKILL.md" }));
        let two = run(json!({"skill_markdown": MD, "archive_base64": "UEs="}));
        assert_eq!(two, Err(SkillError::TwoForms { forms, a: "skill_markdown", b: "archive_base64" }));
        let stray = SkillError::StrayMeta { markdown: "skill_markdown", manifest: "SKILL.md", arg: "name", form: "files" };
        assert_eq!(run(json!({"files": [], "name": "x"})), Err(stray));
    }

    #[test]
    fn markdown_frontmatter_is_written_or_checked() {
        let parts = run(json!({"skill_markdown": "# Triage\n", "name": "triage", "description": "Sort tickets"})).unwrap();
        let (name, bytes) = file(&parts[0]);
        assert_eq!((name, std::str::from_utf8(bytes).unwrap()), ("SKILL.md", "---\nname: triage\ndescription: Sort tickets\n---\n\n# Triage\n"));
        assert_eq!(file(&run(json!({"skill_markdown": MD, "name": "triage"})).unwrap()[0]).1, MD.as_bytes(), "agreeing arguments change nothing");
        let e = run(json!({"skill_markdown": MD, "name": "other"})).unwrap_err().to_string();
        assert!(e.contains("says name `triage` but the `name` argument is `other`"), "{e}");
        assert_eq!(
            run(json!({"skill_markdown": "# T", "name": "t"})),
            Err(SkillError::NeedsMeta { markdown: "skill_markdown", missing: "`description` too".into() })
        );
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
        assert_eq!(archive::inspect(file(&nested[0]).1, &SPEC).unwrap().name, "triage");
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
    fn messages_limits_and_the_manifest_follow_the_spec() {
        let spec = SkillPackage {
            markdown: "text",
            name: "title",
            description: "about",
            files: "loose",
            archive: "zip",
            manifest: "README.md",
            max_bytes: 2048,
            ..SPEC
        };
        let e = run_with(&spec, json!({})).unwrap_err().to_string();
        assert!(e.contains("exactly one of `text` (README.md text), `loose` (a list of {path, content}) or `zip`"), "{e}");
        let e = run_with(&spec, json!({"text": "# T", "title": "t"})).unwrap_err().to_string();
        assert!(e.starts_with("`text` has no frontmatter, so give `about` too"), "{e}");
        let e = run_with(&spec, json!({"loose": [{"path": "SKILL.md", "content": MD}]})).unwrap_err().to_string();
        assert_eq!(e, "`loose` has no README.md at its root");
        let e = run_with(&spec, json!({"loose": [{"path": "README.md", "content": MD}, {"path": "a.txt", "content": "a".repeat(2048)}]})).unwrap_err();
        assert_eq!(e.to_string(), format!("`loose` is {} bytes (decoded, all files together); a skill may be 2 KB (2048 bytes) at most", MD.len() + 2048));
        let parts = run_with(&spec, json!({"text": "# T", "title": "t", "about": "d"})).unwrap();
        let PartValue::File { filename, media_type, .. } = &parts[0].value else { panic!("a text part") };
        assert_eq!((filename.as_str(), media_type.as_deref()), ("README.md", Some("text/markdown")));
    }

    #[test]
    fn archive_names_are_slugs() {
        assert_eq!(archive_name("Ticket Triage!"), "ticket-triage.skill");
        assert_eq!(archive_name("../"), "skill.skill");
    }
}
