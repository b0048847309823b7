//! Durable consumers: a named cursor per consumer, moved only forward by acknowledgements.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{BACKLOG_COUNT, Consumer, StoreError};
use crate::time::format_time;
use async_trait::async_trait;

use super::Sqlite;
use crate::store::Consumers;

/// Moves a consumer's cursor forward to `up_to_id` (never back) and returns the cursor now.
pub fn ack(conn: &Connection, name: &str, up_to_id: i64) -> Result<i64, StoreError> {
    let now = format_time(chrono::Utc::now());
    let moved: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO consumers (name, cursor, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE
                 SET cursor = excluded.cursor, updated_at = excluded.updated_at
                 WHERE excluded.cursor > consumers.cursor
             RETURNING cursor",
        )?
        .query_row(params![name, up_to_id, now], |r| r.get(0))
        .optional()?;
    match moved {
        Some(cursor) => Ok(cursor),
        None => Ok(cursor(conn, name)?.unwrap_or_default()),
    }
}

/// A consumer's committed cursor, if it ever acknowledged anything.
pub fn cursor(conn: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT cursor FROM consumers WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

/// Every consumer with its cursor and how many stored events lie beyond it.
pub fn list(conn: &Connection) -> Result<Vec<Consumer>, StoreError> {
    let newest = super::writer::newest_id(conn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT name, cursor, updated_at,
                (SELECT count(*) FROM (SELECT 1 FROM events WHERE id > consumers.cursor LIMIT ?1))
         FROM consumers ORDER BY name",
    )?;
    let rows = stmt.query_map([BACKLOG_COUNT + 1], |r| {
        let mut consumer = Consumer {
            name: r.get(0)?,
            cursor: r.get(1)?,
            updated_at: super::time(r, 2)?,
            backlog: 0,
            backlog_estimated: false,
        };
        consumer.backlog(r.get(3)?, newest);
        Ok(consumer)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[async_trait]
impl Consumers for Sqlite {
    async fn consumer_cursor(&self, name: String) -> Result<Option<i64>, StoreError> {
        self.read(move |c| cursor(c, &name)).await
    }

    async fn ack(&self, name: String, up_to_id: i64) -> Result<i64, StoreError> {
        self.write(move |c| ack(c, &name, up_to_id)).await
    }

    async fn consumers(&self) -> Result<Vec<Consumer>, StoreError> {
        self.read(list).await
    }
}
