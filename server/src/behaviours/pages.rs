//! `max_items` on list tools: the server reads page after page for the model, in each of
//! Gumloop's styles (`cursor`/`next_cursor`, `page`/`total_pages`, unpaginated), stops at
//! the cap, and says whether more remain and how to continue.

use gumloop_mcp_runtime::Pagination;
use serde_json::{Map, Value, json};

/// The most pages one call reads, whatever the cap (a guard against a cursor that never
/// ends).
pub const MAX_PAGES: usize = 100;

/// The key of a walked list's summary (pages read, whether it is complete, how to go on),
/// which the server adds to the record.
pub const WALK: &str = "walk";

/// The largest page a cursor list accepts.
const MAX_PAGE_SIZE: u64 = 100;

/// Takes `max_items` out of a call's server arguments; for cursor lists without a
/// `page_size`, sizes the first page in `args` so it never overshoots the cap.
pub fn take(own: &mut Map<String, Value>, args: &mut Value, pagination: Pagination) -> Option<usize> {
    let range = gumloop_mcp_runtime::rules::MAX_ITEMS_RANGE;
    let max = own.remove(gumloop_mcp_runtime::rules::MAX_ITEMS)?.as_u64()?.clamp(*range.start(), *range.end());
    if let Some(o) = args.as_object_mut()
        && pagination == Pagination::Cursor
        && !o.contains_key("page_size")
    {
        o.insert("page_size".into(), json!(max.min(MAX_PAGE_SIZE)));
    }
    Some(max as usize)
}

/// The key of the items array in a list response (the first top-level array).
pub fn items_key(body: &Value) -> Option<String> {
    body.as_object()?.iter().find(|(_, v)| v.is_array()).map(|(k, _)| k.clone())
}

/// Where the next page is, after `body` (read with `args`), or `None` at the end.
pub fn next_args(pagination: Pagination, args: &Value, body: &Value, remaining: usize) -> Option<Value> {
    let mut next = args.clone();
    match pagination {
        Pagination::Cursor => {
            let cursor = body.get("next_cursor").and_then(Value::as_str).filter(|c| !c.is_empty())?;
            next["cursor"] = json!(cursor);
            // Cursor lists take a page size per request: the last page ends at the cap.
            next["page_size"] = json!((remaining as u64).clamp(1, MAX_PAGE_SIZE));
        }
        Pagination::Page => {
            let page = body.get("page").and_then(Value::as_u64).or_else(|| args.get("page").and_then(Value::as_u64)).unwrap_or(1);
            let total = body.get("total_pages").and_then(Value::as_u64)?;
            if page >= total {
                return None;
            }
            next["page"] = json!(page + 1);
        }
        Pagination::None => return None,
    }
    Some(next)
}

/// How to continue after the walk, for the model.
pub fn continuation(pagination: Pagination, next: Option<&Value>) -> Option<Value> {
    let next = next?;
    match pagination {
        Pagination::Cursor => next.get("cursor").map(|c| json!({ "cursor": c })),
        Pagination::Page => next.get("page").map(|p| json!({ "page": p })),
        Pagination::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cursor_page_is_sized_to_the_cap() {
        let own = |v: Value| v.as_object().unwrap().clone();
        let mut args = json!({"agent_id": "a"});
        assert_eq!(take(&mut own(json!({"max_items": 7})), &mut args, Pagination::Cursor), Some(7));
        assert_eq!(args, json!({"agent_id": "a", "page_size": 7}));
        let mut paged = json!({"page_size": 50});
        assert_eq!(take(&mut own(json!({"max_items": 500})), &mut paged, Pagination::Page), Some(500));
        assert_eq!(paged, json!({"page_size": 50}));
        assert_eq!(take(&mut Map::new(), &mut json!({}), Pagination::Cursor), None);
    }

    #[test]
    fn next_pages_in_each_style() {
        let args = json!({"page_size": 10});
        let n = next_args(Pagination::Cursor, &args, &json!({"items": [], "next_cursor": "c2"}), 3).unwrap();
        assert_eq!(n, json!({"page_size": 3, "cursor": "c2"}));
        assert_eq!(next_args(Pagination::Cursor, &args, &json!({"next_cursor": null}), 3), None);
        let n = next_args(Pagination::Page, &json!({"page": 2}), &json!({"page": 2, "total_pages": 3}), 9).unwrap();
        assert_eq!(n["page"], 3);
        assert_eq!(next_args(Pagination::Page, &json!({}), &json!({"page": 3, "total_pages": 3}), 9), None);
        assert_eq!(next_args(Pagination::None, &args, &json!({}), 9), None);
        assert_eq!(items_key(&json!({"total": 3, "audit_logs": [], "more": []})).as_deref(), Some("audit_logs"));
    }
}
