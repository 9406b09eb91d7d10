//! `gumloop-mcp user …`, `client …` and `grant …`: the admin API's sign-in operations
//! at a terminal, with its checks ([`crate::managed::admin::oauth`]). A password is read
//! from stdin, never from the command line, and only its argon2id hash is stored.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use jiff::Timestamp;
use serde_json::json;

use super::{open_args, or_dash, out};
use crate::config::{ClientCommand, GrantCommand, UserCommand};
use crate::managed::admin::oauth::{
    MIN_PASSWORD_CHARS, access_problems, access_text, client_name_problem, normalized, password_problem, redirect_uri_problems, registered_client, rule_text,
    username_problem,
};
use crate::managed::store::Store;
use crate::managed::store::oauth::{AccessRule, NewUser, User, UserPatch, UserSource};

/// Parses `--allow ACCOUNT[:methods=M,M…][:tags=T,T…]`.
pub fn parse_rule(text: &str) -> Result<AccessRule> {
    let mut parts = text.split(':');
    let account_id = parts.next().unwrap_or_default().trim().to_owned();
    if account_id.is_empty() || account_id.contains('=') {
        bail!("--allow `{text}`: a rule starts with the account's id, e.g. acct_1234:methods=read:tags=flows");
    }
    let (mut methods, mut tags) = (None, None);
    for part in parts {
        let Some((key, values)) = part.split_once('=') else {
            bail!("--allow `{text}`: `{part}` is not key=values; use methods=read,write or tags=flows");
        };
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect();
        let slot = match key.trim() {
            "methods" => &mut methods,
            "tags" => &mut tags,
            other => bail!("--allow `{text}`: unknown key `{other}`; use methods= or tags="),
        };
        if slot.replace(values).is_some() {
            bail!("--allow `{text}`: `{}` is given twice", key.trim());
        }
    }
    Ok(AccessRule { account_id, methods, tags })
}

/// The first line of stdin, without its line ending.
fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_owned();
    if password.is_empty() {
        bail!("--password-stdin: stdin is empty; pipe the password in (e.g. from a password manager)");
    }
    if let Some(problem) = password_problem(&password) {
        bail!("--password-stdin: {}", problem.replace("`password`", "the password"));
    }
    Ok(password)
}

fn no_password_flag() -> anyhow::Error {
    anyhow::anyhow!(
        "a local user needs a password (at least {MIN_PASSWORD_CHARS} characters): give it on stdin with --password-stdin, e.g. `pass show alice | gumloop-mcp user add alice --password-stdin …`; it is never taken from the command line"
    )
}

/// Checks rules as the admin API does, naming each by its `--allow` text.
async fn check_rules(db: &dyn Store, rules: &[AccessRule]) -> Result<()> {
    let labels: Vec<String> = rules.iter().map(|r| format!("--allow {}", rule_text(r))).collect();
    let problems = access_problems(db, gumloop_mcp_generated::resources::ALL_TOOLS, rules, &labels).await?;
    if !problems.is_empty() {
        bail!("the access rules are not usable:\n- {}", problems.join("\n- "));
    }
    Ok(())
}

/// A user by username, or by `usr_…` id.
async fn find(db: &dyn Store, name: &str) -> Result<User> {
    if let Some((user, _)) = db.find_user(name).await? {
        return Ok(user);
    }
    if name.starts_with("usr_")
        && let Ok(user) = db.get_user(name).await
    {
        return Ok(user);
    }
    bail!("no user `{name}` (see `gumloop-mcp user list`)")
}

fn hashed(password: &str) -> String {
    crate::managed::password::hash(password)
}

fn describe(user: &User) -> String {
    format!("{} ({}, {}{}); may grant: {}", user.username, user.id, user.source.as_str(), if user.disabled { ", disabled" } else { "" }, access_text(user))
}

/// `gumloop-mcp user …`.
pub async fn user(cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { username, password_stdin, oidc, allow, store } => {
            if let Some(problem) = username_problem(&username) {
                bail!("{}", problem.replace("`username`", "the username"));
            }
            let rules = normalized(allow.iter().map(|a| parse_rule(a)).collect::<Result<_>>()?);
            let source = if oidc { UserSource::Oidc } else { UserSource::Local };
            let password = match (source, password_stdin) {
                (UserSource::Local, true) => Some(read_password()?),
                (UserSource::Local, false) => return Err(no_password_flag()),
                (UserSource::Oidc, _) => None,
            };
            let db = open_args(&store).await?;
            check_rules(db.as_ref(), &rules).await?;
            let password_hash = password.as_deref().map(hashed);
            let user = db.create_user(NewUser { username, source, password_hash, access: rules }, Timestamp::now()).await?;
            out(store.json, &serde_json::to_value(&user)?, || format!("added user {}", describe(&user)))
        }
        UserCommand::List { store } => {
            let db = open_args(&store).await?;
            let users = db.list_users().await?;
            out(store.json, &serde_json::to_value(&users)?, || {
                let mut s = String::from("ID\tUSERNAME\tSOURCE\tSTATUS\tMAY GRANT\tCREATED");
                for u in &users {
                    let status = if u.disabled { "disabled" } else { "active" };
                    s += &format!("\n{}\t{}\t{}\t{status}\t{}\t{}", u.id, u.username, u.source.as_str(), access_text(u), u.created_at);
                }
                s
            })
        }
        UserCommand::Passwd { username, password_stdin, store } => {
            if !password_stdin {
                return Err(no_password_flag());
            }
            let db = open_args(&store).await?;
            let user = find(db.as_ref(), &username).await?;
            if user.source == UserSource::Oidc {
                bail!("`{}` is an OIDC user, who signs in with the OpenID Connect provider; they have no password here", user.username);
            }
            let password = read_password()?;
            let patch = UserPatch { password_hash: Some(hashed(&password)), ..UserPatch::default() };
            let user = db.update_user(&user.id, &patch, Timestamp::now()).await?;
            out(store.json, &serde_json::to_value(&user)?, || format!("set the password of {}", user.username))
        }
        UserCommand::Allow { username, allow, deny, replace, store } => {
            if allow.is_empty() && deny.is_empty() && !replace {
                bail!("nothing to change: give --allow RULE, --deny ACCOUNT or --replace");
            }
            let added = normalized(allow.iter().map(|a| parse_rule(a)).collect::<Result<_>>()?);
            let db = open_args(&store).await?;
            let user = find(db.as_ref(), &username).await?;
            let mut rules = if replace { Vec::new() } else { user.access.clone() };
            for account in &deny {
                let before = rules.len();
                rules.retain(|r| r.account_id != *account);
                if rules.len() == before && !replace {
                    bail!("--deny {account}: {} may not grant that account now", user.username);
                }
            }
            for rule in added {
                match rules.iter_mut().find(|r| r.account_id == rule.account_id) {
                    Some(existing) => *existing = rule,
                    None => rules.push(rule),
                }
            }
            check_rules(db.as_ref(), &rules).await?;
            let user = db.update_user(&user.id, &UserPatch { access: Some(rules), ..UserPatch::default() }, Timestamp::now()).await?;
            out(store.json, &serde_json::to_value(&user)?, || format!("{} may now grant: {}", user.username, access_text(&user)))
        }
        UserCommand::Disable { username, store } => set_disabled(&username, true, store).await,
        UserCommand::Enable { username, store } => set_disabled(&username, false, store).await,
        UserCommand::Remove { username, store } => {
            let db = open_args(&store).await?;
            let user = find(db.as_ref(), &username).await?;
            db.delete_user(&user.id).await.with_context(|| format!("removing user `{username}`"))?;
            out(store.json, &json!({"removed": user.id}), || format!("removed user {} ({}) and revoked their grants", user.username, user.id))
        }
    }
}

async fn set_disabled(username: &str, disabled: bool, store: crate::config::StoreArgs) -> Result<()> {
    let db = open_args(&store).await?;
    let user = find(db.as_ref(), username).await?;
    let user = db.update_user(&user.id, &UserPatch { disabled: Some(disabled), ..UserPatch::default() }, Timestamp::now()).await?;
    out(store.json, &serde_json::to_value(&user)?, || {
        if disabled {
            format!("disabled {}: they cannot sign in, and their grants stop working until `user enable`", user.username)
        } else {
            format!("enabled {}", user.username)
        }
    })
}

/// `gumloop-mcp client …`.
pub async fn client(cmd: ClientCommand) -> Result<()> {
    match cmd {
        ClientCommand::Add { name, redirect_uris, confidential, store } => {
            let mut problems: Vec<String> = client_name_problem(&name).into_iter().map(|p| p.replace("`name`", "--name")).collect();
            problems.extend(redirect_uri_problems(&redirect_uris).into_iter().map(|p| p.replace("redirect_uris", "--redirect-uri ")));
            if !problems.is_empty() {
                bail!("the client is not usable:\n- {}", problems.join("\n- "));
            }
            let db = open_args(&store).await?;
            let (client, secret) = registered_client(name, redirect_uris, confidential);
            let client = db.put_client(client, Timestamp::now()).await?;
            let mut v = serde_json::to_value(&client)?;
            if let Some(s) = &secret {
                v["client_secret"] = json!(s.reveal());
            }
            out(store.json, &v, || match &secret {
                Some(s) => {
                    format!("registered confidential OAuth client {} ({}); its secret is shown only now:\n{}", client.client_id, client.name, s.reveal())
                }
                None => format!("registered public OAuth client {} ({}); it signs in with PKCE and no secret", client.client_id, client.name),
            })
        }
        ClientCommand::List { store } => {
            let db = open_args(&store).await?;
            let clients = db.list_clients().await?;
            out(store.json, &serde_json::to_value(&clients)?, || {
                let mut s = String::from("CLIENT ID\tNAME\tKIND\tAUTH\tREDIRECT URIS\tCREATED");
                for c in &clients {
                    s += &format!(
                        "\n{}\t{}\t{}\t{}\t{}\t{}",
                        c.client_id,
                        c.name,
                        c.kind.as_str(),
                        c.token_endpoint_auth_method,
                        c.redirect_uris.join(" "),
                        c.created_at
                    );
                }
                s
            })
        }
        ClientCommand::Remove { client_id, store } => {
            let db = open_args(&store).await?;
            db.delete_client(&client_id).await.with_context(|| format!("removing OAuth client `{client_id}`"))?;
            out(store.json, &json!({"removed": client_id}), || format!("removed OAuth client {client_id} and revoked its grants"))
        }
    }
}

/// `gumloop-mcp grant …`.
pub async fn grant(cmd: GrantCommand) -> Result<()> {
    match cmd {
        GrantCommand::List { user, store } => {
            let db: Arc<dyn Store> = open_args(&store).await?;
            let user_id = match &user {
                Some(name) => Some(find(db.as_ref(), name).await?.id),
                None => None,
            };
            let grants = db.list_grants(user_id.as_deref()).await?;
            let names: HashMap<String, String> = db.list_users().await?.into_iter().map(|u| (u.id, u.username)).collect();
            out(store.json, &serde_json::to_value(&grants)?, || {
                let mut s = String::from("ID\tUSER\tCLIENT\tACCOUNT\tSERVER\tSCOPE\tCREATED\tREVOKED");
                for g in &grants {
                    s += &format!(
                        "\n{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        g.id,
                        names.get(&g.user_id).unwrap_or(&g.user_id),
                        g.client_id,
                        g.account_id,
                        or_dash(&g.server_id),
                        if g.scope.is_empty() { "-" } else { &g.scope },
                        g.created_at,
                        g.revoked_at.map_or("-".into(), |r| r.to_string())
                    );
                }
                s
            })
        }
        GrantCommand::Revoke { id, store } => {
            let db = open_args(&store).await?;
            let g = db.revoke_grant(&id, Timestamp::now()).await.with_context(|| format!("revoking grant `{id}`"))?;
            out(store.json, &serde_json::to_value(&g)?, || format!("revoked grant {} (client {}); its tokens no longer work", g.id, g.client_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_print_alike() {
        let r = parse_rule("acct_1:methods=read,write:tags=flows").unwrap();
        assert_eq!(r, AccessRule { account_id: "acct_1".into(), methods: Some(vec!["read".into(), "write".into()]), tags: Some(vec!["flows".into()]) });
        assert_eq!(rule_text(&r), "acct_1:methods=read,write:tags=flows");
        assert_eq!(parse_rule("acct_2").unwrap(), AccessRule { account_id: "acct_2".into(), methods: None, tags: None });
        assert_eq!(parse_rule("acct_3:tags=a").unwrap().tags, Some(vec!["a".into()]));
        for (bad, expect) in [
            ("", "starts with the account's id"),
            ("methods=read", "starts with the account's id"),
            ("acct_1:read", "is not key=values"),
            ("acct_1:verbs=read", "unknown key `verbs`"),
            ("acct_1:tags=a:tags=b", "given twice"),
        ] {
            let e = parse_rule(bad).unwrap_err().to_string();
            assert!(e.contains(expect), "{bad}: {e}");
        }
    }
}
