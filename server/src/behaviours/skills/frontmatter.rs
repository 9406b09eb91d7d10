//! A skill manifest's frontmatter (`SKILL.md`, as the spec names it): the leading `---`
//! YAML block that must give the skill a non-empty `name` and `description` (Gumloop
//! refuses the upload otherwise).

use serde_yaml::{Mapping, Value};

/// What the frontmatter must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontmatter {
    /// The skill's name.
    pub name: String,
    /// What it does and when to use it.
    pub description: String,
}

/// The YAML between the opening and closing `---` lines, or `None` when the text does
/// not start with a `---` line. A block that is never closed is an error.
pub fn split(text: &str) -> Result<Option<&str>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        Some(first) if first.trim_end() == "---" => {}
        _ => return Ok(None),
    }
    let start = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut at = start;
    for line in lines {
        let bare = line.trim_end();
        if bare == "---" || bare == "..." {
            return Ok(Some(&text[start..at]));
        }
        at += line.len();
    }
    Err("the frontmatter opened by `---` is never closed by a `---` line".into())
}

/// Parses the frontmatter YAML and checks `name` and `description`.
pub fn parse(yaml: &str) -> Result<Frontmatter, String> {
    let value: Value = serde_yaml::from_str(yaml).map_err(|e| format!("the frontmatter is not valid YAML: {e}"))?;
    let Value::Mapping(map) = value else { return Err("the frontmatter must be a YAML mapping with `name:` and `description:`".into()) };
    Ok(Frontmatter { name: field(&map, "name")?, description: field(&map, "description")? })
}

fn field(map: &Mapping, key: &str) -> Result<String, String> {
    match map.get(key) {
        None | Some(Value::Null) => Err(format!("the frontmatter has no `{key}`")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("the frontmatter's `{key}` is empty")),
        Some(Value::String(s)) => Ok(s.trim().to_owned()),
        Some(_) => Err(format!("the frontmatter's `{key}` must be text")),
    }
}

/// The frontmatter of a whole manifest, the file named `manifest`; a missing block is an
/// error.
pub fn of(text: &str, manifest: &str) -> Result<Frontmatter, String> {
    match split(text)? {
        Some(yaml) => parse(yaml),
        None => Err(format!("{manifest} must start with YAML frontmatter: a `---` line, `name:` and `description:`, then `---`")),
    }
}

/// `body` with a frontmatter block written in front of it (YAML-quoted as needed).
pub fn write(name: &str, description: &str, body: &str) -> String {
    let mut map = Mapping::new();
    map.insert("name".into(), name.into());
    map.insert("description".into(), description.into());
    // Serialising a mapping of two strings cannot fail.
    let yaml = serde_yaml::to_string(&map).expect("a mapping of strings serialises");
    format!("---\n{yaml}---\n\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_parses_the_block() {
        let md = "---\nname: triage\ndescription: Sort tickets\n---\n# Triage\n";
        assert_eq!(of(md, "SKILL.md").unwrap(), Frontmatter { name: "triage".into(), description: "Sort tickets".into() });
        let crlf = "\u{feff}---\r\nname: a\r\ndescription: 'b: c'\r\n...\r\nbody";
        assert_eq!(of(crlf, "SKILL.md").unwrap().description, "b: c");
    }

    #[test]
    fn refuses_missing_open_unclosed_and_incomplete_blocks() {
        assert_eq!(split("# Title\n---\n").unwrap(), None);
        assert!(of("# Title", "SKILL.md").unwrap_err().contains("must start with YAML frontmatter"));
        assert!(of("---\nname: a\ndescription: b\n", "SKILL.md").unwrap_err().contains("never closed"));
        assert!(of("---\nname: a\n---\n", "SKILL.md").unwrap_err().contains("no `description`"));
        assert!(of("---\nname: ''\ndescription: b\n---\n", "SKILL.md").unwrap_err().contains("`name` is empty"));
        assert!(of("---\nname: [a]\ndescription: b\n---\n", "SKILL.md").unwrap_err().contains("`name` must be text"));
        assert!(of("---\n- a\n---\n", "SKILL.md").unwrap_err().contains("mapping"));
        assert!(of("---\nname: : :\n---\n", "SKILL.md").unwrap_err().contains("not valid YAML"));
    }

    #[test]
    fn written_frontmatter_reads_back() {
        let md = write("yes", "Use it when: always # really", "# Body\n");
        assert!(md.ends_with("---\n\n# Body\n"), "{md}");
        assert_eq!(of(&md, "SKILL.md").unwrap(), Frontmatter { name: "yes".into(), description: "Use it when: always # really".into() });
    }
}
