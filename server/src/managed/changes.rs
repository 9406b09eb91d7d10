//! Word that a managed server's tools may have changed, for every process serving it.
//!
//! A replica that changes a server's config (the admin API) or notices that its flow
//! tools changed [`ChangeBus::publish`]es the server's id; every replica, itself
//! included, hears it and tells its own listeners (`notifications/tools/list_changed`).
//! [`LocalBus`] is one process's bus (the embedded store: one process per data
//! directory); the PostgreSQL store's bus is `LISTEN`/`NOTIFY`, where a listener that
//! lost its connection may have missed messages and hears [`Change::Resync`].

use tokio::sync::broadcast;

/// What was heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// This managed server's tools may have changed.
    Server(String),
    /// Messages may have been missed: treat every server as changed.
    Resync,
}

/// Carries [`Change`]s between the processes that serve managed servers.
#[async_trait::async_trait]
pub trait ChangeBus: Send + Sync + 'static {
    /// Tells every process (this one included) that `server_id` may have changed.
    async fn publish(&self, server_id: &str) -> Result<(), String>;
    /// Hears every change published from now on.
    fn subscribe(&self) -> broadcast::Receiver<Change>;
}

/// How many changes a slow subscriber may fall behind before it hears `Resync`.
pub const CAPACITY: usize = 256;

/// One process's bus.
pub struct LocalBus(broadcast::Sender<Change>);

impl Default for LocalBus {
    fn default() -> Self {
        Self(broadcast::channel(CAPACITY).0)
    }
}

impl LocalBus {
    /// Delivers `change` to this process's subscribers (also how a networked bus hands on
    /// what it heard).
    pub fn deliver(&self, change: Change) {
        // No subscriber is not an error: nobody listens yet.
        let _ = self.0.send(change);
    }
}

#[async_trait::async_trait]
impl ChangeBus for LocalBus {
    async fn publish(&self, server_id: &str) -> Result<(), String> {
        self.deliver(Change::Server(server_id.to_owned()));
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.subscribe()
    }
}

/// The next change for a subscriber; a subscriber that fell behind hears `Resync`.
/// `None` once the bus is gone.
pub async fn next(rx: &mut broadcast::Receiver<Change>) -> Option<Change> {
    match rx.recv().await {
        Ok(change) => Some(change),
        Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Resync),
        Err(broadcast::error::RecvError::Closed) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_published_change_reaches_every_subscriber_and_lag_becomes_resync() {
        let bus = LocalBus::default();
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        bus.publish("mcp_1").await.unwrap();
        assert_eq!(next(&mut a).await, Some(Change::Server("mcp_1".into())));
        assert_eq!(next(&mut b).await, Some(Change::Server("mcp_1".into())));
        for i in 0..CAPACITY + 1 {
            bus.publish(&format!("mcp_{i}")).await.unwrap();
        }
        assert_eq!(next(&mut a).await, Some(Change::Resync), "a subscriber that fell behind is told to resync");
    }
}
