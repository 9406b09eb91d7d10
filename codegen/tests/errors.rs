//! Every class of spec error, each from a small fixture: the error names the file, the
//! key path (and line and column where YAML gives them) and says how to fix it.

use gumloop_mcp_codegen::{Diagnostic, SpecFiles, generate};

const INTEGRATION: &str = "name: acme\ntitle: Acme\nbase_urls:\n  api: https://api.acme.test/v1\ncontext:\n  user_id: The user\ntags:\n  widgets: Widgets\n";

const RESOURCE: &str = "resource: widgets\ntags: [widgets]\nmethods:\n  get:\n    http: GET /widgets/{id}\n";

const DOCS: &str = "get:\n  description: Read one widget.\n  path_schema:\n    type: object\n    properties:\n      id: { type: string }\n";

fn spec(resource: &str, docs: &str) -> SpecFiles {
    SpecFiles::new("spec").with("integration.yaml", INTEGRATION).with("resources/widgets.yaml", resource).with("docs/widgets.yaml", docs)
}

/// Generates and returns the single diagnostic the fixture must produce.
fn only_error(files: SpecFiles) -> Diagnostic {
    let err = generate(&files).expect_err("the fixture is invalid");
    let diags = err.diagnostics();
    assert_eq!(diags.len(), 1, "expected exactly one problem, got:\n{err}");
    diags[0].clone()
}

#[test]
fn the_valid_base_fixture_generates() {
    assert_eq!(generate(&spec(RESOURCE, DOCS)).unwrap().files.len(), 4);
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let d = only_error(spec("resource: widgets\nmethods:\n  get: {http: GET /x\n", DOCS));
    assert_eq!(d.file, "spec/resources/widgets.yaml");
    assert!(d.location.is_some_and(|(line, _)| line >= 3), "{d}");
    assert!(d.help.as_deref().unwrap().contains("YAML syntax"), "{d}");
    assert!(!d.key_path.contains('?'), "{d}");
}

#[test]
fn unknown_key_names_the_key_path() {
    let d = only_error(spec(&RESOURCE.replace("    http:", "    pagnation: cursor\n    http:"), DOCS));
    assert_eq!(d.file, "spec/resources/widgets.yaml");
    assert_eq!(d.key_path, "methods.get.pagnation");
    assert!(d.message.contains("unknown field `pagnation`"), "{d}");
    assert!(d.message.contains("pagination"), "lists the valid keys: {d}");
    assert_eq!(d.location.map(|l| l.0), Some(5));
}

#[test]
fn comma_in_a_flow_mapping_description() {
    let d = only_error(spec(RESOURCE, &DOCS.replace("id: { type: string }", "id: { type: string, description: The id, as text. }")));
    assert_eq!(d.file, "spec/docs/widgets.yaml");
    assert_eq!(d.key_path, "get.path_schema.properties.id.as text.");
    assert!(d.message.contains("no value"), "{d}");
    assert!(d.help.unwrap().contains("quote"));
}

#[test]
fn undeclared_path_parameter() {
    let d = only_error(spec(&RESOURCE.replace("{id}", "{id}/parts/{part}"), DOCS));
    assert_eq!((d.file.as_str(), d.key_path.as_str()), ("spec/docs/widgets.yaml", "get.path_schema"));
    assert!(d.message.contains("path parameter `part`"), "{d}");
    assert!(d.help.unwrap().contains("add `part` to path_schema.properties"));
}

#[test]
fn property_in_query_and_body_without_rule() {
    let resource = "resource: widgets\nmethods:\n  create:\n    http: POST /widgets\n";
    let docs = "create:\n  description: Make one.\n  query_schema:\n    type: object\n    properties:\n      team: { type: string }\n  body_schema:\n    type: object\n    properties:\n      team: { type: string }\n";
    let d = only_error(spec(resource, docs));
    assert_eq!((d.file.as_str(), d.key_path.as_str()), ("spec/resources/widgets.yaml", "methods.create.args"));
    assert!(d.message.contains("`team` is declared in both query_schema and body_schema"), "{d}");
    assert!(d.help.unwrap().contains("in: query"));
    // The rule fixes it.
    let fixed = resource.to_owned() + "    args:\n      team: { in: both }\n";
    generate(&spec(&fixed, docs)).unwrap();
}

#[test]
fn duplicate_tool_name() {
    let resource = format!("{RESOURCE}  fetch:\n    http: GET /widgets/{{id}}/fetch\n    tool_name: get_single_acme_widget_by_id\n");
    let docs = format!("{DOCS}fetch:\n  description: Fetch.\n  path_schema:\n    type: object\n    properties:\n      id: {{ type: string }}\n");
    let d = only_error(spec(&resource, &docs));
    assert_eq!(d.key_path, "methods.get");
    assert!(d.message.contains("tool name `get_single_acme_widget_by_id` is also produced by spec/resources/widgets.yaml `methods.fetch`"), "{d}");
}

#[test]
fn name_over_64_characters() {
    let long = "x".repeat(65);
    let d = only_error(spec(&format!("{RESOURCE}    tool_name: {long}\n"), DOCS));
    assert_eq!(d.key_path, "methods.get.tool_name");
    assert!(d.message.contains("65 characters long"), "{d}");
}

#[test]
fn empty_title() {
    let d = only_error(spec(RESOURCE, &DOCS.replace("  description: Read one widget.", "  title: \"  \"\n  description: Read one widget.")));
    assert_eq!((d.file.as_str(), d.key_path.as_str()), ("spec/docs/widgets.yaml", "get.title"));
    assert!(d.help.unwrap().contains("List flows"));
}

#[test]
fn invalid_json_schema() {
    let d = only_error(spec(RESOURCE, &DOCS.replace("{ type: string }", "{ type: strng }")));
    assert_eq!((d.file.as_str(), d.key_path.as_str()), ("spec/docs/widgets.yaml", "get.path_schema"));
    assert!(d.message.starts_with("not a valid JSON Schema"), "{d}");
    assert!(d.message.contains("strng"), "{d}");
}

#[test]
fn ref_to_nothing() {
    let d = only_error(spec(RESOURCE, &DOCS.replace("{ type: string }", "{ $ref: '#/$defs/WidgetId' }")));
    assert_eq!(d.key_path, "get.path_schema.properties.id.$ref");
    assert!(d.message.contains("`WidgetId`, which definitions.yaml does not define"), "{d}");
}

#[test]
fn body_on_a_get() {
    let docs = format!("{DOCS}  body_schema:\n    type: object\n    properties:\n      q: {{ type: string }}\n");
    let d = only_error(spec(RESOURCE, &docs));
    assert_eq!(d.key_path, "get.body_schema");
    assert!(d.message.contains("a body on a GET method"), "{d}");
}

#[test]
fn unknown_method_kind() {
    let d = only_error(spec(&RESOURCE.replace("    http:", "    kind: fetch\n    http:"), DOCS));
    assert_eq!((d.key_path.as_str(), d.location.map(|l| l.0)), ("methods.get.kind", Some(5)));
    assert!(d.message.contains("unknown variant `fetch`, expected one of `list`, `get`, `create`, `update`, `delete`, `custom`"), "{d}");
    assert!(d.help.unwrap().contains("spec/README.md"));
}

#[test]
fn unknown_http_verb_is_a_load_error_with_its_line() {
    let d = only_error(spec(&RESOURCE.replace("GET /widgets", "FETCH /widgets"), DOCS));
    assert_eq!((d.file.as_str(), d.key_path.as_str(), d.location.map(|l| l.0)), ("spec/resources/widgets.yaml", "methods.get.http", Some(5)));
    assert!(d.message.contains("unknown HTTP verb `FETCH`, expected one of GET, POST, PUT, PATCH, DELETE"), "{d}");
}

#[test]
fn unknown_placement_and_pagination_are_load_errors() {
    let d = only_error(spec(&format!("{RESOURCE}    args:\n      id: {{ in: header }}\n"), DOCS));
    assert_eq!(d.key_path, "methods.get.args.id.in");
    assert!(d.message.contains("unknown variant `header`"), "{d}");
    let d = only_error(spec(&format!("{RESOURCE}    pagination: offset\n"), DOCS));
    assert_eq!((d.key_path.as_str(), d.location.map(|l| l.0)), ("methods.get.pagination", Some(6)));
    let d = only_error(spec(&format!("{RESOURCE}    body_format: none\n"), DOCS));
    assert!(d.message.contains("unknown variant `none`, expected `json` or `multipart`"), "{d}");
}

#[test]
fn unknown_tag() {
    let d = only_error(spec(&RESOURCE.replace("[widgets]", "[widgets, gadgets]"), DOCS));
    assert_eq!(d.key_path, "tags[1]");
    assert!(d.message.contains("unknown tag `gadgets`"), "{d}");
    assert!(d.help.unwrap().contains("integration.yaml"));
}

#[test]
fn record_for_a_method_that_does_not_exist() {
    let docs = format!("{DOCS}frobnicate:\n  description: Nothing.\n");
    let d = only_error(spec(RESOURCE, &docs));
    assert_eq!((d.file.as_str(), d.key_path.as_str()), ("spec/docs/widgets.yaml", "frobnicate"));
    assert!(d.message.contains("method `frobnicate`, which resource `widgets` does not define"), "{d}");
}

#[test]
fn by_id_method_without_id() {
    let resource = RESOURCE.replace("{id}", "{widget}");
    let docs = DOCS.replace("id: { type", "widget: { type");
    let d = only_error(spec(&resource, &docs));
    assert!(d.message.contains("must take an `id` argument"), "{d}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let resource = RESOURCE.replace("[widgets]", "[nope]").replace("{id}", "{id}/{part}");
    let err = generate(&spec(&resource, DOCS)).unwrap_err();
    assert_eq!(err.diagnostics().len(), 2, "{err}");
    let text = err.to_string();
    assert!(text.starts_with("the spec has 2 problems:"), "{text}");
}

#[test]
fn async_tools_must_exist() {
    let resource = "resource: widgets\ntags: [widgets]\nmethods:\n  get:\n    http: GET /widgets/{id}\n    async:\n      status_tool: get_single_acme_widget_by_id\n      id_pointer: /id\n      state_pointer: /state\n      terminal: [done]\n      cancel_tool: stop_acme_widget\n";
    let d = only_error(spec(resource, DOCS));
    assert_eq!((d.file.as_str(), d.key_path.as_str()), ("spec/resources/widgets.yaml", "methods.get.async.cancel_tool"));
    assert!(d.message.contains("no documented tool is named `stop_acme_widget`"), "{d}");
    assert!(d.help.unwrap().contains("leave cancel_tool out"));
}

#[test]
fn upstream_argument_named_like_the_projection() {
    let resource = "resource: widgets\ntags: [widgets]\nmethods:\n  list:\n    http: GET /widgets\n";
    let docs = "list:\n  description: List widgets.\n  query_schema: { type: object, properties: { fields: { type: string } } }\n  response_schema: { type: object, properties: { widgets: { type: array } } }\n";
    let d = only_error(spec(resource, docs));
    assert_eq!((d.file.as_str(), d.key_path.as_str()), ("spec/docs/widgets.yaml", "list.query_schema.properties.fields"));
    assert!(d.message.contains("`fields` is reserved on tools with an output schema"), "{d}");
    let help = d.help.unwrap();
    assert!(help.contains("args: { upstream_fields: { as: fields } }") && help.contains("spec/resources/widgets.yaml `methods.list`"), "{help}");
    // The fix the help gives generates, and the tool takes both.
    let fixed =
        generate(&spec(&format!("{resource}    args:\n      upstream_fields: {{ as: fields }}\n"), &docs.replace("fields: {", "upstream_fields: {"))).unwrap();
    let tools = &fixed.files.iter().find(|f| f.path == "mcp/tools.json").unwrap().contents;
    let tools: serde_json::Value = serde_json::from_str(tools).unwrap();
    let props = &tools[0]["inputSchema"]["properties"];
    assert!(props.get("upstream_fields").is_some() && props.get("fields").is_some(), "{props}");
    // Without an output schema there is no projection, so the name is free.
    generate(&spec(resource, &docs.replace("  response_schema: { type: object, properties: { widgets: { type: array } } }\n", ""))).unwrap();
}

/// A valid spec using every behaviour; each test below breaks one thing in it.
const B_RESOURCE: &str = r#"resource: widgets
tags: [widgets]
methods:
  list:
    http: GET /widgets
    behaviours:
      flow_tools: { prefix: run_acme_widget_, items: /widgets, id: /id, name: /name, description: /about, run_tool: create_a_acme_widget }
  get:
    http: GET /widgets/{id}
    behaviours:
      inputs_schema: { id_arg: id, id: /id, inputs: /inputs, name: /name, data_type: /type, description: /about, file_type: file, file_hint: Upload it first., into: inputs_schema }
      download_link: { at: "", url: /download_url, size: /size }
  create:
    http: POST /widgets
    behaviours:
      flow_inputs: { arg: inputs, flow_arg: widget_id, wire_arg: wire, wire_name: name, wire_value: value, schema_tool: get_single_acme_widget_by_id }
      images: { at: /images/*, url: [/url, ""] }
  upload:
    http: POST /widgets/upload
    body_format: multipart
    behaviours:
      skill_package: { markdown: text, name: name, description: about, files: files, archive: zip, field: files, manifest: SKILL.md, max_bytes: 1000 }
"#;

const B_DOCS: &str = r#"list:
  description: List widgets.
get:
  description: Read one widget.
  path_schema: { type: object, properties: { id: { type: string } } }
create:
  description: Make one.
  server_schema: { type: object, properties: { inputs: { type: object } } }
  body_schema: { type: object, properties: { widget_id: { type: string }, wire: { type: array } } }
upload:
  description: Upload one.
  server_schema:
    type: object
    properties: { text: { type: string }, name: { type: string }, about: { type: string }, files: { type: array }, zip: { type: string } }
  body_schema: { type: object, properties: {} }
"#;

/// The behaviours fixture with `from` replaced by `to` in the resource file; the
/// single error it must produce, which is in the resource file.
fn behaviour_error(from: &str, to: &str) -> Diagnostic {
    assert!(B_RESOURCE.contains(from), "{from}");
    let d = only_error(spec(&B_RESOURCE.replace(from, to), B_DOCS));
    assert_eq!(d.file, "spec/resources/widgets.yaml", "{d}");
    assert!(d.help.is_some(), "{d}");
    d
}

#[test]
fn the_behaviours_fixture_generates() {
    generate(&spec(B_RESOURCE, B_DOCS)).unwrap();
}

#[test]
fn unknown_behaviour_key() {
    let d = behaviour_error("download_link: {", "download_links: {");
    assert_eq!(d.key_path, "methods.get.behaviours.download_links");
    assert!(d.message.contains("unknown field `download_links`"), "{d}");
    assert_eq!(d.location.map(|l| l.0), Some(12));
}

#[test]
fn behaviour_pointer_is_not_a_pointer() {
    let d = behaviour_error("url: /download_url", "url: download_url");
    assert_eq!(d.key_path, "methods.get.behaviours.download_link.url");
    assert!(d.message.contains("`download_url` is not a JSON pointer"), "{d}");
    assert!(d.help.unwrap().contains("start it with `/`"));
}

#[test]
fn behaviour_pointer_empty_where_a_field_is_required() {
    let d = behaviour_error("inputs: /inputs", "inputs: \"\"");
    assert_eq!(d.key_path, "methods.get.behaviours.inputs_schema.inputs");
    assert!(d.message.contains("empty pointer"), "{d}");
}

#[test]
fn behaviour_names_a_tool_that_does_not_exist() {
    let d = behaviour_error("schema_tool: get_single_acme_widget_by_id", "schema_tool: get_single_acme_gadget_by_id");
    assert_eq!(d.key_path, "methods.create.behaviours.flow_inputs.schema_tool");
    assert!(d.message.contains("no documented tool is named `get_single_acme_gadget_by_id`"), "{d}");
    assert!(d.help.unwrap().contains("behaviours.inputs_schema"));
}

#[test]
fn schema_tool_without_inputs_schema() {
    let d = behaviour_error("schema_tool: get_single_acme_widget_by_id", "schema_tool: list_all_acme_widgets");
    assert_eq!(d.key_path, "methods.create.behaviours.flow_inputs.schema_tool");
    assert!(d.message.contains("`list_all_acme_widgets` declares no `behaviours.inputs_schema`"), "{d}");
    assert!(d.help.unwrap().contains("spec/resources/widgets.yaml `methods.list`"));
}

#[test]
fn run_tool_without_flow_inputs() {
    let d = behaviour_error("run_tool: create_a_acme_widget", "run_tool: get_single_acme_widget_by_id");
    assert_eq!(d.key_path, "methods.list.behaviours.flow_tools.run_tool");
    assert!(d.message.contains("declares no `behaviours.flow_inputs`"), "{d}");
}

#[test]
fn flow_tools_only_on_lists() {
    let resource = B_RESOURCE.replace("  list:\n    http: GET /widgets\n", "  list:\n    http: GET /widgets\n    kind: custom\n");
    let d = only_error(spec(&resource, B_DOCS));
    assert_eq!(d.key_path, "methods.list.behaviours.flow_tools");
    assert!(d.message.contains("`flow_tools` on a `custom` method"), "{d}");
}

#[test]
fn flow_tools_prefix_makes_bad_names() {
    let d = behaviour_error("prefix: run_acme_widget_", "prefix: Run-Widget-");
    assert_eq!(d.key_path, "methods.list.behaviours.flow_tools.prefix");
    assert!(d.message.contains("contains 'R'"), "{d}");
}

#[test]
fn flow_inputs_arg_not_a_server_argument() {
    let d = behaviour_error("arg: inputs,", "arg: values,");
    assert_eq!(d.key_path, "methods.create.behaviours.flow_inputs.arg");
    assert!(d.message.contains("`values` is not declared in the record's server_schema"), "{d}");
    assert!(d.help.unwrap().contains("spec/docs/widgets.yaml `create.server_schema.properties`"));
}

#[test]
fn skill_package_argument_not_a_server_argument() {
    let d = behaviour_error("archive: zip", "archive: archive_base64");
    assert_eq!(d.key_path, "methods.upload.behaviours.skill_package.archive");
    assert!(d.message.contains("`archive_base64` is not declared in the record's server_schema"), "{d}");
}

#[test]
fn flow_arg_not_an_upstream_argument() {
    let d = behaviour_error("flow_arg: widget_id", "flow_arg: flow_id");
    assert_eq!(d.key_path, "methods.create.behaviours.flow_inputs.flow_arg");
    assert!(d.message.contains("`flow_id` is not an upstream argument"), "{d}");
}

#[test]
fn wire_arg_not_in_the_body() {
    let d = behaviour_error("wire_arg: wire", "wire_arg: inputs");
    assert_eq!(d.key_path, "methods.create.behaviours.flow_inputs.wire_arg");
    assert!(d.message.contains("`inputs` is not a body argument"), "{d}");
    assert!(d.help.unwrap().contains("create.body_schema"));
}

#[test]
fn inputs_schema_id_arg_not_an_argument() {
    let d = behaviour_error("id_arg: id", "id_arg: flow");
    assert_eq!(d.key_path, "methods.get.behaviours.inputs_schema.id_arg");
    assert!(d.message.contains("`flow` is not an argument of the method"), "{d}");
}

#[test]
fn download_link_needs_a_json_response() {
    let resource = format!("{RESOURCE}    response: binary\n    behaviours:\n      download_link: {{ at: \"\", url: /download_url }}\n");
    let d = only_error(spec(&resource, DOCS));
    assert_eq!(d.key_path, "methods.get.behaviours.download_link");
    assert!(d.message.contains("`download_link` reads the JSON result, but the method has `response: binary`"), "{d}");
}

#[test]
fn skill_package_needs_multipart() {
    let d = behaviour_error("    body_format: multipart\n", "");
    assert_eq!(d.key_path, "methods.upload.behaviours.skill_package");
    assert!(d.message.contains("no `body_format: multipart`"), "{d}");
}

#[test]
fn images_without_url_pointers() {
    let d = behaviour_error("url: [/url, \"\"]", "url: []");
    assert_eq!(d.key_path, "methods.create.behaviours.images.url");
    assert!(d.message.contains("no pointer to an image's URL"), "{d}");
}

#[test]
fn skill_package_manifest_not_a_root_file() {
    let d = behaviour_error("manifest: SKILL.md", "manifest: docs/SKILL.md");
    assert_eq!(d.key_path, "methods.upload.behaviours.skill_package.manifest");
    assert!(d.message.contains("`docs/SKILL.md` is not a file name at the skill's root"), "{d}");
}

#[test]
fn skill_package_max_bytes_zero() {
    let d = behaviour_error("max_bytes: 1000", "max_bytes: 0");
    assert_eq!(d.key_path, "methods.upload.behaviours.skill_package.max_bytes");
}
