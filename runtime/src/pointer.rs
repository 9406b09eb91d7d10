//! JSON pointers with `*`: `/choices/*/message/images/*` is every image of every choice.
//!
//! Behaviours (`crate::behaviour`) locate what they need with these, so one pointer
//! reaches the record itself (`""`), one field (`/download_url`) or every item of a list
//! (`/artifacts/*`). Segments are unescaped as RFC 6901 says (`~1` is `/`, `~0` is `~`).

use serde_json::Value;

/// Whether `pointer` is well formed: empty, or `/`-separated segments.
pub fn is_valid(pointer: &str) -> bool {
    pointer.is_empty() || pointer.starts_with('/')
}

fn segments(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~"))
}

/// Every value `pointer` reaches in `value`, in document order.
pub fn each<'v>(value: &'v Value, pointer: &str) -> Vec<&'v Value> {
    each_at(value, pointer).into_iter().map(|(_, v)| v).collect()
}

/// Every value `pointer` reaches, each with its concrete pointer (`/items/*` → `/items/0`,
/// `/items/1`, …), in document order.
pub fn each_at<'v>(value: &'v Value, pointer: &str) -> Vec<(String, &'v Value)> {
    let mut current = vec![(String::new(), value)];
    for (raw, seg) in pointer.split('/').skip(1).zip(segments(pointer)) {
        current = current
            .into_iter()
            .flat_map(|(at, v)| match (v, seg.as_str()) {
                (Value::Array(items), "*") => items.iter().enumerate().map(|(i, v)| (format!("{at}/{i}"), v)).collect(),
                (Value::Array(items), i) => i.parse::<usize>().ok().and_then(|i| items.get(i)).map(|v| (format!("{at}/{raw}"), v)).into_iter().collect(),
                (Value::Object(map), k) => map.get(k).map(|v| (format!("{at}/{raw}"), v)).into_iter().collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect();
    }
    current
}

/// Every value `pointer` reaches in `value`, mutably, in document order.
pub fn each_mut<'v>(value: &'v mut Value, pointer: &str) -> Vec<&'v mut Value> {
    let mut current = vec![value];
    for seg in segments(pointer) {
        current = current
            .into_iter()
            .flat_map(|v| match (v, seg.as_str()) {
                (Value::Array(items), "*") => items.iter_mut().collect(),
                (Value::Array(items), i) => i.parse::<usize>().ok().and_then(|i| items.get_mut(i)).into_iter().collect(),
                (Value::Object(map), k) => map.get_mut(k).into_iter().collect(),
                _ => Vec::new(),
            })
            .collect();
    }
    current
}

/// The one value a pointer without `*` reaches, if any.
pub fn get<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    each(value, pointer).into_iter().next()
}

/// The string at `pointer`, if it is one.
pub fn str_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    get(value, pointer).and_then(Value::as_str)
}

/// The part of `pointer` before its last `*` segment (the array) and after it (within
/// one item): `/artifacts/*/file` → (`/artifacts`, `/file`). `None` without a `*`.
pub fn split_last_star(pointer: &str) -> Option<(&str, &str)> {
    let at = pointer.rfind("/*")?;
    let rest = &pointer[at + 2..];
    (rest.is_empty() || rest.starts_with('/')).then(|| (&pointer[..at], rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stars_reach_every_element() {
        let v = json!({"choices": [{"m": {"images": ["a", "b"]}}, {"m": {}}, {"m": {"images": ["c"]}}], "x~/y": 1});
        assert_eq!(each(&v, "/choices/*/m/images/*"), [&json!("a"), &json!("b"), &json!("c")]);
        assert_eq!(each(&v, "/choices/1/m"), [&json!({})]);
        assert_eq!(each(&v, ""), [&v]);
        assert_eq!(get(&v, "/x~0~1y"), Some(&json!(1)));
        assert!(each(&v, "/nope/*").is_empty());
        let mut w = v.clone();
        for s in each_mut(&mut w, "/choices/*/m/images/*") {
            *s = json!("z");
        }
        assert_eq!(w["choices"][0]["m"]["images"], json!(["z", "z"]));
        let at: Vec<String> = each_at(&v, "/choices/*/m/images/*").into_iter().map(|(p, _)| p).collect();
        assert_eq!(at, ["/choices/0/m/images/0", "/choices/0/m/images/1", "/choices/2/m/images/0"]);
        assert_eq!(split_last_star("/artifacts/*"), Some(("/artifacts", "")));
        assert_eq!(split_last_star("/a/*/b/*/c"), Some(("/a/*/b", "/c")));
        assert_eq!(split_last_star("/a/b"), None);
        assert!(is_valid("") && is_valid("/a") && !is_valid("a"));
    }
}
