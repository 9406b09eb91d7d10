//! The MCP core: the rmcp `ServerHandler`, the call pipeline, the catalogue of tools and
//! argument validation. It knows tools only through their descriptors (what the spec
//! declares), and managed servers only through [`Scope`].

pub mod ask;
pub mod catalog;
pub mod discovery;
pub mod handler;
pub mod pipeline;
mod resources;
pub mod scope;
pub mod tasks;
pub mod validate;

pub use handler::GumloopServer;
pub use scope::{Access, CallOutcome, Resolved, Scope, ScopedTools};
