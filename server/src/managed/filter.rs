//! Which tools a managed MCP server exposes: `methods` (`read`, `write`, `custom`, or an
//! exact method name) AND `tags` (any shared tag). The same predicate serves
//! `tools/list` and `tools/call`, so a hidden tool can never be called.

use std::collections::BTreeSet;

use gumloop_mcp_runtime::{MethodKind, ToolDescriptor};
use serde::{Deserialize, Serialize};

use crate::behaviours::flow_inputs::Flows;
use crate::mcp::discovery::ToolExposure;
use crate::text::closest;

/// A managed server's `config`, as the admin API takes and returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// Method groups or exact method names; absent or empty means every method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Tags a tool must share at least one of; absent or empty means every tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// MCP requests must also carry `Authorization: Bearer <API token>`.
    #[serde(default)]
    pub require_api_token_auth: bool,
    /// One extra tool per saved flow of the account, `run_gumloop_flow_<slug>`, whose
    /// arguments are the flow's inputs (see `flow_tools`). Absent in configs stored
    /// before the option existed, hence the default.
    #[serde(default)]
    pub flow_tools: bool,
    /// Who may reach it, overriding the server-wide `--auth` (absent: that mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthMode>,
    /// `all` lists every tool it shows; `discovery` lists only `search_tools`,
    /// `get_tool_schema` and `call_tool`, through which the same tools are found and run.
    /// Absent (in configs stored before it existed, too): `all`.
    #[serde(default, skip_serializing_if = "ToolExposure::is_all")]
    pub tool_exposure: ToolExposure,
    /// A call of a tool annotated destructive first asks the person for a yes (MCP
    /// elicitation); a client that cannot be asked is refused. Absent in older configs,
    /// and left out when off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm_destructive: bool,
}

/// Who may reach an MCP endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// A managed server's secret URL is its credential; `/mcp` serves the configured
    /// account to whoever reaches it.
    #[default]
    UrlToken,
    /// Only OAuth access tokens: `/mcp` needs a grant naming an account; managed servers
    /// answer on `/mcp/servers/<id>` and their secret URLs are refused.
    #[serde(rename = "oauth")]
    #[value(name = "oauth")]
    OAuth,
    /// Both: secret URLs keep working, and OAuth tokens are accepted too.
    Both,
}

impl AuthMode {
    /// Whether OAuth access tokens are accepted.
    pub const fn oauth(self) -> bool {
        matches!(self, AuthMode::OAuth | AuthMode::Both)
    }

    /// Whether a managed server's secret URL opens it.
    pub const fn url_token(self) -> bool {
        matches!(self, AuthMode::UrlToken | AuthMode::Both)
    }
}

/// The method groups.
pub const GROUPS: [&str; 3] = ["read", "write", "custom"];

impl McpServerConfig {
    /// Whether the server exposes `tool`.
    pub fn allows(&self, tool: &ToolDescriptor) -> bool {
        let methods = match self.methods.as_deref() {
            None | Some([]) => true,
            Some(ms) => ms.iter().any(|m| method_matches(m, tool)),
        };
        let tags = match self.tags.as_deref() {
            None | Some([]) => true,
            Some(ts) => ts.iter().any(|t| tool.tags.contains(&t.as_str())),
        };
        methods && tags
    }

    /// Every problem with the config against the tools on offer; empty when it is usable.
    /// A config that names only known values but matches no tool is a problem too.
    pub fn problems(&self, tools: &[&'static ToolDescriptor]) -> Vec<String> {
        let methods: BTreeSet<&str> = tools.iter().map(|t| t.method).collect();
        let tags: BTreeSet<&str> = tools.iter().flat_map(|t| t.tags.iter().copied()).collect();
        let mut out = Vec::new();
        for (i, m) in self.methods.iter().flatten().enumerate() {
            if !GROUPS.contains(&m.as_str()) && !methods.contains(m.as_str()) {
                let hint = closest(m, GROUPS.iter().copied().chain(methods.iter().copied())).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
                out.push(format!("config.methods[{i}]: `{m}` is neither read, write, custom nor a method name{hint}"));
            }
        }
        for (i, t) in self.tags.iter().flatten().enumerate() {
            if !tags.contains(t.as_str()) {
                let hint = closest(t, tags.iter().copied()).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
                out.push(format!("config.tags[{i}]: unknown tag `{t}`{hint} (tags: {})", tags.iter().copied().collect::<Vec<_>>().join(", ")));
            }
        }
        if out.is_empty() && !tools.iter().any(|t| self.allows(t)) {
            out.push(format!("config: methods {} AND tags {} match no tool; widen one of them", list(self.methods.as_deref()), list(self.tags.as_deref())));
        }
        if out.is_empty() && self.flow_tools && !self.runs_flows(tools) {
            let flows = Flows::of(tools);
            let run = flows.map_or("the flow-run tool", |f| f.run.name);
            let tags = flows.map(|f| f.run.tags.join(", ")).unwrap_or_default();
            out.push(format!(
                "config.flow_tools: a flow tool runs its flow through {run}, which methods {} AND tags {} hide; \
                 widen them to include it (e.g. methods `write` or `{run}`, tags `{tags}`) or set flow_tools to false",
                list(self.methods.as_deref()),
                list(self.tags.as_deref())
            ));
        }
        out
    }

    /// Whether the server shows the flow-run tool (the spec's), which every flow tool is a call of.
    pub fn runs_flows(&self, tools: &[&'static ToolDescriptor]) -> bool {
        Flows::of(tools).is_some_and(|f| self.allows(f.run))
    }
}

fn list(values: Option<&[String]>) -> String {
    match values {
        None | Some([]) => "(any)".to_owned(),
        Some(v) => format!("[{}]", v.join(", ")),
    }
}

fn method_matches(filter: &str, tool: &ToolDescriptor) -> bool {
    match filter {
        "read" => matches!(tool.kind, MethodKind::List | MethodKind::Get),
        "write" => matches!(tool.kind, MethodKind::Create | MethodKind::Update | MethodKind::Delete),
        "custom" => tool.kind == MethodKind::Custom,
        exact => tool.method == exact,
    }
}

#[cfg(test)]
mod tests {
    use gumloop_mcp_generated::resources::ALL_TOOLS;

    use super::*;

    fn config(methods: &[&str], tags: &[&str]) -> McpServerConfig {
        let v = |s: &[&str]| (!s.is_empty()).then(|| s.iter().map(|x| x.to_string()).collect());
        McpServerConfig { methods: v(methods), tags: v(tags), ..McpServerConfig::default() }
    }

    fn names(c: &McpServerConfig) -> Vec<&'static str> {
        ALL_TOOLS.iter().filter(|t| c.allows(t)).map(|t| t.name).collect()
    }

    #[test]
    fn groups_exact_names_and_tags_combine_with_and() {
        assert_eq!(names(&McpServerConfig::default()).len(), ALL_TOOLS.len());
        let read = names(&config(&["read"], &[]));
        assert!(read.contains(&"list_all_gumloop_flows") && read.contains(&"get_single_gumloop_agent_by_id"));
        assert!(ALL_TOOLS.iter().filter(|t| read.contains(&t.name)).all(|t| matches!(t.kind, MethodKind::List | MethodKind::Get)));
        let write = names(&config(&["write"], &[]));
        assert!(write.contains(&"create_a_gumloop_agent") && write.contains(&"delete_a_gumloop_session_by_id"));
        assert!(!write.iter().any(|n| read.contains(n)));
        let custom = names(&config(&["custom"], &[]));
        assert!(custom.contains(&"send_gumloop_session_message"), "{custom:?}");
        assert_eq!(names(&config(&["send_message"], &[])), ["send_gumloop_session_message"]);
        let read_flows = names(&config(&["read"], &["flows"]));
        assert!(read_flows.contains(&"list_all_gumloop_flows"));
        assert!(!read_flows.contains(&"create_a_gumloop_flow_run"), "write tool hidden");
        assert!(!read_flows.contains(&"list_all_gumloop_agents"), "other tag hidden");
        let both = names(&config(&["read", "write"], &["flows", "agents"]));
        assert!(both.contains(&"create_a_gumloop_agent") && both.contains(&"list_all_gumloop_flows"));
    }

    #[test]
    fn unknown_values_and_empty_matches_are_problems() {
        let p = config(&["reed", "write"], &["flowz"]).problems(ALL_TOOLS);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("config.methods[0]") && p[0].contains("did you mean `read`"), "{p:?}");
        assert!(p[1].contains("config.tags[0]") && p[1].contains("did you mean `flows`"), "{p:?}");
        let p = config(&["send_message"], &["flows"]).problems(ALL_TOOLS);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("match no tool"), "{p:?}");
        assert!(config(&["read"], &["flows"]).problems(ALL_TOOLS).is_empty());
    }

    #[test]
    fn flow_tools_need_the_run_tool() {
        let hidden = McpServerConfig { flow_tools: true, ..config(&["read"], &[]) };
        let p = hidden.problems(ALL_TOOLS);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("config.flow_tools:") && p[0].contains("create_a_gumloop_flow_run") && p[0].contains("methods [read]"), "{p:?}");
        assert!(McpServerConfig { flow_tools: true, ..config(&["write"], &["flows"]) }.problems(ALL_TOOLS).is_empty());
        assert!(McpServerConfig { flow_tools: true, ..McpServerConfig::default() }.problems(ALL_TOOLS).is_empty());
    }

    #[test]
    fn old_configs_load_and_new_ones_round_trip() {
        let old: McpServerConfig = serde_json::from_str(r#"{"methods":["read"],"require_api_token_auth":true}"#).unwrap();
        assert!(!old.flow_tools && old.require_api_token_auth);
        let new = McpServerConfig { flow_tools: true, ..config(&["write"], &[]) };
        let text = serde_json::to_string(&new).unwrap();
        assert!(text.contains(r#""flow_tools":true"#), "{text}");
        assert_eq!(serde_json::from_str::<McpServerConfig>(&text).unwrap(), new);
        assert!(!text.contains("tool_exposure") && old.tool_exposure == ToolExposure::All, "absent means all");
        let discovery: McpServerConfig = serde_json::from_str(r#"{"tool_exposure":"discovery"}"#).unwrap();
        assert_eq!(discovery.tool_exposure, ToolExposure::Discovery);
        assert!(serde_json::to_string(&discovery).unwrap().contains(r#""tool_exposure":"discovery""#));
    }
}
