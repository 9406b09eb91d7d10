//! One tool module: its `Args` type, the request builder and the static descriptor.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::model::{ArgIr, ArgType, Base, BehavioursRule, BodyFormat, Kind, Location, Pagination, PathPiece, ResponseFormat, ToolIr, Verb};

const RT: &str = "::gumloop_mcp_runtime";

/// One `#[doc]` per line with a leading space, so prettyplease prints tidy `///` comments.
pub fn doc_attrs(text: &str, inner: bool) -> TokenStream {
    let lines = text.lines().map(|l| if l.is_empty() { String::new() } else { format!(" {l}") });
    if inner {
        quote! { #(#![doc = #lines])* }
    } else {
        quote! { #(#[doc = #lines])* }
    }
}

fn rt() -> TokenStream {
    RT.parse().expect("path tokens")
}

fn ident(s: &str) -> Ident {
    match s.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(s, Span::call_site()),
    }
}

/// The whole module body of one tool.
pub fn emit_tool(t: &ToolIr) -> TokenStream {
    let host = match t.base {
        Base::Api => "REST",
        Base::Ws => "streaming",
    };
    let doc = format!("`{}`: sends `{} {}` to the {host} host.", t.name, t.http_method.as_str(), t.path_template);
    let args = emit_args(t);
    let into_request = emit_into_request(t);
    let descriptor = emit_descriptor(t);
    let rt = rt();
    let doc = doc_attrs(&doc, true);
    quote! {
        #doc

        #args
        #into_request

        /// Deserialises JSON arguments (already checked against the input schema) and builds the request.
        pub fn build(args: ::serde_json::Value, ctx: &#rt::Context) -> ::core::result::Result<#rt::UpstreamRequest, #rt::ArgsError> {
            #rt::from_args::<Args>(args)?.into_request(ctx)
        }

        #descriptor
    }
}

fn rust_type(ty: &ArgType) -> TokenStream {
    let rt = rt();
    match ty {
        ArgType::String => quote! { ::std::string::String },
        ArgType::Integer => quote! { i64 },
        ArgType::Number => quote! { f64 },
        ArgType::Boolean => quote! { bool },
        ArgType::Array(inner) => {
            let inner = rust_type(inner);
            quote! { ::std::vec::Vec<#inner> }
        }
        ArgType::File => quote! { #rt::FileArg },
        ArgType::Json => quote! { ::serde_json::Value },
    }
}

/// Whether the field is an `Option`: everything the input schema does not require.
fn optional(a: &ArgIr) -> bool {
    !a.required
}

fn emit_args(t: &ToolIr) -> TokenStream {
    let fields = t.args.iter().map(|a| {
        let name = ident(&a.ident);
        let ty = rust_type(&a.ty);
        let ty = if optional(a) {
            quote! { ::core::option::Option<#ty> }
        } else {
            ty
        };
        let mut doc = a.description.clone().unwrap_or_else(|| format!("`{}`", a.name));
        let place = match a.location {
            Location::Path => "path segment",
            Location::Query => "query parameter",
            Location::Body if t.body_format == BodyFormat::Multipart => "multipart part",
            Location::Body => "body field",
            Location::Both => "query parameter and body field",
        };
        doc.push_str(&format!("\n\nSent as {place} `{}`.", a.upstream));
        let doc = doc_attrs(&doc, false);
        let rename = a.rename.as_ref().map(|r| quote! { #[serde(rename = #r)] });
        let default = optional(a).then(|| quote! { #[serde(default)] });
        quote! {
            #doc
            #rename
            #default
            pub #name: #ty,
        }
    });
    let doc = doc_attrs(&format!("The arguments of `{}`.", t.name), false);
    let float = t.args.iter().any(|a| contains_number(&a.ty));
    let eq = (!float).then(|| quote! { , Eq });
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq #eq, ::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Args {
            #(#fields)*
        }
    }
}

fn contains_number(ty: &ArgType) -> bool {
    match ty {
        ArgType::Number | ArgType::Json => true,
        ArgType::Array(inner) => contains_number(inner),
        _ => false,
    }
}

fn emit_into_request(t: &ToolIr) -> TokenStream {
    let rt = rt();
    let context = t.args.iter().filter(|a| a.context.is_some()).map(|a| {
        let name = ident(&a.ident);
        let key = a.context.as_deref().unwrap();
        let required = a.context_required;
        quote! { self.#name = #rt::fill_context(self.#name.take(), ctx, #key, #required)?; }
    });
    let uses_ctx = t.args.iter().any(|a| a.context.is_some());
    let ctx_name = if uses_ctx {
        quote! { ctx }
    } else {
        quote! { _ctx }
    };
    let self_mut = if uses_ctx {
        quote! { mut self }
    } else {
        quote! { self }
    };

    let path_pushes = t.path.iter().map(|p| match p {
        PathPiece::Literal(s) => quote! { path.push_str(#s); },
        PathPiece::Param(i) => {
            let a = &t.args[*i];
            let name = ident(&a.ident);
            // `path_segment` refuses `.`, `..` and empty values, which no encoding keeps in place.
            let pointer = format!("/{}", a.name);
            match a.ty {
                ArgType::String => quote! { path.push_str(&#rt::path_segment(&self.#name, #pointer)?); },
                _ => quote! { path.push_str(&#rt::path_segment(&self.#name.to_string(), #pointer)?); },
            }
        }
    });

    let query_args: Vec<&ArgIr> = t.args.iter().filter(|a| matches!(a.location, Location::Query | Location::Both)).collect();
    let query = if query_args.is_empty() {
        quote! { let query = ::std::vec::Vec::new(); }
    } else {
        let pushes = query_args.iter().map(|a| {
            let name = ident(&a.ident);
            let up = &a.upstream;
            quote! { #rt::ArgValue::push_query(&self.#name, #up, &mut query); }
        });
        quote! {
            let mut query = ::std::vec::Vec::new();
            #(#pushes)*
        }
    };

    let body_args: Vec<&ArgIr> = t.args.iter().filter(|a| matches!(a.location, Location::Body | Location::Both)).collect();
    let body = match t.body_format {
        // Parts the server adds itself (a skill's files) can leave a multipart body with
        // none declared; no `mut` then, so the output stays warning-free.
        BodyFormat::Multipart if body_args.is_empty() => quote! { let body = #rt::Body::Multipart(::std::vec::Vec::new()); },
        BodyFormat::Multipart => {
            let pushes = body_args.iter().map(|a| emit_part(a));
            quote! {
                let mut parts = ::std::vec::Vec::new();
                #(#pushes)*
                let body = #rt::Body::Multipart(parts);
            }
        }
        BodyFormat::Json => {
            let inserts = body_args.iter().map(|a| {
                let name = ident(&a.ident);
                let up = &a.upstream;
                quote! { #rt::insert_body(&mut body, #up, #rt::ArgValue::into_value(self.#name)); }
            });
            quote! {
                let mut body = ::serde_json::Map::new();
                #(#inserts)*
                let body = #rt::Body::Json(::serde_json::Value::Object(body));
            }
        }
        BodyFormat::None => quote! { let body = #rt::Body::Empty; },
    };

    let (method, base) = (verb_tokens(t.http_method), base_tokens(t.base));
    let doc = doc_attrs(&format!("Builds the upstream `{} {}` request.", t.http_method.as_str(), t.path_template), false);
    quote! {
        impl Args {
            #doc
            pub fn into_request(#self_mut, #ctx_name: &#rt::Context) -> ::core::result::Result<#rt::UpstreamRequest, #rt::ArgsError> {
                #(#context)*
                let mut path = ::std::string::String::new();
                #(#path_pushes)*
                #query
                #body
                ::core::result::Result::Ok(#rt::UpstreamRequest {
                    method: #method,
                    base: #base,
                    path,
                    query,
                    body,
                })
            }
        }
    }
}

fn emit_part(a: &ArgIr) -> TokenStream {
    let rt = rt();
    let name = ident(&a.ident);
    let up = &a.upstream;
    let pointer = format!("/{}", a.name);
    match (&a.ty, optional(a)) {
        (ArgType::File, false) => quote! { parts.push(self.#name.to_part(#up, #pointer)?); },
        (ArgType::File, true) => quote! {
            if let ::core::option::Option::Some(file) = &self.#name {
                parts.push(file.to_part(#up, #pointer)?);
            }
        },
        (ArgType::Array(inner), opt) if **inner == ArgType::File => {
            let iter = if opt {
                quote! { self.#name.iter().flatten() }
            } else {
                quote! { self.#name.iter() }
            };
            let fmt = format!("{pointer}/{{}}");
            quote! {
                for (i, file) in #iter.enumerate() {
                    parts.push(file.to_part(#up, &::std::format!(#fmt, i))?);
                }
            }
        }
        _ => quote! { #rt::push_text_parts(&mut parts, #up, &#rt::ArgValue::into_value(self.#name)); },
    }
}

/// The runtime's `MethodKind` variant.
fn kind_tokens(k: Kind) -> TokenStream {
    let rt = rt();
    match k {
        Kind::List => quote! { #rt::MethodKind::List },
        Kind::Get => quote! { #rt::MethodKind::Get },
        Kind::Create => quote! { #rt::MethodKind::Create },
        Kind::Update => quote! { #rt::MethodKind::Update },
        Kind::Delete => quote! { #rt::MethodKind::Delete },
        Kind::Custom => quote! { #rt::MethodKind::Custom },
    }
}

/// The runtime's `HttpMethod` variant.
fn verb_tokens(v: Verb) -> TokenStream {
    let rt = rt();
    match v {
        Verb::Get => quote! { #rt::HttpMethod::Get },
        Verb::Post => quote! { #rt::HttpMethod::Post },
        Verb::Put => quote! { #rt::HttpMethod::Put },
        Verb::Patch => quote! { #rt::HttpMethod::Patch },
        Verb::Delete => quote! { #rt::HttpMethod::Delete },
    }
}

/// The runtime's `Base` variant.
fn base_tokens(b: Base) -> TokenStream {
    let rt = rt();
    match b {
        Base::Api => quote! { #rt::Base::Api },
        Base::Ws => quote! { #rt::Base::Ws },
    }
}

/// The runtime's `Pagination` variant.
fn pagination_tokens(p: Pagination) -> TokenStream {
    let rt = rt();
    match p {
        Pagination::None => quote! { #rt::Pagination::None },
        Pagination::Cursor => quote! { #rt::Pagination::Cursor },
        Pagination::Page => quote! { #rt::Pagination::Page },
    }
}

/// The runtime's `ResponseFormat` variant.
fn response_tokens(r: ResponseFormat) -> TokenStream {
    let rt = rt();
    match r {
        ResponseFormat::Json => quote! { #rt::ResponseFormat::Json },
        ResponseFormat::Binary => quote! { #rt::ResponseFormat::Binary },
    }
}

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

fn emit_descriptor(t: &ToolIr) -> TokenStream {
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
