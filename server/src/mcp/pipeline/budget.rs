//! The last stage of a call: the result budget (`--max-result-bytes`). A result that
//! fits is returned as it is, byte for byte. A paginated list over the budget is cut at
//! an item boundary, with the exact continuation; any other result over it becomes a
//! summary (its largest values elided, types kept) and a `resource_link` to the whole
//! JSON, kept in the task store (shared by every replica, scoped to the caller's server,
//! expiring) for `resources/read`. Either way the result says it is partial, in a text
//! block before the JSON and in `_meta`.

use std::time::Duration;

use gumloop_mcp_runtime::{Pagination, ToolDescriptor};
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock, MetaObject, ReadResourceResult, Resource, ResourceContents};
use serde_json::{Value, json};

use super::finish::Finished;
use crate::behaviours::budget::{self, NOTICE_BYTES, PageStart, json_len};
use crate::behaviours::pages;
use crate::mcp::GumloopServer;
use crate::mcp::scope::Scope;
use crate::mcp::tasks::{KeptResult, new_id, now_ms};

/// The `_meta` key of the budget's account of a partial result.
pub const META_KEY: &str = "gumloop-mcp/budget";

/// The URI scheme of kept results.
const KEPT: &str = "gumloop://result/";

/// How much of a result the model is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultBudget {
    /// Most bytes of text a result carries (structured JSON, its text copy, notes).
    pub max_bytes: usize,
    /// How long the whole JSON of an oversized result stays readable.
    pub keep_for: Duration,
}

impl ResultBudget {
    /// The default time a kept result stays readable.
    pub const DEFAULT_KEEP_FOR: Duration = Duration::from_secs(3600);
}

impl Default for ResultBudget {
    fn default() -> Self {
        Self { max_bytes: budget::DEFAULT_MAX_RESULT_BYTES, keep_for: Self::DEFAULT_KEEP_FOR }
    }
}

/// What a list stage knows of the list in its result, for a cut.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The body's key of the items array.
    pub key: String,
    /// Where each page read began.
    pub pages: Vec<PageStart>,
    /// The index in `notes` of the walk's own note, which a cut replaces.
    pub note: Option<usize>,
}

/// Text bytes a result puts before the model: the JSON twice (structured and its text
/// copy) and every text block.
fn size(f: &Finished) -> usize {
    2 * json_len(&f.body) + blocks_len(f)
}

/// The text bytes of a result's notes and extra blocks.
fn blocks_len(f: &Finished) -> usize {
    f.notes.iter().chain(&f.extra).filter_map(ContentBlock::as_text).map(|t| t.text.len()).sum()
}

impl GumloopServer {
    /// The same handler with results held to `budget`. Call it before the handler is
    /// cloned or given its tasks (it is set once, at start-up).
    pub fn with_result_budget(mut self, budget: ResultBudget) -> Self {
        std::sync::Arc::get_mut(&mut self.state).expect("the result budget is set before the server is shared").budget = budget;
        self
    }

    /// The result of `f`, within the budget.
    pub(super) async fn fit(&self, d: &ToolDescriptor, mut f: Finished, scope: Option<&Scope>) -> CallToolResult {
        let max = self.state.budget.max_bytes;
        if size(&f) <= max {
            return f.into_result();
        }
        if d.pagination != Pagination::None
            && let Some(meta) = cut_list(d, &mut f, max)
        {
            return with_meta(f.into_result(), meta);
        }
        self.summarise(d, f, scope).await
    }

    /// A summary of `f` and a link to all of it.
    async fn summarise(&self, d: &ToolDescriptor, mut f: Finished, scope: Option<&Scope>) -> CallToolResult {
        let budget = self.state.budget;
        let whole = json_len(&f.body);
        let now = now_ms();
        let kept = KeptResult {
            id: new_id(),
            owner: scope.map(|s| s.server_id.clone()),
            body: f.body.clone(),
            created_at: now,
            expires_at: now.checked_add(budget.keep_for).unwrap_or(now),
        };
        let uri = format!("{KEPT}{}", kept.id);
        let stored = self.state.tasks.store.keep_result(&kept).await;
        drop(kept);
        let target = budget.max_bytes.saturating_sub(blocks_len(&f) + NOTICE_BYTES) / 2;
        let mut elided = budget::shrink(&mut f.body, target);
        let elided_count = elided.len();
        // The notice names the first few places; `_meta` up to a hundred.
        let places = match elided.len() {
            0..=8 => elided.join(", "),
            n => format!("{} and {} more", elided[..8].join(", "), n - 8),
        };
        let (note, resource) = match &stored {
            Ok(()) => {
                let secs = budget.keep_for.as_secs();
                let how_long = if secs < 120 { format!("{secs} seconds") } else { format!("{} minutes", secs / 60) };
                let note = format!(
                    "PARTIAL RESULT: `{}` returned {whole} bytes of JSON, over this server's {}-byte result budget (--max-result-bytes). \
                     Below is a summary: the largest values are shortened (strings end with \"…[N more bytes elided]\", long lists keep their first items) at {}. \
                     The whole JSON is the resource {uri}: read it with resources/read (for {how_long}, on this server only).",
                    d.name, budget.max_bytes, places
                );
                (note, Some(uri.clone()))
            }
            Err(e) => {
                tracing::warn!(tool = d.name, "cannot keep an oversized result: {e}");
                let note = format!(
                    "PARTIAL RESULT: `{}` returned {whole} bytes of JSON, over this server's {}-byte result budget (--max-result-bytes), \
                     and the whole result could not be kept for reading. Below is a summary with the largest values shortened at {}; \
                     ask for less (narrower arguments) to see them whole.",
                    d.name, budget.max_bytes, places
                );
                (note, None)
            }
        };
        f.notes.insert(0, ContentBlock::text(note));
        if let Some(uri) = &resource {
            let link = Resource::new(uri.clone(), format!("{} (whole result)", d.name))
                .with_description("The whole JSON of a result too large to return; read it with resources/read")
                .with_mime_type("application/json")
                .with_size(whole as u64);
            f.extra.insert(0, ContentBlock::resource_link(link));
        }
        elided.truncate(100);
        let meta =
            json!({"partial": true, "bytes": whole, "max_bytes": budget.max_bytes, "elided": elided, "elided_count": elided_count, "resource": resource});
        with_meta(f.into_result(), meta)
    }

    /// `resources/read` of a kept result, if `uri` names one: the whole JSON, to the scope
    /// that kept it only.
    pub(crate) async fn read_kept(&self, uri: &str, scope: Option<&Scope>) -> Option<Result<ReadResourceResult, McpError>> {
        let id = uri.strip_prefix(KEPT)?;
        let owner = scope.map(|s| s.server_id.as_str());
        let found = self.state.tasks.store.kept_result(id, owner, now_ms()).await;
        Some(match found {
            Ok(Some(body)) => Ok(ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
                uri: uri.to_owned(),
                mime_type: Some("application/json".into()),
                text: body.to_string(),
                meta: None,
            }])),
            Ok(None) => Err(McpError::invalid_params(
                format!(
                    "unknown resource `{}`: it never existed here, has expired, or belongs to another server; call the tool again",
                    crate::text::clip(uri, crate::text::QUOTE_CHARS)
                ),
                None,
            )),
            Err(e) => Err(McpError::internal_error(e.to_string(), None)),
        })
    }
}

/// Cuts the list of a paginated tool's result to what fits; the account for `_meta`, or
/// `None` when not even one item fits (the result is then summarised).
fn cut_list(d: &ToolDescriptor, f: &mut Finished, max: usize) -> Option<Value> {
    let listed = f.list.take().or_else(|| pages::items_key(&f.body).map(|key| Listed { key, pages: Vec::new(), note: None }))?;
    let items = match f.body.get_mut(&listed.key) {
        Some(Value::Array(items)) => std::mem::take(items),
        _ => return None,
    };
    let total = items.len();
    // The walk's note is replaced: what it says of continuing no longer holds.
    let walk_note = listed.note.filter(|&i| i < f.notes.len()).map(|i| f.notes.remove(i));
    let base = json_len(&f.body);
    let fit = budget::items_that_fit(&items, base, blocks_len(f) + NOTICE_BYTES, max);
    if fit == 0 {
        f.body[&listed.key] = Value::Array(items);
        if let Some(note) = walk_note {
            f.notes.insert(listed.note.unwrap_or(0).min(f.notes.len()), note);
        }
        return None;
    }
    let (n, page) = budget::cut_at(&listed.pages, fit);
    // Continue from the page holding the first item left out: exactly there when the cut is
    // on its first item, else with that page's first `skip` items repeated.
    let (mut resume, mut skip) = match page {
        Some(PageStart { at, resume: Some(r) }) => (Some(r.clone()), n - at),
        _ => (None, n - page.map_or(0, |p| p.at)),
    };
    let mut n = n;
    // A page list cut inside a page: a page size that puts a page start exactly there.
    if d.pagination == Pagination::Page && skip > 0 {
        // Without a walk's record, the one page read says which it was.
        let unwalked = listed.pages.is_empty().then(|| f.body.get("page").and_then(Value::as_u64)).flatten();
        let page_no = resume.as_ref().and_then(|r| r.get("page")).and_then(Value::as_u64).or(unwalked).unwrap_or(1);
        if resume.is_none() && unwalked.is_some() {
            resume = Some(json!({ "page": page_no }));
        }
        let per_page = f.body.get("page_size").and_then(Value::as_u64).filter(|&s| s > 0);
        if let Some((keep, exact)) = per_page.and_then(|size| budget::exact_page((page_no - 1) * size, skip, size)) {
            n -= skip - keep;
            (resume, skip) = (Some(exact), 0);
        }
    }
    let mut items = items;
    items.truncate(n);
    f.body[&listed.key] = Value::Array(items);
    let left_out = total - n;
    let walk_said_more = f.body.get("walk").and_then(|w| w.get("complete")).and_then(Value::as_bool) == Some(false);
    if let Some(walk) = f.body.get_mut("walk").and_then(Value::as_object_mut) {
        walk.insert("items".into(), json!(n));
        walk.insert("complete".into(), json!(false));
        walk.insert("continue_with".into(), resume.clone().unwrap_or(Value::Null));
    }
    if d.pagination == Pagination::Cursor && f.body.get("next_cursor").is_some() {
        f.body["next_cursor"] = resume.as_ref().and_then(|r| r.get("cursor")).cloned().unwrap_or(Value::Null);
    }
    let mut note = format!(
        "PARTIAL LIST: {n} of the {total} items read are here; {left_out} were left out to keep the result under this server's {max}-byte budget (--max-result-bytes)."
    );
    match (&resume, skip) {
        (Some(r), 0) => note.push_str(&format!(" To continue exactly after them, call `{}` with the same arguments plus {r}.", d.name)),
        (Some(r), k) => note.push_str(&format!(
            " To continue, call `{}` with the same arguments plus {r}: that page starts {k} item(s) before the first one left out, so skip its first {k}.",
            d.name
        )),
        (None, _) => {}
    }
    note.push_str(&format!(" Or call again with max_items: {n}, the most that fits, and follow that result's continuation."));
    if walk_said_more && resume.is_none() {
        note.push_str(" The walk had stopped before the end of the list too.");
    }
    f.notes.insert(0, ContentBlock::text(note));
    Some(json!({
        "partial": true,
        "items": n,
        "items_read": total,
        "left_out": left_out,
        "continue_with": resume,
        "skip_first": skip_of(&resume, skip),
        "max_items_that_fit": n,
        "max_bytes": max,
    }))
}

/// The items of the continuation page already returned (`null` without one).
fn skip_of(resume: &Option<Value>, skip: usize) -> Value {
    resume.as_ref().map_or(Value::Null, |_| json!(skip))
}

fn with_meta(mut result: CallToolResult, account: Value) -> CallToolResult {
    let mut meta = result.meta.take().unwrap_or_else(|| MetaObject(Default::default()));
    meta.0.insert(META_KEY.into(), account);
    result.meta = Some(meta);
    result
}
