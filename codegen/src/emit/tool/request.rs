//! The `into_request` builder of a tool: path, query, body and context values.

use proc_macro2::TokenStream;
use quote::quote;

use super::variants::{base_tokens, verb_tokens};
use super::{doc_attrs, ident, optional, rt};
use crate::model::{ArgIr, ArgType, BodyFormat, Location, PathPiece, ToolIr};

pub(super) fn emit_into_request(t: &ToolIr) -> TokenStream {
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
