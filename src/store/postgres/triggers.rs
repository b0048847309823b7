//! Triggers' cursors and runs on PostgreSQL (see `store::triggers`): a trigger's row is locked
//! while it is claimed, so of several instances one holds it, and a run starts only on the
//! instance holding its trigger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::Postgres;
use crate::store::StoreError;
use crate::store::triggers::{
    RunEnd, RunQuery, RunStatus, TriggerRun, TriggerState, Triggers, ids_of, ids_text,
};
use crate::time::format_time;

const RUN: &str = "id, \"trigger\", event_ids, status, attempts, next_attempt_at, exit_code, \
                   http_status, duration_ms, output, error, created_at, started_at, finished_at";

fn run(r: &Row) -> TriggerRun {
    TriggerRun {
        id: r.get(0),
        trigger: r.get(1),
        event_ids: ids_of(r.get(2)),
        status: RunStatus::parse(r.get(3)).unwrap_or(RunStatus::Queued),
        attempts: r.get(4),
        next_attempt_at: super::optional_time(r, 5),
        exit_code: r.get(6),
        http_status: r.get(7),
        duration_ms: r.get(8),
        output: r.get(9),
        error: r.get(10),
        created_at: super::time(r, 11),
        started_at: super::optional_time(r, 12),
        finished_at: super::optional_time(r, 13),
    }
}

fn state(r: &Row) -> TriggerState {
    TriggerState {
        name: r.get(0),
        cursor: r.get(1),
        disabled: r.get(2),
        created_at: super::time(r, 3),
    }
}

async fn claim_one(
    c: &impl GenericClient,
    name: &str,
    start: i64,
    owner: &str,
    until: &str,
    now: &str,
) -> Result<Option<TriggerState>, StoreError> {
    c.execute(
        "INSERT INTO trigger_state (name, position, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
        &[&name, &start, &now],
    )
    .await?;
    let Some(held) = c
        .query_opt(
            "SELECT owner FROM trigger_state
             WHERE name = $1 AND (owner = $2 OR owner IS NULL OR lease_until < $3) FOR UPDATE",
            &[&name, &owner, &now],
        )
        .await?
    else {
        return Ok(None);
    };
    if held.get::<_, Option<&str>>(0) != Some(owner) {
        c.execute(
            "UPDATE trigger_runs SET status = 'queued' WHERE \"trigger\" = $1 AND status = 'running'",
            &[&name],
        )
        .await?;
    }
    let row = c
        .query_one(
            "UPDATE trigger_state SET owner = $2, lease_until = $3 WHERE name = $1
             RETURNING name, position, disabled, created_at",
            &[&name, &owner, &until],
        )
        .await?;
    Ok(Some(state(&row)))
}

#[async_trait]
impl Triggers for Postgres {
    async fn claim_triggers(
        &self,
        wanted: Vec<(String, i64)>,
        owner: String,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<TriggerState>, StoreError> {
        let (until, now) = (format_time(lease_until), format_time(Utc::now()));
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mut taken = Vec::new();
        for (name, start) in &wanted {
            if let Some(s) = claim_one(&tx, name, *start, &owner, &until, &now).await? {
                taken.push(s);
            }
        }
        tx.commit().await?;
        Ok(taken)
    }

    async fn release_triggers(&self, owner: String) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE trigger_state SET owner = NULL, lease_until = NULL WHERE owner = $1",
                &[&owner],
            )
            .await?;
        Ok(())
    }

    async fn enqueue_trigger_run(
        &self,
        trigger: String,
        owner: String,
        event_ids: Vec<i64>,
        cursor: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let moved = tx
            .execute(
                "UPDATE trigger_state SET position = GREATEST(position, $3)
                 WHERE name = $1 AND owner = $2",
                &[&trigger, &owner, &cursor],
            )
            .await?;
        if moved != 1 {
            return Ok(None);
        }
        let row = tx
            .query_one(
                "INSERT INTO trigger_runs (\"trigger\", event_ids, status, created_at)
                 VALUES ($1, $2, 'queued', $3) RETURNING id",
                &[&trigger, &ids_text(&event_ids), &format_time(Utc::now())],
            )
            .await?;
        tx.commit().await?;
        Ok(Some(row.get(0)))
    }

    async fn trigger_cursor(
        &self,
        trigger: String,
        owner: String,
        cursor: i64,
    ) -> Result<bool, StoreError> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE trigger_state SET position = GREATEST(position, $3)
                 WHERE name = $1 AND owner = $2",
                &[&trigger, &owner, &cursor],
            )
            .await?;
        Ok(n == 1)
    }

    async fn due_trigger_runs(
        &self,
        trigger: String,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TriggerRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN} FROM trigger_runs
             WHERE \"trigger\" = $1 AND (status = 'queued'
                 OR (status = 'failed' AND next_attempt_at <= $2))
             ORDER BY id LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&trigger, &format_time(now), &(limit as i64)])
            .await?;
        Ok(rows.iter().map(run).collect())
    }

    async fn start_trigger_run(&self, id: i64, owner: String) -> Result<Option<i32>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "UPDATE trigger_runs SET status = 'running', attempts = attempts + 1,
                     started_at = $3, next_attempt_at = NULL
                 WHERE id = $1 AND status IN ('queued', 'failed')
                   AND \"trigger\" IN (SELECT name FROM trigger_state WHERE owner = $2)
                 RETURNING attempts",
                &[&id, &owner, &format_time(Utc::now())],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn finish_trigger_run(&self, id: i64, end: RunEnd) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE trigger_runs SET status = $2, next_attempt_at = $3, exit_code = $4,
                     http_status = $5, duration_ms = $6, output = $7, error = $8, finished_at = $9
                 WHERE id = $1",
                &[
                    &id,
                    &end.status.as_str(),
                    &end.next_attempt_at.map(format_time),
                    &end.exit_code,
                    &end.http_status,
                    &end.duration_ms,
                    &end.output,
                    &end.error,
                    &format_time(Utc::now()),
                ],
            )
            .await?;
        Ok(())
    }

    async fn trigger_run(&self, id: i64) -> Result<Option<TriggerRun>, StoreError> {
        let sql = format!("SELECT {RUN} FROM trigger_runs WHERE id = $1");
        let row = self.client().await?.query_opt(&sql, &[&id]).await?;
        Ok(row.as_ref().map(run))
    }

    async fn trigger_runs(&self, q: RunQuery) -> Result<Vec<TriggerRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN} FROM trigger_runs
             WHERE ($1::TEXT IS NULL OR \"trigger\" = $1) AND ($2::TEXT IS NULL OR status = $2)
               AND ($3::TEXT IS NULL OR created_at >= $3) AND ($4::BIGINT IS NULL OR id < $4)
             ORDER BY id DESC LIMIT $5"
        );
        let rows = self
            .client()
            .await?
            .query(
                &sql,
                &[
                    &q.trigger,
                    &q.status.map(RunStatus::as_str),
                    &q.since.map(format_time),
                    &q.before_id,
                    &(q.limit as i64),
                ],
            )
            .await?;
        Ok(rows.iter().map(run).collect())
    }

    async fn retry_trigger_run(&self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE trigger_runs SET status = 'queued', next_attempt_at = NULL
                 WHERE id = $1 AND status IN ('dead', 'failed')",
                &[&id],
            )
            .await?;
        Ok(n == 1)
    }

    async fn disable_trigger(&self, name: String, why: Option<String>) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE trigger_state SET disabled = $2 WHERE name = $1",
                &[&name, &why],
            )
            .await?;
        Ok(())
    }

    async fn trigger_states(
        &self,
    ) -> Result<Vec<(TriggerState, Vec<(RunStatus, i64)>)>, StoreError> {
        let c = self.client().await?;
        let all: Vec<TriggerState> = c
            .query(
                "SELECT name, position, disabled, created_at FROM trigger_state ORDER BY name",
                &[],
            )
            .await?
            .iter()
            .map(state)
            .collect();
        let counts = c
            .query(
                "SELECT \"trigger\", status, count(*) FROM trigger_runs GROUP BY \"trigger\", status",
                &[],
            )
            .await?;
        Ok(all
            .into_iter()
            .map(|s| {
                let mine = counts
                    .iter()
                    .filter(|r| r.get::<_, &str>(0) == s.name)
                    .filter_map(|r| RunStatus::parse(r.get(1)).map(|st| (st, r.get::<_, i64>(2))))
                    .collect();
                (s, mine)
            })
            .collect())
    }

    async fn forget_trigger_runs(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let n = self
            .client()
            .await?
            .execute(
                "DELETE FROM trigger_runs WHERE status IN ('succeeded', 'dead') AND created_at < $1",
                &[&format_time(before)],
            )
            .await?;
        Ok(n)
    }
}
