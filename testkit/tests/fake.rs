//! The fake behaves as the reference documents: auth, envelopes, async states, multipart
//! rules, signed URLs, pagination, the streaming host, faults and recording.

use gumloop_testkit::{FakeConfig, FakeGumloop, Fault, FaultKind, RateLimitStyle, RecordedBody};
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

fn auth(r: RequestBuilder) -> RequestBuilder {
    r.bearer_auth("test-key").header("x-auth-key", "user_test")
}

async fn json_of(r: RequestBuilder) -> (u16, Value) {
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn auth_is_checked_and_failures_are_recorded() {
    let f = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let c = Client::new();
    let (s, b) = json_of(c.get(format!("{}/models", f.api_base()))).await;
    assert_eq!(s, 401);
    assert!(b["error"]["message"].as_str().unwrap().contains("API key"));
    let (s, _) = json_of(c.get(format!("{}/models", f.api_base())).bearer_auth("test-key")).await;
    assert_eq!(s, 401, "personal keys need x-auth-key");
    let (s, _) = json_of(c.get(format!("{}/models", f.api_base())).bearer_auth("test-key").header("x-auth-key", "other")).await;
    assert_eq!(s, 403);
    let (s, b) = json_of(c.get(format!("{}/list_saved_items", f.api_base())).bearer_auth("nope")).await;
    assert_eq!((s, b["error"].is_string()), (401, true), "legacy endpoints use the flat envelope");
    assert_eq!(f.requests().len(), 4);
    assert_eq!(f.requests()[1].headers["authorization"], "Bearer test-key");
}

#[tokio::test]
async fn session_lifecycle() {
    let f = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let c = Client::new();
    let base = f.api_base();
    let (s, b) = json_of(auth(c.post(format!("{base}/agents/agent_1/sessions"))).json(&json!({}))).await;
    assert_eq!((s, b["session"]["state"].as_str()), (201, Some("idle")));
    let (s, b) = json_of(auth(c.post(format!("{base}/agents/agent_1/sessions"))).json(&json!({"input": "hi", "session_id": "mine"}))).await;
    assert_eq!((s, b["session"]["state"].as_str()), (202, Some("processing")));
    let (s, b) = json_of(auth(c.post(format!("{base}/agents/agent_1/sessions"))).json(&json!({"session_id": "mine"}))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (409, Some("session_already_exists")));
    let (s, b) = json_of(auth(c.post(format!("{base}/sessions/mine/messages"))).json(&json!({"input": "more"}))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (409, Some("interaction_not_in_terminal_state")));
    let (_, b) = json_of(auth(c.get(format!("{base}/sessions/mine")))).await;
    assert_eq!(b["session"]["state"], "processing");
    let (_, b) = json_of(auth(c.get(format!("{base}/sessions/mine")))).await;
    assert_eq!(b["session"]["state"], "completed", "completes after two polls");
    let (s, _) = json_of(auth(c.post(format!("{base}/sessions/mine/messages"))).json(&json!({"input": "more"}))).await;
    assert_eq!(s, 202);
    let (_, b) = json_of(auth(c.post(format!("{base}/sessions/mine/cancel")))).await;
    assert_eq!(b["session"], json!({"id": "mine", "agent_id": "agent_1", "state": "failed"}));
    let (s, b) = json_of(auth(c.post(format!("{base}/agents/agent_1/sessions"))).json(&json!({"input": "x", "stream": true}))).await;
    assert_eq!(s, 400);
    assert!(b["error"]["message"].as_str().unwrap().contains("ws.gumloop.com"));
}

#[tokio::test]
async fn skills_multipart_rules() {
    let f = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let c = Client::new();
    let url = format!("{}/skills", f.api_base());
    let part = |name: &str, bytes: Vec<u8>| reqwest::multipart::Form::new().part("files", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    let (s, b) = json_of(auth(c.post(&url)).multipart(part("SKILL.md", b"---\nname: a\ndescription: b\n---\nbody".to_vec()))).await;
    assert_eq!((s, b["skill"]["name"].as_str()), (201, Some("a")));
    let (s, b) = json_of(auth(c.post(&url)).multipart(part("SKILL.md", b"---\nname: a\n---\n".to_vec()))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("invalid_skill_md")));
    let (s, _) = json_of(auth(c.post(&url)).multipart(part("big.zip", vec![b'P'; 11 * 1024 * 1024]))).await;
    assert_eq!(s, 413);
    let RecordedBody::Multipart(parts) = &f.requests()[0].body else { panic!() };
    assert_eq!(parts[0].filename.as_deref(), Some("SKILL.md"));

    // Archives: SKILL.md at the root gives the name; unsafe entries are refused.
    let zip = |entries: &[(&str, &str)]| {
        use std::io::Write as _;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, text) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    let md = "---\nname: zipped\ndescription: b\n---\n";
    let (s, b) = json_of(auth(c.post(&url)).multipart(part("zipped.skill", zip(&[("SKILL.md", md), ("scripts/a.py", "")])))).await;
    assert_eq!((s, b["skill"]["name"].as_str()), (201, Some("zipped")));
    for evil in ["../evil", "/etc/passwd", "a\\..\\b"] {
        let (s, b) = json_of(auth(c.post(&url)).multipart(part("x.zip", zip(&[("SKILL.md", md), (evil, "x")])))).await;
        assert_eq!((s, b["error"]["code"].as_str()), (400, Some("unsafe_archive")), "{evil}");
    }
    let (s, b) = json_of(auth(c.post(&url)).multipart(part("x.zip", zip(&[("dir/SKILL.md", md)])))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("invalid_skill_md")));
    // Loose files: one of them SKILL.md, every name safe.
    let loose = |names: &[&str]| {
        let mut form = reqwest::multipart::Form::new();
        for n in names {
            form = form.part("files", reqwest::multipart::Part::bytes(md.as_bytes().to_vec()).file_name(n.to_string()));
        }
        form
    };
    let (s, _) = json_of(auth(c.post(&url)).multipart(loose(&["SKILL.md", "notes.md"]))).await;
    assert_eq!(s, 201);
    let (s, b) = json_of(auth(c.post(&url)).multipart(loose(&["SKILL.md", "../notes.md"]))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("unsafe_path")));
    let (s, b) = json_of(auth(c.post(&url)).multipart(loose(&["a.md", "b.md"]))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("invalid_skill_md")));
}

#[tokio::test]
async fn signed_urls_and_pagination() {
    let f = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let c = Client::new();
    let base = f.api_base();
    let (_, b) = json_of(auth(c.get(format!("{base}/artifacts/art_1/download")))).await;
    let url = b["download_url"].as_str().unwrap().to_owned();
    let ok = c.get(&url).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "text/csv");
    let tampered = url.replace("art_1", "art_2");
    assert_eq!(c.get(&tampered).send().await.unwrap().status(), 403);
    let expired = url.split("?expires=").next().unwrap().to_owned() + "?expires=1&signature=00";
    assert_eq!(c.get(&expired).send().await.unwrap().status(), 403);

    let (_, p1) = json_of(auth(c.get(format!("{base}/agents/agent_1/sessions")))).await;
    assert_eq!(p1["sessions"].as_array().unwrap().len(), 20);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = json_of(auth(c.get(format!("{base}/agents/agent_1/sessions")).query(&[("cursor", cursor)]))).await;
    // sess_01..sess_25 and the stuck ses_998.
    assert_eq!(p2["sessions"].as_array().unwrap().len(), 6);
    assert!(p2["next_cursor"].is_null());
    let (s, _) = json_of(auth(c.get(format!("{base}/agents/agent_1/sessions")).query(&[("page_size", "101")]))).await;
    assert_eq!(s, 400);
    let q = [("organization_id", "org_1"), ("user_id", "user_test"), ("start_time", "a"), ("end_time", "b"), ("page", "3")];
    let (_, logs) = json_of(auth(c.get(format!("{base}/get_audit_logs")).query(&q))).await;
    assert_eq!((logs["total_pages"].as_u64(), logs["audit_logs"].as_array().unwrap().len()), (Some(3), 20));
}

#[tokio::test]
async fn chat_lives_on_the_streaming_host_and_faults_apply() {
    let f = FakeGumloop::start(FakeConfig::default()).await.unwrap();
    let c = Client::new();
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "ping"}]});
    let (s, _) = json_of(auth(c.post(format!("{}/chat/completions", f.api_base()))).json(&body)).await;
    assert_eq!(s, 404);
    let (s, b) = json_of(auth(c.post(format!("{}/chat/completions", f.ws_base()))).json(&body)).await;
    assert_eq!((s, b["choices"][0]["message"]["content"].as_str()), (200, Some("echo: ping")));

    f.push_fault(Fault {
        path_contains: Some("/teams".into()),
        kind: FaultKind::RateLimited { limit: 5, remaining: 0, reset_secs: 9, retry_after: Some(3), style: RateLimitStyle::Ietf },
    });
    let r = auth(c.get(format!("{}/models", f.api_base()))).send().await.unwrap();
    assert_eq!(r.status(), 200, "the fault waits for a matching path");
    let r = auth(c.get(format!("{}/teams", f.api_base()))).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!((r.headers()["ratelimit-reset"].to_str().unwrap(), r.headers()["retry-after"].to_str().unwrap()), ("9", "3"));
    f.push_fault(Fault { path_contains: None, kind: FaultKind::InvalidJson });
    let r = auth(c.get(format!("{}/teams", f.api_base()))).send().await.unwrap();
    assert!(r.json::<Value>().await.is_err());
}
