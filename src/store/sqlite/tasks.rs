//! Tasks on SQLite (see `store::tasks`).

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{Connection, Row, params};

use super::Sqlite;
use crate::store::{StoreError, TaskEnd, TaskRecord, TaskState, Tasks};
use crate::time::format_time;

const COLUMNS: &str = "id, principal, request, status, status_message, outcome, created_at, \
                       updated_at, expires_at";

fn record(r: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    Ok(TaskRecord {
        id: r.get(0)?,
        principal: r.get(1)?,
        request: r.get(2)?,
        state: TaskState::parse(&r.get::<_, String>(3)?),
        status_message: r.get(4)?,
        outcome: r.get(5)?,
        created_at: super::time(r, 6)?,
        updated_at: super::time(r, 7)?,
        expires_at: super::time(r, 8)?,
    })
}

fn create(c: &Connection, t: &TaskRecord, max_open: u32) -> Result<bool, StoreError> {
    // One statement on the one writer connection: the count and the insert cannot interleave
    // with another creation.
    let n = c
        .prepare_cached(
            "INSERT INTO tasks (id, principal, request, status, status_message, outcome,
                 created_at, updated_at, expires_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
             WHERE (SELECT count(*) FROM tasks
                    WHERE principal = ?2 AND status = 'working' AND expires_at > ?10) < ?11",
        )?
        .execute(params![
            t.id,
            t.principal,
            t.request,
            t.state.as_str(),
            t.status_message,
            t.outcome,
            format_time(t.created_at),
            format_time(t.updated_at),
            format_time(t.expires_at),
            format_time(Utc::now()),
            max_open,
        ])?;
    Ok(n == 1)
}

#[async_trait]
impl Tasks for Sqlite {
    async fn create_task(&self, task: TaskRecord, max_open: u32) -> Result<bool, StoreError> {
        self.write(move |c| create(c, &task, max_open)).await
    }

    async fn task(&self, id: String) -> Result<Option<TaskRecord>, StoreError> {
        let now = format_time(Utc::now());
        self.read(move |c| {
            let sql = format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1 AND expires_at > ?2");
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query_map(params![id, now], record)?;
            Ok(rows.next().transpose()?)
        })
        .await
    }

    async fn end_task(&self, id: String, end: TaskEnd) -> Result<bool, StoreError> {
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE tasks SET status = ?2, status_message = ?3, outcome = ?4,
                         updated_at = ?5
                     WHERE id = ?1 AND status = 'working'",
                )?
                .execute(params![
                    id,
                    end.state.as_str(),
                    end.status_message,
                    end.outcome,
                    format_time(Utc::now()),
                ])?;
            Ok(n == 1)
        })
        .await
    }

    async fn working_tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let now = format_time(Utc::now());
        self.read(move |c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM tasks WHERE status = 'working' AND expires_at > ?1
                 ORDER BY created_at"
            );
            let rows = c
                .prepare_cached(&sql)?
                .query_map([now], record)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn forget_expired_tasks(&self) -> Result<u64, StoreError> {
        let now = format_time(Utc::now());
        self.write(move |c| {
            let n = c
                .prepare_cached("DELETE FROM tasks WHERE expires_at <= ?1")?
                .execute([now])?;
            Ok(n as u64)
        })
        .await
    }
}
