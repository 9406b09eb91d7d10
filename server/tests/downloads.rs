//! Signed downloads as MCP resources, against the fake Gumloop: resource links on
//! results, `resources/read` of the bytes (without Gumloop credentials), one refetch of
//! an expired URL, the size cap, and forged links.

mod common;

use common::{Setup, start};
use gumloop_testkit::{Fault, FaultKind};
use serde_json::{Value, json};

fn link_of(result: &Value) -> Value {
    result["content"].as_array().unwrap().iter().find(|c| c["type"] == "resource_link").cloned().unwrap_or_else(|| panic!("no resource_link: {result}"))
}

#[tokio::test]
async fn an_artifact_comes_with_a_link_whose_bytes_resources_read_returns() {
    let h = start().await;
    let r = h.call("get_single_gumloop_artifact_by_id", json!({"id": "art_1"})).await;
    let s = &r["structuredContent"];
    assert!(s["download_url"].as_str().unwrap().contains("/signed/artifacts/art_1"), "{r}");
    let link = link_of(&r);
    assert!(link["uri"].as_str().unwrap().starts_with("gumloop://download/get_single_gumloop_artifact_by_id?"), "{link}");
    assert_eq!((&link["name"], &link["mimeType"], &link["size"]), (&s["filename"], &json!("text/csv"), &json!(12)));

    h.fake.take_requests();
    let read = h.rpc("resources/read", json!({"uri": link["uri"]})).await;
    let contents = &read.body["result"]["contents"][0];
    assert_eq!(contents["text"], "a,b\n1,2\n3,4\n", "{}", read.body);
    assert_eq!(contents["mimeType"], "text/csv");
    assert_eq!(contents["uri"], link["uri"]);
    let sent = h.fake.take_requests();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].path.starts_with("/signed/artifacts/art_1"));
    assert!(!sent[0].headers.contains_key("authorization") && !sent[0].headers.contains_key("x-auth-key"), "a signed URL never sees the Gumloop key");
}

#[tokio::test]
async fn an_expired_url_is_refetched_once_through_its_tool() {
    let h = start().await;
    let r = h.call("get_single_gumloop_artifact_by_id", json!({"id": "art_2"})).await;
    let uri = link_of(&r)["uri"].clone();
    h.fake.take_requests();
    h.fake.push_fault(Fault { path_contains: Some("/signed/".into()), kind: FaultKind::Status(403) });
    let read = h.rpc("resources/read", json!({"uri": uri})).await;
    assert_eq!(read.body["result"]["contents"][0]["text"], "a,b\n1,2\n3,4\n", "{}", read.body);
    let paths: Vec<String> = h.fake.take_requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths[0].starts_with("/signed/") && paths[1] == "/api/v1/artifacts/art_2/download" && paths[2].starts_with("/signed/"), "{paths:?}");
    // Refused twice: an error, not a loop.
    for _ in 0..2 {
        h.fake.push_fault(Fault { path_contains: Some("/signed/".into()), kind: FaultKind::Status(403) });
    }
    let twice = h.rpc("resources/read", json!({"uri": uri})).await;
    assert!(twice.body["error"]["message"].as_str().unwrap().contains("even after refetching"), "{}", twice.body);
}

#[tokio::test]
async fn binary_files_are_blobs_and_large_ones_an_error_with_the_url() {
    let h = Setup { max_download_bytes: 8, ..Setup::default() }.start().await;
    let r = h.call("get_single_gumloop_artifact_by_id", json!({"id": "art_1"})).await;
    let read = h.rpc("resources/read", json!({"uri": link_of(&r)["uri"]})).await;
    let message = read.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("over the 8-byte limit") && message.contains("/signed/artifacts/art_1"), "{}", read.body);

    let h = start().await;
    let skill = h.call("get_single_gumloop_skill_by_id", json!({"id": "skill_1"})).await;
    let read = h.rpc("resources/read", json!({"uri": link_of(&skill)["uri"]})).await;
    let c = &read.body["result"]["contents"][0];
    assert_eq!(c["mimeType"], "application/zip", "{}", read.body);
    assert!(c["blob"].as_str().is_some_and(|b| !b.is_empty()) && c.get("text").is_none(), "{c}");
}

#[tokio::test]
async fn forged_links_are_unknown_resources() {
    let h = start().await;
    let r = h.call("get_single_gumloop_artifact_by_id", json!({"id": "art_1"})).await;
    let uri = link_of(&r)["uri"].as_str().unwrap().to_owned();
    for forged in [
        uri.replace("get_single_gumloop_artifact_by_id", "delete_a_gumloop_agent_by_id"),
        "gumloop://download/x?a=e30&u=aHR0cDovL2V2aWw&m=AAAA".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        h.fake.take_requests();
        let read = h.rpc("resources/read", json!({"uri": forged})).await;
        assert_eq!(read.body["error"]["code"], -32602, "{}", read.body);
        assert!(h.fake.requests().is_empty(), "nothing was fetched");
    }
}
