//! The [`ChangeBus`] of replicas sharing one PostgreSQL: `NOTIFY` on publish (delivered
//! at commit to every listening session, this replica's own included), and one dedicated
//! connection per replica that `LISTEN`s and hands what it hears to this process's
//! subscribers. Notifications sent while that connection is down are lost, so after every
//! reconnect subscribers hear [`Change::Resync`].

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_postgres::AsyncMessage;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::managed::changes::{Change, ChangeBus, LocalBus};

/// The channel every replica listens on; payloads are managed server ids.
const CHANNEL: &str = "gumloop_mcp_changes";

/// How long to wait before connecting again after the listening connection failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// See the module documentation.
pub struct PgBus {
    store: Arc<PostgresStore>,
    local: Arc<LocalBus>,
}

impl PgBus {
    /// Publishes through `store`'s pool and listens on a connection of its own to `url`
    /// until `stop` fires.
    pub fn start(store: Arc<PostgresStore>, url: &DatabaseUrl, stop: CancellationToken) -> Self {
        let local = Arc::new(LocalBus::default());
        tokio::spawn(listen(url.config().clone(), local.clone(), stop));
        Self { store, local }
    }
}

#[async_trait::async_trait]
impl ChangeBus for PgBus {
    async fn publish(&self, server_id: &str) -> Result<(), String> {
        let _t = timed(BACKEND, "notify");
        self.store.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &server_id]).await.map(drop).map_err(|e| e.to_string())
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.local.subscribe()
    }
}

/// Keeps one `LISTEN` connection open, reconnecting after failures.
async fn listen(config: tokio_postgres::Config, local: Arc<LocalBus>, stop: CancellationToken) {
    let mut first = true;
    loop {
        match config.connect(tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                // The connection is driven by the stream; LISTEN runs beside it.
                let sql = format!("LISTEN {CHANNEL}");
                let listening = client.batch_execute(&sql);
                tokio::pin!(listening);
                let mut subscribed = false;
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        r = &mut listening, if !subscribed => match r {
                            Ok(()) => {
                                subscribed = true;
                                if !first {
                                    // Whatever was sent while nobody listened is lost.
                                    local.deliver(Change::Resync);
                                }
                                first = false;
                            }
                            Err(e) => { tracing::warn!("LISTEN {CHANNEL} failed: {}", pg(e)); break; }
                        },
                        m = messages.next() => match m {
                            Some(Ok(AsyncMessage::Notification(n))) => local.deliver(Change::Server(n.payload().to_owned())),
                            Some(Ok(_)) => {}
                            Some(Err(e)) => { tracing::warn!("the change listener lost its connection: {}", pg(e)); break; }
                            None => break,
                        },
                    }
                }
            }
            Err(e) => tracing::warn!("the change listener cannot connect: {}", pg(e)),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(RECONNECT_AFTER) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use gumloop_testkit::postgres::TempPostgres;

    use super::*;
    use crate::managed::changes;

    #[tokio::test]
    async fn a_change_published_by_one_replica_reaches_the_other_and_a_reconnect_resyncs() {
        let pg = TempPostgres::start();
        let url: DatabaseUrl = pg.create_database().url.parse().unwrap();
        let key = SealingKey::from_bytes([9; 32]);
        let stop = CancellationToken::new();
        let a = PgBus::start(Arc::new(PostgresStore::connect(&url, key.clone()).await.unwrap()), &url, stop.clone());
        let b = PgBus::start(Arc::new(PostgresStore::connect(&url, key).await.unwrap()), &url, stop.clone());
        let mut heard = b.subscribe();
        // The listener needs a moment to LISTEN; publish until it hears.
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                a.publish("mcp_1").await.unwrap();
                if let Ok(Some(c)) = tokio::time::timeout(Duration::from_millis(200), changes::next(&mut heard)).await {
                    return c;
                }
            }
        })
        .await
        .expect("b heard a's change");
        assert_eq!(got, Change::Server("mcp_1".into()));
        pg.stop();
        pg.start_again();
        let resync = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(Change::Resync) = changes::next(&mut heard).await {
                    return;
                }
            }
        })
        .await;
        assert!(resync.is_ok(), "a reconnected listener tells its subscribers to resync");
        stop.cancel();
    }
}
