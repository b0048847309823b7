//! Triggers (`[[triggers]]` in `hookd.toml`): each one's durable cursor and its runs. A run is
//! recorded before it starts, with the events it carries, and the cursor moves past them in the
//! same transaction, so an event is either still ahead of the cursor or in a run. Several
//! instances share the triggers through a lease: the one holding a trigger queues and starts its
//! runs; another takes over when the lease lapses, and finds the runs left `running` by the one
//! that stopped (they are queued again, with the same id).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// Where a trigger stands.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerState {
    pub name: String,
    /// Every matching event up to here is in a run.
    pub cursor: i64,
    /// Why it no longer runs (a URL answered 410), if so.
    pub disabled: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A run's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    /// Failed, awaiting its next attempt.
    Failed,
    /// Failed with no attempt left (until retried by hand).
    Dead,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One run of a trigger: the events it carries and how its attempts went.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TriggerRun {
    pub id: i64,
    pub trigger: String,
    pub event_ids: Vec<i64>,
    pub status: RunStatus,
    /// Attempts started so far.
    pub attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// The last 64 KiB of the last attempt's output (stdout and stderr, or the response body).
    pub output: String,
    /// What went wrong, in words (timed out, could not start, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl TriggerRun {
    /// Keeps only the last `max` bytes of the output (cut at a character), for lists.
    pub fn shorten_output(&mut self, max: usize) {
        if self.output.len() > max {
            let mut at = self.output.len() - max;
            while !self.output.is_char_boundary(at) {
                at += 1;
            }
            self.output.drain(..at);
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    /// `Succeeded`, `Failed` (with `next_attempt_at`) or `Dead`.
    pub status: RunStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub http_status: Option<i32>,
    pub duration_ms: i64,
    pub output: String,
    pub error: Option<String>,
}

/// Which runs to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub trigger: Option<String>,
    pub status: Option<RunStatus>,
    /// Only runs created at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only runs with an id below this (paging back).
    pub before_id: Option<i64>,
    pub limit: usize,
}

/// `event_ids` as stored: comma-separated.
pub fn ids_text(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub fn ids_of(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}

#[async_trait]
pub trait Triggers {
    /// Gives each trigger in `wanted` a state if it has none (its cursor the given start: the
    /// newest event when it was first configured, or 0 to replay history), then takes those
    /// whose lease lapsed or is `owner`'s, until `lease_until`. Of a trigger taken from another
    /// owner (or from none), the runs left `running` are queued again: they were interrupted.
    async fn claim_triggers(
        &self,
        wanted: Vec<(String, i64)>,
        owner: String,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<TriggerState>, StoreError>;

    /// Gives up `owner`'s leases (at shutdown), so a restart takes them at once.
    async fn release_triggers(&self, owner: String) -> Result<(), StoreError>;

    /// Records a queued run of `event_ids` and moves the trigger's cursor to `cursor`, if `owner`
    /// holds the trigger; the run's id, or `None` when it does not.
    async fn enqueue_trigger_run(
        &self,
        trigger: String,
        owner: String,
        event_ids: Vec<i64>,
        cursor: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Moves the cursor over events that matched nothing, if `owner` holds the trigger.
    async fn trigger_cursor(
        &self,
        trigger: String,
        owner: String,
        cursor: i64,
    ) -> Result<bool, StoreError>;

    /// Runs due at `now`, oldest first, at most `limit`: queued ones, and failed ones whose next
    /// attempt has come.
    async fn due_trigger_runs(
        &self,
        trigger: String,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TriggerRun>, StoreError>;

    /// Marks a due run `running`, one more attempt, if `owner` holds its trigger: the attempt's
    /// number, or `None` when it is not this owner's to start (or no longer due).
    async fn start_trigger_run(&self, id: i64, owner: String) -> Result<Option<i32>, StoreError>;

    /// Records how the attempt ended.
    async fn finish_trigger_run(&self, id: i64, end: RunEnd) -> Result<(), StoreError>;

    async fn trigger_run(&self, id: i64) -> Result<Option<TriggerRun>, StoreError>;

    async fn trigger_runs(&self, query: RunQuery) -> Result<Vec<TriggerRun>, StoreError>;

    /// Queues a dead or failed run again, now; `false` when there is no such run.
    async fn retry_trigger_run(&self, id: i64) -> Result<bool, StoreError>;

    /// Stops a trigger (a URL answered 410), saying why; `None` lets it run again.
    async fn disable_trigger(&self, name: String, why: Option<String>) -> Result<(), StoreError>;

    /// Every trigger's state, with how many of its runs are in each status.
    async fn trigger_states(
        &self,
    ) -> Result<Vec<(TriggerState, Vec<(RunStatus, i64)>)>, StoreError>;

    /// Forgets finished runs (succeeded or dead) created before `before`; how many.
    async fn forget_trigger_runs(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn output_is_shortened_at_a_character() {
        let mut run = super::TriggerRun {
            id: 1,
            trigger: "t".into(),
            event_ids: vec![1],
            status: super::RunStatus::Dead,
            attempts: 1,
            next_attempt_at: None,
            exit_code: None,
            http_status: None,
            duration_ms: None,
            output: "ééé".into(),
            error: None,
            created_at: chrono::Utc::now(),
            started_at: None,
            finished_at: None,
        };
        run.shorten_output(3);
        assert_eq!(run.output, "é");
    }
}
