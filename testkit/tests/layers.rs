//! The order of the fake's layers: a request is recorded, then a queued fault may answer,
//! then auth is checked, then the route runs; `/__fake/` skips all three. And every fault
//! kind answers exactly as it always has.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gumloop_testkit::{FakeConfig, FakeGumloop, Fault, FaultKind, RateLimitStyle, RecordedBody};
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

fn auth(r: RequestBuilder) -> RequestBuilder {
    r.bearer_auth("test-key").header("x-auth-key", "user_test")
}

fn fault(path: Option<&str>, kind: FaultKind) -> Fault {
    Fault { path_contains: path.map(str::to_owned), kind }
}

/// Redirects are answers under test here, not something to follow.
fn client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn start() -> FakeGumloop {
    FakeGumloop::start(FakeConfig::default()).await.unwrap()
}

#[tokio::test]
async fn a_faulted_request_is_still_recorded_with_its_body() {
    let f = start().await;
    f.push_fault(fault(Some("/brain/search"), FaultKind::Status(503)));
    let r = auth(client().post(format!("{}/brain/search", f.api_base()))).json(&json!({"query": "q"})).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let reqs = f.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!((reqs[0].method.as_str(), reqs[0].path.as_str()), ("POST", "/api/v1/brain/search"));
    assert_eq!(reqs[0].body, RecordedBody::Json(json!({"query": "q"})));
    assert_eq!(reqs[0].headers["authorization"], "Bearer test-key");
}

#[tokio::test]
async fn a_fault_answers_before_auth_is_checked() {
    let f = start().await;
    let c = client();
    let models = format!("{}/models", f.api_base());
    f.push_fault(fault(None, FaultKind::Status(503)));
    let r = c.get(&models).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), 503, "the fault answers, not the 401 a bad key would get");
    f.push_fault(fault(None, FaultKind::RateLimited { limit: 1, remaining: 0, reset_secs: 1, retry_after: None, style: RateLimitStyle::Ietf }));
    assert_eq!(c.get(&models).send().await.unwrap().status(), 429, "no credentials at all");
    // A delay answers nothing itself: auth runs after it, and refuses the bad key.
    f.push_fault(fault(None, FaultKind::Delay(Duration::from_millis(200))));
    let t = Instant::now();
    let r = c.get(&models).bearer_auth("wrong").send().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(r.status(), 401);
    assert_eq!(f.requests().len(), 3, "every one of them recorded");
    // With the fault queue empty, the same bad key meets auth at once.
    assert_eq!(c.get(&models).bearer_auth("wrong").send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn fake_endpoints_are_neither_recorded_faulted_nor_authenticated() {
    let f = start().await;
    let c = client();
    f.push_fault(fault(None, FaultKind::Status(500)));
    let own = format!("http://{}/__fake/requests", f.addr());
    let r = c.get(&own).send().await.unwrap();
    assert_eq!(r.status(), 200, "no credentials needed, and the queued fault is not taken");
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));
    assert!(f.requests().is_empty());
    let r = auth(c.get(format!("{}/models", f.api_base()))).send().await.unwrap();
    assert_eq!(r.status(), 500, "the fault waited for the next API request");
    let listed: Value = c.get(&own).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["path"], "/api/v1/models");
    assert_eq!(listed[0]["headers"]["x-auth-key"], "user_test");
    assert_eq!(listed[0]["json"], Value::Null, "no body");
    let r = auth(c.post(format!("{}/start_pipeline", f.api_base()))).json(&json!({"saved_item_id": "flow_1", "user_id": "user_test"})).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let listed: Value = c.get(&own).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed[1]["json"]["saved_item_id"], "flow_1", "JSON bodies are listed: {listed}");
}

#[tokio::test]
async fn routes_see_the_body_the_recorder_read() {
    let f = start().await;
    let body = json!({"input": "hi", "session_id": "s1"});
    let r = auth(client().post(format!("{}/agents/agent_1/sessions", f.api_base()))).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.unwrap()["session"]["id"], "s1");
    assert_eq!(f.requests()[0].body, RecordedBody::Json(body));
}

#[tokio::test]
async fn signed_urls_and_unknown_paths_keep_their_rules() {
    let f = start().await;
    let c = client();
    // /signed/ is recorded and faulted, but never asks for credentials.
    let signed = format!("http://{}/signed/artifacts/art_1", f.addr());
    f.push_fault(fault(Some("/signed/"), FaultKind::Status(502)));
    let r = c.get(&signed).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "fault");
    assert_eq!(c.get(&signed).send().await.unwrap().status(), 403, "the route's own signature check, not auth");
    // An unknown path is behind auth too, and answers in the envelope its path implies.
    let r = c.get(format!("{}/nope", f.api_base())).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = auth(c.get(format!("{}/nope", f.api_base()))).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    let r = auth(c.get(format!("{}/list_saved_items/x", f.api_base()))).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": "no such endpoint"}));
    let paths: Vec<String> = f.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/signed/artifacts/art_1", "/signed/artifacts/art_1", "/api/v1/nope", "/api/v1/nope", "/api/v1/list_saved_items/x"]);
}

#[tokio::test]
async fn every_fault_kind_answers_as_before() {
    let f = start().await;
    let c = client();
    let teams = format!("{}/teams", f.api_base());
    let legacy = format!("{}/list_saved_items?user_id=u", f.api_base());
    let header = |r: &reqwest::Response, k: &str| r.headers().get(k).map(|v| v.to_str().unwrap().to_owned());

    // Rate limits, in each header style.
    f.push_fault(fault(None, FaultKind::RateLimited { limit: 5, remaining: 0, reset_secs: 9, retry_after: Some(3), style: RateLimitStyle::Ietf }));
    let r = auth(c.get(&teams)).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let h: Vec<Option<String>> =
        ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after", "x-ratelimit-limit"].iter().map(|k| header(&r, k)).collect();
    assert_eq!(h, [Some("5".into()), Some("0".into()), Some("9".into()), Some("3".into()), None]);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": {"message": "too many concurrent agent interactions for this plan", "code": "rate_limited", "type": "invalid_request_error", "param": null, "details": null}})
    );
    f.push_fault(fault(None, FaultKind::RateLimited { limit: 5, remaining: 1, reset_secs: 60, retry_after: None, style: RateLimitStyle::XRateLimit }));
    let r = auth(c.get(&legacy)).send().await.unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let reset: u64 = header(&r, "x-ratelimit-reset").unwrap().parse().unwrap();
    assert!((now + 58..=now + 61).contains(&reset), "an epoch timestamp: {reset}");
    assert_eq!((header(&r, "x-ratelimit-limit"), header(&r, "x-ratelimit-remaining"), header(&r, "retry-after")), (Some("5".into()), Some("1".into()), None));
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": "too many concurrent agent interactions for this plan"}), "legacy paths, flat envelope");
    f.push_fault(fault(None, FaultKind::RateLimited { limit: 5, remaining: 0, reset_secs: 9, retry_after: Some(7), style: RateLimitStyle::RetryAfterOnly }));
    let r = auth(c.get(&teams)).send().await.unwrap();
    assert_eq!((header(&r, "retry-after"), header(&r, "ratelimit-reset"), header(&r, "x-ratelimit-reset")), (Some("7".into()), None, None));

    // A status, in the envelope of its path.
    f.push_fault(fault(None, FaultKind::Status(418)));
    let r = auth(c.get(&legacy)).send().await.unwrap();
    assert_eq!(r.status(), 418);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": "injected upstream failure"}));

    // Invalid JSON: exact bytes and content type.
    f.push_fault(fault(None, FaultKind::InvalidJson));
    let r = auth(c.get(&teams)).send().await.unwrap();
    assert_eq!((r.status().as_u16(), header(&r, "content-type")), (200, Some("application/json".into())));
    assert_eq!(r.text().await.unwrap(), "{\"not json");

    // Huge bodies, declared or not.
    for declared in [true, false] {
        f.push_fault(fault(None, FaultKind::HugeBody { bytes: 200_000, declared }));
        let r = auth(c.get(&teams)).send().await.unwrap();
        assert_eq!(header(&r, "content-length"), declared.then(|| "200000".to_owned()));
        let body = r.bytes().await.unwrap();
        assert_eq!(body.len(), 200_000);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["items"][0].as_str().unwrap().len(), 200_000 - 14);
    }

    // Redirects: the status given, or 307 when it is not a status at all.
    f.push_fault(fault(None, FaultKind::Redirect { status: 308, location: "http://elsewhere.test/x".into() }));
    let r = c.get(&teams).send().await.unwrap();
    assert_eq!((r.status().as_u16(), header(&r, "location")), (308, Some("http://elsewhere.test/x".into())));
    f.push_fault(fault(None, FaultKind::Redirect { status: 42, location: "/y".into() }));
    let r = c.get(&teams).send().await.unwrap();
    assert_eq!((r.status().as_u16(), header(&r, "location")), (307, Some("/y".into())));

    // A hang never answers; the request was recorded all the same.
    f.push_fault(fault(None, FaultKind::Hang));
    let before = f.requests().len();
    let err = auth(c.get(&teams)).timeout(Duration::from_millis(300)).send().await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(f.requests().len(), before + 1);
    // The queue is empty again: the next request is answered normally.
    assert_eq!(auth(c.get(&teams)).send().await.unwrap().status(), 200);
}
