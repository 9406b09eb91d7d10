//! The scopes a client may ask for: one per method group of the filter vocabulary, so
//! a scope is exactly a managed server's `methods` entry.

use std::collections::BTreeSet;

/// Scope name and the method group it stands for, in display order.
pub const SCOPES: [(&str, &str, &str); 3] = [
    ("tools:read", "read", "read: list and get records (flows, runs, agents, skills, audit logs)"),
    ("tools:write", "write", "write: create, change and delete records (run flows, cancel sessions, upload skills)"),
    ("tools:custom", "custom", "custom actions (chat completions and other calls that are neither reads nor writes)"),
];

/// Scope values a client may send that change nothing (refresh tokens are always issued).
const IGNORED: [&str; 1] = ["offline_access"];

/// Every scope, space-separated.
pub fn all() -> String {
    SCOPES.iter().map(|s| s.0).collect::<Vec<_>>().join(" ")
}

/// Parses a requested `scope`: `None` or empty means every scope. Unknown values are
/// returned as the error, each named.
pub fn parse(scope: Option<&str>) -> Result<BTreeSet<&'static str>, Vec<String>> {
    let words: Vec<&str> = scope.unwrap_or_default().split(' ').filter(|w| !w.is_empty() && !IGNORED.contains(w)).collect();
    if words.is_empty() {
        return Ok(SCOPES.iter().map(|s| s.0).collect());
    }
    let mut out = BTreeSet::new();
    let mut unknown = Vec::new();
    for w in words {
        match SCOPES.iter().find(|s| s.0 == w) {
            Some(s) => {
                out.insert(s.0);
            }
            None => unknown.push(w.to_owned()),
        }
    }
    if unknown.is_empty() { Ok(out) } else { Err(unknown) }
}

/// The scope string of a set, in display order.
pub fn join(set: &BTreeSet<&str>) -> String {
    SCOPES.iter().filter(|s| set.contains(s.0)).map(|s| s.0).collect::<Vec<_>>().join(" ")
}

/// The `methods` filter a scope set stands for (`None`: every method).
pub fn methods(set: &BTreeSet<&str>) -> Option<Vec<String>> {
    (set.len() < SCOPES.len()).then(|| SCOPES.iter().filter(|s| set.contains(s.0)).map(|s| s.1.to_owned()).collect())
}

/// The scope that shows a tool of method group `group` (`read`, `write`, `custom`).
pub fn for_group(group: &str) -> Option<&'static str> {
    SCOPES.iter().find(|s| s.1 == group).map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_default_and_map_to_methods() {
        assert_eq!(parse(None).unwrap().len(), 3);
        assert_eq!(parse(Some("offline_access")).unwrap().len(), 3);
        let read = parse(Some("tools:read offline_access")).unwrap();
        assert_eq!(join(&read), "tools:read");
        assert_eq!(methods(&read), Some(vec!["read".to_owned()]));
        assert_eq!(methods(&parse(None).unwrap()), None);
        assert_eq!(parse(Some("tools:read admin email")).unwrap_err(), ["admin", "email"]);
    }
}
