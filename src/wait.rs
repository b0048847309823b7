//! Following the store from a cursor without polling: the one loop every waiter and pusher uses
//! (`wait_for_event`, `next_events`, `events/stream`, webhook delivery to subscribers, Claude
//! channels, resource-update notifications).
//!
//! A follower marks the bus as seen, *then* reads a bounded batch after its cursor. Because the
//! mark comes before the read, a commit that lands between the read and the sleep still wakes
//! it: nothing is missed, and nothing is re-checked on a timer. The cursor moves only over events
//! the caller says it handled, or, when a read finds nothing, to the newest id committed before
//! that read (skipping events that do not match), never past an event that was not handled.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bus::Waker;
use crate::event::{Event, EventFilter, Page};
use crate::store::{Store, StoreError};

/// The longest a single wait may last.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// Events read per step while catching up (and at most `FOLLOW_BATCH_BYTES` of them).
const BATCH: usize = 100;

/// How much stored text one batch reads at most: what each follower (a stream, a webhook
/// subscription, a channel) holds in memory is bounded whatever the events weigh.
const FOLLOW_BATCH_BYTES: usize = 4 << 20;

/// A reader following the store from a cursor.
pub struct Follow {
    store: Arc<dyn Store>,
    filter: EventFilter,
    cursor: i64,
    waker: Waker,
    batch: usize,
}

impl Follow {
    /// Follows events matching `filter` (its `after_id` is ignored) after `cursor`.
    pub fn new(store: Arc<dyn Store>, filter: EventFilter, cursor: i64) -> Self {
        let waker = store.bus().subscribe();
        Self {
            store,
            filter,
            cursor,
            waker,
            batch: BATCH,
        }
    }

    /// Reads at most `n` events per batch.
    pub fn batches_of(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Everything up to here has been handled (or did not match).
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// The next matching events after the cursor, oldest first, bounded in number and size. Empty
    /// when caught up: the cursor has then moved past everything committed before the read. An
    /// error moves nothing.
    pub async fn next_batch(&mut self) -> Result<Vec<Event>, StoreError> {
        let checked = self.waker.mark_seen();
        let filter = EventFilter {
            after_id: Some(self.cursor),
            ..self.filter.clone()
        };
        let page = Page::Oldest(self.batch);
        let read = self
            .store
            .query_within(filter, page, FOLLOW_BATCH_BYTES)
            .await?;
        if read.events.is_empty() {
            self.cursor = self.cursor.max(checked);
        }
        Ok(read.events)
    }

    /// The caller handled every event up to `id`: the next batch starts after it.
    pub fn handled(&mut self, id: i64) {
        self.cursor = self.cursor.max(id);
    }

    /// Resolves when something newer than the last batch's read has committed.
    pub async fn changed(&mut self) {
        self.waker.changed().await
    }

    /// For a follower that asks the store about the new range instead of reading its events
    /// (resource notifications): marks the bus seen and returns the newest committed id. What lies
    /// between the cursor and it is new; say `handled(newest)` once it is dealt with.
    pub fn newest(&mut self) -> i64 {
        self.waker.mark_seen()
    }
}

/// The first event matching `filter` (whose `after_id` is the caller's cursor), waiting up to
/// `timeout` for one to commit. `None` when the time is up or `stop` is cancelled.
pub async fn next_event(
    store: Arc<dyn Store>,
    filter: EventFilter,
    timeout: Duration,
    stop: &CancellationToken,
) -> Result<Option<Event>, StoreError> {
    next_event_before(store, filter, Instant::now() + timeout.min(MAX_WAIT), stop).await
}

/// Like [`next_event`], waiting until `deadline` however far it is (a task's wait).
pub async fn next_event_before(
    store: Arc<dyn Store>,
    filter: EventFilter,
    deadline: Instant,
    stop: &CancellationToken,
) -> Result<Option<Event>, StoreError> {
    let cursor = filter.after_id.unwrap_or(0);
    let mut follow = Follow::new(store, filter, cursor).batches_of(1);
    loop {
        if let Some(event) = follow.next_batch().await?.pop() {
            return Ok(Some(event));
        }
        tokio::select! {
            _ = follow.changed() => {}
            _ = tokio::time::sleep_until(deadline) => return Ok(None),
            _ = stop.cancelled() => return Ok(None),
        }
    }
}
