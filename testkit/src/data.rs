//! Deterministic seed data and the mutable records the fake keeps.
//!
//! Seed ids tests rely on: flows `flow_1`..`flow_3` (workbook `wb_1`), agents `agent_1`
//! and `agent_2`, sessions `sess_01`..`sess_25` of `agent_1` (all completed), artifacts
//! `art_1`..`art_3` of `agent_1`, skills `skill_1`..`skill_3`, models `gpt-4.1` and
//! `claude-sonnet-4`, organization `org_1`, team `team_1`, MCP servers `mcp_1`, `mcp_2`,
//! evaluations `eval_1`..`eval_3`, versions `ver_1`, `ver_2`, triggers `trig_1`, `trig_2`,
//! run `run_seed`, 120 audit log entries.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// A record that completes after a number of polls.
#[derive(Debug, Clone)]
pub struct Polled {
    pub value: Value,
    pub polls: u32,
}

/// All mutable data.
#[derive(Debug)]
pub struct Store {
    pub flows: Vec<Value>,
    pub agents: BTreeMap<String, Value>,
    pub sessions: BTreeMap<String, Polled>,
    pub runs: BTreeMap<String, Polled>,
    pub agent_runs: BTreeMap<String, Polled>,
    pub exports: BTreeMap<String, Polled>,
    pub artifacts: Vec<Value>,
    pub skills: BTreeMap<String, Value>,
    pub agent_mcp: BTreeMap<(String, String), Value>,
    pub eval_config: BTreeMap<String, Value>,
    /// Inputs of flows added at run time ([`crate::FakeGumloop::add_flow`]); seed flows use [`flow_inputs`].
    pub added_inputs: BTreeMap<String, Value>,
    next_id: u64,
}

const TS: &str = "2026-11-01T12:00:00Z";

fn creator() -> Value {
    json!({"id": "user_test", "first_name": "Test", "last_name": "User", "email": "test@example.com", "profile_picture": null})
}

/// A flow's inputs, as `GET /get_inputs` lists them.
pub fn flow_inputs(flow: &str) -> Value {
    match flow {
        "flow_pricing" => json!([{"name": "target_company", "data_type": "string", "description": "The competitor to research"}]),
        _ => json!([{"name": "topic", "data_type": "string", "description": "What to write about"}, {"name": "attachment", "data_type": "file", "description": null}]),
    }
}

impl Store {
    pub fn seed() -> Self {
        let mut flows: Vec<Value> = (1..=3)
            .map(|i| json!({"saved_item_id": format!("flow_{i}"), "name": format!("Flow {i}"), "description": format!("Seed flow {i}"), "created_ts": TS}))
            .collect();
        // The seed guides' flow: one string input.
        flows.push(json!({"saved_item_id": "flow_pricing", "name": "Competitor Pricing Scraper", "description": "Scrapes a competitor's pricing pages into a CSV", "created_ts": TS}));
        let agents = (1..=2)
            .map(|i| {
                let id = format!("agent_{i}");
                (id.clone(), json!({"id": id, "name": format!("Agent {i}"), "description": null, "team_id": "team_1", "is_active": true,
                    "model_name": "gpt-4.1", "system_prompt": "Be helpful.", "tools": [], "resources": [], "skill_ids": ["skill_1"],
                    "metadata": {}, "folder_id": null, "type": null, "created_at": TS, "active_trigger_count": 0, "creator": creator()}))
            })
            .collect();
        let sessions = (1..=25)
            .map(|i| {
                let id = format!("sess_{i:02}");
                (id.clone(), Polled { value: session(&id, "agent_1", "completed", vec![]), polls: 0 })
            })
            .collect();
        let artifacts = (1..=3)
            .map(|i| json!({"id": format!("art_{i}"), "version_id": format!("artv_{i}"), "major_version": 1, "agent_id": "agent_1",
                "session_id": "sess_01", "filename": format!("report-{i}.csv"), "created_at": TS,
                "metadata": {"media_type": "text/csv", "size": 12}, "url": null, "creator": creator()}))
            .collect();
        let skills = (1..=3)
            .map(|i| {
                let id = format!("skill_{i}");
                (id.clone(), json!({"id": id, "name": format!("skill-{i}"), "description": format!("Seed skill {i}"), "team_id": "team_1",
                    "created_at": TS, "updated_at": TS, "metadata": {}, "usage_count": i, "view_count": 0, "last_used_at": null,
                    "version_id": format!("skv_{i}"), "major_version": 1, "is_deployed": true, "version_created_at": TS, "creator": creator()}))
            })
            .collect();
        let mut runs = BTreeMap::new();
        runs.insert("run_seed".to_owned(), Polled { value: run("run_seed", "flow_1", "DONE"), polls: 0 });
        Self {
            flows,
            agents,
            sessions,
            runs,
            agent_runs: BTreeMap::new(),
            exports: BTreeMap::new(),
            artifacts,
            skills,
            agent_mcp: BTreeMap::new(),
            eval_config: BTreeMap::new(),
            added_inputs: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// A flow's inputs: set at run time, else the seed's.
    pub fn inputs_of(&self, flow: &str) -> Value {
        self.added_inputs.get(flow).cloned().unwrap_or_else(|| flow_inputs(flow))
    }

    /// A fresh deterministic id.
    pub fn id(&mut self, prefix: &str) -> String {
        let id = format!("{prefix}_new{}", self.next_id);
        self.next_id += 1;
        id
    }
}

pub fn session(id: &str, agent: &str, state: &str, messages: Vec<Value>) -> Value {
    json!({"id": id, "agent_id": agent, "name": null, "type": "api", "state": state, "messages": messages, "created_at": TS,
        "agent_name": "Agent 1", "agent_team_id": "team_1", "agent_creator_user_id": "user_test", "agent_icon_url": null,
        "agent_tools": [], "participants": {}, "creator": creator()})
}

pub fn message(role: &str, content: &str) -> Value {
    json!({"id": format!("msg_{}", content.len()), "role": role, "content": content, "created_at": TS, "creator_id": null, "parts": null})
}

pub fn run(id: &str, flow: &str, state: &str) -> Value {
    let outputs = if state == "DONE" { json!({"output": format!("result of {flow}")}) } else { json!({}) };
    json!({"user_id": "user_test", "state": state, "outputs": outputs, "created_ts": TS, "finished_ts": null, "log": [format!("run {id} of {flow}")]})
}

pub fn models() -> Value {
    json!({"model_groups": [{"provider": "openai", "models": [{"id": "gpt-4.1"}]}, {"provider": "anthropic", "models": [{"id": "claude-sonnet-4"}]}]})
}

pub fn mcp_servers() -> Vec<Value> {
    vec![
        json!({"id": "mcp_1", "name": "Slack", "url": "https://mcp.example.com/slack", "description": "Slack tools"}),
        json!({"id": "mcp_2", "name": "Linear", "url": "https://mcp.example.com/linear", "description": "Linear tools"}),
    ]
}

pub fn audit_log(i: usize) -> Value {
    json!({"event_id": format!("evt_{i:03}"), "timestamp": TS, "event_type": "login", "user_id": "user_test", "details": {}, "source_ip": "127.0.0.1", "user_agent": "test"})
}
