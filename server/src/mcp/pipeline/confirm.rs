//! The confirmation stage: on a managed server whose config says `confirm_destructive`,
//! a call of a tool annotated destructive runs only once the person has said yes to a
//! question naming the tool and its target. A decline, a cancel, or a client that cannot
//! be asked ends the call with nothing sent.

use gumloop_mcp_runtime::ToolDescriptor;
use rmcp::model::{CallToolResult, Tool};
use serde_json::{Map, Value, json};

use super::result::tool_error;
use crate::mcp::GumloopServer;
use crate::mcp::ask::{Ask, Asked, Question};
use crate::mcp::scope::{CallOutcome, Scope};

/// The answer's one field.
const FIELD: &str = "confirm";

/// What a call is done to: its required text arguments (the ids a destructive method
/// names its object by), as `name value` pairs.
pub fn target(tool: &Tool, args: &Value) -> String {
    let required = tool.input_schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
    let pairs: Vec<String> = required
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|k| Some(format!("{k} {}", crate::text::clip(args.get(k)?.as_str()?, crate::text::QUOTE_CHARS))))
        .collect();
    pairs.join(", ")
}

/// Every problem with a confirmation answer.
fn check(answer: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> =
        answer.keys().filter(|k| *k != FIELD).map(|k| format!("/{}: not a field of this question", crate::text::clip(k, crate::text::QUOTE_CHARS))).collect();
    match answer.get(FIELD) {
        Some(Value::Bool(_)) => {}
        Some(v) => out.push(format!("/{FIELD}: must be true or false, got {}", crate::text::quote(v))),
        None => out.push(format!("/{FIELD}: missing (true to go ahead, false to stop)")),
    }
    out
}

impl GumloopServer {
    /// Whether `scope` wants `d` confirmed first.
    pub(crate) fn needs_confirmation(d: &ToolDescriptor, scope: Option<&Scope>) -> bool {
        d.annotations.destructive && scope.is_some_and(|s| s.access.confirm_destructive())
    }

    /// Asks the person to confirm `d`'s call with `args` when the scope wants it; the
    /// result to end the call with otherwise (`input required` when the question went out
    /// as an input-required result).
    pub(crate) async fn confirm(
        &self,
        d: &ToolDescriptor,
        tool: &Tool,
        args: &Value,
        scope: Option<&Scope>,
        ask: Option<&Ask>,
    ) -> Result<(), (CallToolResult, CallOutcome)> {
        if !Self::needs_confirmation(d, scope) {
            return Ok(());
        }
        let title = tool.title.as_deref().unwrap_or(d.title);
        let target = target(tool, args);
        let on = if target.is_empty() { String::new() } else { format!(" on {target}") };
        let Some(ask) = ask.filter(|a| a.can()) else {
            return Err((
                tool_error(format!(
                    "`{}` ({title}{on}) needs the person's confirmation on this server (confirm_destructive), and this client cannot be asked: \
                     use a client that supports elicitation (form mode), or turn confirm_destructive off for this server. Nothing was sent to Gumloop.",
                    d.name
                )),
                CallOutcome::Rejected,
            ));
        };
        let question = Question {
            key: FIELD,
            message: format!("Confirm: {title}{on}? This is a destructive action (`{}`).", d.name),
            schema: json!({"type": "object", "required": [FIELD], "properties": {FIELD: {
                "type": "boolean", "title": format!("{title}{on}"), "description": "true to go ahead, false to stop"}}}),
            what: format!("the confirmation of `{}`{on}", d.name),
        };
        match ask.ask(&question, check).await {
            Asked::Answer(a) if a.get(FIELD) == Some(&Value::Bool(true)) => Ok(()),
            Asked::Answer(_) => Err((tool_error(format!("the person did not confirm `{}`{on}; nothing was sent to Gumloop", d.name)), CallOutcome::Rejected)),
            Asked::Stop(result) => Err((result, CallOutcome::Rejected)),
            Asked::Pending => Err((tool_error("input required"), CallOutcome::Rejected)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_target_is_the_required_text_arguments() {
        let schema = json!({"type": "object", "required": ["agent_id", "id", "n"], "properties": {}});
        let tool = Tool::new("delete_thing", "d", Arc::new(schema.as_object().unwrap().clone()));
        assert_eq!(target(&tool, &json!({"agent_id": "a1", "id": "t2", "n": 3, "other": "x"})), "agent_id a1, id t2");
    }

    #[test]
    fn answers_are_checked() {
        let ok = json!({"confirm": false});
        assert!(check(ok.as_object().unwrap()).is_empty());
        let bad = json!({"confirm": "yes", "extra": 1});
        let p = check(bad.as_object().unwrap());
        assert_eq!(p, ["/extra: not a field of this question", "/confirm: must be true or false, got \"yes\""]);
        assert_eq!(check(&Map::new()), ["/confirm: missing (true to go ahead, false to stop)"]);
    }
}
