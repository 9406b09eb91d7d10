//! Unit tests of `sessions`.
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio::time::Instant;

use super::*;

fn limits(max_sessions: usize, max_per_server: usize) -> SessionLimits {
    SessionLimits { max_sessions, max_per_server, idle_timeout: Duration::from_secs(120) }
}

/// Admits a session for `owner` the way `create_session` does, with a made-up id.
fn admit(r: &Arc<SessionRegistry>, pool: &Arc<LocalSessionManager>, id: &str, owner: Option<&str>) -> Result<(ActivityGuard, Option<String>), Refusal> {
    let (reservation, victim) = r.reserve(owner.map(Arc::from))?;
    Ok((reservation.commit(Arc::from(id), pool.clone()), victim.map(|v| v.0.to_string())))
}

#[test]
fn at_the_cap_the_least_recently_active_idle_session_goes_first() {
    let (r, pool) = (SessionRegistry::new(limits(3, 10)), Arc::new(LocalSessionManager::default()));
    drop(admit(&r, &pool, "a", None).unwrap());
    drop(admit(&r, &pool, "b", None).unwrap());
    let _busy_c = admit(&r, &pool, "c", None).unwrap();
    // `a` is used again: `b` is now the least recently active.
    drop(r.enter("a", Activity::Request).unwrap());
    let (_d, victim) = admit(&r, &pool, "d", None).unwrap();
    assert_eq!(victim.as_deref(), Some("b"));
    assert_eq!(r.len(), 3);
    // A session with a GET stream goes after those without one, however recent.
    let _stream_a = r.enter("a", Activity::Stream).unwrap();
    drop(_d);
    let (_e, victim) = admit(&r, &pool, "e", None).unwrap();
    assert_eq!(victim.as_deref(), Some("d"));
    let (_f, victim) = admit(&r, &pool, "f", None).unwrap();
    assert_eq!(victim.as_deref(), Some("a"));
    // `c`, `e` and `f` all have requests in flight: nothing can go.
    assert_eq!(admit(&r, &pool, "g", None).err(), Some(Refusal::Total(3)));
    assert_eq!(r.check(&None), Err(Refusal::Total(3)));
    assert_eq!(r.len(), 3, "a refusal takes no slot");
}

#[test]
fn a_server_at_its_cap_evicts_only_its_own_sessions() {
    let (r, pool) = (SessionRegistry::new(limits(10, 2)), Arc::new(LocalSessionManager::default()));
    drop(admit(&r, &pool, "other", Some("mcp_b")).unwrap());
    drop(admit(&r, &pool, "own1", Some("mcp_a")).unwrap());
    let _busy = admit(&r, &pool, "own2", Some("mcp_a")).unwrap();
    // `other` is older, but `mcp_a` makes room from its own sessions.
    let (own3, victim) = admit(&r, &pool, "own3", Some("mcp_a")).unwrap();
    assert_eq!(victim.as_deref(), Some("own1"));
    assert_eq!(admit(&r, &pool, "own4", Some("mcp_a")).err(), Some(Refusal::PerServer(2)));
    // Unscoped sessions and other servers are not held back by it.
    assert!(r.check(&None).is_ok() && r.check(&Some("mcp_b".into())).is_ok());
    // A closed session frees its server's slot.
    drop(own3);
    r.release("own3");
    let (_own5, victim) = admit(&r, &pool, "own5", Some("mcp_a")).unwrap();
    assert_eq!(victim, None);
    assert_eq!(r.len(), 3);
}

#[test]
fn a_reservation_given_up_frees_its_slot() {
    let r = SessionRegistry::new(limits(1, 1));
    let (reservation, _) = r.reserve(Some("mcp_a".into())).unwrap();
    assert_eq!(r.check(&None), Err(Refusal::Total(1)), "a session being created holds its slot");
    drop(reservation);
    assert!(r.is_empty());
    assert!(r.table().per_server.is_empty());
}

#[tokio::test]
async fn create_session_admits_through_the_registry_and_reports_a_refusal() {
    let sessions = BoundedSessions::new(SessionRegistry::new(limits(1, 1)));
    let first = Admission::new(None);
    let (id, _transport) = first.run(sessions.create_session()).await.unwrap();
    let open = first.take_guard().expect("the initialize exchange is open");
    // The only session is busy: a race lost after the middleware's check ends here.
    let second = Admission::new(None);
    assert!(matches!(second.run(sessions.create_session()).await, Err(SessionError::Full(Refusal::Total(1)))));
    assert_eq!(second.refused(), Some(Refusal::Total(1)));
    // Once idle it is evicted for the next one.
    drop(open);
    let (next, _transport) = Admission::new(None).run(sessions.create_session()).await.unwrap();
    assert!(!sessions.has_session(&id).await.unwrap());
    assert!(sessions.has_session(&next).await.unwrap());
    assert_eq!(sessions.registry.len(), 1);
    sessions.close_session(&next).await.unwrap();
    assert!(sessions.registry.is_empty());
}

#[test]
fn only_sessions_with_nothing_open_expire() {
    let (r, pool) = (SessionRegistry::new(limits(10, 10)), Arc::new(LocalSessionManager::default()));
    let start = Instant::now();
    drop(admit(&r, &pool, "idle", None).unwrap());
    let _busy = admit(&r, &pool, "busy", None).unwrap();
    drop(admit(&r, &pool, "listening", None).unwrap());
    let _stream = r.enter("listening", Activity::Stream).unwrap();
    let (closing, _, _) = r.take_idle(start + Duration::from_secs(60));
    assert!(closing.is_empty(), "nothing is idle for the full timeout yet");
    let (closing, _, _) = r.take_idle(start + Duration::from_secs(121));
    assert_eq!(closing.iter().map(|c| c.0.to_string()).collect::<Vec<_>>(), ["idle"]);
    assert_eq!(r.len(), 2);
    assert!(r.enter("idle", Activity::Request).is_none(), "a closed session is not live");
}
