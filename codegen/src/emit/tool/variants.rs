//! The runtime's enum variants as tokens.

use proc_macro2::TokenStream;
use quote::quote;

use super::rt;
use crate::model::{Base, Kind, Pagination, ResponseFormat, Verb};

/// The runtime's `MethodKind` variant.
pub(super) fn kind_tokens(k: Kind) -> TokenStream {
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
pub(super) fn verb_tokens(v: Verb) -> TokenStream {
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
pub(super) fn base_tokens(b: Base) -> TokenStream {
    let rt = rt();
    match b {
        Base::Api => quote! { #rt::Base::Api },
        Base::Ws => quote! { #rt::Base::Ws },
    }
}

/// The runtime's `Pagination` variant.
pub(super) fn pagination_tokens(p: Pagination) -> TokenStream {
    let rt = rt();
    match p {
        Pagination::None => quote! { #rt::Pagination::None },
        Pagination::Cursor => quote! { #rt::Pagination::Cursor },
        Pagination::Page => quote! { #rt::Pagination::Page },
    }
}

/// The runtime's `ResponseFormat` variant.
pub(super) fn response_tokens(r: ResponseFormat) -> TokenStream {
    let rt = rt();
    match r {
        ResponseFormat::Json => quote! { #rt::ResponseFormat::Json },
        ResponseFormat::Binary => quote! { #rt::ResponseFormat::Binary },
    }
}
