//! Typed Gumloop tools, generated from `spec/` by `cargo xtask codegen`.
//!
//! Everything under `src/resources/` and `mcp/` is written by the generator; do not edit
//! it by hand. Edit `spec/` and run `cargo xtask codegen` instead.
//!
//! - [`resources::ALL_TOOLS`]: every tool's descriptor, sorted by name.
//! - [`resources::INTEGRATION`]: base URLs and the auth scheme.
//! - `resources::<resource>::<tool>::Args`: the typed arguments of one tool.
//! - `mcp/tools.json`: the `tools` array an unfiltered server returns from `tools/list`.

pub use gumloop_mcp_runtime as runtime;

#[rustfmt::skip]
pub mod resources;

/// The `tools/list` JSON of an unfiltered server, as committed in `mcp/tools.json`.
pub const TOOLS_JSON: &str = include_str!("../mcp/tools.json");
