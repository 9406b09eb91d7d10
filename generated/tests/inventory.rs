//! The generated surface matches the tool inventory (`shared/reference/tool-inventory.md`):
//! every operation present, the names users already know exact, every name valid.

use gumloop_mcp_generated::{TOOLS_JSON, resources::ALL_TOOLS};

/// The fixed names from the inventory's "Fixed names" table.
const FIXED: &[&str] = &[
    "list_all_gumloop_flows",
    "get_single_gumloop_automation_by_id",
    "create_a_gumloop_flow_run",
    "create_a_gumloop_session",
    "get_single_gumloop_session_by_id",
    "delete_a_gumloop_session_by_id",
    "list_all_gumloop_artifacts",
    "get_single_gumloop_artifact_by_id",
    "create_a_gumloop_skill",
    "list_all_gumloop_audit_logs",
    "create_a_gumloop_chat_completion",
    "list_all_gumloop_agents",
    "get_single_gumloop_agent_by_id",
    "create_a_gumloop_agent",
    "update_a_gumloop_agent_by_id",
];

fn tools() -> Vec<serde_json::Value> {
    serde_json::from_str(TOOLS_JSON).unwrap()
}

#[test]
fn every_inventory_operation_is_a_tool() {
    let names: Vec<String> = tools().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names.len(), 57, "{names:?}");
    for fixed in FIXED {
        assert!(names.iter().any(|n| n == fixed), "missing fixed name {fixed}");
    }
}

#[test]
fn names_descriptions_and_schemas_are_well_formed() {
    for t in tools() {
        let name = t["name"].as_str().unwrap();
        assert!(!name.is_empty() && name.len() <= 64, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{name}");
        let description = t["description"].as_str().unwrap();
        // Say what the tool does, in sentences; the schemas carry required arguments and result fields.
        assert!(description.len() > 40 && description.ends_with('.'), "{name}: {description}");
        assert_eq!(t["inputSchema"]["type"], "object", "{name}");
        assert_eq!(t["inputSchema"]["additionalProperties"], false, "{name}");
        assert!(!serde_json::to_string(&t["inputSchema"]).unwrap().contains("$ref"), "{name} has a $ref");
        if let Some(out) = t.get("outputSchema") {
            assert_eq!(out["type"], "object", "{name}");
        }
    }
}

#[test]
fn descriptors_agree_with_tools_json() {
    let tools = tools();
    assert_eq!(ALL_TOOLS.len(), tools.len());
    for (d, t) in ALL_TOOLS.iter().zip(&tools) {
        assert_eq!(d.name, t["name"]);
        assert_eq!(d.description, t["description"]);
        let input: serde_json::Value = serde_json::from_str(d.input_schema).unwrap();
        assert_eq!(input, t["inputSchema"], "{}", d.name);
        assert_eq!(d.annotations.read_only, t["annotations"]["readOnlyHint"], "{}", d.name);
    }
}

#[test]
fn annotations_follow_method_kinds() {
    use gumloop_mcp_generated::runtime::MethodKind;
    for d in ALL_TOOLS {
        match d.kind {
            MethodKind::List | MethodKind::Get => assert!(d.annotations.read_only && d.annotations.idempotent, "{}", d.name),
            MethodKind::Delete => assert!(d.annotations.destructive && !d.annotations.read_only, "{}", d.name),
            MethodKind::Create => assert!(!d.annotations.idempotent && !d.annotations.read_only, "{}", d.name),
            _ => {}
        }
    }
    let cancel = gumloop_mcp_generated::resources::find("delete_a_gumloop_session_by_id").unwrap();
    assert_eq!((cancel.http_method.as_str(), cancel.path_template), ("POST", "/sessions/{id}/cancel"));
    assert!(cancel.annotations.destructive);
}
