//! Deterministic seed data and the mutable records the fake keeps.
//!
//! Seed ids tests rely on: flows `flow_1`..`flow_3` (workbook `wb_1`), agents `agent_1`
//! and `agent_2`, sessions `sess_01`..`sess_25` of `agent_1` (all completed), artifacts
//! `art_1`..`art_3` of `agent_1`, skills `skill_1`..`skill_3`, models `gpt-4.1` and
//! `claude-sonnet-4`, organization `org_1`, team `team_1`, MCP servers `mcp_1`, `mcp_2`,
//! evaluations `eval_1`..`eval_3`, versions `ver_1`, `ver_2`, triggers `trig_1`, `trig_2`,
//! run `run_seed`, 120 audit log entries (`FakeConfig::audit_logs`), and session `ses_998` of `agent_1`, stuck in
//! `processing`. A finished run of `flow_pricing` (the Competitor Pricing Scraper) adds a
//! CSV artifact to `agent_1` with a row for its `target_company`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// A 1×1 PNG: the image a chat completion generates.
pub const TINY_PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// A record that completes after a number of polls.
#[derive(Debug, Clone)]
pub struct Polled {
    pub value: Value,
    pub polls: u32,
    /// Never completes however often it is polled (a stuck session, to cancel).
    pub stuck: bool,
}

impl Polled {
    /// Counts one poll; true when it has just been polled enough to finish.
    pub fn poll(&mut self, needed: u32) -> bool {
        if self.stuck {
            return false;
        }
        self.polls += 1;
        self.polls >= needed
    }
}

/// An empty but valid zip archive: a legacy multi-file download, and a skill's bytes.
pub const EMPTY_ZIP: &[u8] = &[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

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
    /// The bytes behind each artifact's signed URL: (media type, content).
    pub artifact_bodies: BTreeMap<String, (String, String)>,
    /// Each run's `pipeline_inputs`, by run id.
    pub run_inputs: BTreeMap<String, Value>,
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
        _ => {
            json!([{"name": "topic", "data_type": "string", "description": "What to write about"}, {"name": "attachment", "data_type": "file", "description": null}])
        }
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
                (
                    id.clone(),
                    json!({"id": id, "name": format!("Agent {i}"), "description": null, "team_id": "team_1", "is_active": true,
                    "model_name": "gpt-4.1", "system_prompt": "Be helpful.", "tools": [], "resources": [], "skill_ids": ["skill_1"],
                    "metadata": {}, "folder_id": null, "type": null, "created_at": TS, "active_trigger_count": 0, "creator": creator()}),
                )
            })
            .collect();
        let mut sessions: BTreeMap<String, Polled> = (1..=25)
            .map(|i| {
                let id = format!("sess_{i:02}");
                (id.clone(), Polled { value: session(&id, "agent_1", "completed", vec![]), polls: 0, stuck: false })
            })
            .collect();
        // A session stuck in `processing` (the stuck-session workflow cancels it).
        let stuck = session("ses_998", "agent_1", "processing", vec![message("user", "Summarise last quarter's churn")]);
        sessions.insert("ses_998".to_owned(), Polled { value: stuck, polls: 0, stuck: true });
        let artifacts = (1..=3)
            .map(|i| {
                json!({"id": format!("art_{i}"), "version_id": format!("artv_{i}"), "major_version": 1, "agent_id": "agent_1",
                "session_id": "sess_01", "filename": format!("report-{i}.csv"), "created_at": TS,
                "metadata": {"media_type": "text/csv", "size": 12}, "url": null, "creator": creator()})
            })
            .collect();
        let skills = (1..=3)
            .map(|i| {
                let id = format!("skill_{i}");
                (
                    id.clone(),
                    json!({"id": id, "name": format!("skill-{i}"), "description": format!("Seed skill {i}"), "team_id": "team_1",
                    "created_at": TS, "updated_at": TS, "metadata": {}, "usage_count": i, "view_count": 0, "last_used_at": null,
                    "version_id": format!("skv_{i}"), "major_version": 1, "is_deployed": true, "version_created_at": TS, "creator": creator()}),
                )
            })
            .collect();
        let mut runs = BTreeMap::new();
        runs.insert("run_seed".to_owned(), Polled { value: run("run_seed", "flow_1", "DONE"), polls: 0, stuck: false });
        Self {
            flows,
            agents,
            sessions,
            runs,
            agent_runs: BTreeMap::new(),
            exports: BTreeMap::new(),
            artifacts,
            artifact_bodies: BTreeMap::new(),
            run_inputs: BTreeMap::new(),
            skills,
            agent_mcp: BTreeMap::new(),
            eval_config: BTreeMap::new(),
            added_inputs: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// What a finished run leaves behind: the pricing flow writes a CSV artifact.
    pub fn finish_run(&mut self, run_id: &str, flow: &str) {
        if flow != "flow_pricing" {
            return;
        }
        let inputs = self.run_inputs.get(run_id).cloned().unwrap_or_default();
        let company = inputs
            .as_array()
            .and_then(|a| a.iter().find(|i| i["input_name"] == "target_company"))
            .and_then(|i| i["value"].as_str())
            .unwrap_or("unknown")
            .to_owned();
        let slug: String = company.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let id = self.id("art");
        let csv = format!("company,plan,monthly_price_usd\n{company},Starter,19\n{company},Pro,49\n{company},Enterprise,199\n");
        self.artifacts.push(json!({"id": id, "version_id": format!("{id}_v1"), "major_version": 1, "agent_id": "agent_1",
            "session_id": null, "filename": format!("pricing-{slug}.csv"), "created_at": TS,
            "metadata": {"media_type": "text/csv", "size": csv.len()}, "url": null, "creator": creator()}));
        // A run log beside it, so filtering to .csv has something to leave out.
        let log_id = self.id("art");
        self.artifacts.push(json!({"id": log_id, "version_id": format!("{log_id}_v1"), "major_version": 1, "agent_id": "agent_1",
            "session_id": null, "filename": format!("pricing-{slug}-log.txt"), "created_at": TS,
            "metadata": {"media_type": "text/plain", "size": 3}, "url": null, "creator": creator()}));
        self.artifact_bodies.insert(id, ("text/csv".into(), csv));
        self.artifact_bodies.insert(log_id, ("text/plain".into(), "ok\n".into()));
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
