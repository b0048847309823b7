//! The wake-up bus: tells waiters that events up to some id have committed.
//!
//! It carries ids, never payloads, and only ever the newest one: a waiter that was busy when
//! several commits happened sees the latest id once and re-reads the store from its own cursor.
//! So nothing is lost when a waiter lags; the store is the truth, the bus is only a hint.
//!
//! Between instances the hint travels through Redis (`redis`) or PostgreSQL's NOTIFY
//! (`store::Postgres`). (Redis pub/sub messages as events are a way in: `ingest::redis_bridge`.)

pub mod redis;

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The in-process bus. Cheap to clone; every clone notifies the same waiters.
#[derive(Clone, Debug)]
pub struct Bus {
    newest: watch::Sender<i64>,
    /// The newest id committed by this process (what a cross-instance bus publishes).
    local: watch::Sender<i64>,
}

impl Bus {
    /// A bus whose newest committed id starts at `newest`.
    pub fn new(newest: i64) -> Self {
        Self {
            newest: watch::Sender::new(newest),
            local: watch::Sender::new(newest),
        }
    }

    /// Records that events up to `id` are committed; wakes waiters if that is news.
    pub fn notify(&self, id: i64) {
        advance(&self.newest, id);
    }

    /// Records that this process committed events up to `id` (and wakes local waiters).
    pub fn committed(&self, id: i64) {
        advance(&self.newest, id);
        advance(&self.local, id);
    }

    /// Follows the ids this process commits.
    pub fn local_commits(&self) -> watch::Receiver<i64> {
        self.local.subscribe()
    }

    /// The newest id known to be committed.
    pub fn newest(&self) -> i64 {
        *self.newest.borrow()
    }

    /// How many waiters are subscribed right now.
    pub fn waiters(&self) -> usize {
        self.newest.receiver_count()
    }

    pub fn subscribe(&self) -> Waker {
        Waker {
            rx: self.newest.subscribe(),
        }
    }
}

/// One waiter's view of the bus.
#[derive(Debug)]
pub struct Waker {
    rx: watch::Receiver<i64>,
}

impl Waker {
    /// Marks the current newest id as seen and returns it. Call this *before* reading the store,
    /// so a commit that lands after the read still wakes the next `changed`.
    pub fn mark_seen(&mut self) -> i64 {
        *self.rx.borrow_and_update()
    }

    /// Resolves when an id newer than the last one seen is committed. Never resolves if the bus
    /// is gone (the caller's timeout or shutdown ends the wait).
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Moves `newest` to `id` if that is newer, waking its receivers only then.
fn advance(newest: &watch::Sender<i64>, id: i64) {
    newest.send_if_modified(|current| {
        let newer = id > *current;
        if newer {
            *current = id;
        }
        newer
    });
}

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Runs `session` (one connection's life: it returns when the connection fails or ends) again
/// and again until `stop`, waiting 0.1 s doubling to 5 s between attempts; a session that lasted
/// a while starts the backoff over.
pub async fn reconnecting<F, Fut>(what: &str, stop: &CancellationToken, mut session: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        let ended = tokio::select! {
            r = session() => r,
            _ = stop.cancelled() => return,
        };
        if started.elapsed() > MAX_BACKOFF {
            backoff = FIRST_BACKOFF;
        }
        match ended {
            Ok(()) => tracing::warn!(retry_in = ?backoff, "{what}: connection lost; reconnecting"),
            Err(e) => tracing::warn!(error = %e, retry_in = ?backoff, "{what}: connection failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.cancelled() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notify_wakes_a_waiter_only_for_newer_ids() {
        let bus = Bus::new(5);
        let mut w = bus.subscribe();
        assert_eq!(w.mark_seen(), 5);
        bus.notify(4);
        bus.notify(5);
        assert!(!w.rx.has_changed().unwrap());
        bus.notify(7);
        w.changed().await;
        assert_eq!(w.mark_seen(), 7);
        assert_eq!(bus.newest(), 7);
    }
}
