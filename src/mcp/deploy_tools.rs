//! Deployment tools: pushes, deployments, and which deployment carried which commit.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tasks::watch::{DeploymentEnd, DeploymentWait, Held};
use super::{Hookd, limit, storage};
use crate::derive::deploy::{Deployment, Push, sha_prefix};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PushesArgs {
    /// Only this repository, `owner/name`.
    pub repo: Option<String>,
    /// 1 to 1000, default 10.
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeploymentsArgs {
    /// Only this project (Vercel project name, or `owner/name` for GitHub deployments).
    pub project: Option<String>,
    /// 1 to 1000, default 10.
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StatusArgs {
    /// The Vercel project name, or `owner/name` for GitHub deployments.
    pub project: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WatchArgs {
    /// The Vercel project name, or `owner/name` for GitHub deployments.
    pub project: Option<String>,
    /// One deployment's id (Vercel's `dpl_…`, or GitHub's numeric deployment id); if it already
    /// ended, the answer is at once.
    pub deployment_id: Option<String>,
    /// Only states stored after this event id (e.g. the push's). Default: the newest id when the
    /// call starts.
    pub after_id: Option<i64>,
    /// How long to wait, in seconds: default 30 and at most 300 for a plain call; as a task
    /// (clients that declare the Tasks extension), default 3600 and at most 86400.
    #[schemars(range(min = 0, max = 86400))]
    pub timeout_seconds: Option<f64>,
}

impl Hookd {
    /// `watch_deployment`'s arguments as a wait, held by a request or by a task.
    pub(in crate::mcp) fn deployment_wait(
        &self,
        a: WatchArgs,
        held: Held,
    ) -> Result<DeploymentWait, String> {
        if a.project.is_none() && a.deployment_id.is_none() {
            return Err("give project, deployment_id or both".into());
        }
        Ok(DeploymentWait {
            deadline: held.deadline(a.timeout_seconds)?,
            after_id: a.after_id.unwrap_or_else(|| self.store.bus().newest()),
            project: super::short("project", a.project)?,
            deployment_id: super::short("deployment_id", a.deployment_id)?,
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CorrelateArgs {
    /// A commit sha, or a prefix of at least 7 hex characters.
    pub commit_sha: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PushList {
    pub pushes: Vec<Push>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeploymentList {
    pub deployments: Vec<Deployment>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeploymentStatus {
    pub project: String,
    /// The newest deployment state change, or null if the project has none.
    pub latest: Option<Deployment>,
    /// State changes in the last 24 hours, by state.
    pub last_24h_by_state: BTreeMap<String, usize>,
    /// Seconds from the commit's push to its deployment being ready, when both are known.
    pub lead_time_seconds: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Correlation {
    pub commit_sha: String,
    pub pushes: Vec<Push>,
    pub deployments: Vec<Deployment>,
    /// Whether any deployment of this commit reached `ready`.
    pub deployed: bool,
}

fn seconds_between(from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> i64 {
    (to - from).num_seconds()
}

#[tool_router(router = deploy_router, vis = "pub(super)")]
impl Hookd {
    #[tool(
        description = "Recently pushed commits (one per commit: repo, branch, sha, message, author, time), newest first.",
        annotations(read_only_hint = true)
    )]
    async fn get_recent_pushes(
        &self,
        Parameters(a): Parameters<PushesArgs>,
    ) -> Result<Json<PushList>, String> {
        let pushes = self
            .store
            .recent_pushes(a.repo, limit(a.limit, 10)?)
            .await
            .map_err(storage)?;
        Ok(Json(PushList { pushes }))
    }

    #[tool(
        description = "Recent deployment state changes from Vercel and GitHub deployments (project, url, state, commit, time), newest first.",
        annotations(read_only_hint = true)
    )]
    async fn get_recent_deployments(
        &self,
        Parameters(a): Parameters<DeploymentsArgs>,
    ) -> Result<Json<DeploymentList>, String> {
        let deployments = self
            .store
            .recent_deployments(a.project, limit(a.limit, 10)?)
            .await
            .map_err(storage)?;
        Ok(Json(DeploymentList { deployments }))
    }

    #[tool(
        description = "A project's latest deployment, its state changes over the last 24 hours by state, and the lead time from push to ready where known.",
        annotations(read_only_hint = true)
    )]
    async fn get_deployment_status(
        &self,
        Parameters(a): Parameters<StatusArgs>,
    ) -> Result<Json<DeploymentStatus>, String> {
        let recent = self
            .store
            .recent_deployments(Some(a.project.clone()), 1000)
            .await
            .map_err(storage)?;
        let since = chrono::Utc::now() - chrono::Duration::hours(24);
        let mut last_24h_by_state = BTreeMap::new();
        for d in recent.iter().filter(|d| d.time >= since) {
            *last_24h_by_state.entry(d.state.clone()).or_insert(0) += 1;
        }
        let mut lead_time_seconds = None;
        if let Some(ready) = recent
            .iter()
            .find(|d| d.state == "ready" && d.sha.is_some())
        {
            let sha = ready.sha.clone().unwrap_or_default().to_ascii_lowercase();
            let (pushes, _) = self.store.by_sha(sha).await.map_err(storage)?;
            lead_time_seconds = pushes.first().map(|p| seconds_between(p.time, ready.time));
        }
        Ok(Json(DeploymentStatus {
            project: a.project,
            latest: recent.into_iter().next(),
            last_24h_by_state,
            lead_time_seconds,
        }))
    }

    #[tool(
        description = "Wait until a deployment of a project (or one deployment, by id) reaches a final state: ready, error or canceled; returns it, or {timed_out: true} (no deployment) after timeout_seconds. A client that declares the Tasks extension gets a task to poll instead of a held request, and may wait up to a day.",
        annotations(read_only_hint = true)
    )]
    async fn watch_deployment(
        &self,
        Parameters(a): Parameters<WatchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<DeploymentEnd>, String> {
        let wait = self.deployment_wait(a, Held::ByRequest)?;
        let _place = self.wait_place().map_err(|full| full.to_string())?;
        let stop = ctx.ct.child_token();
        let result = tokio::select! {
            r = wait.run(self.store.clone(), &stop) => r.map_err(storage)?,
            _ = self.shutdown.cancelled() => None,
        };
        Ok(Json(result.unwrap_or(DeploymentEnd {
            deployment: None,
            timed_out: true,
        })))
    }

    #[tool(
        description = "The push and the deployment(s) of a commit; a sha prefix of 7+ hex characters works.",
        annotations(read_only_hint = true)
    )]
    async fn correlate_push_to_deployment(
        &self,
        Parameters(a): Parameters<CorrelateArgs>,
    ) -> Result<Json<Correlation>, String> {
        let prefix = sha_prefix(&a.commit_sha)?;
        let (pushes, deployments) = self.store.by_sha(prefix.clone()).await.map_err(storage)?;
        Ok(Json(Correlation {
            commit_sha: prefix,
            deployed: deployments.iter().any(|d| d.state == "ready"),
            pushes,
            deployments,
        }))
    }
}
