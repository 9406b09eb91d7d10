//! The last stages of a call, on its final JSON: download links, images and a flow's
//! inputs schema, each where the descriptor declares it. They compose: a walked list's
//! pages each bring their links, then images and schemas apply to the merged record.

use gumloop_mcp_runtime::ToolDescriptor;
use gumloop_mcp_runtime::behaviour::{DownloadLink, Images, InputsSchema};
use rmcp::model::{CallToolResult, ContentBlock, Resource};
use serde_json::Value;

use crate::behaviours::downloads::{self, Link};
use crate::behaviours::{flow_inputs, images};
use crate::mcp::GumloopServer;
use crate::upstream::credential::Credential;

/// A successful call on its way to becoming a result.
pub struct Finished {
    /// The structured result.
    pub body: Value,
    /// Text that goes before the JSON copy (guidance a model must read first).
    pub notes: Vec<ContentBlock>,
    /// Blocks that go after it (links, images).
    pub extra: Vec<ContentBlock>,
    /// Where the list's pages began, when a walk read them (for the budget's cut).
    pub list: Option<super::budget::Listed>,
}

impl Finished {
    /// A plain record.
    pub fn of(body: Value) -> Self {
        Self { body, notes: Vec::new(), extra: Vec::new(), list: None }
    }

    /// The result: notes, the JSON, then the extra blocks.
    pub fn into_result(self) -> CallToolResult {
        let mut result = CallToolResult::structured(self.body);
        result.content.splice(0..0, self.notes);
        result.content.extend(self.extra);
        result
    }
}

impl GumloopServer {
    /// The resource links of one answer of `tool` (called with `args`): one per object the
    /// spec points at that carries a signed URL.
    pub(super) fn download_links(&self, tool: &ToolDescriptor, spec: &DownloadLink, args: &Value, body: &Value) -> Vec<ContentBlock> {
        downloads::targets(body, spec)
            .into_iter()
            .map(|(at, object, url)| {
                let uri = self.state.links.encode(&Link { tool: tool.name.to_owned(), args: args.clone(), at, url: url.to_owned() });
                let field = |p: Option<&'static str>| p.and_then(|p| gumloop_mcp_runtime::pointer::get(object, p));
                let name = field(spec.filename).and_then(Value::as_str).unwrap_or("download").to_owned();
                let mut r = Resource::new(uri, name).with_description("The file behind the signed URL; read it with resources/read");
                if let Some(mt) = field(spec.media_type).and_then(Value::as_str) {
                    r = r.with_mime_type(mt);
                }
                if let Some(size) = field(spec.size).and_then(Value::as_u64) {
                    r = r.with_size(size);
                }
                ContentBlock::resource_link(r)
            })
            .collect()
    }

    /// The JSON Schema of the flow's inputs added to its record (and the inputs cached for
    /// the runs that follow).
    pub(super) fn add_inputs_schema(&self, f: &mut Finished, spec: &InputsSchema, credential: &Credential) {
        let Some(inputs) = flow_inputs::parse(&f.body, spec) else { return };
        f.body[spec.into] = flow_inputs::json_schema(&inputs);
        if let Some(flow) = gumloop_mcp_runtime::pointer::str_at(&f.body, spec.id).map(str::to_owned) {
            self.state.flow_inputs.put(credential, &flow, inputs);
        }
    }
}

/// Data-URL images moved out of the record into image content.
pub fn take_images(f: &mut Finished, spec: &Images) {
    f.extra.extend(images::take(&mut f.body, spec));
}
