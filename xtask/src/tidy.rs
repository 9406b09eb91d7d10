//! Repository hygiene checks that run as tests: every hand-written Rust file starts with a
//! `//!` doc saying what it holds.

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::project_root;

    /// Generated output and snapshots carry their own headers instead.
    const SKIP: &[&str] = &["target", "generated/src/resources", "codegen/tests/output", "node_modules", ".git", ".ci"];

    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if SKIP.iter().any(|s| rel == *s || rel.starts_with(&format!("{s}/")) || rel.ends_with("node_modules")) {
                continue;
            }
            if p.is_dir() {
                walk(&p, root, out);
            } else if rel.ends_with(".rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                // Generated files (the `@generated` marker) say where they come from instead.
                if !text.trim_start().starts_with("//!") && !text.starts_with("// @generated") {
                    out.push(rel);
                }
            }
        }
    }

    #[test]
    fn every_hand_written_file_has_a_module_doc() {
        let root = project_root();
        let mut missing = Vec::new();
        walk(&root, &root, &mut missing);
        assert!(missing.is_empty(), "add a `//!` doc saying what the file holds:\n{}", missing.join("\n"));
    }
}
