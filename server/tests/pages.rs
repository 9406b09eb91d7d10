//! `max_items`: the server walks a list's pages for the model in each of Gumloop's
//! styles, stops at the cap and says how to continue.

mod common;

use common::{start, text_of};
use serde_json::json;

#[tokio::test]
async fn cursor_lists_walk_next_cursor_and_stop_at_the_cap() {
    let h = start().await;
    let r = h.call("list_all_gumloop_artifacts", json!({"agent_id": "agent_1", "max_items": 2})).await;
    let s = &r["structuredContent"];
    assert_eq!(s["artifacts"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(s["walk"]["complete"], false);
    let cursor = s["next_cursor"].as_str().unwrap();
    assert_eq!(s["walk"]["continue_with"], json!({"cursor": cursor}));
    assert!(text_of(&r).starts_with("Stopped at max_items=2 after 1 page(s); more items remain."), "{r}");
    let sent = h.fake.take_requests();
    assert_eq!(sent.len(), 1, "the first page was sized to the cap");
    assert_eq!(sent[0].query_value("page_size"), Some("2"));

    let all = h.call("list_all_gumloop_artifacts", json!({"agent_id": "agent_1", "page_size": 1, "max_items": 50})).await;
    let s = &all["structuredContent"];
    assert_eq!(s["artifacts"].as_array().unwrap().len(), 3);
    // After the caller's first page, pages are as large as the remaining cap allows.
    assert_eq!((&s["walk"]["complete"], &s["walk"]["pages_read"], &s["next_cursor"]), (&json!(true), &json!(2), &json!(null)), "{all}");
    let ids: Vec<&str> = s["artifacts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["art_1", "art_2", "art_3"]);
    let sizes: Vec<String> = h.fake.take_requests().iter().map(|r| r.query_value("page_size").unwrap().to_owned()).collect();
    assert_eq!(sizes, ["1", "49"]);
}

#[tokio::test]
async fn page_lists_walk_to_total_pages() {
    let h = start().await;
    let base = json!({"organization_id": "org_1", "start_time": "2026-11-20T00:00:00Z", "end_time": "2026-11-22T00:00:00Z", "page_size": 50});
    let mut args = base.clone();
    args["max_items"] = json!(1000);
    let r = h.call("list_all_gumloop_audit_logs", args).await;
    let s = &r["structuredContent"];
    assert_eq!(s["audit_logs"].as_array().unwrap().len(), 120, "{}", s["walk"]);
    assert_eq!((&s["walk"]["pages_read"], &s["walk"]["complete"]), (&json!(3), &json!(true)));
    let pages: Vec<String> = h.fake.take_requests().iter().map(|r| r.query_value("page").unwrap_or("1").to_owned()).collect();
    assert_eq!(pages, ["1", "2", "3"]);

    // A cap in the middle of a page: the rest of that page is left out, and said so.
    let mut capped = base.clone();
    capped["max_items"] = json!(60);
    let r = h.call("list_all_gumloop_audit_logs", capped).await;
    let s = &r["structuredContent"];
    assert_eq!(s["audit_logs"].as_array().unwrap().len(), 60);
    assert_eq!(s["walk"]["continue_with"], json!({"page": 3}));
    assert!(text_of(&r).contains("40 more item(s) than the cap"), "{}", text_of(&r));
}

#[tokio::test]
async fn unpaginated_lists_are_cut_to_the_cap() {
    let h = start().await;
    let r = h.call("list_all_gumloop_flows", json!({"max_items": 2})).await;
    let s = &r["structuredContent"];
    assert_eq!(s["saved_items"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(s["walk"]["complete"], false);
    assert!(text_of(&r).contains("more item(s) than the cap"), "{}", text_of(&r));
    assert_eq!(h.fake.take_requests().len(), 1);
    // Without max_items a list is one page, untouched.
    let plain = h.call("list_all_gumloop_flows", json!({})).await;
    assert!(plain["structuredContent"].get("walk").is_none());
}
