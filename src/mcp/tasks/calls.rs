//! The waiting tools' arguments as watches, the same for a plain call and for a task: only the
//! wait's bounds differ (a plain call holds a request open, a task does not).

use std::time::Duration;

use chrono::Utc;
use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::watch::{DeploymentWait, EventWait, Watch};
use super::{DEFAULT_WAIT, MAX_WAIT};
use crate::mcp::deploy_tools::WatchArgs;
use crate::mcp::tools::WaitArgs;
use crate::mcp::{Hookd, wait_seconds, wait_seconds_within};

/// How a wait is held: by a request (at most `wait::MAX_WAIT`) or by a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    ByRequest,
    ByTask,
}

impl Held {
    fn timeout(self, requested: Option<f64>) -> Result<Duration, String> {
        match self {
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
        }
    }
}

fn deadline(timeout: Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::TimeDelta::from_std(timeout).unwrap_or(chrono::TimeDelta::zero())
}

impl Hookd {
    pub(in crate::mcp) fn event_wait(&self, a: WaitArgs, held: Held) -> Result<EventWait, String> {
        Ok(EventWait {
            deadline: deadline(held.timeout(a.timeout_seconds)?),
            after_id: a.after_id.unwrap_or_else(|| self.store.bus().newest()),
            source: a.source,
            event_type: a.event_type,
        })
    }

    pub(in crate::mcp) fn deployment_wait(
        &self,
        a: WatchArgs,
        held: Held,
    ) -> Result<DeploymentWait, String> {
        if a.project.is_none() && a.deployment_id.is_none() {
            return Err("give project, deployment_id or both".into());
        }
        Ok(DeploymentWait {
            deadline: deadline(held.timeout(a.timeout_seconds)?),
            after_id: a.after_id.unwrap_or_else(|| self.store.bus().newest()),
            project: a.project,
            deployment_id: a.deployment_id,
        })
    }

    /// Answers a `tools/call` of a waiting tool with a task, if `request` is one this server
    /// offers; `None` for any other call (and for arguments that do not parse, which the tool
    /// itself then reports as it always does).
    pub(in crate::mcp) async fn call_as_task(
        &self,
        request: &CallToolRequestParams,
    ) -> Option<Result<CallToolResponse, rmcp::ErrorData>> {
        if !self.tool_router.has_route(&request.name) {
            return None;
        }
        let watch = match request.name.as_ref() {
            "wait_for_event" => self
                .event_wait(arguments(request)?, Held::ByTask)
                .map(Watch::WaitForEvent),
            "watch_deployment" => self
                .deployment_wait(arguments(request)?, Held::ByTask)
                .map(Watch::WatchDeployment),
            _ => return None,
        };
        Some(match watch {
            Ok(watch) => self.create_task(watch).await.map(CallToolResponse::Task),
            // A bad argument is the tool's error, at once, as without a task.
            Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(e)]).into()),
        })
    }
}

fn arguments<T: DeserializeOwned>(request: &CallToolRequestParams) -> Option<T> {
    let args = request.arguments.clone().unwrap_or_default();
    serde_json::from_value(Value::Object(args)).ok()
}
