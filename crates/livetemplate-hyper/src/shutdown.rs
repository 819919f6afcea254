//! The shutdown state shared by a [`LiveService`](crate::LiveService), its requests and its
//! sockets: the phase the service is in, and the counts of work in progress that shutdown
//! waits for.
//!
//! Requests ([`crate::routes`]) and sockets ([`crate::socket`]) read the phase and hold
//! guards; the service ([`crate::service`]) moves the phase on and waits for the counts.

use std::sync::Arc;
use std::time::Duration;

use livetemplate_core::App;
use tokio::sync::watch;

/// Where the service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Serving.
    Running,
    /// Shutting down: no new sockets or POSTs; running actions finish.
    Draining,
    /// Actions are done and the store is flushed: sockets close with 1001.
    Closing,
}

/// Counts work in progress; shutdown waits for the count to reach zero.
#[derive(Debug, Clone)]
pub(crate) struct Tracker(watch::Sender<usize>);

impl Tracker {
    pub(crate) fn new() -> Self {
        Tracker(watch::Sender::new(0))
    }

    /// Count one piece of work until the guard drops.
    pub(crate) fn enter(&self) -> TrackGuard {
        self.0.send_modify(|n| *n += 1);
        TrackGuard(self.0.clone())
    }

    /// Wait until nothing is counted, or `grace` passes; false on timeout.
    pub(crate) async fn wait_idle(&self, grace: Duration) -> bool {
        let mut rx = self.0.subscribe();
        tokio::time::timeout(grace, rx.wait_for(|n| *n == 0)).await.is_ok()
    }

    pub(crate) fn count(&self) -> usize {
        *self.0.borrow()
    }
}

/// Decrements its [`Tracker`] on drop.
#[derive(Debug)]
pub(crate) struct TrackGuard(watch::Sender<usize>);

impl Drop for TrackGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// State shared by every clone of a [`LiveService`] and the tasks it spawns.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) app: Arc<App>,
    pub(crate) phase: watch::Sender<Phase>,
    /// Requests being answered, actions running on sockets, HTTP connections.
    pub(crate) work: Tracker,
    /// WebSocket tasks not yet finished (their close frame not yet written).
    pub(crate) sockets: Tracker,
}

impl Shared {
    pub(crate) fn phase(&self) -> Phase {
        *self.phase.borrow()
    }
}

/// Wait until the service reaches `phase` (or a later one).
pub(crate) async fn reached(rx: &mut watch::Receiver<Phase>, phase: Phase) {
    // The borrow `wait_for` returns is a lock guard: drop it here, never hold it across an
    // await. An error means the service is gone, which counts as reaching any phase.
    let _ = rx.wait_for(|p| *p >= phase).await.map(|_| ());
}
