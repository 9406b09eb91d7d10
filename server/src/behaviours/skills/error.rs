//! Why a skill was refused. Every message names the argument (and path or entry) to
//! fix by the names the spec's `skill_package` declares.

/// Why a skill was refused; each names the argument (and path or entry) to fix. The
/// spec's names are `&'static str`s, so the error stays small.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkillError {
    /// No form given.
    #[error(
        "give the skill as exactly one of `{}` ({} text), `{}` (a list of {{path, content}}) or `{}` (a .zip or .skill archive); none was given",
        .forms[0], .manifest, .forms[1], .forms[2]
    )]
    NoForm { forms: [&'static str; 3], manifest: &'static str },
    /// Two forms given.
    #[error("give the skill as exactly one of `{}`, `{}` or `{}`, not both `{a}` and `{b}`", .forms[0], .forms[1], .forms[2])]
    TwoForms { forms: [&'static str; 3], a: &'static str, b: &'static str },
    /// The name or description argument beside loose files or an archive.
    #[error("`{arg}` goes with `{markdown}` only; with `{form}` the {manifest} frontmatter gives the name and description")]
    StrayMeta { markdown: &'static str, manifest: &'static str, arg: &'static str, form: &'static str },
    /// The manifest's text without frontmatter and without both name and description.
    #[error(
        "`{markdown}` has no frontmatter, so give {missing} (the server writes the frontmatter), or start the text with `---`, `name: ...`, `description: ...`, `---`"
    )]
    NeedsMeta { markdown: &'static str, missing: String },
    /// An empty name or description argument.
    #[error("`{0}` is empty; say in a few words {1}")]
    EmptyMeta(&'static str, &'static str),
    /// The frontmatter and the arguments disagree.
    #[error("the frontmatter of `{markdown}` says {field} `{in_text}` but the `{arg}` argument is `{given}`; make them agree, or leave `{arg}` out")]
    Mismatch { markdown: &'static str, field: &'static str, arg: &'static str, in_text: String, given: String },
    /// Missing, malformed or incomplete frontmatter.
    #[error("{at}: {problem}")]
    Frontmatter { at: String, problem: String },
    /// An absolute, `..`, backslash or drive-letter path.
    #[error("{at}: unsafe path: {why}; use a relative path inside the skill, such as `scripts/run.py`")]
    UnsafePath { at: String, why: &'static str },
    /// Two files with the same path.
    #[error("{at}: the same path as `{first}` (paths must be unique, ignoring case)")]
    Duplicate { at: String, first: String },
    /// No manifest at the root.
    #[error("`{arg}` has no {manifest} at its root{hint}")]
    NoManifest { arg: &'static str, manifest: &'static str, hint: String },
    /// Neither or both of `content` and `content_base64`.
    #[error("{at}: give `content` (text) or `content_base64` (bytes), exactly one")]
    Content { at: String },
    /// Corrupt base64.
    #[error("{at}: not valid base64 ({error}); encode the bytes with standard base64")]
    Base64 { at: String, error: String },
    /// Over the spec's `max_bytes`.
    #[error("`{arg}` is {size} bytes ({what}); a skill may be {} at most", size_text(.max))]
    TooLarge { arg: &'static str, size: u64, what: &'static str, max: u64 },
    /// Not a readable zip.
    #[error("`{arg}` is not a zip archive ({error}); pass a .zip or .skill file, base64-encoded")]
    NotZip { arg: &'static str, error: String },
    /// An entry that cannot be used.
    #[error("{at} {problem}")]
    Archive { at: String, problem: String },
}

/// A limit as a person reads it: `10 MB (10485760 bytes)`, or plain bytes when it is not
/// a whole number of KB or MB. (By reference: error fields are formatted as such.)
fn size_text(bytes: &u64) -> String {
    const KB: u64 = 1024;
    match *bytes {
        0 => "0 bytes".into(),
        b if b % (KB * KB) == 0 => format!("{} MB ({b} bytes)", b / (KB * KB)),
        b if b % KB == 0 => format!("{} KB ({b} bytes)", b / KB),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::size_text;

    #[test]
    fn limits_read_in_the_largest_whole_unit() {
        assert_eq!(size_text(&(10 * 1024 * 1024)), "10 MB (10485760 bytes)");
        assert_eq!(size_text(&2048), "2 KB (2048 bytes)");
        assert_eq!(size_text(&1000), "1000 bytes");
    }
}
