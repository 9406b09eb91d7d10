//! The hand-written runtime that generated tool modules call.
//!
//! Generated code (in `gumloop-mcp-generated`) describes each tool with a static
//! [`ToolDescriptor`] and turns validated arguments into an [`UpstreamRequest`]: a plain
//! description of the HTTP call. Sending it is the server's job; this crate does no IO.
#![deny(missing_docs)]

mod arg;
pub mod behaviour;
mod descriptor;
mod encode;
pub mod pointer;
mod request;
pub mod rules;

pub use arg::ArgValue;
pub use behaviour::Behaviours;
pub use descriptor::{Annotations, AsyncSpec, Base, HttpMethod, Integration, MethodKind, Pagination, ResponseFormat, ToolDescriptor};
pub use encode::{encode_segment, insert_body, path_segment, push_query, push_text_parts};
pub use request::{ArgsError, Body, Context, FileArg, Part, PartValue, UpstreamRequest, fill_context, from_args, to_json};
