//! The static `DESCRIPTOR` of a tool, with its behaviours.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::rt;
use super::variants::{base_tokens, kind_tokens, pagination_tokens, response_tokens, verb_tokens};
use crate::model::{BehavioursRule, ToolIr};

fn opt_str(v: &Option<String>) -> TokenStream {
    match v {
        Some(s) => quote! { ::core::option::Option::Some(#s) },
        None => quote! { ::core::option::Option::None },
    }
}

/// `Behaviours::NONE`, or the declared behaviours as a struct literal.
fn emit_behaviours(b: &BehavioursRule) -> TokenStream {
    let rt = rt();
    if b.is_empty() {
        return quote! { #rt::Behaviours::NONE };
    }
    // Only the declared behaviours are written out; the rest come from `NONE`.
    let mut fields: Vec<TokenStream> = Vec::new();
    let mut some_or_none = |field: &str, v: Option<TokenStream>| {
        if let Some(v) = v {
            let field = format_ident!("{field}");
            fields.push(quote! { #field: ::core::option::Option::Some(#v) });
        }
    };
    some_or_none(
        "flow_inputs",
        b.flow_inputs.as_ref().map(|f| {
            let (arg, flow_arg, wire_arg, wire_name, wire_value, schema_tool) = (&f.arg, &f.flow_arg, &f.wire_arg, &f.wire_name, &f.wire_value, &f.schema_tool);
            quote! {
                #rt::behaviour::FlowInputs {
                    arg: #arg,
                    flow_arg: #flow_arg,
                    wire_arg: #wire_arg,
                    wire_name: #wire_name,
                    wire_value: #wire_value,
                    schema_tool: #schema_tool,
                }
            }
        }),
    );
    some_or_none(
        "inputs_schema",
        b.inputs_schema.as_ref().map(|s| {
            let (id_arg, id, inputs, name, data_type) = (&s.id_arg, &s.id, &s.inputs, &s.name, &s.data_type);
            let (description, file_type, file_hint, into) = (&s.description, &s.file_type, &s.file_hint, &s.into);
            quote! {
                #rt::behaviour::InputsSchema {
                    id_arg: #id_arg,
                    id: #id,
                    inputs: #inputs,
                    name: #name,
                    data_type: #data_type,
                    description: #description,
                    file_type: #file_type,
                    file_hint: #file_hint,
                    into: #into,
                }
            }
        }),
    );
    some_or_none(
        "download_link",
        b.download_link.as_ref().map(|d| {
            let (at, url) = (&d.at, &d.url);
            let (filename, media_type, size) = (opt_str(&d.filename), opt_str(&d.media_type), opt_str(&d.size));
            quote! {
                #rt::behaviour::DownloadLink {
                    at: #at,
                    url: #url,
                    filename: #filename,
                    media_type: #media_type,
                    size: #size,
                }
            }
        }),
    );
    some_or_none(
        "images",
        b.images.as_ref().map(|i| {
            let (at, url) = (&i.at, &i.url);
            quote! { #rt::behaviour::Images { at: #at, url: &[#(#url),*] } }
        }),
    );
    some_or_none(
        "skill_package",
        b.skill_package.as_ref().map(|s| {
            let (markdown, name, description, files, archive) = (&s.markdown, &s.name, &s.description, &s.files, &s.archive);
            let (field, manifest) = (&s.field, &s.manifest);
            let max_bytes = proc_macro2::Literal::u64_unsuffixed(s.max_bytes);
            quote! {
                #rt::behaviour::SkillPackage {
                    markdown: #markdown,
                    name: #name,
                    description: #description,
                    files: #files,
                    archive: #archive,
                    field: #field,
                    manifest: #manifest,
                    max_bytes: #max_bytes,
                }
            }
        }),
    );
    some_or_none(
        "flow_tools",
        b.flow_tools.as_ref().map(|f| {
            let (prefix, items, id, name, description, run_tool) = (&f.prefix, &f.items, &f.id, &f.name, &f.description, &f.run_tool);
            let created = opt_str(&f.created);
            quote! {
                #rt::behaviour::FlowTools {
                    prefix: #prefix,
                    items: #items,
                    id: #id,
                    name: #name,
                    description: #description,
                    created: #created,
                    run_tool: #run_tool,
                }
            }
        }),
    );
    let rest = (fields.len() < 6).then(|| quote! { ..#rt::Behaviours::NONE });
    quote! {
        #rt::Behaviours {
            #(#fields,)*
            #rest
        }
    }
}

pub(super) fn emit_descriptor(t: &ToolIr) -> TokenStream {
    let rt = rt();
    let (name, title, resource, method, description, template) = (&t.name, &t.title, &t.resource, &t.method, &t.description, &t.path_template);
    let kind = kind_tokens(t.kind);
    let tags = &t.tags;
    let input = serde_json::to_string(&t.input_schema).expect("schema serialises");
    let output = match &t.output_schema {
        Some(s) => {
            let s = serde_json::to_string(s).expect("schema serialises");
            quote! { ::core::option::Option::Some(#s) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let a = t.annotations;
    let (ro, de, id, ow) = (a.read_only, a.destructive, a.idempotent, a.open_world);
    let (http, base) = (verb_tokens(t.http_method), base_tokens(t.base));
    let (pagination, response) = (pagination_tokens(t.pagination), response_tokens(t.response));
    let async_spec = match &t.async_spec {
        Some(s) => {
            let (tool, idp, sp, terminal) = (&s.status_tool, &s.id_pointer, &s.state_pointer, &s.terminal);
            let opt = |v: &Option<String>| match v {
                Some(c) => quote! { ::core::option::Option::Some(#c) },
                None => quote! { ::core::option::Option::None },
            };
            let (cancel, queue) = (opt(&s.cancel_tool), opt(&s.queue_pointer));
            quote! {
                ::core::option::Option::Some(#rt::AsyncSpec {
                    status_tool: #tool,
                    id_pointer: #idp,
                    state_pointer: #sp,
                    terminal: &[#(#terminal),*],
                    cancel_tool: #cancel,
                    queue_pointer: #queue,
                })
            }
        }
        None => quote! { ::core::option::Option::None },
    };
    let server_args = &t.server_args;
    let behaviours = emit_behaviours(&t.behaviours);
    quote! {
        /// The tool's descriptor: what `tools/list` shows and how `tools/call` builds the request.
        pub static DESCRIPTOR: #rt::ToolDescriptor = #rt::ToolDescriptor {
            name: #name,
            title: #title,
            resource: #resource,
            method: #method,
            kind: #kind,
            tags: &[#(#tags),*],
            description: #description,
            input_schema: #input,
            output_schema: #output,
            annotations: #rt::Annotations {
                read_only: #ro,
                destructive: #de,
                idempotent: #id,
                open_world: #ow,
            },
            http_method: #http,
            base: #base,
            path_template: #template,
            pagination: #pagination,
            response: #response,
            async_spec: #async_spec,
            behaviours: #behaviours,
            server_args: &[#(#server_args),*],
            build,
        };
    }
}
