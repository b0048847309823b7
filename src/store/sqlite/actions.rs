//! Actions in SQLite: reading the pending ones, and completing one exactly once.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::event::{Action, ActionTarget, Completion};
use crate::store::StoreError;
use crate::time::format_time;
use async_trait::async_trait;

use super::Sqlite;
use crate::store::Actions;

pub(super) const COLUMNS: &str =
    "id, type, status, fields, event_id, created_at, completed_at, details";

pub(super) fn action(r: &Row<'_>) -> rusqlite::Result<(Action, String)> {
    Ok((
        Action {
            id: r.get(0)?,
            action_type: r.get(1)?,
            status: r.get(2)?,
            fields: Default::default(),
            event_id: r.get(4)?,
            created_at: super::time(r, 5)?,
            completed_at: super::optional_time(r, 6)?,
            details: r.get(7)?,
        },
        r.get(3)?,
    ))
}

pub(super) fn parsed((mut a, fields): (Action, String)) -> Result<Action, StoreError> {
    a.fields = serde_json::from_str(&fields).map_err(|source| StoreError::Corrupt {
        what: format!("action {}'s fields", a.id),
        source,
    })?;
    Ok(a)
}

pub fn pending(conn: &Connection, action_type: Option<&str>) -> Result<Vec<Action>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM actions WHERE status = 'pending' AND (?1 IS NULL OR type = ?1)
         ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![action_type], action)?;
    rows.map(|r| parsed(r?)).collect()
}

/// Completes the target in one write transaction, so two completers cannot both succeed.
pub fn complete(
    conn: &mut Connection,
    target: ActionTarget,
    details: &str,
) -> Result<Completion, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = match &target {
        ActionTarget::Id(id) => tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM actions WHERE id = ?1"),
                [id],
                action,
            )
            .optional()?,
        ActionTarget::OldestOfType(t) => tx
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM actions WHERE status = 'pending' AND type = ?1
                     ORDER BY id LIMIT 1"
                ),
                [t],
                action,
            )
            .optional()?,
    };
    let Some(found) = found else {
        return Ok(Completion::NotFound);
    };
    let mut a = parsed(found)?;
    if a.status == "completed" {
        return Ok(Completion::AlreadyCompleted(a));
    }
    let now = chrono::Utc::now();
    tx.execute(
        "UPDATE actions SET status = 'completed', completed_at = ?2, details = ?3 WHERE id = ?1",
        params![a.id, format_time(now), details],
    )?;
    tx.commit()?;
    a.status = "completed".into();
    a.completed_at = Some(now);
    a.details = Some(details.to_owned());
    Ok(Completion::Completed(a))
}

#[async_trait]
impl Actions for Sqlite {
    async fn pending_actions(
        &self,
        action_type: Option<String>,
    ) -> Result<Vec<Action>, StoreError> {
        self.read(move |c| pending(c, action_type.as_deref())).await
    }

    async fn complete_action(
        &self,
        target: ActionTarget,
        details: String,
    ) -> Result<Completion, StoreError> {
        self.write(move |c| complete(c, target, &details)).await
    }
}
