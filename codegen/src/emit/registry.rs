//! The registry (`resources/mod.rs`) and the per-resource modules.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{Model, ResourceIr};

/// `resources/mod.rs`: resource modules, `ALL_TOOLS` sorted by name, `INTEGRATION`, `find`.
pub fn emit_registry(model: &Model, declare_modules: bool) -> TokenStream {
    let modules = model.resources.iter().map(|r| format_ident!("{}", r.module));
    let decls = declare_modules.then(|| quote! { #(pub mod #modules;)* });
    let mut tools: Vec<(&str, &str)> = model.resources.iter().flat_map(|r| r.tools.iter().map(move |t| (t.name.as_str(), r.module.as_str()))).collect();
    tools.sort();
    let entries = tools.iter().map(|(tool, module)| {
        let (m, t) = (format_ident!("{}", module), format_ident!("{}", tool));
        quote! { &self::#m::#t::DESCRIPTOR }
    });
    let i = &model.integration;
    let (name, title, api, ws, bearer) = (&i.name, &i.title, &i.api_base_url, &i.ws_base_url, i.bearer);
    let opt = |v: &Option<String>| match v {
        Some(s) => quote! { ::core::option::Option::Some(#s) },
        None => quote! { ::core::option::Option::None },
    };
    let (user_header, team_query) = (opt(&i.user_header), opt(&i.team_query));
    let instructions = &i.instructions;
    let count = tools.len();
    let doc = super::tool::doc_attrs(&format!("Every tool's descriptor ({count} tools), sorted by name."), false);
    quote! {
        #decls

        #doc
        pub static ALL_TOOLS: &[&::gumloop_mcp_runtime::ToolDescriptor] = &[#(#entries),*];

        /// Base URLs and the auth scheme, from the integration file.
        pub static INTEGRATION: ::gumloop_mcp_runtime::Integration = ::gumloop_mcp_runtime::Integration {
            name: #name,
            title: #title,
            api_base_url: #api,
            ws_base_url: #ws,
            bearer: #bearer,
            user_header: #user_header,
            team_query: #team_query,
            instructions: #instructions,
        };

        /// Looks a tool up by name.
        pub fn find(name: &str) -> ::core::option::Option<&'static ::gumloop_mcp_runtime::ToolDescriptor> {
            ALL_TOOLS.binary_search_by(|t| t.name.cmp(name)).ok().map(|i| ALL_TOOLS[i])
        }
    }
}

/// `resources/<resource>/mod.rs`: the resource's doc and its tool modules.
pub fn emit_resource_mod(res: &ResourceIr, declare_modules: bool) -> TokenStream {
    let names: Vec<&str> = res.tools.iter().map(|t| t.name.as_str()).collect();
    let doc = format!("The `{}` resource: {}.", res.name, names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "));
    let doc = super::tool::doc_attrs(&doc, true);
    let modules = res.tools.iter().map(|t| format_ident!("{}", t.name));
    let decls = declare_modules.then(|| quote! { #(pub mod #modules;)* });
    quote! {
        #doc
        #decls
    }
}
