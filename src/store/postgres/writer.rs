//! Group commit on PostgreSQL: a few writer tasks take the queued appends in groups and commit
//! each group in one transaction, answering every append only after its commit.
//!
//! Why the advisory lock: ids come from one sequence, and concurrent transactions commit out of
//! id order (ids 7 and 8 drawn, 8 commits first). A reader that had seen 8 would then never find
//! 7. Each write transaction therefore takes one transaction-scoped advisory lock before it draws
//! ids, across every instance on the database: ids commit in the order they are drawn, and
//! "after id N" is always safe. Group commit keeps the serialization cheap: a commit carries
//! every append that queued while the previous one was in flight.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use deadpool_postgres::{Pool, Transaction};
use futures_util::future::try_join_all;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{derived, unavailable};
use crate::bus::Bus;
use crate::event::Appended;
use crate::store::StoreError;
use crate::store::row::Row;

/// The advisory lock every event-writing transaction holds ("hookdwrt" in ASCII).
pub const WRITE_LOCK: i64 = 0x686f_6f6b_6477_7274;
/// The NOTIFY channel carrying the newest committed id, when wake-ups go through PostgreSQL.
pub const CHANNEL: &str = "hookd_events";
/// How many appends one transaction takes at most.
const MAX_BATCH: usize = 512;

pub type Reply = oneshot::Sender<Result<Appended, StoreError>>;
pub type Jobs = Arc<Mutex<mpsc::Receiver<(Box<Row>, Reply)>>>;

/// One writer: takes a group from the queue, commits it, answers it; until the queue closes.
/// Several writers share the queue, so one gathers a group while another commits.
pub async fn run(pool: Pool, jobs: Jobs, bus: Bus, notify: bool) {
    loop {
        let mut batch = Vec::new();
        {
            let mut queue = jobs.lock().await;
            match queue.recv().await {
                Some(job) => batch.push(job),
                None => return,
            }
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        let rows: Vec<&Row> = batch.iter().map(|(row, _)| row.as_ref()).collect();
        match commit(&pool, &rows, notify).await {
            Ok(results) => {
                if let Some(newest) = results.iter().filter(|a| !a.duplicate).map(|a| a.id).max() {
                    bus.committed(newest);
                }
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, rows = batch.len(), "commit failed; answering 503");
                let message = err.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(StoreError::CommitFailed(message.clone())));
                }
            }
        }
    }
}

/// What happens to one appended row.
enum Outcome {
    /// Already stored (by an earlier commit).
    Stored(i64),
    /// New: the `n`th insert of this commit.
    Insert(usize),
    /// The same delivery as the `n`th insert of this commit.
    SameAs(usize),
}

async fn commit(pool: &Pool, rows: &[&Row], notify: bool) -> Result<Vec<Appended>, StoreError> {
    let mut client = pool.get().await.map_err(unavailable)?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
        .await?;
    let stored = stored_ids(&tx, rows).await?;

    let mut inserts: Vec<&Row> = Vec::new();
    let mut first_in_batch: HashMap<(&str, &str), usize> = HashMap::new();
    let outcomes: Vec<Outcome> = rows
        .iter()
        .map(|row| {
            let key = row.delivery_id.as_deref().map(|d| (row.source.as_str(), d));
            if let Some(key) = key {
                if let Some(id) = stored.get(&(key.0.to_owned(), key.1.to_owned())) {
                    return Outcome::Stored(*id);
                }
                if let Some(n) = first_in_batch.get(&key) {
                    return Outcome::SameAs(*n);
                }
                first_in_batch.insert(key, inserts.len());
            }
            inserts.push(row);
            Outcome::Insert(inserts.len() - 1)
        })
        .collect();

    let ids = insert_events(&tx, &inserts).await?;
    count_sources(&tx, &inserts).await?;
    try_join_all(inserts.iter().zip(&ids).flat_map(|(row, id)| {
        let tx = &tx;
        row.derived
            .iter()
            .map(move |d| derived::insert(tx, *id, &row.received_at, d))
    }))
    .await?;
    if notify && let Some(newest) = ids.iter().max() {
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &newest.to_string()])
            .await?;
    }
    tx.commit().await?;

    Ok(outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Stored(id) => Appended {
                id,
                duplicate: true,
            },
            Outcome::Insert(n) => Appended {
                id: ids[n],
                duplicate: false,
            },
            Outcome::SameAs(n) => Appended {
                id: ids[n],
                duplicate: true,
            },
        })
        .collect())
}

/// The ids of rows whose deliveries are already stored. Looked up before inserting: under the
/// write lock nothing else can store them meanwhile, and no id is drawn for a duplicate.
async fn stored_ids(
    tx: &Transaction<'_>,
    rows: &[&Row],
) -> Result<HashMap<(String, String), i64>, StoreError> {
    let (sources, deliveries): (Vec<&str>, Vec<&str>) = rows
        .iter()
        .filter_map(|r| Some((r.source.as_str(), r.delivery_id.as_deref()?)))
        .unzip();
    if sources.is_empty() {
        return Ok(HashMap::new());
    }
    let found = tx
        .query(
            "SELECT e.source, e.delivery_id, e.id
             FROM unnest($1::text[], $2::text[]) AS k (source, delivery_id)
             JOIN events e ON e.source = k.source AND e.delivery_id = k.delivery_id
             WHERE e.delivery_id IS NOT NULL",
            &[&sources, &deliveries],
        )
        .await?;
    Ok(found
        .into_iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect())
}

/// Inserts the rows, pipelined on one connection, and returns their ids in order.
async fn insert_events(tx: &Transaction<'_>, rows: &[&Row]) -> Result<Vec<i64>, StoreError> {
    let insert = tx
        .prepare_cached(
            "INSERT INTO events (source, type, delivery_id, received_at, headers, content_type,
                                 payload_encoding, payload, verified, subject, occurred_at, summary,
                                 search_text)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             RETURNING id",
        )
        .await?;
    let insert = &insert;
    let rows = try_join_all(rows.iter().map(|e| async move {
        let payload = e.payload.get();
        tx.query_one(
            insert,
            &[
                &e.source,
                &e.event_type,
                &e.delivery_id,
                &e.received_at,
                &e.headers,
                &e.content_type,
                &e.payload_encoding,
                &payload,
                &e.verified,
                &e.subject,
                &e.occurred_at,
                &e.summary,
                &e.search_text,
            ],
        )
        .await
    }))
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Adds the new rows to their sources' totals, one statement per source, in a fixed order (so
/// two transactions touching the same sources cannot deadlock).
async fn count_sources(tx: &Transaction<'_>, rows: &[&Row]) -> Result<(), StoreError> {
    let mut totals: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for row in rows {
        let t = totals.entry(&row.source).or_insert((0, &row.received_at));
        t.0 += 1;
        t.1 = t.1.max(&row.received_at);
    }
    let upsert = tx
        .prepare_cached(
            "INSERT INTO sources (source, count, last_received_at) VALUES ($1, $2, $3)
             ON CONFLICT (source) DO UPDATE SET count = sources.count + excluded.count,
                 last_received_at = greatest(sources.last_received_at, excluded.last_received_at)",
        )
        .await?;
    for (source, (count, last)) in totals {
        tx.execute(&upsert, &[&source, &count, &last]).await?;
    }
    Ok(())
}
