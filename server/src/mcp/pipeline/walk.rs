//! The `max_items` stage of list tools: the server reads page after page for the model,
//! stops at the cap, and says whether more remain and how to continue.

use gumloop_mcp_runtime::{Pagination, ToolDescriptor};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

use super::budget::Listed;
use super::finish::Finished;
use super::result::{NotJson, json_of, tool_error};
use crate::behaviours::budget::PageStart;
use crate::behaviours::pages;
use crate::mcp::GumloopServer;
use crate::upstream::credential::Credential;

impl GumloopServer {
    /// Reads further pages of a list until `max` items, the end, or [`pages::MAX_PAGES`].
    pub(super) async fn walk(
        &self,
        d: &'static ToolDescriptor,
        args: Value,
        first: Value,
        max: usize,
        credential: &Credential,
    ) -> Result<Finished, CallToolResult> {
        // Each page brings the links of its own items, made with that page's arguments.
        let links = |page_args: &Value, body: &Value| d.behaviours.download_link.map(|spec| self.download_links(d, &spec, page_args, body)).unwrap_or_default();
        let mut extra = links(&args, &first);
        let Some(key) = pages::items_key(&first) else { return Ok(Finished { extra, ..Finished::of(first) }) };
        let mut items: Vec<Value> = first[&key].as_array().cloned().unwrap_or_default();
        let mut last = first;
        let mut pages_read = 1usize;
        let mut starts = vec![PageStart { at: 0, resume: pages::continuation(d.pagination, Some(&args)) }];
        let mut next = pages::next_args(d.pagination, &args, &last, max.saturating_sub(items.len()));
        while items.len() < max && pages_read < pages::MAX_PAGES {
            let Some(page_args) = next.take() else { break };
            let outcome = match self.send_as(d, page_args.clone(), credential).await {
                Ok(o) => o,
                Err(e) => return Err(tool_error(format!("cannot read page {}: {e}", pages_read + 1))),
            };
            let body = json_of(outcome).map_err(|e| {
                // A 429 on a page is passed to the caller: counted as one.
                if matches!(e, NotJson::Status { status: 429, .. }) {
                    crate::telemetry::metrics::rate_limited(d.name);
                }
                let doing = format!("reading page {} after {} items", pages_read + 1, items.len());
                let walk = json!({"pages_read": pages_read, "items_collected": items.len(), "stopped": "an upstream error on the next page"});
                e.into_tool_error(&doing, json!({ "walk": walk }))
            })?;
            extra.extend(links(&page_args, &body));
            starts.push(PageStart { at: items.len(), resume: pages::continuation(d.pagination, Some(&page_args)) });
            items.extend(body[&key].as_array().cloned().unwrap_or_default());
            pages_read += 1;
            next = pages::next_args(d.pagination, &page_args, &body, max.saturating_sub(items.len()));
            last = body;
        }
        let left_out = items.len().saturating_sub(max);
        items.truncate(max);
        let more = next.is_some() || left_out > 0;
        let continue_with = pages::continuation(d.pagination, next.as_ref());
        let mut body = last;
        let n = items.len();
        body[&key] = Value::Array(items);
        if d.pagination == Pagination::Cursor {
            body["next_cursor"] = continue_with.as_ref().and_then(|c| c.get("cursor").cloned()).unwrap_or(Value::Null);
        }
        body[pages::WALK] = json!({"pages_read": pages_read, "items": n, "max_items": max, "complete": !more, "continue_with": continue_with});
        let mut notes = Vec::new();
        let list = Listed { key, pages: starts, note: more.then_some(0) };
        if more {
            let mut note = format!("Stopped at max_items={max} after {pages_read} page(s); more items remain.");
            if let Some(c) = &continue_with {
                note.push_str(&format!(" To continue, call `{}` with the same arguments plus {c}.", d.name));
            }
            if left_out > 0 {
                note.push_str(&format!(
                    " The last page held {left_out} more item(s) than the cap; they were left out{}.",
                    if continue_with.is_some() { " and continuing from there skips them (ask for a larger max_items to include them)" } else { "" }
                ));
            }
            notes.push(ContentBlock::text(note));
        }
        Ok(Finished { body, notes, extra, list: Some(list) })
    }
}
