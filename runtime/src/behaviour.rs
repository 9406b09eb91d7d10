//! What the server does for a tool beyond one HTTP call, declared per method in
//! `spec/resources/*.yaml` (`behaviours:`) and carried in its [`crate::ToolDescriptor`].
//!
//! Each behaviour names, as data, every argument, tool and JSON location it needs, so the
//! server's stages name no Gumloop tool, field or path. Locations are [`crate::pointer`]s:
//! JSON pointers in which a `*` segment stands for every element of an array.

/// A method's behaviours; each is carried out by a generic stage of the server when set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Behaviours {
    /// The call takes a flow's inputs by name and sends them in the wire form.
    pub flow_inputs: Option<FlowInputs>,
    /// The result describes a flow's inputs; the server adds them as a JSON Schema.
    pub inputs_schema: Option<InputsSchema>,
    /// The result (or each item of it) carries a signed download URL; the server adds a
    /// `resource_link` that `resources/read` reads.
    pub download_link: Option<DownloadLink>,
    /// The result carries images as data URLs; they become MCP image content.
    pub images: Option<Images>,
    /// The call uploads a skill: the server checks and packages one of three forms.
    pub skill_package: Option<SkillPackage>,
    /// The result lists flows; a managed server with `flow_tools` gets one tool per flow.
    pub flow_tools: Option<FlowTools>,
}

impl Behaviours {
    /// No behaviour (a plain call).
    pub const NONE: Behaviours =
        Behaviours { flow_inputs: None, inputs_schema: None, download_link: None, images: None, skill_package: None, flow_tools: None };
}

/// `flow_inputs`: a run takes `arg` (an object of input name → value), checked against
/// the flow's inputs as `schema_tool` reads them, and sent as `wire_arg`: a list of
/// `{<wire_name>: name, <wire_value>: value}` in the flow's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowInputs {
    /// The server argument with the inputs by name (`inputs`).
    pub arg: &'static str,
    /// The argument that names the flow (`saved_item_id`).
    pub flow_arg: &'static str,
    /// The upstream argument the checked inputs go to (`pipeline_inputs`).
    pub wire_arg: &'static str,
    /// The name key of one wire entry (`input_name`).
    pub wire_name: &'static str,
    /// The value key of one wire entry (`value`).
    pub wire_value: &'static str,
    /// The tool that reads a flow's inputs; it declares [`InputsSchema`].
    pub schema_tool: &'static str,
}

/// `inputs_schema`: where a flow's inputs are in this tool's result, and how they become
/// a JSON Schema added to the result as `into`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputsSchema {
    /// The argument of this tool that names the flow (`id`).
    pub id_arg: &'static str,
    /// The flow's id in the result (`/saved_item_id`), the key its inputs are cached by.
    pub id: &'static str,
    /// The list of inputs in the result (`/inputs`).
    pub inputs: &'static str,
    /// An input's name, within one input (`/name`).
    pub name: &'static str,
    /// An input's data type, within one input (`/data_type`); absent means text.
    pub data_type: &'static str,
    /// An input's description, within one input (`/description`).
    pub description: &'static str,
    /// The data type of inputs that take a file (`file`).
    pub file_type: &'static str,
    /// What the schema tells a model about a file input.
    pub file_hint: &'static str,
    /// The result field the JSON Schema is added as (`inputs_schema`).
    pub into: &'static str,
}

/// `download_link`: the objects at `at` (the record itself when empty; `/items/*` for
/// every item of a list) carry a signed URL and what is known of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DownloadLink {
    /// The objects that carry a link, as a pointer (`""`, `/artifacts/*`).
    pub at: &'static str,
    /// The signed URL within one object (`/download_url`).
    pub url: &'static str,
    /// The file name within one object, if known.
    pub filename: Option<&'static str>,
    /// The media type within one object, if known.
    pub media_type: Option<&'static str>,
    /// The size in bytes within one object, if known.
    pub size: Option<&'static str>,
}

/// `images`: data-URL images at `at`, the URL found at the first of `url` that holds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Images {
    /// The image entries, as a pointer (`/choices/*/message/images/*`).
    pub at: &'static str,
    /// Where the URL may be within one entry, tried in order (`""` is the entry itself).
    pub url: &'static [&'static str],
}

/// `skill_package`: the server arguments of the three forms (the `manifest`'s text with
/// its name and description, loose files, or an archive), packaged into multipart `field`
/// parts of at most `max_bytes` in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SkillPackage {
    /// The manifest's text argument (`skill_markdown`).
    pub markdown: &'static str,
    /// The name argument that goes with the text (`name`).
    pub name: &'static str,
    /// The description argument that goes with the text (`description`).
    pub description: &'static str,
    /// The loose files argument (`files`).
    pub files: &'static str,
    /// The base64 archive argument (`archive_base64`).
    pub archive: &'static str,
    /// The multipart field the packaged files are sent as (`files`).
    pub field: &'static str,
    /// The file every skill has at its root, whose frontmatter names it (`SKILL.md`).
    pub manifest: &'static str,
    /// The largest upload upstream accepts, unpacked.
    pub max_bytes: u64,
}

/// `flow_tools`: this list tool's result lists flows; each becomes a tool named `prefix`
/// + its name's slug that runs it through `run_tool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowTools {
    /// The tool-name prefix (`run_gumloop_flow_`).
    pub prefix: &'static str,
    /// The flows in the result (`/saved_items`).
    pub items: &'static str,
    /// A flow's id, within one flow (`/saved_item_id`).
    pub id: &'static str,
    /// A flow's name, within one flow (`/name`).
    pub name: &'static str,
    /// A flow's description, within one flow (`/description`).
    pub description: &'static str,
    /// When a flow was created, within one flow (`/created_ts`): older flows keep the
    /// plain name when two names collide.
    pub created: Option<&'static str>,
    /// The tool that runs a flow; it declares [`FlowInputs`].
    pub run_tool: &'static str,
}
