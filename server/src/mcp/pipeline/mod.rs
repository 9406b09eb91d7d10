//! One `tools/call`, as stages in sequence:
//!
//! 1. admit: a scope's own tool becomes the catalogue tool it runs as; the tool must be
//!    one the scope may see;
//! 2. validate against the input schema;
//! 3. take the server arguments out (`wait`, `max_items`, `fields`, the behaviours' own);
//! 4. prepare: flow inputs checked and placed (the person asked for missing ones), a
//!    skill packaged, a destructive call confirmed (`confirm_destructive`);
//! 5. build the request; 6. send it;
//! 7. finish: wait (or run as a task), walk pages, add download links, images and a
//!    flow's inputs schema, keep the `fields` asked for.
//!
//! Each behaviour is a stage that runs when the tool's descriptor declares it, so they
//! compose: a walked list whose items carry signed URLs gets a link for every item of
//! every page. Around the stages, [`measure`] counts, times and spans each call once.

// A stage that ends the call early returns its result as the `Err`: one per call, moved
// once, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

pub(crate) mod adopt;
pub mod budget;
mod confirm;
mod finish;
pub(crate) mod measure;
mod prepare;
mod project;
pub mod result;
mod task;
mod wait;
mod walk;

use std::time::Instant;

use rmcp::ErrorData as McpError;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use tracing::Instrument as _;

pub use finish::Finished;
pub use wait::Follow;

use crate::behaviours::{pages, skills, waiting};
use crate::mcp::GumloopServer;
use crate::mcp::scope::{CallOutcome, Resolved, Scope};
use crate::upstream::ratelimit::RateLimitSlot;
use result::{invalid_arguments, pointer_or_root, tool_error, unless_json};

impl GumloopServer {
    /// Runs one tool call under `scope` (the configured credential without one), and says
    /// what it came to for the audit trail. Every call, on any transport, passes here once,
    /// so here it is counted, timed and given its span.
    pub(crate) async fn run(
        &self,
        name: &str,
        args: Value,
        slot: Option<&RateLimitSlot>,
        scope: Option<&Scope>,
        follow: Option<&Follow>,
    ) -> Result<(CallToolResult, CallOutcome), McpError> {
        let meter = measure::CallMeter::start(self.tool_label(name, scope), Instant::now());
        let result = self.stages(name, args, slot, scope, follow).instrument(measure::span(meter.tool())).await;
        meter.finish(measure::outcome_of(&result));
        result
    }

    async fn stages(
        &self,
        name: &str,
        args: Value,
        slot: Option<&RateLimitSlot>,
        scope: Option<&Scope>,
        follow: Option<&Follow>,
    ) -> Result<(CallToolResult, CallOutcome), McpError> {
        let s = &self.state;
        // 1. Admit.
        let ask = follow.and_then(|f| f.ask.as_ref());
        let (name, mut args) = match (scope, &self.scoped) {
            (Some(sc), Some(tools)) => match tools.resolve(self, sc, name, args).await {
                Resolved::Catalogue(args) => (name, args),
                Resolved::As { tool, args } => (tool, args),
                Resolved::Asking { tool, args, .. } if ask.is_some_and(|a| a.can()) => (tool, args),
                Resolved::Refused(text) | Resolved::Asking { refused: text, .. } => return Ok((tool_error(text), CallOutcome::Rejected)),
            },
            _ => (name, args),
        };
        let entry = self.entry(name, scope)?;
        let d = entry.descriptor;
        // 2. Validate (and check `fields` against the output schema, in the same answer).
        let mut problems = crate::mcp::validate::violations(entry, &args);
        let projection = project::requested(entry, &args, &mut problems);
        if !problems.is_empty() {
            return Ok((invalid_arguments(d.name, &problems), CallOutcome::Rejected));
        }
        // 3. Server arguments.
        let mut own = prepare::take_server_args(d, &mut args);
        let mut wait = waiting::take(&mut own);
        if let Some(hook) = follow.and_then(|f| f.task.as_ref()) {
            // A task always waits: its result is the final record.
            wait = waiting::Wait { wait: true, timeout: hook.timeout };
        }
        let max_items = pages::take(&mut own, &mut args, d.pagination);
        // 4. Prepare. A skill upload is packaged (every check made) before anything else.
        let skill_files = match d.behaviours.skill_package.map(|spec| skills::package(&mut own, &spec)).transpose() {
            Ok(files) => files,
            Err(e) => return Ok((tool_error(format!("invalid skill for `{name}` (nothing was sent to Gumloop): {e}")), CallOutcome::Rejected)),
        };
        let credential = scope.map_or(&s.credential, |sc| sc.credential.as_ref());
        if credential.api_key.is_none() {
            let text = "no Gumloop API key is configured: start gumloop-mcp with GUMLOOP_API_KEY (and GUMLOOP_USER_ID for personal keys)";
            return Ok((tool_error(text), CallOutcome::Rejected));
        }
        if let Some(spec) = d.behaviours.flow_inputs
            && let Some(given) = own.remove(spec.arg)
            && let Err(refused) = self.place_flow_inputs(entry, &spec, &mut args, given, credential, ask).await
        {
            return Ok(refused);
        }
        // The person confirms a destructive call last, once everything else is known good
        // (a task's call was confirmed before its task was created).
        let in_task = follow.is_some_and(|f| f.task.is_some());
        if !in_task && let Err(refused) = self.confirm(d, &entry.tool, &args, scope, ask).await {
            return Ok(refused);
        }
        // 5. Build. The arguments are kept where a stage needs them again: page walks and links.
        let call_args = if max_items.is_some() || d.behaviours.download_link.is_some() { args.clone() } else { Value::Null };
        let mut request = match (d.build)(args, &credential.context()) {
            Ok(r) => r,
            Err(e) => {
                // Serde's messages may quote the value; a long one is cut.
                let problem = format!("{}: {}", pointer_or_root(&e.pointer), crate::text::clip(&e.message, 2 * crate::text::QUOTE_CHARS));
                return Ok((invalid_arguments(name, &[problem]), CallOutcome::Rejected));
            }
        };
        if let (Some(files), Some(spec)) = (skill_files, d.behaviours.skill_package) {
            request.body = skills::with_files(request.body, files, spec.field);
        }
        // 6. Send.
        let started = Instant::now();
        let outcome = s.upstream.send(request, credential, d.response).await;
        let ms = started.elapsed().as_millis() as u64;
        // 7. Finish.
        let result = match unless_json(outcome, d.name, slot, entry.tool.output_schema.is_some()) {
            Err(result) => result,
            Ok((status, body)) => {
                tracing::info!(tool = name, status, ms, "call");
                // structuredContent must be an object; lists of bare arrays get a wrapper.
                let body = if body.is_object() { body } else { json!({ "result": body }) };
                let finished = match (d.async_spec, max_items) {
                    (Some(spec), _) => self.long_running(name, spec, body, wait, credential, follow).await,
                    (None, Some(max)) => self.walk(d, call_args, body, max, credential).await,
                    (None, None) => {
                        let extra = d.behaviours.download_link.map(|spec| self.download_links(d, &spec, &call_args, &body)).unwrap_or_default();
                        Ok(Finished { extra, ..Finished::of(body) })
                    }
                };
                self.finish_stages(d, finished, credential, projection.as_ref(), scope).await
            }
        };
        let audited = if result.is_error == Some(true) { CallOutcome::ToolError } else { CallOutcome::Ok };
        Ok((result, audited))
    }
}

impl GumloopServer {
    /// The stages after the wait or the walk: images taken out, a flow's inputs schema,
    /// the `fields` projection, then the result budget.
    async fn finish_stages(
        &self,
        d: &gumloop_mcp_runtime::ToolDescriptor,
        finished: Result<Finished, CallToolResult>,
        credential: &crate::upstream::credential::Credential,
        projection: Option<&crate::behaviours::projection::Projection>,
        scope: Option<&Scope>,
    ) -> CallToolResult {
        match finished {
            Err(result) => result,
            Ok(mut f) => {
                if let Some(spec) = d.behaviours.images {
                    finish::take_images(&mut f, &spec);
                }
                if let Some(spec) = d.behaviours.inputs_schema {
                    self.add_inputs_schema(&mut f, &spec, credential);
                }
                project::apply(&mut f, projection);
                self.fit(d, f, scope).await
            }
        }
    }
}
