//! Every name the generator makes: tool names, singulars and Rust identifiers.

use heck::ToSnakeCase;

use crate::spec::{Kind, Method, Resource, Spec};

/// The tool name a method gets: its `tool_name:` override, else the naming rule (the
/// standard shape when the key is its kind, the custom shape otherwise).
pub fn tool_name(spec: &Spec, res: &Resource, key: &str, method: &Method) -> String {
    if let Some(name) = &method.tool_name {
        return name.clone();
    }
    let integration = &spec.integration.value.name;
    let singular = resource_singular(res);
    let kind = method.kind(key);
    if Kind::standard(key) == Some(kind)
        && let Some(name) = standard_tool_name(kind, integration, &res.resource, &singular)
    {
        return name;
    }
    custom_tool_name(key, integration, &singular)
}

/// A resource's singular: its `singular:`, else [`singular`] of its name.
pub fn resource_singular(res: &Resource) -> String {
    res.singular.clone().unwrap_or_else(|| singular(&res.resource))
}

/// The standard kinds and the tool-name shape each gets.
pub fn standard_tool_name(kind: Kind, integration: &str, plural: &str, singular: &str) -> Option<String> {
    Some(match kind {
        Kind::List => format!("list_all_{integration}_{plural}"),
        Kind::Get => format!("get_single_{integration}_{singular}_by_id"),
        Kind::Create => format!("create_a_{integration}_{singular}"),
        Kind::Update => format!("update_a_{integration}_{singular}_by_id"),
        Kind::Delete => format!("delete_a_{integration}_{singular}_by_id"),
        Kind::Custom => return None,
    })
}

/// A custom method's tool name: the key's first word, the integration and singular, then the rest.
///
/// `send_message` on `sessions` → `send_gumloop_session_message`.
pub fn custom_tool_name(key: &str, integration: &str, singular: &str) -> String {
    match key.split_once('_') {
        Some((verb, rest)) => format!("{verb}_{integration}_{singular}_{rest}"),
        None => format!("{key}_{integration}_{singular}"),
    }
}

/// Words written in capitals in titles.
const ACRONYMS: &[&str] = &["MCP", "URL", "ID", "API"];

/// A short display title from the method's kind and resource, for tools whose record
/// gives no `title:`: `list` → "List flows", `get` → "Get session", a custom
/// `send_message` → "Send session message" (the words of the tool-name rule, without
/// the integration).
pub fn derived_title(kind: Kind, key: &str, plural: &str, singular: &str) -> String {
    let standard = Kind::standard(key) == Some(kind);
    let words = match kind {
        Kind::List if standard => format!("list {plural}"),
        Kind::Get | Kind::Create | Kind::Update | Kind::Delete if standard => format!("{kind} {singular}"),
        _ => match key.split_once('_') {
            Some((verb, rest)) => format!("{verb} {singular} {rest}"),
            None => format!("{key} {singular}"),
        },
    };
    let words: Vec<&str> = words.split(['_', ' ']).map(|w| ACRONYMS.iter().find(|a| a.eq_ignore_ascii_case(w)).copied().unwrap_or(w)).collect();
    let words = words.join(" ");
    let mut c = words.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

/// The default singular of a plural resource name: `ies`→`y`, `sses`→`ss`, else drop one `s`.
pub fn singular(plural: &str) -> String {
    if let Some(stem) = plural.strip_suffix("ies") {
        format!("{stem}y")
    } else if plural.ends_with("sses") {
        plural[..plural.len() - 2].to_owned()
    } else if let Some(stem) = plural.strip_suffix('s') {
        stem.to_owned()
    } else {
        plural.to_owned()
    }
}

/// Why a tool name is not acceptable to MCP clients, if it is not.
pub fn tool_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    let max = gumloop_mcp_runtime::rules::MAX_TOOL_NAME;
    if name.len() > max {
        return Some(format!("is {} characters long; clients accept at most {max}", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
        return Some(format!("contains {c:?}; tool names must match ^[a-z0-9_]{{1,{max}}}$"));
    }
    None
}

/// Whether `s` is a lowercase snake_case word list, as resource and method keys must be.
pub fn is_snake_key(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.ends_with('_')
        && !s.contains("__")
}

const STRICT_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super", "_"];

/// A Rust identifier made from a schema property name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldName {
    /// The identifier text as it must appear in source (`r#type`, `user_id`).
    pub ident: String,
    /// The original JSON name, when it differs from the identifier without `r#`.
    pub rename: Option<String>,
}

/// Snake-cases `name`, escapes keywords and makes it unique among `taken`.
pub fn field_name(name: &str, taken: &mut Vec<String>) -> FieldName {
    let mut base = name.to_snake_case();
    if base.is_empty() || !base.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
        base = format!("_{base}");
    }
    if base.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
        base = base.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    }
    let mut unique = base.clone();
    let mut n = 2;
    while taken.contains(&unique) {
        unique = format!("{base}_{n}");
        n += 1;
    }
    taken.push(unique.clone());
    let ident = if NOT_RAW.contains(&unique.as_str()) {
        format!("{unique}_")
    } else if STRICT_KEYWORDS.contains(&unique.as_str()) {
        format!("r#{unique}")
    } else {
        unique
    };
    let plain = ident.trim_start_matches("r#");
    let rename = (plain != name).then(|| name.to_owned());
    FieldName { ident, rename }
}

/// A module name for a resource or tool: already snake_case by validation, with keywords escaped.
pub fn module_name(name: &str) -> String {
    if STRICT_KEYWORDS.contains(&name) || name.starts_with(|c: char| c.is_ascii_digit()) { format!("{name}_") } else { name.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singulars() {
        assert_eq!(singular("flows"), "flow");
        assert_eq!(singular("agent_mcp_servers"), "agent_mcp_server");
        assert_eq!(singular("policies"), "policy");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("brain"), "brain");
    }

    #[test]
    fn tool_names() {
        assert_eq!(standard_tool_name(Kind::List, "gumloop", "flows", "flow").unwrap(), "list_all_gumloop_flows");
        assert_eq!(custom_tool_name("send_message", "gumloop", "session"), "send_gumloop_session_message");
        assert_eq!(custom_tool_name("search", "gumloop", "brain"), "search_gumloop_brain");
        assert!(tool_name_problem(&"a".repeat(65)).unwrap().contains("65 characters"));
        assert!(tool_name_problem("Bad-Name").is_some());
        assert!(tool_name_problem("ok_name_1").is_none());
    }

    #[test]
    fn titles() {
        assert_eq!(derived_title(Kind::List, "list", "flows", "flow"), "List flows");
        assert_eq!(derived_title(Kind::Get, "get", "sessions", "session"), "Get session");
        assert_eq!(derived_title(Kind::Create, "create", "flow_runs", "flow_run"), "Create flow run");
        assert_eq!(derived_title(Kind::Custom, "send_message", "sessions", "session"), "Send session message");
        assert_eq!(derived_title(Kind::Delete, "delete", "agent_triggers", "agent_trigger"), "Delete agent trigger");
        assert_eq!(derived_title(Kind::Custom, "search", "brain", "brain"), "Search brain");
        assert_eq!(derived_title(Kind::Custom, "get_webhook_url", "agent_triggers", "agent_trigger"), "Get agent trigger webhook URL");
        assert_eq!(derived_title(Kind::Get, "get", "mcp_servers", "mcp_server"), "Get MCP server");
    }

    #[test]
    fn fields() {
        let mut taken = Vec::new();
        assert_eq!(field_name("type", &mut taken), FieldName { ident: "r#type".into(), rename: None });
        assert_eq!(field_name("userId", &mut taken), FieldName { ident: "user_id".into(), rename: Some("userId".into()) });
        assert_eq!(field_name("user_id", &mut taken), FieldName { ident: "user_id_2".into(), rename: Some("user_id".into()) });
        assert_eq!(field_name("self", &mut taken), FieldName { ident: "self_".into(), rename: Some("self".into()) });
        assert_eq!(field_name("2fa", &mut taken).ident, "_2fa");
        assert_eq!(field_name("x-mcp-header", &mut taken).ident, "x_mcp_header");
    }
}
