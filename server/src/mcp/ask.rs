//! Asking the person behind a call (MCP elicitation, form mode) at the moments they
//! decide: the inputs a flow run is missing, and a destructive call's confirmation.
//!
//! A 2025-11-25 session is asked with `elicitation/create` while the call waits. A
//! 2026-07-28 request gets an input-required result instead and the call runs again on
//! the retry; its `requestState` is sealed (HMAC, a key derived from the deployment's
//! secret, so any replica opens it) and bound to the tool called, its arguments and the
//! scope, so an answer can be neither forged nor carried over to another call. An answer
//! is checked as the original arguments are; a wrong one is asked again once, with the
//! problems named, and then refused.

use std::sync::Mutex;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, InputRequest,
    InputRequiredResult, InputResponses, ProtocolVersion, RequestStateCodec, SealOptions,
};
use rmcp::service::{Peer, RequestContext, RoleServer};
use serde_json::{Map, Value};

use crate::mcp::pipeline::result::tool_error;

/// How long a person has to answer a 2025-11-25 `elicitation/create`.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a 2026-07-28 input-required state stays good for its retry.
const STATE_TTL: Duration = Duration::from_secs(600);

/// The label the request-state key is derived under (from the download-link key, which
/// comes from the deployment's secret).
pub const STATE_KEY_LABEL: &str = "gumloop-mcp/request-state/v1";

/// How many times one question is put before a wrong answer is refused.
const ROUNDS: u8 = 2;

/// How this call's client can be asked, if at all.
pub struct Ask {
    how: How,
    /// What a sealed state is bound to: the tool called, its arguments, the scope.
    binding: Vec<u8>,
    /// Seals and opens states (2026-07-28 only).
    codec: Option<RequestStateCodec>,
    /// A 2026-07-28 question put in this round: the call ends with it.
    pending: Mutex<Option<InputRequiredResult>>,
}

enum How {
    /// A 2025-11-25 session with form elicitation: asked on the spot.
    Session(Peer<RoleServer>),
    /// A 2026-07-28 request with form elicitation: asked by an input-required result;
    /// the retry brings the answers and the state.
    Rounds { responses: InputResponses, state: Option<String> },
    /// The client declared no form elicitation.
    No,
}

/// One question.
pub struct Question<'a> {
    /// Its key in the input requests (and the state's).
    pub key: &'a str,
    /// What the person reads.
    pub message: String,
    /// The requested schema: a flat object of primitives.
    pub schema: Value,
    /// What is asked for, for messages: "the missing inputs of flow `f`".
    pub what: String,
}

/// What asking came to.
pub enum Asked {
    /// An accepted answer that passed the check.
    Answer(Map<String, Value>),
    /// The call ends with this result (declined, cancelled, still wrong, a bad state).
    Stop(CallToolResult),
    /// The question went out as an input-required result ([`Ask::take_pending`]).
    Pending,
}

/// What the sealed state carries (authenticated, not secret: it holds no answer).
#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    /// The question's key.
    key: String,
    /// Which time it was put (1-based).
    round: u8,
}

/// Whether `ctx`'s client declared form elicitation (an empty `elicitation` object means
/// form, as in 2025-06-18).
fn declares_form(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.client_capabilities().and_then(|c| c.elicitation).is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// `v` as JSON text with object keys sorted at every level, so the same arguments bind
/// the same state however a client orders them.
fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

impl Ask {
    /// How the client of `ctx`, calling `request` under the scope
    /// `server_id` (none for `/mcp` and stdio), can be asked; states are sealed with
    /// `key`. Only a 2026-07-28 client that can be asked pays for the binding and the key.
    pub fn of(ctx: &RequestContext<RoleServer>, request: &CallToolRequestParams, server_id: Option<&str>, key: impl FnOnce() -> [u8; 32]) -> Ask {
        let modern = ctx.protocol_version().is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        let how = match (declares_form(ctx), modern) {
            (false, _) => How::No,
            (true, true) => How::Rounds { responses: request.input_responses.clone().unwrap_or_default(), state: request.request_state.clone() },
            (true, false) => How::Session(ctx.peer.clone()),
        };
        let mut binding = Vec::new();
        let mut codec = None;
        if matches!(how, How::Rounds { .. }) {
            let args = request.arguments.as_ref().map_or_else(|| "{}".to_owned(), |m| canonical(&Value::Object(m.clone())));
            for part in [request.name.as_ref(), &args, server_id.unwrap_or("")] {
                binding.extend_from_slice(&(part.len() as u64).to_be_bytes());
                binding.extend_from_slice(part.as_bytes());
            }
            codec = Some(RequestStateCodec::try_new(key().to_vec()).expect("a 32-byte key is long enough"));
        }
        Ask { how, binding, codec, pending: Mutex::new(None) }
    }

    /// Whether the client can be asked at all.
    pub fn can(&self) -> bool {
        !matches!(self.how, How::No)
    }

    /// The input-required result this round put, if it put one.
    pub fn take_pending(&self) -> Option<InputRequiredResult> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Puts `q` to the person; an accepted answer is checked by `check` (every problem,
    /// by pointer) and asked again once when wrong.
    pub async fn ask(&self, q: &Question<'_>, check: impl Fn(&Map<String, Value>) -> Vec<String>) -> Asked {
        let schema: ElicitationSchema = match serde_json::from_value(q.schema.clone()) {
            Ok(s) => s,
            Err(e) => return Asked::Stop(tool_error(format!("cannot ask for {}: {e} (nothing was sent to Gumloop)", q.what))),
        };
        match &self.how {
            How::No => Asked::Stop(tool_error(format!("cannot ask for {}: the client declared no form elicitation", q.what))),
            How::Session(peer) => {
                let mut problems = Vec::new();
                for round in 1..=ROUNDS {
                    let params = ElicitRequestParams::FormElicitationParams { meta: None, message: message(q, &problems), requested_schema: schema.clone() };
                    let answer = match peer.create_elicitation_with_timeout(params, Some(ANSWER_TIMEOUT)).await {
                        Ok(a) => a,
                        Err(e) => return Asked::Stop(tool_error(format!("could not ask for {}: {e} (nothing was sent to Gumloop)", q.what))),
                    };
                    match judge(q, answer, &check) {
                        Judged::Wrong(p) if round < ROUNDS => problems = p,
                        Judged::Wrong(p) => return Asked::Stop(still_wrong(q, &p)),
                        Judged::Done(asked) => return asked,
                    }
                }
                unreachable!("the last round returns")
            }
            How::Rounds { responses, state } => {
                let opened = match state.as_deref().map(|s| self.open(s)) {
                    None if !responses.is_empty() => return Asked::Stop(bad_state(q, "the retry has input responses but no request state")),
                    None => None,
                    Some(Err(why)) => return Asked::Stop(bad_state(q, &why)),
                    Some(Ok(st)) => Some(st),
                };
                // A state for another question (one asked earlier in this call) starts this one.
                let Some(st) = opened.filter(|st| st.key == q.key) else { return self.pend(q, &schema, 1, &[]) };
                let Some(raw) = responses.get(q.key) else { return Asked::Stop(bad_state(q, &format!("the retry has no answer to `{}`", q.key))) };
                let answer: ElicitResult = match serde_json::from_value(raw.clone()) {
                    Ok(a) => a,
                    Err(e) => {
                        return Asked::Stop(tool_error(format!("the answer to `{}` is not an elicitation result: {e} (nothing was sent to Gumloop)", q.key)));
                    }
                };
                match judge(q, answer, &check) {
                    Judged::Wrong(p) if st.round < ROUNDS => self.pend(q, &schema, st.round + 1, &p),
                    Judged::Wrong(p) => Asked::Stop(still_wrong(q, &p)),
                    Judged::Done(asked) => asked,
                }
            }
        }
    }

    /// Records `q` as this round's input-required result, with its sealed state.
    fn pend(&self, q: &Question<'_>, schema: &ElicitationSchema, round: u8, problems: &[String]) -> Asked {
        let options = SealOptions::new().associated_data(&self.binding).ttl(STATE_TTL);
        let sealed = self.codec.as_ref().map(|c| c.seal_json_with(&State { key: q.key.to_owned(), round }, &options));
        let state = match sealed {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Asked::Stop(tool_error(format!("cannot ask for {}: {e}", q.what))),
            None => return Asked::Stop(tool_error(format!("cannot ask for {}: no request state in this era", q.what))),
        };
        let params = ElicitRequestParams::FormElicitationParams { meta: None, message: message(q, problems), requested_schema: schema.clone() };
        let requests = [(q.key.to_owned(), InputRequest::Elicitation(ElicitRequest::new(params)))].into_iter().collect();
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(InputRequiredResult::new(Some(requests), Some(state)));
        Asked::Pending
    }

    /// The state a retry echoes, if it was sealed here for this very call.
    fn open(&self, sealed: &str) -> Result<State, String> {
        // One answer for every failure (forged, altered, expired, another call's): the
        // details would only help a forger.
        let refused = || "the request state is not one this server sealed for this call, or it expired".to_owned();
        self.codec.as_ref().ok_or_else(refused)?.open_json_with(sealed, &self.binding).map_err(|_| refused())
    }
}

/// The message of round one, or of a round after a wrong answer (the problems named).
fn message(q: &Question<'_>, problems: &[String]) -> String {
    if problems.is_empty() {
        return q.message.clone();
    }
    format!("{}\n\nThe last answer had problems:\n- {}\nPlease answer again.", q.message, problems.join("\n- "))
}

enum Judged {
    Wrong(Vec<String>),
    Done(Asked),
}

fn judge(q: &Question<'_>, answer: ElicitResult, check: &impl Fn(&Map<String, Value>) -> Vec<String>) -> Judged {
    match answer.action {
        ElicitationAction::Accept => {
            let content = match answer.content {
                Some(Value::Object(m)) => m,
                None | Some(Value::Null) => Map::new(),
                Some(_) => return Judged::Wrong(vec!["/: the answer must be an object of field to value".into()]),
            };
            let problems = check(&content);
            if problems.is_empty() { Judged::Done(Asked::Answer(content)) } else { Judged::Wrong(problems) }
        }
        ElicitationAction::Decline => Judged::Done(Asked::Stop(tool_error(format!("the person declined to give {}; nothing was sent to Gumloop", q.what)))),
        _ => Judged::Done(Asked::Stop(tool_error(format!("the person cancelled the question about {}; nothing was sent to Gumloop", q.what)))),
    }
}

fn still_wrong(q: &Question<'_>, problems: &[String]) -> CallToolResult {
    tool_error(format!("the answer for {} was still wrong after asking again (nothing was sent to Gumloop):\n- {}", q.what, problems.join("\n- ")))
}

fn bad_state(q: &Question<'_>, why: &str) -> CallToolResult {
    tool_error(format!(
        "refused the answer for {}: {why}; nothing was sent to Gumloop. Call the tool again without `inputResponses` and `requestState`",
        q.what
    ))
}

#[cfg(test)]
mod tests {
    use super::canonical;
    use serde_json::json;

    #[test]
    fn the_binding_ignores_key_order() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 1, "c": 2}], "x": null}});
        let b = json!({"a": {"x": null, "y": [1, {"c": 2, "d": 1}]}, "b": 1});
        assert_eq!(canonical(&a), canonical(&b));
        assert_ne!(canonical(&a), canonical(&json!({"b": 2, "a": {}})));
    }
}
