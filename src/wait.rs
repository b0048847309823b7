//! Waiting for the next matching event without polling.
//!
//! A waiter reads the store from its cursor; if nothing matches it sleeps on the bus until a
//! newer id commits, then reads again. Because the waiter marks the bus as seen *before* each
//! read, a commit that lands between the read and the sleep still wakes it: nothing is missed,
//! and nothing is re-checked on a timer.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::event::{Event, EventFilter, Page};
use crate::store::{Store, StoreError};

/// The longest a single wait may last.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// The first event matching `filter` (whose `after_id` is the caller's cursor), waiting up to
/// `timeout` for one to commit. `None` when the time is up or `stop` is cancelled.
pub async fn next_event(
    store: &dyn Store,
    filter: EventFilter,
    timeout: Duration,
    stop: &CancellationToken,
) -> Result<Option<Event>, StoreError> {
    let deadline = Instant::now() + timeout.min(MAX_WAIT);
    let mut waker = store.bus().subscribe();
    loop {
        waker.mark_seen();
        if let Some(event) = store.query(filter.clone(), Page::Oldest(1)).await?.pop() {
            return Ok(Some(event));
        }
        tokio::select! {
            _ = waker.changed() => {}
            _ = tokio::time::sleep_until(deadline) => return Ok(None),
            _ = stop.cancelled() => return Ok(None),
        }
    }
}
