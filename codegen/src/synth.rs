//! Synthetic specs of any size, for benchmarks: resources of five standard methods each,
//! with path, query and body arguments, a shared `$ref` and cursor pagination.

use crate::SpecFiles;

/// A spec with `operations` methods (rounded up to a multiple of five).
pub fn synth(operations: usize) -> SpecFiles {
    let resources = operations.div_ceil(5);
    let mut files = SpecFiles::new("spec")
        .with(
            "integration.yaml",
            "name: synth\ntitle: Synth\nbase_urls:\n  api: https://api.synth.test/v1\ncontext:\n  user_id: The user\ntags:\n  synth: Synthetic resources\n",
        )
        .with(
            "definitions.yaml",
            "$defs:\n  Item:\n    type: object\n    properties:\n      id: { type: string, description: The id }\n      name: { type: string, description: The name }\n      created_at: { type: string, format: date-time }\n",
        );
    for i in 0..resources {
        let r = format!("things{i:04}s");
        files = files
            .with(
                &format!("resources/{r}.yaml"),
                format!(
                    "resource: {r}\ntags: [synth]\nmethods:\n  list:\n    http: GET /{r}\n    pagination: cursor\n    context: [user_id]\n  get:\n    http: GET /{r}/{{id}}\n  create:\n    http: POST /{r}\n  update:\n    http: PATCH /{r}/{{id}}\n  delete:\n    http: DELETE /{r}/{{id}}\n"
                ),
            )
            .with(&format!("docs/{r}.yaml"), docs(&r));
    }
    files
}

fn docs(r: &str) -> String {
    let id = "  path_schema:\n    type: object\n    properties:\n      id: { type: string, description: The id }\n";
    let body = "  body_schema:\n    type: object\n    required: [name]\n    properties:\n      name: { type: string, description: The name }\n      tags: { type: array, items: { type: string } }\n      meta: { type: object }\n";
    let item = "  response_schema: { $ref: '#/$defs/Item' }\n";
    format!(
        "list:\n  description: List {r}.\n  query_schema:\n    type: object\n    properties:\n      user_id: {{ type: string }}\n      search: {{ type: string, description: Filter }}\n  response_schema:\n    type: object\n    properties:\n      items: {{ type: array, items: {{ $ref: '#/$defs/Item' }} }}\n      next_cursor: {{ type: [string, 'null'] }}\n\
         get:\n  description: Get one of {r}.\n{id}{item}\
         create:\n  description: Create one of {r}.\n{body}{item}\
         update:\n  description: Update one of {r}.\n{id}{body}{item}\
         delete:\n  description: Delete one of {r}.\n{id}"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_spec_generates() {
        let out = crate::generate(&super::synth(10)).unwrap();
        // registry + tools.json + 2 resources × (mod.rs + 5 tools)
        assert_eq!(out.files.len(), 2 + 2 * 6);
        assert!(out.warnings.is_empty());
    }
}
