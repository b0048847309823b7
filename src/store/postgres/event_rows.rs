//! The rows one event left in the derived tables, on PostgreSQL.

use async_trait::async_trait;

use super::{Postgres, derived};
use crate::store::{DerivedRows, EventRows, StoreError};

#[async_trait]
impl EventRows for Postgres {
    async fn derived_rows(&self, event_id: i64) -> Result<DerivedRows, StoreError> {
        let c = self.client().await?;
        let [a, p, d, g] = [
            derived::ACTION,
            derived::PUSH,
            derived::DEPLOY,
            derived::ACTIVITY,
        ]
        .map(|select| format!("{select} WHERE event_id = $1 ORDER BY id"));
        let id: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&event_id];
        let (actions, pushes, deployments, activity) = futures_util::try_join!(
            c.query(&a, id),
            c.query(&p, id),
            c.query(&d, id),
            c.query(&g, id),
        )?;
        let deployments = deployments.iter().map(derived::deployment).collect();
        Ok(DerivedRows {
            actions: actions
                .iter()
                .map(derived::action)
                .collect::<Result<_, _>>()?,
            pushes: pushes.iter().map(derived::push).collect(),
            deployments: derived::with_durations(&c, deployments).await?,
            github_activity: activity.iter().map(derived::activity_row).collect(),
        })
    }
}
