//! The bundle's `manifest.json` (MCPB manifest 0.3, the version the `@anthropic-ai/mcpb`
//! CLI's MANIFEST.md calls current), built from the workspace's package metadata and
//! `generated/mcp/tools.json`. Pure: no IO, so the unit tests below check it directly.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

pub const MANIFEST_VERSION: &str = "0.3";

/// The packaged binary's path inside the bundle (forward slashes on every platform).
pub fn entry_point(exe_suffix: &str) -> String {
    format!("server/gumloop-mcp{exe_suffix}")
}

/// What `cargo metadata` says about the `gumloop-mcp` package (inherited from the workspace).
#[derive(Debug, Clone)]
pub struct Package {
    pub version: String,
    pub license: String,
    /// `Name <email>` or `Name`, as Cargo writes authors.
    pub author: String,
    pub homepage: String,
    pub repository: String,
}

/// One user-config field and the environment variable the server reads it from. The
/// server's own list is `gumloop-mcp --help` (config.rs); xtask may not depend on the server.
pub struct Field {
    pub key: &'static str,
    pub env: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub required: bool,
    pub sensitive: bool,
}

pub const FIELDS: &[Field] = &[
    Field {
        key: "gumloop_api_key",
        env: "GUMLOOP_API_KEY",
        title: "Gumloop API key",
        description: "Your Gumloop API key. The app keeps it as a secret and passes it to the server only in its environment.",
        required: true,
        sensitive: true,
    },
    Field {
        key: "gumloop_user_id",
        env: "GUMLOOP_USER_ID",
        title: "Gumloop user ID",
        description: "Your Gumloop user id: sent with personal keys and filled into the tools' user_id parameters.",
        required: true,
        sensitive: false,
    },
    Field {
        key: "gumloop_team_id",
        env: "GUMLOOP_TEAM_ID",
        title: "Team ID (team keys only)",
        description: "For a team API key: the team it belongs to. Leave empty for a personal key.",
        required: false,
        sensitive: false,
    },
];

/// The operating system as MCPB names it (Node's `process.platform`).
pub fn platform(rust_os: &str) -> Result<&'static str> {
    Ok(match rust_os {
        "linux" => "linux",
        "macos" => "darwin",
        "windows" => "win32",
        other => bail!("MCP Bundles run on linux, macOS and Windows; this host is {other}"),
    })
}

/// The manifest for a binary built for `rust_os`, listing `tools` (the parsed tools.json).
pub fn build(pkg: &Package, tools: &[Value], rust_os: &str, exe_suffix: &str) -> Result<Value> {
    let entry = entry_point(exe_suffix);
    let mut user_config = Map::new();
    let mut env = Map::new();
    for f in FIELDS {
        let mut field = json!({
            "type": "string",
            "title": f.title,
            "description": f.description,
            "required": f.required,
        });
        if f.sensitive {
            field["sensitive"] = json!(true);
        }
        // An optional field left empty must still be substituted: without a default the app
        // passes the literal `${user_config.…}` text on as the variable's value.
        if !f.required {
            field["default"] = json!("");
        }
        user_config.insert(f.key.into(), field);
        env.insert(f.env.into(), json!(format!("${{user_config.{}}}", f.key)));
    }
    let tools = tools
        .iter()
        .map(|t| {
            let name = t["name"].as_str().context("a tools.json entry has no name")?;
            let description = t["description"].as_str().with_context(|| format!("tools.json: {name} has no description"))?;
            Ok(json!({ "name": name, "description": summary(description) }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "manifest_version": MANIFEST_VERSION,
        "name": "gumloop-mcp",
        "display_name": "Gumloop",
        "version": pkg.version,
        "description": "Run Gumloop flows, agents and skills from Claude: every Gumloop API operation as a tool.",
        "long_description": LONG_DESCRIPTION,
        "author": author(&pkg.author),
        "repository": { "type": "git", "url": pkg.repository },
        "homepage": pkg.homepage,
        "support": format!("{}/issues", pkg.repository.trim_end_matches('/')),
        "icon": "icon.png",
        "server": {
            "type": "binary",
            "entry_point": entry,
            "mcp_config": {
                "command": format!("${{__dirname}}/{entry}"),
                "args": ["stdio"],
                "env": env,
            },
        },
        "tools": tools,
        "keywords": ["gumloop", "automation", "workflows", "agents", "mcp"],
        "license": pkg.license,
        // Built for the host only: the binary runs on the platform it was compiled on.
        "compatibility": { "platforms": [platform(rust_os)?] },
        "user_config": user_config,
    }))
}

const LONG_DESCRIPTION: &str = "gumloop-mcp serves the Gumloop API over MCP on this computer: start and watch flow runs, \
read their outputs and files, talk to agents, manage skills and read audit logs. The API key stays in the app's secret \
store and reaches the server only through its environment.";

/// A tool's first paragraph: the description the model reads goes on with what it returns
/// and requires, which a person browsing the bundle does not need.
fn summary(description: &str) -> &str {
    description.split("\n\n").next().unwrap_or(description).trim()
}

/// `Name <email>` → `{name, email}`.
fn author(cargo_author: &str) -> Value {
    match cargo_author.split_once('<') {
        Some((name, rest)) if rest.ends_with('>') => json!({ "name": name.trim(), "email": rest.trim_end_matches('>').trim() }),
        _ => json!({ "name": cargo_author.trim() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg() -> Package {
        Package {
            version: "1.2.3".into(),
            license: "Apache-2.0".into(),
            author: "Maintainers <m@example.org>".into(),
            homepage: "https://example.org/h".into(),
            repository: "https://github.com/example/r".into(),
        }
    }

    fn tools_json() -> Vec<Value> {
        let text = std::fs::read_to_string(crate::project_root().join("generated/mcp/tools.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn lists_every_tool_of_tools_json_by_name_with_its_first_paragraph() {
        let tools = tools_json();
        let m = build(&pkg(), &tools, "linux", "").unwrap();
        let listed = m["tools"].as_array().unwrap();
        assert_eq!(listed.len(), tools.len());
        for (t, l) in tools.iter().zip(listed) {
            assert_eq!(l["name"], t["name"]);
            let d = l["description"].as_str().unwrap();
            assert!(!d.is_empty() && !d.contains("\n\n") && t["description"].as_str().unwrap().starts_with(d), "{l}");
        }
    }

    #[test]
    fn the_key_is_sensitive_and_every_env_value_names_a_declared_field() {
        let m = build(&pkg(), &tools_json(), "linux", "").unwrap();
        let config = m["user_config"].as_object().unwrap();
        assert_eq!(config["gumloop_api_key"]["sensitive"], true);
        assert_eq!(config["gumloop_api_key"]["required"], true);
        assert_eq!(config["gumloop_user_id"]["required"], true);
        // Only the key is a secret: the user id is shown back to the user.
        assert_eq!(config.values().filter(|f| f["sensitive"] == true).count(), 1);
        let env = m["server"]["mcp_config"]["env"].as_object().unwrap();
        assert_eq!(env.keys().collect::<Vec<_>>(), ["GUMLOOP_API_KEY", "GUMLOOP_USER_ID", "GUMLOOP_TEAM_ID"]);
        for (var, value) in env {
            let key = value.as_str().unwrap().strip_prefix("${user_config.").and_then(|k| k.strip_suffix('}'));
            assert!(key.is_some_and(|k| config.contains_key(k)), "{var} = {value} names no user_config field");
        }
        // Optional fields default to empty, which the server reads as unset.
        for (key, f) in config {
            assert_eq!(f["required"] == false, f.get("default") == Some(&json!("")), "{key}: {f}");
        }
    }

    #[test]
    fn runs_the_packaged_binary_with_stdio_and_takes_metadata_from_the_package() {
        let m = build(&pkg(), &tools_json(), "windows", ".exe").unwrap();
        assert_eq!(m["manifest_version"], MANIFEST_VERSION);
        assert_eq!(m["server"]["type"], "binary");
        assert_eq!(m["server"]["entry_point"], "server/gumloop-mcp.exe");
        assert_eq!(m["server"]["mcp_config"]["command"], "${__dirname}/server/gumloop-mcp.exe");
        assert_eq!(m["server"]["mcp_config"]["args"], json!(["stdio"]));
        assert_eq!(m["compatibility"]["platforms"], json!(["win32"]));
        assert_eq!(m["version"], "1.2.3");
        assert_eq!(m["license"], "Apache-2.0");
        assert_eq!(m["author"], json!({ "name": "Maintainers", "email": "m@example.org" }));
        assert_eq!(m["homepage"], "https://example.org/h");
        assert_eq!(m["repository"]["url"], "https://github.com/example/r");
        assert_eq!(m["icon"], "icon.png");
    }

    #[test]
    fn platforms_are_named_as_mcpb_names_them() {
        assert_eq!(platform("macos").unwrap(), "darwin");
        assert_eq!(platform("linux").unwrap(), "linux");
        let err = platform("freebsd").unwrap_err().to_string();
        assert!(err.contains("freebsd"), "{err}");
    }

    #[test]
    fn a_tool_without_a_description_is_named() {
        let err = build(&pkg(), &[json!({ "name": "t1" })], "linux", "").unwrap_err().to_string();
        assert!(err.contains("t1"), "{err}");
    }
}
