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
use tokio::sync::{Mutex, mpsc, oneshot};

use super::derived;
use crate::bus::Bus;
use crate::derive::Derived;
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
        let started = std::time::Instant::now();
        match commit(&pool, &rows, notify).await {
            Ok(results) => {
                crate::telemetry::committed(results.len(), started.elapsed());
                if let Some(newest) = results.iter().filter(|a| !a.duplicate).map(|a| a.id).max() {
                    bus.committed(newest);
                }
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, rows = batch.len(), "commit failed; answering 503");
                let err = std::sync::Arc::new(err);
                for (_, reply) in batch {
                    let _ = reply.send(Err(StoreError::CommitFailed(err.clone())));
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
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // Pipelined, and run in this order by PostgreSQL: the lookup happens under the lock.
    let lock = async {
        let locked = tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]);
        locked.await.map_err(StoreError::from)
    };
    let (_, stored) = futures_util::try_join!(lock, stored_ids(&tx, rows))?;
    let (outcomes, inserts) = plan(rows, &stored);
    let ids = draw_ids(&tx, inserts.len()).await?;
    let derived: Vec<(i64, &str, &Derived)> = inserts
        .iter()
        .zip(&ids)
        .flat_map(|(row, id)| {
            row.derived
                .iter()
                .map(|d| (*id, row.received_at.as_str(), d))
        })
        .collect();
    let newest = ids.last().copied().filter(|_| notify);
    // Pipelined: one round trip for the whole group's statements.
    futures_util::try_join!(
        insert_events(&tx, &ids, &inserts),
        count_sources(&tx, &inserts),
        derived::insert_all(&tx, &derived),
        announce(&tx, newest),
    )?;
    let seen_again: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Stored(id) => Some(*id),
            Outcome::SameAs(n) => Some(ids[*n]),
            Outcome::Insert(_) => None,
        })
        .collect();
    count_duplicates(&tx, &seen_again).await?;
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

/// What becomes of each row, and the rows to insert (a delivery already stored, or twice in the
/// group, is inserted at most once).
fn plan<'r>(rows: &[&'r Row], stored: &HashMap<usize, i64>) -> (Vec<Outcome>, Vec<&'r Row>) {
    let mut inserts: Vec<&Row> = Vec::new();
    let mut first_in_batch: HashMap<(&str, &str), usize> = HashMap::new();
    let outcomes = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            if let Some(id) = stored.get(&i) {
                return Outcome::Stored(*id);
            }
            if let Some(d) = row.delivery_id.as_deref() {
                let key = (row.source.as_str(), d);
                if let Some(n) = first_in_batch.get(&key) {
                    return Outcome::SameAs(*n);
                }
                first_in_batch.insert(key, inserts.len());
            }
            inserts.push(row);
            Outcome::Insert(inserts.len() - 1)
        })
        .collect();
    (outcomes, inserts)
}

/// Counts each delivery that arrived again on its stored event (after the group's inserts, so a
/// delivery twice in one group counts on the row just written; a pruned event has no row).
async fn count_duplicates(tx: &Transaction<'_>, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    tx.execute(
        "UPDATE events SET duplicates = events.duplicates + d.n
         FROM (SELECT id, count(*) AS n FROM unnest($1::int8[]) AS id GROUP BY id) d
         WHERE events.id = d.id",
        &[&ids],
    )
    .await?;
    Ok(())
}

/// `NOTIFY` the newest id (PostgreSQL delivers it when the transaction commits), if any.
async fn announce(tx: &Transaction<'_>, newest: Option<i64>) -> Result<(), StoreError> {
    if let Some(id) = newest {
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id.to_string()])
            .await?;
    }
    Ok(())
}

/// The rows whose deliveries are already stored (by index in `rows`), with their ids. Looked up
/// before inserting: under the write lock nothing else can store them meanwhile, and no id is
/// drawn for a duplicate.
async fn stored_ids(
    tx: &Transaction<'_>,
    rows: &[&Row],
) -> Result<HashMap<usize, i64>, StoreError> {
    let keyed: Vec<(usize, &str, &str)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.source.as_str(), r.delivery_id.as_deref()?)))
        .collect();
    if keyed.is_empty() {
        return Ok(HashMap::new());
    }
    let sources: Vec<&str> = keyed.iter().map(|k| k.1).collect();
    let deliveries: Vec<&str> = keyed.iter().map(|k| k.2).collect();
    let found = tx
        .query(
            "WITH k AS (SELECT * FROM unnest($1::text[], $2::text[])
                          WITH ORDINALITY AS k (source, delivery_id, n))
             SELECT k.n, e.id FROM k
             JOIN events e ON e.source = k.source AND e.delivery_id = k.delivery_id
             UNION ALL
             SELECT k.n, p.event_id FROM k
             JOIN pruned_deliveries p ON p.source = k.source AND p.delivery_id = k.delivery_id",
            &[&sources, &deliveries],
        )
        .await?;
    Ok(found
        .iter()
        .map(|r| (keyed[r.get::<_, i64>(0) as usize - 1].0, r.get(1)))
        .collect())
}

/// Draws `n` ids, in order (under the write lock nobody else draws any meanwhile).
async fn draw_ids(tx: &Transaction<'_>, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = tx
        .query(
            "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1::int8)",
            &[&(n as i64)],
        )
        .await?;
    let mut ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Inserts the rows with their ids: one statement for the whole group, every column an array.
async fn insert_events(tx: &Transaction<'_>, ids: &[i64], rows: &[&Row]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&Row) -> Option<&str>| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let verified: Vec<Option<bool>> = rows.iter().map(|r| r.verified).collect();
    // `where` casts payloads to jsonb, which refuses `\u0000` and fails on absurd nesting: such
    // rows are flagged so that `where` skips them instead of failing. (Ingest refuses JSON that a
    // `Value` cannot hold; `payload_parses` catches appends that bypass it.)
    let has_nul: Vec<bool> = rows
        .iter()
        .map(|r| r.payload.get().contains("\\u0000") || !r.payload_parses)
        .collect();
    tx.execute(
        "INSERT INTO events (id, source, type, delivery_id, received_at, headers, content_type,
                             payload_encoding, payload, verified, subject, occurred_at, summary,
                             search_text, payload_has_nul)
         SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::text[], $9::text[], $10::bool[],
                              $11::text[], $12::text[], $13::text[], $14::text[], $15::bool[])",
        &[
            &ids,
            &col(|r| Some(&r.source)),
            &col(|r| Some(&r.event_type)),
            &col(|r| r.delivery_id.as_deref()),
            &col(|r| Some(&r.received_at)),
            &col(|r| Some(&r.headers)),
            &col(|r| r.content_type.as_deref()),
            &col(|r| Some(r.payload_encoding)),
            &col(|r| Some(r.payload.get())),
            &verified,
            &col(|r| r.subject.as_deref()),
            &col(|r| r.occurred_at.as_deref()),
            &col(|r| r.summary.as_deref()),
            &col(|r| Some(&r.search_text)),
            &has_nul,
        ],
    )
    .await?;
    Ok(())
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
