//! The full-text search index, in its own file (`search.db`) beside the store.
//!
//! Why a second file: FTS5 merges its index segments inside the transactions that write it. In
//! the event store's own transactions that put merge work on the single writer's path and took
//! the p99 of a webhook at 32 connections from 14 to 21 ms. Here one indexer thread copies each
//! committed event's search text (`store::search_text`, stored with the event) into `search.db`
//! under that file's own lock, so ingest never waits for the index.
//!
//! The index follows the store: `indexed` says how far it has got, and a search first waits
//! (briefly) until the index has caught up with everything committed when the search began, so a
//! search always sees the events it should. Answers are joined with the events table, so an event
//! that retention deleted is never returned; a periodic sweep drops the index rows of deleted
//! events too, so the file does not grow with them.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::store::StoreError;

pub const INDEX_FILE: &str = "search.db";
/// Events copied per index transaction.
const BATCH: i64 = 2000;
/// How long the indexer lets commits gather before it copies them, unless a search is waiting.
/// Each index transaction writes a new FTS5 segment that later merges cost again: under load,
/// batches gathered for 50 ms instead of 10 made the indexer cheaper (see PERFORMANCE.md).
const CADENCE: Duration = Duration::from_millis(50);
/// How often index rows of deleted events are dropped.
const SWEEP: Duration = Duration::from_secs(30);

/// Creates `search.db` if needed and returns its path.
pub fn create(data_dir: &Path) -> Result<PathBuf, StoreError> {
    let path = data_dir.join(INDEX_FILE);
    let conn = Connection::open(&path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // The index can always be rebuilt from the store: it needs no fsync per batch.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(type, summary, search_text);
         CREATE TABLE IF NOT EXISTS progress (id INTEGER PRIMARY KEY CHECK (id = 1), indexed INTEGER NOT NULL);
         INSERT OR IGNORE INTO progress (id, indexed) VALUES (1, 0);",
    )?;
    Ok(path)
}

/// How far the indexer has got, for searches to wait on.
#[derive(Clone)]
pub struct Progress {
    indexed: watch::Receiver<i64>,
    indexer: std::thread::Thread,
}

impl Progress {
    /// Waits, up to `timeout`, until every event up to `newest` is indexed; the indexer is told
    /// to copy what it has gathered now rather than at its next beat.
    pub async fn caught_up(&self, newest: i64, timeout: Duration) {
        if *self.indexed.borrow() >= newest {
            return;
        }
        self.indexer.unpark();
        let mut indexed = self.indexed.clone();
        let _ = tokio::time::timeout(timeout, indexed.wait_for(|upto| *upto >= newest)).await;
    }
}

/// Starts the indexer.
pub fn spawn(
    store_path: &Path,
    index_path: &Path,
    bus: Bus,
    stop: CancellationToken,
) -> Result<(JoinHandle<()>, Progress), StoreError> {
    let events = Connection::open_with_flags(
        store_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    events.busy_timeout(Duration::from_secs(5))?;
    let index = Connection::open(index_path)?;
    index.busy_timeout(Duration::from_secs(5))?;
    index.pragma_update(None, "synchronous", "NORMAL")?;
    let start: i64 = index.query_row("SELECT indexed FROM progress", [], |r| r.get(0))?;
    let (tx, rx) = watch::channel(start);
    let handle = std::thread::Builder::new()
        .name("hookd-search-indexer".into())
        .spawn(move || run(events, index, bus, tx, stop))
        .map_err(|source| StoreError::Io {
            what: "start the search indexer".into(),
            source,
        })?;
    let progress = Progress {
        indexed: rx,
        indexer: handle.thread().clone(),
    };
    Ok((handle, progress))
}

fn run(
    events: Connection,
    mut index: Connection,
    bus: Bus,
    indexed: watch::Sender<i64>,
    stop: CancellationToken,
) {
    let mut last_sweep = Instant::now();
    let mut sweep_from = 0;
    while !stop.is_cancelled() {
        let behind = bus.newest() > *indexed.borrow();
        let step = if behind {
            index_batch(&events, &mut index)
        } else {
            Ok(None)
        };
        match step {
            Ok(Some((upto, full))) => {
                indexed.send_replace(upto);
                if full {
                    continue;
                }
            }
            Ok(None) => {}
            Err(e) => {
                // A full disk, say: say so once a second, not on every poll.
                tracing::warn!(error = %e, "search indexer failed; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        if last_sweep.elapsed() >= SWEEP {
            if let Err(e) = sweep(&events, &mut index, &mut sweep_from) {
                tracing::warn!(error = %e, "search index sweep failed");
            }
            last_sweep = Instant::now();
        }
        std::thread::park_timeout(CADENCE);
    }
}

/// Copies the next batch of committed events into the index: the id indexed up to and whether
/// the batch was full (more may wait), or `None` when there was nothing new.
fn index_batch(
    events: &Connection,
    index: &mut Connection,
) -> Result<Option<(i64, bool)>, StoreError> {
    // Another process on the same files may index too: the progress row is read and written in
    // one write-locked transaction of the index file, so no event is indexed twice.
    let tx = index.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let from: i64 = tx.query_row("SELECT indexed FROM progress", [], |r| r.get(0))?;
    let mut read = events.prepare_cached(
        "SELECT id, type, summary, search_text FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = read.query_map(params![from, BATCH], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut upto = from;
    let mut copied = 0;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO fts (rowid, type, summary, search_text) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in rows {
            let (id, event_type, summary, text) = row?;
            insert.execute(params![id, event_type, summary, text])?;
            upto = id;
            copied += 1;
        }
    }
    if copied == 0 {
        return Ok(None);
    }
    tx.execute("UPDATE progress SET indexed = ?1", [upto])?;
    tx.commit()?;
    Ok(Some((upto, copied == BATCH)))
}

/// Ids one sweep checks for holes.
const SWEEP_WINDOW: i64 = 100_000;

/// Drops index rows of events that are gone: everything below the oldest stored event, and, one
/// window of ids per pass (`from` walks the index and wraps around), the holes that per-source
/// caps leave among newer events.
fn sweep(events: &Connection, index: &mut Connection, from: &mut i64) -> Result<(), StoreError> {
    let oldest: Option<i64> = events.query_row("SELECT min(id) FROM events", [], |r| r.get(0))?;
    if let Some(oldest) = oldest {
        index.execute("DELETE FROM fts WHERE rowid < ?1", [oldest])?;
    }
    // Only ids the indexer had finished when `progress` was read: each of those events was
    // committed before `kept` is read, so an event missing from `kept` is really gone.
    let progress: i64 = index.query_row("SELECT indexed FROM progress", [], |r| r.get(0))?;
    let start = (*from).max(oldest.unwrap_or(0));
    let end = (start + SWEEP_WINDOW).min(progress + 1);
    let ids = |conn: &Connection, sql: &str| -> Result<Vec<i64>, StoreError> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![start, end], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let kept: std::collections::HashSet<i64> =
        ids(events, "SELECT id FROM events WHERE id >= ?1 AND id < ?2")?
            .into_iter()
            .collect();
    let indexed = ids(
        index,
        "SELECT rowid FROM fts WHERE rowid >= ?1 AND rowid < ?2",
    )?;
    let tx = index.transaction()?;
    {
        let mut delete = tx.prepare_cached("DELETE FROM fts WHERE rowid = ?1")?;
        for id in indexed.into_iter().filter(|id| !kept.contains(id)) {
            delete.execute([id])?;
        }
    }
    tx.commit()?;
    *from = if end > progress { 0 } else { end };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_follows_the_store_and_sheds_deleted_events() {
        let dir = tempfile::tempdir().unwrap();
        let store_path = dir.path().join(super::super::DB_FILE);
        let mut store = Connection::open(&store_path).unwrap();
        super::super::schema::migrate(&mut store).unwrap();
        for i in 1..=10 {
            store
                .execute(
                    "INSERT INTO events (source, type, received_at, headers, payload_encoding, payload, search_text)
                     VALUES (?1, 't', '2026-01-01T00:00:00.000000Z', '{}', 'json', '{}', ?2)",
                    params![if i % 2 == 0 { "busy" } else { "quiet" }, format!("word{i}")],
                )
                .unwrap();
        }
        let index_path = create(dir.path()).unwrap();
        let events = Connection::open(&store_path).unwrap();
        let mut index = Connection::open(&index_path).unwrap();
        assert_eq!(index_batch(&events, &mut index).unwrap(), Some((10, false)));
        assert_eq!(
            index_batch(&events, &mut index).unwrap(),
            None,
            "nothing new"
        );

        // Retention: the oldest event, and two of the busy source's (a per-source cap).
        store
            .execute("DELETE FROM events WHERE id IN (1, 4, 6)", [])
            .unwrap();
        let mut from = 0;
        sweep(&events, &mut index, &mut from).unwrap();
        let left: Vec<i64> = index
            .prepare("SELECT rowid FROM fts ORDER BY rowid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(left, [2, 3, 5, 7, 8, 9, 10]);
        assert_eq!(from, 0, "the whole index fit in one window: start over");
        let hits: i64 = index
            .query_row(
                "SELECT count(*) FROM fts WHERE fts MATCH 'word8'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hits, 1);
    }
}
