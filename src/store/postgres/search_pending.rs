//! Moves new search entries into the GIN index off the write lock.
//!
//! New rows' search vectors go to the GIN index's pending list (`fastupdate`, PostgreSQL's
//! default), and the insert that fills the list (4 MB by default) merges it into the index
//! itself: about 20 ms, about once a second at full ingest, inside the group transaction that
//! holds hookd's write lock, so every webhook in flight waited for it. This task merges the list
//! from a connection of its own twice a second while events commit, so the writers rarely find
//! it full.

use std::time::Duration;

use deadpool_postgres::Pool;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;

/// How often the pending list is merged while events are being committed.
const EVERY: Duration = Duration::from_millis(500);

pub async fn run(pool: Pool, bus: Bus, stop: CancellationToken) {
    let mut merged_upto = bus.newest();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.cancelled() => return,
        }
        let newest = bus.newest();
        if newest == merged_upto {
            continue;
        }
        let merged = async {
            let client = pool.get().await.map_err(|e| e.to_string())?;
            client
                .execute(
                    "SELECT gin_clean_pending_list('events_search'::regclass)",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())
        };
        match merged.await {
            Ok(_) => merged_upto = newest,
            // The writers still merge a full list themselves: nothing is lost but time.
            Err(e) => {
                tracing::debug!(error = %e, "could not merge the search index's pending list")
            }
        }
    }
}
