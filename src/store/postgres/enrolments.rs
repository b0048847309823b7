//! Learned secrets and enrolment windows on PostgreSQL (see `store::enrolments`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Postgres;
use crate::secret::Secret;
use crate::store::StoreError;
use crate::store::enrolments::Enrolments;
use crate::time::format_time;

#[async_trait]
impl Enrolments for Postgres {
    async fn open_enrolment(&self, source: String, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO enrolment_windows (source, open_until) VALUES ($1, $2)
                 ON CONFLICT (source) DO UPDATE SET open_until = excluded.open_until",
                &[&source, &format_time(until)],
            )
            .await?;
        Ok(())
    }

    async fn enrol(
        &self,
        source: String,
        secret: Secret,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = format_time(now);
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let closed = tx
            .execute(
                "DELETE FROM enrolment_windows WHERE source = $1 AND open_until > $2",
                &[&source, &now],
            )
            .await?;
        if closed == 1 {
            tx.execute(
                "INSERT INTO enrolled_secrets (source, secret, enrolled_at) VALUES ($1, $2, $3)",
                &[&source, &secret.expose(), &now],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(closed == 1)
    }

    async fn enrolled_secrets(&self, source: String) -> Result<Vec<Secret>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT secret FROM enrolled_secrets WHERE source = $1 ORDER BY id DESC",
                &[&source],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Secret::new(r.get::<_, String>(0)))
            .collect())
    }
}
