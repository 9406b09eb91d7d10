//! Which operations of OpenAPI documents a spec describes, and which spec methods the
//! documents do not list. Path parameter names are ignored (`/a/{id}` = `/a/{a_id}`).

use std::collections::{BTreeMap, BTreeSet};

use super::{ImportError, operation, parse_document};
use crate::spec::Spec;

/// What [`compare`] found. Every list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Document operations some spec method describes: `VERB /path = resource.method, …`.
    pub matched: Vec<String>,
    /// Document operations no spec method describes: `label: VERB /path (operationId)`.
    pub not_in_spec: Vec<String>,
    /// Spec methods no document lists: `resource.method: VERB /path`.
    pub not_in_openapi: Vec<String>,
}

impl Comparison {
    /// The differences, one line each (matches are left out).
    pub fn lines(&self) -> Vec<String> {
        let a = self.not_in_spec.iter().map(|l| format!("not in the spec: {l}"));
        let b = self.not_in_openapi.iter().map(|l| format!("not in the OpenAPI: {l}"));
        a.chain(b).collect()
    }
}

/// `VERB /path` with every `{param}` written `{}` and no trailing `/`.
fn normalise(verb: &str, path: &str) -> String {
    let path = path.trim().trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').map(|s| if s.starts_with('{') && s.ends_with('}') { "{}" } else { s }).collect();
    format!("{} {}", verb.trim().to_uppercase(), if segs.len() <= 1 { "/".to_owned() } else { segs.join("/") })
}

/// Compares `spec` with the documents `(label, text)`: operations of any document that
/// the spec does not describe, and spec methods that no document lists.
pub fn compare(spec: &Spec, docs: &[(&str, &str)]) -> Result<Comparison, ImportError> {
    let mut in_spec: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &spec.resources {
        for (key, m) in &r.value.methods {
            in_spec.entry(normalise(m.http.verb.as_str(), &m.http.path)).or_default().push(format!("{}.{key}", r.value.resource));
        }
    }
    let mut out = Comparison::default();
    let mut in_docs = BTreeSet::new();
    for (label, text) in docs {
        let doc = parse_document(text)?;
        for o in operation::operations(&doc) {
            let n = normalise(&o.verb, &o.path);
            match in_spec.get(&n) {
                Some(methods) => out.matched.push(format!("{n} = {}", methods.join(", "))),
                None => {
                    let id = o.op.operation_id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default();
                    out.not_in_spec.push(format!("{label}: {}{id}", o.label()));
                }
            }
            in_docs.insert(n);
        }
    }
    for r in &spec.resources {
        for (key, m) in &r.value.methods {
            let n = normalise(m.http.verb.as_str(), &m.http.path);
            if !in_docs.contains(&n) {
                out.not_in_openapi.push(format!("{}.{key}: {}", r.value.resource, m.http));
            }
        }
    }
    out.matched.sort();
    out.matched.dedup();
    out.not_in_spec.sort();
    out.not_in_openapi.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn parameter_names_do_not_matter() {
        assert_eq!(normalise("get", "/a/{id}/b/"), normalise("GET", "/a/{a_id}/b"));
        assert_eq!(normalise("GET", "/"), "GET /");
    }
}
