//! Skill archives (.zip / .skill): the central directory is read before any upload, so
//! unsafe entry names and zip bombs are refused here rather than by Gumloop; and loose
//! files with folders are packed into one.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};

use zip::ZipArchive;
use zip::write::{SimpleFileOptions, ZipWriter};

use gumloop_mcp_runtime::behaviour::SkillPackage;

use super::{SkillError, frontmatter, paths};

/// Checks an archive's entries and declared sizes, and reads the frontmatter of the
/// spec's manifest at its root.
pub fn inspect(bytes: &[u8], spec: &SkillPackage) -> Result<frontmatter::Frontmatter, SkillError> {
    let (arg, manifest) = (spec.archive, spec.manifest);
    let not_zip = |error: String| SkillError::NotZip { arg, error };
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| not_zip(e.to_string()))?;
    let mut seen: HashMap<String, String> = HashMap::new();
    let nested = format!("/{manifest}");
    let (mut declared, mut at_root, mut in_folder) = (0u64, None, None);
    for i in 0..zip.len() {
        // Raw: only the central directory record, nothing is decompressed.
        let entry = zip.by_index_raw(i).map_err(|e| not_zip(format!("entry {i}: {e}")))?;
        let name = entry.name().map_err(|e| not_zip(format!("entry {i}: {e}")))?.into_owned();
        let at = || format!("/{arg}: entry `{name}`");
        let path = if entry.is_dir() { name.strip_suffix('/').unwrap_or(&name) } else { &name };
        paths::check(path).map_err(|why| SkillError::UnsafePath { at: at(), why })?;
        if entry.is_symlink() {
            return Err(SkillError::UnsafePath { at: at(), why: "it is a symbolic link" });
        }
        if entry.encrypted() {
            return Err(SkillError::Archive { at: at(), problem: "is encrypted; upload an archive without a password".into() });
        }
        if let Some(first) = seen.insert(paths::collision_key(path), name.clone()) {
            return Err(SkillError::Duplicate { at: at(), first });
        }
        declared = declared.saturating_add(entry.size());
        if path == manifest {
            at_root = Some(i);
        } else if path.ends_with(&nested) {
            in_folder.get_or_insert_with(|| name.clone());
        }
    }
    // What the entries say they unpack to: a small archive of huge entries (a zip bomb)
    // is refused on its declaration.
    if declared > spec.max_bytes {
        return Err(SkillError::TooLarge { arg, size: declared, what: "unpacked, as its entries declare", max: spec.max_bytes });
    }
    let Some(i) = at_root else {
        let hint = in_folder.map(|n| format!("; it has `{n}`: zip the folder's contents, not the folder")).unwrap_or_default();
        return Err(SkillError::NoManifest { arg, manifest, hint });
    };
    let at = format!("/{arg}: entry `{manifest}`");
    let entry = zip.by_index(i).map_err(|e| SkillError::Archive { at: at.clone(), problem: format!("cannot be read: {e}") })?;
    let mut text = Vec::new();
    // Capped: an entry may unpack to more than it declares.
    entry.take(spec.max_bytes + 1).read_to_end(&mut text).map_err(|e| SkillError::Archive { at: at.clone(), problem: format!("cannot be unpacked: {e}") })?;
    let text = String::from_utf8(text).map_err(|_| SkillError::Archive { at: at.clone(), problem: "is not UTF-8 text".into() })?;
    frontmatter::of(&text, manifest).map_err(|problem| SkillError::Frontmatter { at, problem })
}

/// Packs already-checked files into a zip, in order.
pub fn pack(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        // Writing to memory only fails on names the checks already refused (duplicates).
        zip.start_file(path.as_str(), options).expect("checked, unique path");
        zip.write_all(bytes).expect("writing to memory");
    }
    zip.finish().expect("writing to memory").into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviours::skills::tests::SPEC;

    fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        pack(&entries.iter().map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec())).collect::<Vec<_>>())
    }

    const MD: &str = "---\nname: triage\ndescription: Sort tickets\n---\n";

    #[test]
    fn a_packed_skill_reads_back() {
        let fm = inspect(&zip_of(&[("SKILL.md", MD), ("scripts/run.py", "print(1)")]), &SPEC).unwrap();
        assert_eq!(fm.name, "triage");
    }

    #[test]
    fn refuses_non_zips_missing_and_nested_skill_md_and_duplicates() {
        assert!(matches!(inspect(b"hello", &SPEC), Err(SkillError::NotZip { .. })));
        let nested = inspect(&zip_of(&[("triage/SKILL.md", MD)]), &SPEC).unwrap_err().to_string();
        assert!(nested.contains("it has `triage/SKILL.md`"), "{nested}");
        let dup = inspect(&zip_of(&[("SKILL.md", MD), ("a.txt", ""), ("A.txt", "")]), &SPEC).unwrap_err().to_string();
        assert!(dup.contains("entry `A.txt`: the same path as `a.txt`"), "{dup}");
        let bad = inspect(&zip_of(&[("SKILL.md", "no frontmatter")]), &SPEC).unwrap_err().to_string();
        assert!(bad.contains("entry `SKILL.md`: SKILL.md must start with YAML frontmatter"), "{bad}");
    }
}
