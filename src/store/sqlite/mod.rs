//! The embedded store: one SQLite file in WAL mode.
//!
//! One writer thread owns the write connection (group commit, see `writer`); readers take
//! connections from a small pool on tokio's blocking threads; a watcher thread notices commits
//! made by *other* processes on the same file (`PRAGMA data_version`) and wakes local waiters.

mod actions;
mod callbacks;
mod checkpointer;
mod consumers;
mod derived;
mod enrolments;
mod event_rows;
mod index;
mod oauth;
mod reader;
mod schema;
mod search;
mod tasks;
mod triggers;
mod watcher;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use async_trait::async_trait;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::event::{Appended, Event, EventFilter, NewEvent, Page};
use crate::store::{Bounded, Events, Retention, SourceStats, StoreError};
use reader::Readers;
use writer::Job;

/// A stored time column (`time::stored`: one that does not parse reads as the epoch).
fn time(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
    Ok(crate::time::stored(&r.get::<_, String>(i)?))
}

/// A stored optional time column.
fn optional_time(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<chrono::DateTime<chrono::Utc>>> {
    Ok(r.get::<_, Option<String>>(i)?
        .as_deref()
        .map(crate::time::stored))
}

/// The file name inside the data directory.
pub const DB_FILE: &str = "hookd.db";

pub struct Sqlite {
    jobs: mpsc::Sender<Job>,
    readers: Arc<Readers>,
    bus: Bus,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
    stop_watcher: CancellationToken,
    /// How far the search index has got; searches wait on it.
    indexed: index::Progress,
}

impl Sqlite {
    /// Opens the store in `data_dir` if there is one: what readers use (they never create one).
    pub fn open_existing(data_dir: &Path) -> Result<Self, StoreError> {
        if !data_dir.join(DB_FILE).is_file() {
            return Err(StoreError::NoStore(data_dir.to_owned()));
        }
        Self::open(data_dir)
    }

    /// Opens (creating if needed) the store in `data_dir` and starts its writer and watcher.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(StoreError::Io {
                what: format!("use {} as the data directory", data_dir.display()),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            what: format!("create {}", data_dir.display()),
            source,
        })?;
        let path: PathBuf = data_dir.join(DB_FILE);
        // SQLite says only "unable to open database file"; the OS says why (permission denied,
        // read-only file system).
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| StoreError::Io {
                what: format!("open {} for writing", path.display()),
                source,
            })?;
        let mut conn = Connection::open(&path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        let bus = Bus::new(writer::newest_id(&conn)?);
        let (nudge, catch_up, checkpointer) = checkpointer::spawn(&path)?;
        nudge.install(&mut conn)?;

        let (jobs, rx) = mpsc::channel(8192);
        let writer_bus = bus.clone();
        let writer = std::thread::Builder::new()
            .name("hookd-sqlite-writer".into())
            .spawn(move || writer::run(conn, rx, writer_bus, catch_up))
            .map_err(|source| StoreError::Io {
                what: "start the writer".into(),
                source,
            })?;

        let stop_watcher = CancellationToken::new();
        let watcher = watcher::spawn(&path, bus.clone(), stop_watcher.clone())?;
        let index_path = index::create(data_dir)?;
        let (indexer, indexed) =
            index::spawn(&path, &index_path, bus.clone(), stop_watcher.clone())?;
        Ok(Self {
            jobs,
            readers: Arc::new(Readers::new(path, index_path)),
            bus,
            threads: std::sync::Mutex::new(vec![writer, checkpointer, watcher, indexer]),
            stop_watcher,
            indexed,
        })
    }

    async fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)
    }

    /// Runs `f` on the writer's connection, between group commits.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Run(Box::new(move |conn| {
            let _ = tx.send(f(conn));
        })))
        .await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        // Held by the read itself, so a caller that goes away mid-read frees no turn early.
        let turn = (readers.turns.clone().acquire_owned().await).map_err(|_| StoreError::Closed)?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            readers.with(f)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
}

impl Drop for Sqlite {
    /// Stops the watcher and waits for the writer to finish what is queued. The writer ends when
    /// the last job sender is gone, which is this struct's, so it is dropped first.
    fn drop(&mut self) {
        self.stop_watcher.cancel();
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.jobs, closed));
        for t in self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
        {
            let _ = t.join();
        }
    }
}

/// How much `probe_write` writes: `--max-body`'s default.
const PROBE_BYTES: i64 = 1 << 20;

#[async_trait]
impl Events for Sqlite {
    async fn append(&self, event: NewEvent) -> Result<Appended, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Append(Box::new(event.into()), tx)).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn get(&self, id: i64) -> Result<Option<Event>, StoreError> {
        self.read(move |c| reader::get(c, id)).await
    }

    async fn raw_payload(&self, id: i64) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.read(move |c| {
            let sql = "SELECT payload FROM events WHERE id = ?1";
            Ok(c.query_row(sql, [id], |r| r.get(0)).optional()?)
        })
        .await
    }

    async fn raw_payloads(&self, ids: Vec<i64>) -> Result<Vec<(i64, String)>, StoreError> {
        self.read(move |c| {
            // A JSON array of the ids, one statement whatever their number.
            let sql =
                "SELECT id, payload FROM events WHERE id IN (SELECT value FROM json_each(?1))";
            let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
            let rows = c
                .prepare_cached(sql)?
                .query_map([ids], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn query_within(
        &self,
        filter: EventFilter,
        page: Page,
        max_bytes: usize,
    ) -> Result<Bounded, StoreError> {
        self.read(move |c| {
            reader::query(c, &filter, page, max_bytes, crate::store::row::Shape::Whole)
        })
        .await
    }

    async fn list_within(
        &self,
        filter: EventFilter,
        page: Page,
        max_bytes: usize,
    ) -> Result<Bounded, StoreError> {
        self.read(move |c| {
            reader::query(
                c,
                &filter,
                page,
                max_bytes,
                crate::store::row::Shape::Listed,
            )
        })
        .await
    }

    async fn count(&self, filter: EventFilter) -> Result<i64, StoreError> {
        self.read(move |c| reader::count(c, &filter)).await
    }

    async fn count_by_type(
        &self,
        filter: EventFilter,
        max_groups: usize,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.read(move |c| reader::count_by_type(c, &filter, max_groups))
            .await
    }

    async fn sources(&self) -> Result<Vec<SourceStats>, StoreError> {
        self.read(reader::sources).await
    }

    async fn prune(&self, policy: Retention) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = self.write(move |c| writer::prune_step(c, policy)).await?;
            total += n;
            if n < writer::PRUNE_CHUNK {
                return Ok(total);
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        // A row the size of the largest default webhook, written, synced and deleted through the
        // same writer and WAL as every event: a small write can fit in space the WAL already has
        // while an event's cannot.
        self.write(|c| {
            c.execute(
                "INSERT INTO readiness_probe VALUES (zeroblob(?1))",
                [PROBE_BYTES],
            )?;
            c.execute("DELETE FROM readiness_probe", [])?;
            Ok(())
        })
        .await
    }

    fn bus(&self) -> &Bus {
        &self.bus
    }
}
