//! The single writer: one thread owns the write connection and commits in groups.
//!
//! Why: with `synchronous=FULL` every commit costs an fsync. Requests that arrive while a commit
//! is in flight queue up; the writer then takes all of them in one transaction and one fsync, and
//! answers each only after that commit. Throughput grows with concurrency while every 200 still
//! means "on disk".

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::bus::Bus;
use crate::event::{Appended, Rejected};
use crate::store::row::Row;
use crate::store::{MAX_REJECTED, Retention, StoreError};
use crate::time::format_time;

/// How many appends one transaction takes at most.
const MAX_BATCH: usize = 1024;
/// How many rows one retention step deletes, so ingest waits at most one small delete.
pub const PRUNE_CHUNK: u64 = 2000;

type AppendReply = oneshot::Sender<Result<Appended, StoreError>>;

pub enum Job {
    Append(Box<Row>, AppendReply),
    /// Any other write, run alone between group commits; it sends its own answer.
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// Runs the writer until every sender is dropped, then returns (after finishing queued jobs).
pub fn run(
    mut conn: Connection,
    mut jobs: mpsc::Receiver<Job>,
    bus: Bus,
    catch_up: super::checkpointer::CatchUp,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        match first {
            Job::Run(write) => write(&mut conn),
            Job::Append(event, reply) => {
                batch.push((event, reply));
                while batch.len() < MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(Job::Append(e, r)) => batch.push((e, r)),
                        Ok(Job::Run(write)) => write(&mut conn),
                        Err(_) => break,
                    }
                }
                commit_batch(&mut conn, &mut batch, &bus);
                // After the answers are sent: the next batch waits, not this one.
                catch_up.run_if_asked(&conn);
            }
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: &mut Vec<(Box<Row>, AppendReply)>, bus: &Bus) {
    let started = std::time::Instant::now();
    match insert_all(conn, batch.iter().map(|(e, _)| e.as_ref())) {
        Ok(results) => {
            crate::telemetry::committed(results.len(), started.elapsed());
            let newest = results.iter().map(|a| a.id).max().unwrap_or(0);
            bus.committed(newest);
            for ((_, reply), result) in batch.drain(..).zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(err) => {
            tracing::error!(error = %err, rows = batch.len(), "commit failed; answering 503");
            let err = std::sync::Arc::new(err);
            for (_, reply) in batch.drain(..) {
                let _ = reply.send(Err(StoreError::CommitFailed(err.clone())));
            }
        }
    }
}

fn insert_all<'a>(
    conn: &mut Connection,
    events: impl Iterator<Item = &'a Row>,
) -> Result<Vec<Appended>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::new();
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (source, type, delivery_id, received_at, headers, content_type,
                                 payload_encoding, payload, verified, subject, occurred_at, summary,
                                 search_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (source, delivery_id) WHERE delivery_id IS NOT NULL DO NOTHING
             RETURNING id",
        )?;
        let mut existing = tx.prepare_cached(
            "SELECT id FROM events WHERE source = ?1 AND delivery_id = ?2
             UNION ALL
             SELECT event_id FROM pruned_deliveries WHERE source = ?1 AND delivery_id = ?2
             LIMIT 1",
        )?;
        let mut count = tx.prepare_cached(
            "INSERT INTO sources (source, count, last_received_at) VALUES (?1, 1, ?2)
             ON CONFLICT (source) DO UPDATE SET count = count + 1,
                 last_received_at = max(last_received_at, excluded.last_received_at)",
        )?;
        let mut seen_again =
            tx.prepare_cached("UPDATE events SET duplicates = duplicates + 1 WHERE id = ?1")?;
        // Times are stamped before the queue, so two requests can reach it out of order: an event
        // is stored as received after the newest one before it (readers rely on it).
        let mut newest: String = tx
            .prepare_cached("SELECT received_at FROM events ORDER BY id DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?
            .unwrap_or_default();
        for e in events {
            // Look before inserting: a conflicting INSERT would still consume an id.
            if let Some(id) = find(&mut existing, e)? {
                // No row to count on when the first copy was pruned.
                seen_again.execute([id])?;
                results.push(Appended {
                    id,
                    duplicate: true,
                });
                continue;
            }
            if e.received_at > newest {
                newest.clone_from(&e.received_at);
            } else {
                // One microsecond after the newest: times stay unique, so reading on from the
                // last time seen never skips an event that shares it.
                newest =
                    format_time(crate::time::stored(&newest) + chrono::Duration::microseconds(1));
            }
            let received_at = newest.as_str();
            let id: Option<i64> = insert
                .query_row(
                    params![
                        e.source,
                        e.event_type,
                        e.delivery_id,
                        received_at,
                        e.headers,
                        e.content_type,
                        e.payload_encoding,
                        e.payload.get(),
                        e.verified,
                        e.subject,
                        e.occurred_at,
                        e.summary,
                        e.search_text,
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            let appended = match id {
                Some(id) => {
                    count.execute(params![e.source, received_at])?;
                    for d in &e.derived {
                        super::derived::insert(&tx, id, received_at, d)?;
                    }
                    Appended {
                        id,
                        duplicate: false,
                    }
                }
                // Another process committed the same delivery between our look and our insert.
                None => {
                    let id = find(&mut existing, e)?.ok_or(StoreError::Closed)?;
                    seen_again.execute([id])?;
                    Appended {
                        id,
                        duplicate: true,
                    }
                }
            };
            results.push(appended);
        }
    }
    tx.commit()?;
    Ok(results)
}

fn find(stmt: &mut rusqlite::CachedStatement<'_>, e: &Row) -> rusqlite::Result<Option<i64>> {
    match &e.delivery_id {
        Some(d) => stmt
            .query_row(params![e.source, d], |r| r.get(0))
            .optional(),
        None => Ok(None),
    }
}

/// Records a refused delivery and drops the oldest beyond the cap (one autocommit statement each:
/// rejections are rare and need no group commit).
pub fn reject(conn: &Connection, r: &Rejected) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO rejections (source, received_at, reason, detail, headers, body_size, body_sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.source,
        format_time(r.received_at),
        r.reason,
        r.detail,
        serde_json::Value::Object(r.headers.clone()).to_string(),
        r.body_size as i64,
        r.body_sha256,
    ])?;
    conn.prepare_cached(
        "DELETE FROM rejections WHERE id <= (SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    )?
    .execute([MAX_REJECTED])?;
    Ok(())
}

/// Deletes at most `PRUNE_CHUNK` rows that `policy` no longer keeps: old ones first, then the
/// oldest beyond each source's cap.
pub fn prune_step(conn: &mut Connection, policy: Retention) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut deleted: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "DELETE FROM events WHERE id IN
               (SELECT id FROM events WHERE received_at < ?1 ORDER BY received_at LIMIT ?2)
             RETURNING source",
        )?;
        stmt.query_map(
            params![format_time(policy.received_before), PRUNE_CHUNK as i64],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?
    };
    let over_cap: Vec<(String, i64)> = tx
        .prepare_cached("SELECT source, count FROM sources WHERE count > ?1")?
        .query_map([policy.max_events_per_source as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    for (source, count) in over_cap {
        let budget = PRUNE_CHUNK.saturating_sub(deleted.len() as u64);
        let excess = (count as u64).saturating_sub(policy.max_events_per_source);
        let n = budget.min(excess);
        if n == 0 {
            break;
        }
        let removed = tx
            .prepare_cached(
                "DELETE FROM events WHERE id IN
               (SELECT id FROM events WHERE source = ?1 ORDER BY id LIMIT ?2)",
            )?
            .execute(params![source, n as i64])?;
        deleted.extend(std::iter::repeat_n(source, removed));
    }
    let mut by_source = std::collections::HashMap::<&str, i64>::new();
    for s in &deleted {
        *by_source.entry(s).or_default() += 1;
    }
    for (source, n) in by_source {
        tx.execute(
            "UPDATE sources SET count = count - ?2 WHERE source = ?1",
            params![source, n],
        )?;
    }
    tx.execute("DELETE FROM sources WHERE count <= 0", [])?;
    tx.prepare_cached("DELETE FROM pruned_deliveries WHERE received_at < ?1")?
        .execute([format_time(policy.dedupe_after)])?;
    tx.commit()?;
    Ok(deleted.len() as u64)
}

/// The id of the newest event ever committed (0 for an empty store), including deleted ones.
pub fn newest_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)",
        [],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::schema;

    #[test]
    fn newest_id_survives_deleting_every_row() {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        assert_eq!(newest_id(&conn).unwrap(), 0);
        conn.execute_batch(
            "INSERT INTO events (source, type, received_at, headers, payload_encoding, payload)
             VALUES ('a', 't', '2026-01-01T00:00:00.000000Z', '{}', 'json', '{}');
             DELETE FROM events;",
        )
        .unwrap();
        assert_eq!(newest_id(&conn).unwrap(), 1);
    }
}
