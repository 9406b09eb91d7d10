//! Sign-in delegated to the company's OpenID provider (interface; being written).

/// The upstream OpenID provider.
#[derive(Debug, Clone)]
pub struct Upstream;
