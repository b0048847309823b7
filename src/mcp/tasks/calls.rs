//! A waiting tool called as a task: its arguments become the same wait a plain call runs, only
//! held by a task (see `watch::Held`) instead of an open request.

use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::watch::{Held, Watch};
use crate::mcp::Hookd;

impl Hookd {
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
