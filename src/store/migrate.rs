//! `hookd migrate-to`: copies a SQLite store into an empty PostgreSQL one, ids preserved, so
//! cursors that clients hold (event ids, consumer cursors, action ids) stay valid.
//!
//! hookd must be stopped while it runs: what the SQLite store receives after its rows are read
//! is not copied. The copy is one PostgreSQL transaction holding the write lock, so an instance
//! started too early waits rather than interleaving, and a failed copy leaves nothing behind.

use std::path::Path;

use rusqlite::types::Value as SqlValue;
use tokio_postgres::types::ToSql;

use super::StoreError;
use super::postgres::tsvector::SEARCH_VECTOR;
use super::postgres::{connect, schema, writer::WRITE_LOCK};

/// How a column is bound on PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bool,
}
use Kind::{Bool, Int, Text};

/// A table to copy: its name, the column rows are read in order of, and its columns; and the
/// columns PostgreSQL computes from those as each row is inserted (SQL over the copied columns).
struct Table {
    name: &'static str,
    key: &'static str,
    columns: &'static [(&'static str, Kind)],
    computed: &'static [(&'static str, &'static str)],
}

const TABLES: &[Table] = &[
    Table {
        name: "events",
        key: "id",
        columns: &[
            ("id", Int),
            ("source", Text),
            ("type", Text),
            ("delivery_id", Text),
            ("received_at", Text),
            ("headers", Text),
            ("content_type", Text),
            ("payload_encoding", Text),
            ("payload", Text),
            ("verified", Bool),
            ("subject", Text),
            ("occurred_at", Text),
            ("summary", Text),
            ("search_text", Text),
            ("duplicates", Int),
        ],
        // The writer computes both for each event it stores: each copied row gets them as it
        // is inserted, not in a second pass that would write every event again.
        computed: &[
            ("search", SEARCH_VECTOR),
            ("payload_has_nul", r"strpos(payload, '\u0000') > 0"),
        ],
    },
    Table {
        name: "actions",
        key: "id",
        columns: &[
            ("id", Int),
            ("event_id", Int),
            ("type", Text),
            ("status", Text),
            ("fields", Text),
            ("created_at", Text),
            ("completed_at", Text),
            ("details", Text),
        ],
        computed: &[],
    },
    Table {
        name: "pushes",
        key: "id",
        columns: &[
            ("id", Int),
            ("event_id", Int),
            ("repo", Text),
            ("branch", Text),
            ("sha", Text),
            ("message", Text),
            ("author", Text),
            ("time", Text),
        ],
        computed: &[],
    },
    Table {
        name: "deployments",
        key: "id",
        columns: &[
            ("id", Int),
            ("event_id", Int),
            ("platform", Text),
            ("project", Text),
            ("deployment_id", Text),
            ("state", Text),
            ("url", Text),
            ("sha", Text),
            ("environment", Text),
            ("time", Text),
        ],
        computed: &[],
    },
    Table {
        name: "github_activity",
        key: "id",
        columns: &[
            ("id", Int),
            ("event_id", Int),
            ("repo", Text),
            ("type", Text),
            ("action", Text),
            ("time", Text),
            ("actor", Text),
            ("number", Int),
            ("title", Text),
            ("state", Text),
            ("branch", Text),
            ("size", Int),
        ],
        computed: &[],
    },
    Table {
        name: "consumers",
        key: "name",
        columns: &[("name", Text), ("cursor", Int), ("updated_at", Text)],
        computed: &[],
    },
    // The delivery ids of deleted events still in the dedupe window (read in event id order).
    Table {
        name: "pruned_deliveries",
        key: "event_id",
        columns: &[
            ("source", Text),
            ("delivery_id", Text),
            ("event_id", Int),
            ("received_at", Text),
        ],
        computed: &[],
    },
    // Kept webhook subscriptions, without their lease: the first instance on PostgreSQL takes
    // them up.
    Table {
        name: "callback_subscriptions",
        key: "id",
        columns: &[
            ("id", Text),
            ("principal", Text),
            ("url", Text),
            ("name", Text),
            ("arguments", Text),
            ("secret", Text),
            ("cursor", Int),
            ("active", Bool),
            ("last_error", Text),
            ("failed_since", Text),
            ("last_delivery_at", Text),
            ("created_at", Text),
            ("expires_at", Text),
        ],
        computed: &[],
    },
    // Tasks, working or ended: a client polling one finds it on PostgreSQL, and the first
    // instance there resumes the working ones.
    Table {
        name: "tasks",
        key: "id",
        columns: &[
            ("id", Text),
            ("principal", Text),
            ("request", Text),
            ("status", Text),
            ("status_message", Text),
            ("outcome", Text),
            ("created_at", Text),
            ("updated_at", Text),
            ("expires_at", Text),
        ],
        computed: &[],
    },
    // Secrets sources learned in a handshake (Asana), so they need not enrol again; new ids, in
    // their old order (the newest is read first). Open enrolment windows are not copied.
    Table {
        name: "enrolled_secrets",
        key: "id",
        columns: &[("source", Text), ("secret", Text), ("enrolled_at", Text)],
        computed: &[],
    },
    // Refused deliveries get new ids (nothing refers to them), in their old order.
    Table {
        name: "rejections",
        key: "id",
        columns: &[
            ("source", Text),
            ("received_at", Text),
            ("reason", Text),
            ("detail", Text),
            ("headers", Text),
            ("body_size", Int),
            ("body_sha256", Text),
        ],
        computed: &[],
    },
];

/// Rows read and written per round.
const CHUNK: usize = 1000;

/// What was copied: rows per table.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies the SQLite store in `data_dir` into the empty PostgreSQL database at `url`.
pub async fn sqlite_to_postgres(data_dir: &Path, url: &str) -> Result<Copied, StoreError> {
    // Opening it brings an older file to the current schema first.
    drop(super::Sqlite::open_existing(data_dir)?);
    let sqlite = rusqlite::Connection::open_with_flags(
        data_dir.join(super::sqlite::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut pg = connect(url).await?;
    schema::migrate(&mut pg).await?;
    let tx = pg.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
        .await?;
    let existing: i64 = tx
        .query_one("SELECT count(*) FROM events", &[])
        .await?
        .get(0);
    if existing > 0 {
        return Err(StoreError::NotEmpty(existing));
    }
    let mut copied = Vec::new();
    for table in TABLES {
        copied.push((table.name, copy(&sqlite, &tx, table).await?));
    }
    tx.batch_execute(
        "INSERT INTO sources (source, count, last_received_at)
         SELECT source, count(*), max(received_at) FROM events GROUP BY source",
    )
    .await?;
    // Ids continue after the highest ever handed out, including deleted ones.
    let newest_ever: i64 = sqlite.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)",
        [],
        |r| r.get(0),
    )?;
    for table in [
        "events",
        "actions",
        "pushes",
        "deployments",
        "github_activity",
    ] {
        let floor = if table == "events" { newest_ever } else { 0 };
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), n, n > 0)
                 FROM (SELECT GREATEST(COALESCE(max(id), 0), $1::bigint, 1) AS n FROM {table}) m"
            ),
            &[&floor],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(copied)
}

async fn copy(
    sqlite: &rusqlite::Connection,
    tx: &tokio_postgres::Transaction<'_>,
    table: &Table,
) -> Result<u64, StoreError> {
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect();
    let read = format!(
        "SELECT {}, {key} FROM {name} WHERE {key} > ?1 ORDER BY {key} LIMIT {CHUNK}",
        names.join(", "),
        key = table.key,
        name = table.name,
    );
    let insert = tx.prepare(&insert_sql(table, &names)).await?;
    let text_key = table
        .columns
        .iter()
        .any(|(c, kind)| *c == table.key && matches!(kind, Text));
    let mut after = match text_key {
        true => SqlValue::Text(String::new()),
        false => SqlValue::Integer(0),
    };
    let mut total = 0u64;
    loop {
        let mut stmt = sqlite.prepare_cached(&read)?;
        let rows: Vec<Vec<SqlValue>> = stmt
            .query_map([&after], |r| {
                (0..=names.len()).map(|i| r.get::<_, SqlValue>(i)).collect()
            })?
            .collect::<Result<_, _>>()?;
        let Some(last) = rows.last() else {
            return Ok(total);
        };
        after = last[names.len()].clone();
        let bound: Vec<Vec<Box<dyn ToSql + Sync + Send>>> = rows
            .iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .zip(row)
                    .map(|((_, kind), v)| bind(*kind, v))
                    .collect()
            })
            .collect();
        // Pipelined: every insert of the chunk is sent before the first answer is awaited.
        futures_util::future::try_join_all(bound.iter().map(|row| {
            let params: Vec<&(dyn ToSql + Sync)> = row
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let insert = &insert;
            async move { tx.execute(insert, &params).await }
        }))
        .await?;
        total += rows.len() as u64;
    }
}

/// `INSERT INTO table (columns, computed) SELECT v.*, computed FROM (VALUES ($1, …)) v (columns)`:
/// the computed columns read the copied ones by name.
fn insert_sql(table: &Table, names: &[String]) -> String {
    let marks: Vec<String> = (table.columns.iter().enumerate())
        .map(|(i, (_, kind))| {
            let ty = match kind {
                Int => "int8",
                Text => "text",
                Bool => "bool",
            };
            format!("${}::{ty}", i + 1)
        })
        .collect();
    let targets = names.iter().map(String::as_str);
    let targets: Vec<&str> = targets.chain(table.computed.iter().map(|c| c.0)).collect();
    let values: Vec<&str> = ["v.*"]
        .into_iter()
        .chain(table.computed.iter().map(|c| c.1))
        .collect();
    format!(
        "INSERT INTO {name} ({targets}) SELECT {values} FROM (VALUES ({marks})) AS v ({names})",
        name = table.name,
        targets = targets.join(", "),
        values = values.join(", "),
        marks = marks.join(", "),
        names = names.join(", "),
    )
}

fn bind(kind: Kind, v: &SqlValue) -> Box<dyn ToSql + Sync + Send> {
    match (kind, v) {
        (Int, SqlValue::Integer(n)) => Box::new(Some(*n)),
        (Bool, SqlValue::Integer(n)) => Box::new(Some(*n != 0)),
        (Text, SqlValue::Text(s)) => Box::new(Some(s.clone())),
        (Int, _) => Box::new(None::<i64>),
        (Bool, _) => Box::new(None::<bool>),
        (Text, _) => Box::new(None::<String>),
    }
}
