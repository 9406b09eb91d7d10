//! Sign-in delegated to a company's OpenID Connect provider (`--oidc-issuer`): gumloop-mcp
//! is then a relying party upstream and still issues its own MCP tokens.
//!
//! The flow, per browser sign-in:
//! 1. [`Upstream::begin`] makes the authorization URL (authorization code, PKCE S256, a
//!    random `state` and `nonce`; scopes `openid email profile`, plus `groups` when a
//!    groups claim is configured and the provider offers that scope) and an
//!    [`UpstreamPending`] holding the three secrets. The pending half travels in a
//!    cookie, sealed with XChaCha20-Poly1305 ([`UpstreamPending::seal`]), so nothing is
//!    stored server-side and any replica can finish the sign-in.
//! 2. The provider sends the browser back to `<public>/oauth/upstream/callback` with
//!    `code`, `state` and (RFC 9207) `iss`. [`Upstream::complete`] (or
//!    [`Upstream::finish`]) compares `state` in constant time, checks `iss` against the
//!    configured issuer, redeems the code with `client_secret_basic` and the PKCE
//!    verifier, verifies the ID token (signature against the provider's JWKS, `iss`,
//!    `aud`, `exp`, `nonce`, and `at_hash` when present) and reads the user claim and the
//!    groups claim from the ID token, or from the userinfo endpoint (bound to the ID
//!    token's `sub`) when the ID token lacks them.
//!
//! Provider metadata and the JWKS are fetched once at start-up ([`Upstream::discover`]);
//! the JWKS is fetched again when an ID token names a key it lacks (key rotation), at
//! most every [`JWKS_REFETCH_INTERVAL`].
//!
//! HTTP to the provider goes through the workspace's reqwest (rustls), not openidconnect's
//! own client (another reqwest major): no redirects are followed (an endpoint that
//! redirects is an error), every request has a time limit, and bodies are capped.
//! Plain http is accepted only for a loopback issuer (tests, a provider on the same host),
//! and then only for loopback endpoints; an https issuer needs https endpoints.
//!
//! Errors ([`OidcError`]) name what failed and never carry a code, token, nonce, state,
//! verifier or secret, nor the provider's response bodies (a token response holds tokens).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use jiff::Timestamp;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AsyncHttpClient, AuthType, AuthenticationFlow, AuthorizationCode,
    ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken, DiscoveryError, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    HttpRequest, HttpResponse, IdTokenFields, IdTokenVerifier, IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadata, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, TokenResponse as _,
    UserInfoClaims, UserInfoError,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

/// How long a sign-in may take at the provider: the sealed [`UpstreamPending`] opens
/// until then.
pub const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

/// The label to derive the key that seals [`UpstreamPending`] cookies from the server
/// secret (`SealingKey::derive`), so every replica opens what another sealed.
pub const PENDING_KEY_LABEL: &str = "gumloop-mcp/oidc-pending/v1";

/// The associated data of a sealed pending sign-in: a value sealed for another purpose
/// with the same key does not open as one.
const PENDING_AAD: &[u8] = b"gumloop-mcp/oidc-pending/v1";

/// The JWKS is fetched again for an unknown key at most this often.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// One request to the provider: connecting, and the whole exchange.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest response body read from the provider (metadata, JWKS, token, userinfo).
const MAX_BODY: usize = 512 * 1024;

/// Claim names the user claim may not be: the ID token's own fields, and standard claims
/// that are not identifiers (openidconnect parses those into typed fields).
const UNUSABLE_USER_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "profile",
    "picture",
    "website",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

/// How gumloop-mcp signs in at the provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer identifier, exactly as its metadata states it (discovery is
    /// at `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// This server's client id at the provider.
    pub client_id: String,
    /// Its client secret (sent with `client_secret_basic`).
    pub client_secret: String,
    /// `<public>/oauth/upstream/callback`, registered at the provider.
    pub redirect_url: String,
    /// The claim that names the user: `email` (the default), `sub`, `preferred_username`,
    /// or a non-standard string claim such as `upn`.
    pub user_claim: String,
    /// The claim listing the user's groups (e.g. `groups`), if groups map to access.
    pub groups_claim: Option<String>,
}

impl OidcConfig {
    /// The default user claim.
    pub const DEFAULT_USER_CLAIM: &'static str = "email";
}

/// Why a sign-in through the provider failed. Messages are meant for the person signing
/// in and the log; none contains a code, token, state, nonce or secret.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The configuration cannot work (bad URL, plain http to a non-loopback host, ...).
    #[error("OIDC configuration: {0}")]
    Config(String),
    /// Fetching or checking the provider's metadata or keys failed.
    #[error("OIDC discovery at {issuer}: {reason}")]
    Discovery { issuer: String, reason: String },
    /// The provider answered the sign-in with an error (e.g. `access_denied`).
    #[error("the identity provider refused the sign-in: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Provider { error: String, description: Option<String> },
    /// The callback lacks a parameter it needs.
    #[error("the identity provider's response lacks `{0}`")]
    MissingParameter(&'static str),
    /// The callback's `state` is not the one this browser's sign-in started with.
    #[error("the sign-in response does not belong to this browser's sign-in (state mismatch); start the sign-in again")]
    StateMismatch,
    /// No (valid) pending sign-in: the cookie is missing, tampered with or expired.
    #[error("this sign-in has expired or was started in another browser; start the sign-in again")]
    NoPendingSignIn,
    /// The callback's `iss` is not the configured issuer (RFC 9207: a mix-up attack or a
    /// misconfiguration), or it is missing while the provider promises to send it.
    #[error("the sign-in response comes from issuer {got}, not {expected}")]
    IssuerMismatch { expected: String, got: String },
    /// The token endpoint refused the code (`invalid_grant` for a used or expired one).
    #[error("the identity provider refused the authorization code: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenRefused { error: String, description: Option<String> },
    /// The token endpoint's answer is unusable.
    #[error("the identity provider's token response is invalid: {0}")]
    TokenResponse(String),
    /// The ID token failed verification.
    #[error("the identity provider's ID token is invalid: {0}")]
    IdToken(String),
    /// The userinfo endpoint failed.
    #[error("the identity provider's userinfo endpoint failed: {0}")]
    UserInfo(String),
    /// The user claim is absent (from both the ID token and userinfo).
    #[error("the identity provider did not send the `{0}` claim that names the user (is its scope granted to this client?)")]
    MissingClaim(String),
    /// A claim has the wrong shape.
    #[error("the identity provider's `{claim}` claim is not {expected}")]
    BadClaim { claim: String, expected: &'static str },
    /// The user claim is `email` and the provider says the address is not verified.
    #[error("the identity provider says the email address of this account is not verified")]
    EmailNotVerified,
    /// The provider could not be reached, or answered oddly at the HTTP level.
    #[error("the identity provider could not be reached: {0}")]
    Http(String),
}

/// A pending sign-in at the provider: what the callback must match. It holds secrets, so
/// it is only ever shown to the browser sealed ([`seal`](Self::seal)); `Debug` redacts.
#[derive(Clone, Serialize, Deserialize)]
pub struct UpstreamPending {
    #[serde(rename = "s")]
    state: String,
    #[serde(rename = "n")]
    nonce: String,
    #[serde(rename = "v")]
    verifier: String,
    /// Until when it opens (Unix seconds, inside the ciphertext).
    #[serde(rename = "e")]
    expires_at: i64,
    /// The caller's handle of the request this sign-in serves (opaque here).
    #[serde(rename = "r", default)]
    request: String,
}

impl fmt::Debug for UpstreamPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamPending").field("expires_at", &self.expires_at).field("request", &self.request).finish_non_exhaustive()
    }
}

impl UpstreamPending {
    /// Attaches the caller's handle of what this sign-in is for (e.g. the pending
    /// authorization request to return to); sealed along with the rest.
    pub fn with_request(mut self, handle: impl Into<String>) -> Self {
        self.request = handle.into();
        self
    }

    /// The handle given to [`with_request`](Self::with_request) (empty if none).
    pub fn request(&self) -> &str {
        &self.request
    }

    /// Until when it opens.
    pub fn expires_at(&self) -> Timestamp {
        Timestamp::from_second(self.expires_at).unwrap_or(Timestamp::MIN)
    }

    /// Sealed for a cookie: base64url (no padding) of a random 192-bit nonce followed by
    /// the XChaCha20-Poly1305 ciphertext of the fields (expiry included).
    pub fn seal(&self, key: &[u8; 32]) -> String {
        let plaintext = serde_json::to_vec(self).expect("plain fields serialize");
        let nonce: [u8; 24] = crate::managed::secrets::random_bytes();
        let cipher = XChaCha20Poly1305::new(key.into());
        let ct = cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: &plaintext, aad: PENDING_AAD }).expect("encryption cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens what [`seal`](Self::seal) made with the same key, if it has not expired at
    /// `now`; `None` for anything else (tampered, another key, expired, not base64).
    pub fn open(text: &str, key: &[u8; 32], now: Timestamp) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        if bytes.len() < 24 + 16 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(24);
        let plaintext = XChaCha20Poly1305::new(key.into()).decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: PENDING_AAD }).ok()?;
        let pending: Self = serde_json::from_slice(&plaintext).ok()?;
        (now.as_second() < pending.expires_at).then_some(pending)
    }
}

/// Who signed in at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user claim's value (e.g. the email address).
    pub user: String,
    /// The groups claim's values (empty without a groups claim).
    pub groups: Vec<String>,
    /// The ID token's `sub` (stable at this provider; for the audit log).
    pub subject: String,
}

/// The query of the provider's redirect to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Claims beyond OpenID Connect's standard ones (the groups claim, a custom user claim),
/// from the ID token or userinfo.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    claims: HashMap<String, serde_json::Value>,
}

impl AdditionalClaims for ExtraClaims {}

/// RFC 8414 fields that OpenID Connect Discovery lacks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ExtraMetadata {
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Fields = IdTokenFields<ExtraClaims, EmptyExtraTokenFields, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type Jwks = JsonWebKeySet<CoreJsonWebKey>;

type OidcClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
>;

/// The relying party for one provider, ready to sign people in. Cheap to clone.
#[derive(Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

struct Inner {
    config: OidcConfig,
    client: OidcClient,
    http: Http,
    issuer: IssuerUrl,
    jwks_uri: openidconnect::JsonWebKeySetUrl,
    signing_algs: Vec<CoreJwsSigningAlgorithm>,
    /// The keys, and when they were fetched.
    jwks: RwLock<(Jwks, Instant)>,
    /// The scopes asked for besides `openid`.
    scopes: Vec<String>,
    /// The provider promises `iss` in every authorization response (RFC 9207), so a
    /// response without it is refused.
    iss_required: bool,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("issuer", &self.inner.config.issuer)
            .field("client_id", &self.inner.config.client_id)
            .field("user_claim", &self.inner.config.user_claim)
            .field("groups_claim", &self.inner.config.groups_claim)
            .finish_non_exhaustive()
    }
}

/// Whether `host` is a loopback name or address.
fn is_loopback_host(url: &openidconnect::url::Url) -> bool {
    match url.host() {
        Some(openidconnect::url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(openidconnect::url::Host::Ipv4(a)) => IpAddr::V4(a).is_loopback(),
        Some(openidconnect::url::Host::Ipv6(a)) => IpAddr::V6(a).is_loopback(),
        None => false,
    }
}

/// `what`'s URL must be https, or plain http on loopback when `allow_http` (a loopback
/// issuer).
fn check_url(what: &str, url: &openidconnect::url::Url, allow_http: bool) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http && is_loopback_host(url) => Ok(()),
        "http" if allow_http => Err(format!("{what} {url} is plain http to a non-loopback host")),
        "http" => Err(format!("{what} {url} is plain http (only https, or http on a loopback address)")),
        other => Err(format!("{what} {url} has scheme {other:?} (only https)")),
    }
}

impl Upstream {
    /// Fetches the provider's metadata and keys and checks them: call once at start-up.
    pub async fn discover(config: OidcConfig) -> Result<Self, OidcError> {
        let bad = |m: String| OidcError::Config(m);
        if config.client_id.trim().is_empty() {
            return Err(bad("the client id is empty".into()));
        }
        if config.client_secret.is_empty() {
            return Err(bad("the client secret is empty".into()));
        }
        let user_claim = config.user_claim.trim();
        if user_claim.is_empty() {
            return Err(bad("the user claim is empty".into()));
        }
        if UNUSABLE_USER_CLAIMS.contains(&user_claim) {
            return Err(bad(format!("`{user_claim}` cannot name users: use `email`, `sub`, `preferred_username` or a non-standard string claim")));
        }
        if let Some(g) = &config.groups_claim
            && (g.trim().is_empty() || UNUSABLE_USER_CLAIMS.contains(&g.trim()) || ["sub", "email", "preferred_username"].contains(&g.trim()))
        {
            return Err(bad(format!("`{g}` cannot be the groups claim")));
        }
        let issuer_url = openidconnect::url::Url::parse(&config.issuer).map_err(|e| bad(format!("issuer {:?} is not a URL: {e}", config.issuer)))?;
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(bad(format!("issuer {} must not have a query or fragment", config.issuer)));
        }
        check_url("issuer", &issuer_url, true).map_err(bad)?;
        let allow_http = issuer_url.scheme() == "http";
        let redirect = RedirectUrl::new(config.redirect_url.clone()).map_err(|e| bad(format!("redirect URL {:?}: {e}", config.redirect_url)))?;
        check_url("redirect URL", redirect.url(), true).map_err(bad)?;

        let http = Http::new()?;
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| bad(format!("issuer {:?}: {e}", config.issuer)))?;
        let fail = |reason: String| OidcError::Discovery { issuer: config.issuer.clone(), reason };
        let metadata = Metadata::discover_async(issuer.clone(), &http).await.map_err(|e| fail(discovery_reason(e)))?;

        check_url("authorization endpoint", metadata.authorization_endpoint().url(), allow_http).map_err(fail)?;
        let token_url = metadata.token_endpoint().cloned().ok_or_else(|| fail("the metadata has no token_endpoint".into()))?;
        check_url("token endpoint", token_url.url(), allow_http).map_err(fail)?;
        check_url("jwks_uri", metadata.jwks_uri().url(), allow_http).map_err(fail)?;
        if let Some(u) = metadata.userinfo_endpoint() {
            check_url("userinfo endpoint", u.url(), allow_http).map_err(fail)?;
        }
        if !metadata.response_types_supported().iter().any(|rt| rt.as_slice() == [CoreResponseType::Code]) {
            return Err(fail("the provider does not support response_type=code".into()));
        }
        let extra = metadata.additional_metadata();
        match &extra.code_challenge_methods_supported {
            Some(methods) if !methods.iter().any(|m| m == "S256") => {
                return Err(fail(format!("the provider does not support PKCE S256 (code_challenge_methods_supported: {methods:?})")));
            }
            Some(_) => {}
            None => tracing::warn!(issuer = %config.issuer, "the OIDC provider does not advertise PKCE S256 support; sending a code challenge anyway"),
        }
        let auth_type = match metadata.token_endpoint_auth_methods_supported() {
            None => AuthType::BasicAuth,
            Some(m) if m.contains(&CoreClientAuthMethod::ClientSecretBasic) => AuthType::BasicAuth,
            Some(m) if m.contains(&CoreClientAuthMethod::ClientSecretPost) => AuthType::RequestBody,
            Some(m) => {
                let names: Vec<&str> = m.iter().map(|a| a.as_ref()).collect();
                return Err(fail(format!("the token endpoint takes neither client_secret_basic nor client_secret_post (only {names:?})")));
            }
        };
        let offered = |s: &str| metadata.scopes_supported().is_none_or(|all| all.iter().any(|x| x.as_str() == s));
        let mut scopes: Vec<String> = ["email", "profile"].into_iter().map(String::from).collect();
        if config.groups_claim.is_some() {
            if offered("groups") {
                scopes.push("groups".into());
            } else {
                tracing::info!(issuer = %config.issuer, "the OIDC provider offers no `groups` scope; expecting the groups claim without it");
            }
        }
        let iss_required = extra.authorization_response_iss_parameter_supported == Some(true);
        let signing_algs = metadata.id_token_signing_alg_values_supported().clone();
        let jwks_uri = metadata.jwks_uri().clone();
        let jwks = metadata.jwks().clone();

        let client: OidcClient =
            Client::from_provider_metadata(metadata, ClientId::new(config.client_id.clone()), Some(ClientSecret::new(config.client_secret.clone())))
                .set_token_uri(token_url)
                .set_redirect_uri(redirect)
                .set_auth_type(auth_type);
        tracing::info!(issuer = %config.issuer, client_id = %config.client_id, user_claim = %config.user_claim, groups_claim = ?config.groups_claim, "OIDC provider discovered");
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                http,
                issuer,
                jwks_uri,
                signing_algs,
                jwks: RwLock::new((jwks, Instant::now())),
                scopes,
                iss_required,
                config: OidcConfig { user_claim: user_claim.to_owned(), ..config },
            }),
        })
    }

    /// The configuration it was discovered with.
    pub fn config(&self) -> &OidcConfig {
        &self.inner.config
    }

    /// Starts a sign-in: the URL to send the browser to, and what the callback must
    /// match (seal it into a cookie).
    pub fn begin(&self) -> (String, UpstreamPending) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .inner
            .client
            .authorize_url(AuthenticationFlow::<CoreResponseType>::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge);
        for s in &self.inner.scopes {
            request = request.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = request.url();
        let expires_at = Timestamp::now().as_second() + PENDING_TTL.as_secs() as i64;
        let pending =
            UpstreamPending { state: state.into_secret(), nonce: nonce.secret().clone(), verifier: verifier.into_secret(), expires_at, request: String::new() };
        (url.into(), pending)
    }

    /// Finishes a sign-in from the callback's query: the provider's error if it sent
    /// one, else [`finish`](Self::finish).
    pub async fn complete(&self, params: &CallbackParams, pending: &UpstreamPending) -> Result<Identity, OidcError> {
        if let Some(error) = &params.error {
            // Not checked against `state`: an error response grants nothing, and the
            // person should see why the provider refused.
            return Err(OidcError::Provider { error: printable(error, 64), description: params.error_description.as_deref().map(|d| printable(d, 300)) });
        }
        let code = params.code.as_deref().filter(|c| !c.is_empty()).ok_or(OidcError::MissingParameter("code"))?;
        let state = params.state.as_deref().ok_or(OidcError::MissingParameter("state"))?;
        self.finish(code, state, params.iss.as_deref(), pending).await
    }

    /// Finishes a sign-in: checks `returned_state` against `pending` (constant time) and
    /// `returned_iss` (the callback's `iss`, RFC 9207) against the issuer, redeems `code`,
    /// verifies the ID token and reads the user and groups claims.
    pub async fn finish(&self, code: &str, returned_state: &str, returned_iss: Option<&str>, pending: &UpstreamPending) -> Result<Identity, OidcError> {
        let inner = &*self.inner;
        if !bool::from(returned_state.as_bytes().ct_eq(pending.state.as_bytes())) {
            return Err(OidcError::StateMismatch);
        }
        match returned_iss {
            Some(iss) if iss != inner.config.issuer => {
                return Err(OidcError::IssuerMismatch { expected: inner.config.issuer.clone(), got: printable(iss, 200) });
            }
            None if inner.iss_required => {
                return Err(OidcError::IssuerMismatch { expected: inner.config.issuer.clone(), got: "(none: the response has no `iss`)".into() });
            }
            _ => {}
        }
        if pending.expires_at <= Timestamp::now().as_second() {
            return Err(OidcError::NoPendingSignIn);
        }

        let tokens = inner
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&inner.http)
            .await
            .map_err(token_error)?;
        let id_token = tokens.id_token().ok_or_else(|| OidcError::TokenResponse("it has no id_token".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());

        let mut jwks = self.jwks();
        let verifier = loop {
            let verifier = self.verifier(jwks);
            match id_token.claims(&verifier, &nonce) {
                Ok(_) => break verifier,
                Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => match self.refetch_jwks().await? {
                    Some(fresh) => jwks = fresh,
                    None => return Err(OidcError::IdToken("it is signed with a key the provider's JWKS does not have".into())),
                },
                Err(e) => return Err(OidcError::IdToken(claims_reason(&e))),
            }
        };
        let claims = id_token.claims(&verifier, &nonce).map_err(|e| OidcError::IdToken(claims_reason(&e)))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(|e| OidcError::IdToken(e.to_string()))?;
            let key = id_token.signing_key(&verifier).map_err(|e| OidcError::IdToken(e.to_string()))?;
            let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key).map_err(|e| OidcError::IdToken(format!("at_hash: {e}")))?;
            if !bool::from(actual.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(OidcError::IdToken("its at_hash does not match the access token".into()));
            }
        }

        let subject = claims.subject().to_string();
        let from_id_token = ClaimView {
            sub: subject.clone(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified(),
            preferred_username: claims.preferred_username().map(|u| u.to_string()),
            extra: claims.additional_claims().claims.clone(),
        };
        let groups_claim = inner.config.groups_claim.as_deref();
        let need_userinfo = from_id_token.user(&inner.config.user_claim).is_none() || groups_claim.is_some_and(|g| !from_id_token.extra.contains_key(g));
        let userinfo =
            if need_userinfo && inner.client.user_info_url().is_some() { Some(self.userinfo(tokens.access_token().clone(), &subject).await?) } else { None };
        let view = |f: &dyn Fn(&ClaimView) -> bool| if f(&from_id_token) { Some(&from_id_token) } else { userinfo.as_ref().filter(|u| f(u)) };

        let user_claim = inner.config.user_claim.as_str();
        let source = view(&|c| c.user(user_claim).is_some()).ok_or_else(|| OidcError::MissingClaim(user_claim.to_owned()))?;
        let user = source.user(user_claim).expect("checked").to_owned();
        if user.trim().is_empty() {
            return Err(OidcError::BadClaim { claim: user_claim.to_owned(), expected: "a non-empty string" });
        }
        if user_claim == "email" && source.email_verified == Some(false) {
            return Err(OidcError::EmailNotVerified);
        }
        let groups = match groups_claim {
            None => Vec::new(),
            Some(g) => match view(&|c| c.extra.contains_key(g)) {
                None => Vec::new(),
                Some(c) => groups_of(g, &c.extra[g])?,
            },
        };
        Ok(Identity { user, groups, subject })
    }

    /// The current keys.
    fn jwks(&self) -> Jwks {
        self.inner.jwks.read().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    /// Fetches the JWKS again, unless that was done within [`JWKS_REFETCH_INTERVAL`]
    /// (then `None`: the key really is unknown).
    async fn refetch_jwks(&self) -> Result<Option<Jwks>, OidcError> {
        let inner = &*self.inner;
        if inner.jwks.read().unwrap_or_else(|e| e.into_inner()).1.elapsed() < JWKS_REFETCH_INTERVAL {
            return Ok(None);
        }
        let fresh = Jwks::fetch_async(&inner.jwks_uri, &inner.http)
            .await
            .map_err(|e| OidcError::Discovery { issuer: inner.config.issuer.clone(), reason: format!("fetching the JWKS again: {}", discovery_reason(e)) })?;
        *inner.jwks.write().unwrap_or_else(|e| e.into_inner()) = (fresh.clone(), Instant::now());
        tracing::info!(issuer = %inner.config.issuer, "fetched the OIDC provider's keys again (an ID token named an unknown key)");
        Ok(Some(fresh))
    }

    fn verifier(&self, jwks: Jwks) -> IdTokenVerifier<'static, CoreJsonWebKey> {
        let inner = &*self.inner;
        IdTokenVerifier::new_confidential_client(
            ClientId::new(inner.config.client_id.clone()),
            ClientSecret::new(inner.config.client_secret.clone()),
            inner.issuer.clone(),
            jwks,
        )
        .set_allowed_algs(inner.signing_algs.clone())
    }

    async fn userinfo(&self, access_token: AccessToken, subject: &str) -> Result<ClaimView, OidcError> {
        let inner = &*self.inner;
        let request = inner
            .client
            .user_info(access_token, Some(openidconnect::SubjectIdentifier::new(subject.to_owned())))
            .map_err(|e| OidcError::UserInfo(e.to_string()))?;
        let claims: UserInfoClaims<ExtraClaims, CoreGenderClaim> = request.request_async(&inner.http).await.map_err(userinfo_reason)?;
        Ok(ClaimView {
            sub: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified(),
            preferred_username: claims.preferred_username().map(|u| u.to_string()),
            extra: claims.additional_claims().claims.clone(),
        })
    }
}

/// The claims of the ID token or userinfo that naming a user can use.
struct ClaimView {
    sub: String,
    email: Option<String>,
    email_verified: Option<bool>,
    preferred_username: Option<String>,
    extra: HashMap<String, serde_json::Value>,
}

impl ClaimView {
    fn user(&self, claim: &str) -> Option<&str> {
        match claim {
            "sub" => Some(&self.sub),
            "email" => self.email.as_deref(),
            "preferred_username" => self.preferred_username.as_deref(),
            other => self.extra.get(other).and_then(|v| v.as_str()),
        }
    }
}

/// A groups claim: a list of strings, or one string.
fn groups_of(claim: &str, value: &serde_json::Value) -> Result<Vec<String>, OidcError> {
    let bad = || OidcError::BadClaim { claim: claim.to_owned(), expected: "a list of strings" };
    match value {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::String(s) => Ok(vec![s.clone()]),
        serde_json::Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(bad)).collect(),
        _ => Err(bad()),
    }
}

/// At most `max` characters of provider-supplied text, control characters dropped.
fn printable(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

fn discovery_reason(e: DiscoveryError<HttpError>) -> String {
    match e {
        DiscoveryError::Request(e) => e.to_string(),
        // The body is left out: it is the provider's, possibly large.
        DiscoveryError::Response(status, _body, msg) => format!("{msg} (HTTP {status})"),
        DiscoveryError::Parse(e) => format!("invalid metadata or JWKS at `{}`: {}", e.path(), e.inner()),
        DiscoveryError::UrlParse(e) => format!("bad URL: {e}"),
        DiscoveryError::Validation(m) => m,
        DiscoveryError::Other(m) => m,
        other => other.to_string(),
    }
}

fn token_error(e: RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>) -> OidcError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            OidcError::TokenRefused { error: printable(r.error().as_ref(), 64), description: r.error_description().map(|d| printable(d, 300)) }
        }
        RequestTokenError::Request(e) => OidcError::Http(e.to_string()),
        // Only the path: the body holds tokens.
        RequestTokenError::Parse(e, _body) => OidcError::TokenResponse(format!("unparseable at `{}`", e.path())),
        RequestTokenError::Other(m) => OidcError::TokenResponse(printable(&m, 200)),
    }
}

fn claims_reason(e: &ClaimsVerificationError) -> String {
    // openidconnect's messages name expected and found issuers and audiences, never the
    // nonce or the token.
    e.to_string()
}

fn userinfo_reason(e: UserInfoError<HttpError>) -> OidcError {
    OidcError::UserInfo(match e {
        UserInfoError::ClaimsVerification(e) => claims_reason(&e),
        UserInfoError::Parse(e) => format!("unparseable at `{}`", e.path()),
        UserInfoError::Request(e) => e.to_string(),
        UserInfoError::Response(status, _body, msg) => format!("{msg} (HTTP {status})"),
        UserInfoError::Other(m) => m,
        other => other.to_string(),
    })
}

/// openidconnect's HTTP client: the workspace's reqwest, no redirects, time limits,
/// bodies capped at [`MAX_BODY`].
#[derive(Clone)]
struct Http(reqwest::Client);

/// Why a request to the provider failed (no bodies, no credentials, no query strings).
#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("{0}")]
    Transport(String),
    #[error("the response from {0} is larger than {MAX_BODY} bytes")]
    TooLarge(String),
}

impl Http {
    fn new() -> Result<Self, OidcError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("gumloop-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map(Self)
            .map_err(|e| OidcError::Config(format!("building the HTTP client: {e}")))
    }
}

/// `scheme://host[:port]/path` of a URL, without query or credentials.
fn plain(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|e| HttpError::Transport(format!("building the request: {}", e.without_url())))?;
            let url = plain(request.url());
            let mut response = self.0.execute(request).await.map_err(|e| HttpError::Transport(format!("{url}: {}", e.without_url())))?;
            let mut builder = openidconnect::http::Response::builder().status(response.status()).version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
                return Err(HttpError::TooLarge(url));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| HttpError::Transport(format!("{url}: {}", e.without_url())))? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(HttpError::TooLarge(url));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(|e| HttpError::Transport(format!("{url}: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> UpstreamPending {
        UpstreamPending {
            state: "state-1".into(),
            nonce: "nonce-1".into(),
            verifier: "v".repeat(43),
            expires_at: Timestamp::now().as_second() + 600,
            request: String::new(),
        }
    }

    #[test]
    fn pending_round_trips_sealed() {
        let key = [7u8; 32];
        let p = pending().with_request("req_1");
        let sealed = p.seal(&key);
        assert!(sealed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{sealed}");
        assert!(!sealed.contains("state-1") && !sealed.contains("nonce-1"));
        let back = UpstreamPending::open(&sealed, &key, Timestamp::now()).expect("opens");
        assert_eq!((back.state.as_str(), back.nonce.as_str(), back.verifier.as_str(), back.request()), ("state-1", "nonce-1", p.verifier.as_str(), "req_1"));
        // Sealing twice gives different text (random nonce).
        assert_ne!(sealed, p.seal(&key));
        assert!(!format!("{p:?}").contains("state-1"));
    }

    #[test]
    fn pending_refuses_tampering_other_keys_and_expiry() {
        let key = [7u8; 32];
        let p = pending();
        let sealed = p.seal(&key);
        assert!(UpstreamPending::open(&sealed, &[8u8; 32], Timestamp::now()).is_none(), "another key");
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in [0, 24, bytes.len() - 1] {
            bytes[i] ^= 1;
            let t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
            assert!(UpstreamPending::open(&t, &key, Timestamp::now()).is_none(), "flipped byte {i}");
            bytes[i] ^= 1;
        }
        assert!(UpstreamPending::open(&sealed[..sealed.len() - 2], &key, Timestamp::now()).is_none(), "truncated");
        assert!(UpstreamPending::open("", &key, Timestamp::now()).is_none());
        assert!(UpstreamPending::open("not base64!", &key, Timestamp::now()).is_none());
        let later = Timestamp::now() + jiff::SignedDuration::from_secs(601);
        assert!(UpstreamPending::open(&sealed, &key, later).is_none(), "expired");
        // Something else sealed with the same key and XChaCha20-Poly1305 but other
        // associated data does not open as a pending sign-in.
        let nonce = [1u8; 24];
        let ct = XChaCha20Poly1305::new((&key).into())
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &serde_json::to_vec(&p).unwrap(), aad: b"other" })
            .unwrap();
        let other = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([nonce.as_slice(), &ct].concat());
        assert!(UpstreamPending::open(&other, &key, Timestamp::now()).is_none(), "other purpose");
    }

    #[test]
    fn groups_claims_take_lists_or_one_string() {
        assert_eq!(groups_of("g", &serde_json::json!(["a", "b"])).unwrap(), ["a", "b"]);
        assert_eq!(groups_of("g", &serde_json::json!("a")).unwrap(), ["a"]);
        assert!(groups_of("g", &serde_json::json!(null)).unwrap().is_empty());
        assert!(groups_of("g", &serde_json::json!([1])).is_err());
        assert!(groups_of("g", &serde_json::json!({"a": 1})).is_err());
    }

    #[test]
    fn urls_need_https_except_on_loopback() {
        let u = |s: &str| openidconnect::url::Url::parse(s).unwrap();
        assert!(check_url("x", &u("https://idp.example.com"), false).is_ok());
        assert!(check_url("x", &u("http://127.0.0.1:4444"), true).is_ok());
        assert!(check_url("x", &u("http://[::1]:4444"), true).is_ok());
        assert!(check_url("x", &u("http://localhost:4444"), true).is_ok());
        assert!(check_url("x", &u("http://127.0.0.1:4444"), false).is_err(), "http endpoints only under a loopback issuer");
        assert!(check_url("x", &u("http://idp.example.com"), true).is_err());
        assert!(check_url("x", &u("http://10.0.0.1"), true).is_err());
        assert!(check_url("x", &u("ftp://idp.example.com"), true).is_err());
    }

    #[tokio::test]
    async fn discover_refuses_bad_configuration_before_any_request() {
        let config = |issuer: &str| OidcConfig {
            issuer: issuer.into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            redirect_url: "http://127.0.0.1:1/oauth/upstream/callback".into(),
            user_claim: "email".into(),
            groups_claim: None,
        };
        for (c, want) in [
            (config("http://idp.example.com"), "plain http"),
            (config("not a url"), "not a URL"),
            (config("https://idp.example.com/?x=1"), "query"),
            (OidcConfig { user_claim: "name".into(), ..config("https://idp.example.com") }, "cannot name users"),
            (OidcConfig { client_secret: String::new(), ..config("https://idp.example.com") }, "secret is empty"),
            (OidcConfig { redirect_url: "http://example.com/cb".into(), ..config("https://idp.example.com") }, "redirect URL"),
            (OidcConfig { groups_claim: Some("email".into()), ..config("https://idp.example.com") }, "groups claim"),
        ] {
            let e = Upstream::discover(c).await.unwrap_err();
            assert!(matches!(e, OidcError::Config(_)) && e.to_string().contains(want), "{e} (want {want})");
        }
    }
}
