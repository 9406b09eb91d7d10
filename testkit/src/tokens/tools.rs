//! What each tool of a `tools/list` answer costs, and where its tokens go: the figures of
//! `cargo xtask tokens` and the budget test share this, so both count the same way.

use serde_json::Value;

use super::{o200k, o200k_json};

/// One tool's tokens: the whole compact JSON object, and its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolTokens {
    pub name: String,
    /// The tool object as served (compact JSON).
    pub total: usize,
    /// The `description` string's text.
    pub description: usize,
    /// The compact `inputSchema`.
    pub input_schema: usize,
    /// The compact `outputSchema` (0 without one).
    pub output_schema: usize,
}

impl ToolTokens {
    /// Counts one tool object of a `tools/list` `tools` array.
    pub fn of(tool: &Value) -> Self {
        let part = |key: &str| tool.get(key).map(o200k_json).unwrap_or(0);
        Self {
            name: tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            total: o200k_json(tool),
            description: tool.get("description").and_then(Value::as_str).map(o200k).unwrap_or(0),
            input_schema: part("inputSchema"),
            output_schema: part("outputSchema"),
        }
    }

    /// Everything else: name, title, annotations, keys and punctuation. (Parts are
    /// counted alone, so a token spanning a boundary makes this approximate.)
    pub fn rest(&self) -> usize {
        self.total.saturating_sub(self.description + self.input_schema + self.output_schema)
    }
}

/// A whole `tools` array: what a model pays per conversation turn for one exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: usize,
    /// The compact `tools` array as one JSON value.
    pub total: usize,
    pub median: usize,
    pub mean: f64,
    /// The nearest-rank 90th percentile per tool.
    pub p90: usize,
    /// Every tool, the most expensive first (ties by name).
    pub tools: Vec<ToolTokens>,
}

impl Summary {
    /// Counts `tools`, a `tools/list` result's `tools` array.
    pub fn of(tools: &[Value]) -> Self {
        let mut per: Vec<ToolTokens> = tools.iter().map(ToolTokens::of).collect();
        per.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.name.cmp(&b.name)));
        let mut counts: Vec<usize> = per.iter().map(|t| t.total).collect();
        let median = super::median(&mut counts);
        let p90 = if counts.is_empty() { 0 } else { counts[(counts.len() * 9).div_ceil(10) - 1] };
        let mean = if counts.is_empty() { 0.0 } else { counts.iter().sum::<usize>() as f64 / counts.len() as f64 };
        Self { count: per.len(), total: o200k_json(&Value::Array(tools.to_vec())), median, mean, p90, tools: per }
    }

    /// The one-line figures: count, total, median, mean, p90.
    pub fn line(&self) -> String {
        format!("{} tools, {} tokens in all; per tool median {}, mean {:.0}, p90 {}", self.count, self.total, self.median, self.mean, self.p90)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn small_tool() -> Value {
        json!({"name": "a", "description": "hello world", "inputSchema": {"type": "object"}})
    }

    #[test]
    fn splits_a_tool_and_summarises_a_list() {
        let small = small_tool();
        let t = ToolTokens::of(&small);
        assert_eq!(t.description, 2);
        assert_eq!(t.input_schema, o200k(r#"{"type":"object"}"#));
        assert_eq!(t.output_schema, 0);
        assert_eq!(t.total, o200k(&small.to_string()));
        assert!(t.rest() > 0 && t.rest() < t.total);

        let big = json!({"name": "b", "description": "hello world ".repeat(20), "inputSchema": {}, "outputSchema": {"type": "object"}});
        let s = Summary::of(&[small.clone(), big.clone(), small]);
        assert_eq!(s.count, 3);
        assert_eq!(s.tools[0].name, "b", "most expensive first");
        assert_eq!(s.median, t.total);
        assert_eq!(s.p90, ToolTokens::of(&big).total);
        assert_eq!(s.total, o200k(&json!([small_tool(), big, small_tool()]).to_string()));
    }
}
