//! The task runner: one follower per working task this instance knows of (made here, found
//! working in the store at start, or asked about here), each the same follow loop as every other
//! waiter, woken by commits and never polling for them. A follower ends its task in the store
//! once (the store refuses a second end), so several instances following one task agree.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::watch::Watch;
use crate::store::{Store, TaskEnd, TaskRecord, TaskState};

/// How often a follower asks whether its task ended elsewhere (cancelled through another
/// instance), so that it does not wait on for nothing.
const ENDED_ELSEWHERE: Duration = Duration::from_secs(30);
/// How often expired tasks are forgotten.
const SWEEP: Duration = Duration::from_secs(60);
/// How long a follower waits before trying the store again after it failed.
const RETRY: Duration = Duration::from_secs(1);

pub struct Runner {
    store: Arc<dyn Store>,
    followed: Mutex<HashMap<String, CancellationToken>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl Runner {
    pub fn new(store: Arc<dyn Store>, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            store,
            followed: Mutex::default(),
            tracker: TaskTracker::new(),
            shutdown,
        })
    }

    /// Follows a working task until it ends, unless this instance already does.
    pub fn follow(self: &Arc<Self>, task: &TaskRecord) {
        if task.state != TaskState::Working || self.shutdown.is_cancelled() {
            return;
        }
        let stop = {
            let mut followed = self.followed.lock().unwrap_or_else(|e| e.into_inner());
            if followed.contains_key(&task.id) {
                return;
            }
            let stop = self.shutdown.child_token();
            followed.insert(task.id.clone(), stop.clone());
            stop
        };
        let (this, id, request) = (self.clone(), task.id.clone(), task.request.clone());
        self.tracker.spawn(async move {
            match serde_json::from_str::<Watch>(&request) {
                Ok(watch) => this.run(&id, watch, &stop).await,
                Err(e) => {
                    this.end(&id, failed(format!("the task cannot be resumed: {e}")))
                        .await
                }
            }
            this.forget(&id);
        });
    }

    /// Stops following a task (it was cancelled here).
    pub fn stop(&self, id: &str) {
        let token = self.forget(id);
        if let Some(token) = token {
            token.cancel();
        }
    }

    fn forget(&self, id: &str) -> Option<CancellationToken> {
        let mut followed = self.followed.lock().unwrap_or_else(|e| e.into_inner());
        followed.remove(id)
    }

    async fn run(&self, id: &str, watch: Watch, stop: &CancellationToken) {
        loop {
            let answer = tokio::select! {
                r = watch.run(self.store.clone(), stop) => r,
                _ = self.ended_elsewhere(id) => return,
            };
            match answer {
                Ok(Some(result)) => {
                    let end = TaskEnd {
                        state: TaskState::Completed,
                        status_message: None,
                        outcome: serde_json::to_string(&result).ok(),
                    };
                    return self.end(id, end).await;
                }
                // Stopped: cancelled here, or hookd is stopping (the task resumes at start).
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, task = %id, "a task could not read the store; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => {}
                        _ = stop.cancelled() => return,
                    }
                }
            }
        }
    }

    /// Resolves once the store says the task is no longer working (or gone).
    async fn ended_elsewhere(&self, id: &str) {
        loop {
            tokio::time::sleep(ENDED_ELSEWHERE).await;
            if let Ok(task) = self.store.task(id.to_owned()).await
                && task.is_none_or(|t| t.state != TaskState::Working)
            {
                return;
            }
        }
    }

    /// Records the end, trying again while the store fails, until hookd stops.
    async fn end(&self, id: &str, end: TaskEnd) {
        loop {
            match self.store.end_task(id.to_owned(), end.clone()).await {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, task = %id, "a task's end could not be stored; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => {}
                        _ = self.shutdown.cancelled() => return,
                    }
                }
            }
        }
    }

    /// Resumes every working task in the store, then forgets expired ones now and then, until
    /// hookd stops; returns once every follower has stopped.
    pub async fn run_all(self: Arc<Self>) {
        self.sweep().await;
        match self.store.working_tasks().await {
            Ok(tasks) => tasks.iter().for_each(|t| self.follow(t)),
            Err(e) => tracing::warn!(error = %e, "working tasks could not be read to resume them"),
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SWEEP) => self.sweep().await,
                _ = self.shutdown.cancelled() => break,
            }
        }
        self.tracker.close();
        self.tracker.wait().await;
    }

    async fn sweep(&self) {
        if let Err(e) = self.store.forget_expired_tasks().await {
            tracing::warn!(error = %e, "expired tasks could not be forgotten");
        }
    }
}

/// A task that failed at the protocol level (the JSON-RPC error it carries).
pub fn failed(message: String) -> TaskEnd {
    let error = rmcp::ErrorData::internal_error(message.clone(), None);
    TaskEnd {
        state: TaskState::Failed,
        status_message: Some(message),
        outcome: serde_json::to_string(&error).ok(),
    }
}
