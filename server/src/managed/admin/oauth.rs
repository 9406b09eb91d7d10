//! The admin API's sign-in side: local and OIDC users and what they may grant
//! (`/user`), pre-registered OAuth clients (`/oauth-client`), and consented grants
//! (`/oauth-grant`). Same authentication, error shape and all-or-nothing validation as
//! the rest of the admin API; the checks here are shared with the CLI.
//!
//! Passwords are hashed (argon2id) before they reach the store and never echoed; a
//! confidential client's secret is shown once, in the response that creates it.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use gumloop_mcp_runtime::ToolDescriptor;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Admin, ApiError, ApiResult, CallsQuery, JsonBody, calls_page, list};
use crate::managed::filter::McpServerConfig;
use crate::managed::secrets::{Token, new_id};
use crate::managed::store::oauth::{AccessRule, ClientKind, NewClient, NewUser, User, UserPatch, UserSource};
use crate::managed::store::{Store, StoreError};

/// The shortest password a local user may have, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The longest password accepted, in characters (hashing is the cost, not storage).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 200;

/// What a registered client's `client_id` starts with.
pub const CLIENT_ID_PREFIX: &str = "gmcl";

/// What a confidential client's secret starts with.
pub const CLIENT_SECRET_PREFIX: &str = "gmcs";

/// Why `username` cannot be a username, if it cannot.
pub fn username_problem(username: &str) -> Option<String> {
    if username.trim().is_empty() {
        return Some("`username` must not be empty".into());
    }
    if username.trim() != username {
        return Some("`username` must not start or end with whitespace".into());
    }
    if username.chars().count() > MAX_USERNAME_CHARS || username.chars().any(char::is_control) {
        return Some(format!("`username` must be at most {MAX_USERNAME_CHARS} characters, without control characters"));
    }
    None
}

/// Why `password` cannot be a local user's password, if it cannot (never quoting it).
pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Some(format!("`password` is {n} characters; it must be at least {MIN_PASSWORD_CHARS}"));
    }
    if n > MAX_PASSWORD_CHARS {
        return Some(format!("`password` is {n} characters; it must be at most {MAX_PASSWORD_CHARS}"));
    }
    None
}

/// `rules` with empty method and tag lists read as absent (both mean "all").
pub fn normalized(rules: Vec<AccessRule>) -> Vec<AccessRule> {
    let keep = |v: Option<Vec<String>>| v.filter(|v| !v.is_empty());
    rules.into_iter().map(|r| AccessRule { account_id: r.account_id, methods: keep(r.methods), tags: keep(r.tags) }).collect()
}

/// Every problem with `rules`, each under its label (`labels[i]` names `rules[i]`, e.g.
/// `access[0]`): accounts must be connected and named once, and methods and tags are
/// checked with the same vocabulary as a managed server's config
/// ([`McpServerConfig::problems`]).
pub async fn access_problems(store: &dyn Store, tools: &[&'static ToolDescriptor], rules: &[AccessRule], labels: &[String]) -> Result<Vec<String>, StoreError> {
    let accounts: BTreeSet<String> = store.list_accounts().await?.into_iter().map(|a| a.id).collect();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut out = Vec::new();
    for (rule, label) in rules.iter().zip(labels) {
        let id = rule.account_id.as_str();
        if id.trim().is_empty() {
            out.push(format!("{label}.account_id: must not be empty"));
        } else if !accounts.contains(id) {
            out.push(format!("{label}.account_id: no connected account `{}` (see GET /integrated-account)", crate::text::clip(id, 80)));
        } else if let Some(first) = seen.insert(id, label) {
            out.push(format!("{label}.account_id: `{id}` is already given by {first}; give one rule per account"));
        }
        let config = McpServerConfig { methods: rule.methods.clone(), tags: rule.tags.clone(), ..McpServerConfig::default() };
        // The config's problems name `config…`; here they are the rule's.
        out.extend(config.problems(tools).into_iter().map(|p| match p.strip_prefix("config") {
            Some(rest) => format!("{label}{rest}"),
            None => format!("{label}: {p}"),
        }));
    }
    Ok(out)
}

/// Every problem with a registered client's redirect URIs (https, or http loopback;
/// exact strings, at least one, no repeats).
pub fn redirect_uri_problems(uris: &[String]) -> Vec<String> {
    if uris.is_empty() {
        return vec!["`redirect_uris` must list at least one redirect URI".into()];
    }
    let mut out = Vec::new();
    for (i, uri) in uris.iter().enumerate() {
        if let Some(reason) = crate::oauth::cimd::redirect_uri_problem(uri) {
            out.push(format!("redirect_uris[{i}]: `{}` is not accepted: {reason}", crate::text::clip(uri, 200)));
        } else if uris[..i].contains(uri) {
            out.push(format!("redirect_uris[{i}]: `{}` is listed twice", crate::text::clip(uri, 200)));
        }
    }
    out
}

/// Why `name` cannot be a client's display name, if it cannot.
pub fn client_name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("`name` must not be empty".into());
    }
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Some("`name` must be at most 200 characters, without control characters".into());
    }
    None
}

/// A 400 listing `problems` (one is the message itself).
pub(super) fn problems_error(what: &str, problems: Vec<String>) -> ApiError {
    let message = if problems.len() == 1 { problems[0].clone() } else { format!("{what} has {} problems", problems.len()) };
    ApiError::bad_request(message).with_problems(problems)
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("plain struct")
}

/// argon2id, off the async threads (it takes tens of milliseconds on purpose).
async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || crate::managed::password::hash(&password)).await.map_err(|e| {
        tracing::error!("hashing a password failed: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "hashing the password failed; see the server's log")
    })
}

fn labels(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}[{i}]")).collect()
}

// --- users

/// A password field: a string, and an error for anything else that does not quote it
/// (serde's own would print a number or a boolean given there).
pub(super) struct Password(String);

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Password(s)),
            _ => Err(serde::de::Error::custom("must be a string")),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUserBody {
    username: String,
    #[serde(default)]
    password: Option<Password>,
    #[serde(default)]
    source: Option<UserSource>,
    access: Vec<AccessRule>,
}

pub(super) async fn create_user(State(a): State<Admin>, JsonBody(body): JsonBody<NewUserBody>) -> ApiResult<(StatusCode, Json<Value>)> {
    let source = body.source.unwrap_or(UserSource::Local);
    let access = normalized(body.access);
    let password = body.password.map(|p| p.0);
    let mut problems: Vec<String> = username_problem(&body.username).into_iter().collect();
    match (source, &password) {
        (UserSource::Local, None) => problems.push(format!("`password` is required for a local user (at least {MIN_PASSWORD_CHARS} characters)")),
        (UserSource::Local, Some(p)) => problems.extend(password_problem(p)),
        (UserSource::Oidc, Some(_)) => problems.push("`password` is not accepted for an OIDC user: they sign in with the OpenID Connect provider".into()),
        (UserSource::Oidc, None) => {}
    }
    problems.extend(access_problems(a.managed.store.as_ref(), a.tools, &access, &labels("access", access.len())).await?);
    if !problems.is_empty() {
        return Err(problems_error("the user", problems));
    }
    let password_hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let user = a.managed.store.create_user(NewUser { username: body.username, source, password_hash, access }, a.managed.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(to_json(&user))))
}

pub(super) async fn list_users(State(a): State<Admin>) -> ApiResult<Json<Value>> {
    Ok(list(a.managed.store.list_users().await?))
}

pub(super) async fn get_user(State(a): State<Admin>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(to_json(&a.managed.store.get_user(&id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserPatchBody {
    #[serde(default)]
    password: Option<Password>,
    #[serde(default)]
    access: Option<Vec<AccessRule>>,
    #[serde(default)]
    disabled: Option<bool>,
}

pub(super) async fn update_user(State(a): State<Admin>, Path(id): Path<String>, JsonBody(body): JsonBody<UserPatchBody>) -> ApiResult<Json<Value>> {
    if body.password.is_none() && body.access.is_none() && body.disabled.is_none() {
        return Err(ApiError::bad_request("the patch changes nothing; give `password`, `access` or `disabled`"));
    }
    let store = a.managed.store.as_ref();
    let user = store.get_user(&id).await?;
    let access = body.access.map(normalized);
    let password = body.password.map(|p| p.0);
    let mut problems = Vec::new();
    if let Some(p) = &password {
        match user.source {
            UserSource::Oidc => {
                problems.push(format!("`password` is not accepted: `{}` is an OIDC user, who signs in with the OpenID Connect provider", user.username))
            }
            UserSource::Local => problems.extend(password_problem(p)),
        }
    }
    if let Some(rules) = &access {
        problems.extend(access_problems(store, a.tools, rules, &labels("access", rules.len())).await?);
    }
    if !problems.is_empty() {
        return Err(problems_error("the patch", problems));
    }
    let password_hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let user = store.update_user(&id, &UserPatch { password_hash, access, disabled: body.disabled, groups: None }, a.managed.clock.now()).await?;
    Ok(Json(to_json(&user)))
}

pub(super) async fn delete_user(State(a): State<Admin>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    a.managed.store.delete_user(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- OAuth clients

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewClientBody {
    name: String,
    redirect_uris: Vec<String>,
    #[serde(default)]
    confidential: bool,
}

/// A new registered client and, if confidential, its secret (shown once).
pub fn registered_client(name: String, redirect_uris: Vec<String>, confidential: bool) -> (NewClient, Option<Token>) {
    let secret = confidential.then(|| Token::generate(CLIENT_SECRET_PREFIX));
    let client = NewClient {
        client_id: new_id(CLIENT_ID_PREFIX),
        name,
        redirect_uris,
        kind: ClientKind::Registered,
        token_endpoint_auth_method: if confidential { "client_secret_basic" } else { "none" }.to_owned(),
        secret: secret.as_ref().map(Token::hash),
    };
    (client, secret)
}

pub(super) async fn create_client(State(a): State<Admin>, JsonBody(body): JsonBody<NewClientBody>) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut problems: Vec<String> = client_name_problem(&body.name).into_iter().collect();
    problems.extend(redirect_uri_problems(&body.redirect_uris));
    if !problems.is_empty() {
        return Err(problems_error("the client", problems));
    }
    let (client, secret) = registered_client(body.name, body.redirect_uris, body.confidential);
    let client = a.managed.store.put_client(client, a.managed.clock.now()).await?;
    let mut v = to_json(&client);
    if let Some(secret) = secret {
        v["client_secret"] = json!(secret.reveal());
    }
    Ok((StatusCode::CREATED, Json(v)))
}

pub(super) async fn list_clients(State(a): State<Admin>) -> ApiResult<Json<Value>> {
    Ok(list(a.managed.store.list_clients().await?))
}

/// `{*client_id}`: a metadata client's id is a URL, given percent-encoded or as is.
fn client_id_of(raw: String) -> String {
    raw.strip_prefix('/').map(str::to_owned).unwrap_or(raw)
}

pub(super) async fn get_client(State(a): State<Admin>, Path(client_id): Path<String>) -> ApiResult<Json<Value>> {
    let client = a.managed.store.get_client(&client_id_of(client_id)).await?.ok_or(StoreError::NotFound("OAuth client"))?;
    Ok(Json(to_json(&client)))
}

pub(super) async fn delete_client(State(a): State<Admin>, Path(client_id): Path<String>) -> ApiResult<StatusCode> {
    a.managed.store.delete_client(&client_id_of(client_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- grants

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantsQuery {
    user: Option<String>,
}

pub(super) async fn list_grants(State(a): State<Admin>, query: Result<Query<GrantsQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<Value>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let store = a.managed.store.as_ref();
    if let Some(user) = &q.user {
        store.get_user(user).await?;
    }
    Ok(list(store.list_grants(q.user.as_deref()).await?))
}

pub(super) async fn get_grant(State(a): State<Admin>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(to_json(&a.managed.store.get_grant(&id).await?)))
}

pub(super) async fn revoke_grant(State(a): State<Admin>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(to_json(&a.managed.store.revoke_grant(&id, a.managed.clock.now()).await?)))
}

/// A grant's audit records: calls made with its tokens are recorded under the grant's id.
pub(super) async fn list_grant_calls(
    State(a): State<Admin>,
    Path(id): Path<String>,
    query: Result<Query<CallsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let (cursor, limit) = super::calls_query(query)?;
    a.managed.store.get_grant(&id).await?;
    calls_page(&a, &id, cursor.as_deref(), limit).await
}

/// A user's access rules in the CLI's `--allow` syntax: `acct_x:methods=read,write:tags=a`.
pub fn rule_text(rule: &AccessRule) -> String {
    let mut s = rule.account_id.clone();
    if let Some(m) = &rule.methods {
        s += &format!(":methods={}", m.join(","));
    }
    if let Some(t) = &rule.tags {
        s += &format!(":tags={}", t.join(","));
    }
    s
}

/// A user, for the CLI's text output: their rules, comma-free enough to read.
pub fn access_text(user: &User) -> String {
    if user.access.is_empty() { "-".to_owned() } else { user.access.iter().map(rule_text).collect::<Vec<_>>().join(" ") }
}
