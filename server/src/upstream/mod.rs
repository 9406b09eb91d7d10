//! Gumloop as seen from here: the pooled HTTP client, the credential it calls with, and
//! rate-limit information from its answers.

mod client;
pub mod credential;
pub mod ratelimit;

pub use client::*;
