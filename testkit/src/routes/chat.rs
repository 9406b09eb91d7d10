//! Chat completions, served by the streaming host only (as Gumloop does): non-streaming,
//! text or multi-modal input, and a generated image when asked for one.

use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};

use super::input::{field, json_body};
use super::reply::ok;
use crate::data;
use crate::envelope::v1;

/// The REST host refuses, naming the host that serves completions.
pub async fn not_on_this_host() -> Response {
    v1(404, "not_found", "chat completions are served by the streaming host https://ws.gumloop.com/api/v1, not api.gumloop.com")
}

pub async fn chat_completion(body: Bytes) -> Response {
    let b = json_body(&body);
    let (Some(model), Some(messages)) = (field(&b, "model"), b.get("messages").and_then(Value::as_array)) else {
        return v1(400, "invalid_request", "model and messages are required");
    };
    if !["gpt-4.1", "claude-sonnet-4"].contains(&model) {
        return v1(404, "model_not_found", "unknown model");
    }
    if b.get("stream") == Some(&json!(true)) {
        return v1(501, "not_implemented", "this fake serves non-streaming completions only");
    }
    // User content is text, or (multi-modal) an array of text and image_url parts.
    let last = messages.iter().rev().find(|m| m["role"] == "user").map(|m| &m["content"]);
    let (text, images_in) = match last {
        Some(Value::String(s)) => (s.clone(), 0),
        Some(Value::Array(parts)) => {
            let text: Vec<&str> = parts.iter().filter(|p| p["type"] == "text").filter_map(|p| p["text"].as_str()).collect();
            (text.join(" "), parts.iter().filter(|p| p["type"] == "image_url").count())
        }
        _ => (String::new(), 0),
    };
    let seen = if images_in > 0 { format!(" (and {images_in} image(s))") } else { String::new() };
    let mut message = json!({"role": "assistant", "content": format!("echo: {text}{seen}")});
    // With modalities [text, image], one generated image comes back as a data URL.
    let wants_image = b.get("modalities").and_then(Value::as_array).is_some_and(|m| m.iter().any(|x| x == "image"));
    if wants_image {
        message["images"] = json!([{"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", data::TINY_PNG_BASE64)}}]);
    }
    ok(json!({"id": "chatcmpl_1", "object": "chat.completion", "created": 1_793_534_400, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}))
}
