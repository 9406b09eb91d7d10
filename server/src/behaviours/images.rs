//! Images in results, where the spec's `images` behaviour says they are: data URLs go to
//! the client as MCP image content, and the structured copy keeps a short note in their
//! place so the bytes are not sent twice.

use base64::Engine as _;
use gumloop_mcp_runtime::behaviour::Images;
use gumloop_mcp_runtime::pointer;
use rmcp::model::ContentBlock;
use serde_json::Value;

/// Moves every data-URL image the spec points at out of `body` into image content blocks.
pub fn take(body: &mut Value, spec: &Images) -> Vec<ContentBlock> {
    let mut out = Vec::new();
    for image in pointer::each_mut(body, spec.at) {
        // The first place the spec lists that holds a string is the URL.
        let Some(at) = spec.url.iter().find(|p| pointer::get(image, p).is_some_and(Value::is_string)) else { continue };
        let Some(slot) = pointer::each_mut(image, at).into_iter().next() else { continue };
        let Some((mime, data)) = slot.as_str().and_then(parse_data_url) else { continue };
        let n = out.len() + 1;
        let size = base64::engine::general_purpose::STANDARD.decode(data.as_bytes()).map(|b| b.len()).ok();
        *slot = Value::String(match size {
            Some(size) => format!("[image {n}: {mime}, {size} bytes, returned as MCP image content]"),
            None => format!("[image {n}: {mime}, returned as MCP image content]"),
        });
        out.push(ContentBlock::image(data, mime));
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
        const SPEC: Images = Images { at: "/choices/*/message/images/*", url: &["/image_url/url", "/url", ""] };
        let blocks = take(&mut body, &SPEC);
        assert_eq!(blocks.len(), 2);
        let first = blocks[0].as_image().expect("an image");
        assert_eq!((first.mime_type.as_str(), first.data.as_str()), ("image/png", "iVBORw0KGgo="));
        assert_eq!(blocks[1].as_image().unwrap().mime_type, "image/jpeg");
        let images = &body["choices"][0]["message"]["images"];
        assert_eq!(images[0]["image_url"]["url"], "[image 1: image/png, 8 bytes, returned as MCP image content]");
        assert_eq!(images[1], "[image 2: image/jpeg, 3 bytes, returned as MCP image content]");
        assert_eq!(images[2]["image_url"]["url"], "https://cdn.example/x.png");
        assert!(take(&mut json!({"result": []}), &SPEC).is_empty());
    }
}
