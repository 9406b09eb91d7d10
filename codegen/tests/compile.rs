//! Compiles the snapshots of `tests/output/` and exercises the code they contain: a
//! snapshot that does not build, or builds the wrong request, fails here.
#![deny(warnings)]

// The snapshots are prettyplease's output, compared byte for byte: rustfmt keeps off them.
#[rustfmt::skip]
#[path = "output/basic.rs"]
mod basic;
#[rustfmt::skip]
#[path = "output/behaviours.rs"]
mod behaviours;
#[rustfmt::skip]
#[path = "output/multipart.rs"]
mod multipart;

use gumloop_mcp_runtime::behaviour::{DownloadLink, FlowInputs, FlowTools, Images, InputsSchema, SkillPackage};
use gumloop_mcp_runtime::{ArgsError, Base, Behaviours, Body, Context, HttpMethod, Part, PartValue, UpstreamRequest};
use serde_json::json;

fn ctx() -> Context {
    Context { user_id: Some("u_ctx".into()), team_id: None, project_id: None }
}

fn call(name: &str, args: serde_json::Value) -> Result<UpstreamRequest, ArgsError> {
    let d = basic::resources::find(name).or_else(|| multipart::resources::find(name)).expect("tool exists");
    (d.build)(args, &ctx())
}

#[test]
fn registry_is_sorted_and_complete() {
    let names: Vec<&str> = basic::resources::ALL_TOOLS.iter().map(|t| t.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 6);
    assert_eq!(basic::resources::INTEGRATION.ws_base_url, "https://ws.acme.test/v1");
    assert_eq!(multipart::resources::ALL_TOOLS.len(), 2);
    assert_eq!(multipart::resources::INTEGRATION.name, "acme");
}

#[test]
fn path_parameters_are_single_segments() {
    let r = call("list_all_acme_widgets", json!({"team": "../../admin", "type": "round", "tags": ["a", "b"]})).unwrap();
    assert_eq!(r.path, "/teams/%2E%2E%2F%2E%2E%2Fadmin/widgets");
    assert_eq!(r.method, HttpMethod::Get);
    assert_eq!(r.query, vec![("user_id".into(), "u_ctx".into()), ("type".into(), "round".into()), ("tags".into(), "a".into()), ("tags".into(), "b".into()),]);
    assert_eq!(r.body, Body::Empty);
}

#[test]
fn caller_value_beats_context_and_both_placement_duplicates() {
    let r = call("create_a_acme_widget", json!({"name": "w", "user_id": "u_me", "team_id": "t1", "size": 1.5, "query": "q", "path": "p"})).unwrap();
    assert_eq!(r.query, vec![("team_id".into(), "t1".into())]);
    assert_eq!(r.path, "/widgets");
    assert_eq!(r.body, Body::Json(json!({"team_id": "t1", "name": "w", "user_id": "u_me", "size": 1.5, "query": "q", "path": "p"})));
}

#[test]
fn required_context_without_credential_names_the_argument() {
    let d = basic::resources::find("create_a_acme_widget").unwrap();
    let err = (d.build)(json!({"name": "w"}), &Context::default()).unwrap_err();
    assert_eq!(err.pointer, "/user_id");
}

#[test]
fn renamed_id_goes_to_the_body_under_its_upstream_name() {
    let r = call("delete_a_acme_widget_by_id", json!({"id": "w/1"})).unwrap();
    assert_eq!(r.path, "/destroy_widget");
    assert_eq!(r.body, Body::Json(json!({"widget_id": "w/1"})));
}

#[test]
fn ws_base_and_integer_path_parameter() {
    let r = call("spin_acme_widget_fast", json!({"id": 42})).unwrap();
    assert_eq!((r.base, r.path.as_str()), (Base::Ws, "/widgets/42/spin"));
    let d = basic::resources::find("spin_acme_widget_fast").unwrap();
    assert_eq!(d.async_spec.unwrap().terminal, &["done", "failed"]);
}

#[test]
fn unknown_and_mistyped_arguments_are_named() {
    let err = call("get_single_acme_widget_by_id", json!({"id": "1", "idd": 2})).unwrap_err();
    assert!(err.message.contains("unknown field `idd`"), "{err}");
    let err = call("create_a_acme_widget", json!({"name": "w", "count": "three"})).unwrap_err();
    assert_eq!(err.pointer, "/count");
}

#[test]
fn multipart_files_and_text_parts() {
    let r = call(
        "create_a_acme_attachment",
        json!({"files": [{"filename": "SKILL.md", "content": "---\nname: x\n---"}, {"filename": "b.zip", "content_base64": "UEs="}],
               "label": "l", "flags": ["x", "y"]}),
    )
    .unwrap();
    let Body::Multipart(parts) = r.body else { panic!("not multipart") };
    assert_eq!(parts.len(), 5);
    assert_eq!(parts[0].name, "files");
    assert!(
        matches!(&parts[1].value, PartValue::File { filename, bytes, media_type } if filename == "b.zip" && bytes == b"PK" && media_type.as_deref() == Some("application/zip"))
    );
    assert_eq!(parts[2], Part { name: "label".into(), value: PartValue::Text("l".into()) });
    assert_eq!(parts[4], Part { name: "flags".into(), value: PartValue::Text("y".into()) });
    let err = call("create_a_acme_attachment", json!({"files": [{"filename": "a"}, {"filename": "b", "content_base64": "%%"}]})).unwrap_err();
    assert_eq!(err.pointer, "/files/0");
}

#[test]
fn behaviours_are_descriptor_data() {
    let b = |name: &str| behaviours::resources::find(name).expect("tool exists").behaviours;
    assert_eq!((behaviours::resources::ALL_TOOLS.len(), behaviours::resources::INTEGRATION.name), (7, "acme"));
    assert_eq!(
        b("list_all_acme_exports"),
        Behaviours {
            download_link: Some(DownloadLink { at: "/items/*", url: "/url", filename: Some("/name"), media_type: None, size: None }),
            ..Behaviours::NONE
        }
    );
    assert_eq!(b("get_single_acme_export_by_id").download_link.unwrap().at, "");
    assert_eq!(
        b("create_a_acme_flow_run").flow_inputs,
        Some(FlowInputs {
            arg: "inputs",
            flow_arg: "flow_id",
            wire_arg: "wire_inputs",
            wire_name: "name",
            wire_value: "value",
            schema_tool: "get_single_acme_flow_by_id"
        })
    );
    assert_eq!(
        b("get_single_acme_flow_by_id").inputs_schema,
        Some(InputsSchema {
            id_arg: "id",
            id: "/id",
            inputs: "/inputs",
            name: "/name",
            data_type: "/type",
            description: "/about",
            file_type: "file",
            file_hint: "Upload the file first and pass its name.",
            into: "inputs_schema"
        })
    );
    assert_eq!(
        b("list_all_acme_flows").flow_tools,
        Some(FlowTools {
            prefix: "run_acme_flow_",
            items: "/flows",
            id: "/id",
            name: "/name",
            description: "/description",
            created: None,
            run_tool: "create_a_acme_flow_run"
        })
    );
    assert_eq!(b("create_a_acme_chat").images, Some(Images { at: "/choices/*/message/images/*", url: &["/image_url/url", "/url", ""] }));
    assert_eq!(
        b("create_a_acme_skill").skill_package,
        Some(SkillPackage {
            markdown: "skill_markdown",
            name: "name",
            description: "description",
            files: "files",
            archive: "archive_base64",
            field: "files",
            manifest: "SKILL.md",
            max_bytes: 10_485_760
        })
    );
    assert_eq!(basic::resources::find("get_single_acme_widget_by_id").unwrap().behaviours, Behaviours::NONE);
    // A skill upload's server arguments never reach the builder; the body starts empty.
    let d = behaviours::resources::find("create_a_acme_skill").unwrap();
    assert_eq!(d.server_args, ["skill_markdown", "name", "description", "files", "archive_base64", "fields"]);
    assert_eq!((d.build)(json!({}), &ctx()).unwrap().body, Body::Multipart(Vec::new()));
}
