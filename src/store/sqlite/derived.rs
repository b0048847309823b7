//! Rows derived from events (actions, pushes, deployments): written in the event's transaction,
//! and read by the views' queries.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, Transaction, params};

use crate::derive::Derived;
use crate::derive::deploy::{Deployment, Push};
use crate::derive::github::Activity;
use crate::store::StoreError;
use crate::time::format_time;
use async_trait::async_trait;

use super::Sqlite;
use crate::store::{Deploys, RepoActivity};

pub fn insert(
    tx: &Transaction<'_>,
    event_id: i64,
    received_at: &str,
    d: &Derived,
) -> rusqlite::Result<()> {
    match d {
        Derived::Action(a) => tx
            .prepare_cached(
                "INSERT INTO actions (event_id, type, fields, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (event_id, type) DO NOTHING",
            )?
            .execute(params![
                event_id,
                a.action_type,
                serde_json::Value::Object(a.fields.clone()).to_string(),
                received_at
            ]),
        Derived::Push(p) => tx
            .prepare_cached(
                "INSERT INTO pushes (event_id, repo, branch, sha, message, author, time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                event_id,
                p.repo,
                p.branch,
                p.sha,
                p.message,
                p.author,
                format_time(p.time)
            ]),
        Derived::GitHub(a) => tx
            .prepare_cached(
                "INSERT INTO github_activity (event_id, repo, type, action, time, actor, number, title,
                                              state, branch, size)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                event_id, a.repo, a.event_type, a.action, format_time(a.time), a.actor, a.number, a.title, a.state,
                a.branch, a.size
            ]),
        Derived::Deployment(d) => tx
            .prepare_cached(
                "INSERT INTO deployments (event_id, platform, project, deployment_id, state, url, sha,
                                          environment, time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                event_id,
                d.platform,
                d.project,
                d.deployment_id,
                d.state,
                d.url,
                d.sha,
                d.environment,
                format_time(d.time)
            ]),
    }
    .map(|_| ())
}

pub(super) fn push(r: &Row<'_>) -> rusqlite::Result<Push> {
    Ok(Push {
        repo: r.get(0)?,
        branch: r.get(1)?,
        sha: r.get(2)?,
        message: r.get(3)?,
        author: r.get(4)?,
        time: super::time(r, 5)?,
    })
}

pub(super) fn deployment(r: &Row<'_>) -> rusqlite::Result<Deployment> {
    Ok(Deployment {
        platform: r.get(0)?,
        project: r.get(1)?,
        deployment_id: r.get(2)?,
        state: r.get(3)?,
        url: r.get(4)?,
        sha: r.get(5)?,
        environment: r.get(6)?,
        time: super::time(r, 7)?,
        duration_seconds: None,
    })
}

pub(super) const PUSH: &str = "SELECT repo, branch, sha, message, author, time FROM pushes";
pub(super) const DEPLOY: &str =
    "SELECT platform, project, deployment_id, state, url, sha, environment, time FROM deployments";

/// Newest first.
pub fn recent_pushes(
    c: &Connection,
    repo: Option<&str>,
    limit: usize,
) -> Result<Vec<Push>, StoreError> {
    let sql = format!("{PUSH} WHERE ?1 IS NULL OR repo = ?1 ORDER BY id DESC LIMIT ?2");
    let rows = c
        .prepare_cached(&sql)?
        .query_map(params![repo, limit as i64], push)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Fills `duration_seconds` for final states from the deployment's first recorded state.
pub(super) fn with_durations(
    c: &Connection,
    mut rows: Vec<Deployment>,
) -> Result<Vec<Deployment>, StoreError> {
    let mut first = c.prepare_cached(
        "SELECT MIN(time) FROM deployments WHERE deployment_id = ?1 AND platform = ?2",
    )?;
    for d in rows.iter_mut().filter(|d| d.is_final()) {
        let start = first.query_row(params![d.deployment_id, d.platform], |r| {
            super::optional_time(r, 0)
        })?;
        d.set_duration(start);
    }
    Ok(rows)
}

/// Newest first.
pub fn recent_deployments(
    c: &Connection,
    project: Option<&str>,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let sql = format!("{DEPLOY} WHERE ?1 IS NULL OR project = ?1 ORDER BY id DESC LIMIT ?2");
    let rows = c
        .prepare_cached(&sql)?
        .query_map(params![project, limit as i64], deployment)?
        .collect::<Result<_, _>>()?;
    with_durations(c, rows)
}

/// Pushes and deployments of commits starting with `prefix` (lower-case hex, validated by the
/// caller). A range on the index, no pattern matching: `prefix || 'g'` sorts after every hex
/// continuation of the prefix.
pub fn by_sha(c: &Connection, prefix: &str) -> Result<(Vec<Push>, Vec<Deployment>), StoreError> {
    let upper = format!("{prefix}g");
    let pushes = c
        .prepare_cached(&format!("{PUSH} WHERE sha >= ?1 AND sha < ?2 ORDER BY id"))?
        .query_map(params![prefix, upper], push)?
        .collect::<Result<_, _>>()?;
    let deployments = c
        .prepare_cached(&format!(
            "{DEPLOY} WHERE sha >= ?1 AND sha < ?2 ORDER BY id"
        ))?
        .query_map(params![prefix, upper], deployment)?
        .collect::<Result<_, _>>()?;
    Ok((pushes, with_durations(c, deployments)?))
}

/// A repository's activity at or after `since` (RFC 3339), newest first.
pub fn activity(
    c: &Connection,
    repo: &str,
    since: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Activity>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "{ACTIVITY} WHERE repo = ?1 AND time >= ?2 ORDER BY time DESC, id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![repo, format_time(since), limit as i64],
        activity_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) const ACTIVITY: &str = "SELECT repo, type, action, time, actor, number, title, state, branch, size FROM github_activity";

pub(super) fn activity_row(r: &Row<'_>) -> rusqlite::Result<Activity> {
    Ok(Activity {
        repo: r.get(0)?,
        event_type: r.get(1)?,
        action: r.get(2)?,
        time: super::time(r, 3)?,
        actor: r.get(4)?,
        number: r.get(5)?,
        title: r.get(6)?,
        state: r.get(7)?,
        branch: r.get(8)?,
        size: r.get(9)?,
    })
}

/// Every repository with activity: (repo, events, last activity), most recent first.
pub fn tracked_repos(c: &Connection) -> Result<Vec<(String, i64, DateTime<Utc>)>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT repo, COUNT(*), MAX(time) FROM github_activity GROUP BY repo ORDER BY MAX(time) DESC",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, super::time(r, 2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[async_trait]
impl Deploys for Sqlite {
    async fn recent_pushes(
        &self,
        repo: Option<String>,
        limit: usize,
    ) -> Result<Vec<Push>, StoreError> {
        self.read(move |c| recent_pushes(c, repo.as_deref(), limit))
            .await
    }

    async fn recent_deployments(
        &self,
        project: Option<String>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.read(move |c| recent_deployments(c, project.as_deref(), limit))
            .await
    }

    async fn by_sha(&self, prefix: String) -> Result<(Vec<Push>, Vec<Deployment>), StoreError> {
        self.read(move |c| by_sha(c, &prefix)).await
    }
}

#[async_trait]
impl RepoActivity for Sqlite {
    async fn github_activity(
        &self,
        repo: String,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        self.read(move |c| activity(c, &repo, since, limit)).await
    }

    async fn tracked_repos(&self) -> Result<Vec<(String, i64, DateTime<Utc>)>, StoreError> {
        self.read(tracked_repos).await
    }
}
