//! Images in chat-completion results: Gumloop returns generated images as data URLs in
//! `choices[].message.images`; they go to the client as MCP image content, and the
//! structured copy keeps a short note in their place so the bytes are not sent twice.

use base64::Engine as _;
use rmcp::model::ContentBlock;
use serde_json::Value;

/// Moves every data-URL image out of an OpenAI-shaped `body` into image content blocks.
pub fn take(body: &mut Value) -> Vec<ContentBlock> {
    let mut out = Vec::new();
    let Some(choices) = body.get_mut("choices").and_then(Value::as_array_mut) else { return out };
    for choice in choices {
        let Some(images) = choice.pointer_mut("/message/images").and_then(Value::as_array_mut) else { continue };
        for image in images {
            // OpenRouter's shape `{type: image_url, image_url: {url}}`, or a bare URL string.
            let at = if image.is_string() {
                ""
            } else if image.pointer("/image_url/url").is_some() {
                "/image_url/url"
            } else {
                "/url"
            };
            let Some(slot) = image.pointer_mut(at) else { continue };
            let Some((mime, data)) = slot.as_str().and_then(parse_data_url) else { continue };
            let n = out.len() + 1;
            let size = base64::engine::general_purpose::STANDARD.decode(data.as_bytes()).map(|b| b.len()).ok();
            *slot = Value::String(match size {
                Some(size) => format!("[image {n}: {mime}, {size} bytes, returned as MCP image content]"),
                None => format!("[image {n}: {mime}, returned as MCP image content]"),
            });
            out.push(ContentBlock::image(data, mime));
        }
    }
    out
}

/// `data:<mime>;base64,<data>` → (mime, data). Other URLs are left as they are.
fn parse_data_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    let mime = if mime.is_empty() { "application/octet-stream" } else { mime };
    Some((mime.to_owned(), data.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_urls_become_image_content_and_other_urls_stay() {
        let mut body = json!({"choices": [{"message": {"content": "here", "images": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            "data:image/jpeg;base64,/9j/",
            {"type": "image_url", "image_url": {"url": "https://cdn.example/x.png"}},
        ]}}]});
        let blocks = take(&mut body);
        assert_eq!(blocks.len(), 2);
        let first = blocks[0].as_image().expect("an image");
        assert_eq!((first.mime_type.as_str(), first.data.as_str()), ("image/png", "iVBORw0KGgo="));
        assert_eq!(blocks[1].as_image().unwrap().mime_type, "image/jpeg");
        let images = &body["choices"][0]["message"]["images"];
        assert_eq!(images[0]["image_url"]["url"], "[image 1: image/png, 8 bytes, returned as MCP image content]");
        assert_eq!(images[1], "[image 2: image/jpeg, 3 bytes, returned as MCP image content]");
        assert_eq!(images[2]["image_url"]["url"], "https://cdn.example/x.png");
        assert!(take(&mut json!({"result": []})).is_empty());
    }
}
