//! Every tool in tools.json is called against the fake, with a value for every argument,
//! and the request the fake receives is checked against the documented one: verb, path
//! (template with encoded parameters), query, body and credential headers.

mod common;

use gumloop_mcp_generated::resources::ALL_TOOLS;
use gumloop_mcp_runtime::{Base, Body, Context, Part, PartValue};
use gumloop_testkit::RecordedBody;
use serde_json::{Map, Value, json};

/// A value that satisfies `schema`; objects get every property at the top level and
/// their required ones below it.
fn sample(name: &str, schema: &Value, top: bool) -> Value {
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        return e[0].clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("string"),
        _ => "string",
    };
    match ty {
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => json!("2026-11-01T00:00:00Z"),
            Some("email") => json!("someone@example.com"),
            _ if name == "agent_id" => json!("agent_1"),
            _ if name == "content_base64" || name == "file_content" => json!("aGVsbG8="),
            _ if name == "content" => json!("---\nname: s\ndescription: d\n---\n"),
            _ => json!(format!("{name}-v")),
        },
        "integer" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1).max(1)),
        "number" => json!(0.5),
        "boolean" => json!(true),
        "array" => json!([sample(name, schema.get("items").unwrap_or(&json!({"type": "string"})), false)]),
        "object" => {
            let props = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            let required: Vec<&str> =
                schema.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let mut out = Map::new();
            for (k, s) in &props {
                // Files take text content only: `content` and `content_base64` exclude each other.
                if k == "content_base64" || k == "media_type" {
                    continue;
                }
                if top || required.contains(&k.as_str()) || k == "content" {
                    out.insert(k.clone(), sample(k, s, false));
                }
            }
            Value::Object(out)
        }
        _ => json!("v"),
    }
}

#[tokio::test]
async fn every_tool_sends_the_documented_request() {
    let h = common::start().await;
    let ctx = Context { user_id: Some("user_test".into()), ..Context::default() };
    assert_eq!(ALL_TOOLS.len(), 57);
    for d in ALL_TOOLS {
        let schema: Value = serde_json::from_str(d.input_schema).unwrap();
        let mut args = sample("", &schema, true);
        // The server's own arguments (wait, max_items, a flow run's inputs) have tests of
        // their own; this one checks the raw wire form.
        for k in d.server_args {
            args.as_object_mut().unwrap().remove(*k);
        }
        // A skill upload needs one of its forms (tests/skills.rs covers them); the server
        // puts its SKILL.md part in front of the generated parts.
        let skill_md = "---\nname: s\ndescription: d\n---\n";
        let uploads_skill = gumloop_mcp::behaviours::skills::is_upload(d);
        let mut call_args = args.clone();
        if uploads_skill {
            call_args["skill_markdown"] = json!(skill_md);
        }
        let result = h.call(d.name, call_args).await;
        let text = common::text_of(&result);
        assert!(!text.starts_with("invalid arguments"), "{}: {text}", d.name);
        let reqs = h.fake.take_requests();
        assert_eq!(reqs.len(), 1, "{}: exactly one upstream request", d.name);
        let got = &reqs[0];

        // Verb and path, from the descriptor's template (not from the generated builder).
        assert_eq!(got.method, d.http_method.as_str(), "{}", d.name);
        let mut path = d.path_template.to_owned();
        for (k, v) in args.as_object().unwrap() {
            if let Some(s) = v.as_str() {
                path = path.replace(&format!("{{{k}}}"), &gumloop_mcp_runtime::encode_segment(s));
            }
        }
        let prefix = if d.base == Base::Ws { "/ws/api/v1" } else { "/api/v1" };
        assert_eq!(got.path, format!("{prefix}{path}"), "{}", d.name);

        // Credential headers on every call.
        assert_eq!(got.headers.get("authorization").map(String::as_str), Some("Bearer test-key"), "{}", d.name);
        assert_eq!(got.headers.get("x-auth-key").map(String::as_str), Some("user_test"), "{}", d.name);

        // Query and body: what the generated builder describes is what arrived.
        let mut expected = (d.build)(args.clone(), &ctx).unwrap();
        if uploads_skill {
            let file = Part { name: "files".into(), value: PartValue::File { filename: "SKILL.md".into(), media_type: None, bytes: skill_md.into() } };
            let field = d.behaviours.skill_package.unwrap().field;
            expected.body = gumloop_mcp::behaviours::skills::with_files(expected.body, vec![file], field);
        }
        assert_eq!(got.query, expected.query, "{}", d.name);
        match (&expected.body, &got.body) {
            (Body::Empty, RecordedBody::Empty) => {}
            (Body::Json(e), RecordedBody::Json(g)) => assert_eq!(e, g, "{}", d.name),
            (Body::Multipart(e), RecordedBody::Multipart(g)) => {
                assert_eq!(e.len(), g.len(), "{}", d.name);
                for (ep, gp) in e.iter().zip(g) {
                    assert_eq!(ep.name, gp.name, "{}", d.name);
                    match &ep.value {
                        PartValue::Text(t) => assert_eq!(t.as_bytes(), gp.bytes.as_slice(), "{}", d.name),
                        PartValue::File { filename, bytes, .. } => {
                            assert_eq!(Some(filename), gp.filename.as_ref(), "{}", d.name);
                            assert_eq!(bytes, &gp.bytes, "{}", d.name);
                        }
                    }
                }
            }
            (e, g) => panic!("{}: expected body {e:?}, got {g:?}", d.name),
        }
        // Every argument the caller gave arrived somewhere under its upstream name.
        for k in args.as_object().unwrap().keys() {
            let in_path = d.path_template.contains(&format!("{{{k}}}"));
            let in_query = expected.query.iter().any(|(q, _)| q == k);
            let in_body = match &expected.body {
                Body::Json(b) => b.get(k).is_some(),
                Body::Multipart(parts) => parts.iter().any(|p| p.name == *k),
                Body::Empty => false,
            };
            let renamed = k == "id"; // `id` is sent under its upstream name (run_id, saved_item_id, …)
            assert!(in_path || in_query || in_body || renamed, "{}: argument `{k}` was not sent", d.name);
        }
    }
}

/// Values that try to move a path parameter out of its segment. `refused` ones could name
/// another endpoint (dot segments, empty, and their encoded or look-alike forms); the rest
/// must arrive as exactly one encoded segment.
const PATH_PAYLOADS: &[(&str, bool)] = &[
    (".", true),
    ("..", true),
    ("", true),
    ("%2e", true),
    ("%2E%2E", true),
    (".%2e", true),
    ("%252e%252e", true),
    ("\u{FF0E}\u{FF0E}", true),
    ("\u{2025}", true),
    ("%EF%BC%8E", true),
    ("..%2f", false),
    ("%2e%2e%2f", false),
    ("../..", false),
    ("a/../b", false),
    ("...", false),
    ("..;", false),
    ("..\\", false),
    ("\u{2215}..", false),
    ("\u{FF0F}", false),
    ("x?y#z", false),
];

#[tokio::test]
async fn no_path_parameter_leaves_its_segment() {
    let h = common::start().await;
    let with_params: Vec<_> = ALL_TOOLS.iter().filter(|d| d.path_template.contains('{')).collect();
    assert_eq!(with_params.len(), 29, "the tools with a path parameter (of 57)");
    for d in with_params {
        let schema: Value = serde_json::from_str(d.input_schema).unwrap();
        let mut args = sample("", &schema, false);
        for k in d.server_args {
            args.as_object_mut().unwrap().remove(*k);
        }
        let params: Vec<String> = d.path_template.split('{').skip(1).filter_map(|s| s.split_once('}')).map(|(p, _)| p.to_owned()).collect();
        for param in &params {
            for (payload, refused) in PATH_PAYLOADS {
                let mut call_args = args.clone();
                call_args[param.as_str()] = json!(payload);
                if gumloop_mcp::behaviours::skills::is_upload(d) {
                    call_args["skill_markdown"] = json!("---\nname: s\ndescription: d\n---\n");
                }
                let result = h.call(d.name, call_args.clone()).await;
                let text = common::text_of(&result);
                let reqs = h.fake.take_requests();
                let case = format!("{} with {param} = {payload:?}", d.name);
                if *refused {
                    assert_eq!(result["isError"], true, "{case}: {result}");
                    assert!(text.contains(&format!("(nothing was sent to Gumloop):\n- /{param}: ")), "{case}: {text}");
                    assert!(text.contains("cannot be a path segment"), "{case}: {text}");
                    assert!(reqs.is_empty(), "{case}: nothing may reach Gumloop, got {:?}", reqs.iter().map(|r| &r.path).collect::<Vec<_>>());
                    continue;
                }
                assert_eq!(reqs.len(), 1, "{case}: {text}");
                let mut path = d.path_template.to_owned();
                for p in &params {
                    let v = call_args[p.as_str()].as_str().unwrap();
                    path = path.replace(&format!("{{{p}}}"), &gumloop_mcp_runtime::encode_segment(v));
                }
                let prefix = if d.base == Base::Ws { "/ws/api/v1" } else { "/api/v1" };
                assert_eq!(reqs[0].path, format!("{prefix}{path}"), "{case}");
                assert_eq!(reqs[0].method, d.http_method.as_str(), "{case}");
            }
        }
    }
}
