//! What a waiting tool waits for, as one value: run at once by the tool (a plain `tools/call`) or
//! kept in a task's record and run by the task runner, so both give the same result.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::handler::server::wrapper::Json;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::derive::deploy::{Deployment, final_types};
use crate::event::{Event, EventFilter};
use crate::mcp::{wait_seconds, wait_seconds_within};
use crate::store::{Store, StoreError};
use crate::wait::{Follow, next_event_before};

/// The longest a task's wait may last, and how long it waits when the call does not say.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_WAIT: Duration = Duration::from_secs(3600);

/// How a wait is held: by a request (at most `wait::MAX_WAIT`) or by a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    ByRequest,
    ByTask,
}

impl Held {
    /// When a wait of `requested` seconds (the tool's `timeout_seconds`) held this way ends.
    pub fn deadline(self, requested: Option<f64>) -> Result<DateTime<Utc>, String> {
        let timeout = match self {
            Self::ByRequest => wait_seconds(requested, 30.0, "timeout_seconds").map_err(|e| {
                format!(
                    "{e} (a client that declares the Tasks extension may wait up to {} as a task)",
                    MAX_WAIT.as_secs()
                )
            }),
            Self::ByTask => wait_seconds_within(
                requested,
                DEFAULT_WAIT.as_secs_f64(),
                MAX_WAIT,
                "timeout_seconds",
            ),
        }?;
        Ok(Utc::now() + chrono::TimeDelta::from_std(timeout).unwrap_or(chrono::TimeDelta::zero()))
    }
}

/// A wait, with everything needed to resume it after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "tool", rename_all = "snake_case")]
pub enum Watch {
    WaitForEvent(EventWait),
    WatchDeployment(DeploymentWait),
}

/// `wait_for_event`: the first event of a source and type after `after_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventWait {
    pub source: Option<String>,
    pub event_type: Option<String>,
    pub after_id: i64,
    pub deadline: DateTime<Utc>,
}

/// `watch_deployment`: the first final state (ready, error, canceled) of a deployment of
/// `project`, or of the deployment `deployment_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentWait {
    pub project: Option<String>,
    pub deployment_id: Option<String>,
    pub after_id: i64,
    pub deadline: DateTime<Utc>,
}

/// `wait_for_event`'s result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WaitResult {
    pub event: Option<Event>,
    pub timed_out: bool,
}

/// `watch_deployment`'s result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeploymentEnd {
    /// The final state reached (`ready`, `error` or `canceled`), or null when the time ran out.
    pub deployment: Option<Deployment>,
    pub timed_out: bool,
}

impl Watch {
    pub fn deadline(&self) -> DateTime<Utc> {
        match self {
            Self::WaitForEvent(w) => w.deadline,
            Self::WatchDeployment(w) => w.deadline,
        }
    }

    /// Waits until what it watches happens or the deadline passes, and answers as the tool
    /// answers; `None` when `stop` was cancelled first (nothing is known yet).
    pub async fn run(
        &self,
        store: Arc<dyn Store>,
        stop: &CancellationToken,
    ) -> Result<Option<CallToolResult>, StoreError> {
        Ok(match self {
            Self::WaitForEvent(w) => w.run(store, stop).await?.map(tool_result),
            Self::WatchDeployment(w) => w.run(store, stop).await?.map(tool_result),
        })
    }
}

impl EventWait {
    /// The first matching event before the deadline; `None` when `stop` was cancelled first.
    pub async fn run(
        &self,
        store: Arc<dyn Store>,
        stop: &CancellationToken,
    ) -> Result<Option<WaitResult>, StoreError> {
        let filter = EventFilter {
            after_id: Some(self.after_id),
            ..EventFilter::of(self.source.clone(), self.event_type.clone())
        };
        let event = next_event_before(store, filter, instant(self.deadline), stop).await?;
        if event.is_none() && stop.is_cancelled() {
            return Ok(None);
        }
        Ok(Some(WaitResult {
            timed_out: event.is_none(),
            event,
        }))
    }
}

impl DeploymentWait {
    fn wanted(&self, d: &Deployment) -> bool {
        d.is_final()
            && self.project.as_ref().is_none_or(|p| *p == d.project)
            && self
                .deployment_id
                .as_ref()
                .is_none_or(|i| *i == d.deployment_id)
    }

    /// The final state, as soon as it is stored (at once if one deployment was asked for and it
    /// already ended); `None` when `stop` was cancelled first.
    pub async fn run(
        &self,
        store: Arc<dyn Store>,
        stop: &CancellationToken,
    ) -> Result<Option<DeploymentEnd>, StoreError> {
        let mut deployment = None;
        if self.deployment_id.is_some() {
            // Its recent states, stored before the watch began or since (a state stored later
            // is found by the follow below as well).
            let recent = store
                .recent_deployments(self.project.clone(), RECENT)
                .await?;
            deployment = recent.into_iter().find(|d| self.wanted(d));
        }
        if deployment.is_none() {
            deployment = self.follow(store, stop).await?;
        }
        if deployment.is_none() && stop.is_cancelled() {
            return Ok(None);
        }
        Ok(Some(DeploymentEnd {
            timed_out: deployment.is_none(),
            deployment,
        }))
    }

    /// Follows only the events that can carry a final state.
    async fn follow(
        &self,
        store: Arc<dyn Store>,
        stop: &CancellationToken,
    ) -> Result<Option<Deployment>, StoreError> {
        let filter = EventFilter {
            types: final_types(),
            ..EventFilter::default()
        };
        let deadline = instant(self.deadline);
        let mut follow = Follow::new(store.clone(), filter, self.after_id).batches_of(20);
        loop {
            if stop.is_cancelled() || tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            let batch = follow.next_batch().await?;
            for event in &batch {
                let rows = store.derived_rows(event.id).await?;
                if let Some(d) = rows.deployments.into_iter().find(|d| self.wanted(d)) {
                    return Ok(Some(d));
                }
                follow.handled(event.id);
            }
            if !batch.is_empty() {
                continue;
            }
            tokio::select! {
                _ = follow.changed() => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(None),
                _ = stop.cancelled() => return Ok(None),
            }
        }
    }
}

/// How many of the newest deployment states are searched for one that already ended.
const RECENT: usize = 1000;

/// The tool's own answer for `result`, as a call of the tool answers it (rmcp's result, shaped by
/// the tool's portable output schema).
pub fn tool_result<T: Serialize + schemars::JsonSchema + 'static>(result: T) -> CallToolResult {
    match Json(result).into_call_tool_result() {
        Ok(CallToolResponse::Complete(mut r)) => {
            let mut schema = (*rmcp::handler::server::tool::schema_for_output::<T>()).clone();
            crate::mcp::schema::portable(&mut schema);
            crate::mcp::schema::shaped(&mut r, &schema);
            r
        }
        Ok(_) => CallToolResult::error(vec![ContentBlock::text("the tool gave no result")]),
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.message)]),
    }
}

/// The instant on this machine's monotonic clock of a wall-clock `deadline` (now if it passed).
fn instant(deadline: DateTime<Utc>) -> tokio::time::Instant {
    let left = (deadline - Utc::now()).to_std().unwrap_or_default();
    tokio::time::Instant::now() + left
}
