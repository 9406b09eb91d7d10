//! The result budget as pure data transforms: how many bytes a result puts before the
//! model, where a list can be cut so that the rest is one call away, and a summary of any
//! other JSON with its largest values elided. The pipeline's `budget` stage applies them.

use serde_json::{Map, Value};

/// The default `--max-result-bytes`: what the model reads of one result (the structured
/// JSON, its text copy, the notes). The fake's results measure 2.9 to 3.5 bytes per
/// `o200k_base` token (`examples/result_tokens.rs`), so 50,000 bytes are at most about
/// 17,000 tokens, and stay under Claude Code's 25,000 down to 2 bytes a token: room for a
/// tokenizer that splits JSON worse, and for ids and non-English text
/// (BENCHMARKS.md, "Results that fit").
pub const DEFAULT_MAX_RESULT_BYTES: usize = 50_000;

/// Room kept for the notice a cut or summary adds.
pub const NOTICE_BYTES: usize = 1_200;

/// The smallest part of a string a summary keeps.
const KEEP_CHARS: usize = 48;

/// The length of `v` as compact JSON (as the text copy carries it).
pub fn json_len(v: &Value) -> usize {
    // Counted as it is written: no copy of the result is built just to measure it.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, v).map_or(0, |()| count.0)
}

/// How many of `items` fit in a body whose compact JSON, with the list empty, is `base`
/// bytes, where the result carries the JSON twice (structured and as text) and `fixed`
/// bytes besides, within `max`.
pub fn items_that_fit(items: &[Value], base: usize, fixed: usize, max: usize) -> usize {
    let mut json = base;
    let mut n = 0;
    for (i, item) in items.iter().enumerate() {
        // The comma before every item but the first.
        let next = json + json_len(item) + usize::from(i > 0);
        if 2 * next + fixed > max {
            break;
        }
        json = next;
        n += 1;
    }
    n
}

/// Where one page of a list began in a result, and the arguments that read it again.
#[derive(Debug, Clone, PartialEq)]
pub struct PageStart {
    /// The index, in the result's list, of the page's first item.
    pub at: usize,
    /// What to pass to read from it (`{"page": 3}`, `{"cursor": "…"}`); `None` for the
    /// first page read with no page argument.
    pub resume: Option<Value>,
}

/// Where to cut a list of which `fit` items fit: at the start of the page holding item
/// `fit` when that keeps at least half of them (nothing to skip when continuing), else at
/// `fit`. Returns the cut and the page the rest begins in.
pub fn cut_at(pages: &[PageStart], fit: usize) -> (usize, Option<&PageStart>) {
    let holding = pages.iter().rfind(|p| p.at <= fit);
    match holding {
        Some(p) if p.at > 0 && p.at * 2 >= fit => (p.at, Some(p)),
        _ => (fit, holding),
    }
}

/// For `page`/`total_pages` lists cut `skip` items into a page whose first item is item
/// `base` of the whole list (pages of `per_page`): the arguments of a page that starts
/// exactly at the first item left out. The cut may move back by up to half of `skip` to
/// reach an offset that a page size from 10 (or less, when fewer are kept) to `per_page`
/// divides. Returns the items of that page to keep and the arguments.
pub fn exact_page(base: u64, skip: usize, per_page: u64) -> Option<(usize, Value)> {
    if skip == 0 {
        return None;
    }
    for keep in (skip.div_ceil(2)..=skip).rev() {
        // The kept count itself is a page size that always fits a walk begun on page 1.
        let smallest = per_page.min(10).min(keep as u64).max(1);
        let offset = base + keep as u64;
        if let Some(size) = (smallest..=per_page).rev().find(|q| *q > 0 && offset.is_multiple_of(*q)) {
            return Some((keep, serde_json::json!({"page": offset / size + 1, "page_size": size})));
        }
    }
    None
}

/// Shrinks `v` until its compact JSON is at most `target` bytes: the longest strings are
/// cut (a marker says how much), the longest arrays keep their first items, the largest
/// members of objects shrink first. Types never change, so a summary matches any schema
/// that bounds no string length or array size. Returns the JSON pointers of what changed.
pub fn shrink(v: &mut Value, target: usize) -> Vec<String> {
    let mut elided = Vec::new();
    shrink_at(v, target, String::new(), &mut elided);
    elided
}

fn shrink_at(v: &mut Value, target: usize, at: String, elided: &mut Vec<String>) {
    let len = json_len(v);
    if len <= target {
        return;
    }
    match v {
        Value::String(s) => {
            let marker = |cut: usize| format!("…[{cut} more bytes elided]");
            // The budget for the text: the target less the quotes, escapes aside, and the marker.
            let room = target.saturating_sub(2 + marker(s.len()).len()).max(KEEP_CHARS);
            let mut keep = room.min(s.len());
            while !s.is_char_boundary(keep) {
                keep -= 1;
            }
            // Escaped characters take more than their bytes: shorten until it fits or the floor.
            while keep > KEEP_CHARS && json_len(&Value::String(s[..keep].to_owned())) + marker(s.len() - keep).len() > target {
                keep = keep * 3 / 4;
                while !s.is_char_boundary(keep) {
                    keep -= 1;
                }
            }
            if keep >= s.len() {
                // Already at the floor: nothing to gain here.
                return;
            }
            let cut = s.len() - keep;
            s.truncate(keep);
            s.push_str(&marker(cut));
            elided.push(at);
        }
        Value::Array(items) => {
            // The longest run of first items that fits, and at least one.
            let (mut total, mut keep) = (2, 0);
            for (i, item) in items.iter().enumerate() {
                let next = total + json_len(item) + usize::from(i > 0);
                if next > target {
                    break;
                }
                (total, keep) = (next, keep + 1);
            }
            if keep.max(1) < items.len() {
                items.truncate(keep.max(1));
                elided.push(at.clone());
            }
            if keep == 0 && !items.is_empty() {
                shrink_at(&mut items[0], target.saturating_sub(2), format!("{at}/0"), elided);
            }
        }
        Value::Object(map) => shrink_object(map, target, &at, elided),
        _ => {}
    }
}

fn shrink_object(map: &mut Map<String, Value>, target: usize, at: &str, elided: &mut Vec<String>) {
    // The largest member halves (or sheds the whole excess) in turn, so the excess is
    // shared among the large members and none is cut to nothing while others stay whole.
    let mut done = std::collections::BTreeSet::new();
    loop {
        let total = serde_json::to_string(map).map_or(0, |s| s.len());
        if total <= target {
            return;
        }
        let largest =
            map.iter().filter(|(k, _)| !done.contains(*k)).map(|(k, v)| (json_len(v), k.clone())).max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
        let Some((size, key)) = largest else { return };
        let goal = size.saturating_sub(total - target).max(size / 2);
        let pointer = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
        let child = map.get_mut(&key).expect("a member just listed");
        let mut inner = Vec::new();
        shrink_at(child, goal, pointer, &mut inner);
        if json_len(child) >= size {
            done.insert(key);
        }
        for p in inner {
            if !elided.contains(&p) {
                elided.push(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn items_fit_by_their_compact_length_counted_twice() {
        let items: Vec<Value> = (0..10).map(|i| json!({"i": i})).collect();
        let base = json_len(&json!({"items": []}));
        // Each item is 7 bytes, 8 with its comma.
        let exact = |n: usize| {
            let body = json!({"items": items[..n]});
            2 * json_len(&body) + 5
        };
        for n in 0..=10 {
            assert_eq!(items_that_fit(&items, base, 5, exact(n)), n, "{n} items");
            if n > 0 {
                assert_eq!(items_that_fit(&items, base, 5, exact(n) - 1), n - 1);
            }
        }
    }

    #[test]
    fn a_cut_lands_on_a_page_start_when_that_keeps_half() {
        let page = |at: usize, p: u64| PageStart { at, resume: Some(json!({"page": p})) };
        let pages = [PageStart { at: 0, resume: None }, page(50, 2), page(100, 3)];
        assert_eq!(cut_at(&pages, 70), (50, Some(&pages[1])), "exact: nothing to skip");
        assert_eq!(cut_at(&pages, 100), (100, Some(&pages[2])));
        assert_eq!(cut_at(&pages, 30), (30, Some(&pages[0])), "within the first page");
        assert_eq!(cut_at(&pages, 101), (100, Some(&pages[2])));
        let tight = [PageStart { at: 0, resume: None }, page(10, 2)];
        assert_eq!(cut_at(&tight, 25), (25, Some(&tight[1])), "a page start below half is not worth it");
        assert_eq!(cut_at(&[], 5), (5, None));
    }

    #[test]
    fn an_exact_page_starts_at_the_first_item_left_out() {
        // 13 kept of the first page (50 a page): pages of 13, the second starts at item 13.
        assert_eq!(exact_page(0, 13, 50), Some((13, json!({"page": 2, "page_size": 13}))));
        // 13 kept of page 2 (items 100..): 113 is prime, 112 = 2 × 56: page 3 of 56.
        assert_eq!(exact_page(100, 13, 100), Some((12, json!({"page": 3, "page_size": 56}))));
        // Small pages: a page size of at least the page's own.
        assert_eq!(exact_page(0, 3, 5), Some((3, json!({"page": 2, "page_size": 3}))));
        assert_eq!(exact_page(7, 1, 50), Some((1, json!({"page": 2, "page_size": 8}))), "one kept: pages of 8");
        assert_eq!(exact_page(0, 0, 50), None, "nothing kept of the page");
    }

    #[test]
    fn a_summary_keeps_types_and_names_what_it_elided() {
        let long = "x".repeat(5_000);
        let mut body = json!({"id": "f_1", "text": long, "steps": (0..200).map(|i| json!({"n": i, "log": "y".repeat(100)})).collect::<Vec<_>>(), "ok": true});
        let elided = shrink(&mut body, 4_000);
        assert!(json_len(&body) <= 4_000, "{}", json_len(&body));
        assert_eq!((body["id"].clone(), body["ok"].clone()), (json!("f_1"), json!(true)), "small values stay");
        assert!(body["text"].as_str().unwrap().ends_with("more bytes elided]"));
        assert!(body["steps"].as_array().is_some_and(|s| !s.is_empty() && s.len() < 200));
        assert_eq!(body["steps"][0], json!({"n": 0, "log": "y".repeat(100)}), "kept items are whole");
        let mut elided = elided;
        elided.sort();
        assert_eq!(elided, ["/steps", "/text"]);
        let mut small = json!({"a": 1});
        assert!(shrink(&mut small, 100).is_empty());
        // One huge item in an array: the item itself shrinks.
        let mut one = json!({"items": [{"blob": "z".repeat(10_000)}]});
        assert_eq!(shrink(&mut one, 1_000), ["/items/0/blob"]);
        assert!(json_len(&one) <= 1_000);
        // Short strings stay whole even when the target cannot be met.
        let mut ids = json!({"id": "art_1", "n": 1});
        assert!(shrink(&mut ids, 5).is_empty());
        assert_eq!(ids, json!({"id": "art_1", "n": 1}));
        // Multi-byte text is cut on a character boundary.
        let mut wide = json!("é".repeat(3_000));
        shrink(&mut wide, 500);
        assert!(json_len(&wide) <= 500 && wide.as_str().unwrap().starts_with('é'));
    }
}
