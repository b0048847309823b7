//! Copies the WAL back into the database file, off the writer's path.
//!
//! Why: SQLite's automatic checkpoint runs inside the committing connection, so the writer would
//! spend a good part of its time re-reading and re-writing pages and fsyncing the main file while
//! requests wait. The writer disables it and nudges this thread after each commit instead; a
//! PASSIVE checkpoint never blocks the writer, and once it has caught up the writer restarts the
//! WAL from the beginning, so the file stays small.
//!
//! Under sustained full-speed writes a pass never quite catches up: the writer adds frames while
//! it copies. So once the WAL passes `CATCH_UP_FRAMES`, each pass that ends asks the writer to
//! copy the few frames written during it itself, between two group commits (`CatchUp`): with
//! nothing written meanwhile that pass is complete, and the writer's next transaction starts the
//! WAL over from its beginning. The writer waits for those few frames and one fsync of the
//! database file, a few milliseconds; a WAL that grew without bound would cost disk and startup
//! time instead.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use rusqlite::Connection;

use super::schema;
use crate::store::StoreError;

/// Checkpoint once the WAL holds at least this many pages.
const MIN_FRAMES: i32 = 1000;
/// Past this many pages (64 MiB of 4 KiB pages) the writer finishes each pass itself. RESTART or
/// TRUNCATE checkpoints, or SQLite's `journal_size_limit`, stalled the writer for hundreds of
/// milliseconds in the benchmark (they wait on readers and on the whole copy), so hookd does not
/// use them.
const CATCH_UP_FRAMES: i64 = 16_384;

/// Set by the checkpointer when a pass ended with the WAL past `CATCH_UP_FRAMES`; the writer
/// checks it after each group commit.
#[derive(Clone, Default)]
pub struct CatchUp(Arc<AtomicBool>);

impl CatchUp {
    /// On the writer's connection, between group commits: copies what the last pass left.
    pub fn run_if_asked(&self, conn: &Connection) {
        if self.0.swap(false, Ordering::Relaxed)
            && let Err(e) = checkpoint(conn, "PASSIVE")
        {
            tracing::debug!(error = %e, "catch-up checkpoint skipped");
        }
    }
}

/// The writer's handle: `nudge` after a commit.
pub struct Nudge(SyncSender<()>);

impl Nudge {
    /// Makes `conn` nudge the checkpointer instead of checkpointing itself.
    pub fn install(self, conn: &mut Connection) -> rusqlite::Result<()> {
        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: i32| {
            if frames >= MIN_FRAMES {
                self.nudge();
            }
            Ok(())
        }))
    }

    fn nudge(&self) {
        // A full channel already holds a pending nudge: coalesce.
        if let Err(TrySendError::Disconnected(())) = self.0.try_send(()) {
            tracing::warn!("checkpointer stopped; the WAL will grow until restart");
        }
    }
}

/// Starts the checkpointer; it stops when the `Nudge` is dropped.
pub fn spawn(path: &Path) -> Result<(Nudge, CatchUp, JoinHandle<()>), StoreError> {
    let conn = Connection::open(path)?;
    schema::configure(&conn)?;
    let (tx, rx) = sync_channel(1);
    let catch_up = CatchUp::default();
    let ask = catch_up.clone();
    let handle = std::thread::Builder::new()
        .name("hookd-sqlite-checkpoint".into())
        .spawn(move || run(conn, rx, ask))
        .map_err(|source| StoreError::Io {
            what: "start the checkpointer".into(),
            source,
        })?;
    Ok((Nudge(tx), catch_up, handle))
}

fn run(conn: Connection, nudges: Receiver<()>, catch_up: CatchUp) {
    while nudges.recv().is_ok() {
        match checkpoint(&conn, "PASSIVE") {
            Ok((log, _)) if log >= CATCH_UP_FRAMES => catch_up.0.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
        }
    }
    // Fold the whole WAL into the database on the way out.
    let _ = checkpoint(&conn, "TRUNCATE");
}

/// Runs a checkpoint; returns (pages in the WAL, pages copied into the database).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    conn.query_row(&sql, [], |r| Ok((r.get(1)?, r.get(2)?)))
}
