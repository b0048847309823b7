//! Copies the WAL back into the database file, off the writer's path.
//!
//! Why: SQLite's automatic checkpoint runs inside the committing connection, so the writer would
//! spend a good part of its time re-reading and re-writing pages and fsyncing the main file while
//! requests wait. The writer disables it and nudges this thread after each commit instead; a
//! PASSIVE checkpoint never blocks the writer, and once it has caught up the writer restarts the
//! WAL from the beginning, so the file stays small.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use rusqlite::Connection;

use super::schema;
use crate::store::StoreError;

/// Checkpoint once the WAL holds at least this many pages.
const MIN_FRAMES: i32 = 1000;
// Under sustained full-speed writes a PASSIVE pass never quite catches up with the writer, so
// the WAL grows until the load pauses; the next commit after a pass that caught up starts it over
// from its beginning, reusing the file's blocks (the file keeps its high-water size until
// shutdown, which truncates it). Bounding it under load with RESTART or TRUNCATE checkpoints, or
// SQLite's `journal_size_limit` (which truncates inside the writer's commit), stalled the writer
// for hundreds of milliseconds in the benchmark (p99 from ~12 ms to 0.5-1.5 s), so hookd does not.

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
pub fn spawn(path: &Path) -> Result<(Nudge, JoinHandle<()>), StoreError> {
    let conn = Connection::open(path)?;
    schema::configure(&conn)?;
    let (tx, rx) = sync_channel(1);
    let handle = std::thread::Builder::new()
        .name("hookd-sqlite-checkpoint".into())
        .spawn(move || run(conn, rx))
        .map_err(|source| StoreError::Io {
            what: "start the checkpointer".into(),
            source,
        })?;
    Ok((Nudge(tx), handle))
}

fn run(conn: Connection, nudges: Receiver<()>) {
    while nudges.recv().is_ok() {
        let result = checkpoint(&conn, "PASSIVE");
        if let Err(e) = result {
            tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
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
