//! Rules both codegen and the server follow, defined once: the server arguments' names
//! and bounds (`wait`, `max_items`, `fields`), the tool-name limit and unique-name suffixing, and media-type guessing.

use std::ops::RangeInclusive;

/// The server argument that makes a long-running call wait for the work to finish.
pub const WAIT: &str = "wait";
/// The server argument that bounds a `wait`, in seconds.
pub const WAIT_TIMEOUT_SECONDS: &str = "wait_timeout_seconds";
/// How long a `wait` takes without `wait_timeout_seconds`.
pub const WAIT_TIMEOUT_DEFAULT: u64 = 60;
/// The values `wait_timeout_seconds` accepts.
pub const WAIT_TIMEOUT_RANGE: RangeInclusive<u64> = 1..=600;
/// The server argument of lists that collects several pages in one call.
pub const MAX_ITEMS: &str = "max_items";
/// The values `max_items` accepts.
pub const MAX_ITEMS_RANGE: RangeInclusive<u64> = 1..=1000;
/// The server argument of JSON tools that keeps only the named fields of the result:
/// dotted paths through the output schema's properties, arrays traversed implicitly.
pub const FIELDS: &str = "fields";
/// How `fields` paths join their segments.
pub const FIELD_SEPARATOR: char = '.';
/// The most paths one `fields` takes.
pub const FIELDS_MAX: usize = 64;
/// The longest `fields` path, in bytes.
pub const FIELD_PATH_MAX: usize = 256;

/// The longest tool name clients accept (`^[a-z0-9_]{1,64}$`).
pub const MAX_TOOL_NAME: usize = 64;

/// The first of `prefix + stem`, `prefix + stem + "_2"`, `"_3"`, … that `taken` does not
/// claim, the stem cut (and trailing `_` trimmed) so each fits [`MAX_TOOL_NAME`].
///
/// `prefix` must leave room: it is kept whole.
pub fn unique_name(prefix: &str, stem: &str, taken: impl Fn(&str) -> bool) -> String {
    (1usize..)
        .map(|n| {
            let suffix = if n == 1 { String::new() } else { format!("_{n}") };
            let room = MAX_TOOL_NAME.saturating_sub(prefix.len() + suffix.len());
            let mut cut = stem.len().min(room);
            while !stem.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{prefix}{}{suffix}", stem[..cut].trim_end_matches('_'))
        })
        .find(|name| !taken(name))
        .expect("an unbounded range finds a free name")
}

/// The media type a file name's extension suggests, if it is a known one.
pub fn media_type(filename: &str) -> Option<&'static str> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "md" => "text/markdown",
        "txt" => "text/plain",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "py" => "text/x-python",
        "js" => "text/javascript",
        "sh" => "text/x-shellscript",
        "csv" => "text/csv",
        "html" => "text/html",
        "zip" | "skill" => "application/zip",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_fit_and_count_up() {
        assert_eq!(unique_name("run_", "report", |_| false), "run_report");
        assert_eq!(unique_name("run_", "report", |n| n == "run_report"), "run_report_2");
        assert_eq!(unique_name("run_", "report", |n| n == "run_report" || n == "run_report_2"), "run_report_3");
        let long = "a_".repeat(40);
        let one = unique_name("run_", &long, |_| false);
        assert!(one.len() <= MAX_TOOL_NAME && !one.ends_with('_'), "{one}");
        let two = unique_name("run_", &long, |n| n == one);
        assert!(two.len() <= MAX_TOOL_NAME && two.ends_with("_2"), "{two}");
    }

    #[test]
    fn media_types_by_extension() {
        assert_eq!(media_type("SKILL.md"), Some("text/markdown"));
        assert_eq!(media_type("bundle.ZIP"), Some("application/zip"));
        assert_eq!(media_type("run.py"), Some("text/x-python"));
        assert_eq!(media_type("noext"), None);
        assert_eq!(media_type("x.bin"), None);
    }
}
