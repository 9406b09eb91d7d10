//! Bodies that are not JSON-RPC requests get JSON-RPC errors: -32700 for what is not JSON
//! (truncated, invalid UTF-8, nested too deep), -32600 for what is not a valid request
//! (batches, bad `jsonrpc`, bad ids, a non-string method), -32602 naming the member for a
//! standard request whose params do not fit (not "method not found"), 413 for a body over
//! the limit. None of them reaches Gumloop; valid calls in both eras still work.

mod common;

use common::{Reply, reply, start, start_managed};
use gumloop_mcp::http::HttpConfig;
use serde_json::{Value, json};

/// Asserts a JSON-RPC error answer.
fn assert_error(r: &Reply, status: u16, code: i64, id: Value, case: &str) {
    assert_eq!(r.status, status, "{case}: {}", r.body);
    assert_eq!(r.headers["content-type"], "application/json", "{case}");
    assert_eq!(r.body["jsonrpc"], "2.0", "{case}: {}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{case}: {}", r.body);
    assert_eq!(r.body["id"], id, "{case}: {}", r.body);
    assert!(r.body.as_object().unwrap().contains_key("id"), "{case}: id is present, null when unreadable");
}

fn nested(levels: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"list_all_gumloop_models","arguments":{{"a":{}0{}}}}}}}"#,
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

#[tokio::test]
async fn bodies_that_are_not_json_rpc_requests_get_json_rpc_errors_and_never_reach_gumloop() {
    let h = start().await;
    let cases: Vec<(&str, Vec<u8>, u16, i64, Value)> = vec![
        ("truncated JSON", br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"#.to_vec(), 400, -32700, Value::Null),
        ("invalid UTF-8", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"list_\xff\"}}".to_vec(), 400, -32700, Value::Null),
        ("nesting deeper than 128", nested(200).into_bytes(), 400, -32700, Value::Null),
        ("a batch", br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#.to_vec(), 400, -32600, Value::Null),
        ("an object id", br#"{"jsonrpc":"2.0","id":{"n":1},"method":"tools/list"}"#.to_vec(), 400, -32600, Value::Null),
        ("a bool id", br#"{"jsonrpc":"2.0","id":true,"method":"tools/list"}"#.to_vec(), 400, -32600, Value::Null),
        ("a null id", br#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#.to_vec(), 400, -32600, Value::Null),
        ("a fractional id", br#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#.to_vec(), 400, -32600, Value::Null),
        ("missing jsonrpc", br#"{"id":4,"method":"tools/list"}"#.to_vec(), 400, -32600, json!(4)),
        ("jsonrpc 1.0", br#"{"jsonrpc":"1.0","id":"x","method":"tools/list"}"#.to_vec(), 400, -32600, json!("x")),
        ("a numeric method", br#"{"jsonrpc":"2.0","id":5,"method":12}"#.to_vec(), 400, -32600, json!(5)),
        ("not an object", br#""tools/list""#.to_vec(), 400, -32600, Value::Null),
        // Well-formed envelope, but rmcp cannot parse the error object inside.
        ("an error answer without a code", br#"{"jsonrpc":"2.0","id":6,"error":{"message":"x"}}"#.to_vec(), 400, -32600, json!(6)),
    ];
    for (case, body, status, code, id) in cases {
        let r = reply(h.post().body(body).send().await.unwrap()).await;
        assert_error(&r, status, code, id, case);
    }
    // Within the limit the same nesting is served (here: refused by the tool's own schema).
    let deep: Value = serde_json::from_str(&format!("{}0{}", "[".repeat(120), "]".repeat(120))).unwrap();
    let ok_depth = h.rpc("tools/call", json!({"name": "list_all_gumloop_models", "arguments": {"a": deep}})).await;
    assert_eq!(ok_depth.status, 200, "{}", ok_depth.body);
    assert_eq!(ok_depth.body["result"]["isError"], true, "{}", ok_depth.body);
    assert!(h.fake.requests().is_empty(), "none reached Gumloop: {:?}", h.fake.requests());
}

#[tokio::test]
async fn standard_requests_with_wrong_typed_params_get_invalid_params_in_both_eras() {
    let h = start().await;
    // 2026-07-28, stateless.
    let r = h.rpc("tools/call", json!({"name": "list_all_gumloop_models", "arguments": "{}"})).await;
    assert_error(&r, 200, -32602, json!(1), "string arguments");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("`tools/call`") && message.contains("`arguments`: invalid type: string"), "{message}");
    let r = h.rpc("tools/call", json!({"name": 42, "arguments": {}})).await;
    assert_error(&r, 200, -32602, json!(1), "numeric tool name");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("`name`: invalid type: integer `42`, expected a string"), "{}", r.body);
    // 2025-11-25, in a session: the same errors, with the request's id.
    let legacy = h.legacy_session().await;
    let r = legacy.rpc(7, "tools/call", json!({"name": "list_all_gumloop_models", "arguments": ["x"]})).await;
    assert_error(&r, 200, -32602, json!(7), "array arguments in a session");
    let r = legacy.rpc(8, "tools/call", json!({"name": 3.5})).await;
    assert_error(&r, 200, -32602, json!(8), "numeric name in a session");
    let r = legacy.post_raw(r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"#).await;
    assert_error(&r, 400, -32700, Value::Null, "truncated JSON in a session");
    // An initialize whose params do not fit opens no session.
    let bad_init = json!({"jsonrpc": "2.0", "id": "i", "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": "all"}});
    let r = reply(h.post().json(&bad_init).send().await.unwrap()).await;
    assert_error(&r, 200, -32602, json!("i"), "initialize with string capabilities");
    assert!(!r.headers.contains_key("mcp-session-id"));
    assert!(h.fake.requests().is_empty(), "none reached Gumloop: {:?}", h.fake.requests());

    // Valid calls still work in both eras, and only they reach Gumloop.
    let called = h.call("list_all_gumloop_models", json!({})).await;
    assert!(called["structuredContent"]["model_groups"].is_array(), "{called}");
    let r = legacy.rpc(10, "tools/call", json!({"name": "list_all_gumloop_models", "arguments": {}})).await;
    assert!(r.body["result"]["structuredContent"]["model_groups"].is_array(), "{}", r.body);
    assert_eq!(h.fake.requests().len(), 2);
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_in_json_rpc() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = start().await;
    // Declared too large: answered before a byte of it is read (a raw request, because an
    // HTTP client would still be sending 16 MB when the answer comes).
    let addr = h.url.trim_start_matches("http://").trim_end_matches("/mcp").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        gumloop_mcp::http::screen::MAX_REQUEST_BYTES + 1
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!((body["error"]["code"].as_i64(), &body["id"]), (Some(-32600), &Value::Null), "{body}");
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn managed_urls_get_the_same_answers_after_their_token_check() {
    let h = start_managed(HttpConfig::default()).await;
    let url = h.server(json!({})).await;
    let post = |url: &str, body: &'static str| {
        h.client.post(url).header("content-type", "application/json").header("accept", "application/json, text/event-stream").body(body).send()
    };
    let r = reply(post(&url, r#"{"jsonrpc":"2.0","id":1,"method""#).await.unwrap()).await;
    assert_error(&r, 400, -32700, Value::Null, "truncated JSON on a managed URL");
    let r = reply(post(&url, r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#).await.unwrap()).await;
    assert_error(&r, 400, -32600, Value::Null, "a batch on a managed URL");
    // An unknown token learns nothing about its body: the token check comes first.
    let unknown = format!("{}/mcp/gmcp_{}", h.base, "A".repeat(43));
    let r = reply(post(&unknown, r#"{"jsonrpc":"2.0","id":1,"method""#).await.unwrap()).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "not_found");
    assert!(h.fake.requests().is_empty());
}
