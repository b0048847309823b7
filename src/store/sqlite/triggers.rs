//! Triggers' cursors and runs on SQLite (see `store::triggers`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Sqlite;
use crate::store::StoreError;
use crate::store::triggers::{
    RunEnd, RunQuery, RunStatus, TriggerRun, TriggerState, Triggers, ids_of, ids_text,
};
use crate::time::format_time;

const RUN: &str = "id, \"trigger\", event_ids, status, attempts, next_attempt_at, exit_code, \
                   http_status, duration_ms, output, error, created_at, started_at, finished_at";

fn run(r: &Row<'_>) -> rusqlite::Result<TriggerRun> {
    Ok(TriggerRun {
        id: r.get(0)?,
        trigger: r.get(1)?,
        event_ids: ids_of(&r.get::<_, String>(2)?),
        status: RunStatus::parse(&r.get::<_, String>(3)?).unwrap_or(RunStatus::Queued),
        attempts: r.get(4)?,
        next_attempt_at: super::optional_time(r, 5)?,
        exit_code: r.get(6)?,
        http_status: r.get(7)?,
        duration_ms: r.get(8)?,
        output: r.get(9)?,
        error: r.get(10)?,
        created_at: super::time(r, 11)?,
        started_at: super::optional_time(r, 12)?,
        finished_at: super::optional_time(r, 13)?,
    })
}

fn state(r: &Row<'_>) -> rusqlite::Result<TriggerState> {
    Ok(TriggerState {
        name: r.get(0)?,
        cursor: r.get(1)?,
        disabled: r.get(2)?,
        created_at: super::time(r, 3)?,
    })
}

fn claim(
    c: &mut Connection,
    wanted: &[(String, i64)],
    owner: &str,
    until: &str,
) -> Result<Vec<TriggerState>, StoreError> {
    let now = format_time(Utc::now());
    let tx = c.transaction()?;
    let mut taken = Vec::new();
    for (name, start) in wanted {
        tx.prepare_cached(
            "INSERT INTO trigger_state (name, position, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO NOTHING",
        )?
        .execute(params![name, start, now])?;
        let held: Option<Option<String>> = tx
            .prepare_cached(
                "SELECT owner FROM trigger_state
                 WHERE name = ?1 AND (owner = ?2 OR owner IS NULL OR lease_until < ?3)",
            )?
            .query_row(params![name, owner, now], |r| r.get(0))
            .optional()?;
        let Some(previous) = held else { continue };
        if previous.as_deref() != Some(owner) {
            tx.prepare_cached(
                "UPDATE trigger_runs SET status = 'queued'
                 WHERE \"trigger\" = ?1 AND status = 'running'",
            )?
            .execute([name])?;
        }
        let s = tx
            .prepare_cached(
                "UPDATE trigger_state SET owner = ?2, lease_until = ?3 WHERE name = ?1
                 RETURNING name, position, disabled, created_at",
            )?
            .query_row(params![name, owner, until], state)?;
        taken.push(s);
    }
    tx.commit()?;
    Ok(taken)
}

fn holds(c: &Connection, trigger: &str, owner: &str) -> Result<bool, StoreError> {
    Ok(
        c.prepare_cached("SELECT 1 FROM trigger_state WHERE name = ?1 AND owner = ?2")?
            .exists(params![trigger, owner])?,
    )
}

fn enqueue(
    c: &mut Connection,
    trigger: &str,
    owner: &str,
    ids: &[i64],
    cursor: i64,
) -> Result<Option<i64>, StoreError> {
    let tx = c.transaction()?;
    if !holds(&tx, trigger, owner)? {
        return Ok(None);
    }
    let id = tx
        .prepare_cached(
            "INSERT INTO trigger_runs (\"trigger\", event_ids, status, created_at)
             VALUES (?1, ?2, 'queued', ?3) RETURNING id",
        )?
        .query_row(
            params![trigger, ids_text(ids), format_time(Utc::now())],
            |r| r.get(0),
        )?;
    tx.prepare_cached("UPDATE trigger_state SET position = max(position, ?2) WHERE name = ?1")?
        .execute(params![trigger, cursor])?;
    tx.commit()?;
    Ok(Some(id))
}

fn start(c: &mut Connection, id: i64, owner: &str) -> Result<Option<i32>, StoreError> {
    let attempt = c
        .prepare_cached(
            "UPDATE trigger_runs SET status = 'running', attempts = attempts + 1,
                 started_at = ?3, next_attempt_at = NULL
             WHERE id = ?1 AND status IN ('queued', 'failed')
               AND \"trigger\" IN (SELECT name FROM trigger_state WHERE owner = ?2)
             RETURNING attempts",
        )?
        .query_row(params![id, owner, format_time(Utc::now())], |r| r.get(0))
        .optional()?;
    Ok(attempt)
}

fn list(c: &Connection, q: &RunQuery) -> Result<Vec<TriggerRun>, StoreError> {
    let sql = format!(
        "SELECT {RUN} FROM trigger_runs
         WHERE (?1 IS NULL OR \"trigger\" = ?1) AND (?2 IS NULL OR status = ?2)
           AND (?3 IS NULL OR created_at >= ?3) AND (?4 IS NULL OR id < ?4)
         ORDER BY id DESC LIMIT ?5"
    );
    let rows = c
        .prepare_cached(&sql)?
        .query_map(
            params![
                q.trigger,
                q.status.map(RunStatus::as_str),
                q.since.map(format_time),
                q.before_id,
                q.limit as i64
            ],
            run,
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

#[allow(clippy::type_complexity)]
fn states(c: &Connection) -> Result<Vec<(TriggerState, Vec<(RunStatus, i64)>)>, StoreError> {
    let all: Vec<TriggerState> = c
        .prepare_cached(
            "SELECT name, position, disabled, created_at FROM trigger_state ORDER BY name",
        )?
        .query_map([], state)?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(all.len());
    for s in all {
        let counts = c
            .prepare_cached(
                "SELECT status, count(*) FROM trigger_runs WHERE \"trigger\" = ?1 GROUP BY status",
            )?
            .query_map([&s.name], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .filter_map(|r| r.ok())
            .filter_map(|(status, n)| RunStatus::parse(&status).map(|s| (s, n)))
            .collect();
        out.push((s, counts));
    }
    Ok(out)
}

#[async_trait]
impl Triggers for Sqlite {
    async fn claim_triggers(
        &self,
        wanted: Vec<(String, i64)>,
        owner: String,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<TriggerState>, StoreError> {
        let until = format_time(lease_until);
        self.write(move |c| claim(c, &wanted, &owner, &until)).await
    }

    async fn release_triggers(&self, owner: String) -> Result<(), StoreError> {
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE trigger_state SET owner = NULL, lease_until = NULL WHERE owner = ?1",
            )?
            .execute([owner])?;
            Ok(())
        })
        .await
    }

    async fn enqueue_trigger_run(
        &self,
        trigger: String,
        owner: String,
        event_ids: Vec<i64>,
        cursor: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.write(move |c| enqueue(c, &trigger, &owner, &event_ids, cursor))
            .await
    }

    async fn trigger_cursor(
        &self,
        trigger: String,
        owner: String,
        cursor: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE trigger_state SET position = max(position, ?3)
                     WHERE name = ?1 AND owner = ?2",
                )?
                .execute(params![trigger, owner, cursor])?;
            Ok(n == 1)
        })
        .await
    }

    async fn due_trigger_runs(
        &self,
        trigger: String,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TriggerRun>, StoreError> {
        let now = format_time(now);
        self.read(move |c| {
            let sql = format!(
                "SELECT {RUN} FROM trigger_runs
                 WHERE \"trigger\" = ?1 AND (status = 'queued'
                     OR (status = 'failed' AND next_attempt_at <= ?2))
                 ORDER BY id LIMIT ?3"
            );
            let rows = c
                .prepare_cached(&sql)?
                .query_map(params![trigger, now, limit as i64], run)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn start_trigger_run(&self, id: i64, owner: String) -> Result<Option<i32>, StoreError> {
        self.write(move |c| start(c, id, &owner)).await
    }

    async fn finish_trigger_run(&self, id: i64, end: RunEnd) -> Result<(), StoreError> {
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE trigger_runs SET status = ?2, next_attempt_at = ?3, exit_code = ?4,
                     http_status = ?5, duration_ms = ?6, output = ?7, error = ?8, finished_at = ?9
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                end.status.as_str(),
                end.next_attempt_at.map(format_time),
                end.exit_code,
                end.http_status,
                end.duration_ms,
                end.output,
                end.error,
                format_time(Utc::now()),
            ])?;
            Ok(())
        })
        .await
    }

    async fn trigger_run(&self, id: i64) -> Result<Option<TriggerRun>, StoreError> {
        self.read(move |c| {
            let sql = format!("SELECT {RUN} FROM trigger_runs WHERE id = ?1");
            Ok(c.prepare_cached(&sql)?.query_row([id], run).optional()?)
        })
        .await
    }

    async fn trigger_runs(&self, query: RunQuery) -> Result<Vec<TriggerRun>, StoreError> {
        self.read(move |c| list(c, &query)).await
    }

    async fn retry_trigger_run(&self, id: i64) -> Result<bool, StoreError> {
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE trigger_runs SET status = 'queued', next_attempt_at = NULL
                     WHERE id = ?1 AND status IN ('dead', 'failed')",
                )?
                .execute([id])?;
            Ok(n == 1)
        })
        .await
    }

    async fn disable_trigger(&self, name: String, why: Option<String>) -> Result<(), StoreError> {
        self.write(move |c| {
            c.prepare_cached("UPDATE trigger_state SET disabled = ?2 WHERE name = ?1")?
                .execute(params![name, why])?;
            Ok(())
        })
        .await
    }

    async fn trigger_states(
        &self,
    ) -> Result<Vec<(TriggerState, Vec<(RunStatus, i64)>)>, StoreError> {
        self.read(states).await
    }

    async fn forget_trigger_runs(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = format_time(before);
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "DELETE FROM trigger_runs
                     WHERE status IN ('succeeded', 'dead') AND created_at < ?1",
                )?
                .execute([before])?;
            Ok(n as u64)
        })
        .await
    }
}
