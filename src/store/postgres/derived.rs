//! Rows derived from events on PostgreSQL: written in the event's transaction, read by the views.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use crate::event::{Action, ActionTarget, Completion, format_time};
use crate::store::StoreError;
use crate::views::Derived;
use crate::views::deploy::{Deployment, Push};
use crate::views::github::Activity;

pub async fn insert(
    tx: &Transaction<'_>,
    event_id: i64,
    received_at: &str,
    d: &Derived,
) -> Result<(), StoreError> {
    match d {
        Derived::Action(a) => {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO actions (event_id, type, fields, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (event_id, type) DO NOTHING",
                )
                .await?;
            let fields = serde_json::Value::Object(a.fields.clone()).to_string();
            tx.execute(&stmt, &[&event_id, &a.action_type, &fields, &received_at])
                .await?
        }
        Derived::Push(p) => {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO pushes (event_id, repo, branch, sha, message, author, time)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .await?;
            tx.execute(
                &stmt,
                &[
                    &event_id, &p.repo, &p.branch, &p.sha, &p.message, &p.author, &p.time,
                ],
            )
            .await?
        }
        Derived::GitHub(a) => {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO github_activity (event_id, repo, type, action, time, actor, number,
                                                  title, state, branch, size)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .await?;
            tx.execute(
                &stmt,
                &[
                    &event_id,
                    &a.repo,
                    &a.event_type,
                    &a.action,
                    &a.time,
                    &a.actor,
                    &a.number,
                    &a.title,
                    &a.state,
                    &a.branch,
                    &a.size,
                ],
            )
            .await?
        }
        Derived::Deployment(d) => {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO deployments (event_id, platform, project, deployment_id, state, url,
                                              sha, environment, time)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .await?;
            tx.execute(
                &stmt,
                &[
                    &event_id,
                    &d.platform,
                    &d.project,
                    &d.deployment_id,
                    &d.state,
                    &d.url,
                    &d.sha,
                    &d.environment,
                    &d.time,
                ],
            )
            .await?
        }
    };
    Ok(())
}

fn push(r: &Row) -> Push {
    Push {
        repo: r.get(0),
        branch: r.get(1),
        sha: r.get(2),
        message: r.get(3),
        author: r.get(4),
        time: r.get(5),
    }
}

fn deployment(r: &Row) -> Deployment {
    Deployment {
        platform: r.get(0),
        project: r.get(1),
        deployment_id: r.get(2),
        state: r.get(3),
        url: r.get(4),
        sha: r.get(5),
        environment: r.get(6),
        time: r.get(7),
        duration_seconds: None,
    }
}

const PUSH: &str = "SELECT repo, branch, sha, message, author, time FROM pushes";
const DEPLOY: &str =
    "SELECT platform, project, deployment_id, state, url, sha, environment, time FROM deployments";

pub async fn recent_pushes(
    c: &impl GenericClient,
    repo: Option<&str>,
    limit: usize,
) -> Result<Vec<Push>, StoreError> {
    let sql = format!("{PUSH} WHERE $1::text IS NULL OR repo = $1 ORDER BY id DESC LIMIT $2");
    let rows = c.query(&sql, &[&repo, &(limit as i64)]).await?;
    Ok(rows.iter().map(push).collect())
}

/// Fills `duration_seconds` for final states from the deployment's first recorded state.
async fn with_durations(
    c: &impl GenericClient,
    mut rows: Vec<Deployment>,
) -> Result<Vec<Deployment>, StoreError> {
    for d in rows
        .iter_mut()
        .filter(|d| matches!(d.state.as_str(), "ready" | "error" | "canceled"))
    {
        let start: Option<String> = c
            .query_one(
                "SELECT min(time) FROM deployments WHERE deployment_id = $1 AND platform = $2",
                &[&d.deployment_id, &d.platform],
            )
            .await?
            .get(0);
        d.duration_seconds = start.and_then(|s| {
            let (from, to) = (
                crate::event::parse_time(&s).ok()?,
                crate::event::parse_time(&d.time).ok()?,
            );
            Some((to - from).num_seconds()).filter(|_| s != d.time)
        });
    }
    Ok(rows)
}

pub async fn recent_deployments(
    c: &impl GenericClient,
    project: Option<&str>,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let sql = format!("{DEPLOY} WHERE $1::text IS NULL OR project = $1 ORDER BY id DESC LIMIT $2");
    let rows = c.query(&sql, &[&project, &(limit as i64)]).await?;
    with_durations(c, rows.iter().map(deployment).collect()).await
}

/// Pushes and deployments of commits starting with `prefix` (lower-case hex, validated by the
/// caller): a range on the index, as on SQLite.
pub async fn by_sha(
    c: &impl GenericClient,
    prefix: &str,
) -> Result<(Vec<Push>, Vec<Deployment>), StoreError> {
    let upper = format!("{prefix}g");
    let pushes = c
        .query(
            &format!("{PUSH} WHERE sha >= $1 AND sha < $2 ORDER BY id"),
            &[&prefix, &upper],
        )
        .await?;
    let deployments = c
        .query(
            &format!("{DEPLOY} WHERE sha >= $1 AND sha < $2 ORDER BY id"),
            &[&prefix, &upper],
        )
        .await?;
    let deployments = with_durations(c, deployments.iter().map(deployment).collect()).await?;
    Ok((pushes.iter().map(push).collect(), deployments))
}

pub async fn activity(
    c: &impl GenericClient,
    repo: &str,
    since: &str,
    limit: usize,
) -> Result<Vec<Activity>, StoreError> {
    let rows = c
        .query(
            "SELECT repo, type, action, time, actor, number, title, state, branch, size
             FROM github_activity WHERE repo = $1 AND time >= $2
             ORDER BY time DESC, id DESC LIMIT $3",
            &[&repo, &since, &(limit as i64)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Activity {
            repo: r.get(0),
            event_type: r.get(1),
            action: r.get(2),
            time: r.get(3),
            actor: r.get(4),
            number: r.get(5),
            title: r.get(6),
            state: r.get(7),
            branch: r.get(8),
            size: r.get(9),
        })
        .collect())
}

pub async fn tracked_repos(
    c: &impl GenericClient,
) -> Result<Vec<(String, i64, String)>, StoreError> {
    let rows = c
        .query(
            "SELECT repo, count(*), max(time) FROM github_activity GROUP BY repo
             ORDER BY max(time) DESC",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

const ACTION: &str =
    "SELECT id, type, status, fields, event_id, created_at, completed_at, details FROM actions";

fn action(r: &Row) -> Result<Action, StoreError> {
    let id: i64 = r.get(0);
    Ok(Action {
        id,
        action_type: r.get(1),
        status: r.get(2),
        fields: serde_json::from_str(r.get(3))
            .map_err(|_| StoreError::Corrupt(format!("action {id}: bad fields")))?,
        event_id: r.get(4),
        created_at: r.get(5),
        completed_at: r.get(6),
        details: r.get(7),
    })
}

pub async fn pending_actions(
    c: &impl GenericClient,
    action_type: Option<&str>,
) -> Result<Vec<Action>, StoreError> {
    let sql = format!(
        "{ACTION} WHERE status = 'pending' AND ($1::text IS NULL OR type = $1) ORDER BY id"
    );
    c.query(&sql, &[&action_type])
        .await?
        .iter()
        .map(action)
        .collect()
}

/// Completes the target once. The row is locked for the transaction, so of two completers of
/// one action one wins; "the oldest pending" skips rows another completer holds.
pub async fn complete_action(
    tx: Transaction<'_>,
    target: ActionTarget,
    details: &str,
) -> Result<Completion, StoreError> {
    let found = match &target {
        ActionTarget::Id(id) => {
            tx.query_opt(&format!("{ACTION} WHERE id = $1 FOR UPDATE"), &[id])
                .await?
        }
        ActionTarget::OldestOfType(t) => {
            let sql = format!(
                "{ACTION} WHERE status = 'pending' AND type = $1 ORDER BY id LIMIT 1
                 FOR UPDATE SKIP LOCKED"
            );
            tx.query_opt(&sql, &[t]).await?
        }
    };
    let Some(found) = found else {
        return Ok(Completion::NotFound);
    };
    let mut a = action(&found)?;
    if a.status == "completed" {
        return Ok(Completion::AlreadyCompleted(a));
    }
    let now = format_time(chrono::Utc::now());
    tx.execute(
        "UPDATE actions SET status = 'completed', completed_at = $2, details = $3 WHERE id = $1",
        &[&a.id, &now, &details],
    )
    .await?;
    tx.commit().await?;
    a.status = "completed".into();
    a.completed_at = Some(now);
    a.details = Some(details.to_owned());
    Ok(Completion::Completed(a))
}
