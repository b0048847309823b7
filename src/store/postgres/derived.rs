//! Rows derived from events on PostgreSQL: written in the event's transaction, read by the views.

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use crate::derive::Derived;
use crate::derive::deploy::{Deployment, Push};
use crate::derive::github::Activity;
use crate::event::{Action, ActionTarget, Completion};
use crate::store::StoreError;
use crate::time::format_time;
use async_trait::async_trait;

use super::{Postgres, execute_cached};
use crate::store::{Actions, Deploys, RepoActivity};
use tokio_postgres::types::ToSql;

const INSERT_ACTIONS: &str = "INSERT INTO actions (event_id, type, fields, created_at)
    SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[])
    ON CONFLICT (event_id, type) DO NOTHING";
const INSERT_PUSHES: &str =
    "INSERT INTO pushes (event_id, repo, branch, sha, message, author, time)
    SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[])";
const INSERT_ACTIVITY: &str = "INSERT INTO github_activity (event_id, repo, type, action, time,
                                 actor, number, title, state, branch, size)
    SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::int8[], $8::text[], $9::text[], $10::text[], $11::int8[])";
const INSERT_DEPLOYMENTS: &str = "INSERT INTO deployments (event_id, platform, project,
                                 deployment_id, state, url, sha, environment, time)
    SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[], $9::text[])";

/// Every statement `insert_all` may send.
pub const STATEMENTS: [&str; 4] = [
    INSERT_ACTIONS,
    INSERT_PUSHES,
    INSERT_ACTIVITY,
    INSERT_DEPLOYMENTS,
];

/// Inserts the derived rows of a commit's new events: one statement per kind of row, each
/// taking every row of that kind as arrays (so a group costs a few statements, not one per row).
pub async fn insert_all(
    c: &deadpool_postgres::Client,
    items: &[(i64, &str, &Derived)],
) -> Result<(), StoreError> {
    let mut actions = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut pushes = PushColumns::default();
    let mut activity = ActivityColumns::default();
    let mut deploys = DeployColumns::default();
    for &(event_id, received_at, d) in items {
        match d {
            Derived::Action(a) => {
                actions.0.push(event_id);
                actions.1.push(a.action_type.as_str());
                actions
                    .2
                    .push(serde_json::Value::Object(a.fields.clone()).to_string());
                actions.3.push(received_at);
            }
            Derived::Push(p) => pushes.push(event_id, p),
            Derived::GitHub(a) => activity.push(event_id, a),
            Derived::Deployment(d) => deploys.push(event_id, d),
        }
    }
    // Each skipped when it has no rows; the rest pipelined on the one connection.
    let actions = async {
        if actions.0.is_empty() {
            return Ok(0);
        }
        let a = &actions;
        execute_cached(c, INSERT_ACTIONS, &[&a.0, &a.1, &a.2, &a.3]).await
    };
    let pushes = async {
        let p = &pushes;
        if p.event_id.is_empty() {
            return Ok(0);
        }
        let params: [&(dyn ToSql + Sync); 7] = [
            &p.event_id,
            &p.repo,
            &p.branch,
            &p.sha,
            &p.message,
            &p.author,
            &p.time,
        ];
        execute_cached(c, INSERT_PUSHES, &params).await
    };
    let activity = async {
        let a = &activity;
        if a.event_id.is_empty() {
            return Ok(0);
        }
        let params: [&(dyn ToSql + Sync); 11] = [
            &a.event_id,
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
        ];
        execute_cached(c, INSERT_ACTIVITY, &params).await
    };
    let deploys = async {
        let d = &deploys;
        if d.event_id.is_empty() {
            return Ok(0);
        }
        let params: [&(dyn ToSql + Sync); 9] = [
            &d.event_id,
            &d.platform,
            &d.project,
            &d.deployment_id,
            &d.state,
            &d.url,
            &d.sha,
            &d.environment,
            &d.time,
        ];
        execute_cached(c, INSERT_DEPLOYMENTS, &params).await
    };
    futures_util::try_join!(actions, pushes, activity, deploys)?;
    Ok(())
}

/// Push rows as columns.
#[derive(Default)]
struct PushColumns<'a> {
    event_id: Vec<i64>,
    repo: Vec<&'a str>,
    branch: Vec<&'a str>,
    sha: Vec<&'a str>,
    message: Vec<&'a str>,
    author: Vec<&'a str>,
    time: Vec<String>,
}

impl<'a> PushColumns<'a> {
    fn push(&mut self, event_id: i64, p: &'a Push) {
        self.event_id.push(event_id);
        self.repo.push(&p.repo);
        self.branch.push(&p.branch);
        self.sha.push(&p.sha);
        self.message.push(&p.message);
        self.author.push(&p.author);
        self.time.push(format_time(p.time));
    }
}

/// GitHub activity rows as columns.
#[derive(Default)]
struct ActivityColumns<'a> {
    event_id: Vec<i64>,
    repo: Vec<&'a str>,
    event_type: Vec<&'a str>,
    action: Vec<Option<&'a str>>,
    time: Vec<String>,
    actor: Vec<Option<&'a str>>,
    number: Vec<Option<i64>>,
    title: Vec<Option<&'a str>>,
    state: Vec<Option<&'a str>>,
    branch: Vec<Option<&'a str>>,
    size: Vec<Option<i64>>,
}

impl<'a> ActivityColumns<'a> {
    fn push(&mut self, event_id: i64, a: &'a Activity) {
        self.event_id.push(event_id);
        self.repo.push(&a.repo);
        self.event_type.push(&a.event_type);
        self.action.push(a.action.as_deref());
        self.time.push(format_time(a.time));
        self.actor.push(a.actor.as_deref());
        self.number.push(a.number);
        self.title.push(a.title.as_deref());
        self.state.push(a.state.as_deref());
        self.branch.push(a.branch.as_deref());
        self.size.push(a.size);
    }
}

/// Deployment rows as columns.
#[derive(Default)]
struct DeployColumns<'a> {
    event_id: Vec<i64>,
    platform: Vec<&'a str>,
    project: Vec<&'a str>,
    deployment_id: Vec<&'a str>,
    state: Vec<&'a str>,
    url: Vec<Option<&'a str>>,
    sha: Vec<Option<&'a str>>,
    environment: Vec<Option<&'a str>>,
    time: Vec<String>,
}

impl<'a> DeployColumns<'a> {
    fn push(&mut self, event_id: i64, d: &'a Deployment) {
        self.event_id.push(event_id);
        self.platform.push(&d.platform);
        self.project.push(&d.project);
        self.deployment_id.push(&d.deployment_id);
        self.state.push(&d.state);
        self.url.push(d.url.as_deref());
        self.sha.push(d.sha.as_deref());
        self.environment.push(d.environment.as_deref());
        self.time.push(format_time(d.time));
    }
}

pub(super) fn push(r: &Row) -> Push {
    Push {
        repo: r.get(0),
        branch: r.get(1),
        sha: r.get(2),
        message: r.get(3),
        author: r.get(4),
        time: super::time(r, 5),
    }
}

pub(super) fn deployment(r: &Row) -> Deployment {
    Deployment {
        platform: r.get(0),
        project: r.get(1),
        deployment_id: r.get(2),
        state: r.get(3),
        url: r.get(4),
        sha: r.get(5),
        environment: r.get(6),
        time: super::time(r, 7),
        duration_seconds: None,
    }
}

pub(super) const PUSH: &str = "SELECT repo, branch, sha, message, author, time FROM pushes";
pub(super) const DEPLOY: &str =
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
pub(super) async fn with_durations(
    c: &impl GenericClient,
    mut rows: Vec<Deployment>,
) -> Result<Vec<Deployment>, StoreError> {
    for d in rows.iter_mut().filter(|d| d.is_final()) {
        let first = c
            .query_one(
                "SELECT min(time) FROM deployments WHERE deployment_id = $1 AND platform = $2",
                &[&d.deployment_id, &d.platform],
            )
            .await?;
        d.set_duration(super::optional_time(&first, 0));
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
    since: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Activity>, StoreError> {
    let rows = c
        .query(
            &format!(
                "{ACTIVITY} WHERE repo = $1 AND time >= $2 ORDER BY time DESC, id DESC LIMIT $3"
            ),
            &[&repo, &format_time(since), &(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(activity_row).collect())
}

pub(super) const ACTIVITY: &str = "SELECT repo, type, action, time, actor, number, title, state, branch, size FROM github_activity";

pub(super) fn activity_row(r: &Row) -> Activity {
    Activity {
        repo: r.get(0),
        event_type: r.get(1),
        action: r.get(2),
        time: super::time(r, 3),
        actor: r.get(4),
        number: r.get(5),
        title: r.get(6),
        state: r.get(7),
        branch: r.get(8),
        size: r.get(9),
    }
}

pub async fn tracked_repos(
    c: &impl GenericClient,
) -> Result<Vec<(String, i64, DateTime<Utc>)>, StoreError> {
    let rows = c
        .query(
            "SELECT repo, count(*), max(time) FROM github_activity GROUP BY repo
             ORDER BY max(time) DESC",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), super::time(r, 2)))
        .collect())
}

pub(super) const ACTION: &str =
    "SELECT id, type, status, fields, event_id, created_at, completed_at, details FROM actions";

pub(super) fn action(r: &Row) -> Result<Action, StoreError> {
    let id: i64 = r.get(0);
    Ok(Action {
        id,
        action_type: r.get(1),
        status: r.get(2),
        fields: serde_json::from_str(r.get(3)).map_err(|source| StoreError::Corrupt {
            what: format!("action {id}'s fields"),
            source,
        })?,
        event_id: r.get(4),
        created_at: super::time(r, 5),
        completed_at: super::optional_time(r, 6),
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
    let now = chrono::Utc::now();
    tx.execute(
        "UPDATE actions SET status = 'completed', completed_at = $2, details = $3 WHERE id = $1",
        &[&a.id, &format_time(now), &details],
    )
    .await?;
    tx.commit().await?;
    a.status = "completed".into();
    a.completed_at = Some(now);
    a.details = Some(details.to_owned());
    Ok(Completion::Completed(a))
}

#[async_trait]
impl Actions for Postgres {
    async fn pending_actions(
        &self,
        action_type: Option<String>,
    ) -> Result<Vec<Action>, StoreError> {
        pending_actions(&self.client().await?, action_type.as_deref()).await
    }

    async fn complete_action(
        &self,
        target: ActionTarget,
        details: String,
    ) -> Result<Completion, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        complete_action(tx, target, &details).await
    }
}

#[async_trait]
impl Deploys for Postgres {
    async fn recent_pushes(
        &self,
        repo: Option<String>,
        limit: usize,
    ) -> Result<Vec<Push>, StoreError> {
        recent_pushes(&self.client().await?, repo.as_deref(), limit).await
    }

    async fn recent_deployments(
        &self,
        project: Option<String>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        recent_deployments(&self.client().await?, project.as_deref(), limit).await
    }

    async fn by_sha(&self, prefix: String) -> Result<(Vec<Push>, Vec<Deployment>), StoreError> {
        by_sha(&self.client().await?, &prefix).await
    }
}

#[async_trait]
impl RepoActivity for Postgres {
    async fn github_activity(
        &self,
        repo: String,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        activity(&self.client().await?, &repo, since, limit).await
    }

    async fn tracked_repos(&self) -> Result<Vec<(String, i64, DateTime<Utc>)>, StoreError> {
        tracked_repos(&self.client().await?).await
    }
}
