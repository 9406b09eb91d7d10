//! The repository's `server.json` (the MCP registry's description of this server) is a
//! template: its `mcpb` package names the release file but cannot carry the file's SHA-256,
//! which only exists once the bundle is built. `stamp` fills it in for one built bundle.

use anyhow::{Result, bail};
use serde_json::{Value, json};

/// `server` with `fileSha256` set on the mcpb package whose download URL ends in `/FILE_NAME`.
pub fn stamp(server: &Value, file_name: &str, sha256: &str) -> Result<Value> {
    let mut out = server.clone();
    let packages = out.get_mut("packages").and_then(Value::as_array_mut);
    let mut identifiers = Vec::new();
    let mut matched = false;
    for p in packages.into_iter().flatten().filter(|p| p["registryType"] == "mcpb") {
        let id = p["identifier"].as_str().unwrap_or_default().to_owned();
        if id.ends_with(&format!("/{file_name}")) {
            p["fileSha256"] = json!(sha256);
            matched = true;
        }
        identifiers.push(id);
    }
    if !matched {
        bail!("server.json has no mcpb package for {file_name} (its mcpb identifiers: {identifiers:?}); add one, or build on the platform it lists");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_the_matching_package_only_and_names_the_file_when_none_matches() {
        let server = json!({ "packages": [
            { "registryType": "mcpb", "identifier": "https://github.com/o/r/releases/download/v1/gm-1-linux-x86_64.mcpb" },
            { "registryType": "mcpb", "identifier": "https://github.com/o/r/releases/download/v1/gm-1-darwin-aarch64.mcpb" },
        ]});
        let out = stamp(&server, "gm-1-linux-x86_64.mcpb", "ab").unwrap();
        assert_eq!(out["packages"][0]["fileSha256"], "ab");
        assert!(out["packages"][1].get("fileSha256").is_none());
        let err = stamp(&server, "gm-1-win32-x86_64.mcpb", "ab").unwrap_err().to_string();
        assert!(err.contains("gm-1-win32-x86_64.mcpb") && err.contains("gm-1-darwin-aarch64.mcpb"), "{err}");
    }
}
