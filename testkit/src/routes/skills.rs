//! Skills: listed by page, uploaded and updated as multipart `files` (checked as Gumloop
//! checks them: one SKILL.md, one archive, or loose files; safe paths; 10 MB; frontmatter),
//! deleted, and downloaded through a signed URL.

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::input::{Q, S};
use super::reply::{ok, page, with_status};
use super::signed::signed_url;
use crate::data::EMPTY_ZIP;
use crate::envelope::v1;

/// Gumloop's cap on a skill, as sent and as unpacked.
const MAX_SKILL_BYTES: usize = 10 * 1024 * 1024;

pub async fn list_skills(State(s): S, Query(q): Q) -> Response {
    let items: Vec<Value> = s.store.lock().unwrap().skills.values().filter(|k| k.get("deleted").is_none()).cloned().collect();
    page(items, &q, "skills")
}

/// Reads the `files` parts as Gumloop does: one `.md` file (stored as SKILL.md), one
/// `.zip`/`.skill` archive with SKILL.md at its root, or loose files including a
/// SKILL.md. Refuses unsafe paths (400), more than 10 MB sent or unpacked (413), and a
/// SKILL.md without frontmatter naming the skill (400). Returns (name, description).
pub async fn skill_files(req: Request) -> Result<(String, String), Response> {
    let mut mp = Multipart::from_request(req, &()).await.map_err(|_| v1(400, "invalid_request", "expected multipart/form-data with files parts"))?;
    let (mut total, mut files) = (0usize, Vec::new());
    while let Ok(Some(f)) = mp.next_field().await {
        if f.name() != Some("files") {
            continue;
        }
        let name = f.file_name().unwrap_or_default().to_owned();
        let bytes = f.bytes().await.map_err(|_| v1(400, "invalid_request", "unreadable part"))?;
        total += bytes.len();
        if total > MAX_SKILL_BYTES {
            return Err(v1(413, "payload_too_large", "skill uploads are limited to 10 MB"));
        }
        files.push((name, bytes));
    }
    let text = match &files[..] {
        [] => return Err(v1(400, "invalid_request", "files is required")),
        [(name, bytes)] if name.ends_with(".zip") || name.ends_with(".skill") => skill_md_in_archive(bytes)?,
        [(name, bytes)] if name.ends_with(".md") => bytes.to_vec(),
        loose => {
            if let Some((name, _)) = loose.iter().find(|(n, _)| !safe_path(n)) {
                return Err(v1(400, "unsafe_path", &format!("unsafe file name `{name}`")));
            }
            loose.iter().find(|(n, _)| n == "SKILL.md").map(|(_, b)| b.to_vec()).ok_or_else(|| v1(400, "invalid_skill_md", "no SKILL.md found"))?
        }
    };
    skill_frontmatter(&String::from_utf8_lossy(&text))
}

/// A relative path that stays inside the skill when unpacked.
fn safe_path(p: &str) -> bool {
    let b = p.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    !p.is_empty() && !p.starts_with('/') && !p.contains('\\') && !drive && p.split('/').all(|s| s != ".." && s != ".")
}

/// The SKILL.md at an archive's root, after checking every entry's path and the sizes
/// the entries declare.
fn skill_md_in_archive(bytes: &[u8]) -> Result<Vec<u8>, Response> {
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| v1(400, "invalid_archive", "the archive is not a zip file"))?;
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let e = zip.by_index_raw(i).map_err(|_| v1(400, "invalid_archive", "unreadable archive entry"))?;
        let name = e.name().map(|n| n.into_owned()).unwrap_or_default();
        if !safe_path(name.strip_suffix('/').unwrap_or(&name)) || e.is_symlink() {
            return Err(v1(400, "unsafe_archive", &format!("unsafe archive entry `{name}`")));
        }
        declared += e.size();
    }
    if declared > MAX_SKILL_BYTES as u64 {
        return Err(v1(413, "payload_too_large", "the archive unpacks to more than 10 MB"));
    }
    let mut out = Vec::new();
    let entry = zip.by_name("SKILL.md").map_err(|_| v1(400, "invalid_skill_md", "no SKILL.md at the archive's root"))?;
    entry.take(MAX_SKILL_BYTES as u64).read_to_end(&mut out).map_err(|_| v1(400, "invalid_archive", "SKILL.md cannot be unpacked"))?;
    Ok(out)
}

/// Name and description out of SKILL.md's YAML frontmatter.
fn skill_frontmatter(text: &str) -> Result<(String, String), Response> {
    let bad = |m: &str| v1(400, "invalid_skill_md", m);
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")).ok_or_else(|| bad("SKILL.md must start with YAML frontmatter (---)"))?;
    let end = rest.find("\n---").ok_or_else(|| bad("SKILL.md frontmatter is not closed (---)"))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&rest[..end]).map_err(|_| bad("SKILL.md frontmatter is not valid YAML"))?;
    let get = |k: &str| yaml.get(k).and_then(serde_yaml::Value::as_str).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    match (get("name"), get("description")) {
        (Some(n), Some(d)) => Ok((n, d)),
        _ => Err(bad("SKILL.md frontmatter needs name and description")),
    }
}

pub async fn create_skill(State(s): S, req: Request) -> Response {
    let (name, description) = match skill_files(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut st = s.store.lock().unwrap();
    let id = st.id("skill");
    let skill = json!({"id": id, "name": name, "description": description, "team_id": "team_1", "created_at": "2026-11-01T12:00:00Z",
        "updated_at": "2026-11-01T12:00:00Z", "metadata": {}, "usage_count": 0, "version_id": format!("{id}_v1"), "major_version": 1, "is_deployed": false, "creator": null});
    st.skills.insert(id, skill.clone());
    with_status(201, json!({"skill": skill}))
}

pub async fn update_skill(State(s): S, Path(id): Path<String>, req: Request) -> Response {
    if s.store.lock().unwrap().skills.get(&id).is_none_or(|k| k.get("deleted").is_some()) {
        return v1(404, "skill_not_found", "skill not found");
    }
    let (name, description) = match skill_files(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut st = s.store.lock().unwrap();
    let k = st.skills.get_mut(&id).unwrap();
    k["name"] = json!(name);
    k["description"] = json!(description);
    k["major_version"] = json!(k["major_version"].as_i64().unwrap_or(1) + 1);
    ok(json!({"skill": k}))
}

pub async fn delete_skill(State(s): S, Path(id): Path<String>) -> Response {
    let mut st = s.store.lock().unwrap();
    match st.skills.get_mut(&id) {
        Some(k) if k.get("deleted").is_none() => {
            k["deleted"] = json!(true);
            ok(json!({"deleted": true}))
        }
        _ => v1(404, "skill_not_found", "skill not found"),
    }
}

pub async fn download_skill(State(s): S, Path(id): Path<String>) -> Response {
    let skill = s.store.lock().unwrap().skills.get(&id).filter(|k| k.get("deleted").is_none()).cloned();
    let Some(k) = skill else { return v1(404, "skill_not_found", "skill not found") };
    ok(json!({"download_url": signed_url(&s, "skills", &id), "filename": format!("{}.skill", k["name"].as_str().unwrap_or("skill")),
        "media_type": "application/zip", "size": EMPTY_ZIP.len(), "id": id, "version_id": k["version_id"], "major_version": k["major_version"]}))
}
