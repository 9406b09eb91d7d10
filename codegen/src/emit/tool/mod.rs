//! One tool module: its `Args` type (here), the request builder (`request`) and the
//! static descriptor (`descriptor`).

mod descriptor;
mod request;
mod variants;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use self::descriptor::emit_descriptor;
use self::request::emit_into_request;
use crate::model::{ArgIr, ArgType, Base, BodyFormat, Location, ToolIr};

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
