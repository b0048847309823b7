//! What triggers did: `list_trigger_runs` reads the run records, `retry_trigger_run` queues a
//! failed or dead run again. Offered only when `hookd.toml` declares triggers. No tool creates or
//! changes a trigger: they are declared in `hookd.toml` alone.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hookd, storage};
use crate::store::triggers::{RunQuery, RunStatus, TriggerRun};
use crate::time::parse_time;

/// How much of each run's output a list shows (one run asked by id shows all that is kept).
pub const LISTED_OUTPUT: usize = 2048;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListRunsArgs {
    /// Only this trigger's runs.
    pub trigger: Option<String>,
    /// Only runs in this status: queued, running, succeeded, failed (awaiting a retry) or dead.
    pub status: Option<String>,
    /// Only runs created at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only this run (its whole kept output, up to 64 KiB).
    pub run_id: Option<i64>,
    /// At most this many runs, newest first, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RunList {
    /// Newest first. `output` is the end of what the run wrote (the last 2 KiB here).
    #[schemars(with = "Vec<serde_json::Value>")]
    pub runs: Vec<TriggerRun>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RetryArgs {
    /// The run's id (from list_trigger_runs).
    pub run_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Retried {
    pub run_id: i64,
    /// `queued`: it runs again within a few seconds, with the same HOOKD_RUN_ID.
    pub status: String,
}

#[tool_router(router = trigger_router, vis = "pub(super)")]
impl Hookd {
    #[tool(
        description = "The runs of the triggers declared in hookd.toml (a program run or a URL called for matching events), newest first: trigger, event ids, status (queued, running, succeeded, failed awaiting retry, dead), attempts, exit code or HTTP status, duration and the end of its output.",
        annotations(read_only_hint = true)
    )]
    async fn list_trigger_runs(
        &self,
        Parameters(a): Parameters<ListRunsArgs>,
    ) -> Result<Json<RunList>, String> {
        if let Some(id) = a.run_id {
            let run = self.store.trigger_run(id).await.map_err(storage)?;
            return Ok(Json(RunList {
                runs: run.into_iter().collect(),
            }));
        }
        let status = match a.status.as_deref() {
            None => None,
            Some(s) => Some(RunStatus::parse(s).ok_or_else(|| {
                format!("status is queued, running, succeeded, failed or dead, not {s:?}")
            })?),
        };
        let since = match a.since.as_deref() {
            None => None,
            Some(s) => Some(parse_time(s).map_err(|e| format!("since {s:?}: {e}"))?),
        };
        let limit = match a.limit.unwrap_or(20) {
            n @ 1..=100 => n as usize,
            n => return Err(format!("limit must be between 1 and 100, got {n}")),
        };
        let query = RunQuery {
            trigger: a.trigger,
            status,
            since,
            before_id: None,
            limit,
        };
        let mut runs = self.store.trigger_runs(query).await.map_err(storage)?;
        for r in &mut runs {
            r.shorten_output(LISTED_OUTPUT);
        }
        Ok(Json(RunList { runs }))
    }

    #[tool(
        description = "Run a failed or dead trigger run again now (one more attempt, with the same HOOKD_RUN_ID and its events).",
        annotations(read_only_hint = false, idempotent_hint = true)
    )]
    async fn retry_trigger_run(
        &self,
        Parameters(a): Parameters<RetryArgs>,
    ) -> Result<Json<Retried>, String> {
        crate::triggers::retry(self.store.as_ref(), a.run_id)
            .await
            .map_err(storage)??;
        Ok(Json(Retried {
            run_id: a.run_id,
            status: "queued".into(),
        }))
    }
}
