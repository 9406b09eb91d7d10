//! Unit tests of `envelope`.
use super::*;

fn refused(body: &[u8]) -> Rejection {
    check(body, None).expect_err("refused")
}

#[test]
fn valid_messages_pass() {
    let call = br#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"x","arguments":{"k":[1,{"a":"]"}]}}}"#;
    let m = check(call, None).unwrap();
    assert_eq!((m.kind, m.method.as_deref(), m.id()), (Kind::Request, Some("tools/call"), Some(RequestId::String("a".into()))));
    assert!(check(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, None).unwrap().kind == Kind::Notification);
    assert!(check(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#, None).unwrap().kind == Kind::Response);
    assert!(check(br#"{"jsonrpc":"2.0","id":1.0,"method":"ping"}"#, None).unwrap().is_request("ping"));
    // Custom methods keep whatever params rmcp would hand the handler.
    assert!(check(br#"{"jsonrpc":"2.0","id":1,"method":"x/y","params":{"any":1}}"#, None).is_ok());
}

#[test]
fn not_json_is_a_parse_error() {
    for body in [&b"{\"jsonrpc\":\"2.0\",\"id\":1,"[..], b"", b"{\"a\":\"\xff\"}", b"{} {}"] {
        let r = refused(body);
        assert_eq!(
            (r.status, r.error.code, r.id),
            (StatusCode::BAD_REQUEST, ErrorCode::PARSE_ERROR, None),
            "{:?}: {}",
            String::from_utf8_lossy(body),
            r.error.message
        );
    }
}

#[test]
fn nesting_is_refused_where_serde_json_refuses_it() {
    let nest = |n: usize| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"x/y","params":{{"a":{}1{}}}}}"#, "[".repeat(n), "]".repeat(n));
    // The envelope and params add two levels.
    let deepest = nest(MAX_DEPTH - 3);
    assert!(serde_json::from_str::<serde_json::Value>(&deepest).is_ok() && check(deepest.as_bytes(), None).is_ok());
    let too_deep = nest(MAX_DEPTH - 2);
    assert!(serde_json::from_str::<serde_json::Value>(&too_deep).is_err());
    assert_eq!(refused(too_deep.as_bytes()).error.code, ErrorCode::PARSE_ERROR);
    assert!(!nesting_exceeds(format!(r#"{{"s":"{}"}}"#, "[".repeat(500)).as_bytes(), 10), "brackets in strings do not count");
}

#[test]
fn malformed_envelopes_are_invalid_requests() {
    let cases: [(&[u8], Option<RequestId>); 8] = [
        (br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, None),
        (br#""ping""#, None),
        (br#"{"id":1,"method":"ping"}"#, Some(RequestId::Number(1))),
        (br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, Some(RequestId::Number(1))),
        (br#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#, None),
        (br#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#, None),
        (br#"{"jsonrpc":"2.0","id":7,"method":5}"#, Some(RequestId::Number(7))),
        (br#"{"jsonrpc":"2.0","id":7,"method":"ping","result":{}}"#, Some(RequestId::Number(7))),
    ];
    for (body, id) in cases {
        let r = refused(body);
        assert_eq!(
            (r.status, r.error.code, &r.id),
            (StatusCode::BAD_REQUEST, ErrorCode::INVALID_REQUEST, &id),
            "{}: {}",
            String::from_utf8_lossy(body),
            r.error.message
        );
    }
}

#[test]
fn standard_requests_with_params_of_the_wrong_type_name_the_member() {
    let r = refused(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","arguments":"oops"}}"#);
    assert_eq!((r.status, r.error.code, r.id), (StatusCode::OK, ErrorCode::INVALID_PARAMS, Some(RequestId::Number(3))));
    assert!(r.error.message.starts_with("Invalid params for `tools/call`: `arguments`: invalid type: string \"oops\", expected a map"), "{}", r.error.message);
    let r = refused(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":5}}"#);
    assert!(r.error.message.contains("`name`: invalid type: integer `5`, expected a string"), "{}", r.error.message);
    let r = refused(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#);
    assert!(r.error.message.contains("missing field `params`"), "{}", r.error.message);
    let r = refused(br#"{"jsonrpc":"2.0","id":"i","method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#);
    assert!(r.error.message.contains("missing field `capabilities`"), "{}", r.error.message);
    // A 2026-07-28 request without its required `_meta` is one rmcp answers with 400.
    let r = check(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":[]}}"#, Some("2026-07-28")).unwrap_err();
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[test]
fn the_params_check_agrees_with_rmcp_for_every_standard_method() {
    assert_eq!(STANDARD.len(), 21, "every ClientRequest variant but CustomRequest");
    let samples = [
        "{}",
        r#"{"_meta":{"progressToken":1}}"#,
        r#"{"name":{},"uri":{},"taskId":{},"level":{},"ref":1,"cursor":{},"protocolVersion":{},"arguments":[]}"#,
        r#"{"name":"x","uri":"u","taskId":"t","level":"info","cursor":"c","protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}"#,
    ];
    for (method, _) in STANDARD {
        for params in samples {
            let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
            let ours = params_error(&envelope(body.as_bytes()).unwrap());
            let custom = rmcp_parses(body.as_bytes()).unwrap_or(true);
            assert_eq!(ours.is_some(), custom, "{method} {params}: ours {ours:?}, rmcp falls back to a custom request: {custom}");
        }
    }
}
