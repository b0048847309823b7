//! Tasks (the MCP Tasks extension, SEP-2663): a `tools/call` that waits (`wait_for_event`,
//! `watch_deployment`) answered with a task handle, kept in the store so that `tasks/get` finds it
//! on any instance and after a restart. The store holds what the task waits for, its status and,
//! once it ends, the tool's result; the waiting itself is done by `mcp::tasks`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// Where a task stands. Only `Working` ever changes, and only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Working,
    Completed,
    Failed,
    Cancelled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// A stored status; anything unknown reads as failed (it can never be resumed).
    pub fn parse(s: &str) -> Self {
        match s {
            "working" => Self::Working,
            "completed" => Self::Completed,
            "cancelled" => Self::Cancelled,
            _ => Self::Failed,
        }
    }
}

/// One task as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// Unguessable: whoever knows it may ask about the task (with the same credential).
    pub id: String,
    /// The credential that created it; no other may read or cancel it.
    pub principal: String,
    /// What it waits for (JSON text, `mcp::tasks::Watch`).
    pub request: String,
    pub state: TaskState,
    pub status_message: Option<String>,
    /// When it ended: the tool's result (completed) or the JSON-RPC error (failed), as JSON text.
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// After this the task is forgotten (its TTL, counted from creation).
    pub expires_at: DateTime<Utc>,
}

/// What a task ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEnd {
    pub state: TaskState,
    pub status_message: Option<String>,
    pub outcome: Option<String>,
}

#[async_trait]
pub trait Tasks {
    /// Stores a new task unless its principal already has `max_open` tasks working; `false` then.
    async fn create_task(&self, task: TaskRecord, max_open: u32) -> Result<bool, StoreError>;

    /// A task that has not expired, whoever created it (the caller checks the principal).
    async fn task(&self, id: String) -> Result<Option<TaskRecord>, StoreError>;

    /// Ends a working task, once: `false` if it had already ended (or is gone).
    async fn end_task(&self, id: String, end: TaskEnd) -> Result<bool, StoreError>;

    /// Every working task that has not expired, oldest first (to resume them after a restart).
    async fn working_tasks(&self) -> Result<Vec<TaskRecord>, StoreError>;

    /// Forgets tasks whose TTL has passed; returns how many.
    async fn forget_expired_tasks(&self) -> Result<u64, StoreError>;
}
