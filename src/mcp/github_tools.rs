//! GitHub activity tools: what happened in a repository, its commits, its pull requests.

use std::collections::{BTreeMap, BTreeSet};

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hookd, hours, storage};
use crate::derive::github::Activity;

/// At most this many activity rows are read for one answer.
const WINDOW_ROWS: usize = 10_000;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RepoArgs {
    /// `owner/name`.
    pub repo: String,
    /// The window, in hours (default 24; any positive number: 100000 covers everything stored).
    #[schemars(range(min = 1))]
    pub hours: Option<u32>,
    /// Only events of this type (`push`, `pull_request`, `issues`, `release`, `workflow_run`, …).
    pub event_type: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WindowArgs {
    /// `owner/name`.
    pub repo: String,
    /// The window, in hours (default 24; any positive number: 100000 covers everything stored).
    #[schemars(range(min = 1))]
    pub hours: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TrackedRepo {
    pub repo: String,
    pub total_events: i64,
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub last_activity: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TrackedRepos {
    pub repos: Vec<TrackedRepo>,
}

/// What a maintainer wants to know first.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Highlights {
    pub commits_pushed: i64,
    pub prs_opened: Vec<String>,
    pub prs_merged: Vec<String>,
    pub prs_closed_unmerged: Vec<String>,
    pub issues_opened: Vec<String>,
    pub issues_closed: Vec<String>,
    pub releases: Vec<String>,
    pub workflow_runs_by_conclusion: BTreeMap<String, usize>,
    pub deployments_by_state: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RepoActivity {
    pub repo: String,
    pub period_hours: u32,
    pub total_events: usize,
    pub events_by_type: BTreeMap<String, usize>,
    pub highlights: Highlights,
    /// The last 10, newest first.
    pub recent_events: Vec<Activity>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct BranchCommits {
    pub pushes: usize,
    pub commits: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommitSummary {
    pub repo: String,
    pub period_hours: u32,
    pub total_pushes: usize,
    /// From each push's `size`, so pushes of more than 20 commits count fully.
    pub total_commits: i64,
    /// Pushers and commit authors.
    pub contributors: Vec<String>,
    /// The last 10 commit messages (first lines), newest first.
    pub recent_messages: Vec<String>,
    pub by_branch: BTreeMap<String, BranchCommits>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PrRef {
    pub number: Option<i64>,
    pub title: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PrActivity {
    pub repo: String,
    pub period_hours: u32,
    pub total_pr_events: usize,
    /// `opened`, `merged` (closed by merging), `closed` (without merging), `reopened`, …
    pub by_action: BTreeMap<String, Vec<PrRef>>,
}

fn label(a: &Activity) -> String {
    match a.number {
        Some(n) => format!("#{n} {}", a.title.as_deref().unwrap_or("")),
        None => a.title.clone().unwrap_or_default(),
    }
}

impl Hookd {
    async fn window(&self, repo: &str, hours: u32) -> Result<Vec<Activity>, String> {
        let since = super::window_start(hours);
        let store = &self.store;
        store
            .github_activity(repo.to_owned(), since, WINDOW_ROWS)
            .await
            .map_err(|e| storage(e).into())
    }
}

fn highlights(rows: &[Activity]) -> Highlights {
    let mut h = Highlights::default();
    for a in rows {
        let action = a.action.as_deref().unwrap_or("");
        match (a.event_type.as_str(), action) {
            ("push", _) => h.commits_pushed += a.size.unwrap_or(0),
            ("pull_request", "opened") => h.prs_opened.push(label(a)),
            ("pull_request", "merged") => h.prs_merged.push(label(a)),
            ("pull_request", "closed") => h.prs_closed_unmerged.push(label(a)),
            ("issues", "opened") => h.issues_opened.push(label(a)),
            ("issues", "closed") => h.issues_closed.push(label(a)),
            ("release", "published" | "released") => h.releases.push(label(a)),
            ("workflow_run", "completed") => {
                let c = a.state.clone().unwrap_or_else(|| "unknown".into());
                *h.workflow_runs_by_conclusion.entry(c).or_default() += 1;
            }
            ("deployment_status", _) => {
                let s = a.state.clone().unwrap_or_else(|| "unknown".into());
                *h.deployments_by_state.entry(s).or_default() += 1;
            }
            _ => {}
        }
    }
    h
}

#[tool_router(router = github_router, vis = "pub(super)")]
impl Hookd {
    #[tool(
        description = "Repositories that have sent GitHub events, with event counts and last activity.",
        annotations(read_only_hint = true)
    )]
    async fn list_tracked_repos(&self) -> Result<Json<TrackedRepos>, String> {
        let rows = self.store.tracked_repos().await.map_err(storage)?;
        let repos = rows
            .into_iter()
            .map(|(repo, total_events, last_activity)| TrackedRepo {
                repo,
                total_events,
                last_activity,
            })
            .collect();
        Ok(Json(TrackedRepos { repos }))
    }

    #[tool(
        description = "What happened in a repository over the last `hours` (default 24): counts by type, highlights (commits pushed, PRs opened/merged/closed, issues, releases, workflow conclusions, deployments) and the 10 most recent events. Times are GitHub's own.",
        annotations(read_only_hint = true)
    )]
    async fn get_repo_activity(
        &self,
        Parameters(a): Parameters<RepoArgs>,
    ) -> Result<Json<RepoActivity>, String> {
        let period_hours = hours(a.hours)?;
        let mut rows = self.window(&a.repo, period_hours).await?;
        if let Some(t) = &a.event_type {
            rows.retain(|r| &r.event_type == t);
        }
        let mut events_by_type = BTreeMap::new();
        for r in &rows {
            *events_by_type.entry(r.event_type.clone()).or_insert(0) += 1;
        }
        Ok(Json(RepoActivity {
            repo: a.repo,
            period_hours,
            total_events: rows.len(),
            events_by_type,
            highlights: highlights(&rows),
            recent_events: rows.into_iter().take(10).collect(),
        }))
    }

    #[tool(
        description = "Commits pushed to a repository over the last `hours` (default 24): pushes, commits (counting truncated pushes fully), contributors, recent messages, per branch.",
        annotations(read_only_hint = true)
    )]
    async fn summarize_commits(
        &self,
        Parameters(a): Parameters<WindowArgs>,
    ) -> Result<Json<CommitSummary>, String> {
        let period_hours = hours(a.hours)?;
        let pushes: Vec<Activity> = self
            .window(&a.repo, period_hours)
            .await?
            .into_iter()
            .filter(|r| r.event_type == "push")
            .collect();
        let since = super::window_start(period_hours);
        let commits = self
            .store
            .recent_pushes(Some(a.repo.clone()), WINDOW_ROWS)
            .await
            .map_err(storage)?;
        let commits: Vec<_> = commits.into_iter().filter(|c| c.time >= since).collect();
        let mut contributors: BTreeSet<String> =
            pushes.iter().filter_map(|p| p.actor.clone()).collect();
        contributors.extend(
            commits
                .iter()
                .map(|c| c.author.clone())
                .filter(|a| !a.is_empty()),
        );
        let mut by_branch: BTreeMap<String, BranchCommits> = BTreeMap::new();
        for p in &pushes {
            let b = by_branch
                .entry(p.branch.clone().unwrap_or_default())
                .or_default();
            b.pushes += 1;
            b.commits += p.size.unwrap_or(0);
        }
        Ok(Json(CommitSummary {
            repo: a.repo,
            period_hours,
            total_pushes: pushes.len(),
            total_commits: pushes.iter().map(|p| p.size.unwrap_or(0)).sum(),
            contributors: contributors.into_iter().collect(),
            recent_messages: commits
                .iter()
                .take(10)
                .map(|c| c.message.lines().next().unwrap_or("").to_owned())
                .collect(),
            by_branch,
        }))
    }

    #[tool(
        description = "Pull request activity in a repository over the last `hours` (default 24), by action, with number, title and author; `merged` is told apart from a plain `closed`.",
        annotations(read_only_hint = true)
    )]
    async fn get_pr_activity(
        &self,
        Parameters(a): Parameters<WindowArgs>,
    ) -> Result<Json<PrActivity>, String> {
        let period_hours = hours(a.hours)?;
        let prs: Vec<Activity> = self
            .window(&a.repo, period_hours)
            .await?
            .into_iter()
            .filter(|r| r.event_type == "pull_request")
            .collect();
        let mut by_action: BTreeMap<String, Vec<PrRef>> = BTreeMap::new();
        for p in &prs {
            by_action
                .entry(p.action.clone().unwrap_or_default())
                .or_default()
                .push(PrRef {
                    number: p.number,
                    title: p.title.clone(),
                    user: p.actor.clone(),
                });
        }
        Ok(Json(PrActivity {
            repo: a.repo,
            period_hours,
            total_pr_events: prs.len(),
            by_action,
        }))
    }
}
