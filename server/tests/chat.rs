//! Chat completions: sent to the streaming (ws) host, non-streaming, with multi-modal
//! messages; generated images come back as MCP image content.

mod common;

use common::start;
use serde_json::json;

#[tokio::test]
async fn multimodal_in_images_out_on_the_ws_host() {
    let h = start().await;
    let messages = json!([{"role": "user", "content": [
        {"type": "text", "text": "Draw this logo bigger"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]}]);
    let r = h.call("create_a_gumloop_chat_completion", json!({"model": "gpt-4.1", "messages": messages, "modalities": ["text", "image"]})).await;
    assert_ne!(r["isError"], true, "{r}");
    let message = &r["structuredContent"]["choices"][0]["message"];
    assert_eq!(message["content"], "echo: Draw this logo bigger (and 1 image(s))", "the multi-modal message reached Gumloop as sent: {r}");
    // The image is MCP image content, and the structured copy says where it went.
    let images: Vec<_> = r["content"].as_array().unwrap().iter().filter(|c| c["type"] == "image").collect();
    assert_eq!(images.len(), 1, "{r}");
    assert_eq!(images[0]["mimeType"], "image/png");
    assert_eq!(images[0]["data"], gumloop_testkit::TINY_PNG_BASE64);
    let note = message["images"][0]["image_url"]["url"].as_str().unwrap();
    assert!(note.starts_with("[image 1: image/png, 70 bytes"), "{note}");
    assert!(!r["content"][0]["text"].as_str().unwrap().contains("base64"), "the bytes are not repeated as text");

    // It went to the ws host, never the REST host.
    let sent = h.fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/ws/api/v1/chat/completions", "{:?}", sent[0]);

    // Text only: no image content.
    let r = h.call("create_a_gumloop_chat_completion", json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert!(r["content"].as_array().unwrap().iter().all(|c| c["type"] == "text"), "{r}");

    // Streaming is not offered: the argument is refused before anything is sent.
    let r = h.call("create_a_gumloop_chat_completion", json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}], "stream": true})).await;
    assert_eq!(r["isError"], true, "{r}");
    assert!(common::text_of(&r).contains("stream"), "{r}");
    assert_eq!(h.fake.requests().len(), 2);
}
