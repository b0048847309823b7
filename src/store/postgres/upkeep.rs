//! The small writes on PostgreSQL: refused deliveries, retention, consumer cursors. None needs the
//! write lock: none draws an event id.

use deadpool_postgres::GenericClient;

use crate::event::Rejected;
use crate::store::{BACKLOG_COUNT, Consumer, MAX_REJECTED, Retention, StoreError};
use crate::time::format_time;
use async_trait::async_trait;

use super::Postgres;
use crate::store::Consumers;

/// How many rows one retention step deletes.
pub const PRUNE_CHUNK: u64 = 2000;

pub async fn reject(c: &impl GenericClient, r: &Rejected) -> Result<(), StoreError> {
    let headers = serde_json::Value::Object(r.headers.clone()).to_string();
    c.execute(
        "INSERT INTO rejections (source, received_at, reason, detail, headers, body_size, body_sha256)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &r.source,
            &format_time(r.received_at),
            &r.reason,
            &r.detail,
            &headers,
            &(r.body_size as i64),
            &r.body_sha256,
        ],
    )
    .await?;
    c.execute(
        "DELETE FROM rejections WHERE id <= (SELECT id FROM rejections ORDER BY id DESC OFFSET $1 LIMIT 1)",
        &[&MAX_REJECTED],
    )
    .await?;
    Ok(())
}

/// Refreshes the planner's statistics of hookd's tables that changed by more than a tenth (plus
/// 1,000 rows) since they were last analyzed, when that was over a minute ago. PostgreSQL's
/// autovacuum does this when it is on; with it off, a table filled since its creation is planned
/// as if empty (a search at a million events took a parallel sequential scan: 300 ms instead of
/// 0.1 ms). With autovacuum on this finds nothing to do. Returns the tables analyzed.
pub async fn analyze_if_stale(c: &impl GenericClient) -> Result<Vec<String>, StoreError> {
    let stale: Vec<String> = c
        .query(
            "SELECT relname::text FROM pg_stat_user_tables
             WHERE schemaname = current_schema()
               AND relname IN ('events', 'sources', 'actions', 'pushes', 'deployments',
                               'github_activity', 'consumers', 'pruned_deliveries')
               AND n_mod_since_analyze > 1000 + n_live_tup / 10
               AND coalesce(greatest(last_analyze, last_autoanalyze), 'epoch') < now() - interval '1 minute'",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for table in &stale {
        // The names come from the fixed list above.
        c.batch_execute(&format!("ANALYZE {table}")).await?;
    }
    Ok(stale)
}

/// Deletes at most `PRUNE_CHUNK` events `policy` no longer keeps (derived rows go with them by
/// `ON DELETE CASCADE`), and takes them off their sources' totals, in one transaction.
pub async fn prune_step(
    client: &mut deadpool_postgres::Client,
    policy: Retention,
) -> Result<u64, StoreError> {
    let tx = client.transaction().await?;
    let mut deleted: Vec<String> = tx
        .query(
            "DELETE FROM events WHERE id IN
               (SELECT id FROM events WHERE received_at < $1 ORDER BY received_at LIMIT $2)
             RETURNING source",
            &[&format_time(policy.received_before), &(PRUNE_CHUNK as i64)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // FOR UPDATE: another instance pruning at the same time waits here and then sees the count
    // this one leaves, instead of cutting the same source down a second time.
    let over_cap = tx
        .query(
            "SELECT source, count FROM sources WHERE count > $1 ORDER BY source FOR UPDATE",
            &[&(policy.max_events_per_source as i64)],
        )
        .await?;
    for row in over_cap {
        let (source, count): (String, i64) = (row.get(0), row.get(1));
        let budget = PRUNE_CHUNK.saturating_sub(deleted.len() as u64);
        let n = budget.min((count as u64).saturating_sub(policy.max_events_per_source));
        if n == 0 {
            break;
        }
        let removed = tx
            .execute(
                "DELETE FROM events WHERE id IN
                   (SELECT id FROM events WHERE source = $1 ORDER BY id LIMIT $2)",
                &[&source, &(n as i64)],
            )
            .await?;
        deleted.extend(std::iter::repeat_n(source, removed as usize));
    }
    let mut by_source = std::collections::BTreeMap::<&str, i64>::new();
    for s in &deleted {
        *by_source.entry(s).or_default() += 1;
    }
    for (source, n) in by_source {
        tx.execute(
            "UPDATE sources SET count = count - $2 WHERE source = $1",
            &[&source, &n],
        )
        .await?;
    }
    tx.execute("DELETE FROM sources WHERE count <= 0", &[])
        .await?;
    tx.execute(
        "DELETE FROM pruned_deliveries WHERE received_at < $1",
        &[&format_time(policy.dedupe_after)],
    )
    .await?;
    tx.commit().await?;
    Ok(deleted.len() as u64)
}

/// Moves a consumer's cursor forward to `up_to_id` (never back) and returns the cursor now.
pub async fn ack(c: &impl GenericClient, name: &str, up_to_id: i64) -> Result<i64, StoreError> {
    let now = format_time(chrono::Utc::now());
    let moved = c
        .query_opt(
            r#"INSERT INTO consumers (name, "cursor", updated_at) VALUES ($1, $2, $3)
               ON CONFLICT (name) DO UPDATE
                   SET "cursor" = excluded."cursor", updated_at = excluded.updated_at
                   WHERE excluded."cursor" > consumers."cursor"
               RETURNING "cursor""#,
            &[&name, &up_to_id, &now],
        )
        .await?;
    match moved {
        Some(row) => Ok(row.get(0)),
        None => Ok(cursor(c, name).await?.unwrap_or_default()),
    }
}

pub async fn cursor(c: &impl GenericClient, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(c.query_opt(
        r#"SELECT "cursor" FROM consumers WHERE name = $1"#,
        &[&name],
    )
    .await?
    .map(|r| r.get(0)))
}

pub async fn consumers(c: &impl GenericClient) -> Result<Vec<Consumer>, StoreError> {
    let rows = c
        .query(
            r#"SELECT name, "cursor", updated_at,
                      (SELECT count(*) FROM (SELECT 1 FROM events WHERE id > consumers."cursor" LIMIT $1) n),
                      (SELECT COALESCE(max(id), 0) FROM events)
               FROM consumers ORDER BY name"#,
            &[&(BACKLOG_COUNT + 1)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let mut consumer = Consumer {
                name: r.get(0),
                cursor: r.get(1),
                updated_at: super::time(r, 2),
                backlog: 0,
                backlog_estimated: false,
            };
            consumer.backlog(r.get(3), r.get(4));
            consumer
        })
        .collect())
}

#[async_trait]
impl Consumers for Postgres {
    async fn consumer_cursor(&self, name: String) -> Result<Option<i64>, StoreError> {
        cursor(&self.client().await?, &name).await
    }

    async fn ack(&self, name: String, up_to_id: i64) -> Result<i64, StoreError> {
        ack(&self.client().await?, &name, up_to_id).await
    }

    async fn consumers(&self) -> Result<Vec<Consumer>, StoreError> {
        consumers(&self.client().await?).await
    }
}
