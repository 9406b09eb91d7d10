//! Managed servers: scoped MCP URLs for connected Gumloop accounts. The store, the
//! secrets that protect it, filters, admission of `/mcp/{token}` requests, the audit
//! trail and its sweeper, the admin API, the management CLI and per-flow tools.

pub mod admin;
mod admission;
pub mod changes;
pub mod cli;
pub mod filter;
pub mod flow_tools;
pub mod password;
pub mod secrets;
pub mod store;
mod tasks;

pub use admission::*;
