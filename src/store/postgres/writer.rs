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

use deadpool_postgres::{Client, Pool};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use super::tsvector::{self, Tsvector};
use super::{derived, execute_cached};
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
    let client = pool.get().await?;
    let written = write(&client, rows, notify).await;
    if written.is_err() {
        // A statement failed with the group's transaction open: the connection leaves the pool,
        // and PostgreSQL rolls the transaction back as it closes.
        drop(deadpool_postgres::Object::take(client));
    }
    written
}

/// Writes one group in one transaction, in two round trips. Every round trip taken while the
/// write lock is held is a wait for every other writer, and on a busy machine one costs
/// milliseconds (the answer waits for a core), so the statements are sent together:
/// 1. `BEGIN`, the search vectors, the lock, the delivery lookup and the ids, run by PostgreSQL
///    in this order: the vectors are computed while another transaction may still hold the
///    lock, the lookup and the ids come under it. Ids are drawn for every row of the group, and
///    a duplicate's is left unused (ids have gaps, as after a rollback or retention).
/// 2. The events, every row derived from them, the repeated deliveries' counts, and `COMMIT`.
async fn write(client: &Client, rows: &[&Row], notify: bool) -> Result<Vec<Appended>, StoreError> {
    // Prepared first (free once this connection has them), so that the statements sent together
    // go out in the order written below: none waits for its prepare while a later one, `COMMIT`
    // above all, goes ahead.
    for sql in [INSERT_EVENTS, COUNT_SOURCES, COUNT_DUPLICATES, ANNOUNCE] {
        client.prepare_cached(sql).await?;
    }
    for sql in derived::STATEMENTS {
        client.prepare_cached(sql).await?;
    }
    let search = client.prepare_cached(tsvector::COMPUTE).await?;
    let lock = client
        .prepare_cached("SELECT pg_advisory_xact_lock($1)")
        .await?;
    let lookup = client.prepare_cached(STORED_IDS).await?;
    let draw = client.prepare_cached(DRAW_IDS).await?;
    let (begun, vectors, locked, stored, ids) = futures_util::join!(
        client.batch_execute(BEGIN_INDEXED),
        tsvector::compute(client, &search, rows),
        client.execute(&lock, &[&WRITE_LOCK]),
        stored_ids(client, &lookup, rows),
        draw_ids(client, &draw, rows.len()),
    );
    begun?;
    let vectors = vectors?;
    locked?;
    let (stored, mut ids) = (stored?, ids?);
    let (outcomes, inserts) = plan(rows, &stored);
    let vectors: Vec<&Tsvector> = outcomes
        .iter()
        .zip(&vectors)
        .filter(|(o, _)| matches!(o, Outcome::Insert(_)))
        .map(|(_, v)| v)
        .collect();
    ids.truncate(inserts.len());
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
    let seen_again: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Stored(id) => Some(*id),
            Outcome::SameAs(n) => Some(ids[*n]),
            Outcome::Insert(_) => None,
        })
        .collect();
    // Sent together and run in this order. `COMMIT` after a statement that failed answers as a
    // rollback, not as an error: the statements' own answers say whether the group was stored.
    let (inserted, counted, derived, announced, repeated, committed) = futures_util::join!(
        insert_events(client, &ids, &inserts, &vectors),
        count_sources(client, &inserts),
        derived::insert_all(client, &derived),
        announce(client, newest),
        // After the inserts: a delivery twice in one group counts on the row just written (a
        // pruned event has no row).
        count_duplicates(client, &seen_again),
        client.batch_execute("COMMIT"),
    );
    inserted?;
    counted?;
    derived?;
    announced?;
    repeated?;
    committed?;
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

/// `BEGIN`, with plans that go through the indexes for the group's transaction. The statements that read
/// `events` (the delivery lookup, the duplicates' count) are prepared once per connection, as
/// the others are, and PostgreSQL may settle on one generic plan for a connection. Made while
/// `events` was nearly empty, such a plan scanned the whole table and kept doing so as it grew:
/// in the benchmark, about half the runs on a fresh database went that way. With sequential
/// scans, hash joins and merge joins off, their only plans are nested loops over the group's
/// arrays, probing the indexes, whatever the table's size (`EXPLAIN` of the generic plans on an
/// empty table and at 10,000 events). Planning them afresh for each group instead (as `4267f8b`
/// did) cost 0.43 ms of the lock's hold per group, four times the lookup itself
/// (`pg_stat_statements`). The group's other statements insert, reading only through unique
/// indexes (conflicts, foreign keys).
const BEGIN_INDEXED: &str = "BEGIN; SET LOCAL enable_seqscan = off; \
    SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";

const COUNT_DUPLICATES: &str = "UPDATE events SET duplicates = events.duplicates + d.n
    FROM (SELECT id, count(*) AS n FROM unnest($1::int8[]) AS id GROUP BY id) d
    WHERE events.id = d.id";

/// Counts each delivery that arrived again on its stored event.
async fn count_duplicates(client: &Client, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let params: [&(dyn ToSql + Sync); 1] = [&ids];
    execute_cached(client, COUNT_DUPLICATES, &params).await?;
    Ok(())
}

const ANNOUNCE: &str = "SELECT pg_notify($1, $2)";

/// `NOTIFY` the newest id (PostgreSQL delivers it when the transaction commits), if any.
async fn announce(client: &Client, newest: Option<i64>) -> Result<(), StoreError> {
    if let Some(id) = newest {
        let params: [&(dyn ToSql + Sync); 2] = [&CHANNEL, &id.to_string()];
        execute_cached(client, ANNOUNCE, &params).await?;
    }
    Ok(())
}

/// Finds stored deliveries (in events, or pruned) by source and delivery id.
const STORED_IDS: &str = "WITH k AS (SELECT * FROM unnest($1::text[], $2::text[])
                              WITH ORDINALITY AS k (source, delivery_id, n))
     SELECT k.n, e.id FROM k
     JOIN events e ON e.source = k.source AND e.delivery_id = k.delivery_id
     UNION ALL
     SELECT k.n, p.event_id FROM k
     JOIN pruned_deliveries p ON p.source = k.source AND p.delivery_id = k.delivery_id";

/// The rows whose deliveries are already stored (by index in `rows`), with their ids. Looked up
/// under the write lock, before inserting: nothing else can store them meanwhile.
async fn stored_ids(
    client: &Client,
    lookup: &Statement,
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
    let found = client.query(lookup, &[&sources, &deliveries]).await?;
    Ok(found
        .iter()
        .map(|r| (keyed[r.get::<_, i64>(0) as usize - 1].0, r.get(1)))
        .collect())
}

/// Draws ids, in order (under the write lock nobody else draws any meanwhile).
const DRAW_IDS: &str =
    "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1::int8)";

async fn draw_ids(client: &Client, draw: &Statement, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = client.query(draw, &[&(n as i64)]).await?;
    let mut ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    ids.sort_unstable();
    Ok(ids)
}

const INSERT_EVENTS: &str = "INSERT INTO events (id, source, type, delivery_id, received_at,
        headers, content_type, payload_encoding, payload, verified, subject, occurred_at, summary,
        search_text, payload_has_nul, search)
    SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[], $9::text[], $10::bool[], $11::text[], $12::text[],
                         $13::text[], $14::text[], $15::bool[], $16::tsvector[])";

/// Inserts the rows with their ids and search vectors: one statement for the whole group, every
/// column an array.
async fn insert_events(
    client: &Client,
    ids: &[i64],
    rows: &[&Row],
    vectors: &[&Tsvector],
) -> Result<(), StoreError> {
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
    execute_cached(
        client,
        INSERT_EVENTS,
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
            &vectors,
        ],
    )
    .await?;
    Ok(())
}

const COUNT_SOURCES: &str = "INSERT INTO sources (source, count, last_received_at)
    SELECT * FROM unnest($1::text[], $2::int8[], $3::text[]) ORDER BY 1
    ON CONFLICT (source) DO UPDATE SET count = sources.count + excluded.count,
        last_received_at = greatest(sources.last_received_at, excluded.last_received_at)";

/// Adds the new rows to their sources' totals, in one statement (in a fixed order, so that two
/// transactions touching the same sources cannot deadlock).
async fn count_sources(client: &Client, rows: &[&Row]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut totals: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for row in rows {
        let t = totals.entry(&row.source).or_insert((0, &row.received_at));
        t.0 += 1;
        t.1 = t.1.max(&row.received_at);
    }
    let sources: Vec<&str> = totals.keys().copied().collect();
    let counts: Vec<i64> = totals.values().map(|t| t.0).collect();
    let lasts: Vec<&str> = totals.values().map(|t| t.1).collect();
    execute_cached(client, COUNT_SOURCES, &[&sources, &counts, &lasts]).await?;
    Ok(())
}
