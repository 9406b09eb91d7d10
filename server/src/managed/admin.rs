//! The admin API: API tokens, connected (integrated) accounts, and the managed MCP
//! servers scoped to them, in the shapes managed-MCP platforms use; and, in [`oauth`],
//! the users, OAuth clients and grants of sign-in with OAuth.
//!
//! Every route needs `Authorization: Bearer <API token>`. Every error is JSON,
//! `{"error": {"code", "message", "problems"?}}`: a malformed body names the field, an
//! oversized one is a 413, an unknown id a 404, and nothing changes on any of them.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use gumloop_mcp_runtime::ToolDescriptor;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::managed::filter::McpServerConfig;
use crate::managed::store::{McpServer, NewAccount, ServerPatch, StoreError};
use crate::managed::{Managed, bearer, live_api_token, unauthorized};
use crate::upstream::credential::{Credential, Secret};

pub mod oauth;

/// The admin API's state.
#[derive(Clone)]
pub struct Admin {
    /// Store, clock, public URL.
    pub managed: Managed,
    /// The tools servers are filtered from.
    pub tools: &'static [&'static ToolDescriptor],
    /// The largest request body accepted.
    pub body_limit: usize,
}

/// The shortest lifetime a server may be given.
pub const MIN_LIFETIME: SignedDuration = SignedDuration::from_secs(60);

/// An admin API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    problems: Vec<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), problems: Vec::new() }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// The message, for callers outside HTTP (the CLI).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Each problem, when there are several (the CLI lists them).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    fn with_problems(mut self, problems: Vec<String>) -> Self {
        self.problems = problems;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if !self.problems.is_empty() {
            error["problems"] = json!(self.problems);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found")),
            StoreError::Invalid(message) => Self::bad_request(message),
            StoreError::Unavailable(why) => {
                tracing::error!("admin request: {why}");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server's database cannot be reached; retry shortly")
            }
            other => {
                tracing::error!("admin request failed in the store: {other}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the server's store failed; see its log")
            }
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A JSON body read within the size limit and deserialised with the failing field's
/// path in the error.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Admin> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Admin) -> Result<Self, ApiError> {
        let json_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(crate::upstream::is_json);
        if json_type == Some(false) {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the body as `Content-Type: application/json`"));
        }
        let bytes = axum::body::to_bytes(req.into_body(), state.body_limit).await.map_err(|_| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the request body is larger than {} bytes", state.body_limit))
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(&mut *de) {
            // One JSON value and nothing after it but whitespace: `{..} junk` or `{..}{..}`
            // is refused whole, so nothing is created from a body that was not what it said.
            Ok(v) => match de.end() {
                Ok(()) => Ok(JsonBody(v)),
                Err(e) => Err(ApiError::bad_request(format!("malformed JSON: the body must be one JSON value, with nothing after it ({e})"))),
            },
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let at = if path == "." { String::new() } else { format!("`{path}`: ") };
                let kind = if inner.is_syntax() || inner.is_eof() { "malformed JSON" } else { "invalid field" };
                Err(ApiError::bad_request(format!("{kind}: {at}{inner}")))
            }
        }
    }
}

/// The admin routes, behind API-token authentication.
pub fn router(admin: Admin) -> Router {
    Router::new()
        .route("/tools", get(list_tools))
        .route("/api-token", get(list_api_tokens).post(create_api_token))
        .route("/api-token/{id}", delete(revoke_api_token))
        .route("/integrated-account", get(list_accounts).post(create_account))
        .route("/integrated-account/{id}", get(get_account).delete(delete_account))
        .route("/integrated-account/{id}/mcp", get(list_servers).post(create_server))
        .route("/integrated-account/{id}/mcp/{mcp_id}", get(get_server).patch(update_server).delete(delete_server))
        .route("/integrated-account/{id}/mcp/{mcp_id}/calls", get(list_calls))
        .route("/user", get(oauth::list_users).post(oauth::create_user))
        .route("/user/{id}", get(oauth::get_user).patch(oauth::update_user).delete(oauth::delete_user))
        .route("/oauth-client", get(oauth::list_clients).post(oauth::create_client))
        .route("/oauth-client/{*client_id}", get(oauth::get_client).delete(oauth::delete_client))
        .route("/oauth-grant", get(oauth::list_grants))
        .route("/oauth-grant/{id}", get(oauth::get_grant).delete(oauth::revoke_grant))
        .route("/oauth-grant/{id}/calls", get(oauth::list_grant_calls))
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method") })
        .layer(axum::middleware::from_fn_with_state(admin.clone(), authenticate))
        .with_state(admin)
}

/// Requires a live API token.
async fn authenticate(State(admin): State<Admin>, req: Request, next: Next) -> Response {
    let ok = match live_api_token(admin.managed.store.as_ref(), bearer(req.headers())).await {
        Ok(ok) => ok,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !ok {
        return unauthorized("the admin API needs `Authorization: Bearer <API token>` with a valid, unrevoked API token (`gumloop-mcp api-token create`)");
    }
    next.run(req).await
}

fn non_empty(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(ApiError::bad_request(format!("`{field}` must not be empty")));
    }
    Ok(())
}

fn list<T: serde::Serialize>(items: Vec<T>) -> Json<Value> {
    Json(json!({ "result": items, "next_cursor": null }))
}

// --- API tokens

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewApiToken {
    name: String,
}

async fn create_api_token(State(a): State<Admin>, JsonBody(body): JsonBody<NewApiToken>) -> ApiResult<(StatusCode, Json<Value>)> {
    non_empty("name", &body.name)?;
    let (record, token) = a.managed.store.create_api_token(&body.name, a.managed.clock.now()).await?;
    let mut v = serde_json::to_value(record).expect("plain struct");
    v["token"] = json!(token.reveal());
    Ok((StatusCode::CREATED, Json(v)))
}

async fn list_api_tokens(State(a): State<Admin>) -> ApiResult<Json<Value>> {
    Ok(list(a.managed.store.list_api_tokens().await?))
}

async fn revoke_api_token(State(a): State<Admin>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let token = a.managed.store.revoke_api_token(&id, a.managed.clock.now()).await?;
    Ok(Json(serde_json::to_value(token).expect("plain struct")))
}

// --- integrated accounts

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccountBody {
    name: String,
    gumloop: GumloopCredential,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GumloopCredential {
    api_key: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
}

async fn create_account(State(a): State<Admin>, JsonBody(body): JsonBody<NewAccountBody>) -> ApiResult<(StatusCode, Json<Value>)> {
    non_empty("name", &body.name)?;
    non_empty("gumloop.api_key", &body.gumloop.api_key)?;
    let g = body.gumloop;
    let clean = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let credential =
        Credential { api_key: Some(Secret::new(g.api_key)), user_id: clean(g.user_id), team_id: clean(g.team_id), project_id: clean(g.project_id) };
    let account = a.managed.store.create_account(NewAccount { name: body.name, credential }, a.managed.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(account).expect("plain struct"))))
}

async fn list_accounts(State(a): State<Admin>) -> ApiResult<Json<Value>> {
    Ok(list(a.managed.store.list_accounts().await?))
}

async fn get_account(State(a): State<Admin>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(serde_json::to_value(a.managed.store.get_account(&id).await?).expect("plain struct")))
}

async fn delete_account(State(a): State<Admin>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    a.managed.store.delete_account(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- MCP servers

/// `expires_at` as given: absent, `null`, or a string to check.
fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewServerBody {
    name: String,
    #[serde(default)]
    config: McpServerConfig,
    #[serde(default, deserialize_with = "double_option")]
    expires_at: Option<Option<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerPatchBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    config: Option<McpServerConfig>,
    #[serde(default, deserialize_with = "double_option")]
    expires_at: Option<Option<String>>,
}

/// Checks an `expires_at` value: an ISO-8601 instant at least a minute ahead.
pub fn parse_expiry(text: &str, now: Timestamp) -> ApiResult<Timestamp> {
    let at: Timestamp = text.parse().map_err(|e| {
        ApiError::bad_request(format!("`expires_at`: `{text}` is not an ISO-8601 instant with a UTC offset, such as 2026-12-01T09:00:00Z ({e})"))
    })?;
    if at < now + MIN_LIFETIME {
        return Err(ApiError::bad_request(format!(
            "`expires_at`: {at} is {}; it must be at least 60 s in the future (now is {now})",
            if at <= now { "in the past".to_owned() } else { format!("only {} s ahead", at.duration_since(now).as_secs()) }
        )));
    }
    Ok(at)
}

fn check_config(a: &Admin, config: &McpServerConfig) -> ApiResult<()> {
    let problems = config.problems(a.tools);
    if problems.is_empty() {
        return Ok(());
    }
    let message = if problems.len() == 1 { problems[0].clone() } else { format!("the config has {} problems", problems.len()) };
    Err(ApiError::bad_request(message).with_problems(problems))
}

fn server_json(server: &McpServer) -> Value {
    serde_json::to_value(server).expect("plain struct")
}

async fn create_server(
    State(a): State<Admin>,
    Path(account_id): Path<String>,
    JsonBody(body): JsonBody<NewServerBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    non_empty("name", &body.name)?;
    let now = a.managed.clock.now();
    check_config(&a, &body.config)?;
    let expires_at = match body.expires_at.flatten() {
        Some(text) => Some(parse_expiry(&text, now)?),
        None => None,
    };
    let (server, token) = a.managed.store.create_server(&account_id, &body.name, &body.config, expires_at, now).await?;
    let mut v = server_json(&server);
    v["url"] = json!(format!("{}/mcp/{}", a.managed.public_url, token.reveal()));
    Ok((StatusCode::CREATED, Json(v)))
}

async fn list_servers(State(a): State<Admin>, Path(account_id): Path<String>) -> ApiResult<Json<Value>> {
    let store = &a.managed.store;
    store.get_account(&account_id).await?;
    let now = a.managed.clock.now();
    // Expired servers are gone for every purpose, even before the sweeper deletes them.
    let servers: Vec<Value> = store.list_servers(&account_id).await?.iter().filter(|s| !s.expired(now)).map(server_json).collect();
    Ok(list(servers))
}

async fn get_server(State(a): State<Admin>, Path((account_id, id)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    let server = a.managed.store.get_server(&account_id, &id).await?;
    if server.expired(a.managed.clock.now()) {
        return Err(StoreError::NotFound("MCP server").into());
    }
    Ok(Json(server_json(&server)))
}

async fn update_server(
    State(a): State<Admin>,
    Path((account_id, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ServerPatchBody>,
) -> ApiResult<Json<Value>> {
    let now = a.managed.clock.now();
    if let Some(name) = &body.name {
        non_empty("name", name)?;
    }
    if let Some(config) = &body.config {
        check_config(&a, config)?;
    }
    let expires_at = match body.expires_at {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => Some(Some(parse_expiry(&text, now)?)),
    };
    let current = a.managed.store.get_server(&account_id, &id).await?;
    if current.expired(now) {
        return Err(StoreError::NotFound("MCP server").into());
    }
    let patch = ServerPatch { name: body.name, config: body.config, expires_at };
    let server = a.managed.store.update_server(&account_id, &id, &patch, now).await?;
    announce(&a, &server.id).await;
    Ok(Json(server_json(&server)))
}

async fn delete_server(State(a): State<Admin>, Path((account_id, id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    a.managed.store.delete_server(&account_id, &id).await?;
    announce(&a, &id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Tells every replica's listeners of `server` that its tools changed. The change itself
/// is stored; a bus failure only delays their notification until their next refresh.
async fn announce(a: &Admin, server: &str) {
    if let Err(e) = a.managed.changes.publish(server).await {
        tracing::warn!(server, "announcing a server change failed: {e}");
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallsQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn list_calls(
    State(a): State<Admin>,
    Path((account_id, id)): Path<(String, String)>,
    query: Result<Query<CallsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let (cursor, limit) = calls_query(query)?;
    a.managed.store.get_server(&account_id, &id).await?;
    calls_page(&a, &id, cursor.as_deref(), limit).await
}

/// The cursor and page size of an audit listing (`limit` 1–500, default 50).
fn calls_query(query: Result<Query<CallsQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<(Option<String>, usize)> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(format!("`limit` must be between 1 and 500, got {limit}")));
    }
    Ok((q.cursor, limit))
}

/// One page of the audit records kept under `id` (a managed server's or a grant's).
async fn calls_page(a: &Admin, id: &str, cursor: Option<&str>, limit: usize) -> ApiResult<Json<Value>> {
    let page = a.managed.store.list_calls(id, cursor, limit).await?;
    Ok(Json(serde_json::to_value(page).expect("plain struct")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolsQuery {
    methods: Option<String>,
    tags: Option<String>,
}

/// Every tool with what the filters match on; `?methods=read&tags=flows` previews what a
/// server with that config would expose (and rejects a config that matches nothing).
async fn list_tools(State(a): State<Admin>, query: Result<Query<ToolsQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<Value>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let split = |v: Option<String>| v.map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>());
    let config = McpServerConfig { methods: split(q.methods), tags: split(q.tags), ..McpServerConfig::default() };
    if config.methods.is_some() || config.tags.is_some() {
        check_config(&a, &config)?;
    }
    let tools: Vec<Value> = a
        .tools
        .iter()
        .filter(|t| config.allows(t))
        .map(|t| json!({"name": t.name, "resource": t.resource, "method": t.method, "kind": t.kind.as_str(), "tags": t.tags, "read_only": t.annotations.read_only}))
        .collect();
    Ok(list(tools))
}

/// The fallback for paths nothing serves: a JSON 404.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}
