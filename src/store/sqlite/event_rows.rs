//! The rows one event left in the derived tables, on SQLite.

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::{Sqlite, actions, derived};
use crate::store::{DerivedRows, EventRows, StoreError};

fn rows_of(c: &Connection, event_id: i64) -> Result<DerivedRows, StoreError> {
    let by_event = |select: &str| format!("{select} WHERE event_id = ?1 ORDER BY id");
    let actions = c
        .prepare_cached(&by_event(&format!(
            "SELECT {} FROM actions",
            actions::COLUMNS
        )))?
        .query_map(params![event_id], actions::action)?
        .map(|row| actions::parsed(row?))
        .collect::<Result<_, _>>()?;
    let pushes = c
        .prepare_cached(&by_event(derived::PUSH))?
        .query_map(params![event_id], derived::push)?
        .collect::<Result<_, _>>()?;
    let deployments = c
        .prepare_cached(&by_event(derived::DEPLOY))?
        .query_map(params![event_id], derived::deployment)?
        .collect::<Result<_, _>>()?;
    let github_activity = c
        .prepare_cached(&by_event(derived::ACTIVITY))?
        .query_map(params![event_id], derived::activity_row)?
        .collect::<Result<_, _>>()?;
    Ok(DerivedRows {
        actions,
        pushes,
        deployments: derived::with_durations(c, deployments)?,
        github_activity,
    })
}

#[async_trait]
impl EventRows for Sqlite {
    async fn derived_rows(&self, event_id: i64) -> Result<DerivedRows, StoreError> {
        self.read(move |c| rows_of(c, event_id)).await
    }
}
