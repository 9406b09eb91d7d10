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
    assert_eq!(d.key_path, "methods.get.kind");
    assert!(d.message.contains("unknown method kind `fetch`"), "{d}");
    assert!(d.help.unwrap().contains("list, get, create, update, delete, custom"));
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
    let resource = RESOURCE.replace("[widgets]", "[nope]").replace("GET /widgets", "FETCH /widgets");
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
