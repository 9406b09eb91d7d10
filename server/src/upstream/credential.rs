//! The Gumloop credential, with the key kept out of every log line and error message.

use std::fmt;

use gumloop_mcp_runtime::Context;

/// A secret whose `Debug` and `Display` never show its value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One Gumloop account: the API key and the ids the server fills into calls.
#[derive(Debug, Clone, Default)]
pub struct Credential {
    /// `Authorization: Bearer <key>`.
    pub api_key: Option<Secret>,
    /// Sent as `x-auth-key` and filled into `user_id` parameters.
    pub user_id: Option<String>,
    /// A team key's team id (sent as the `team_id` query parameter).
    pub team_id: Option<String>,
    /// The legacy workspace id.
    pub project_id: Option<String>,
}

impl Credential {
    /// A SHA-256 of the key and ids: names the account in caches that must never hold the key.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let key = self.api_key.as_ref().map(|k| k.expose()).unwrap_or_default();
        let text = format!(
            "{key}\0{}\0{}\0{}",
            self.user_id.as_deref().unwrap_or(""),
            self.team_id.as_deref().unwrap_or(""),
            self.project_id.as_deref().unwrap_or("")
        );
        sha2::Sha256::digest(text.as_bytes()).into()
    }

    /// Reads `GUMLOOP_API_KEY`, `GUMLOOP_USER_ID`, `GUMLOOP_TEAM_ID` and `GUMLOOP_PROJECT_ID`.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            api_key: var("GUMLOOP_API_KEY").map(Secret::new),
            user_id: var("GUMLOOP_USER_ID"),
            team_id: var("GUMLOOP_TEAM_ID"),
            project_id: var("GUMLOOP_PROJECT_ID"),
        }
    }

    /// The values generated request builders fill in when the caller leaves them out.
    pub fn context(&self) -> Context {
        Context { user_id: self.user_id.clone(), team_id: self.team_id.clone(), project_id: self.project_id.clone() }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_never_print() {
        let c = super::Credential { api_key: Some(super::Secret::new("gl_live_123")), ..Default::default() };
        assert!(!format!("{c:?}").contains("gl_live_123"));
        assert_eq!(c.api_key.unwrap().to_string(), "[redacted]");
    }
}
