//! Paths inside a skill (loose files and archive entries): relative, `/`-separated, and
//! unable to point outside the skill once Gumloop unpacks it.

/// Why `path` is unsafe, or `Ok` when it is a plain relative path.
pub fn check(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("it is empty");
    }
    if path.chars().any(char::is_control) {
        return Err("it contains control characters");
    }
    // Windows separators would turn `a\..\..\x` into a traversal after unpacking.
    if path.contains('\\') {
        return Err("it contains a backslash (separate folders with /)");
    }
    if path.starts_with('/') {
        return Err("it is absolute");
    }
    let b = path.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("it starts with a drive letter");
    }
    for segment in path.split('/') {
        match segment {
            ".." => return Err("it has a `..` segment"),
            "" | "." => return Err("it has an empty or `.` segment"),
            _ => {}
        }
    }
    Ok(())
}

/// The key two paths collide under: case-folded, as on macOS and Windows file systems.
pub fn collision_key(path: &str) -> String {
    path.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_pass() {
        for p in ["SKILL.md", "scripts/run.py", "a/b/c.d.txt", "..hidden", "x..y/z"] {
            assert_eq!(check(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn tricks_are_refused() {
        let cases = [
            ("", "it is empty"),
            ("../evil", "it has a `..` segment"),
            ("a/../../evil", "it has a `..` segment"),
            ("/etc/passwd", "it is absolute"),
            ("a\\..\\evil", "it contains a backslash (separate folders with /)"),
            ("C:/Windows/x", "it starts with a drive letter"),
            ("c:evil", "it starts with a drive letter"),
            ("a//b", "it has an empty or `.` segment"),
            ("./SKILL.md", "it has an empty or `.` segment"),
            ("dir/", "it has an empty or `.` segment"),
            ("a\0b", "it contains control characters"),
        ];
        for (p, why) in cases {
            assert_eq!(check(p), Err(why), "{p:?}");
        }
    }

    #[test]
    fn collisions_ignore_case() {
        assert_eq!(collision_key("Skill.MD"), collision_key("SKILL.md"));
    }
}
