//! `resources/read` of the download links tool results carry: the bytes behind the
//! signed URL, refetching the URL once through its tool when it has expired; and of the
//! results too large to return (`pipeline::budget`).

use base64::Engine as _;
use gumloop_mcp_runtime::pointer;
use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, ResourceContents};
use serde_json::json;

use crate::behaviours::downloads;
use crate::mcp::GumloopServer;
use crate::mcp::pipeline::result::text_of;
use crate::mcp::scope::Scope;
use crate::upstream::FetchError;

impl GumloopServer {
    /// `resources/read` of a download link: the bytes behind the signed URL, refetching
    /// the URL once through its tool when it has expired.
    pub(crate) async fn read_download(&self, uri: &str, scope: Option<&Scope>) -> Result<ReadResourceResult, McpError> {
        if let Some(kept) = self.read_kept(uri, scope).await {
            return kept;
        }
        let unknown = || McpError::invalid_params(format!("unknown resource `{uri}`: read only the resource links this server's tool results carry"), None);
        let link = self.state.links.decode(uri).ok_or_else(unknown)?;
        // A link to a tool the caller's scope hides is as unknown as a forged one.
        let entry = self.state.catalog.get(&link.tool).filter(|e| scope.is_none_or(|sc| sc.access.allows(e.descriptor))).ok_or_else(unknown)?;
        let spec = entry.descriptor.behaviours.download_link.ok_or_else(unknown)?;
        // Only a tool that changes nothing is asked again for a fresh URL.
        let can_refetch = entry.descriptor.annotations.read_only;
        let mut url = link.url.clone();
        let mut refetched = false;
        loop {
            match self.state.upstream.fetch_signed(&url).await {
                Ok((media_type, bytes)) => {
                    let contents = match String::from_utf8(bytes) {
                        Ok(text) if downloads::is_text(&media_type) => {
                            ResourceContents::TextResourceContents { uri: uri.to_owned(), mime_type: Some(media_type), text, meta: None }
                        }
                        Ok(text) => blob(uri, media_type, text.into_bytes()),
                        Err(e) => blob(uri, media_type, e.into_bytes()),
                    };
                    return Ok(ReadResourceResult::new(vec![contents]));
                }
                Err(FetchError::Expired(status)) if !refetched && can_refetch => {
                    // Ask the tool for a fresh URL, as the same caller.
                    tracing::info!(tool = link.tool, status, "signed URL expired; fetching a fresh one");
                    refetched = true;
                    let (fresh, _) = self.run(&link.tool, link.args.clone(), None, scope, None).await?;
                    url = fresh
                        .structured_content
                        .as_ref()
                        .and_then(|b| pointer::get(b, &link.at))
                        .and_then(|object| downloads::url_of(object, &spec).map(str::to_owned))
                        .ok_or_else(|| McpError::internal_error(format!("`{}` gave no fresh download URL: {}", link.tool, text_of(&fresh)), None))?;
                }
                Err(FetchError::Expired(status)) => {
                    let why = if refetched { "even after refetching it" } else { "and it expired; call the tool again for a fresh link" };
                    return Err(McpError::internal_error(format!("the download URL was refused (HTTP {status}) {why}"), None));
                }
                Err(FetchError::TooLarge { size, cap }) => {
                    let size = size.map_or("larger than".to_owned(), |s| format!("{s} bytes,"));
                    return Err(McpError::invalid_request(
                        format!(
                            "the file is {size} over the {cap}-byte limit of resources/read (--max-resource-bytes); download it directly from {url} (a short-lived signed URL)"
                        ),
                        Some(json!({ "url": url })),
                    ));
                }
                Err(FetchError::Failed(message)) => return Err(McpError::internal_error(format!("fetching the download failed: {message}"), None)),
            }
        }
    }
}

fn blob(uri: &str, media_type: String, bytes: Vec<u8>) -> ResourceContents {
    ResourceContents::BlobResourceContents {
        uri: uri.to_owned(),
        mime_type: Some(media_type),
        blob: base64::engine::general_purpose::STANDARD.encode(bytes),
        meta: None,
    }
}
