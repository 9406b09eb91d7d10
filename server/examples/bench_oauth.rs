//! `cargo xtask bench-oauth`: what signing in with OAuth costs per call, in process on
//! the embedded SQLite store: validating an access token and looking up its grant (the
//! hash, one indexed join, unsealing the account key, the audience check, the grant's
//! filters and one filter decision), for a live token and for unknown, revoked and
//! expired ones (which must cost the same); and one argon2id password check, the cost of
//! a sign-in attempt.

use std::sync::Arc;
use std::time::Instant;

use gumloop_mcp::managed::secrets::{Token, TokenHash};
use gumloop_mcp::managed::store::oauth::{AccessRule, ClientKind, CodeRecord, NewClient, NewGrant, NewUser, TokenPair, UserSource};
use gumloop_mcp::managed::store::{NewAccount, Store};

/// Median µs per call over 21 batches of 2,000.
async fn per_call<F, Fut>(mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut batches = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        for _ in 0..2000 {
            f().await;
        }
        batches.push(t.elapsed().as_secs_f64() * 1e6 / 2000.0);
    }
    batches.sort_by(f64::total_cmp);
    batches[10]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = gumloop_mcp::managed::cli::open_store(dir.path()).unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let now = jiff::Timestamp::now();
    let credential = gumloop_mcp::Credential { api_key: Some(gumloop_mcp::Secret::new("test-key")), ..Default::default() };
    let acct = store.create_account(NewAccount { name: "bench".into(), credential }, now).await.unwrap();
    let rule = AccessRule { account_id: acct.id.clone(), methods: None, tags: None };
    let user = store
        .create_user(
            NewUser {
                username: "alice".into(),
                source: UserSource::Local,
                password_hash: Some(gumloop_mcp::managed::password::hash("bench password")),
                access: vec![rule],
            },
            now,
        )
        .await
        .unwrap();
    let client = NewClient {
        client_id: "gmcl_bench".into(),
        name: "bench".into(),
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        kind: ClientKind::Registered,
        token_endpoint_auth_method: "none".into(),
        secret: None,
    };
    store.put_client(client, now).await.unwrap();
    let resource = "http://127.0.0.1:8080/mcp".to_owned();
    let hour = jiff::SignedDuration::from_hours(1);
    let issue = async |access_expires_at: jiff::Timestamp| {
        let grant = NewGrant {
            user_id: user.id.clone(),
            client_id: "gmcl_bench".into(),
            resource: resource.clone(),
            account_id: acct.id.clone(),
            server_id: None,
            scope: "tools:read".into(),
            methods: Some(vec!["read".into()]),
            tags: None,
        };
        let code = Token::generate("gmoc");
        let record = CodeRecord {
            grant_id: String::new(),
            client_id: "gmcl_bench".into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            code_challenge: "x".repeat(43),
            expires_at: now + hour,
        };
        let g = store.create_grant(grant, &code.hash(), &record, now).await.unwrap();
        let (access, refresh) = (Token::generate("gmoa"), Token::generate("gmor"));
        let pair = TokenPair { access: access.hash(), access_expires_at, refresh: refresh.hash(), refresh_expires_at: now + hour };
        store.issue_tokens(&g.id, &pair, now).await.unwrap();
        (g.id, access.reveal().to_owned())
    };
    let (_, live) = issue(now + hour).await;
    let (revoked_grant, revoked) = issue(now + hour).await;
    store.revoke_grant(&revoked_grant, now).await.unwrap();
    let (_, expired) = issue(now + jiff::SignedDuration::from_millis(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let unknown = format!("gmoa_{}", "A".repeat(43));
    let tool = gumloop_mcp_generated::resources::find("list_all_gumloop_flows").unwrap();

    println!("oauth     token validation + grant lookup + filter, in process on SQLite (target <= 25 µs p50):");
    for (label, token) in [("live token", &live), ("unknown token", &unknown), ("revoked grant", &revoked), ("expired token", &expired)] {
        let store = store.clone();
        let resource = resource.clone();
        let cost = per_call(|| {
            let (store, resource, token) = (store.clone(), resource.clone(), token.clone());
            async move {
                let at = jiff::Timestamp::now();
                let g = store.resolve_access_token(&TokenHash::of(std::hint::black_box(&token)), at).await.unwrap();
                let shown = g
                    .filter(|g| g.grant.resource == resource)
                    .and_then(|g| gumloop_mcp::oauth::resource::grant_filters(&g))
                    .map(|(all, any)| all.iter().all(|f| f.allows(tool)) && any.iter().any(|r| r.allows(tool)));
                std::hint::black_box(shown);
            }
        })
        .await;
        println!("oauth       {label}: {cost:.1} µs per call");
    }
    let phc = gumloop_mcp::managed::password::hash("bench password");
    let t = Instant::now();
    for _ in 0..10 {
        std::hint::black_box(gumloop_mcp::managed::password::verify("bench password", &phc));
    }
    println!("oauth     argon2id password check (one sign-in attempt): {:.1} ms", t.elapsed().as_secs_f64() * 1e3 / 10.0);
}
