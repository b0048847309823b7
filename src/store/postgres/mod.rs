//! The shared store: PostgreSQL, for several hookd instances on one database.
//!
//! Appends queue for a few writer tasks that commit them in groups (`writer`: group commit, and
//! the advisory lock that makes ids commit in order across instances). Everything else runs on a
//! pooled connection. Other instances' commits reach this one's bus through `NOTIFY`/`LISTEN`
//! (`listen`), or through Redis when `bus::redis` carries the wake-ups.

mod callbacks;
mod derived;
mod enrolments;
mod event_rows;
mod listen;
mod oauth;
mod reader;
pub(super) mod schema;
mod search_pending;
mod tasks;
mod triggers;
pub(super) mod tsvector;
mod upkeep;
pub(super) mod writer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::NoTls;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::event::{Appended, Event, EventFilter, NewEvent, Page};
use crate::store::row::Row;
use crate::store::{Bounded, Events, Retention, SourceStats, StoreError};

/// A stored time column (`time::stored`: one that does not parse reads as the epoch).
fn time(r: &tokio_postgres::Row, i: usize) -> chrono::DateTime<chrono::Utc> {
    crate::time::stored(r.get(i))
}

/// A stored optional time column.
fn optional_time(r: &tokio_postgres::Row, i: usize) -> Option<chrono::DateTime<chrono::Utc>> {
    r.get::<_, Option<&str>>(i).map(crate::time::stored)
}

/// Runs `sql` as a statement prepared once per connection: after the first time the cache
/// answers without a round trip, so the statement costs one round trip (a statement sent as text
/// costs two: prepare, then execute).
async fn execute_cached(
    c: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.execute(&statement, params).await
}

/// Writer tasks: one gathers the next group while another commits.
const WRITERS: usize = 2;
/// Pooled connections (writers and readers together).
const POOL_SIZE: usize = 16;
/// How long a request waits for a connection (or for PostgreSQL to answer a new one) before it
/// fails with a clear error, so an outage answers 503 quickly instead of hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where wake-ups between instances travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeUps {
    /// `NOTIFY` in every write transaction, `LISTEN` on a dedicated connection.
    ListenNotify,
    /// Something else (the Redis bus) carries them; the store only notifies its own bus.
    External,
}

pub struct Postgres {
    pool: Pool,
    jobs: mpsc::Sender<(Box<Row>, writer::Reply)>,
    bus: Bus,
    store_id: String,
    stop: CancellationToken,
}

/// One connection outside the pool (for `hookd migrate-to`).
pub(super) async fn connect(url: &str) -> Result<tokio_postgres::Client, StoreError> {
    let (client, connection) = config(url)?.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The connection settings in `url`, with hookd's timeout and name.
fn config(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    // The parse error says what is wrong without repeating the URL (it may hold a password).
    let mut config: tokio_postgres::Config = url.parse().map_err(StoreError::BadUrl)?;
    config.connect_timeout(CONNECT_TIMEOUT);
    if config.get_application_name().is_none() {
        config.application_name("hookd");
    }
    Ok(config)
}

impl Postgres {
    /// Connects, migrates the schema, and starts the writers (and the listener).
    pub async fn open(url: &str, wake_ups: WakeUps) -> Result<Self, StoreError> {
        let config = config(url)?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()?;
        let mut client = pool.get().await?;
        schema::migrate(&mut client).await?;
        let newest = reader::newest_id(&client).await?;
        let store_id: String = client
            .query_one("SELECT value FROM hookd_meta WHERE key = 'store_id'", &[])
            .await?
            .get(0);
        drop(client);

        let bus = Bus::new(newest);
        let stop = CancellationToken::new();
        let (jobs, queue) = mpsc::channel(8192);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let notify = wake_ups == WakeUps::ListenNotify;
        for _ in 0..WRITERS {
            tokio::spawn(writer::run(
                pool.clone(),
                queue.clone(),
                bus.clone(),
                notify,
            ));
        }
        if notify {
            tokio::spawn(listen::run(config, bus.clone(), stop.clone()));
        }
        tokio::spawn(search_pending::run(pool.clone(), bus.clone(), stop.clone()));
        Ok(Self {
            pool,
            jobs,
            bus,
            store_id,
            stop,
        })
    }

    /// This database's identity (made by the first migration): instances sharing the store share
    /// it, and no other store has it.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The newest committed event id.
    pub async fn newest_id(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(reader::newest_id(&client).await?)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }
}

/// What the Redis bus needs of a shared store.
#[async_trait]
impl crate::bus::redis::Shared for Postgres {
    fn store_id(&self) -> &str {
        &self.store_id
    }

    async fn newest_committed(&self) -> Result<i64, String> {
        self.newest_id().await.map_err(|e| e.to_string())
    }

    fn bus(&self) -> &Bus {
        &self.bus
    }
}

impl Drop for Postgres {
    /// Stops the listener and the pending-list merger. The writers end by themselves once the
    /// queue's sender (this struct's) is gone and what is queued is committed.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[async_trait]
impl Events for Postgres {
    async fn append(&self, event: NewEvent) -> Result<Appended, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send((Box::new(event.into()), tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn get(&self, id: i64) -> Result<Option<Event>, StoreError> {
        reader::get(&self.client().await?, id).await
    }

    async fn raw_payload(&self, id: i64) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let sql = "SELECT payload FROM events WHERE id = $1";
        let row = client.query_opt(sql, &[&id]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn raw_payloads(&self, ids: Vec<i64>) -> Result<Vec<(i64, String)>, StoreError> {
        let client = self.client().await?;
        let sql = "SELECT id, payload FROM events WHERE id = ANY($1)";
        let rows = client.query(sql, &[&ids]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn query_within(
        &self,
        filter: EventFilter,
        page: Page,
        max_bytes: usize,
    ) -> Result<Bounded, StoreError> {
        let client = self.client().await?;
        reader::query(
            &client,
            &filter,
            page,
            max_bytes,
            crate::store::row::Shape::Whole,
        )
        .await
    }

    async fn list_within(
        &self,
        filter: EventFilter,
        page: Page,
        max_bytes: usize,
    ) -> Result<Bounded, StoreError> {
        let client = self.client().await?;
        reader::query(
            &client,
            &filter,
            page,
            max_bytes,
            crate::store::row::Shape::Listed,
        )
        .await
    }

    async fn count(&self, filter: EventFilter) -> Result<i64, StoreError> {
        let client = self.client().await?;
        reader::count(&client, &filter).await
    }

    async fn count_by_type(
        &self,
        filter: EventFilter,
        max_groups: usize,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let client = self.client().await?;
        reader::count_by_type(&client, &filter, max_groups).await
    }

    async fn sources(&self) -> Result<Vec<SourceStats>, StoreError> {
        reader::sources(&self.client().await?).await
    }

    async fn prune(&self, policy: Retention) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let mut total = 0;
        loop {
            let n = upkeep::prune_step(&mut client, policy).await?;
            total += n;
            if n < upkeep::PRUNE_CHUNK {
                // Retention's tick is also when the statistics are kept fresh.
                let analyzed = upkeep::analyze_if_stale(&client).await?;
                if !analyzed.is_empty() {
                    tracing::info!(tables = ?analyzed, "refreshed PostgreSQL planner statistics");
                }
                return Ok(total);
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client().await?.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        // A new version of one row: WAL is written and flushed at commit, like any event's.
        self.client()
            .await?
            .execute(
                "UPDATE hookd_meta SET value = value WHERE key = 'store_id'",
                &[],
            )
            .await?;
        Ok(())
    }

    fn bus(&self) -> &Bus {
        &self.bus
    }
}
