//! The resource map (which OpenAPI operation becomes which `resource.method`) and the
//! naming rules `"*": auto` applies to the operations the map does not name.

use std::collections::BTreeMap;

use heck::ToSnakeCase;
use serde_yaml::Value as Yaml;

use super::ImportError;
use crate::naming;

/// The verbs the spec format accepts.
const VERBS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Where one operation goes: a method of a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The plural resource name, e.g. `sessions`.
    pub resource: String,
    /// The method key, e.g. `list` or `send_message`.
    pub method: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.resource, self.method)
    }
}

/// Which operation becomes which method (see [`parse_resource_map`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceMap {
    /// Keyed by operationId or by `VERB /path` (verb upper-cased, one space).
    pub entries: BTreeMap<String, Target>,
    /// Draft the operations the map does not name (`"*": auto`) instead of skipping them.
    pub auto: bool,
}

impl ResourceMap {
    /// A map that names nothing and drafts everything (`"*": auto`).
    pub fn auto() -> Self {
        Self { entries: BTreeMap::new(), auto: true }
    }

    /// The entry key that selects an operation (its operationId first, then `VERB /path`).
    pub fn lookup(&self, operation_id: Option<&str>, verb: &str, path: &str) -> Option<(&str, &Target)> {
        let by_id = operation_id.and_then(|id| self.entries.get_key_value(id));
        let by_path = || self.entries.get_key_value(&format!("{verb} {path}"));
        by_id.or_else(by_path).map(|(k, t)| (k.as_str(), t))
    }
}

/// Parses a resource map.
///
/// The text is YAML: a map, or a list of one-entry maps, from an operationId or a
/// `"VERB /path"` (the path exactly as the document writes it) to `resource.method`:
///
/// ```yaml
/// listSessions: sessions.list
/// "POST /sessions/{session_id}/cancel": sessions.delete
/// "*": auto      # optional: draft every other operation too (default `skip`)
/// ```
///
/// Resource and method names must be snake_case, and no two keys may name the same
/// `resource.method`.
pub fn parse_resource_map(text: &str) -> Result<ResourceMap, ImportError> {
    let bad = |m: String| ImportError::Map(m);
    let doc: Yaml = serde_yaml::from_str(text).map_err(|e| bad(e.to_string()))?;
    let pairs: Vec<(Yaml, Yaml)> = match doc {
        Yaml::Null => Vec::new(),
        Yaml::Mapping(m) => m.into_iter().collect(),
        Yaml::Sequence(items) => {
            let mut pairs = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Yaml::Mapping(m) if m.len() == 1 => pairs.extend(m),
                    _ => return Err(bad(format!("list item {} is not a one-entry map like `listSessions: sessions.list`", i + 1))),
                }
            }
            pairs
        }
        _ => return Err(bad("expected a map of `operationId` or `\"VERB /path\"` to `resource.method`".into())),
    };
    let mut map = ResourceMap::default();
    let mut by_target: BTreeMap<Target, String> = BTreeMap::new();
    for (k, v) in pairs {
        let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
            return Err(bad(format!("entry `{}` is not `key: resource.method` with string key and value", yaml_text(&k))));
        };
        let (k, v) = (k.trim(), v.trim());
        if k == "*" {
            map.auto = match v {
                "auto" => true,
                "skip" => false,
                _ => return Err(bad(format!("`\"*\": {v}`: the default is `auto` or `skip`"))),
            };
            continue;
        }
        let key = entry_key(k).map_err(bad)?;
        let target = match v.split_once('.') {
            Some((r, m)) if naming::is_snake_key(r) && naming::is_snake_key(m) => Target { resource: r.to_owned(), method: m.to_owned() },
            _ => return Err(bad(format!("`{k}: {v}`: the value must be `resource.method`, both snake_case (e.g. `sessions.list`)"))),
        };
        if let Some(other) = by_target.insert(target.clone(), key.clone()) {
            return Err(bad(format!("`{other}` and `{key}` both map to `{target}`")));
        }
        if map.entries.insert(key.clone(), target).is_some() {
            return Err(bad(format!("`{key}` is listed twice")));
        }
    }
    Ok(map)
}

/// An operationId as written, or `VERB /path` with the verb upper-cased.
fn entry_key(k: &str) -> Result<String, String> {
    let Some((verb, path)) = k.split_once(char::is_whitespace) else {
        return Ok(k.to_owned());
    };
    let (verb, path) = (verb.to_uppercase(), path.trim());
    if !path.starts_with('/') {
        return Err(format!("`{k}` is neither an operationId nor `VERB /path`"));
    }
    if !VERBS.contains(&verb.as_str()) {
        return Err(format!("`{k}`: the verb must be one of {}", VERBS.join(", ")));
    }
    Ok(format!("{verb} {path}"))
}

fn yaml_text(v: &Yaml) -> String {
    serde_yaml::to_string(v).map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// The `{param}` names of a path template, or `None` when a parameter is not a whole
/// segment (the spec format cannot express `/files/{name}.json`).
pub(super) fn template_params(path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for seg in path.split('/') {
        if seg.contains(['{', '}']) {
            let name = seg.strip_prefix('{')?.strip_suffix('}')?;
            if name.is_empty() || name.contains(['{', '}']) {
                return None;
            }
            out.push(name.to_owned());
        }
    }
    Some(out)
}

/// The auto resource of a path: its first literal segment, snake_case and plural, and
/// the singular to declare when the naming rule would not recover it.
pub(super) fn auto_resource(path: &str) -> (String, Option<String>) {
    let seg = path.split('/').find(|s| !s.is_empty() && !s.starts_with('{')).unwrap_or("root");
    let word = snake_key(seg, "root");
    let plural = pluralise(&word);
    let singular = (plural != word && naming::singular(&plural) != word).then_some(word);
    (plural, singular)
}

fn pluralise(word: &str) -> String {
    let last = word.rsplit('_').next().unwrap_or(word);
    let consonant_y = last.len() > 1 && last.ends_with('y') && !last[..last.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if consonant_y {
        format!("{}ies", &word[..word.len() - 1])
    } else if ["ss", "us", "is", "x", "ch", "sh"].iter().any(|e| last.ends_with(e)) {
        format!("{word}es")
    } else if last.ends_with('s') {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// The standard kind an operation's verb and path shape suggest, if any: GET on the
/// collection (`/things`) lists, GET on an item (`/things/{id}`) gets, POST on the
/// collection creates, PATCH or PUT on an item updates and DELETE on an item deletes.
/// Deeper paths (`/things/{id}/parts`) get custom keys.
pub(super) fn shape_kind(verb: &str, path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let param = |s: &str| s.starts_with('{');
    let by_id = match segs.as_slice() {
        [c] if !param(c) => false,
        [c, i] if !param(c) && param(i) => true,
        _ => return None,
    };
    match (verb, by_id) {
        ("GET", false) => Some("list"),
        ("GET", true) => Some("get"),
        ("POST", false) => Some("create"),
        ("PATCH" | "PUT", true) => Some("update"),
        ("DELETE", true) => Some("delete"),
        _ => None,
    }
}

/// A custom method key: the operationId in snake_case (else the verb and path words),
/// without a last word that repeats the resource (`cancel_session` on `sessions` →
/// `cancel`, since the tool name says `session` already).
pub(super) fn custom_key(operation_id: Option<&str>, verb: &str, path: &str, resource: &str, singular: &str) -> String {
    let fallback = format!("{}_{}", verb.to_lowercase(), path.replace(['{', '}'], ""));
    let key = snake_key(operation_id.unwrap_or(&fallback), "call");
    let short = [resource, singular].iter().find_map(|w| key.strip_suffix(&format!("_{w}")));
    match short {
        Some(s) if !super::operation::STANDARD.contains(&s) && s != "custom" => s.to_owned(),
        _ => key,
    }
}

/// `s` as a valid snake_case key (`^[a-z][a-z0-9_]*$`, no `__`, no trailing `_`).
pub(super) fn snake_key(s: &str, fallback: &str) -> String {
    let snake = s.to_snake_case();
    let mut out = String::new();
    for c in snake.chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '_' };
        if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
            out.push(c);
        }
    }
    let out = out.trim_end_matches('_');
    match out.chars().next() {
        None => fallback.to_owned(),
        Some(c) if c.is_ascii_digit() => format!("{fallback}_{out}"),
        Some(_) => out.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_parse_as_maps_and_lists() {
        let a = parse_resource_map("listSessions: sessions.list\n\"post /sessions/{session_id}/cancel\": sessions.delete\n").unwrap();
        let b = parse_resource_map("- listSessions: sessions.list\n- \"POST /sessions/{session_id}/cancel\": sessions.delete\n").unwrap();
        assert_eq!(a, b);
        assert!(!a.auto);
        assert_eq!(a.lookup(None, "POST", "/sessions/{session_id}/cancel").unwrap().1.to_string(), "sessions.delete");
        assert!(parse_resource_map("\"*\": auto").unwrap().auto);
        assert!(parse_resource_map("").unwrap().entries.is_empty());
    }

    #[test]
    fn bad_maps_say_why() {
        let err = |t: &str| parse_resource_map(t).unwrap_err().to_string();
        assert!(err("a: sessions").contains("resource.method"));
        assert!(err("a: Sessions.list").contains("snake_case"));
        assert!(err("a: s.list\nb: s.list").contains("both map to `s.list`"));
        assert!(err("\"*\": everything").contains("auto"));
        assert!(err("\"HEAD /x\": s.get").contains("verb"));
        assert!(err("- a: s.list\n- b").contains("list item 2"));
    }

    #[test]
    fn auto_names() {
        assert_eq!(auto_resource("/sessions/{id}"), ("sessions".into(), None));
        assert_eq!(auto_resource("/agent-mcp-server/{id}"), ("agent_mcp_servers".into(), None));
        assert_eq!(auto_resource("/inbox"), ("inboxes".into(), Some("inbox".into())));
        assert_eq!(auto_resource("/policy"), ("policies".into(), None));
        assert_eq!(auto_resource("/status"), ("statuses".into(), Some("status".into())));
        assert_eq!(auto_resource("/{id}"), ("roots".into(), None));
        assert_eq!(shape_kind("GET", "/a/{id}"), Some("get"));
        assert_eq!(shape_kind("POST", "/a/{id}/cancel"), None);
        assert_eq!(shape_kind("GET", "/a/{id}/parts"), None);
        assert_eq!(shape_kind("POST", "/a"), Some("create"));
        assert_eq!(custom_key(Some("cancelSession"), "POST", "/x", "sessions", "session"), "cancel");
        assert_eq!(custom_key(Some("listSessions"), "GET", "/x", "sessions", "session"), "list_sessions");
        assert_eq!(custom_key(Some("createSession"), "POST", "/x", "agents", "agent"), "create_session");
        assert_eq!(custom_key(None, "POST", "/sessions/{id}/cancel", "x", "x"), "post_sessions_id_cancel");
        assert_eq!(snake_key("2fa-Codes", "x"), "x_2fa_codes");
    }
}
