//! gumloop-mcp: serves every generated Gumloop tool over MCP (streamable HTTP and stdio)
//! and calls Gumloop with reqwest.
//!
//! `main.rs` only parses flags; everything else is here so tests can run the server
//! in-process against `gumloop-testkit`'s fake Gumloop.

pub mod catalog;
pub mod credential;
pub mod handler;
pub mod http;
pub mod ratelimit;
pub mod upstream;
pub mod validate;

pub use catalog::Catalog;
pub use credential::{Credential, Secret};
pub use handler::GumloopServer;
pub use upstream::{Upstream, UpstreamConfig};
