//! Tasks on PostgreSQL (see `store::tasks`): every instance reads the same rows, so a task made on
//! one is found on all.

use async_trait::async_trait;
use chrono::Utc;
use tokio_postgres::Row;

use super::Postgres;
use crate::store::{StoreError, TaskEnd, TaskRecord, TaskState, Tasks};
use crate::time::format_time;

const COLUMNS: &str = "id, principal, request, status, status_message, outcome, created_at, \
                       updated_at, expires_at";

fn record(r: &Row) -> TaskRecord {
    TaskRecord {
        id: r.get(0),
        principal: r.get(1),
        request: r.get(2),
        state: TaskState::parse(r.get(3)),
        status_message: r.get(4),
        outcome: r.get(5),
        created_at: super::time(r, 6),
        updated_at: super::time(r, 7),
        expires_at: super::time(r, 8),
    }
}

#[async_trait]
impl Tasks for Postgres {
    async fn create_task(&self, t: TaskRecord, max_open: u32) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Creations by one principal take turns (on any instance), so the count cannot be
        // overtaken between the check and the insert.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('hookd-tasks:' || $1))",
            &[&t.principal],
        )
        .await?;
        let n = tx
            .execute(
                "INSERT INTO tasks (id, principal, request, status, status_message, outcome,
                     created_at, updated_at, expires_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
                 WHERE (SELECT count(*) FROM tasks
                        WHERE principal = $2 AND status = 'working' AND expires_at > $10) < $11",
                &[
                    &t.id,
                    &t.principal,
                    &t.request,
                    &t.state.as_str(),
                    &t.status_message,
                    &t.outcome,
                    &format_time(t.created_at),
                    &format_time(t.updated_at),
                    &format_time(t.expires_at),
                    &format_time(Utc::now()),
                    &i64::from(max_open),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn task(&self, id: String) -> Result<Option<TaskRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM tasks WHERE id = $1 AND expires_at > $2");
        let row = self
            .client()
            .await?
            .query_opt(&sql, &[&id, &format_time(Utc::now())])
            .await?;
        Ok(row.as_ref().map(record))
    }

    async fn end_task(&self, id: String, end: TaskEnd) -> Result<bool, StoreError> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE tasks SET status = $2, status_message = $3, outcome = $4, updated_at = $5
                 WHERE id = $1 AND status = 'working'",
                &[
                    &id,
                    &end.state.as_str(),
                    &end.status_message,
                    &end.outcome,
                    &format_time(Utc::now()),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn working_tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM tasks WHERE status = 'working' AND expires_at > $1
             ORDER BY created_at"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&format_time(Utc::now())])
            .await?;
        Ok(rows.iter().map(record).collect())
    }

    async fn forget_expired_tasks(&self) -> Result<u64, StoreError> {
        let n = self
            .client()
            .await?
            .execute(
                "DELETE FROM tasks WHERE expires_at <= $1",
                &[&format_time(Utc::now())],
            )
            .await?;
        Ok(n)
    }
}
