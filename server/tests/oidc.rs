//! The OIDC sign-in option against a real OpenID provider: node-oidc-provider on Node 22
//! (`clients/idp/idp.mjs`, started per test by testkit), driven headlessly through its
//! dev login and consent pages. Discovery, the authorization request (PKCE S256, state,
//! nonce), the callback's `state` and `iss`, the code exchange with
//! `client_secret_basic`, ID-token verification, claims from the ID token or userinfo,
//! and the refusals: wrong state, wrong or missing `iss`, a replayed code, a denied
//! consent, an unverified email, a tampered or expired sealed pending sign-in.

use gumloop_mcp::oauth::oidc::{CallbackParams, Identity, OidcConfig, OidcError, Upstream, UpstreamPending};
use gumloop_testkit::idp::{Consent, IdpClient, IdpOptions, TestIdp};

const SECRET: &str = "test-client-secret-4f1c";
/// Never contacted: the headless browser stops at the provider's redirect to it.
const REDIRECT: &str = "http://127.0.0.1:9/oauth/upstream/callback";

fn idp(claims_in_id_token: bool) -> TestIdp {
    TestIdp::start(IdpOptions {
        client: IdpClient { client_id: "gumloop-mcp".into(), client_secret: SECRET.into(), redirect_uri: REDIRECT.into() },
        claims_in_id_token,
    })
}

fn config(idp: &TestIdp) -> OidcConfig {
    OidcConfig {
        issuer: idp.issuer().into(),
        client_id: idp.client().client_id.clone(),
        client_secret: SECRET.into(),
        redirect_url: REDIRECT.into(),
        user_claim: "email".into(),
        groups_claim: Some("groups".into()),
    }
}

/// The callback's query, from the URL the provider redirected to.
fn callback(location: &str) -> CallbackParams {
    let url = reqwest::Url::parse(location).expect("a redirect URL");
    assert!(location.starts_with(REDIRECT), "{location}");
    let get = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
    CallbackParams { code: get("code"), state: get("state"), iss: get("iss"), error: get("error"), error_description: get("error_description") }
}

/// Begins a sign-in and plays the browser at the provider; the callback and the pending.
async fn sign_in(upstream: &Upstream, idp: &TestIdp, login: &str) -> (CallbackParams, UpstreamPending) {
    let (url, pending) = upstream.begin();
    assert!(url.starts_with(&format!("{}/auth?", idp.issuer())), "{url}");
    let location = idp.sign_in(&url, login, Consent::Approve).await;
    (callback(&location), pending)
}

/// No error message carries the code, the state or the client secret.
fn assert_clean(e: &OidcError, cb: &CallbackParams) {
    let text = format!("{e} {e:?}");
    for secret in [cb.code.as_deref().unwrap_or("-"), cb.state.as_deref().unwrap_or("-"), SECRET] {
        assert!(!text.contains(secret), "the error shows a secret: {text}");
    }
}

#[tokio::test]
async fn signs_in_with_claims_from_userinfo() {
    let idp = idp(false);
    let upstream = Upstream::discover(config(&idp)).await.expect("discovery");
    let (url, _) = upstream.begin();
    let url = reqwest::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["scope"], "openid email profile groups");
    assert!(q["state"].len() >= 22 && q["nonce"].len() >= 22 && q["code_challenge"].len() == 43, "{q:?}");

    let (cb, pending) = sign_in(&upstream, &idp, "alice@example.test").await;
    assert_eq!(cb.iss.as_deref(), Some(idp.issuer()), "RFC 9207 iss");
    assert!(!idp.stderr().contains("idp: GET /me"), "no userinfo call yet");
    let who = upstream.complete(&cb, &pending).await.expect("sign-in");
    assert!(idp.stderr().contains("idp: GET /me"), "email and groups come from userinfo:\n{}", idp.stderr());
    assert_eq!(who, Identity { user: "alice@example.test".into(), groups: vec![], subject: "alice@example.test".into() });

    let (cb, pending) = sign_in(&upstream, &idp, "eng-bob").await;
    let who = upstream.complete(&cb, &pending).await.expect("sign-in");
    assert_eq!((who.user.as_str(), who.groups.as_slice()), ("eng-bob@example.test", ["engineering".to_string()].as_slice()));
}

#[tokio::test]
async fn signs_in_with_claims_in_the_id_token_and_other_user_claims() {
    let idp = idp(true);
    let upstream = Upstream::discover(config(&idp)).await.expect("discovery");
    let (cb, pending) = sign_in(&upstream, &idp, "eng-carol@example.test").await;
    let who = upstream.complete(&cb, &pending).await.expect("sign-in");
    assert!(!idp.stderr().contains("idp: GET /me"), "all claims came in the ID token:\n{}", idp.stderr());
    assert_eq!((who.user.as_str(), who.groups.as_slice()), ("eng-carol@example.test", ["engineering".to_string()].as_slice()));

    // `sub` and `preferred_username` as the user claim; no groups claim configured.
    for (claim, want) in [("sub", "dave@corp.test"), ("preferred_username", "dave")] {
        let upstream = Upstream::discover(OidcConfig { user_claim: claim.into(), groups_claim: None, ..config(&idp) }).await.expect("discovery");
        let (url, _) = upstream.begin();
        assert!(url.contains("scope=openid+email+profile&") || url.ends_with("scope=openid+email+profile"), "no groups scope: {url}");
        let (cb, pending) = sign_in(&upstream, &idp, "dave@corp.test").await;
        let who = upstream.complete(&cb, &pending).await.expect("sign-in");
        assert_eq!((who.user.as_str(), who.groups.len()), (want, 0), "{claim}");
    }
}

#[tokio::test]
async fn a_wrong_state_is_refused_before_the_code_is_spent() {
    let idp = idp(false);
    let upstream = Upstream::discover(config(&idp)).await.unwrap();
    let (cb, pending) = sign_in(&upstream, &idp, "alice@example.test").await;
    let code = cb.code.clone().unwrap();
    let state = cb.state.clone().unwrap();

    let mut wrong = state.clone();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    for bad in [wrong.as_str(), "", &state[..state.len() - 1]] {
        let e = upstream.finish(&code, bad, cb.iss.as_deref(), &pending).await.unwrap_err();
        assert!(matches!(e, OidcError::StateMismatch), "{e}");
        assert_clean(&e, &cb);
    }
    // Another sign-in's pending (its own state) does not take this callback either.
    let (_, other) = upstream.begin();
    assert!(matches!(upstream.complete(&cb, &other).await.unwrap_err(), OidcError::StateMismatch));
    // The code was not redeemed by any of those: the right state still works.
    upstream.complete(&cb, &pending).await.expect("the untouched code still signs in");
}

#[tokio::test]
async fn a_replayed_code_is_refused() {
    let idp = idp(false);
    let upstream = Upstream::discover(config(&idp)).await.unwrap();
    let (cb, pending) = sign_in(&upstream, &idp, "alice@example.test").await;
    upstream.complete(&cb, &pending).await.expect("first use");
    let e = upstream.complete(&cb, &pending).await.unwrap_err();
    assert!(matches!(&e, OidcError::TokenRefused { error, .. } if error == "invalid_grant"), "{e}");
    assert_clean(&e, &cb);
}

#[tokio::test]
async fn the_callback_issuer_must_be_the_provider() {
    let idp = idp(false);
    let upstream = Upstream::discover(config(&idp)).await.unwrap();
    let (cb, pending) = sign_in(&upstream, &idp, "alice@example.test").await;
    let evil = CallbackParams { iss: Some("https://evil.example".into()), ..cb.clone() };
    let e = upstream.complete(&evil, &pending).await.unwrap_err();
    assert!(matches!(&e, OidcError::IssuerMismatch { got, .. } if got == "https://evil.example"), "{e}");
    // The provider advertises authorization_response_iss_parameter_supported, so a
    // response without `iss` is refused too.
    let missing = CallbackParams { iss: None, ..cb.clone() };
    let e = upstream.complete(&missing, &pending).await.unwrap_err();
    assert!(matches!(e, OidcError::IssuerMismatch { .. }), "{e}");
    assert_clean(&e, &cb);
    upstream.complete(&cb, &pending).await.expect("the untouched code still signs in");
}

#[tokio::test]
async fn denied_consent_and_unverified_email_are_refused() {
    let idp = idp(false);
    let upstream = Upstream::discover(config(&idp)).await.unwrap();
    let (url, pending) = upstream.begin();
    let cb = callback(&idp.sign_in(&url, "alice@example.test", Consent::Deny).await);
    let e = upstream.complete(&cb, &pending).await.unwrap_err();
    assert!(matches!(&e, OidcError::Provider { error, .. } if error == "access_denied"), "{e}");

    let (cb, pending) = sign_in(&upstream, &idp, "unverified-eve@example.test").await;
    let e = upstream.complete(&cb, &pending).await.unwrap_err();
    assert!(matches!(e, OidcError::EmailNotVerified), "{e}");
    // With `sub` as the user claim the email's verification does not matter.
    let by_sub = Upstream::discover(OidcConfig { user_claim: "sub".into(), ..config(&idp) }).await.unwrap();
    let (cb, pending) = sign_in(&by_sub, &idp, "unverified-eve@example.test").await;
    assert_eq!(by_sub.complete(&cb, &pending).await.unwrap().user, "unverified-eve@example.test");
}

#[tokio::test]
async fn the_sealed_pending_sign_in_round_trips_and_refuses_tampering_and_age() {
    let idp = idp(false);
    let upstream = Upstream::discover(config(&idp)).await.unwrap();
    let key = [42u8; 32];
    let (url, pending) = upstream.begin();
    let pending = pending.with_request("pend_123");
    let sealed = pending.seal(&key);
    let now = jiff::Timestamp::now();
    assert!(UpstreamPending::open(&sealed, &[43u8; 32], now).is_none(), "another key");
    let mut tampered = sealed.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    assert!(UpstreamPending::open(std::str::from_utf8(&tampered).unwrap(), &key, now).is_none(), "tampered");
    let expired = now + jiff::SignedDuration::from_secs(11 * 60);
    assert!(UpstreamPending::open(&sealed, &key, expired).is_none(), "expired");

    // What the cookie gives back finishes the sign-in it began.
    let opened = UpstreamPending::open(&sealed, &key, now).expect("opens");
    assert_eq!(opened.request(), "pend_123");
    let cb = callback(&idp.sign_in(&url, "alice@example.test", Consent::Approve).await);
    assert_eq!(upstream.complete(&cb, &opened).await.unwrap().user, "alice@example.test");
}

#[tokio::test]
async fn discovery_refuses_a_wrong_issuer_and_an_unreachable_provider() {
    let mut idp = idp(false);
    // A trailing slash is another issuer identifier: the metadata's `issuer` differs.
    let e = Upstream::discover(OidcConfig { issuer: format!("{}/", idp.issuer()), ..config(&idp) }).await.unwrap_err();
    assert!(matches!(&e, OidcError::Discovery { reason, .. } if reason.contains("unexpected issuer")), "{e}");
    // A path that serves no metadata.
    let e = Upstream::discover(OidcConfig { issuer: format!("{}/nowhere", idp.issuer()), ..config(&idp) }).await.unwrap_err();
    assert!(matches!(&e, OidcError::Discovery { reason, .. } if reason.contains("404")), "{e}");
    let issuer = idp.issuer().to_owned();
    idp.stop();
    let e = Upstream::discover(OidcConfig { issuer, ..config(&idp) }).await.unwrap_err();
    assert!(matches!(&e, OidcError::Discovery { .. }), "{e}");
    assert!(!format!("{e}").contains(SECRET));
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_at_the_token_endpoint() {
    let idp = idp(false);
    let upstream = Upstream::discover(OidcConfig { client_secret: "not-the-secret".into(), ..config(&idp) }).await.unwrap();
    let (cb, pending) = sign_in(&upstream, &idp, "alice@example.test").await;
    let e = upstream.complete(&cb, &pending).await.unwrap_err();
    assert!(matches!(&e, OidcError::TokenRefused { error, .. } if error == "invalid_client"), "{e}");
    assert!(!format!("{e} {e:?}").contains("not-the-secret"), "{e:?}");
}

/// The futures are `Send`, so axum handlers can await them.
#[test]
fn futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _guard = rt.enter();
    let discover = Upstream::discover(OidcConfig {
        issuer: "https://idp.example.com".into(),
        client_id: "c".into(),
        client_secret: "s".into(),
        redirect_url: REDIRECT.into(),
        user_claim: "email".into(),
        groups_claim: None,
    });
    send(&discover);
    fn finish_is_send(u: &Upstream, p: &UpstreamPending) {
        send(&u.finish("c", "s", None, p));
        send(&u.complete(&CallbackParams::default(), p));
    }
    let _ = finish_is_send;
}
