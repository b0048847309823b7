//! Notices commits made by other processes on the same SQLite file.
//!
//! A second hookd (say `hookd stdio` launched by Claude Desktop while `hookd serve` owns the
//! webhook port) shares the file but not the in-process bus. `PRAGMA data_version` changes when
//! another connection commits; one thread checks it every few milliseconds (a cheap read of a
//! counter in shared memory) and publishes the newest id on the bus, so waiters themselves never
//! poll: they sleep on the bus as usual.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio_util::sync::CancellationToken;

use super::writer::newest_id;
use crate::bus::Bus;
use crate::store::StoreError;

/// Well under the 100 ms within which a second process must see new events.
const INTERVAL: Duration = Duration::from_millis(10);

pub fn spawn(path: &Path, bus: Bus, stop: CancellationToken) -> Result<JoinHandle<()>, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(1))?;
    std::thread::Builder::new()
        .name("hookd-sqlite-watcher".into())
        .spawn(move || watch(conn, bus, stop))
        .map_err(|source| StoreError::Io {
            what: "start the watcher".into(),
            source,
        })
}

fn watch(conn: Connection, bus: Bus, stop: CancellationToken) {
    let data_version =
        |c: &Connection| c.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0));
    let mut seen = data_version(&conn).ok();
    while !stop.is_cancelled() {
        std::thread::sleep(INTERVAL);
        let now = data_version(&conn).ok();
        if now != seen {
            seen = now;
            match newest_id(&conn) {
                Ok(id) => bus.notify(id),
                Err(e) => tracing::warn!(error = %e, "watcher could not read the newest id"),
            }
        }
    }
}
