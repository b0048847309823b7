//! The Triggers tab's API: the triggers `hookd.toml` declares and where each stands, their runs,
//! and running a failed or dead one again (`hookd triggers` and the MCP tools do the same).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Dashboard;
use super::api::{failed, same_origin};
use crate::store::triggers::{RunQuery, RunStatus};

fn storage(e: crate::store::StoreError) -> Response {
    failed(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("storage error: {e}"),
    )
}

/// `GET /api/triggers`: each declared trigger, what it does, and its runs by status.
pub async fn list(State(d): State<Arc<Dashboard>>) -> Response {
    let states = match d.store.trigger_states().await {
        Ok(s) => s,
        Err(e) => return storage(e),
    };
    let listed: Vec<Value> = d
        .triggers
        .iter()
        .map(|(name, does)| {
            let state = states.iter().find(|(s, _)| s.name == *name);
            let runs: Map<String, Value> = state
                .map(|(_, c)| {
                    c.iter()
                        .map(|(s, n)| (s.as_str().into(), (*n).into()))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "name": name,
                "does": does,
                "disabled": state.and_then(|(s, _)| s.disabled.clone()),
                "runs": runs,
            })
        })
        .collect();
    Json(listed).into_response()
}

#[derive(Deserialize)]
pub struct RunsQuery {
    trigger: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/triggers/runs?trigger=&status=&limit=`: runs newest first (at most 200), each with
/// the end of its output.
pub async fn runs(State(d): State<Arc<Dashboard>>, Query(q): Query<RunsQuery>) -> Response {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match RunStatus::parse(s) {
            Some(s) => Some(s),
            None => return failed(StatusCode::BAD_REQUEST, "unknown status"),
        },
    };
    let query = RunQuery {
        trigger: q.trigger.filter(|t| !t.is_empty()),
        status,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        ..Default::default()
    };
    match d.store.trigger_runs(query).await {
        Ok(mut runs) => {
            for r in &mut runs {
                r.shorten_output(crate::mcp::LISTED_OUTPUT);
            }
            Json(runs).into_response()
        }
        Err(e) => storage(e),
    }
}

/// `POST /api/triggers/runs/{id}/retry`: a failed or dead run is queued again.
pub async fn retry(
    State(d): State<Arc<Dashboard>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if let Err(why) = same_origin(&headers) {
        return failed(StatusCode::FORBIDDEN, why);
    }
    match d.store.retry_trigger_run(id).await {
        Ok(true) => Json(json!({"run_id": id, "status": "queued"})).into_response(),
        Ok(false) => failed(StatusCode::CONFLICT, "only a failed or dead run is retried"),
        Err(e) => storage(e),
    }
}
