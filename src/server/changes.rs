//! In-process signals that something was written: new events (for event streams) and changed
//! deliveries (for the portal's live log). A signal carries no data, only "look again": the
//! readers read what changed from PostgreSQL, so a missed or merged signal costs nothing but a
//! moment, and writes made by another Herald process are found by the readers' own slow poll.

use std::sync::LazyLock;
use tokio::sync::watch;

static EVENTS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);
static DELIVERIES: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Events were committed.
pub fn events_published() {
    EVENTS.send_modify(|n| *n = n.wrapping_add(1));
}

/// Deliveries were created, attempted, retried or settled.
pub fn deliveries_changed() {
    DELIVERIES.send_modify(|n| *n = n.wrapping_add(1));
}

/// Wakes on every [`events_published`] after the call.
pub fn watch_events() -> watch::Receiver<u64> {
    EVENTS.subscribe()
}

/// Wakes on every [`deliveries_changed`] after the call.
pub fn watch_deliveries() -> watch::Receiver<u64> {
    DELIVERIES.subscribe()
}

/// Resolves when `closing` turns true (the server is shutting down); never if its sender is
/// gone without that (a server that is never stopped).
pub async fn closed(mut closing: watch::Receiver<bool>) {
    if closing.wait_for(|closing| *closing).await.is_err() {
        std::future::pending::<()>().await;
    }
}
