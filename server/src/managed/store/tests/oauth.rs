//! The OAuth storage contract ([`OAuthStore`]), once, on both backends:
//! `store::tests::oauth::sqlite::<case>` and `store::tests::oauth::postgres::<case>`.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{Fixture, credential, now};
use crate::managed::filter::McpServerConfig;
use crate::managed::secrets::{Token, TokenHash};
use crate::managed::store::oauth::*;
use crate::managed::store::*;

on_both_backends!(
    users_round_trip,
    clients_round_trip,
    browser_sessions_and_pending_requests,
    codes_work_once_and_a_replay_revokes_the_grant,
    access_tokens_resolve_only_while_everything_behind_them_is_live,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    revoking_a_token,
    sweeping_expired_records,
    secrets_are_never_stored_in_plain_text,
);

/// A PHC string of the right shape (hashing a real one is slow in a debug build).
const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
const REDIRECT: &str = "https://claude.ai/api/mcp/auth_callback";
const RESOURCE: &str = "https://mcp.example.com/mcp";

fn at(secs: i64) -> Timestamp {
    now() + SignedDuration::from_secs(secs)
}

fn hash(s: &str) -> TokenHash {
    TokenHash::of(s)
}

fn all_of(account_id: &str) -> Vec<AccessRule> {
    vec![AccessRule { account_id: account_id.to_owned(), methods: None, tags: None }]
}

fn public_client(id: &str) -> NewClient {
    NewClient {
        client_id: id.to_owned(),
        name: "Claude".into(),
        redirect_uris: vec![REDIRECT.into()],
        kind: ClientKind::Dynamic,
        token_endpoint_auth_method: "none".into(),
        secret: None,
    }
}

fn code_record(client_id: &str, expires_at: Timestamp) -> CodeRecord {
    CodeRecord {
        grant_id: String::new(),
        client_id: client_id.to_owned(),
        redirect_uri: REDIRECT.into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        expires_at,
    }
}

/// A token pair named `name` (its token texts are `<name>.access` and `<name>.refresh`).
fn pair(name: &str) -> TokenPair {
    TokenPair {
        access: hash(&format!("{name}.access")),
        access_expires_at: at(3600),
        refresh: hash(&format!("{name}.refresh")),
        refresh_expires_at: at(30 * 86400),
    }
}

/// A store with an account, a server of it, a user who may grant it and a public client.
struct World {
    s: Arc<dyn Store>,
    acct: Account,
    server: McpServer,
    server_token: Token,
    user: User,
    client: Client,
}

async fn world(f: &Fixture) -> World {
    let s = f.open().await;
    let acct = s.create_account(NewAccount { name: "ops".into(), credential: credential("gl_oauth_account_key") }, now()).await.unwrap();
    let (server, server_token) = s.create_server(&acct.id, "srv", &McpServerConfig::default(), None, now()).await.unwrap();
    let user = s
        .create_user(NewUser { username: "ada".into(), source: UserSource::Local, password_hash: Some(PHC.into()), access: all_of(&acct.id) }, now())
        .await
        .unwrap();
    let client = s.put_client(public_client("gmcl_public"), now()).await.unwrap();
    World { s, acct, server, server_token, user, client }
}

impl World {
    fn new_grant(&self, server: bool, client_id: &str) -> NewGrant {
        NewGrant {
            user_id: self.user.id.clone(),
            client_id: client_id.to_owned(),
            resource: if server { format!("{RESOURCE}/servers/{}", self.server.id) } else { RESOURCE.into() },
            account_id: self.acct.id.clone(),
            server_id: server.then(|| self.server.id.clone()),
            scope: "mcp:read".into(),
            methods: Some(vec!["read".into()]),
            tags: None,
        }
    }

    /// A grant (to `/mcp`, or to the server) with its code `code`.
    async fn grant_for(&self, server: bool, client_id: &str, code: &str) -> Grant {
        self.s.create_grant(self.new_grant(server, client_id), &hash(code), &code_record(client_id, at(60)), now()).await.unwrap()
    }

    async fn grant(&self, server: bool, code: &str) -> Grant {
        self.grant_for(server, &self.client.client_id, code).await
    }

    /// A grant with the pair `name` issued.
    async fn issued(&self, server: bool, name: &str) -> (Grant, TokenPair) {
        let grant = self.grant(server, &format!("{name}.code")).await;
        let tokens = pair(name);
        self.s.issue_tokens(&grant.id, &tokens, now()).await.unwrap();
        (grant, tokens)
    }

    async fn live(&self, access: &TokenHash) -> bool {
        self.s.resolve_access_token(access, now()).await.unwrap().is_some()
    }
}

async fn users_round_trip(f: Fixture) {
    let w = world(&f).await;
    let s = &w.s;
    assert_eq!((w.user.username.as_str(), w.user.source, w.user.disabled, w.user.created_at), ("ada", UserSource::Local, false, now()));
    assert_eq!(s.get_user(&w.user.id).await.unwrap(), w.user);
    let dup = s.create_user(NewUser { username: "ada".into(), source: UserSource::Oidc, password_hash: None, access: vec![] }, now()).await;
    assert!(matches!(&dup, Err(StoreError::Invalid(m)) if m.contains("`ada`") && m.contains("already exists")), "{dup:?}");
    let group = s
        .create_user(NewUser { username: "group:eng".into(), source: UserSource::Oidc, password_hash: None, access: all_of(&w.acct.id) }, at(1))
        .await
        .unwrap();
    assert_eq!(s.list_users().await.unwrap(), [w.user.clone(), group.clone()], "oldest first");
    assert_eq!(s.find_user("ada").await.unwrap(), Some((w.user.clone(), Some(PHC.to_owned()))));
    assert_eq!(s.find_user("group:eng").await.unwrap(), Some((group.clone(), None)));
    assert_eq!(s.find_user("nobody").await.unwrap(), None);
    assert!(matches!(s.get_user("usr_nope").await, Err(StoreError::NotFound("user"))));

    let rules = vec![AccessRule { account_id: w.acct.id.clone(), methods: Some(vec!["read".into()]), tags: Some(vec!["flows".into()]) }];
    let later = at(10);
    let changed = s.update_user(&w.user.id, &UserPatch { access: Some(rules.clone()), disabled: Some(true), ..UserPatch::default() }, later).await.unwrap();
    assert_eq!((&changed.access, changed.disabled, changed.updated_at, changed.created_at), (&rules, true, later, now()));
    assert_eq!(s.get_user(&w.user.id).await.unwrap(), changed, "what the update returned is what is stored");
    assert_eq!(s.find_user("ada").await.unwrap().unwrap().1.as_deref(), Some(PHC), "the password hash was left alone");
    let rehashed = UserPatch { password_hash: Some("$argon2id$new".into()), disabled: Some(false), ..UserPatch::default() };
    let changed = s.update_user(&w.user.id, &rehashed, later).await.unwrap();
    assert_eq!((&changed.access, changed.disabled), (&rules, false), "access was left alone");
    assert_eq!(s.find_user("ada").await.unwrap().unwrap().1.as_deref(), Some("$argon2id$new"));
    assert!(matches!(s.update_user("usr_nope", &UserPatch::default(), later).await, Err(StoreError::NotFound("user"))));
    // An OIDC user's groups (from their last sign-in): stored, and left alone by other changes.
    assert!(group.groups.is_empty() && w.user.groups.is_empty());
    let groups = vec!["engineering".to_owned(), "ops".to_owned()];
    let changed = s.update_user(&w.user.id, &UserPatch { groups: Some(groups.clone()), ..UserPatch::default() }, later).await.unwrap();
    assert_eq!((&changed.groups, &changed.access), (&groups, &rules));
    assert_eq!(s.get_user(&w.user.id).await.unwrap().groups, groups);
    assert_eq!(s.find_user("ada").await.unwrap().unwrap().0.groups, groups);
    let changed = s.update_user(&w.user.id, &UserPatch { disabled: Some(false), ..UserPatch::default() }, later).await.unwrap();
    assert_eq!(changed.groups, groups, "groups were left alone");

    // Deleting a user takes their grants (and so their tokens) and sessions with it.
    let (grant, tokens) = w.issued(false, "u").await;
    s.put_browser_session(&hash("cookie"), Some(&w.user.id), at(600)).await.unwrap();
    s.delete_user(&w.user.id).await.unwrap();
    assert!(matches!(s.get_grant(&grant.id).await, Err(StoreError::NotFound("grant"))));
    assert!(!w.live(&tokens.access).await);
    assert_eq!(s.get_browser_session(&hash("cookie"), now()).await.unwrap(), None);
    assert!(matches!(s.delete_user(&w.user.id).await, Err(StoreError::NotFound("user"))));
    assert_eq!(s.list_users().await.unwrap(), [group]);
}

async fn clients_round_trip(f: Fixture) {
    let w = world(&f).await;
    let s = &w.s;
    assert_eq!(s.get_client("gmcl_public").await.unwrap(), Some(w.client.clone()));
    assert_eq!(s.get_client("gmcl_nope").await.unwrap(), None);
    let confidential = NewClient {
        client_id: "gmcl_conf".into(),
        kind: ClientKind::Registered,
        token_endpoint_auth_method: "client_secret_basic".into(),
        secret: Some(hash("gmcs_the_secret")),
        ..public_client("gmcl_conf")
    };
    let conf = s.put_client(confidential.clone(), at(1)).await.unwrap();
    assert_eq!((conf.kind, conf.token_endpoint_auth_method.as_str(), conf.created_at), (ClientKind::Registered, "client_secret_basic", at(1)));
    assert!(s.verify_client_secret("gmcl_conf", &hash("gmcs_the_secret")).await.unwrap());
    assert!(!s.verify_client_secret("gmcl_conf", &hash("gmcs_wrong")).await.unwrap());
    assert!(!s.verify_client_secret("gmcl_public", &hash("gmcs_the_secret")).await.unwrap(), "a public client has no secret");
    assert!(!s.verify_client_secret("gmcl_nope", &hash("gmcs_the_secret")).await.unwrap());
    let dup = s.put_client(confidential, at(2)).await;
    assert!(matches!(&dup, Err(StoreError::Invalid(m)) if m.contains("gmcl_conf")), "{dup:?}");
    assert!(matches!(s.put_client(public_client("gmcl_public"), at(2)).await, Err(StoreError::Invalid(_))), "a dynamic client is not replaced");
    assert_eq!(s.get_client("gmcl_public").await.unwrap(), Some(w.client.clone()), "a refused put changes nothing");

    // A metadata client: a re-fetched document replaces the cached copy, grants kept.
    let url = "https://app.example.com/oauth/client.json";
    let doc = NewClient { client_id: url.into(), kind: ClientKind::Metadata, ..public_client(url) };
    let first = s.put_client(doc.clone(), at(3)).await.unwrap();
    let grant = w.grant_for(false, url, "meta.code").await;
    let refetched = NewClient { name: "App v2".into(), redirect_uris: vec!["http://127.0.0.1/cb".into(), REDIRECT.into()], ..doc.clone() };
    let second = s.put_client(refetched, at(4)).await.unwrap();
    assert_eq!((second.name.as_str(), second.redirect_uris.len(), second.created_at, second.kind), ("App v2", 2, at(4), ClientKind::Metadata));
    assert_ne!(first, second);
    assert_eq!(s.get_client(url).await.unwrap(), Some(second.clone()));
    assert_eq!(s.get_grant(&grant.id).await.unwrap(), grant, "replacing the cached copy keeps its grants");
    let squat = NewClient { kind: ClientKind::Dynamic, ..doc };
    assert!(matches!(s.put_client(squat, at(5)).await, Err(StoreError::Invalid(_))), "a metadata client's id cannot be taken by another kind");
    assert_eq!(s.list_clients().await.unwrap(), [w.client.clone(), conf, second], "oldest first");

    // Deleting a client takes its grants, their tokens and its pending requests.
    let (grant, tokens) = w.issued(false, "c").await;
    let pending = PendingRequest {
        session: hash("cookie"),
        client_id: w.client.client_id.clone(),
        redirect_uri: REDIRECT.into(),
        state: None,
        code_challenge: "c".into(),
        resource: RESOURCE.into(),
        scope: "mcp".into(),
        expires_at: at(600),
    };
    s.put_pending(&hash("pending"), &pending).await.unwrap();
    s.delete_client(&w.client.client_id).await.unwrap();
    assert!(matches!(s.get_grant(&grant.id).await, Err(StoreError::NotFound("grant"))));
    assert!(!w.live(&tokens.access).await);
    assert_eq!(s.get_pending(&hash("pending"), now()).await.unwrap(), None);
    assert!(matches!(s.delete_client(&w.client.client_id).await, Err(StoreError::NotFound("client"))));
    assert!(matches!(s.put_pending(&hash("p2"), &pending).await, Err(StoreError::NotFound("client"))));
}

async fn browser_sessions_and_pending_requests(f: Fixture) {
    let w = world(&f).await;
    let s = &w.s;
    let cookie = hash("session cookie");
    s.put_browser_session(&cookie, None, at(600)).await.unwrap();
    assert_eq!(s.get_browser_session(&cookie, now()).await.unwrap(), Some(BrowserSession { user_id: None, expires_at: at(600) }));
    s.put_browser_session(&cookie, Some(&w.user.id), at(900)).await.unwrap();
    assert_eq!(
        s.get_browser_session(&cookie, now()).await.unwrap(),
        Some(BrowserSession { user_id: Some(w.user.id.clone()), expires_at: at(900) }),
        "signed in"
    );
    assert_eq!(s.get_browser_session(&cookie, at(900)).await.unwrap(), None, "expired");
    assert_eq!(s.get_browser_session(&hash("other"), now()).await.unwrap(), None);
    assert!(matches!(s.put_browser_session(&hash("x"), Some("usr_nope"), at(60)).await, Err(StoreError::NotFound("user"))));
    s.delete_browser_session(&cookie).await.unwrap();
    assert_eq!(s.get_browser_session(&cookie, now()).await.unwrap(), None, "deleted");
    s.delete_browser_session(&cookie).await.unwrap();

    let request = PendingRequest {
        session: cookie,
        client_id: w.client.client_id.clone(),
        redirect_uri: REDIRECT.into(),
        state: Some("xyz".into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        resource: RESOURCE.into(),
        scope: "mcp:read mcp:write".into(),
        expires_at: at(600),
    };
    let handle = hash("pending handle");
    s.put_pending(&handle, &request).await.unwrap();
    assert_eq!(s.get_pending(&handle, now()).await.unwrap(), Some(request.clone()));
    assert_eq!(s.get_pending(&handle, now()).await.unwrap(), Some(request.clone()), "getting does not consume");
    assert_eq!(s.get_pending(&handle, at(600)).await.unwrap(), None, "expired");
    assert_eq!(s.take_pending(&handle, at(600)).await.unwrap(), None, "an expired one is not taken");
    assert_eq!(s.take_pending(&handle, now()).await.unwrap(), Some(request.clone()));
    assert_eq!(s.take_pending(&handle, now()).await.unwrap(), None, "taken once");
    assert_eq!(s.get_pending(&handle, now()).await.unwrap(), None, "a taken one is gone");
    assert_eq!(s.take_pending(&hash("unknown"), now()).await.unwrap(), None);
    let stateless = PendingRequest { state: None, ..request };
    s.put_pending(&hash("h2"), &stateless).await.unwrap();
    assert_eq!(s.get_pending(&hash("h2"), now()).await.unwrap(), Some(stateless));
}

async fn codes_work_once_and_a_replay_revokes_the_grant(f: Fixture) {
    let w = world(&f).await;
    let s = &w.s;
    let grant = w.grant(true, "code-1").await;
    assert_eq!((grant.server_id.as_deref(), grant.revoked_at, grant.created_at), (Some(w.server.id.as_str()), None, now()));
    assert!(grant.id.starts_with("grt_"));
    assert_eq!(s.get_grant(&grant.id).await.unwrap(), grant);
    let expected = CodeRecord { grant_id: grant.id.clone(), ..code_record(&w.client.client_id, at(60)) };
    assert_eq!(s.take_code(&hash("code-1"), at(59)).await.unwrap(), TakenCode::Fresh(expected));
    let tokens = pair("first");
    s.issue_tokens(&grant.id, &tokens, now()).await.unwrap();
    assert!(w.live(&tokens.access).await);
    assert_eq!(s.take_code(&hash("code-1"), at(59)).await.unwrap(), TakenCode::Reused);
    assert!(s.get_grant(&grant.id).await.unwrap().revoked_at.is_some(), "a replay revokes the grant");
    assert!(!w.live(&tokens.access).await, "and what the first use issued");
    assert!(matches!(s.rotate_refresh(&tokens.refresh, &w.client.client_id, &pair("next"), now()).await.unwrap(), Rotation::Invalid));
    assert!(matches!(s.issue_tokens(&grant.id, &pair("late"), now()).await, Err(StoreError::Invalid(_))), "a revoked grant gets no tokens");
    assert!(matches!(s.issue_tokens("grt_nope", &pair("late"), now()).await, Err(StoreError::NotFound("grant"))));

    let late = w.grant(false, "code-2").await;
    assert_eq!(s.take_code(&hash("code-2"), at(60)).await.unwrap(), TakenCode::Unknown, "expired");
    assert_eq!(s.get_grant(&late.id).await.unwrap().revoked_at, None, "an expired code revokes nothing");
    assert_eq!(s.take_code(&hash("never issued"), now()).await.unwrap(), TakenCode::Unknown);
    let revoked = w.grant(false, "code-3").await;
    s.revoke_grant(&revoked.id, now()).await.unwrap();
    assert_eq!(s.take_code(&hash("code-3"), now()).await.unwrap(), TakenCode::Unknown, "its grant was revoked before it was redeemed");

    // What a grant may name.
    let code = code_record(&w.client.client_id, at(60));
    let bad = |g: NewGrant| {
        let s = s.clone();
        let code = code.clone();
        async move { s.create_grant(g, &hash("bad"), &code, now()).await }
    };
    assert!(matches!(bad(NewGrant { user_id: "usr_nope".into(), ..w.new_grant(false, "gmcl_public") }).await, Err(StoreError::NotFound("user"))));
    assert!(matches!(bad(NewGrant { account_id: "acct_nope".into(), ..w.new_grant(false, "gmcl_public") }).await, Err(StoreError::NotFound(_))));
    assert!(matches!(bad(NewGrant { server_id: Some("mcp_nope".into()), ..w.new_grant(false, "gmcl_public") }).await, Err(StoreError::NotFound(_))));
    let other = s.create_account(NewAccount { name: "other".into(), credential: credential("gl_other") }, now()).await.unwrap();
    assert!(
        matches!(bad(NewGrant { account_id: other.id, ..w.new_grant(true, "gmcl_public") }).await, Err(StoreError::Invalid(_))),
        "a server of another account"
    );
    assert!(matches!(bad(w.new_grant(false, "gmcl_nope")).await, Err(StoreError::Invalid(_))), "the code's client is not the grant's");
    assert_eq!(s.take_code(&hash("bad"), now()).await.unwrap(), TakenCode::Unknown, "a refused grant stored no code");

    assert_eq!(s.list_grants(None).await.unwrap().len(), 3);
    assert_eq!(s.list_grants(Some(&w.user.id)).await.unwrap().len(), 3);
    assert!(s.list_grants(Some("usr_other")).await.unwrap().is_empty());
}

async fn access_tokens_resolve_only_while_everything_behind_them_is_live(f: Fixture) {
    let w = world(&f).await;
    let s = &w.s;
    let (grant, tokens) = w.issued(false, "mcp").await;
    let r = s.resolve_access_token(&tokens.access, now()).await.unwrap().expect("live");
    assert_eq!(r.grant, grant);
    assert_eq!(r.grant.methods, Some(vec!["read".to_owned()]));
    assert_eq!(r.credential.api_key.as_ref().map(|k| k.expose()), Some("gl_oauth_account_key"));
    assert_eq!(r.credential.user_id.as_deref(), Some("user_1"));
    assert_eq!((r.server, r.server_token, r.expires_at), (None, None, at(3600)));
    assert_eq!(r.user, w.user);
    // The user comes with their groups (an OIDC user's access adds their groups' rules).
    s.update_user(&w.user.id, &UserPatch { groups: Some(vec!["eng".into()]), ..UserPatch::default() }, now()).await.unwrap();
    assert_eq!(s.resolve_access_token(&tokens.access, now()).await.unwrap().expect("live").user.groups, ["eng"]);
    assert!(s.resolve_access_token(&tokens.access, at(3600)).await.unwrap().is_none(), "expired");
    assert!(s.resolve_access_token(&tokens.refresh, now()).await.unwrap().is_none(), "a refresh token is not an access token");
    assert!(s.resolve_access_token(&hash("unknown"), now()).await.unwrap().is_none());

    let (server_grant, server_tokens) = w.issued(true, "srv").await;
    let r = s.resolve_access_token(&server_tokens.access, now()).await.unwrap().expect("live");
    assert_eq!(r.grant, server_grant);
    assert_eq!(r.server.as_ref(), Some(&w.server));
    assert_eq!(r.server_token, Some(w.server_token.hash()));

    // A disabled user's grants stop working, and work again once enabled.
    s.update_user(&w.user.id, &UserPatch { disabled: Some(true), ..UserPatch::default() }, now()).await.unwrap();
    assert!(!w.live(&tokens.access).await);
    s.update_user(&w.user.id, &UserPatch { disabled: Some(false), ..UserPatch::default() }, now()).await.unwrap();
    assert!(w.live(&tokens.access).await);

    // An expired server: its grants' tokens are refused, /mcp grants are not.
    let expire = ServerPatch { expires_at: Some(Some(now())), ..ServerPatch::default() };
    s.update_server(&w.acct.id, &w.server.id, &expire, now()).await.unwrap();
    assert!(!w.live(&server_tokens.access).await);
    assert!(w.live(&tokens.access).await);
    let unexpire = ServerPatch { expires_at: Some(Some(at(7200))), ..ServerPatch::default() };
    s.update_server(&w.acct.id, &w.server.id, &unexpire, now()).await.unwrap();
    assert!(w.live(&server_tokens.access).await);
    // A deleted server: its grants go with it.
    s.delete_server(&w.acct.id, &w.server.id).await.unwrap();
    assert!(!w.live(&server_tokens.access).await);
    assert!(matches!(s.get_grant(&server_grant.id).await, Err(StoreError::NotFound("grant"))));

    // Revoking a grant ends its tokens at once; revoking again keeps the first instant.
    let revoked = s.revoke_grant(&grant.id, now()).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(now()));
    assert!(!w.live(&tokens.access).await);
    assert!(matches!(s.rotate_refresh(&tokens.refresh, &w.client.client_id, &pair("n"), now()).await.unwrap(), Rotation::Invalid));
    assert_eq!(s.revoke_grant(&grant.id, at(5)).await.unwrap().revoked_at, Some(now()));
    assert!(matches!(s.revoke_grant("grt_nope", now()).await, Err(StoreError::NotFound("grant"))));

    // A deleted account takes its grants.
    let (g, t) = w.issued(false, "acct").await;
    s.delete_account(&w.acct.id).await.unwrap();
    assert!(!w.live(&t.access).await);
    assert!(s.get_grant(&g.id).await.is_err());
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(f: Fixture) {
    let w = world(&f).await;
    let s = &w.s;
    let client = w.client.client_id.as_str();
    let (grant, first) = w.issued(false, "r1").await;
    assert!(matches!(s.rotate_refresh(&first.refresh, "gmcl_other", &pair("x"), now()).await.unwrap(), Rotation::Invalid), "another client's token");
    assert!(matches!(s.rotate_refresh(&first.access, client, &pair("x"), now()).await.unwrap(), Rotation::Invalid), "an access token");
    assert!(matches!(s.rotate_refresh(&hash("unknown"), client, &pair("x"), now()).await.unwrap(), Rotation::Invalid));
    let second = pair("r2");
    match s.rotate_refresh(&first.refresh, client, &second, at(10)).await.unwrap() {
        Rotation::Rotated(g) => assert_eq!(g, grant),
        other => panic!("{other:?}"),
    }
    assert!(w.live(&second.access).await, "the new pair works");
    assert!(w.live(&first.access).await, "the old access token lives out its time");
    let third = pair("r3");
    assert!(matches!(s.rotate_refresh(&second.refresh, client, &third, at(20)).await.unwrap(), Rotation::Rotated(_)));
    // The first refresh token again: reuse. The whole family is revoked.
    assert!(matches!(s.rotate_refresh(&first.refresh, client, &pair("r4"), at(30)).await.unwrap(), Rotation::Reused));
    assert!(s.get_grant(&grant.id).await.unwrap().revoked_at.is_some());
    for access in [&first.access, &second.access, &third.access] {
        assert!(!w.live(access).await, "every access token of the family is dead");
    }
    assert!(matches!(s.rotate_refresh(&third.refresh, client, &pair("r5"), at(40)).await.unwrap(), Rotation::Invalid), "the newest refresh token too");
    assert!(!w.live(&pair("r4").access).await, "nothing was issued on reuse");

    // An expired refresh token, and a disabled user's.
    let (_, old) = w.issued(false, "e1").await;
    assert!(matches!(s.rotate_refresh(&old.refresh, client, &pair("e2"), at(30 * 86400)).await.unwrap(), Rotation::Invalid));
    s.update_user(&w.user.id, &UserPatch { disabled: Some(true), ..UserPatch::default() }, now()).await.unwrap();
    assert!(matches!(s.rotate_refresh(&old.refresh, client, &pair("e3"), now()).await.unwrap(), Rotation::Invalid));
    s.update_user(&w.user.id, &UserPatch { disabled: Some(false), ..UserPatch::default() }, now()).await.unwrap();
    assert!(matches!(s.rotate_refresh(&old.refresh, client, &pair("e4"), now()).await.unwrap(), Rotation::Rotated(_)), "Invalid spent nothing");

    // Concurrent rotations of one token: one rotates, the other is reuse.
    let (_, racy) = w.issued(false, "race").await;
    let (ra, rb) = (pair("ra"), pair("rb"));
    let (a, b) = tokio::join!(s.rotate_refresh(&racy.refresh, client, &ra, now()), s.rotate_refresh(&racy.refresh, client, &rb, now()));
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Rotation::Rotated(_))).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Rotation::Reused)).count(), 1, "{outcomes:?}");
}

async fn revoking_a_token(f: Fixture) {
    let w = world(&f).await;
    let s = &w.s;
    let client = w.client.client_id.as_str();
    let other_client = s.put_client(public_client("gmcl_other"), now()).await.unwrap();
    let theirs = w.grant_for(false, &other_client.client_id, "theirs.code").await;
    let their_tokens = pair("theirs");
    s.issue_tokens(&theirs.id, &their_tokens, now()).await.unwrap();

    let (grant, tokens) = w.issued(false, "mine").await;
    s.revoke_token(&tokens.access, client, now()).await.unwrap();
    assert!(!w.live(&tokens.access).await, "the access token is revoked");
    assert_eq!(s.get_grant(&grant.id).await.unwrap().revoked_at, None, "alone");
    let next = pair("mine2");
    assert!(matches!(s.rotate_refresh(&tokens.refresh, client, &next, now()).await.unwrap(), Rotation::Rotated(_)), "its refresh token still works");
    s.revoke_token(&next.refresh, client, now()).await.unwrap();
    assert!(s.get_grant(&grant.id).await.unwrap().revoked_at.is_some(), "a refresh token takes its grant");
    assert!(!w.live(&next.access).await);

    s.revoke_token(&their_tokens.access, client, now()).await.unwrap();
    s.revoke_token(&their_tokens.refresh, client, now()).await.unwrap();
    assert!(w.live(&their_tokens.access).await, "another client's tokens are untouched");
    assert_eq!(s.get_grant(&theirs.id).await.unwrap().revoked_at, None);
    s.revoke_token(&hash("unknown"), client, now()).await.unwrap();
}

async fn sweeping_expired_records(f: Fixture) {
    let w = world(&f).await;
    let s = &w.s;
    s.put_browser_session(&hash("s1"), None, at(60)).await.unwrap();
    s.put_browser_session(&hash("s2"), Some(&w.user.id), at(7200)).await.unwrap();
    let pending = |expires_at| PendingRequest {
        session: hash("s1"),
        client_id: w.client.client_id.clone(),
        redirect_uri: REDIRECT.into(),
        state: None,
        code_challenge: "c".into(),
        resource: RESOURCE.into(),
        scope: "mcp".into(),
        expires_at,
    };
    s.put_pending(&hash("p1"), &pending(at(60))).await.unwrap();
    s.put_pending(&hash("p2"), &pending(at(7200))).await.unwrap();
    // Codes expire at +60 s; access tokens at +1 h, refresh tokens at +30 days.
    let (_, a) = w.issued(false, "a").await;
    let (_, b) = w.issued(false, "b").await;
    assert!(matches!(s.rotate_refresh(&b.refresh, &w.client.client_id, &pair("b2"), now()).await.unwrap(), Rotation::Rotated(_)));
    assert_eq!(s.sweep_oauth(now()).await.unwrap(), 0, "nothing has expired");
    // At +2 h: a session, a pending request, two codes and three access tokens.
    assert_eq!(s.sweep_oauth(at(7199)).await.unwrap(), 1 + 1 + 2 + 3);
    assert_eq!(s.get_browser_session(&hash("s2"), at(7199)).await.unwrap().map(|b| b.expires_at), Some(at(7200)));
    assert!(s.get_pending(&hash("p2"), at(7199)).await.unwrap().is_some());
    assert!(
        matches!(s.rotate_refresh(&b.refresh, &w.client.client_id, &pair("b3"), at(7199)).await.unwrap(), Rotation::Reused),
        "a spent refresh token is kept until it expires, so reuse is still seen"
    );
    assert!(matches!(s.rotate_refresh(&a.refresh, &w.client.client_id, &pair("a2"), at(7199)).await.unwrap(), Rotation::Rotated(_)));
    // At +31 days everything else: a session, a pending request, the refresh tokens
    // (a, b, b2, a2) and the access token issued at +2 h.
    assert_eq!(s.sweep_oauth(at(31 * 86400)).await.unwrap(), 1 + 1 + 4 + 1);
    assert_eq!(s.sweep_oauth(at(31 * 86400)).await.unwrap(), 0);
}

async fn secrets_are_never_stored_in_plain_text(f: Fixture) {
    let s = f.open().await;
    let password = "correct horse battery staple 42";
    let acct = s.create_account(NewAccount { name: "a".into(), credential: credential("gl_live_OAUTH_0123456789") }, now()).await.unwrap();
    let (server, _) = s.create_server(&acct.id, "s", &McpServerConfig::default(), None, now()).await.unwrap();
    let phc = crate::managed::password::hash(password);
    let user = s
        .create_user(NewUser { username: "grace".into(), source: UserSource::Local, password_hash: Some(phc.clone()), access: all_of(&acct.id) }, now())
        .await
        .unwrap();
    let [secret, cookie, handle, code, access, refresh, access2, refresh2] =
        ["gmcs", "gmbs", "gmpr", "gmac", "gmoa", "gmor", "gmoa", "gmor"].map(Token::generate);
    let client = NewClient {
        client_id: "gmcl_conf".into(),
        kind: ClientKind::Registered,
        token_endpoint_auth_method: "client_secret_post".into(),
        secret: Some(secret.hash()),
        ..public_client("gmcl_conf")
    };
    s.put_client(client, now()).await.unwrap();
    s.put_browser_session(&cookie.hash(), Some(&user.id), at(600)).await.unwrap();
    let request = PendingRequest {
        session: cookie.hash(),
        client_id: "gmcl_conf".into(),
        redirect_uri: REDIRECT.into(),
        state: Some("state".into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        resource: RESOURCE.into(),
        scope: "mcp".into(),
        expires_at: at(600),
    };
    s.put_pending(&handle.hash(), &request).await.unwrap();
    let grant = NewGrant {
        user_id: user.id.clone(),
        client_id: "gmcl_conf".into(),
        resource: format!("{RESOURCE}/servers/{}", server.id),
        account_id: acct.id.clone(),
        server_id: Some(server.id.clone()),
        scope: "mcp".into(),
        methods: None,
        tags: None,
    };
    let grant = s.create_grant(grant, &code.hash(), &code_record("gmcl_conf", at(60)), now()).await.unwrap();
    let first = TokenPair { access: access.hash(), access_expires_at: at(3600), refresh: refresh.hash(), refresh_expires_at: at(86400) };
    s.issue_tokens(&grant.id, &first, now()).await.unwrap();
    let second = TokenPair { access: access2.hash(), access_expires_at: at(3600), refresh: refresh2.hash(), refresh_expires_at: at(86400) };
    assert!(matches!(s.rotate_refresh(&refresh.hash(), "gmcl_conf", &second, now()).await.unwrap(), Rotation::Rotated(_)));

    let cells = f.cells();
    for table in ["oauth_users", "oauth_clients", "oauth_grants", "oauth_codes", "oauth_tokens", "oauth_browser_sessions", "oauth_pending"] {
        assert!(cells.iter().any(|c| c.starts_with(&format!("{table}: "))), "read {table}: {cells:?}");
    }
    assert!(cells.iter().any(|c| c.contains(&phc)), "the password hash is stored as its PHC string");
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    let raw = f.raw();
    let mut plain: Vec<&str> = vec![password, "gl_live_OAUTH_0123456789"];
    plain.extend([&secret, &cookie, &handle, &code, &access, &refresh, &access2, &refresh2].map(Token::reveal));
    for p in plain {
        let hex: String = p.bytes().map(|b| format!("{b:02x}")).collect();
        for form in [p, hex.as_str()] {
            assert!(!cells.iter().any(|c| c.contains(form)), "`{p}` is in a cell of the database");
            assert!(!raw.windows(form.len()).any(|w| w == form.as_bytes()), "`{p}` is in the database's bytes");
        }
    }
}
