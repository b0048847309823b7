//! The Tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`) for hookd's waits: a
//! `tools/call` of `wait_for_event` or `watch_deployment` whose request declares the extension is
//! answered at once with a task handle, and the client polls `tasks/get` until the wait ends.
//!
//! A task is in the store before its handle is answered, so `tasks/get` finds it on any instance
//! and after a restart; it is bound to the credential that made it (another gets "no such task",
//! as for an id that never existed), its id is 128 random bits, and a credential holds at most
//! `--max-open-tasks` working tasks.

pub mod calls;
mod runner;
pub mod watch;

use std::time::Duration;

use chrono::Utc;
use rmcp::model::{
    CreateTaskResult, DetailedTask, GetTaskResult, JsonObject, Task, TaskPayload, TaskStatus,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

pub use runner::Runner;
use watch::Watch;

use super::{Hookd, storage};
use crate::store::{TaskEnd, TaskRecord, TaskState};

/// How long a task is kept once its wait could have ended: its TTL is its wait plus this.
const KEPT: Duration = Duration::from_secs(3600);
/// How often a client is asked to poll.
const POLL_INTERVAL_MS: u64 = 1000;

/// The request declared the extension (in its own `_meta`, or at `initialize` for a session).
pub fn wanted(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .is_some_and(|c| c.supports_tasks())
}

impl Hookd {
    /// Who tasks belong to: the bearer-token holder, the local user over stdio, or everyone who
    /// can reach an MCP listener that has no token.
    fn task_owner(&self) -> String {
        self.caller().unwrap_or_else(|| "anonymous".to_owned())
    }

    /// Stores a task for `watch`, starts following it here, and answers its handle.
    pub(super) async fn create_task(&self, watch: Watch) -> Result<CreateTaskResult, ErrorData> {
        let now = Utc::now();
        // Whole seconds: the wait plus the time its result is kept.
        let wait = (watch.deadline() - now).max(chrono::TimeDelta::zero());
        let ttl = chrono::TimeDelta::seconds((wait.num_milliseconds() + 999) / 1000)
            + chrono::TimeDelta::from_std(KEPT).unwrap_or_default();
        let request = serde_json::to_string(&watch)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let record = TaskRecord {
            id: task_id()?,
            principal: self.task_owner(),
            request,
            state: TaskState::Working,
            status_message: None,
            outcome: None,
            created_at: now,
            updated_at: now,
            expires_at: now + ttl,
        };
        let max = self.max_open_tasks;
        if !self
            .store
            .create_task(record.clone(), max)
            .await
            .map_err(storage)?
        {
            return Err(ErrorData::invalid_request(
                format!(
                    "this credential already has {max} working tasks (--max-open-tasks); \
                     wait for one to end or cancel one with tasks/cancel"
                ),
                None,
            ));
        }
        self.tasks.follow(&record);
        Ok(CreateTaskResult::new(task(&record)))
    }

    /// A task of this credential that has not expired; anything else is "no such task".
    async fn own_task(&self, id: &str) -> Result<TaskRecord, ErrorData> {
        let found = self.store.task(id.to_owned()).await.map_err(storage)?;
        match found {
            Some(t) if t.principal == self.task_owner() => Ok(t),
            _ => Err(ErrorData::invalid_params(
                format!("no task {:?}", clip(id)),
                None,
            )),
        }
    }

    pub(super) async fn task_status(&self, id: &str) -> Result<GetTaskResult, ErrorData> {
        let record = self.own_task(id).await?;
        // A working task this instance does not follow yet (made on another instance, or before a
        // restart that has not resumed it) is followed from now on.
        self.tasks.follow(&record);
        Ok(GetTaskResult::new(detailed(&record)))
    }

    pub(super) async fn cancel_task_by_id(&self, id: &str) -> Result<(), ErrorData> {
        let record = self.own_task(id).await?;
        if record.state == TaskState::Working {
            let end = TaskEnd {
                state: TaskState::Cancelled,
                status_message: Some("cancelled by the client".into()),
                outcome: None,
            };
            self.store.end_task(record.id, end).await.map_err(storage)?;
            self.tasks.stop(id);
        }
        Ok(())
    }

    /// hookd's tasks never ask the client for input, so every response is for a key that is not
    /// outstanding, which the extension says to ignore.
    pub(super) async fn update_task_by_id(&self, id: &str) -> Result<(), ErrorData> {
        self.own_task(id).await.map(|_| ())
    }
}

/// 128 random bits, hex. Without the system's randomness an id could be guessed: no task then.
fn task_id() -> Result<String, ErrorData> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        ErrorData::internal_error(format!("no randomness for a task id: {e}"), None)
    })?;
    Ok(hex::encode(bytes))
}

/// A client's id as echoed in an error, bounded.
fn clip(id: &str) -> String {
    id.chars().take(64).collect()
}

fn task(r: &TaskRecord) -> Task {
    let ttl = (r.expires_at - r.created_at).num_milliseconds().max(1) as u64;
    let mut t = Task::new(
        r.id.clone(),
        status(r.state),
        crate::time::format_time(r.created_at),
        crate::time::format_time(r.updated_at),
    )
    .with_ttl_ms(ttl)
    .with_poll_interval_ms(POLL_INTERVAL_MS);
    if let Some(m) = &r.status_message {
        t = t.with_status_message(m.clone());
    }
    t
}

fn status(s: TaskState) -> TaskStatus {
    match s {
        TaskState::Working => TaskStatus::Working,
        TaskState::Completed => TaskStatus::Completed,
        TaskState::Failed => TaskStatus::Failed,
        TaskState::Cancelled => TaskStatus::Cancelled,
    }
}

fn detailed(r: &TaskRecord) -> DetailedTask {
    let outcome = || -> JsonObject {
        r.outcome
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
            .unwrap_or_default()
    };
    let payload = match r.state {
        TaskState::Working => TaskPayload::Working,
        TaskState::Completed => TaskPayload::Completed { result: outcome() },
        TaskState::Failed => TaskPayload::Failed { error: outcome() },
        TaskState::Cancelled => TaskPayload::Cancelled,
    };
    DetailedTask::new(task(r), payload)
}
