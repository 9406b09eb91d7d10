//! The `behaviours:` of a method, as written (see `spec/README.md`, "Behaviours").

use serde::Deserialize;

/// `behaviours`: one optional key per behaviour; fields mirror the runtime's
/// `gumloop_mcp_runtime::behaviour` structs. Nothing in them needs resolving, so the IR
/// carries them as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehavioursRule {
    /// `behaviours.flow_inputs`.
    #[serde(default)]
    pub flow_inputs: Option<FlowInputsRule>,
    /// `behaviours.inputs_schema`.
    #[serde(default)]
    pub inputs_schema: Option<InputsSchemaRule>,
    /// `behaviours.download_link`.
    #[serde(default)]
    pub download_link: Option<DownloadLinkRule>,
    /// `behaviours.images`.
    #[serde(default)]
    pub images: Option<ImagesRule>,
    /// `behaviours.skill_package`.
    #[serde(default)]
    pub skill_package: Option<SkillPackageRule>,
    /// `behaviours.flow_tools`.
    #[serde(default)]
    pub flow_tools: Option<FlowToolsRule>,
}

impl BehavioursRule {
    /// Whether no behaviour is declared.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `behaviours.flow_inputs`: a run takes a flow's inputs by name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowInputsRule {
    /// The server argument with the inputs by name.
    pub arg: String,
    /// The argument that names the flow.
    pub flow_arg: String,
    /// The upstream body argument the checked inputs go to.
    pub wire_arg: String,
    /// The name key of one wire entry.
    pub wire_name: String,
    /// The value key of one wire entry.
    pub wire_value: String,
    /// The tool that reads a flow's inputs (it declares `inputs_schema`).
    pub schema_tool: String,
}

/// `behaviours.inputs_schema`: the result describes a flow's inputs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsSchemaRule {
    /// The argument that names the flow.
    pub id_arg: String,
    /// Pointer to the flow's id in the result.
    pub id: String,
    /// Pointer to the list of inputs in the result.
    pub inputs: String,
    /// Pointer to an input's name, within one input.
    pub name: String,
    /// Pointer to an input's data type, within one input.
    pub data_type: String,
    /// Pointer to an input's description, within one input.
    pub description: String,
    /// The data type of file inputs.
    pub file_type: String,
    /// What the schema tells a model about a file input.
    pub file_hint: String,
    /// The result field the JSON Schema is added as.
    pub into: String,
}

/// `behaviours.download_link`: objects in the result carry a signed URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadLinkRule {
    /// Pointer to the objects that carry a link (`""` is the result itself).
    pub at: String,
    /// Pointer to the URL, within one object.
    pub url: String,
    /// Pointer to the file name, within one object.
    #[serde(default)]
    pub filename: Option<String>,
    /// Pointer to the media type, within one object.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Pointer to the size in bytes, within one object.
    #[serde(default)]
    pub size: Option<String>,
}

/// `behaviours.images`: data-URL images in the result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesRule {
    /// Pointer to the image entries.
    pub at: String,
    /// Pointers to the URL within one entry, tried in order (`""` is the entry itself).
    pub url: Vec<String>,
}

/// `behaviours.skill_package`: the call uploads a skill in one of three forms.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillPackageRule {
    /// The manifest's text argument.
    pub markdown: String,
    /// The name argument that goes with the text.
    pub name: String,
    /// The description argument that goes with the text.
    pub description: String,
    /// The loose files argument.
    pub files: String,
    /// The base64 archive argument.
    pub archive: String,
    /// The multipart field the packaged files are sent as.
    pub field: String,
    /// The file every skill has at its root, whose frontmatter names it.
    pub manifest: String,
    /// The largest upload upstream accepts, unpacked, in bytes.
    pub max_bytes: u64,
}

/// `behaviours.flow_tools`: a list of flows, each of which becomes a tool.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowToolsRule {
    /// The tool-name prefix.
    pub prefix: String,
    /// Pointer to the flows in the result.
    pub items: String,
    /// Pointer to a flow's id, within one flow.
    pub id: String,
    /// Pointer to a flow's name, within one flow.
    pub name: String,
    /// Pointer to a flow's description, within one flow.
    pub description: String,
    /// Pointer to when a flow was created, within one flow.
    #[serde(default)]
    pub created: Option<String>,
    /// The tool that runs a flow (it declares `flow_inputs`).
    pub run_tool: String,
}
