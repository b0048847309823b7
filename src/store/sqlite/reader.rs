//! Read queries, on a small pool of read-only connections.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params_from_iter};

use crate::event::{Event, EventFilter, Page, PayloadEncoding, Rejected};
use crate::store::row::{RawEvent, Shape};
use crate::store::{Bounded, SourceStats, StoreError};
use crate::time::format_time;
use async_trait::async_trait;

use super::{Sqlite, writer};
use crate::store::Rejections;

/// Reads that run at once at most: more wait their turn (asynchronously, holding no thread), so
/// that many clients reading at once (2,000 long polls, say) cannot open a connection, with its
/// page cache and descriptors, each. The pool then never holds more connections than this.
pub const MAX_READERS: usize = 16;

/// Idle read connections, opened on demand and kept for reuse.
pub struct Readers {
    path: PathBuf,
    /// The search index, attached to every read connection as `s`.
    index: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// One per read running ([`MAX_READERS`]).
    pub turns: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Readers {
    pub fn new(path: PathBuf, index: PathBuf) -> Self {
        Self {
            path,
            index,
            idle: Mutex::new(Vec::new()),
            turns: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_READERS)),
        }
    }

    /// Runs `f` on an idle connection (or a new one) and returns the connection to the pool.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match pooled {
            Some(c) => c,
            None => self.open()?,
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute(
            "ATTACH DATABASE ?1 AS s",
            [self.index.to_string_lossy().as_ref()],
        )?;
        Ok(conn)
    }
}

/// The position of the `where` result, the column after `COLUMNS`, in a query's rows.
const MATCHES: usize = 14;

const COLUMNS: &str = "id, source, type, delivery_id, received_at, headers, content_type, \
                       payload_encoding, payload, verified, subject, occurred_at, summary, \
                       duplicates";

/// `COLUMNS` for a list: no payload (`null`) and no headers, so neither is read nor held.
const LISTED: &str = "id, source, type, delivery_id, received_at, '{}', content_type, \
                      payload_encoding, 'null', verified, subject, occurred_at, summary, \
                      duplicates";

/// The columns a read of `shape` selects.
fn columns(shape: Shape) -> &'static str {
    match shape {
        Shape::Whole => COLUMNS,
        Shape::Listed => LISTED,
    }
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Event>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE id = ?1");
    let row = conn
        .prepare_cached(&sql)?
        .query_row([id], raw_event)
        .optional()?;
    Ok(row.map(RawEvent::into_event))
}

pub fn query(
    conn: &Connection,
    filter: &EventFilter,
    page: Page,
    max_bytes: usize,
    shape: Shape,
) -> Result<Bounded, StoreError> {
    let mut args = Vec::new();
    let clauses = indexed_conditions(filter, "", &mut args);
    // `where` conditions are a column, not a condition: rows are examined in id order up to the
    // scan bound, and only those that match are read into events.
    let fields = field_conditions(filter, "", &mut args);
    let matches = if fields.is_empty() {
        "1".to_owned()
    } else {
        format!("coalesce({}, 0)", fields.join(" AND "))
    };
    let (order, limit) = match page {
        Page::Newest(n) => ("DESC", n),
        Page::Oldest(n) => ("ASC", n),
    };
    let scan = Bounded::rows_to_examine(limit, !fields.is_empty());
    args.push((scan as i64).into());
    let sql = format!(
        "SELECT {}, {matches} FROM events {} ORDER BY id {order} LIMIT ?{}",
        columns(shape),
        where_clause(&clauses),
        args.len()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let mut out = Bounded::within(max_bytes);
    let (mut examined, mut last) = (0, None);
    // Rows are read one at a time, so a bound reached early leaves the rest unread.
    while let Some(row) = rows.next()? {
        examined += 1;
        last = Some(row.get::<_, i64>(0)?);
        if !row.get::<_, bool>(MATCHES)? {
            continue;
        }
        let raw = raw_event(row)?;
        let size = shape.size(&raw);
        if !out.take(raw.into_event(), size) || out.events.len() == limit {
            break;
        }
    }
    out.examined(examined, last, limit, !fields.is_empty());
    if matches!(page, Page::Newest(_)) {
        out.events.reverse();
    }
    Ok(out)
}

pub fn count(conn: &Connection, filter: &EventFilter) -> Result<i64, StoreError> {
    let (clauses, args) = conditions(filter, "");
    let sql = format!("SELECT count(*) FROM events {}", where_clause(&clauses));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| r.get(0))?)
}

/// `(source, type, count)` of the events matching `filter`, most first, at most `max` groups.
pub fn count_by_type(
    conn: &Connection,
    filter: &EventFilter,
    max: usize,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let (clauses, mut args) = conditions(filter, "");
    args.push(SqlValue::Integer(max as i64));
    let sql = format!(
        "SELECT source, type, count(*) FROM events {} GROUP BY source, type
         ORDER BY 3 DESC, 1, 2 LIMIT ?{}",
        where_clause(&clauses),
        args.len()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// `WHERE a AND b …`, or nothing for no conditions.
pub fn where_clause(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

/// The WHERE conditions of `filter`, with their bound values (numbered from 1).
/// Columns are prefixed with `table` (`""` or `"e."`).
pub fn conditions(filter: &EventFilter, table: &str) -> (Vec<String>, Vec<SqlValue>) {
    let mut args = Vec::new();
    let mut clauses = indexed_conditions(filter, table, &mut args);
    clauses.extend(field_conditions(filter, table, &mut args));
    (clauses, args)
}

/// The conditions an index answers: sources, types and id or time bounds. Values are appended
/// to `args` and numbered by their position.
fn indexed_conditions(filter: &EventFilter, t: &str, args: &mut Vec<SqlValue>) -> Vec<String> {
    let mut clauses = Vec::new();
    let mut any_of = |column: &str, values: &[String], args: &mut Vec<SqlValue>| {
        if values.is_empty() {
            return;
        }
        let marks: Vec<String> = values
            .iter()
            .map(|v| {
                args.push(v.clone().into());
                format!("?{}", args.len())
            })
            .collect();
        clauses.push(format!("{t}{column} IN ({})", marks.join(", ")));
    };
    any_of("source", &filter.sources, args);
    any_of("type", &filter.types, args);
    if let Some(after) = filter.after_id {
        args.push(after.into());
        clauses.push(format!("{t}id > ?{}", args.len()));
    }
    if let Some(before) = filter.before_id {
        args.push(before.into());
        clauses.push(format!("{t}id < ?{}", args.len()));
    }
    if let Some(after) = filter.received_after {
        args.push(format_time(after).into());
        let n = args.len();
        // `received_at` never decreases with the id (the writer sees to it), so the first event
        // received after the time bounds the ids from below: the search runs on the id (or
        // source, id) index instead of scanning every id for its time.
        clauses.push(format!(
            "{t}id >= (SELECT id FROM events WHERE received_at > ?{n} ORDER BY received_at, id LIMIT 1)"
        ));
        clauses.push(format!("{t}received_at > ?{n}"));
    }
    if let Some(before) = filter.received_before {
        args.push(format_time(before).into());
        let n = args.len();
        // Likewise the first event received at or after it bounds the ids from above.
        clauses.push(format!(
            "{t}id < coalesce((SELECT id FROM events WHERE received_at >= ?{n} ORDER BY received_at, id LIMIT 1), 9223372036854775807)"
        ));
        clauses.push(format!("{t}received_at < ?{n}"));
    }
    match filter.verified {
        Some(true) => clauses.push(format!("{t}verified = 1")),
        Some(false) => clauses.push(format!("coalesce({t}verified, 0) = 0")),
        None => {}
    }
    clauses
}

/// The `where` conditions, tested on each payload.
fn field_conditions(filter: &EventFilter, t: &str, args: &mut Vec<SqlValue>) -> Vec<String> {
    let mut clauses = Vec::new();
    for f in &filter.fields {
        args.push(f.sqlite_path().into());
        let path = args.len();
        let test = match &f.value {
            serde_json::Value::Null => format!("json_type({t}payload, ?{path}) = 'null'"),
            serde_json::Value::Bool(b) => {
                let truth = if *b { "true" } else { "false" };
                format!("json_type({t}payload, ?{path}) = '{truth}'")
            }
            serde_json::Value::Number(n) => {
                args.push(n.as_f64().unwrap_or(f64::NAN).into());
                format!(
                    "json_type({t}payload, ?{path}) IN ('integer', 'real') AND json_extract({t}payload, ?{path}) = ?{}",
                    args.len()
                )
            }
            other => {
                args.push(other.as_str().unwrap_or_default().to_owned().into());
                format!(
                    "json_type({t}payload, ?{path}) = 'text' AND json_extract({t}payload, ?{path}) = ?{}",
                    args.len()
                )
            }
        };
        // Only JSON and form payloads have fields; a text payload is a bare JSON string. A
        // payload SQLite's JSON functions cannot read (nested deeper than its limit, from a
        // version that did not refuse it) would fail the whole query: it is skipped instead.
        clauses.push(format!(
            "(CASE WHEN {t}payload_encoding IN ('json', 'form') AND json_valid({t}payload) \
             THEN {test} ELSE 0 END)"
        ));
    }
    clauses
}

pub fn sources(conn: &Connection) -> Result<Vec<SourceStats>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT source, count, last_received_at FROM sources ORDER BY count DESC, source",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SourceStats {
            source: r.get(0)?,
            count: r.get(1)?,
            last_received_at: super::time(r, 2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn rejections(
    conn: &Connection,
    source: Option<&str>,
    limit: usize,
) -> Result<Vec<Rejected>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT source, received_at, reason, detail, headers, body_size, body_sha256 FROM rejections
         WHERE ?1 IS NULL OR source = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(rusqlite::params![source, limit as i64], |r| {
        Ok((
            Rejected {
                source: r.get(0)?,
                received_at: super::time(r, 1)?,
                reason: r.get(2)?,
                detail: r.get(3)?,
                headers: Default::default(),
                body_size: r.get::<_, i64>(5)? as u64,
                body_sha256: r.get(6)?,
            },
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (mut rejected, headers) = row?;
        rejected.headers =
            serde_json::from_str(&headers).map_err(|source| StoreError::Corrupt {
                what: "a rejection's headers".into(),
                source,
            })?;
        Ok(rejected)
    })
    .collect()
}

fn raw_event(r: &Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok(RawEvent {
        event: Event {
            id: r.get(0)?,
            source: r.get(1)?,
            event_type: r.get(2)?,
            delivery_id: r.get(3)?,
            received_at: super::time(r, 4)?,
            headers: Default::default(),
            content_type: r.get(6)?,
            payload_encoding: PayloadEncoding::Json,
            payload: serde_json::Value::Null,
            verified: r.get(9)?,
            subject: r.get(10)?,
            occurred_at: super::optional_time(r, 11)?,
            summary: r.get(12)?,
            duplicates: r.get(13)?,
            note: None,
        },
        headers: r.get(5)?,
        payload_encoding: r.get(7)?,
        payload: r.get(8)?,
    })
}

#[async_trait]
impl Rejections for Sqlite {
    async fn record_rejection(&self, rejected: Rejected) -> Result<(), StoreError> {
        self.write(move |c| writer::reject(c, &rejected)).await
    }

    async fn rejections(
        &self,
        source: Option<String>,
        limit: usize,
    ) -> Result<Vec<Rejected>, StoreError> {
        self.read(move |c| rejections(c, source.as_deref(), limit))
            .await
    }
}
